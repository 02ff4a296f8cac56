"""MLflow tracking and the model registry: log, register, alias, load with a contract check."""
