"""The spectral_peaks strategy (see README.md for the derivation)."""

from crypto_strategy_lab.strategies.spectral_peaks.signal import SpectralPeaksSignal

__all__ = ["SpectralPeaksSignal"]
