"""The model contract's check names what differs: a missing column, a column computed
otherwise (with both definitions), another timeframe; extra columns are fine."""

from __future__ import annotations

import pytest

from tradewind.config.features import FeatureDef, FeatureSpec
from tradewind.policy import ActionMap, ContractMismatch, FeatureScaler, ModelContract, OtherMarket
from tradewind.policy.features import feature_definitions


def spec(rsi: int = 14, extra: bool = False) -> FeatureSpec:
    feats = [
        FeatureDef(name="log_return_1", fn="log_return", params={"period": 1}),
        FeatureDef(name="z", fn="zscore", input="log_return_1", params={"window": 20}),
        FeatureDef(name="rsi", fn="RSI", params={"timeperiod": rsi}),
        FeatureDef(name="tod", fn="time_of_day"),
    ]
    if extra:
        feats.insert(0, FeatureDef(name="ema", fn="EMA", params={"timeperiod": 5}))
    return FeatureSpec(name="t", features=tuple(feats))


def contract(s: FeatureSpec) -> ModelContract:
    cols = ("z", "rsi", "tod_sin")
    return ModelContract(
        kind="rl",
        algo="ppo",
        instrument="EUR_USD",
        timeframe="H1",
        feature_spec_fingerprint=s.fingerprint,
        feature_columns=cols,
        feature_defs=feature_definitions(s, cols),
        window=2,
        position_state=True,
        scaler=FeatureScaler(mean=(0.0,) * 3, std=(1.0,) * 3),
        actions=ActionMap(kind="discrete", targets=(0.0, 1.0, -1.0)),
    )


def test_same_definitions_in_another_file_with_more_features_pass() -> None:
    c = contract(spec())
    other = spec(extra=True)
    assert other.fingerprint != c.feature_spec_fingerprint
    c.check(other.columns, other.fingerprint, timeframe="H1", feature_spec=other)


def test_a_column_computed_otherwise_is_named_with_both_definitions() -> None:
    c = contract(spec())
    other = spec(rsi=10)
    with pytest.raises(ContractMismatch, match=r"feature rsi as .*14.*computes it as .*10"):
        c.check(other.columns, other.fingerprint, feature_spec=other, model="m@champion")


def test_an_input_chain_is_part_of_the_definition() -> None:
    s = spec()
    feats = list(s.features)
    feats[0] = FeatureDef(name="log_return_1", fn="log_return", params={"period": 2})
    other = FeatureSpec(name="t2", features=tuple(feats))
    with pytest.raises(ContractMismatch, match=r"feature z as"):
        contract(s).check(other.columns, feature_spec=other)


def test_missing_columns_and_timeframe_are_named() -> None:
    c = contract(spec())
    with pytest.raises(ContractMismatch, match="missing rsi"):
        c.check(("z", "tod_sin"))
    with pytest.raises(ContractMismatch, match="trained on H1 bars; the caller has M5"):
        c.check(spec().columns, timeframe="M5")


def test_without_definitions_the_fingerprints_must_match() -> None:
    c = contract(spec()).model_copy(update={"feature_defs": {}})
    other = spec(extra=True)
    with pytest.raises(ContractMismatch, match="feature spec"):
        c.check(other.columns, other.fingerprint, feature_spec=other)


def test_another_instrument_or_side_is_refused_unless_allowed() -> None:
    c = contract(spec())
    cols = spec().columns
    with pytest.raises(OtherMarket, match="trained on EUR_USD; the caller trades GBP_USD") as e:
        c.check(cols, instruments=("EUR_USD", "GBP_USD"), side="mid", model="m")
    assert e.value.what == "instrument"
    with pytest.raises(OtherMarket, match="trained on mid prices; the caller uses bid") as e:
        c.check(cols, instruments=("EUR_USD",), side="bid")
    assert e.value.what == "side"
    c.check(
        cols,
        instruments=("GBP_USD",),
        side="bid",
        allow_other_instrument=True,
        allow_other_side=True,
    )
    c.check(cols, instruments=("EUR_USD",), side="mid")
    assert c.other_markets(("EUR_USD", "GBP_USD"), "bid") == {
        "instruments": ["GBP_USD"],
        "side": "bid",
    }
    assert c.other_markets(("EUR_USD",), "mid") == {}
