"""Runtime settings from the environment. Secrets come from the environment or secret files."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


def _read_secret_file(var: str) -> str | None:
    """``VAR_FILE`` names a file (e.g. a Docker secret) whose content is the secret."""
    path = os.environ.get(f"{var}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{var}_FILE={path}: cannot read secret file: {exc.strerror}") from None


class Settings(BaseSettings):
    """``TRADEWIND_*`` environment variables.

    ``TRADEWIND_DATABASE_URL`` may leave out the password; it then comes from
    ``TRADEWIND_DATABASE_PASSWORD`` or the file named by ``TRADEWIND_DATABASE_PASSWORD_FILE``.
    """

    model_config = SettingsConfigDict(
        env_prefix="TRADEWIND_", env_file=".env", extra="ignore", frozen=True
    )

    home: Path = Path(".tradewind")
    database_url: str | None = None
    database_password: SecretStr | None = None
    log_level: str = Field(default="INFO")

    @model_validator(mode="after")
    def _secret_files(self) -> Settings:
        if self.database_password is None:
            secret = _read_secret_file("TRADEWIND_DATABASE_PASSWORD")
            if secret is not None:
                object.__setattr__(self, "database_password", SecretStr(secret))
        return self

    @property
    def resolved_database_url(self) -> str:
        """The URL to connect with (it may carry a password: never print it)."""
        if not self.database_url:
            return f"sqlite:///{(self.home / 'tradewind.db').resolve()}"
        url = make_url(self.database_url)
        if url.password is None and self.database_password is not None:
            url = url.set(password=self.database_password.get_secret_value())
        return url.render_as_string(hide_password=False)

    @property
    def database_display(self) -> str:
        """The database URL with any password masked, safe for logs and output."""
        return make_url(self.resolved_database_url).render_as_string(hide_password=True)
