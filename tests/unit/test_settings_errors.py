"""A bad setting stops every command with one plain line and exit status 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aerie_app.__main__ import main
from aerie_app.settings import Settings, get_settings
from tests.conftest import ROOT


def a_file(tmp: Path) -> str:
    path = tmp / "not-a-folder"
    path.write_text("in the way")
    return str(path)


# setting -> (a bad value, or a function of a temporary folder giving one; the line printed)
BAD: dict[str, tuple[str | Callable[[Path], str], str]] = {
    "data_dir": (a_file, "must be a folder, but a file is in the way"),
    "database_url": (
        "mysql://aerie@db/aerie",
        "must be a database URL starting sqlite:/// or postgresql+psycopg://, "
        "e.g. postgresql+psycopg://aerie@127.0.0.1:5432/aerie",
    ),
    "api_key": ("too-short", "must be at least 16 characters"),
    "max_upload_mb": ("0", "must be at least 1"),
    "max_request_kb": ("1.5", "must be a whole number"),
    "conversion_timeout_s": ("0", "must be more than 0"),
    "conversion_memory_mb": ("128", "must be at least 256"),
    "conversion_workers": ("-1", "must be at least 0"),
    "conversion_prewarm": ("maybe", "must be true or false"),
    "conversion_in_web": ("sometimes", "must be true or false"),
    "s3_bucket": (
        "My_Bucket",
        "must be an S3 bucket name: 3-63 lowercase letters, digits, . and -",
    ),
    "s3_endpoint_url": ("minio:9000", "must be an http(s) address, e.g. http://minio:9000"),
    "s3_region": ("US East", "must be a region name, e.g. us-east-1"),
    "s3_prefix": ("aerie", "must be a key prefix ending in /, e.g. aerie/"),
    "s3_presigned_downloads_s": ("864000", "must be at most 604800"),
    "workers": ("two", "must be a whole number"),
    "cors_origins": (
        "https://shop.example",
        'must be a JSON list of origins, e.g. ["https://shop.example"]',
    ),
    "public_url": ("shop-pc:3000", "must be an http(s) address, e.g. http://192.168.1.20:3000"),
    "auth_fail_limit": ("0", "must be at least 1"),
    "trusted_proxies": ("proxy.local", "'proxy.local' is not an IP address or CIDR network"),
    "onshape_base_url": ("cad.onshape.com", "must be an http(s) URL, e.g. https://cad.onshape.com"),
    "onshape_access_key": (
        "key with spaces",
        "must not contain spaces, line breaks or control characters",
    ),
    "onshape_secret_key": (
        "secret\n",
        "must not contain spaces, line breaks or control characters",
    ),
    "onshape_timeout_s": ("inf", "must be a finite number"),
    "onshape_poll_interval_s": ("soon", "must be a number"),
    "onshape_max_wait_s": ("-5", "must be more than 0"),
    "backup_dir": (a_file, "must be a folder, but a file is in the way"),
    "backup_daily": ("daily", "must be true or false"),
    "backup_keep": ("0", "must be at least 1"),
}


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No AERIE_ variable from outside; a data folder of the test's own."""
    for name in list(os.environ):
        if name.startswith("AERIE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AERIE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def bad_value(name: str, tmp: Path) -> str:
    value = BAD[name][0]
    return value(tmp) if callable(value) else value


@pytest.mark.unit
def test_every_setting_has_a_bad_value_case() -> None:
    missing = set(Settings.model_fields) - set(BAD)
    assert not missing, f"add a bad-value case to BAD for: {sorted(missing)}"
    assert set(BAD) <= set(Settings.model_fields), "BAD names a setting that no longer exists"


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_setting_is_one_line_and_status_2(
    name: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    variable = f"AERIE_{name.upper()}"
    monkeypatch.setenv(variable, bad_value(name, clean_env))
    assert main(["migrate"]) == 2
    out, err = capsys.readouterr()
    assert err == f"{variable}: {BAD[name][1]}\n"
    assert out == ""
    assert not (clean_env / "data").exists()  # stopped before touching anything


@pytest.mark.unit
def test_empty_variable_means_unset(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AERIE_API_KEY", "")
    monkeypatch.setenv("AERIE_BACKUP_DIR", "")
    monkeypatch.setenv("AERIE_CORS_ORIGINS", "")
    settings = get_settings()
    assert settings.api_key is None and settings.backup_dir is None
    assert settings.cors_origins == []


@pytest.mark.unit
def test_good_values_still_pass(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AERIE_CORS_ORIGINS", '["https://shop.example", "http://localhost:3000"]')
    monkeypatch.setenv("AERIE_DATABASE_URL", "postgresql+psycopg://aerie@127.0.0.1:5432/aerie")
    monkeypatch.setenv("AERIE_ONSHAPE_BASE_URL", "http://127.0.0.1:8123")
    monkeypatch.setenv("AERIE_API_KEY", "x" * 16)
    settings = get_settings()
    assert settings.cors_origins == ["https://shop.example", "http://localhost:3000"]
    assert settings.onshape_base_url == "http://127.0.0.1:8123"


def run_cli(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def cli_env(tmp: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_")}
    return env | {"AERIE_DATA_DIR": str(tmp / "data")} | settings


# `serve` as `make run` calls it, except that the final exec into Reflex, should the check ever
# let a bad value through, exits 99 instead of building and starting the whole app.
SERVE = (
    "import os, sys\n"
    "os.execvpe = lambda *a: sys.exit(99)\n"
    "from aerie_app.__main__ import main\n"
    "sys.exit(main(['serve', '--port', '3999']))\n"
)


@pytest.mark.unit
def test_serve_with_a_short_api_key_stops_before_reflex(tmp_path: Path) -> None:
    done = run_cli(SERVE, cli_env(tmp_path, AERIE_API_KEY="short"))
    assert done.returncode == 2, done.stderr
    assert done.stderr == "AERIE_API_KEY: must be at least 16 characters\n"
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.unit
def test_serve_with_a_bad_port_stops_too(tmp_path: Path) -> None:
    code = SERVE.replace("['serve', '--port', '3999']", "['serve']")
    done = run_cli(code, cli_env(tmp_path) | {"PORT": "http"})
    assert (done.returncode, done.stderr) == (
        2,
        "PORT: must be a port number between 1 and 65535\n",
    )


@pytest.mark.unit
def test_python_m_aerie_app_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aerie_app", "create-key", "ci", "--scope", "read"],
        cwd=ROOT,
        env=cli_env(tmp_path, AERIE_MAX_REQUEST_KB="big"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "AERIE_MAX_REQUEST_KB: must be a whole number\n"
