"""OANDA candles into the security master: complete candles only, mid/bid/ask from one
request (``price=MBA``), paged by at most 5000, resuming after the last stored bar of each
series, through the same validate -> quarantine -> merge path as file imports (vendor
``oanda``), so a re-run inserts nothing."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import Field
from sqlalchemy import Engine

from tradewind.broker.ports import CandleSource, Json
from tradewind.config import FrozenModel
from tradewind.domain import BarSeries, PriceSide, Timeframe
from tradewind.marketdata.issues import RowIssues
from tradewind.marketdata.validation import validate_bars
from tradewind.pipelines.ingest import ImportReport, Source, check_instrument, store_series
from tradewind.storage import catalog
from tradewind.storage.bars import BarKey, last_bar_us

VENDOR = "oanda"


def vendor_for(environment: str) -> str:
    """``oanda`` for OANDA's own environments; ``oanda-<name>`` for any other (a paper venue's
    prices are not OANDA's, and the stored bars should say so)."""
    return VENDOR if environment in ("practice", "live") else f"{VENDOR}-{environment}"


PAGE = 5000
_SIDE_KEY = {PriceSide.MID: "mid", PriceSide.BID: "bid", PriceSide.ASK: "ask"}


class OandaIngestSpec(FrozenModel):
    """What an OANDA candle ingestion asked for (stored with each batch as its config)."""

    kind: Literal["oanda_ingest"] = "oanda_ingest"
    instrument: str = Field(pattern=r"^[A-Z0-9]{2,12}_[A-Z0-9]{2,12}$")
    timeframe: Timeframe
    start: datetime
    end: datetime
    environment: str = "practice"
    price: Literal["MBA"] = "MBA"


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _rfc3339(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _us(dt: datetime) -> int:
    d = _utc(dt) - datetime(1970, 1, 1, tzinfo=UTC)
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def _from_us(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))


def candle_times_us(candles: list[Json]) -> np.ndarray:
    """v20 candle times (RFC3339 with up to 9 decimals, or UNIX seconds) -> epoch µs."""
    out = np.empty(len(candles), dtype=np.int64)
    for i, c in enumerate(candles):
        t = str(c["time"])
        if "T" not in t:
            whole, _, frac = t.partition(".")
            out[i] = int(whole) * 1_000_000 + int((frac or "0").ljust(9, "0")[:6])
            continue
        head, _, frac = t.rstrip("Z").partition(".")
        base = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        out[i] = _us(base) + int((frac or "0").ljust(9, "0")[:6])
    return out


def _num(d: Any, k: str) -> float:
    try:
        return float(d[k])
    except (KeyError, TypeError, ValueError):
        return float("nan")


