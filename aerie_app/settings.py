"""Aerie's settings: the only module that reads the environment (prefix ``AERIE_``)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

VERSION = "0.1.0"
API_KEY_MIN_LENGTH = 16
# The drivers requirements.txt installs.
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")


class Settings(BaseSettings):
    """Every knob Aerie has. The README's configuration table is checked against this class by a test."""

    # An empty variable (``AERIE_BACKUP_DIR=``) means unset, not "" (which would be the cwd).
    model_config = SettingsConfigDict(env_prefix="AERIE_", extra="ignore", env_ignore_empty=True)

    data_dir: Path = Field(
        Path("data"),
        description="Folder for the SQLite database, uploaded files and converted models.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. `postgresql+psycopg://aerie@127.0.0.1:5432/aerie`. "
        "Default: SQLite at `<data_dir>/aerie.db`.",
    )
    api_key: SecretStr | None = Field(
        None,
        min_length=API_KEY_MIN_LENGTH,
        description="When set, this value is the admin API key (stored hashed). "
        "When unset, a key is generated on first start and printed once.",
    )
    max_upload_mb: int = Field(
        100, ge=1, description="Largest accepted upload, in MB (larger: 413)."
    )
    max_request_kb: int = Field(
        1024, ge=1, description="Largest accepted JSON request body, in KB (larger: 413)."
    )
    conversion_timeout_s: float = Field(
        120.0,
        gt=0,
        allow_inf_nan=False,
        description="Wall-clock limit for one STEP→GLB conversion, in seconds.",
    )
    conversion_memory_mb: int = Field(
        3072, ge=256, description="Memory cap of one conversion worker process, in MB."
    )
    conversion_workers: int = Field(
        0, ge=0, description="Conversions run at once; 0 means one per CPU core."
    )
    conversion_prewarm: bool = Field(
        True,
        description="Keep one pre-started converter process per server worker, from server start "
        "on (~400 MB RSS while idle; replaced after 10 min idle) so a job, the first after a "
        "restart included, skips the ~1.3 s Python/OCP start-up; every job still runs in its own "
        "process.",
    )
    conversion_in_web: bool = Field(
        True,
        description="Run STEP conversions and Onshape drawing exports in the web server's "
        "workers. `false`: only `python -m aerie_app worker` processes run them (on this host or "
        "another that reaches the database and the files), and web workers start no converter.",
    )
    s3_bucket: str | None = Field(
        None,
        description="Keep uploads, models, thumbnails and views in this S3 bucket (any "
        "S3-compatible store); the data folder then only caches them. Credentials: the standard "
        "`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. Default: the data folder only.",
    )
    s3_endpoint_url: str | None = Field(
        None,
        description="The store's address when it is not AWS, e.g. `http://minio:9000`.",
    )
    s3_region: str = Field("us-east-1", description="The bucket's region.")
    s3_prefix: str | None = Field(
        None, description="Key prefix inside the bucket, e.g. `aerie/`, to share a bucket."
    )
    s3_presigned_downloads_s: int = Field(
        0,
        ge=0,
        le=7 * 24 * 3600,
        description="With a bucket: answer downloads of uploaded files (`/download`, `/file`, "
        "a revision's download) with a redirect to a presigned URL valid this many seconds, so "
        "the bytes come from the store, not through Aerie (the key is still checked first; the "
        "store's address must be reachable by the clients). 0: Aerie streams them.",
    )
    workers: int = Field(
        0,
        ge=0,
        description="Backend worker processes of `make run`; 0 = Reflex's default "
        "(1, or 2×cores+1 when `REDIS_URL` is set). More than 1 needs `REDIS_URL`.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description='Origins allowed to call the API from another site, as JSON: `["https://shop.example"]`.',
    )
    public_url: str | None = Field(
        None,
        description="The address phones on the shop network open Aerie at, e.g. "
        "`http://192.168.1.20:3000`: what the QR codes on part labels point to. "
        "Default: the address the label sheet was asked from.",
    )
    auth_fail_limit: int = Field(
        10, ge=1, description="Failed API-key attempts per client per minute before 429."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies whose `X-Forwarded-For` is believed, as IPs or CIDR networks "
        "(comma-separated or JSON): `127.0.0.1,10.0.0.0/8`. A request from one of them is counted "
        "against the rightmost address in that header that is not a trusted proxy.",
    )
    onshape_base_url: str = Field(
        "https://cad.onshape.com", description="Onshape API base URL (drawings)."
    )
    onshape_access_key: SecretStr | None = Field(None, description="Onshape API access key.")
    onshape_secret_key: SecretStr | None = Field(None, description="Onshape API secret key.")
    onshape_timeout_s: float = Field(
        30.0,
        gt=0,
        allow_inf_nan=False,
        description="Limit for one HTTP request to Onshape, in seconds.",
    )
    onshape_poll_interval_s: float = Field(
        2.0,
        gt=0,
        allow_inf_nan=False,
        description="Pause between checks of a running Onshape drawing export, in seconds.",
    )
    onshape_max_wait_s: float = Field(
        180.0,
        gt=0,
        allow_inf_nan=False,
        description="Longest wait for Onshape to finish exporting one drawing, in seconds (then it fails).",
    )
    backup_dir: Path | None = Field(
        None,
        description="Folder for backup archives (`python -m aerie_app backup`, the daily backup). "
        "Default: `<data_dir>/backups`.",
    )
    backup_daily: bool = Field(
        False,
        description="When true, the running app makes a backup once a day (if the newest is over 24 h old).",
    )
    backup_keep: int = Field(
        7, ge=1, description="Backup archives kept in the backup folder; older ones are deleted."
    )

    @field_validator("data_dir", "backup_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        """Folders are resolved once, here, against the working directory at start.

        Every path derived from them (blobs, models, staging folders handed to a converter
        process that runs elsewhere) is then absolute, whatever any process's working directory.
        """
        return None if value is None else value.expanduser().resolve()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        """A comma-separated list or a JSON array; each entry an IP address or CIDR network."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError("not a JSON array of addresses") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", mode="after")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        networks = []
        for entry in value:
            try:
                networks.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
        return networks

    @field_validator("data_dir", "backup_dir", mode="after")
    @classmethod
    def _folder(cls, value: Path | None) -> Path | None:
        if value is not None and value.exists() and not value.is_dir():
            raise ValueError("must be a folder, but a file is in the way")
        return value

    @field_validator("database_url", mode="after")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            driver = make_url(value).drivername
        except ArgumentError:
            driver = ""
        if driver not in DATABASE_DRIVERS:
            raise ValueError(
                "must be a database URL starting sqlite:/// or postgresql+psycopg://, "
                "e.g. postgresql+psycopg://aerie@127.0.0.1:5432/aerie"
            )
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object) -> object:
        rule = 'must be a JSON list of origins, e.g. ["https://shop.example"]'
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError(rule) from None
        if not isinstance(value, list) or not all(
            isinstance(o, str) and re.fullmatch(r"https?://[^/\s]+", o) for o in value
        ):
            raise ValueError(rule)
        return value

    @field_validator("public_url", mode="after")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be an http(s) address, e.g. http://192.168.1.20:3000")
        return value

    @field_validator("onshape_base_url", mode="after")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", value):
            raise ValueError("must be an http(s) URL, e.g. https://cad.onshape.com")
        return value

    @field_validator("s3_endpoint_url", mode="after")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/\s]+/?", value):
            raise ValueError("must be an http(s) address, e.g. http://minio:9000")
        return value

    @field_validator("s3_bucket", mode="after")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        # S3's bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens.
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
            raise ValueError("must be an S3 bucket name: 3-63 lowercase letters, digits, . and -")
        return value

    @field_validator("s3_prefix", mode="after")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9!_.*'()/-]*/", value):
            raise ValueError("must be a key prefix ending in /, e.g. aerie/")
        return value

    @field_validator("s3_region", mode="after")
    @classmethod
    def _region(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9-]{2,32}", value):
            raise ValueError("must be a region name, e.g. us-east-1")
        return value

    @field_validator("onshape_access_key", "onshape_secret_key", mode="after")
    @classmethod
    def _key_text(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"\S+", value.get_secret_value()):
            raise ValueError("must not contain spaces, line breaks or control characters")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'aerie.db'}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


