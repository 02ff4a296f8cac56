"""What the scheduled market-data ingestion covers: which instruments of a universe, which
timeframes, how much history a new series starts with, and the quarantine ratio a batch may
reach before its job fails."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tradewind.config.base import FrozenModel
from tradewind.domain import Timeframe

SYMBOL = r"^[A-Z0-9]{2,12}_[A-Z0-9]{2,12}$"


class MarketIngestConfig(FrozenModel):
    """``configs/ingest/*.yaml`` (``kind: market_ingest``).

    ``universe`` is a universe config path, relative to this file; ``instruments`` narrows it
    (empty: every instrument of the universe). A series with no stored bar starts
    ``history_bars`` bars before the run's end; one with bars resumes after its newest bar.
    A batch whose quarantined rows exceed ``max_quarantine_ratio`` of the rows it read fails
    its job (its good rows stay stored)."""

    kind: Literal["market_ingest"] = "market_ingest"
    universe: str = Field(min_length=1)
    instruments: tuple[str, ...] = ()
    timeframes: tuple[Timeframe, ...] = Field(min_length=1)
    history_bars: int = Field(default=500, ge=1, le=100_000)
    max_quarantine_ratio: float = Field(default=0.05, ge=0.0, le=1.0)
    fail_on_rejected: bool = True  # a landing object that could not be imported fails the job

    @field_validator("instruments")
    @classmethod
    def _symbols(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        import re

        for s in v:
            if not re.fullmatch(SYMBOL, s):
                raise ValueError(f"{s!r} is not an instrument symbol like EUR_USD")
        if len(set(v)) != len(v):
            raise ValueError("an instrument is listed twice")
        return v

    @field_validator("timeframes")
    @classmethod
    def _unique(cls, v: tuple[Timeframe, ...]) -> tuple[Timeframe, ...]:
        if len(set(v)) != len(v):
            raise ValueError("a timeframe is listed twice")
        return v
