"""A feature set (``kind: features``): TA-Lib functions by name plus a few transforms TA-Lib lacks.

Each ``FeatureDef`` makes one output column named ``name``, except the time encodings, which
make two: ``{name}_sin`` and ``{name}_cos``. Features are computed in the order listed; a
feature's ``input`` may name a bar field (open, high, low, close, volume) or any column of a
feature listed *before* it, so the list is its own dependency order and cannot have a cycle.

Transforms (params and defaults):

- ``log_return``  ``period=1``: ``log(x[t] / x[t - period])``.
- ``zscore``      ``window=20``, ``ddof=0``: ``(x[t] - mean) / std`` over ``x[t-window+1..t]``
  (population std by default, ``ddof=1`` for sample); NaN where the std is zero.
- ``spread``      no params: the ``spread`` array given to ``build_features`` (ask - bid).
- ``time_of_day`` no params: sin/cos of 2π·(UTC seconds of day)/86400.
- ``day_of_week`` no params: sin/cos of 2π·weekday/7 (Monday = 0, UTC).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

import talib
import talib.abstract
from pydantic import Field, ValidationInfo, field_validator

from tradewind.config.base import FrozenModel

BAR_FIELDS = ("open", "high", "low", "close", "volume")

# params of each transform: name -> (default, type)
TRANSFORMS: dict[str, dict[str, tuple[Any, type]]] = {
    "log_return": {"period": (1, int)},
    "zscore": {"window": (20, int), "ddof": (0, int)},
    "spread": {},
    "time_of_day": {},
    "day_of_week": {},
}
TIME_ENCODINGS = ("time_of_day", "day_of_week")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EXAMPLES = "RSI, ATR, MACD, BBANDS, ADX, SMA, EMA, STOCH, CCI, OBV"


@cache
def talib_info(fn: str) -> dict[str, Any] | None:
    """TA-Lib's description of ``fn`` (inputs, parameters, outputs), or None if it has none."""
    if fn not in _talib_functions():
        return None
    info = talib.abstract.Function(fn).info  # type: ignore[attr-defined]  # not in abstract.pyi
    return dict(info)


@cache
def _talib_functions() -> frozenset[str]:
    return frozenset(talib.get_functions())  # type: ignore[no-untyped-call]  # unannotated in talib


def talib_inputs(fn: str) -> list[tuple[str, str]]:
    """``(input slot, default source)`` pairs in the positional order of ``talib.<fn>``."""
    info = talib_info(fn)
    assert info is not None
    out: list[tuple[str, str]] = []
    for slot, src in info["input_names"].items():
        if isinstance(src, list):
            out.extend((slot, s) for s in src)
        else:
            out.append((slot, src))
    return out


def talib_params(fn: str) -> dict[str, Any]:
    info = talib_info(fn)
    assert info is not None
    return dict(info["parameters"])


def talib_outputs(fn: str) -> list[str]:
    info = talib_info(fn)
    assert info is not None
    return list(info["output_names"])


def is_transform(fn: str) -> bool:
    return fn in TRANSFORMS


