"""How an object dropped into the landing bucket says what it is, and where it goes after.

- Drop ``incoming/<INSTRUMENT>/<TIMEFRAME>/<name>.csv`` or ``.parquet`` (``EUR_USD``, ``M1``:
  the security master's symbol and an OANDA granularity). Defaults of a file import apply:
  mid prices, UTC, columns found by their common names, vendor ``file``, keep on conflict.
- Other import options go in an optional sidecar ``<that key>.spec.yaml`` holding the fields
  of an import spec (``configs/imports/*.yaml``: columns, timezone, epoch_unit, side, vendor,
  on_conflict, volume_required, format); ``instrument``/``timeframe`` there must agree with
  the key. Upload the sidecar before its data file: a data file is imported as soon as a run
  sees it.
- An imported object moves to ``processed/<batch_id>/<name>`` (its sidecar along with it);
  one that cannot be imported moves to ``rejected/<batch_id>/<name>`` when a batch was stored
  (over the quarantine ratio) or ``rejected/<reason>-<sha256[:12]>/<name>`` when not, with
  the reason in ``<name>.reason.txt`` next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from tradewind.config import ImportSpec
from tradewind.config.errors import ConfigError
from tradewind.domain import Timeframe

INCOMING = "incoming/"
PROCESSED = "processed/"
REJECTED = "rejected/"
SPEC_SUFFIX = ".spec.yaml"
REASON_SUFFIX = ".reason.txt"
DATA_SUFFIXES = (".csv", ".parquet")
SYMBOL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class BadKey(ValueError):
    """The key does not follow ``incoming/<INSTRUMENT>/<TIMEFRAME>/<name>.csv|parquet``."""


class BadSpec(ValueError):
    """The sidecar spec is not valid YAML or not a valid import spec for the key."""


@dataclass(frozen=True)
class LandingKey:
    key: str
    instrument: str
    timeframe: Timeframe
    name: str

    @property
    def spec_key(self) -> str:
        return self.key + SPEC_SUFFIX


def is_sidecar(key: str) -> bool:
    return key.endswith((SPEC_SUFFIX, REASON_SUFFIX))


def parse_key(key: str) -> LandingKey:
    """Instrument, timeframe and file name from an ``incoming/`` key."""
    parts = key.split("/")
    want = "incoming/<INSTRUMENT>/<TIMEFRAME>/<name>.csv|parquet"
    if len(parts) != 4 or parts[0] != INCOMING.rstrip("/"):
        raise BadKey(f"{key}: not {want}")
    _, instrument, timeframe, name = parts
    if not instrument or not set(instrument) <= SYMBOL_CHARS or "_" not in instrument:
        raise BadKey(f"{key}: {instrument!r} is not an instrument symbol like EUR_USD")
    try:
        tf = Timeframe(timeframe)
    except ValueError:
        raise BadKey(f"{key}: {timeframe!r} is not a timeframe (M1, M5, H1, D, ...)") from None
    if not name.lower().endswith(DATA_SUFFIXES) or name.startswith("."):
        raise BadKey(f"{key}: {name!r} is not a .csv or .parquet file")
    return LandingKey(key, instrument, tf, name)


def import_spec(lk: LandingKey, sidecar: bytes | None) -> ImportSpec:
    """The import spec of an object: the key's instrument and timeframe, the sidecar's
    options (if any) over the defaults."""
    options: dict[str, Any] = {}
    if sidecar is not None:
        try:
            loaded = yaml.safe_load(sidecar.decode("utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise BadSpec(f"{lk.spec_key}: not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise BadSpec(f"{lk.spec_key}: expected a mapping of import options")
        options = dict(loaded)
    for field, value in (("instrument", lk.instrument), ("timeframe", lk.timeframe.value)):
        if options.get(field, value) != value:
            raise BadSpec(f"{lk.spec_key}: {field} {options[field]!r} disagrees with the key")
    options.update(kind="import", instrument=lk.instrument, timeframe=lk.timeframe.value)
    try:
        return ImportSpec.model_validate(options)
    except ValidationError as err:
        raise BadSpec(str(ConfigError.from_validation(lk.spec_key, err))) from None
