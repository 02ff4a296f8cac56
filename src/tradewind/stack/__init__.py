"""The docker-compose stack: its variables and secrets (``tradewind.stack.secrets``)."""