class FeatureDef(FrozenModel):
    """One feature: a TA-Lib function or a transform, its params, input and output (if several)."""

    name: str = Field(min_length=1)
    fn: str = Field(min_length=1)
    input: str | None = None  # None: the function's own default (close for one-price functions)
    params: dict[str, Any] = Field(default_factory=dict)
    output: str | None = None  # which output of a multi-output TA-Lib function, e.g. MACD: macd

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not a plain identifier (letters, digits, _)")
        if v in BAR_FIELDS:
            raise ValueError(f"{v!r} is a bar field; choose another feature name")
        return v

    @field_validator("fn")
    @classmethod
    def _fn(cls, v: str) -> str:
        if is_transform(v) or talib_info(v) is not None:
            return v
        close = [f for f in _talib_functions() if f == v.upper()]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown function {v!r}{hint}: expected a TA-Lib function name such as {_EXAMPLES}"
            f" (talib.get_functions() lists all), or one of {', '.join(TRANSFORMS)}"
        )

    @field_validator("input")
    @classmethod
    def _input(cls, v: str | None, info: ValidationInfo) -> str | None:
        fn = info.data.get("fn")
        if v is None or fn is None:
            return v
        if fn in TIME_ENCODINGS or fn == "spread":
            raise ValueError(f"{fn} takes no input")
        if not is_transform(fn) and "price" not in dict(talib_inputs(fn)):
            slots = ", ".join(s for _, s in talib_inputs(fn))
            raise ValueError(f"{fn} reads {slots} itself; input applies to one-price functions")
        return v

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        fn = info.data.get("fn")
        if fn is None:
            return v
        if is_transform(fn):
            known = {k: d for k, (d, _) in TRANSFORMS[fn].items()}
        else:
            known = talib_params(fn)
        for key, value in v.items():
            if key not in known:
                valid = ", ".join(known) or "none"
                raise ValueError(f"{fn} has no parameter {key!r} (valid: {valid})")
            want = type(known[key])
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key}: expected a number, got {value!r}")
            if want is int and not float(value).is_integer():
                raise ValueError(f"{key}: expected an integer, got {value!r}")
        # TA-Lib's own types (2 -> 2.0 for nbdevup), so equal settings fingerprint equally
        v = {k: type(known[k])(value) for k, value in v.items()}
        if fn == "log_return" and v.get("period", 1) < 1:
            raise ValueError("period: must be at least 1")
        if fn == "zscore" and v.get("window", 20) < 2:
            raise ValueError("window: must be at least 2")
        if fn == "zscore" and v.get("ddof", 0) not in (0, 1):
            raise ValueError("ddof: must be 0 (population) or 1 (sample)")
        return v

    @field_validator("output")
    @classmethod
    def _output(cls, v: str | None, info: ValidationInfo) -> str | None:
        fn = info.data.get("fn")
        if fn is None:
            return v
        if is_transform(fn):
            if v is not None:
                raise ValueError(f"{fn} has a single output; remove output")
            return v
        outs = talib_outputs(fn)
        if len(outs) == 1:
            if v not in (None, outs[0]):
                raise ValueError(f"{fn} has a single output {outs[0]!r}, got {v!r}")
            return None
        if v is None:
            raise ValueError(f"{fn} has several outputs; choose one of {', '.join(outs)}")
        if v not in outs:
            raise ValueError(f"{fn} has no output {v!r}; choose one of {', '.join(outs)}")
        return v

    @property
    def columns(self) -> tuple[str, ...]:
        """The output column names this feature makes."""
        if self.fn in TIME_ENCODINGS:
            return (f"{self.name}_sin", f"{self.name}_cos")
        return (self.name,)

    def param(self, key: str) -> Any:
        """A param's value, or its default (TA-Lib's or the transform's)."""
        if key in self.params:
            return self.params[key]
        if is_transform(self.fn):
            return TRANSFORMS[self.fn][key][0]
        return talib_params(self.fn)[key]


class FeatureSpec(FrozenModel):
    """An ordered list of features; see the module docstring for names, inputs and transforms."""

    kind: Literal["features"] = "features"
    name: str = Field(min_length=1)
    features: tuple[FeatureDef, ...] = Field(min_length=1)

    @field_validator("features")
    @classmethod
    def _names_and_refs(cls, v: tuple[FeatureDef, ...]) -> tuple[FeatureDef, ...]:
        seen: dict[str, int] = {}  # every feature name and column name -> its feature
        cols: set[str] = set()  # columns of the features before this one
        for i, feat in enumerate(v):
            if feat.input is not None and feat.input not in BAR_FIELDS and feat.input not in cols:
                raise ValueError(
                    f"features.{i}.input: {feat.input!r} is not a bar field "
                    f"({', '.join(BAR_FIELDS)}) or a column of a feature listed before "
                    f"{feat.name!r}"
                )
            for col in dict.fromkeys((feat.name, *feat.columns)):
                if col in seen:
                    raise ValueError(
                        f"features.{i}.name: duplicate name {col!r} (already used by "
                        f"features.{seen[col]})"
                    )
                seen[col] = i
            cols.update(feat.columns)
        return v

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for f in self.features for c in f.columns)
