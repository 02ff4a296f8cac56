"""Where MLflow tracking and the model registry live, and keeping MLflow quiet.

The embedded default needs no server: a SQLite store under ``TRADEWIND_HOME``
(``$TRADEWIND_HOME/mlflow/mlflow.db``) with artifacts beside it
(``$TRADEWIND_HOME/mlflow/artifacts``). ``MLFLOW_TRACKING_URI`` in the environment points
tracking at a server (or any MLflow store) instead, and ``MLFLOW_REGISTRY_URI`` the registry
when it differs. Credentials for a server travel in MLflow's own variables
(``MLFLOW_TRACKING_USERNAME``/``_PASSWORD``/``_TOKEN``); URIs are shown with any password
masked.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

EXPERIMENT = "tradewind"

# MLflow prints run URLs to stdout, sends usage telemetry and logs INFO chatter; the CLI's
# stdout is for results (one JSON line under --json), and tracking must not touch the network
# beyond the tracking server itself.
_QUIET_ENV = {
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    # MLflow retries an unreachable server for minutes by default (7 retries, backoff 2):
    # a wrong MLFLOW_TRACKING_URI should fail in seconds. Both can be set in the environment.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}
_NOISY_LOGGERS = ("mlflow", "alembic", "botocore", "urllib3", "git")


class TrackingError(OSError):
    """The tracking store or server cannot be used (unreachable, misconfigured)."""


def quiet_mlflow() -> None:
    """No banners, run URLs, telemetry or INFO/warning spam from MLflow and its helpers."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("mlflow", "pydantic", "setuptools", "pkg_resources", "alembic"):
        warnings.filterwarnings("ignore", module=module)
    warnings.filterwarnings("ignore", message=".*mlflow.*", category=FutureWarning)


def mask_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (safe for output and logs)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class Tracking:
    """The tracking and registry URIs in use, and the experiment runs go to.

    ``artifact_location`` is set for the embedded store only: a server decides where
    artifacts go (``--artifacts-destination``)."""

    tracking_uri: str
    registry_uri: str
    experiment: str = EXPERIMENT
    artifact_location: str | None = None

    @property
    def embedded(self) -> bool:
        return self.artifact_location is not None

    @property
    def display(self) -> str:
        return mask_uri(self.tracking_uri)

    def client(self):  # -> mlflow.MlflowClient (imported lazily: mlflow is slow to import)
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)


def resolve_tracking(home: Path, environ: dict[str, str] | None = None) -> Tracking:
    """The embedded store under ``home``, unless ``MLFLOW_TRACKING_URI`` names another."""
    env = os.environ if environ is None else environ
    uri = env.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return Tracking(uri, env.get("MLFLOW_REGISTRY_URI", "").strip() or uri)
    root = home.resolve() / "mlflow"
    db = f"sqlite:///{root / 'mlflow.db'}"
    registry = env.get("MLFLOW_REGISTRY_URI", "").strip() or db
    return Tracking(db, registry, artifact_location=(root / "artifacts").as_uri())


def configure(tracking: Tracking) -> Tracking:
    """Point MLflow's process-wide (fluent) API at ``tracking``, quietly; create the embedded
    store's directories. Returns ``tracking``."""
    quiet_mlflow()
    import mlflow

    if tracking.embedded:
        assert tracking.artifact_location is not None
        root = Path(urlsplit(tracking.artifact_location).path).parent
        (root / "artifacts").mkdir(parents=True, exist_ok=True)
    # MLflow also exports the URIs as MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI: that would
    # make the embedded store of one home look like a server choice to the next
    # ``resolve_tracking``, so the environment is put back as it was.
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    try:
        mlflow.set_tracking_uri(tracking.tracking_uri)
        mlflow.set_registry_uri(tracking.registry_uri)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return tracking


def ensure_experiment(tracking: Tracking) -> str:
    """The id of ``tracking.experiment``, created on first use (with the embedded artifact
    location, so artifacts never land in the working directory)."""
    from mlflow.exceptions import MlflowException

    client = tracking.client()
    try:
        exp = client.get_experiment_by_name(tracking.experiment)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                client.restore_experiment(exp.experiment_id)
            return str(exp.experiment_id)
        return str(
            client.create_experiment(
                tracking.experiment, artifact_location=tracking.artifact_location
            )
        )
    except MlflowException as exc:
        # a concurrent first use created it between our lookup and create
        exp = client.get_experiment_by_name(tracking.experiment)
        if exp is not None:
            return str(exp.experiment_id)
        raise TrackingError(
            f"MLflow tracking at {tracking.display}: {first_line(exc.message)}"
        ) from None


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")
_SECRET_ENV = ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "AWS_SECRET_ACCESS_KEY")


def redact(text: str) -> str:
    """``text`` with URL passwords and MLflow/AWS secrets from the environment masked."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}***@", text)
    for var in _SECRET_ENV:
        secret = os.environ.get(var)
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, "***")
    return text


def first_line(message: object) -> str:
    """The first line of an error message, secrets masked (MLflow puts URLs in its errors)."""
    text = str(message).strip()
    return redact((text.splitlines() or [""])[0])
