"""Performance metrics shared by the backtest, validation and monitoring.

This package sits low in the layer order (above ``core`` only) so that every layer that reports
a Sharpe ratio, a drawdown or an annualisation factor uses the same definition.
"""
