"""The model registry: list, show, promote (aliases) and load a policy with its contract checked.

A model is named ``NAME@ALIAS`` (``champion``, ...) or ``NAME/VERSION``, with or without the
``models:/`` prefix; a bare ``NAME`` means its latest version. ``load_policy`` downloads the
version's files, checks the contract against what the caller computes (a mismatch is refused,
naming the difference and the model) and returns the flavor's own ``Policy``: the same
targets as the pyfunc (``load_pyfunc``), without going through it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tradewind.config.features import FeatureSpec
from tradewind.domain import Timeframe
from tradewind.policy import ModelContract, Policy
from tradewind.registry.pyfunc import (
    CONTRACT_FILE,
    FLAVOR_KEY,
    MODEL_DIR,
    load_from_artifacts,
    read_contract,
)
from tradewind.registry.tracking import (
    Tracking,
    TrackingError,
    first_line,
)

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_REF = re.compile(rf"^(?:models:/)?(?P<name>{_NAME})(?:@(?P<alias>[\w\-]+)|/(?P<version>\d+))?$")
_ALIAS = re.compile(r"^[A-Za-z_][\w\-]*$")


class ModelNotFound(LookupError):
    """No such registered model, version or alias."""


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str | None = None
    alias: str | None = None

    @property
    def uri(self) -> str:
        if self.alias:
            return f"models:/{self.name}@{self.alias}"
        if self.version:
            return f"models:/{self.name}/{self.version}"
        return f"models:/{self.name}"


def parse_ref(ref: str) -> ModelRef:
    """``[models:/]NAME@ALIAS``, ``[models:/]NAME/VERSION`` or ``NAME``; ValueError otherwise."""
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(
            f"bad model reference {ref!r}: use NAME@ALIAS or NAME/VERSION "
            "(optionally prefixed with models:/)"
        )
    return ModelRef(m["name"], m["version"], m["alias"])


@dataclass
class ModelSummary:
    name: str
    versions: int
    latest_version: str | None
    aliases: dict[str, str]  # alias -> version
    alias_metrics: dict[str, dict[str, float]]  # alias -> metrics of that version's run

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ModelDetail:
    name: str
    version: str
    mlflow_run_id: str
    aliases: list[str]
    status: str
    source: str
    created: int | None  # epoch ms
    contract: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "model_uri": self.uri}


def contract_summary(contract: ModelContract) -> dict[str, Any]:
    return {
        "kind": contract.kind,
        "algo": contract.algo,
        "instrument": contract.instrument,
        "timeframe": str(contract.timeframe),
        "side": contract.side,
        "window": contract.window,
        "columns": list(contract.feature_columns),
        "obs_dim": contract.obs_dim,
        "position_state": contract.position_state,
        "feature_spec_fingerprint": contract.feature_spec_fingerprint,
        "config_fingerprint": contract.config_fingerprint,
        "train_start": contract.train_start,
        "train_end": contract.train_end,
    }


# --------------------------------------------------------------------------- lookups


def _mlflow_call(tracking: Tracking, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the client; unexpected MLflow failures become one-line ``TrackingError``s."""
    from mlflow.exceptions import MlflowException

    try:
        return fn(*args, **kwargs)
    except MlflowException as exc:
        raise TrackingError(f"MLflow at {tracking.display}: {first_line(exc.message)}") from None


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _registered(tracking: Tracking, name: str) -> Any:
    from mlflow.exceptions import MlflowException

    client = tracking.client()
    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise TrackingError(
                f"MLflow at {tracking.display}: {first_line(exc.message)}"
            ) from None
    known = [m.name for m in _mlflow_call(tracking, client.search_registered_models)]
    hint = f" (registered: {', '.join(sorted(known))})" if known else " (none registered yet)"
    raise ModelNotFound(f"no registered model {name!r}{hint}")


def _versions(tracking: Tracking, name: str) -> list[Any]:
    client = tracking.client()
    found = _mlflow_call(tracking, client.search_model_versions, f"name = '{_quote(name)}'")
    return sorted(found, key=lambda v: int(v.version))


