"""A registered model for a backtest or a deployment: resolved, loaded and contract-checked;
and what a run on it should be read with (in-sample data, explicitly allowed overrides)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tradewind.config.features import FeatureSpec

SEEN_SPLITS = ("train", "validation")  # what training fitted on and selected by


def load_checked_policy(
    uri: str,
    *,
    spec: FeatureSpec,
    columns: tuple[str, ...],
    timeframe: str,
    tracking: Any,
    instruments: tuple[str, ...] | None = None,
    side: str | None = None,
    allow_other_instrument: bool = False,
    allow_other_side: bool = False,
) -> tuple[Any, str]:
    """The policy behind ``models:/NAME@ALIAS`` (or ``models:/NAME/VERSION``) and the version
    the URI resolved to. The alias is pinned to that version first, so the caller records what
    it ran. The model's contract is checked against ``columns`` computed by ``spec`` at
    ``timeframe``, and against the ``instruments`` and price ``side`` the caller trades
    (``OtherMarket``, a ``ContractMismatch``, unless allowed): ``ContractMismatch`` names any
    difference. ``tracking`` (the registry) comes from the caller's composition root."""
    from tradewind.registry import configure, load_policy, show_model

    if tracking is None:
        raise ValueError(f"{uri}: no model registry to load it from (tracking not given)")
    configure(tracking)
    version = show_model(tracking, uri).version
    name = uri.removeprefix("models:/").split("@")[0].split("/")[0]
    policy = load_policy(
        f"models:/{name}/{version}",
        feature_columns=columns,
        feature_spec_fingerprint=spec.fingerprint,
        timeframe=timeframe,
        tracking=tracking,
        feature_spec=spec,
        instruments=instruments,
        side=side,
        allow_other_instrument=allow_other_instrument,
        allow_other_side=allow_other_side,
    )
    return policy, str(version)


def _utc(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def seen_overlap(
    data_range: Mapping[str, Any] | None,
    instruments: Sequence[str],
    timeframe: str,
    first: datetime,
    last: datetime,
) -> dict[str, Any] | None:
    """Where bars ``[first, last]`` of ``instruments`` at ``timeframe`` overlap the data a
    model trained or validated on (its ``data_range.json``): ``{"splits": [...], "start":
    ISO, "end": ISO}`` (the overlap's first and last instant), or None when they do not.
    Another instrument or timeframe is not the model's data. A model whose data range is
    unknown (``data_range`` None) is ``{"splits": ["unknown"]}``: it may have seen anything."""
    if data_range is None:
        return {"splits": ["unknown"]}
    if data_range.get("instrument") not in instruments:
        return None
    if str(data_range.get("timeframe")) != str(timeframe):
        return None
    splits: list[str] = []
    starts: list[datetime] = []
    ends: list[datetime] = []
    for name in SEEN_SPLITS:
        part = data_range.get(name)
        if not isinstance(part, Mapping):
            continue
        a, b = _utc(str(part["first_bar"])), _utc(str(part["last_bar"]))
        if a <= last and first <= b:
            splits.append(name)
            starts.append(max(a, first))
            ends.append(min(b, last))
    if not splits:
        return None
    return {"splits": splits, "start": min(starts).isoformat(), "end": max(ends).isoformat()}


def model_data_range(tracking: Any, name: str, version: str) -> dict[str, Any] | None:
    """The ``data_range.json`` the version's training logged (None when it logged none)."""
    from tradewind.registry.versions import run_artifact_text

    text = run_artifact_text(tracking, name, version, "data_range.json")
    return None if text is None else dict(json.loads(text))


def describe_marks(marks: Mapping[str, Any] | None) -> str:
    """The marks of a run as one line ("" when it has none), for tables and reports."""
    if not marks:
        return ""
    parts = []
    for m in marks.get("in_sample", []):
        splits = "/".join(m["splits"])
        when = f" {m['start'][:10]}..{m['end'][:10]}" if "start" in m else ""
        parts.append(f"IN-SAMPLE {m['strategy']}: {m['model']} {splits}{when}")
    for m in marks.get("allowed", []):
        parts.append(
            f"ALLOWED {m['strategy']}: {m['model']} trained on {m['trained_on']}, "
            f"run on {m['run_on']} ({m['flag']})"
        )
    return "; ".join(parts)


def mark_tags(marks: Mapping[str, Any] | None) -> str:
    """The marks of a run as short tags ("in-sample, other instrument"; "" when none), for a
    table column: ``describe_marks`` says which model and data."""
    if not marks:
        return ""
    tags = ["in-sample"] if marks.get("in_sample") else []
    for check in dict.fromkeys(m["check"] for m in marks.get("allowed", [])):
        tags.append(f"other {check}")
    return ", ".join(tags)
