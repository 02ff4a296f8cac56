"""A registered model for a backtest or a deployment: resolved, loaded and contract-checked."""

from __future__ import annotations

from typing import Any

from tradewind.config.features import FeatureSpec


def load_checked_policy(
    uri: str,
    *,
    spec: FeatureSpec,
    columns: tuple[str, ...],
    timeframe: str,
    tracking: Any,
) -> tuple[Any, str]:
    """The policy behind ``models:/NAME@ALIAS`` (or ``models:/NAME/VERSION``) and the version
    the URI resolved to. The alias is pinned to that version first, so the caller records what
    it ran. The model's contract is checked against ``columns`` computed by ``spec`` at
    ``timeframe``: ``ContractMismatch`` names any difference. ``tracking`` (the registry) comes
    from the caller's composition root."""
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
    )
    return policy, str(version)
