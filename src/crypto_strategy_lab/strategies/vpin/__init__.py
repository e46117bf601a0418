"""VPIN strategy: follow order flow when its toxicity is unusually high."""

from crypto_strategy_lab.strategies.vpin.signal import VPINSignal

__all__ = ["VPINSignal"]
