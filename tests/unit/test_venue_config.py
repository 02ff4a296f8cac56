"""`kind: venue` configs: the paper venue's per-instrument financing and commission and its
guaranteed stop loss mode, from a file (`tradewind venue serve --config`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tradewind.cli.app import app
from tradewind.config import ConfigError, load_config
from tradewind.config.venue import VenueConfig
from tradewind.venue.costs import DEFAULT_DAYS, costs_from_config
from tradewind.venue.service import Venue

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_venue_config_loads_into_costs_and_a_venue() -> None:
    cfg = load_config(REPO / "configs/venue/paper.yaml", VenueConfig)
    costs = costs_from_config(cfg)
    eur = costs["EUR_USD"]
    assert (eur.long_rate, eur.short_rate) == (Decimal("-0.0452"), Decimal("0.0125"))
    assert eur.days_charged == DEFAULT_DAYS
    venue = Venue.build(
        token="t" * 32,
        costs=costs,
        guaranteed_stop_loss_mode=cfg.guaranteed_stop_loss_mode,
    )
    assert venue.engine.instruments["EUR_USD"].costs == eur
    summary = venue.engine.get_summary(next(iter(venue.engine.accounts)))["account"]
    assert summary["guaranteedStopLossOrderMode"] == "ALLOWED"


def test_days_charged_and_commission() -> None:
    cfg = VenueConfig.model_validate(
        {
            "name": "x",
            "costs": {
                "EUR_USD": {
                    "long_rate": -0.01,
                    "days_charged": {"WEDNESDAY": 3, "FRIDAY": 1},
                    "commission": 50,
                    "units_traded": 1_000_000,
                    "minimum_commission": 0.05,
                }
            },
        }
    )
    eur = costs_from_config(cfg)["EUR_USD"]
    assert eur.days_charged == (1, 1, 3, 1, 1, 0, 0)
    assert eur.commission_for(Decimal(250_000)) == Decimal("12.5000")
    assert eur.commission_for(Decimal(10)) == Decimal("0.0500")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("kind: venue\nname: x\ncosts: {EUR_USD: {long_rate: 4.5}}\n", "long_rate"),
        ("kind: venue\nname: x\ncosts: {EUR_USD: {longrate: -0.01}}\n", "longrate"),
        ("kind: venue\nname: x\ncosts: {EUR_USD: {days_charged: {FRYDAY: 3}}}\n", "FRYDAY"),
        ("kind: venue\nname: x\nguaranteed_stop_loss_mode: ON\n", "guaranteed_stop_loss_mode"),
        ("kind: venue\nname: x\ncosts: {EUR_USD: {commission: -1}}\n", "commission"),
    ],
)
def test_a_bad_venue_config_is_refused_naming_the_field(
    tmp_path: Path, text: str, needle: str
) -> None:
    bad = tmp_path / "venue.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_config(bad, VenueConfig)
    got = CliRunner().invoke(app, ["venue", "serve", "--config", str(bad)])
    assert got.exit_code == 1
    lines = got.output.strip().splitlines()
    assert len(lines) == 1, got.output
    assert needle in lines[0]


def test_costs_for_an_instrument_the_venue_does_not_list_are_refused() -> None:
    cfg = VenueConfig.model_validate({"name": "x", "costs": {"EUR_XYZ": {"long_rate": 0.01}}})
    with pytest.raises(ValueError, match="costs for unknown instruments: EUR_XYZ"):
        Venue.build(token="t" * 32, costs=costs_from_config(cfg))
