"""Load a Superset 6.1 import bundle (``metadata.yaml``, ``databases/``, ``datasets/``,
``charts/``, ``dashboards/``) and check its structure: required fields, unique uuids, every
parent a dataset or chart names, every chart a dashboard places.

A ``Problem`` names the file (relative to the bundle root) and the field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KINDS = ("databases", "datasets", "charts", "dashboards")
IMPORT_VERSION = "1.0.0"
REQUIRED: dict[str, tuple[str, ...]] = {
    "databases": ("database_name", "sqlalchemy_uri", "uuid", "version"),
    "datasets": ("table_name", "schema", "columns", "uuid", "version", "database_uuid"),
    "charts": (
        "slice_name",
        "viz_type",
        "params",
        "query_context",
        "uuid",
        "version",
        "dataset_uuid",
    ),
    "dashboards": ("dashboard_title", "position", "metadata", "uuid", "version"),
}
# libyaml's loader when PyYAML has it (ten times faster), else the pure-Python one
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class BundleError(ValueError):
    def __init__(self, root: Path, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"Superset bundle {root} has {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Bundle:
    root: Path
    metadata: dict[str, Any]
    files: dict[str, dict[str, dict[str, Any]]]  # kind -> relative path -> document

    def of(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.files[kind]

    def by_uuid(self, kind: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """uuid -> (file, document) of one kind (the first file when a uuid repeats)."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, doc in self.files[kind].items():
            out.setdefault(str(doc.get("uuid")), (name, doc))
        return out


def _read(root: Path, path: Path) -> dict[str, Any]:
    rel = path.relative_to(root).as_posix()
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BundleError(root, [Problem(rel, "(file)", f"cannot be read as YAML: {exc}")]) from exc
    if not isinstance(doc, dict):
        raise BundleError(root, [Problem(rel, "(file)", "is not a YAML mapping")])
    return doc


def load_bundle(root: Path | str) -> Bundle:
    """Read every YAML file of the bundle at ``root`` (a directory, as in git)."""
    root = Path(root)
    if not (root / "metadata.yaml").is_file():
        raise BundleError(root, [Problem("metadata.yaml", "(file)", "is missing")])
    files: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in KINDS:
        paths = sorted((root / kind).rglob("*.yaml")) if (root / kind).is_dir() else []
        files[kind] = {p.relative_to(root).as_posix(): _read(root, p) for p in paths}
    return Bundle(root, _read(root, root / "metadata.yaml"), files)


def _shape(bundle: Bundle) -> list[Problem]:
    out: list[Problem] = []
    if bundle.metadata.get("version") != IMPORT_VERSION:
        out.append(Problem("metadata.yaml", "version", f"must be {IMPORT_VERSION!r}"))
    if bundle.metadata.get("type") != "Dashboard":
        out.append(Problem("metadata.yaml", "type", "must be 'Dashboard'"))
    for kind in KINDS:
        if not bundle.of(kind):
            out.append(Problem(f"{kind}/", "(directory)", "holds no YAML file"))
        for name, doc in bundle.of(kind).items():
            out += [Problem(name, f, "is missing") for f in REQUIRED[kind] if doc.get(f) is None]
            if doc.get("version") not in (None, IMPORT_VERSION):
                out.append(Problem(name, "version", f"must be {IMPORT_VERSION!r}"))
    return out


def _uuids(bundle: Bundle) -> list[Problem]:
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for kind in KINDS:
        for name, doc in bundle.of(kind).items():
            for field in ("uuid", "database_uuid", "dataset_uuid"):
                value = doc.get(field)
                if value is not None and not _is_uuid(value):
                    out.append(Problem(name, field, f"{value!r} is not a UUID"))
            key = str(doc.get("uuid"))
            if key in seen:
                out.append(Problem(name, "uuid", f"{key} is also the uuid of {seen[key]}"))
            seen.setdefault(key, name)
    return out


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _parents(bundle: Bundle) -> list[Problem]:
    out: list[Problem] = []
    databases, datasets = bundle.by_uuid("databases"), bundle.by_uuid("datasets")
    for name, doc in bundle.of("datasets").items():
        if str(doc.get("database_uuid")) not in databases:
            out.append(
                Problem(
                    name,
                    "database_uuid",
                    f"{doc.get('database_uuid')} is no database of the bundle",
                )
            )
    for name, doc in bundle.of("charts").items():
        if str(doc.get("dataset_uuid")) not in datasets:
            out.append(
                Problem(
                    name, "dataset_uuid", f"{doc.get('dataset_uuid')} is no dataset of the bundle"
                )
            )
    return out


def dashboard_charts(doc: dict[str, Any]) -> dict[str, tuple[str, int | None]]:
    """position key -> (chart uuid, chartId) of every CHART component of a dashboard."""
    position = doc.get("position") or {}
    out: dict[str, tuple[str, int | None]] = {}
    for key, item in position.items():
        if isinstance(item, dict) and item.get("type") == "CHART":
            meta = item.get("meta") or {}
            out[key] = (str(meta.get("uuid")), meta.get("chartId"))
    return out


def _layout(bundle: Bundle) -> list[Problem]:
    out: list[Problem] = []
    charts = bundle.by_uuid("charts")
    placed: set[str] = set()
    for name, doc in bundle.of("dashboards").items():
        ids: dict[int | None, str] = {}
        for key, (chart_uuid, chart_id) in dashboard_charts(doc).items():
            field = f"position.{key}.meta"
            placed.add(chart_uuid)
            if chart_uuid not in charts:
                out.append(
                    Problem(name, f"{field}.uuid", f"{chart_uuid} is no chart of the bundle")
                )
            if not isinstance(chart_id, int) or chart_id in ids:
                out.append(
                    Problem(name, f"{field}.chartId", "must be an integer unique in the dashboard")
                )
            ids[chart_id] = key
        out += _tree(name, doc.get("position") or {})
    for chart_uuid, (name, _doc) in charts.items():
        if chart_uuid not in placed:
            out.append(Problem(name, "uuid", "the chart is on no dashboard"))
    return out


def _tree(name: str, position: dict[str, Any]) -> list[Problem]:
    """Every component is reachable from ROOT_ID and every child exists."""
    if "ROOT_ID" not in position:
        return [Problem(name, "position.ROOT_ID", "is missing")]
    out: list[Problem] = []
    reached, todo = set(), ["ROOT_ID"]
    while todo:
        key = todo.pop()
        reached.add(key)
        for child in position[key].get("children", []):
            if child not in position:
                out.append(Problem(name, f"position.{key}.children", f"{child} is no component"))
            elif child not in reached:
                todo.append(child)
    for key, item in position.items():
        if isinstance(item, dict) and key not in reached and item.get("type") != "HEADER":
            out.append(Problem(name, f"position.{key}", "is not reachable from ROOT_ID"))
    return out


def structure_problems(bundle: Bundle) -> list[Problem]:
    """Shape, uuids, parents (dataset -> database, chart -> dataset) and dashboard layouts."""
    return _shape(bundle) + _uuids(bundle) + _parents(bundle) + _layout(bundle)
