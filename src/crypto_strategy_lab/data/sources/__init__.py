"""Market-data sources: ccxt exchanges, Alpaca stock bars, and CSV/Parquet files."""
