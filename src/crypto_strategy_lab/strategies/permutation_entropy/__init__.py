"""Permutation entropy strategy: ordinal structure of returns (Bandt & Pompe 2002)."""

from crypto_strategy_lab.strategies.permutation_entropy.signal import PermutationEntropySignal

__all__ = ["PermutationEntropySignal"]
