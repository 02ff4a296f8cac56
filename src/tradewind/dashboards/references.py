"""Columns and metrics: every column a chart (its params and its saved query context) or a
native filter names exists in its dataset, and every dataset's columns are well formed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tradewind.dashboards.bundle import Bundle, Problem, dashboard_charts
from tradewind.dashboards.chart_refs import Ref, form_data_refs, query_context_refs

_TEMPORAL_TYPES = ("TIMESTAMP", "DATE", "DATETIME")


def _dataset_problems(name: str, doc: dict[str, Any]) -> Iterator[Problem]:
    columns = doc.get("columns") or []
    if not columns:
        yield Problem(name, "columns", "lists no column")
    seen: set[str] = set()
    for i, col in enumerate(columns):
        col_name = col.get("column_name")
        if not col_name:
            yield Problem(name, f"columns[{i}].column_name", "is missing")
        elif col_name in seen:
            yield Problem(name, f"columns[{i}].column_name", f"{col_name!r} appears twice")
        seen.add(str(col_name))
        temporal = str(col.get("type") or "").upper().startswith(_TEMPORAL_TYPES)
        if temporal and col.get("is_dttm") is not True:
            yield Problem(
                name,
                f"columns[{i}].is_dttm",
                f"{col_name!r} has a temporal type and must be is_dttm: true",
            )
    main = doc.get("main_dttm_col")
    if main is not None and main not in seen:
        yield Problem(name, "main_dttm_col", f"{main!r} is no column of the dataset")


def _names(dataset: dict[str, Any], key: str, field: str) -> set[str]:
    return {str(item.get(field)) for item in dataset.get(key) or []}


def _chart_problems(name: str, chart: dict[str, Any], dataset: dict[str, Any]) -> list[Problem]:
    columns = _names(dataset, "columns", "column_name")
    metrics = _names(dataset, "metrics", "metric_name")
    table = dataset.get("table_name")
    refs: list[Ref] = list(form_data_refs(chart.get("params") or {}, "params"))
    try:
        context = json.loads(chart.get("query_context") or "null")
    except json.JSONDecodeError as exc:
        return [Problem(name, "query_context", f"is not JSON: {exc}")]
    if not isinstance(context, dict) or not context.get("queries"):
        return [Problem(name, "query_context", "must be a JSON object with queries")]
    refs += query_context_refs(context, "query_context")
    out = []
    for ref in refs:
        known = (
            columns | metrics
            if ref.kind == "column or metric"
            else (metrics if ref.kind == "metric" else columns)
        )
        if ref.name not in known:
            out.append(
                Problem(name, ref.field, f"{ref.kind} {ref.name!r} is not in dataset {table!r}")
            )
    viz = chart.get("viz_type")
    for field, value in (
        ("params.viz_type", (chart.get("params") or {}).get("viz_type")),
        ("query_context.form_data.viz_type", (context.get("form_data") or {}).get("viz_type")),
    ):
        if value != viz:
            out.append(Problem(name, field, f"{value!r} differs from viz_type {viz!r}"))
    return out


def _has_time_filter(chart: dict[str, Any]) -> bool:
    params = chart.get("params") or {}
    adhoc = params.get("adhoc_filters") or []
    temporal = any(f.get("operator") == "TEMPORAL_RANGE" for f in adhoc)
    return temporal or bool(params.get("granularity_sqla"))


def _filter_problems(bundle: Bundle, name: str, doc: dict[str, Any]) -> Iterator[Problem]:
    charts, datasets = bundle.by_uuid("charts"), bundle.by_uuid("datasets")
    by_id = {
        chart_id: uid
        for uid, chart_id in dashboard_charts(doc).values()
        if isinstance(chart_id, int)
    }
    filters = (doc.get("metadata") or {}).get("native_filter_configuration") or []
    for i, native in enumerate(filters):
        field = f"metadata.native_filter_configuration[{i}]"
        excluded = set((native.get("scope") or {}).get("excluded") or [])
        in_scope = [by_id[c] for c in sorted(by_id) if c not in excluded and by_id[c] in charts]
        for unknown in sorted(excluded - set(by_id)):
            yield Problem(
                name, f"{field}.scope.excluded", f"{unknown} is no chartId of the dashboard"
            )
        if native.get("filterType") == "filter_time":
            for chart_uuid in in_scope:
                chart_file, chart = charts[chart_uuid]
                if not _has_time_filter(chart):
                    yield Problem(
                        name,
                        f"{field}.scope",
                        f"{chart_file} has no temporal filter for the date range",
                    )
            continue
        for j, target in enumerate(native.get("targets") or []):
            column = str((target.get("column") or {}).get("name"))
            dataset_file, dataset = datasets.get(str(target.get("datasetUuid")), (None, {}))
            if dataset_file is None:
                yield Problem(
                    name, f"{field}.targets[{j}].datasetUuid", "is no dataset of the bundle"
                )
            elif column not in _names(dataset, "columns", "column_name"):
                yield Problem(
                    name,
                    f"{field}.targets[{j}].column.name",
                    f"{column!r} is not in {dataset_file}",
                )
            for chart_uuid in in_scope:
                chart_file, chart = charts[chart_uuid]
                _, chart_dataset = datasets.get(str(chart.get("dataset_uuid")), (None, {}))
                if column not in _names(chart_dataset, "columns", "column_name"):
                    yield Problem(
                        name,
                        f"{field}.scope",
                        f"{chart_file} is in scope but its dataset has no column {column!r}",
                    )


def reference_problems(bundle: Bundle) -> list[Problem]:
    out: list[Problem] = []
    for name, doc in bundle.of("datasets").items():
        out += _dataset_problems(name, doc)
    datasets = bundle.by_uuid("datasets")
    for name, chart in bundle.of("charts").items():
        found = datasets.get(str(chart.get("dataset_uuid")))
        if found is not None:  # a missing dataset is reported by the structure checks
            out += _chart_problems(name, chart, found[1])
    for name, doc in bundle.of("dashboards").items():
        out += _filter_problems(bundle, name, doc)
    return out
