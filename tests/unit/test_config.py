"""Configs: frozen, strict, fingerprinted; errors name the file, the field and what was wanted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from tradewind.config import (
    ConfigError,
    ImportSpec,
    Settings,
    SyntheticConfig,
    UniverseConfig,
    fingerprint,
    load_config,
)

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_configs_load() -> None:
    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        cfg = load_config(path)
        assert len(cfg.fingerprint) == 64


def test_fingerprint_ignores_formatting_key_order_and_defaults(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text("kind: synthetic\nbars: 100\nseed: 3\n# a comment\n")
    b = tmp_path / "b.json"
    b.write_text(json.dumps({"seed": 3, "kind": "synthetic", "bars": 100, "timeframe": "H1"}))
    assert load_config(a).fingerprint == load_config(b).fingerprint


def test_fingerprint_changes_with_any_value() -> None:
    base = SyntheticConfig()
    assert fingerprint(base) != fingerprint(SyntheticConfig(seed=base.seed + 1))
    assert fingerprint(base) == fingerprint(SyntheticConfig())


def test_universe_order_does_not_change_identity() -> None:
    eur = {"symbol": "EUR_USD", "pip_location": -4, "display_precision": 5}
    jpy = {"symbol": "USD_JPY", "pip_location": -2, "display_precision": 3}
    one = UniverseConfig.model_validate({"name": "u", "instruments": [eur, jpy]})
    two = UniverseConfig.model_validate({"name": "u", "instruments": [jpy, eur]})
    assert one.fingerprint == two.fingerprint


def test_configs_are_frozen_and_reject_unknown_fields() -> None:
    cfg = SyntheticConfig()
    with pytest.raises(ValidationError):
        cfg.bars = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        SyntheticConfig.model_validate({"kind": "synthetic", "barz": 3})


def test_error_names_file_field_path_and_expectation(tmp_path: Path) -> None:
    p = tmp_path / "u.yaml"
    p.write_text(
        "kind: universe\nname: x\ninstruments:\n"
        "  - {symbol: EUR_USD, pip_location: minus four, display_precision: 5}\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert str(p) in msg
    assert "instruments.0.pip_location" in msg
    assert "integer" in msg


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("kind: nonsense\n", "kind: expected one of"),
        ("- a list\n", "expected a mapping"),
        ("kind: synthetic\nbars: [unclosed\n", "not valid"),
        ("kind: synthetic\nextra_field: 1\n", "extra_field: Extra inputs are not permitted"),
        ("kind: import\ninstrument: EUR_USD\ntimeframe: H7\n", "timeframe"),
        ("kind: import\ninstrument: EUR_USD\ntimeframe: H1\ntimezone: Mars/Olympus\n", "time zone"),
    ],
)
def test_bad_configs(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=None) as exc:
        load_config(p)
    assert needle in str(exc.value)
    assert str(p) in str(exc.value)


def test_missing_file_and_wrong_kind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "s.yaml"
    p.write_text("kind: synthetic\n")
    with pytest.raises(ConfigError, match="expected 'import'"):
        load_config(p, ImportSpec)


def test_settings_defaults_and_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADEWIND_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRADEWIND_HOME", str(tmp_path))
    s = Settings()
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/tradewind.db"
    secret = tmp_path / "pw"
    secret.write_text("s3cret-pw\n")
    monkeypatch.setenv("TRADEWIND_DATABASE_URL", "postgresql://tw@db:5432/tw")
    monkeypatch.setenv("TRADEWIND_DATABASE_PASSWORD_FILE", str(secret))
    s = Settings()
    assert "s3cret-pw" in s.resolved_database_url
    assert "s3cret-pw" not in s.database_display
    assert "s3cret-pw" not in repr(s)


def test_live_warm_up_lead_is_checked(tmp_path: Path) -> None:
    from tradewind.config.live import LiveConfig

    path = Path(__file__).resolve().parents[2] / "configs/live/paper_demo.yaml"
    demo = path.read_text()
    assert load_config(path, LiveConfig).warm_order_path_s == 10.0
    p = tmp_path / "live.yaml"
    p.write_text(demo + "\nwarm_order_path_s: -1\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p, LiveConfig)
    assert "warm_order_path_s" in str(exc.value)
    assert "greater than or equal to 0" in str(exc.value)
    p.write_text(demo + "\nwarm_order_path_s: 0\n")  # 0: the order path never runs dry
    assert load_config(p, LiveConfig).warm_order_path_s == 0.0
