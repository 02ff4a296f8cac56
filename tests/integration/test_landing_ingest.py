"""The landing bucket with the real minio client on moto's S3 server, SQLite and Postgres:
CSV and Parquet objects imported and moved to processed/<batch>/, bad objects moved to
rejected/ with their reason, a file over the quarantine ratio fails with its reasons while
its good rows stay stored, and re-runs insert and move nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from landing_support import BUCKET, csv_bytes, frame, get, landing, parquet_bytes, put
from service_support import S3, s3_server
from sqlalchemy import Engine, func, select

from tradewind.pipelines.landing import LandingBucketMissing, import_landing
from tradewind.pipelines.landing_summary import LandingRejected, check_landing
from tradewind.pipelines.setup import initialise
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import BarRow, IngestBatchRow


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    with s3_server() as store:
        yield store


@pytest.fixture
def bucket(s3: S3, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"{BUCKET}-{abs(hash(request.node.name)) % 10**8}"
    s3.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    initialise(eng)
    yield eng
    eng.dispose()


def count(engine: Engine, model: type = BarRow) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def run(engine: Engine, s3: S3, bucket: str, ratio: float = 0.05):  # type: ignore[no-untyped-def]
    return import_landing(engine, landing(s3, bucket).client(), bucket, max_quarantine_ratio=ratio)


def test_csv_and_parquet_imported_moved_and_rerun_is_a_no_op(
    engine: Engine, s3: S3, bucket: str
) -> None:
    put(s3, "incoming/EUR_USD/M5/eur.csv", csv_bytes(frame(100, bad=2)), bucket)
    put(s3, "incoming/GBP_USD/H1/gbp.parquet", parquet_bytes(frame(48, minutes=60)), bucket)
    # a sidecar spec: bid prices in renamed columns
    put(s3, "incoming/EUR_USD/M5/bid.csv.spec.yaml", b"side: bid\ncolumns: {close: Last}\n", bucket)
    put(s3, "incoming/EUR_USD/M5/bid.csv", csv_bytes(frame(30), close="Last"), bucket)

    summary = run(engine, s3, bucket)
    check_landing(summary)  # 2 of 100 quarantined: under 5%
    out = summary.to_json()
    assert (out["objects"], out["imported"], out["rejected"]) == (3, 3, 0)
    assert out["inserted"] == 98 + 48 + 30
    assert out["quarantined"] == 2
    by_key = {d["key"]: d for d in out["details"]}
    eur = by_key["incoming/EUR_USD/M5/eur.csv"]["batch"]
    assert eur["quarantined"] == 2
    assert eur["reasons"] == {"high below max(open, close)": 2}
    assert count(engine) == 98 + 48 + 30
    keys = set(s3.keys(bucket))
    assert not [k for k in keys if k.startswith("incoming/")]
    for d in out["details"]:
        assert d["moved_to"] == f"processed/{d['batch']['batch_id']}/{d['key'].rsplit('/', 1)[1]}"
        assert d["moved_to"] in keys
    bid = by_key["incoming/EUR_USD/M5/bid.csv"]
    assert bid["moved_to"] + ".spec.yaml" in keys
    assert "bid" in bid["batch"]["what"]
    with engine.connect() as conn:
        sources = set(conn.scalars(select(IngestBatchRow.source)))
    assert f"s3://{bucket}/incoming/GBP_USD/H1/gbp.parquet" in sources

    batches = count(engine, IngestBatchRow)
    again = run(engine, s3, bucket)
    assert again.objects == []
    assert set(s3.keys(bucket)) == keys
    assert count(engine) == 176
    assert count(engine, IngestBatchRow) == batches

    # a new object whose rows are stored: a batch of 0 new rows; the same key and content
    # again (a crash between import and move, or a second drop): no new batch, same move
    put(s3, "incoming/EUR_USD/M5/eur-copy.csv", csv_bytes(frame(100, bad=2)), bucket)
    put(s3, "incoming/EUR_USD/M5/eur.csv", csv_bytes(frame(100, bad=2)), bucket)
    third = run(engine, s3, bucket).to_json()
    outcomes = {d["key"]: (d["outcome"], d["batch"]["inserted"]) for d in third["details"]}
    assert outcomes == {
        "incoming/EUR_USD/M5/eur-copy.csv": ("imported", 0),
        "incoming/EUR_USD/M5/eur.csv": ("already-imported", 0),
    }
    assert by_key["incoming/EUR_USD/M5/eur.csv"]["moved_to"] in {
        d["moved_to"] for d in third["details"]
    }
    assert count(engine) == 176
    assert count(engine, IngestBatchRow) == batches + 1
    assert not [k for k in s3.keys(bucket) if k.startswith("incoming/")]


def test_objects_that_cannot_be_imported_are_rejected_with_their_reason(
    engine: Engine, s3: S3, bucket: str
) -> None:
    drops = {
        "incoming/EUR_USD/M5/garbage.parquet": (b"not parquet at all", "bad-file"),
        "incoming/EUR_USD/M5/empty.csv": (b"", "bad-file"),
        "incoming/XXX_YYY/M5/unknown.csv": (csv_bytes(frame(5)), "unknown-instrument"),
        "incoming/EUR_USD/M7/tf.csv": (csv_bytes(frame(5)), "bad-key"),
        "incoming/notes.txt": (b"hello", "bad-key"),
        "incoming/EUR_USD/M5/spec.csv": (csv_bytes(frame(5)), "bad-spec"),
    }
    put(s3, "incoming/EUR_USD/M5/spec.csv.spec.yaml", b"side: middle\n", bucket)
    for key, (body, _) in drops.items():
        put(s3, key, body, bucket)

    summary = run(engine, s3, bucket)
    assert len(summary.rejected) == len(drops)
    assert count(engine) == 0
    keys = set(s3.keys(bucket))
    assert keys.isdisjoint(drops)
    assert not [k for k in keys if k.startswith("incoming/")]
    for done in summary.rejected:
        code = drops[done.key][1]
        assert done.moved_to.startswith(f"rejected/{code}-"), (done.key, done.moved_to)
        assert done.moved_to in keys
        reason = get(s3, done.moved_to + ".reason.txt", bucket).decode()
        assert reason.startswith(code)
        assert reason.strip() == done.reason
        assert "/tmp" not in reason  # the object's key, not the download's path
    with pytest.raises(LandingRejected, match="unknown-instrument: unknown instrument 'XXX_YYY'"):
        check_landing(summary)
    check_landing(summary, fail_on_rejected=False)  # only the ratio fails a job then
    assert run(engine, s3, bucket).objects == []


def test_a_file_over_the_quarantine_ratio_fails_with_its_reasons(
    engine: Engine, s3: S3, bucket: str
) -> None:
    put(s3, "incoming/EUR_USD/M5/noisy.csv", csv_bytes(frame(50, bad=6)), bucket)
    later = datetime(2024, 1, 3, tzinfo=UTC)
    put(s3, "incoming/EUR_USD/M5/fine.csv", csv_bytes(frame(20, start=later)), bucket)
    summary = run(engine, s3, bucket, ratio=0.1)
    [over] = summary.over_ratio
    assert over.batch is not None
    assert over.batch.quarantined == 6
    assert over.moved_to == f"rejected/{over.batch.batch_id}/noisy.csv"
    with pytest.raises(LandingRejected) as err:
        check_landing(summary, fail_on_rejected=False)
    text = str(err.value)
    assert "6 of 50 rows quarantined (12.0%)" in text
    assert "high below max(open, close): 6" in text
    reason = get(s3, over.moved_to + ".reason.txt", bucket).decode()
    assert "quarantine ratio over 10.0%" in reason
    assert "high below max(open, close): 6" in reason
    assert count(engine) == 44 + 20  # the good rows are stored, nothing lost
    assert any(k.startswith("processed/") and k.endswith("/fine.csv") for k in s3.keys(bucket))

    batches = count(engine, IngestBatchRow)
    assert run(engine, s3, bucket, ratio=0.1).objects == []  # a retry: nothing to do
    # dropped again after a fix of nothing: imports 0 new rows, rejected again, no duplicate
    put(s3, "incoming/EUR_USD/M5/noisy-again.csv", csv_bytes(frame(50, bad=6)), bucket)
    again = run(engine, s3, bucket, ratio=0.1)
    assert [o.batch.inserted for o in again.over_ratio if o.batch] == [0]
    assert count(engine) == 64
    assert count(engine, IngestBatchRow) == batches + 1


def test_a_missing_bucket_fails_loudly(engine: Engine, s3: S3) -> None:
    with pytest.raises(LandingBucketMissing, match="no-such-bucket"):
        run(engine, s3, "no-such-bucket")
