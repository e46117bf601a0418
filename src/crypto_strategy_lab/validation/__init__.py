"""Validation: metrics, PSR/DSR/MinTRL, PBO, walk-forward, trial log, orthogonality, gate."""
