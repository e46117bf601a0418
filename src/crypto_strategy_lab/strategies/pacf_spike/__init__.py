"""PACF spike strategy: trade the AR forecast at the most significant partial lag."""

from crypto_strategy_lab.strategies.pacf_spike.signal import PACFSpikeSignal

__all__ = ["PACFSpikeSignal"]
