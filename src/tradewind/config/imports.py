"""How a market-data file maps onto bars: columns, time zone, side, vendor, conflict policy."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from tradewind.config.base import FrozenModel
from tradewind.domain import PriceSide, Timeframe


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


class ConflictPolicy(StrEnum):
    KEEP = "keep"  # the stored bar stays as it was; the incoming row is reported as a conflict
    OVERWRITE = "overwrite"  # the incoming row replaces the stored bar; still reported
    FAIL = "fail"  # any conflict aborts the whole import; nothing is written


class ColumnMap(FrozenModel):
    """Names of the file's columns for each bar field. ``None`` means: detect by common names."""

    time: str | None = None
    open: str | None = None
    high: str | None = None
    low: str | None = None
    close: str | None = None
    volume: str | None = None


class ImportSpec(FrozenModel):
    kind: Literal["import"] = "import"
    instrument: str = Field(pattern=r"^[A-Z0-9]{2,12}_[A-Z0-9]{2,12}$")
    timeframe: Timeframe
    format: FileFormat | None = None  # None: from the file's extension
    columns: ColumnMap = ColumnMap()
    timezone: str = "UTC"  # applies to naive timestamps; aware ones are converted to UTC
    # strftime format of text timestamps (e.g. "%d/%m/%Y %H:%M" for day-first dates);
    # None: ISO 8601. Daily bars stamped with local dates keep their date (see timestamps.py).
    time_format: str | None = Field(default=None, min_length=2, pattern=r"%")
    epoch_unit: Literal["s", "ms", "us", "ns"] = "s"  # for numeric timestamp columns
    side: PriceSide = PriceSide.MID
    vendor: str = Field(default="file", min_length=1, max_length=64)
    on_conflict: ConflictPolicy = ConflictPolicy.KEEP
    volume_required: bool = False  # when False a file without a volume column imports volume 0

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as UTC)") from None
        return v
