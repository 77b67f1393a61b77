"""Settings read from the environment (prefix ``TITRATE_``); nothing else reads os.environ."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"
DEFAULT_DATABASE_URL = "sqlite:///./data/titrate.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TITRATE_", env_file=".env", extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    session_idle_minutes: int = Field(default=15, ge=1, le=240)
    session_absolute_hours: int = Field(default=12, ge=1, le=24)
    clinic_timezone: str = "Europe/Berlin"
    log_level: str = "INFO"
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=5000)
    # Proxies whose X-Forwarded-For/-Proto are believed (uvicorn's forwarded_allow_ips);
    # behind a TLS proxy this makes cookies Secure and URLs https.
    forwarded_allow_ips: str = "127.0.0.1"

    @model_validator(mode="after")
    def _refuse_placeholder_secret_outside_dev(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.environment != "dev" and (secret == PLACEHOLDER_SECRET or len(secret) < 32):
            raise ValueError(
                "TITRATE_SECRET_KEY must be set to a random value of at least 32 characters "
                f"outside dev (environment={self.environment})"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite or ":memory:" in self.database_url:
            return None
        return Path(self.database_url.split("///", 1)[1])


@lru_cache
def get_settings() -> Settings:
    return Settings()
