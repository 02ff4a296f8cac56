"""Configs: frozen pydantic models validated from ``configs/``, fingerprinted; runtime settings."""

from tradewind.config.base import FrozenModel, canonical_json, fingerprint
from tradewind.config.errors import ConfigError
from tradewind.config.features import FeatureDef, FeatureSpec
from tradewind.config.imports import ConflictPolicy, FileFormat, ImportSpec
from tradewind.config.loader import CONFIG_KINDS, AnyConfig, load_config, parse_config
from tradewind.config.settings import Settings
from tradewind.config.synthetic import SyntheticConfig
from tradewind.config.universe import InstrumentSpec, UniverseConfig

__all__ = [
    "CONFIG_KINDS",
    "AnyConfig",
    "ConfigError",
    "ConflictPolicy",
    "FeatureDef",
    "FeatureSpec",
    "FileFormat",
    "FrozenModel",
    "ImportSpec",
    "InstrumentSpec",
    "Settings",
    "SyntheticConfig",
    "UniverseConfig",
    "canonical_json",
    "fingerprint",
    "load_config",
    "parse_config",
]
