"""Supervised models: scikit-learn pipelines with purged time-series cross-validation."""
