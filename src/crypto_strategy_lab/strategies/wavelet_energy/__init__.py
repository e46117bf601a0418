"""Wavelet energy strategy: where the variance of returns sits across time scales."""

from crypto_strategy_lab.strategies.wavelet_energy.signal import WaveletEnergySignal

__all__ = ["WaveletEnergySignal"]
