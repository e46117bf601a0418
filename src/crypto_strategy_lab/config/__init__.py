"""Settings from environment variables (the brief's names) and validated YAML config files."""

from crypto_strategy_lab.config.loader import load_yaml_config
from crypto_strategy_lab.config.settings import Settings

__all__ = ["Settings", "load_yaml_config"]
