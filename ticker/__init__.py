"""Market data: OHLCV candles rolled from the trade journal."""
