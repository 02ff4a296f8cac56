"""The dataset columns and saved metrics a chart names, in its form data (``params``) and in
its saved query context (what Superset's chart data API runs).

Ad-hoc SQL (a custom SQL metric, filter or column) is not parsed: only simple references are
checked, which is what the bundle's charts use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COLUMN_KEYS = ("x_axis", "entity", "series", "column", "granularity_sqla")
_COLUMN_LIST_KEYS = ("groupby", "columns", "all_columns", "series_columns")
_METRIC_KEYS = ("metric", "x", "y", "size", "secondary_metric", "timeseries_limit_metric")
_METRIC_LIST_KEYS = ("metrics", "percent_metrics")


@dataclass(frozen=True)
class Ref:
    field: str
    kind: str  # "column" | "metric" | "column or metric"
    name: str


def _column(value: Any, field: str) -> Iterator[Ref]:
    """A column given by name, or an ad-hoc column whose SQL is a bare column name."""
    if isinstance(value, str):
        yield Ref(field, "column", value)
    elif isinstance(value, dict):
        sql = value.get("sqlExpression") or value.get("column_name")
        if isinstance(sql, str) and _IDENTIFIER.match(sql):
            yield Ref(field, "column", sql)


def _metric(value: Any, field: str) -> Iterator[Ref]:
    """A saved metric by name, or a simple ad-hoc metric over a column."""
    if isinstance(value, str):
        yield Ref(field, "metric", value)
    elif isinstance(value, dict) and value.get("expressionType") == "SIMPLE":
        col = (value.get("column") or {}).get("column_name")
        yield Ref(f"{field}.column.column_name", "column", str(col))


def _filters(adhoc: list[Any], field: str) -> Iterator[Ref]:
    for i, item in enumerate(adhoc):
        if isinstance(item, dict) and item.get("expressionType", "SIMPLE") == "SIMPLE":
            subject = item.get("subject", item.get("col"))
            yield from _column(subject, f"{field}[{i}]")


def form_data_refs(form: dict[str, Any], field: str) -> Iterator[Ref]:
    for key in _COLUMN_KEYS:
        if form.get(key) is not None:
            yield from _column(form[key], f"{field}.{key}")
    for key in _COLUMN_LIST_KEYS:
        for i, value in enumerate(form.get(key) or []):
            yield from _column(value, f"{field}.{key}[{i}]")
    for key in _METRIC_KEYS:
        if form.get(key) is not None:
            yield from _metric(form[key], f"{field}.{key}")
    for key in _METRIC_LIST_KEYS:
        for i, value in enumerate(form.get(key) or []):
            yield from _metric(value, f"{field}.{key}[{i}]")
    yield from _filters(form.get("adhoc_filters") or [], f"{field}.adhoc_filters")
    for name in form.get("column_config") or {}:  # a table's per-column formats and widths
        yield Ref(f"{field}.column_config.{name}", "column or metric", str(name))
    for i, text in enumerate(form.get("order_by_cols") or []):
        column, _ascending = json.loads(text) if isinstance(text, str) else text
        yield from _column(column, f"{field}.order_by_cols[{i}]")


def _orderby(items: list[Any], field: str) -> Iterator[Ref]:
    for i, item in enumerate(items):
        target = item[0] if isinstance(item, list | tuple) and item else item
        if isinstance(target, str):
            yield Ref(f"{field}[{i}]", "column or metric", target)
        else:
            yield from _metric(target, f"{field}[{i}]")


def _post_processing(steps: list[Any], field: str) -> Iterator[Ref]:
    for i, step in enumerate(steps):
        if isinstance(step, dict) and step.get("operation") == "histogram":
            options = step.get("options") or {}
            yield from _column(options.get("column"), f"{field}[{i}].options.column")
            for j, col in enumerate(options.get("groupby") or []):
                yield from _column(col, f"{field}[{i}].options.groupby[{j}]")


def query_context_refs(context: dict[str, Any], field: str) -> Iterator[Ref]:
    yield from form_data_refs(context.get("form_data") or {}, f"{field}.form_data")
    for q, query in enumerate(context.get("queries") or []):
        at = f"{field}.queries[{q}]"
        for i, column in enumerate(query.get("columns") or []):
            yield from _column(column, f"{at}.columns[{i}]")
        for i, metric in enumerate(query.get("metrics") or []):
            yield from _metric(metric, f"{at}.metrics[{i}]")
        yield from _filters(query.get("filters") or [], f"{at}.filters")
        yield from _orderby(query.get("orderby") or [], f"{at}.orderby")
        yield from _post_processing(query.get("post_processing") or [], f"{at}.post_processing")