def _aliases(registered: Any) -> dict[str, str]:
    return {str(a): str(v) for a, v in (registered.aliases or {}).items()}


def resolve(tracking: Tracking, ref: ModelRef | str) -> Any:
    """The ``ModelVersion`` ``ref`` names; ``ModelNotFound`` naming what exists otherwise."""
    r = parse_ref(ref) if isinstance(ref, str) else ref
    registered = _registered(tracking, r.name)
    if r.alias:
        aliases = _aliases(registered)
        if r.alias not in aliases:
            have = ", ".join(f"{a} -> {v}" for a, v in sorted(aliases.items())) or "none"
            raise ModelNotFound(f"model {r.name!r} has no alias {r.alias!r} (aliases: {have})")
        version = aliases[r.alias]
    else:
        versions = [v.version for v in _versions(tracking, r.name)]
        if not versions:
            raise ModelNotFound(f"model {r.name!r} has no versions")
        version = r.version or str(versions[-1])
        if version not in {str(v) for v in versions}:
            raise ModelNotFound(
                f"model {r.name!r} has no version {version} "
                f"(versions: {', '.join(map(str, versions))})"
            )
    return _mlflow_call(tracking, tracking.client().get_model_version, r.name, version)


def _run_metrics(tracking: Tracking, run_id: str | None) -> dict[str, float]:
    if not run_id:
        return {}
    run = _mlflow_call(tracking, tracking.client().get_run, run_id)
    return dict(sorted(run.data.metrics.items()))


# --------------------------------------------------------------------------- operations


def list_models(tracking: Tracking) -> list[ModelSummary]:
    """Every registered model: version count, latest version, aliases and, for each alias,
    the metrics of its version's training run."""
    client = tracking.client()
    out = []
    for rm in sorted(_mlflow_call(tracking, client.search_registered_models), key=lambda m: m.name):
        versions = _versions(tracking, rm.name)
        aliases = _aliases(rm)
        by_version = {str(v.version): v for v in versions}
        metrics = {
            alias: _run_metrics(tracking, getattr(by_version.get(ver), "run_id", None))
            for alias, ver in sorted(aliases.items())
        }
        out.append(
            ModelSummary(
                name=rm.name,
                versions=len(versions),
                latest_version=str(versions[-1].version) if versions else None,
                aliases=dict(sorted(aliases.items())),
                alias_metrics=metrics,
            )
        )
    return out


def show_model(tracking: Tracking, ref: ModelRef | str) -> ModelDetail:
    """One version: its run, aliases, contract summary and metrics."""
    mv = resolve(tracking, ref)
    contract = _download_contract(tracking, mv)
    return ModelDetail(
        name=mv.name,
        version=str(mv.version),
        mlflow_run_id=mv.run_id or "",
        aliases=sorted(str(a) for a in (mv.aliases or [])),
        status=str(mv.status),
        source=str(mv.source),
        created=mv.creation_timestamp,
        contract=contract_summary(contract) if contract is not None else {},
        metrics=_run_metrics(tracking, mv.run_id),
        tags={k: v for k, v in (mv.tags or {}).items()},
    )


def version_contract(tracking: Tracking, ref: ModelRef | str) -> tuple[str, str, ModelContract]:
    """The name and version ``ref`` names now (an alias resolved) and that version's
    contract, downloading only ``contract.json`` (not the model)."""
    mv = resolve(tracking, ref)
    contract = _download_contract(tracking, mv)
    if contract is None:
        raise ModelNotFound(
            f"model {mv.name!r} version {mv.version} has no contract.json (not a Tradewind model)"
        )
    return str(mv.name), str(mv.version), contract


def promote(tracking: Tracking, name: str, version: str | int, alias: str) -> ModelDetail:
    """Point ``alias`` of model ``name`` at ``version`` (moving it if it pointed elsewhere)."""
    if not _ALIAS.match(alias) or re.fullmatch(r"[vV]\d+|latest", alias):
        raise ValueError(
            f"bad alias {alias!r}: use letters, digits, _ and -, starting with a letter "
            "(not 'latest' or v<N>)"
        )
    if not str(version).isdigit():
        raise ValueError(f"bad version {version!r}: a version is a number (1, 2, ...)")
    mv = resolve(tracking, ModelRef(name, str(int(version))))
    client = tracking.client()
    _mlflow_call(tracking, client.set_registered_model_alias, name, alias, str(mv.version))
    return show_model(tracking, ModelRef(name, str(mv.version)))