def side_bars(candles: list[Json], ts: np.ndarray, side: PriceSide, first_line: int) -> BarSeries:
    """One price side of ``candles`` as columns; a missing or unparseable value is NaN (and
    then quarantined by validation)."""
    key = _SIDE_KEY[side]
    n = len(candles)
    cols = {f: np.full(n, np.nan) for f in ("open", "high", "low", "close")}
    volume = np.full(n, np.nan)
    for i, c in enumerate(candles):
        px = c.get(key) or {}
        for f, short in (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c")):
            cols[f][i] = _num(px, short)
        volume[i] = _num(c, "volume")
    return BarSeries(
        ts=ts.astype(np.int64),
        volume=volume,
        line=np.arange(first_line, first_line + n, dtype=np.int64),
        **cols,
    )


def fetch_complete(
    source: CandleSource,
    instrument: str,
    timeframe: Timeframe,
    start_us: int,
    end_us: int,
    page: int = PAGE,
) -> tuple[list[Json], int]:
    """Complete candles with ``start <= time < end``, paged by ``page`` (from + count);
    returns them and how many requests it took. Stops at the first incomplete candle."""
    if not 0 < page <= PAGE:
        raise ValueError(f"page must be 1..{PAGE}")
    step = timeframe.seconds * 1_000_000
    out: list[Json] = []
    cursor, calls = start_us, 0
    while cursor < end_us:
        batch = source.candles(
            instrument,
            timeframe.value,
            price="MBA",
            start=_rfc3339(_from_us(cursor)),
            count=page,
            include_first=True,
        )
        calls += 1
        if not batch:
            break
        ts = candle_times_us(batch)
        keep = (ts >= cursor) & (ts < end_us)
        complete = np.array([bool(c.get("complete", False)) for c in batch], dtype=bool)
        stop = not complete.all()
        if stop:  # everything from the first incomplete candle on is still forming
            keep &= np.arange(len(batch)) < int(np.argmin(complete))
        out.extend(c for c, k in zip(batch, keep.tolist(), strict=True) if k)
        newest = int(ts.max())
        if stop or len(batch) < page or newest + step >= end_us or newest < cursor:
            break
        cursor = newest + step
    return out, calls


def ingest_oanda(
    engine: Engine,
    source: CandleSource,
    instrument: str,
    timeframe: Timeframe,
    start: datetime,
    end: datetime,
    *,
    environment: str = "practice",
    sides: tuple[PriceSide, ...] = (PriceSide.MID, PriceSide.BID, PriceSide.ASK),
    page: int = PAGE,
    skip_empty: bool = False,
) -> list[ImportReport]:
    """Fetch and store ``instrument``'s complete candles in ``[start, end)``, one batch per
    side. Each side resumes after its newest stored bar in the range; bars are validated and
    bad ones quarantined like any import. End is clipped to now. With ``skip_empty`` a side
    that fetched no candle records no batch (a scheduled job over a closed market)."""
    started = time.perf_counter()
    check_instrument(engine, instrument)
    now = datetime.now(UTC)
    start, end = _utc(start), min(_utc(end), now)
    if end <= start:
        raise ValueError(f"empty range: from {start.isoformat()} to {end.isoformat()}")
    spec = OandaIngestSpec(
        instrument=instrument, timeframe=timeframe, start=start, end=end, environment=environment
    )
    step = timeframe.seconds * 1_000_000
    start_us = -(-_us(start) // step) * step  # first grid point at or after start
    end_us = _us(end)
    with engine.connect() as conn:
        inst_id = catalog.instrument_id(conn, instrument)
    cursors = {}
    for side in sides:
        with engine.connect() as conn:
            last = last_bar_us(conn, BarKey(inst_id, timeframe, side), start_us, end_us)
        cursors[side] = start_us if last is None else last + step
    first = min(cursors.values())
    candles, _calls = fetch_complete(source, instrument, timeframe, first, end_us, page)
    ts = candle_times_us(candles)
    reports = []
    for side in sides:
        mine = ts >= cursors[side]
        picked = [c for c, k in zip(candles, mine.tolist(), strict=True) if k]
        if skip_empty and not picked:
            continue
        bars = side_bars(picked, ts[mine], side, first_line=1)
        issues = validate_bars(bars, timeframe, RowIssues(len(bars)))
        checksum = hashlib.sha256(
            json.dumps(
                [[c.get("time"), c.get(_SIDE_KEY[side]), c.get("volume")] for c in picked],
                sort_keys=True,
            ).encode()
        ).hexdigest()
        name = f"oanda:{environment}:{instrument}:{timeframe.value}:{side.value}"
        reports.append(
            store_series(
                engine,
                Source(name, "oanda", checksum, vendor_for(environment)),
                spec,
                instrument,
                timeframe,
                side,
                bars,
                issues,
                _raw(picked),
                started=started,
            )
        )
    return reports


def _raw(candles: list[Json]) -> Any:
    def rows(idx: np.ndarray) -> list[dict[str, Any]]:
        return [dict(candles[int(i)]) for i in idx.tolist()]

    return rows
