"""All checks of a bundle: ``validate_bundle`` lists the problems, ``check_bundle`` raises."""

from __future__ import annotations

from pathlib import Path

from tradewind.dashboards.bundle import (
    Bundle,
    BundleError,
    Problem,
    load_bundle,
    structure_problems,
)
from tradewind.dashboards.credentials import credential_problems
from tradewind.dashboards.references import reference_problems


def validate_bundle(bundle: Bundle) -> list[Problem]:
    """Every problem of the bundle: structure, column references and credentials."""
    return structure_problems(bundle) + reference_problems(bundle) + credential_problems(bundle)


def check_bundle(root: Path | str) -> Bundle:
    """Load the bundle at ``root`` and raise ``BundleError`` if it has any problem."""
    bundle = load_bundle(root)
    problems = validate_bundle(bundle)
    if problems:
        raise BundleError(bundle.root, problems)
    return bundle