def run_file_text(tracking: Tracking, run_id: str, path: str) -> str:
    """The text of the artifact ``path`` of MLflow run ``run_id``."""
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="tradewind-artifact-") as tmp:
        local = _mlflow_call(
            tracking,
            mlflow.artifacts.download_artifacts,
            run_id=run_id,
            artifact_path=path,
            dst_path=tmp,
            tracking_uri=tracking.tracking_uri,
        )
        return Path(local).read_text(encoding="utf-8")


def _download_contract(tracking: Tracking, mv: Any) -> ModelContract | None:
    """The contract logged with the version's run (``contract.json``)."""
    if not mv.run_id:
        return None
    return ModelContract.model_validate_json(run_file_text(tracking, mv.run_id, CONTRACT_FILE))


def _download_model(tracking: Tracking, mv: Any, dst: Path) -> Path:
    import mlflow.artifacts

    uri = _mlflow_call(
        tracking, tracking.client().get_model_version_download_uri, mv.name, mv.version
    )
    return Path(
        _mlflow_call(
            tracking,
            mlflow.artifacts.download_artifacts,
            artifact_uri=uri,
            dst_path=str(dst),
            tracking_uri=tracking.tracking_uri,
        )
    )


def _flavor(model_dir: Path) -> str:
    from mlflow.models import Model

    mlmodel = Model.load(str(model_dir))
    pyfunc = mlmodel.flavors.get("python_function", {})
    flavor = (pyfunc.get("model_config") or {}).get("flavor") or (mlmodel.metadata or {}).get(
        FLAVOR_KEY
    )
    if not flavor:
        raise ValueError(f"{model_dir}: not a Tradewind model (its MLmodel names no flavor)")
    return str(flavor)


def load_policy(
    uri: str,
    *,
    feature_columns: Sequence[str],
    feature_spec_fingerprint: str | None,
    timeframe: Timeframe | str | None,
    tracking: Tracking,
    feature_spec: FeatureSpec | None = None,
    instruments: Sequence[str] | None = None,
    side: str | None = None,
    allow_other_instrument: bool = False,
    allow_other_side: bool = False,
) -> Policy:
    """The policy of ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``, after checking its
    contract against the caller's feature columns, feature spec and timeframe, and (when
    given) the instruments and price side it trades (``OtherMarket`` unless allowed).

    ``tradewind.policy.ContractMismatch`` names the difference and the model;
    ``ModelNotFound`` an unknown model, version or alias."""
    tr = tracking
    ref = parse_ref(uri)
    mv = resolve(tr, ref)
    label = f"{ref.uri} (version {mv.version})" if ref.alias else ref.uri
    with tempfile.TemporaryDirectory(prefix="tradewind-model-") as tmp:
        local = _download_model(tr, mv, Path(tmp))
        contract = read_contract(local / "artifacts" / CONTRACT_FILE)
        contract.check(
            feature_columns,
            feature_spec_fingerprint,
            timeframe=timeframe,
            model=label,
            feature_spec=feature_spec,
            instruments=instruments,
            side=side,
            allow_other_instrument=allow_other_instrument,
            allow_other_side=allow_other_side,
        )
        return load_from_artifacts(local / "artifacts" / MODEL_DIR, contract, _flavor(local))


def load_pyfunc(uri: str, *, tracking: Tracking) -> Any:
    """The MLflow pyfunc of a model version (``predict(observations) -> targets``)."""
    import mlflow.pyfunc

    tr = tracking
    mv = resolve(tr, parse_ref(uri))
    with tempfile.TemporaryDirectory(prefix="tradewind-pyfunc-") as tmp:
        local = _download_model(tr, mv, Path(tmp))
        return mlflow.pyfunc.load_model(str(local))  # loads eagerly: the files may go
