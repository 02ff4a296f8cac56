"""Airflow Assets the Tradewind DAGs share (cheap to import: airflow.sdk only).

- ``CHAMPIONS``: the asset alias ``tradewind-model-champions``. ``retrain_models`` declares it
  as the outlet of its ``judge_challenger`` task and, only when a challenger is promoted,
  attaches an event for that model's champion asset to it (with the version in the extra).
- ``champion_asset(NAME)``: the asset ``NAME@champion`` (URI ``model://NAME/champion``,
  group ``model``) that gets an event each time a new version of model ``NAME`` is promoted
  to its ``champion`` alias. A DAG that deploys a model schedules on it:
  ``schedule=[champion_asset("logreg-eurusd-h1")]``; the triggering event's ``extra`` holds
  ``model``, ``version``, ``model_uri`` (``models:/NAME/VERSION``), ``run_key`` and
  ``previous_version``.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

CHAMPIONS = AssetAlias(name="tradewind-model-champions", group="model")


def champion_asset(model: str) -> Asset:
    """The asset of model ``model``'s champion alias."""
    return Asset(name=f"{model}@champion", uri=f"model://{model}/champion", group="model")
