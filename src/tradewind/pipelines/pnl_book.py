"""The pure half of the daily P&L reconciliation: positions at the day's end, the comparison
of the broker's fills and positions with the OMS's, the reason a mismatch gives, and the
``pnl_daily`` rows of a day. No I/O: ``tradewind.pipelines.pnl`` reads and writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tradewind.config.pnl import PnlCheckConfig
from tradewind.domain.broker import FinancingCharged, OrderFilled, PositionSnapshot
from tradewind.domain.orders import FillRecord
from tradewind.pipelines import pnl_financing

Json = dict[str, Any]
FLAT = 1e-9  # units closer to zero than this are flat (float noise of sums)
_PRICE = 1e-9  # the same fill's price, as both sides parsed it from one string
_MONEY = ("pl", "financing", "commission")


def units_at_end(
    now: Mapping[str, PositionSnapshot], later: Iterable[OrderFilled]
) -> dict[str, float]:
    """The broker's units per instrument at the day's end: its positions now less the fills
    after the end."""
    units: dict[str, float] = defaultdict(float, {i: p.units for i, p in now.items()})
    for fill in later:
        units[fill.instrument] -= fill.units
    return {i: u for i, u in units.items() if abs(u) > FLAT}


def compare(
    broker_fills: Sequence[OrderFilled],
    oms_fills: Sequence[FillRecord],
    broker_units: Mapping[str, float],
    oms_units: Mapping[str, float],
    cfg: PnlCheckConfig,
) -> Json:
    """Every difference beyond the tolerances: broker fills the OMS lacks, OMS fills the
    broker's day lacks, fills that differ, and positions at the day's end that differ."""
    ours = {f.transaction_id: f for f in oms_fills}
    theirs = {f.transaction_id: f for f in broker_fills}
    missing = [_fill_json(f) for f in broker_fills if f.transaction_id not in ours]
    extra = [_record_json(f) for tid, f in ours.items() if tid not in theirs]
    different = [
        d
        for f in broker_fills
        if f.transaction_id in ours and (d := _differs(f, ours[f.transaction_id], cfg))
    ]
    positions = [
        {"instrument": i, "broker": broker_units.get(i, 0.0), "oms": oms_units.get(i, 0.0)}
        for i in sorted(set(broker_units) | set(oms_units))
        if abs(broker_units.get(i, 0.0) - oms_units.get(i, 0.0)) > max(cfg.units_tolerance, FLAT)
    ]
    return {
        "missing_in_oms": missing,
        "not_at_broker": extra,
        "different": different,
        "positions": positions,
    }


def _differs(b: OrderFilled, o: FillRecord, cfg: PnlCheckConfig) -> Json | None:
    fields: Json = {}
    if o.instrument != b.instrument:
        fields["instrument"] = [b.instrument, o.instrument]
    if abs(o.units - b.units) > max(cfg.units_tolerance, FLAT):
        fields["units"] = [b.units, o.units]
    if abs(o.price - b.price) > _PRICE:
        fields["price"] = [b.price, o.price]
    for name in _MONEY:
        if abs(getattr(o, name) - getattr(b, name)) > cfg.money_tolerance:
            fields[name] = [getattr(b, name), getattr(o, name)]
    return {"transaction_id": b.transaction_id, "broker_vs_oms": fields} if fields else None


def _fill_json(f: OrderFilled) -> Json:
    return {
        "transaction_id": f.transaction_id,
        "instrument": f.instrument,
        "units": f.units,
        "price": f.price,
        "pl": f.pl,
    }


def _record_json(f: FillRecord) -> Json:
    return {**_fill_json(f), "deployment": f.deployment}  # type: ignore[arg-type]


def mismatched(detail: Json) -> bool:
    keys = ("missing_in_oms", "not_at_broker", "different", "positions", "financing")
    return any(detail.get(k) for k in keys)


def reason(day: str, detail: Json, limit: int = 5) -> str:
    """One line naming the differences (the first ``limit``, then how many more)."""
    parts = [
        *(
            f"broker fill {f['transaction_id']} ({f['instrument']} {f['units']:g} @ "
            f"{f['price']}) is missing from the OMS"
            for f in detail["missing_in_oms"]
        ),
        *(
            f"OMS fill {f['transaction_id']} ({f['instrument']} {f['units']:g}) is not among "
            "the broker's fills of the day"
            for f in detail["not_at_broker"]
        ),
        *(
            f"fill {d['transaction_id']} differs (broker vs OMS: "
            + ", ".join(f"{k} {a} vs {b}" for k, (a, b) in d["broker_vs_oms"].items())
            + ")"
            for d in detail["different"]
        ),
        *(
            f"{p['instrument']} at the day's end: broker {p['broker']:g} units, OMS {p['oms']:g}"
            for p in detail["positions"]
        ),
        *(
            f"daily financing {f['transaction_id']} of {f['instrument']}: broker {f['broker']}, "
            f"OMS {'none' if f['oms'] is None else f['oms']}"
            for f in detail.get("financing", ())
        ),
    ]
    shown = "; ".join(parts[:limit]) + (
        f"; and {len(parts) - limit} more" if len(parts) > limit else ""
    )
    return f"P&L reconciliation of {day}: {shown}"


def daily_rows(
    fills: Sequence[OrderFilled],
    deployment_of: Callable[[OrderFilled], str],
    attributed_units: Mapping[tuple[str, str], float],
    units: Mapping[str, float],
    unrealised: Mapping[str, float | None] | None,
    nav: float | None,
    charges: Sequence[FinancingCharged] = (),
) -> list[Json]:
    """One row per (deployment, instrument) with fills of the day or units at its end, and
    an account row (deployment '', instrument '*': the sums and the NAV).

    ``attributed_units``: units per (deployment, instrument) of the deployments' own fills;
    what the account holds beyond them is deployment '' (unattributed). ``unrealised``: per
    instrument at the day's end (None: no mark), shared among its deployments by units, as
    is the day's daily financing (``charges``, see ``pnl_financing``)."""
    rows: dict[tuple[str, str], Json] = defaultdict(_empty)
    for f in fills:
        row = rows[(deployment_of(f), f.instrument)]
        row["realized_pl"] += f.pl
        row["financing"] += f.financing
        row["commission"] += f.commission
    held = {k: u for k, u in attributed_units.items() if abs(u) > FLAT}
    for instrument, total in units.items():
        rest = total - sum(u for (_, i), u in held.items() if i == instrument)
        if abs(rest) > FLAT:
            held[("", instrument)] = rest
    for key, u in held.items():
        rows[key]["units"] = u
    for key, amount in pnl_financing.shares(charges, held).items():
        rows[key]["financing"] += amount
    out = [
        _finish(d, i, row, units.get(i, 0.0), _mark(unrealised, i), nav)
        for (d, i), row in sorted(rows.items())
    ]
    return [*out, _account_row(out, nav)]


