"""Bybit adapter: v5 spot and USDT linear perpetuals, testnet and live, on ccxt."""
