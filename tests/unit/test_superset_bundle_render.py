"""The Superset bundle renderer (superset/bundle_render.py): placeholders from the
environment, refused when unset, and the database password kept out of the contents."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "superset"))

from bundle_render import PASSWORD_MASK, BundleError, render, render_dir  # noqa: E402

TINY = REPO / "tests" / "superset" / "tiny_bundle"
DB_FILE = "databases/tradewind_reporting.yaml"
ENV = {
    "TRADEWIND_REPORTING_USER": "tw_reporting",
    "TRADEWIND_REPORTING_HOST": "db.internal",
    "TRADEWIND_REPORTING_PORT": "6543",
    "TRADEWIND_REPORTING_DB": "tradewind",
}


def uri(rendered_text: str) -> str:
    return str(yaml.safe_load(rendered_text)["sqlalchemy_uri"])


def test_placeholders_are_filled_and_the_password_travels_beside_the_contents() -> None:
    rendered = render_dir(TINY, ENV, password="s3cr@t/:pw")
    assert uri(rendered.contents[DB_FILE]) == (
        f"postgresql+psycopg2://tw_reporting:{PASSWORD_MASK}@db.internal:6543/tradewind"
    )
    assert rendered.passwords == {DB_FILE: "s3cr@t/:pw"}
    assert not any("s3cr@t" in text for text in rendered.contents.values())
    assert set(rendered.contents) == {
        "metadata.yaml",
        DB_FILE,
        "datasets/reporting/whoami.yaml",
        "charts/who.yaml",
        "dashboards/tiny.yaml",
    }  # README.md is not part of the import
    assert rendered.uuids("charts") == {"6d0b1f0e-3c7a-4a8e-9c57-1b0e2d5f7a03"}


def test_values_are_url_quoted_inside_the_uri_only() -> None:
    files = {
        DB_FILE: "sqlalchemy_uri: postgresql://${U}@h/${D}\nuuid: u\ndatabase_name: ${U}\n",
    }
    rendered = render(files, {"U": "me@corp", "D": "a/b"})
    config = yaml.safe_load(rendered.contents[DB_FILE])
    assert config["sqlalchemy_uri"] == "postgresql://me%40corp@h/a%2Fb"
    assert config["database_name"] == "me@corp"
    assert rendered.passwords == {}  # no password given: trust or peer authentication


def test_every_unset_variable_is_named_with_its_files() -> None:
    with pytest.raises(BundleError) as err:
        render_dir(TINY, {"TRADEWIND_REPORTING_USER": "u", "TRADEWIND_REPORTING_PORT": ""})
    message = str(err.value)
    for name in (
        "TRADEWIND_REPORTING_HOST",
        "TRADEWIND_REPORTING_PORT",
        "TRADEWIND_REPORTING_DB",
    ):
        assert f"{name} (in {DB_FILE})" in message
    assert "TRADEWIND_REPORTING_USER" not in message


def test_a_password_placeholder_stays_in_memory_and_a_bare_mask_is_refused() -> None:
    files = {DB_FILE: "sqlalchemy_uri: postgresql://u:${PW}@h/d\nuuid: u\n"}
    rendered = render(files, {"PW": "p@ss"}, password="other")
    assert uri(rendered.contents[DB_FILE]) == "postgresql://u:p%40ss@h/d"
    assert rendered.passwords == {}
    masked = {DB_FILE: f"sqlalchemy_uri: postgresql://u:{PASSWORD_MASK}@h/d\nuuid: u\n"}
    with pytest.raises(BundleError, match="needs a password"):
        render(masked, {})


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"no metadata\.yaml"):
        render_dir(tmp_path, ENV)
    shutil.copytree(TINY, tmp_path / "b")
    shutil.rmtree(tmp_path / "b" / "dashboards")
    with pytest.raises(BundleError, match="no dashboards"):
        render_dir(tmp_path / "b", ENV)
    (tmp_path / "b" / "charts" / "who.yaml").write_text("a: [")
    with pytest.raises(BundleError, match=r"charts/who\.yaml: not valid YAML"):
        render_dir(tmp_path / "b", ENV)