def _empty() -> Json:
    return {"realized_pl": 0.0, "financing": 0.0, "commission": 0.0, "units": 0.0}


def _mark(unrealised: Mapping[str, float | None] | None, instrument: str) -> float | None:
    return None if unrealised is None else unrealised.get(instrument)


def _finish(
    deployment: str, instrument: str, row: Json, total: float, mark: float | None, nav: float | None
) -> Json:
    if abs(row["units"]) <= FLAT or abs(total) <= FLAT:
        upl: float | None = 0.0
    else:
        upl = None if mark is None else mark * row["units"] / total
    money = {k: round(row[k], 8) for k in ("realized_pl", "financing", "commission")}
    return {
        "deployment": deployment,
        "instrument": instrument,
        **money,
        "unrealized_pl": None if upl is None else round(upl, 8),
        "units": row["units"],
        "nav": nav,
    }


def _account_row(rows: Sequence[Json], nav: float | None) -> Json:
    marks = [r["unrealized_pl"] for r in rows]
    sums = {
        k: round(sum(r[k] for r in rows), 8) for k in ("realized_pl", "financing", "commission")
    }
    return {
        "deployment": "",
        "instrument": "*",
        **sums,
        "unrealized_pl": None if None in marks else round(sum(marks), 8),
        "units": 0.0,
        "nav": nav,
    }
