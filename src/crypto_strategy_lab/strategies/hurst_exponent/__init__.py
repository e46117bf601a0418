"""The hurst_exponent strategy (see README.md for the derivation)."""

from crypto_strategy_lab.strategies.hurst_exponent.signal import HurstExponentSignal

__all__ = ["HurstExponentSignal"]
