"""MLflow tracking and the model registry: log, register, alias, load with a contract check.

``tracking`` says where MLflow lives (the embedded SQLite store under ``TRADEWIND_HOME``, or
``MLFLOW_TRACKING_URI``); ``log`` records one training as one MLflow run and registers its
model; ``pyfunc`` is the model's MLflow face; ``models`` lists, shows, promotes and loads.
"""

from tradewind.registry.log import (
    RegisteredVersion,
    TrainingRun,
    log_trained,
    mlflow_sink,
    training_run,
)
from tradewind.registry.models import (
    ModelDetail,
    ModelNotFound,
    ModelRef,
    ModelSummary,
    list_models,
    load_policy,
    load_pyfunc,
    parse_ref,
    promote,
    show_model,
    version_contract,
)
from tradewind.registry.tracking import (
    Tracking,
    TrackingError,
    configure,
    ensure_experiment,
    resolve_tracking,
)

__all__ = [
    "ModelDetail",
    "ModelNotFound",
    "ModelRef",
    "ModelSummary",
    "RegisteredVersion",
    "Tracking",
    "TrackingError",
    "TrainingRun",
    "configure",
    "ensure_experiment",
    "list_models",
    "load_policy",
    "load_pyfunc",
    "log_trained",
    "mlflow_sink",
    "parse_ref",
    "promote",
    "resolve_tracking",
    "show_model",
    "training_run",
    "version_contract",
]
