"""The Superset import bundle (superset/bundle): load it and check it before Superset does.

Standard library and PyYAML only, so the provisioning script can run it in Superset's own
virtualenv (``python -m tradewind.dashboards superset/bundle``).
"""

from tradewind.dashboards.bundle import Bundle, BundleError, Problem, load_bundle
from tradewind.dashboards.credentials import URI_PLACEHOLDERS
from tradewind.dashboards.validate import check_bundle, validate_bundle

__all__ = [
    "URI_PLACEHOLDERS",
    "Bundle",
    "BundleError",
    "Problem",
    "check_bundle",
    "load_bundle",
    "validate_bundle",
]
