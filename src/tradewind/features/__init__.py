"""Features: one pipeline for training, backtest and live, on TA-Lib.

Computed from bars by a ``kind: features`` config:
``build_features`` (no look-ahead: row t uses bars 0..t only) and ``feature_names``;
``IncrementalFeatures`` gives the same rows one closed bar at a time (the live path); labels,
which look forward by design and are for training only, live apart in ``features.labels``.
"""

from tradewind.features.build import FeatureFrame, build_features, feature_names
from tradewind.features.incremental import IncrementalFeatures
from tradewind.features.labels import Labels, forward_return_sign, triple_barrier

__all__ = [
    "FeatureFrame",
    "IncrementalFeatures",
    "Labels",
    "build_features",
    "feature_names",
    "forward_return_sign",
    "triple_barrier",
]
