"""The lag_autocorr strategy (see README.md for the derivation)."""

from crypto_strategy_lab.strategies.lag_autocorr.signal import LagAutocorrSignal

__all__ = ["LagAutocorrSignal"]
