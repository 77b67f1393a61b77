"""Settings read from the environment (prefix ``TITRATE_``); nothing else reads os.environ."""

from __future__ import annotations

import os
from datetime import time
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.db.audit_chain import AuditKey, AuditKeys, derive_key
from app.ehr.connections import EhrConnection

# Not a credential: the value outside dev is refused (_refuse_placeholder_secret_outside_dev).
PLACEHOLDER_SECRET = "change-me"  # nosec B105
DEFAULT_DATABASE_URL = "sqlite:///./data/titrate.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TITRATE_", env_file=".env", extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    session_idle_minutes: int = Field(default=15, ge=1, le=240)
    session_absolute_hours: int = Field(default=12, ge=1, le=24)
    clinic_timezone: str = "Europe/Berlin"
    # Clock times of the dose times in calendar exports, in the clinic's time zone.
    calendar_morning_time: time = time(8, 0)
    calendar_midday_time: time = time(12, 0)
    calendar_evening_time: time = time(18, 0)
    calendar_night_time: time = time(22, 0)
    calendar_bolus_time: time = time(9, 0)
    calendar_reminder_minutes: int = Field(default=10, ge=0, le=240)
    # Who a patient calls, printed on every schedule. Empty: the printout leaves a line to
    # write it in by hand (a made-up default number could be dialled).
    clinic_name: str = Field(default="", max_length=120)
    clinic_phone: str = Field(default="", max_length=40)
    # Identifier systems in FHIR exports: set them to the hospital's own URIs.
    fhir_mrn_system: str = "https://titrate.invalid/fhir/sid/mrn"
    fhir_plan_system: str = "https://titrate.invalid/fhir/sid/plan"
    log_level: str = "INFO"
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=5000)
    # How often (seconds) each process looks for a newly approved protocol version
    # (services/protocol_feed.py): the bound on how late another worker uses it.
    protocol_check_seconds: float = Field(default=5.0, ge=0, le=3600)
    # Processes an impact report or an approval spreads the recomputation of a large clinic's
    # open plans over (services/impact_scan.py). 0: one per core of the machine.
    impact_workers: int = Field(default=0, ge=0, le=64)
    # Proxies whose X-Forwarded-For/-Proto are believed (uvicorn's forwarded_allow_ips);
    # behind a TLS proxy this makes cookies Secure and URLs https. Empty (the default): no
    # proxy is trusted, the direct peer is the client (anyone on the host could otherwise
    # forge the address that login limits and the audit trail record).
    forwarded_allow_ips: str = ""
    # Host names this server answers to (TrustedHostMiddleware), comma-separated; any other
    # Host header is a 400, so no redirect or link is built from a forged host. Empty: every
    # host in dev and test, only the loopback names in prod.
    allowed_hosts: str = ""
    # Login rate limits, counted in the database so every worker and instance agrees
    # (RELIABILITY.md S7: 50 wrong passwords for one account in 60 s → at least 45 refused).
    # After `max_failures` failed logins within the window, each further attempt waits
    # `lockout_initial_seconds`, doubling per failure up to `lockout_max_seconds`: the OWASP
    # Authentication Cheat Sheet's exponential lockout. The per-address limit is higher
    # because a whole ward may share one NAT address.
    login_max_failures_per_account: int = Field(default=5, ge=1, le=100)
    login_max_failures_per_client_ip: int = Field(default=50, ge=1, le=10_000)
    login_failure_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_lockout_initial_seconds: int = Field(default=30, ge=1, le=3600)
    login_lockout_max_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    # Peers (addresses or networks, comma-separated) whose X-Forwarded-For names the client
    # that login limits count. Empty: the direct peer is the client.
    login_trusted_proxies: str = ""
    # EHRs Titrate works inside (SMART launch, CDS Hooks, FHIR import): a JSON list, see
    # README "Connecting an EHR". Titrate's own public address is the CDS Hooks JWT audience.
    ehrs: list[EhrConnection] = Field(default_factory=list)
    public_url: str = "http://127.0.0.1:8000"

    @property
    def scan_workers(self) -> int:
        """How many processes a protocol impact scan may use."""
        return self.impact_workers or os.cpu_count() or 1

    def ehr(self, ehr_id: str) -> EhrConnection | None:
        return next((connection for connection in self.ehrs if connection.id == ehr_id), None)

    # Requests per minute (and burst) per API token and per signed-in user, in each worker
    # process (app/request_limits.py); above it: 429 with Retry-After.
    token_requests_per_minute: int = Field(default=600, ge=1, le=100_000)
    user_requests_per_minute: int = Field(default=300, ge=1, le=100_000)
    request_burst: int = Field(default=60, ge=1, le=10_000)
    # The audit chain's HMAC key (docs/operations/audit.md, "Keys and rotation"): kept outside
    # the database, so whoever can write the database cannot re-chain an edited trail. Unset:
    # derived from TITRATE_SECRET_KEY. On rotation the old keys go, comma-separated, into
    # TITRATE_AUDIT_PREVIOUS_KEYS: rows keep the key they were chained with.
    audit_key: SecretStr | None = None
    audit_previous_keys: SecretStr = SecretStr("")

    @field_validator("clinic_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        # Fail at start-up, not at the first calendar export.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone: {value}") from exc
        return value

    @field_validator("login_trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for entry in filter(None, (part.strip() for part in value.split(","))):
            try:
                ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an address or network: {entry}") from exc
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secret_outside_dev(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.environment != "dev" and (secret == PLACEHOLDER_SECRET or len(secret) < 32):
            raise ValueError(
                "TITRATE_SECRET_KEY must be set to a random value of at least 32 characters "
                f"outside dev (environment={self.environment})"
            )
        return self

    @field_validator("audit_key")
    @classmethod
    def _long_audit_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("TITRATE_AUDIT_KEY must be at least 32 characters")
        return value

    def audit_keys(self) -> AuditKeys:
        derived = AuditKey(derive_key(self.secret_key.get_secret_value()))
        previous = self.audit_previous_keys.get_secret_value().split(",")
        older = tuple(AuditKey(key.strip().encode("utf-8")) for key in previous if key.strip())
        if self.audit_key is None:
            return AuditKeys(derived, older)
        # Rows keyed before TITRATE_AUDIT_KEY was set keep verifying with the derived key.
        return AuditKeys(
            AuditKey(self.audit_key.get_secret_value().encode("utf-8")), (*older, derived)
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def allowed_host_names(self) -> list[str]:
        names = [part.strip() for part in self.allowed_hosts.split(",") if part.strip()]
        if names:
            return names
        return ["localhost", "127.0.0.1", "[::1]"] if self.environment == "prod" else ["*"]

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        parts = (part.strip() for part in self.login_trusted_proxies.split(","))
        return tuple(ip_network(part, strict=False) for part in parts if part)

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite or ":memory:" in self.database_url:
            return None
        return Path(self.database_url.split("///", 1)[1])


@lru_cache
def get_settings() -> Settings:
    return Settings()
