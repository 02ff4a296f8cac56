"""The Superset import bundle (superset/bundle) and its checker (tradewind.dashboards).

The shipped bundle passes; each kind of broken copy is refused with a message that names the
file and the field.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tradewind.dashboards import BundleError, check_bundle, load_bundle
from tradewind.dashboards.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "superset" / "bundle"
DB = "databases/tradewind.yaml"
NAV = "datasets/Tradewind/live_nav.yaml"
NAV_CHART = "charts/live_nav.yaml"
LIVE = "dashboards/live_trading.yaml"


def _edit(root: Path, rel: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / rel
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _edit_query(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        context = json.loads(doc["query_context"])
        change(context)
        doc["query_context"] = json.dumps(context)

    return apply


def _filter(doc: dict[str, Any], name: str) -> dict[str, Any]:
    filters = doc["metadata"]["native_filter_configuration"]
    return next(f for f in filters if f["name"] == name)


def _unplace(doc: dict[str, Any]) -> None:
    position = doc["position"]
    del position["CHART-live_nav"]
    for item in position.values():
        if isinstance(item, dict) and "CHART-live_nav" in item.get("children", []):
            item["children"].remove("CHART-live_nav")


def _drop_nav_column(doc: dict[str, Any]) -> None:
    doc["columns"] = [c for c in doc["columns"] if c["column_name"] != "account_id"]


def _setter(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.__setitem__(key, value)


OTHER_UUID = "00000000-0000-4000-8000-000000000001"
URI = "postgresql://${TRADEWIND_REPORTING_USER}:{pw}@${TRADEWIND_REPORTING_HOST}/x"

# (file to break, how, file named in the error, field named in the error)
BROKEN: dict[str, tuple[str, Callable[[dict[str, Any]], None], str, str]] = {
    "chart's dataset unknown": (
        NAV_CHART,
        _setter("dataset_uuid", OTHER_UUID),
        NAV_CHART,
        "dataset_uuid",
    ),
    "dataset's database unknown": (NAV, _setter("database_uuid", OTHER_UUID), NAV, "database_uuid"),
    "dashboard places an unknown chart": (
        LIVE,
        lambda d: d["position"]["CHART-live_nav"]["meta"].update(uuid=OTHER_UUID),
        LIVE,
        "position.CHART-live_nav.meta.uuid",
    ),
    "chart on no dashboard": (LIVE, _unplace, NAV_CHART, "uuid"),
    "uuid twice": (
        NAV_CHART,
        _setter("uuid", yaml.safe_load((BUNDLE / "charts/live_pnl.yaml").read_text())["uuid"]),
        "charts/live_pnl.yaml",
        "uuid",
    ),
    "password in the URI": (
        DB,
        _setter("sqlalchemy_uri", URI.replace("{pw}", "hunter2")),
        DB,
        "sqlalchemy_uri",
    ),
    "password field": (DB, _setter("password", "hunter2"), DB, "password"),
    "token in a chart": (
        NAV_CHART,
        lambda d: d["params"].update(api_token="abc123"),
        NAV_CHART,
        "params.api_token",
    ),
    "private key text": (
        NAV_CHART,
        # only a PEM header, put together here so no secret scanner mistakes this file
        _setter("description", "-----BEGIN RSA " + "PRIVATE KEY-----"),
        NAV_CHART,
        "description",
    ),
    "unknown placeholder": (
        DB,
        _setter("sqlalchemy_uri", "postgresql://${PGUSER}@${TRADEWIND_REPORTING_HOST}/x"),
        DB,
        "sqlalchemy_uri",
    ),
    "literal connection": (
        DB,
        _setter("sqlalchemy_uri", "postgresql://u@db:5432/tradewind"),
        DB,
        "sqlalchemy_uri",
    ),
    "writable connection": (DB, _setter("allow_dml", True), DB, "allow_dml"),
    "missing required field": (NAV_CHART, lambda d: d.pop("slice_name"), NAV_CHART, "slice_name"),
    "chart groups by an unknown column": (
        NAV_CHART,
        lambda d: d["params"].update(groupby=["acct"]),
        NAV_CHART,
        "params.groupby[0]",
    ),
    "chart's metric over an unknown column": (
        NAV_CHART,
        lambda d: d["params"]["metrics"][0]["column"].update(column_name="navv"),
        NAV_CHART,
        "params.metrics[0].column.column_name",
    ),
    "table formats an unknown column": (
        "charts/live_positions.yaml",
        lambda d: d["params"]["column_config"].update(unrealised={"d3NumberFormat": ",.2f"}),
        "charts/live_positions.yaml",
        "params.column_config.unrealised",
    ),
    "query context names an unknown column": (
        NAV_CHART,
        _edit_query(lambda q: q["queries"][0]["columns"].append("acct")),
        NAV_CHART,
        "query_context.queries[0].columns[2]",
    ),
    "query context filters an unknown column": (
        NAV_CHART,
        _edit_query(
            lambda q: q["queries"][0]["filters"].append({"col": "when", "op": "==", "val": 1})
        ),
        NAV_CHART,
        "query_context.queries[0].filters[1]",
    ),
    "unknown saved metric": (
        "charts/live_daily_pnl.yaml",
        lambda d: d["params"].update(metrics=["total_pl"]),
        "charts/live_daily_pnl.yaml",
        "params.metrics[0]",
    ),
    "query context not JSON": (
        NAV_CHART,
        _setter("query_context", "{not json"),
        NAV_CHART,
        "query_context",
    ),
    "no query context": (NAV_CHART, _setter("query_context", None), NAV_CHART, "query_context"),
    "viz types disagree": (
        NAV_CHART,
        _setter("viz_type", "echarts_area"),
        NAV_CHART,
        "params.viz_type",
    ),
    "dataset lost a column a chart uses": (NAV, _drop_nav_column, NAV_CHART, "params.groupby[0]"),
    "timestamp column not temporal": (
        NAV,
        lambda d: d["columns"][0].update(is_dttm=False),
        NAV,
        "columns[0].is_dttm",
    ),
    "filter targets an unknown column": (
        LIVE,
        lambda d: _filter(d, "Account")["targets"][0]["column"].update(name="acct"),
        LIVE,
        "metadata.native_filter_configuration[0].targets[0].column.name",
    ),
    "filter scoped onto a chart without its column": (
        LIVE,
        lambda d: _filter(d, "Instrument")["scope"].update(excluded=[]),
        LIVE,
        "metadata.native_filter_configuration[2].scope",
    ),
    "date filter scoped onto a chart without a time column": (
        LIVE,
        lambda d: _filter(d, "Date range")["scope"].update(excluded=[]),
        LIVE,
        "metadata.native_filter_configuration[3].scope",
    ),
    "filter targets an unknown dataset": (
        LIVE,
        lambda d: _filter(d, "Account")["targets"][0].update(datasetUuid=OTHER_UUID),
        LIVE,
        "metadata.native_filter_configuration[0].targets[0].datasetUuid",
    ),
    "wrong import version": (
        "metadata.yaml",
        _setter("version", "2.0.0"),
        "metadata.yaml",
        "version",
    ),
}


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(BUNDLE, copy)
    return copy


def test_the_shipped_bundle_is_valid() -> None:
    bundle = check_bundle(BUNDLE)
    assert {kind: len(files) for kind, files in bundle.files.items()} == {
        "databases": 1,
        "datasets": 15,
        "charts": 32,
        "dashboards": 4,
    }
    titles = {d["dashboard_title"] for d in bundle.of("dashboards").values()}
    assert titles == {
        "Tradewind: live trading",
        "Tradewind: backtests",
        "Tradewind: models",
        "Tradewind: data quality",
    }
    assert bundle.of("dashboards")[LIVE]["metadata"]["refresh_frequency"] == 60


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_bundle_is_refused_naming_file_and_field(bundle_copy: Path, case: str) -> None:
    rel, change, named_file, field = BROKEN[case]
    _edit(bundle_copy, rel, change)
    with pytest.raises(BundleError) as info:
        check_bundle(bundle_copy)
    assert f"{named_file}: {field}:" in str(info.value), str(info.value)


def test_unreadable_yaml_is_refused_naming_the_file(bundle_copy: Path) -> None:
    (bundle_copy / NAV_CHART).write_text("slice_name: [unclosed\n")
    with pytest.raises(BundleError, match=r"charts/live_nav.yaml: \(file\): cannot be read"):
        load_bundle(bundle_copy)


def test_a_bundle_without_metadata_is_refused(bundle_copy: Path) -> None:
    (bundle_copy / "metadata.yaml").unlink()
    with pytest.raises(BundleError, match=r"metadata.yaml: \(file\): is missing"):
        load_bundle(bundle_copy)


def test_the_command_line_reports_problems(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(BUNDLE)]) == 0
    assert "valid (1 databases, 15 datasets, 32 charts, 4 dashboards)" in capsys.readouterr().out
    _edit(bundle_copy, DB, _setter("allow_dml", True))
    assert main([str(bundle_copy)]) == 1
    assert f"{DB}: allow_dml: must be false" in capsys.readouterr().err


def test_the_datasets_match_the_reporting_views() -> None:
    """Every reporting view has its dataset with exactly the view's columns (the contract in
    tradewind.storage.reporting.VIEWS)."""
    from tradewind.storage.reporting import VIEWS

    datasets = {d["table_name"]: d for d in load_bundle(BUNDLE).of("datasets").values()}
    assert set(datasets) == set(VIEWS)
    for view, columns in VIEWS.items():
        assert datasets[view]["schema"] == "reporting"
        shipped = [c["column_name"] for c in datasets[view]["columns"]]
        assert sorted(shipped) == sorted(columns), view
