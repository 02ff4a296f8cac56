"""Load a config file (YAML or JSON) into its frozen model, chosen by its ``kind`` field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar, overload

import yaml
from pydantic import ValidationError

from tradewind.config.backtest import BacktestConfig
from tradewind.config.base import FrozenModel
from tradewind.config.errors import ConfigError
from tradewind.config.features import FeatureSpec
from tradewind.config.imports import ImportSpec
from tradewind.config.ingest import MarketIngestConfig
from tradewind.config.live import LiveConfig
from tradewind.config.models import ModelConfig
from tradewind.config.plugins import PATH_ENV, find_config, search_roots
from tradewind.config.promotion import PromotionGate
from tradewind.config.synthetic import SyntheticConfig
from tradewind.config.universe import UniverseConfig
from tradewind.config.venue import VenueConfig

T = TypeVar("T", bound=FrozenModel)

AnyConfig = (
    UniverseConfig
    | SyntheticConfig
    | ImportSpec
    | BacktestConfig
    | FeatureSpec
    | ModelConfig
    | LiveConfig
    | MarketIngestConfig
    | PromotionGate
    | VenueConfig
)

CONFIG_KINDS: dict[str, type[FrozenModel]] = {
    "universe": UniverseConfig,
    "synthetic": SyntheticConfig,
    "import": ImportSpec,
    "backtest": BacktestConfig,
    "features": FeatureSpec,
    "model": ModelConfig,
    "live": LiveConfig,
    "market_ingest": MarketIngestConfig,
    "gate": PromotionGate,
    "venue": VenueConfig,
}


def _read(path: Path) -> Any:
    found = find_config(path)
    if found is None and not path.is_absolute():
        looked = ", ".join(str(r) for r in search_roots())
        raise ConfigError(
            f"{path}: no such file (looked under {looked}; add roots with {PATH_ENV})"
        )
    path = found or path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from None


def parse_config(data: Any, source: str = "<config>") -> FrozenModel:
    """Validate already-parsed data; ``source`` names where it came from in errors."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a mapping at the top level, got {type(data).__name__}"
        )
    kind = data.get("kind")
    if kind not in CONFIG_KINDS:
        kinds = ", ".join(sorted(CONFIG_KINDS))
        raise ConfigError(f"{source}: kind: expected one of {kinds}, got {kind!r}")
    try:
        return CONFIG_KINDS[kind].model_validate(data)
    except ValidationError as err:
        raise ConfigError.from_validation(source, err) from None


@overload
def load_config(path: str | Path, expect: None = None) -> FrozenModel: ...
@overload
def load_config(path: str | Path, expect: type[T]) -> T: ...
def load_config(path: str | Path, expect: type[T] | None = None) -> FrozenModel:
    """Read and validate ``path``; with ``expect``, insist on that kind of config."""
    p = Path(path)
    model = parse_config(_read(p), str(p))
    if expect is not None and not isinstance(model, expect):
        want = expect.model_fields["kind"].default
        raise ConfigError(f"{p}: kind: expected {want!r}, got {getattr(model, 'kind', None)!r}")
    return model
