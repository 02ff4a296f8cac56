"""The ingest config, the work items of the DAG, the landing key convention and the reason
kinds the quarantine gate counts (no services needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.config import ConfigError, load_config
from tradewind.config.ingest import MarketIngestConfig
from tradewind.domain import PriceSide, Timeframe
from tradewind.orchestration.ingest import DEFAULT_CONFIG, work_items
from tradewind.pipelines.landing_keys import BadKey, BadSpec, import_spec, parse_key
from tradewind.pipelines.quarantine_gate import BatchQuarantine, check_ratio, reason_kind

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_config_covers_the_universe() -> None:
    cfg = load_config(ROOT / DEFAULT_CONFIG, MarketIngestConfig)
    assert cfg.max_quarantine_ratio == 0.05
    items = work_items(DEFAULT_CONFIG, ROOT)
    assert len(items) == 11 * len(cfg.timeframes)
    assert {"instrument": "XAU_USD", "timeframe": "H1"} in items
    narrowed = work_items(DEFAULT_CONFIG, ROOT, ["USD_JPY"], ["M1", "D"])
    assert narrowed == [
        {"instrument": "USD_JPY", "timeframe": "M1"},
        {"instrument": "USD_JPY", "timeframe": "D"},
    ]
    with pytest.raises(ConfigError, match="not in universe 'fx-majors': XXX_YYY"):
        work_items(DEFAULT_CONFIG, ROOT, ["XXX_YYY"])
    with pytest.raises(ConfigError, match=r"params\.timeframes"):
        work_items(DEFAULT_CONFIG, ROOT, [], ["M7"])


def test_config_rejects_what_it_does_not_know(tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("kind: market_ingest\nuniverse: u.yaml\ntimeframes: [H1, H1]\n")
    with pytest.raises(ConfigError, match="listed twice"):
        load_config(bad, MarketIngestConfig)
    bad.write_text("kind: market_ingest\nuniverse: u.yaml\ntimeframes: [H1]\nratio: 1\n")
    with pytest.raises(ConfigError, match="ratio"):
        load_config(bad, MarketIngestConfig)


@pytest.mark.parametrize(
    "key",
    [
        "incoming/EUR_USD/M5.csv",
        "incoming/eur_usd/M5/a.csv",
        "incoming/EUR_USD/M7/a.csv",
        "incoming/EUR_USD/M5/a.xlsx",
        "incoming/EUR_USD/M5/sub/a.csv",
        "elsewhere/EUR_USD/M5/a.csv",
    ],
)
def test_keys_off_the_convention_are_refused(key: str) -> None:
    with pytest.raises(BadKey, match=key.replace(".", r"\.")):
        parse_key(key)


def test_a_sidecar_spec_sets_the_import_options() -> None:
    lk = parse_key("incoming/EUR_USD/M5/quotes.Parquet")
    assert (lk.instrument, lk.timeframe, lk.name) == ("EUR_USD", Timeframe.M5, "quotes.Parquet")
    assert import_spec(lk, None).side is PriceSide.MID
    spec = import_spec(lk, b"side: ask\ntimezone: America/New_York\ninstrument: EUR_USD\n")
    assert (spec.side, spec.timezone, spec.instrument) == (
        PriceSide.ASK,
        "America/New_York",
        "EUR_USD",
    )
    with pytest.raises(BadSpec, match="instrument 'GBP_USD' disagrees with the key"):
        import_spec(lk, b"instrument: GBP_USD\n")
    with pytest.raises(BadSpec, match="side"):
        import_spec(lk, b"side: middle\n")
    with pytest.raises(BadSpec, match="mapping"):
        import_spec(lk, b"- a list\n")


def test_reasons_are_counted_by_kind_and_the_gate_names_the_batches() -> None:
    assert reason_kind("duplicate of line 7 (2024-01-02T00:05:00Z)") == "duplicate of line N"
    assert reason_kind("timestamp not on the M5 grid") == "timestamp not on the M5 grid"
    assert reason_kind("high below max(open, close)") == "high below max(open, close)"
    ok = BatchQuarantine(1, "EUR_USD M5 mid", 100, 95, 5, {"close is not finite": 5})
    check_ratio([ok], 0.05)  # at the limit is not over it
    bad = BatchQuarantine(2, "EUR_USD M5 bid", 100, 94, 6, {"close is not finite": 6})
    with pytest.raises(RuntimeError, match=r"EUR_USD M5 bid \(batch 2\): 6 of 100 rows"):
        check_ratio([ok, bad], 0.05)
