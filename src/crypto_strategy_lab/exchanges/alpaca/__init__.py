"""Alpaca adapter: US equities, paper and live, on alpaca-py."""
