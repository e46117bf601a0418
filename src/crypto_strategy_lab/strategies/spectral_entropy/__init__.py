"""The spectral_entropy strategy (see README.md for the derivation)."""

from crypto_strategy_lab.strategies.spectral_entropy.signal import SpectralEntropySignal

__all__ = ["SpectralEntropySignal"]
