"""The simulated venue: local fills against bars, for paper trading and replay."""
