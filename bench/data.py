"""The benchmark's input files: synthetic M1 EUR_USD bars as CSV and Parquet, made once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from tradewind.config import SyntheticConfig
from tradewind.domain import Timeframe
from tradewind.pipelines.synthetic import synthesize_to_file
from tradewind.storage.types import datetime_to_us

DATA_DIR = Path(__file__).parent / ".data"
INSTRUMENT = "EUR_USD"
VALUE_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Dataset:
    bars: int
    csv: Path
    parquet: Path


@dataclass(frozen=True)
class Expected:
    """What the files hold, read straight from the Parquet file (not through tradewind)."""

    ts: npt.NDArray[np.int64]  # Unix epoch microseconds, UTC
    values: dict[str, npt.NDArray[np.float64]]

    def year_window(self) -> tuple[datetime, datetime, int]:
        """The calendar year of the first bar: (start, end, bars stored in it)."""
        first = datetime.fromtimestamp(int(self.ts[0]) / 1e6, tz=UTC)
        start = datetime(first.year, 1, 1, tzinfo=UTC)
        end = datetime(first.year + 1, 1, 1, tzinfo=UTC)
        lo, hi = (
            int((d - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 10**6
            for d in (start, end)
        )
        return start, end, int(((self.ts >= lo) & (self.ts < hi)).sum())

    def window(
        self, start: datetime, end: datetime
    ) -> tuple[npt.NDArray[np.int64], dict[str, npt.NDArray[np.float64]]]:
        lo, hi = datetime_to_us(start), datetime_to_us(end)
        sel = (self.ts >= lo) & (self.ts < hi)
        return self.ts[sel], {k: v[sel] for k, v in self.values.items()}


def ensure_dataset(bars: int, seed: int, data_dir: Path = DATA_DIR) -> tuple[Dataset, bool]:
    """The CSV and Parquet files for ``bars`` bars (written if missing); True if written now."""
    stem = f"{INSTRUMENT}_M1_{bars}_seed{seed}"
    ds = Dataset(bars, data_dir / f"{stem}.csv", data_dir / f"{stem}.parquet")
    made = False
    cfg = SyntheticConfig(instrument=INSTRUMENT, timeframe=Timeframe.M1, bars=bars, seed=seed)
    for path in (ds.csv, ds.parquet):
        if path.exists():
            continue
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
        written = synthesize_to_file(cfg, tmp)
        if written != bars:
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"synthesize_to_file wrote {written} bars, expected {bars}")
        tmp.replace(path)
        made = True
    return ds, made


def load_expected(ds: Dataset) -> Expected:
    table = pq.read_table(ds.parquet, columns=["time", *VALUE_FIELDS])
    ts_col = table.column("time").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    ts = np.asarray(ts_col.to_numpy(), dtype=np.int64)
    values = {
        f: np.asarray(table.column(f).cast(pa.float64()).to_numpy(), dtype=np.float64)
        for f in VALUE_FIELDS
    }
    return Expected(ts, values)
