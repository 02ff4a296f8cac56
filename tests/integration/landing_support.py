"""Files for the landing-bucket tests: bar CSV/Parquet bytes with a chosen number of bad rows,
and a minio client on moto's S3 server."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from service_support import AWS, S3

from tradewind.orchestration.connections import LandingBucket

BUCKET = "tw-landing"


def landing(s3: S3, bucket: str = BUCKET) -> LandingBucket:
    return LandingBucket(
        s3.endpoint,
        AWS["AWS_ACCESS_KEY_ID"],
        AWS["AWS_SECRET_ACCESS_KEY"],
        bucket,
        AWS["AWS_DEFAULT_REGION"],
    )


def frame(
    n: int, *, start: datetime = datetime(2024, 1, 2, tzinfo=UTC), minutes: int = 5, bad: int = 0
) -> pd.DataFrame:
    """``n`` bars on the grid; the first ``bad`` have their high below their low."""
    ts = [start + timedelta(minutes=minutes * i) for i in range(n)]
    close = [1.1 + 0.0001 * (i % 17) for i in range(n)]
    df = pd.DataFrame(
        {
            "time": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in ts],
            "open": close,
            "high": [c + 0.0005 for c in close],
            "low": [c - 0.0005 for c in close],
            "close": close,
            "volume": [100 + i for i in range(n)],
        }
    )
    df.loc[: bad - 1, "high"] = df.loc[: bad - 1, "low"] - 0.001
    return df


def csv_bytes(df: pd.DataFrame, **rename: str) -> bytes:
    return df.rename(columns=rename).to_csv(index=False).encode()


def parquet_bytes(df: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    df.assign(time=pd.to_datetime(df["time"], utc=True)).to_parquet(out, index=False)
    return out.getvalue()


def put(s3: S3, key: str, body: bytes, bucket: str = BUCKET) -> None:
    s3.client().put_object(Bucket=bucket, Key=key, Body=body)


def get(s3: S3, key: str, bucket: str = BUCKET) -> bytes:
    data: Any = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return bytes(data)