@lru_cache
def get_settings() -> Settings:
    return Settings()


class ConfigError(Exception):
    """Settings that break their rules: one line per setting, ``AERIE_NAME: the rule``."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def check_settings() -> Settings:
    """:func:`get_settings`, with bad values turned into a :class:`ConfigError` in plain words."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors())) from None
    except SettingsError as exc:
        # pydantic-settings could not even decode a value: 'error parsing value for field "x" ...'
        match = re.search(r'field "(\w+)"', str(exc))
        name = f"AERIE_{match.group(1).upper()}" if match else "AERIE_*"
        raise ConfigError([f"{name}: is not in the expected format ({exc})"]) from None


# pydantic's error types, as a rule a person reads
_RULES = {
    "too_short": "must be at least {min_length} characters",
    "string_too_short": "must be at least {min_length} characters",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "path_type": "must be a folder path",
}


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _describe(errors: list[Any]) -> list[str]:
    lines: dict[str, str] = {}
    for error in errors:
        name = f"AERIE_{str(error['loc'][0]).upper()}" if error.get("loc") else "AERIE_*"
        if name in lines:
            continue  # one line per setting: the first rule it breaks
        rule = _RULES.get(error["type"])
        if rule is not None:
            ctx = {k: _number(v) for k, v in (error.get("ctx") or {}).items()}
            text = rule.format(**ctx)
        else:
            text = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        lines[name] = f"{name}: {text}"
    return list(lines.values())


def redis_url() -> str | None:
    """Redis shared by the workers, if any: ``REDIS_URL`` (as the README names it) or Reflex's own
    ``REFLEX_REDIS_URL``. Not an ``AERIE_`` setting: it belongs to the deployment, not to Aerie."""
    return os.environ.get("REDIS_URL") or os.environ.get("REFLEX_REDIS_URL") or None


def settings_table() -> str:
    """The README's configuration table, generated from :class:`Settings` (a test keeps them equal)."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if default is None:
            shown = "unset"
        elif isinstance(default, Path):
            shown = f"`{default.as_posix()}`"
        elif isinstance(default, list):
            shown = "`[]`"
        else:
            shown = f"`{default}`"
        rows.append(f"| `AERIE_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)
