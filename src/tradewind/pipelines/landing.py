"""Import the CSV/Parquet files dropped into an S3 landing bucket (MinIO in the stack), each
through the file import's validate -> quarantine -> idempotent upsert path, then move it to
``processed/`` or ``rejected/`` (the key convention is in ``landing_keys``).

Idempotent: an object whose key and content were imported before is not imported again (its
move is finished under that batch's id, e.g. after a crash between import and move); a new
object whose rows are already stored imports as 0 new rows; an empty ``incoming/`` is a no-op.
A missing bucket or an unreachable endpoint raises (the job fails and retries): only an object
that cannot be imported is rejected."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from tradewind.marketdata.columns import ImportFileError
from tradewind.pipelines.ingest import import_file
from tradewind.pipelines.landing_keys import (
    INCOMING,
    PROCESSED,
    REASON_SUFFIX,
    REJECTED,
    SPEC_SUFFIX,
    BadKey,
    BadSpec,
    LandingKey,
    import_spec,
    is_sidecar,
    parse_key,
)
from tradewind.pipelines.landing_summary import LandedObject, LandingSummary
from tradewind.pipelines.quarantine_gate import BatchQuarantine, reason_counts
from tradewind.storage.bars import ConflictAbort
from tradewind.storage.catalog import UnknownInstrument
from tradewind.storage.schema import IngestBatchRow

log = logging.getLogger(__name__)

_REJECT_CODES: tuple[tuple[type[Exception], str], ...] = (
    (BadKey, "bad-key"),
    (BadSpec, "bad-spec"),
    (UnknownInstrument, "unknown-instrument"),
    (ImportFileError, "bad-file"),
    (ConflictAbort, "conflicts"),
)
_REJECTABLE = tuple(t for t, _ in _REJECT_CODES)


class LandingBucketMissing(LookupError):
    """The landing bucket does not exist on the endpoint."""


def import_landing(
    engine: Engine, client: Any, bucket: str, *, max_quarantine_ratio: float = 0.05
) -> LandingSummary:
    """Import every data object under ``incoming/`` of ``bucket`` (``client``: a
    ``minio.Minio``) and move each to ``processed/`` or ``rejected/``."""
    if not client.bucket_exists(bucket):
        raise LandingBucketMissing(f"landing bucket {bucket!r} does not exist")
    keys = sorted(
        o.object_name
        for o in client.list_objects(bucket, prefix=INCOMING, recursive=True)
        if not o.is_dir and not o.object_name.endswith("/")
    )
    present = set(keys)
    summary = LandingSummary(bucket, max_quarantine_ratio)
    for key in keys:
        if is_sidecar(key):
            continue
        done = _one(engine, client, bucket, key, present, max_quarantine_ratio)
        log.log(
            logging.WARNING if done.outcome == "rejected" else logging.INFO,
            "landing %s: %s -> %s%s",
            key,
            done.outcome,
            done.moved_to,
            f" ({done.reason})" if done.reason else "",
        )
        summary.objects.append(done)
    return summary


def _one(
    engine: Engine, client: Any, bucket: str, key: str, present: set[str], limit: float
) -> LandedObject:
    name = key.rsplit("/", 1)[-1] or "object"
    spec_key = key + SPEC_SUFFIX if key + SPEC_SUFFIX in present else None
    with tempfile.TemporaryDirectory(prefix="tw-landing-") as tmp:
        path = Path(tmp) / name
        client.fget_object(bucket, key, str(path))
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            lk = parse_key(key)
            sidecar = _read(client, bucket, spec_key) if spec_key else None
            gate, outcome = _import(engine, bucket, lk, path, checksum, sidecar)
        except _REJECTABLE as exc:
            code = next(c for t, c in _REJECT_CODES if isinstance(exc, t))
            reason = f"{code}: {str(exc).replace(str(path), key)}"
            dest = f"{REJECTED}{code}-{checksum[:12]}/{name}"
            _move(client, bucket, key, spec_key, dest, reason)
            return LandedObject(key, "rejected", dest, None, reason)
    if gate.over(limit):
        reason = f"quarantine ratio over {limit:.1%}: {gate.describe()}"
        dest = f"{REJECTED}{gate.batch_id}/{name}"
        _move(client, bucket, key, spec_key, dest, reason)
        return LandedObject(key, "rejected", dest, gate, reason)
    dest = f"{PROCESSED}{gate.batch_id}/{name}"
    _move(client, bucket, key, spec_key, dest, None)
    return LandedObject(key, outcome, dest, gate, None)


def _import(
    engine: Engine,
    bucket: str,
    lk: LandingKey,
    path: Path,
    checksum: str,
    sidecar: bytes | None,
) -> tuple[BatchQuarantine, str]:
    spec = import_spec(lk, sidecar)
    source = f"s3://{bucket}/{lk.key}"
    with engine.connect() as conn:
        prior = conn.execute(
            select(IngestBatchRow.id, IngestBatchRow.rows_read, IngestBatchRow.quarantined)
            .where(IngestBatchRow.source == source, IngestBatchRow.checksum == checksum)
            .order_by(IngestBatchRow.id.desc())
            .limit(1)
        ).first()
    if prior is not None:  # imported before, not moved (a crash, or the same file dropped again)
        batch_id, rows_read, quarantined = (int(v) for v in prior)
        outcome, inserted = "already-imported", 0
    else:
        report = import_file(engine, path, spec, source_name=source)
        batch_id, rows_read, quarantined = report.batch_id, report.rows_read, report.quarantined
        outcome, inserted = "imported", report.inserted
    reasons = reason_counts(engine, batch_id) if quarantined else {}
    what = f"{lk.key} ({lk.instrument} {lk.timeframe.value} {spec.side.value})"
    return BatchQuarantine(batch_id, what, rows_read, inserted, quarantined, reasons), outcome


def _read(client: Any, bucket: str, key: str) -> bytes:
    resp = client.get_object(bucket, key)
    try:
        return bytes(resp.read())
    finally:
        resp.close()
        resp.release_conn()


def _move(
    client: Any, bucket: str, key: str, spec_key: str | None, dest: str, reason: str | None
) -> None:
    """Copy, then delete: the data object goes last, so a crash part-way leaves it in
    ``incoming/`` and the next run finishes the same move (the destination is the same)."""
    from minio.commonconfig import CopySource

    client.copy_object(bucket, dest, CopySource(bucket, key))
    if spec_key is not None:
        client.copy_object(bucket, dest + SPEC_SUFFIX, CopySource(bucket, spec_key))
    if reason is not None:
        import io

        body = (reason + "\n").encode("utf-8")
        client.put_object(
            bucket,
            dest + REASON_SUFFIX,
            io.BytesIO(body),
            len(body),
            content_type="text/plain; charset=utf-8",
        )
    if spec_key is not None:
        client.remove_object(bucket, spec_key)
    client.remove_object(bucket, key)
