"""The long-lived Khronos validator: one process serves every check, and a validator that died,
hangs or talks nonsense costs one clear failure (or a restart), never a stuck conversion."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.cad

pytest.importorskip("OCP")

from aerie_app.cad import validate  # noqa: E402
from aerie_app.cad.convert import convert_step  # noqa: E402
from aerie_app.errors import ConversionFailed  # noqa: E402


@pytest.fixture
def glb(steps: Path, tmp_path: Path) -> Path:
    out = tmp_path / "plate.glb"
    convert_step(steps / "plate_with_holes.step", out)
    return out


@pytest.fixture
def own_validator(monkeypatch: pytest.MonkeyPatch) -> Iterator[validate._Validator]:
    fresh = validate._Validator()
    monkeypatch.setattr(validate, "_validator", fresh)
    yield fresh
    fresh.stop()


def test_one_validator_serves_every_check_and_a_dead_one_is_replaced(
    glb: Path, own_validator: validate._Validator
) -> None:
    assert validate.warm_up()
    first = own_validator.pid()
    assert first is not None
    for _ in range(3):
        assert validate.validate(glb) == validate.Report(0, 0, None)
    assert own_validator.pid() == first  # no new bun per model
    os.kill(first, signal.SIGKILL)
    time.sleep(0.2)
    assert validate.validate(glb) == validate.Report(0, 0, None)
    assert own_validator.pid() not in (None, first)


def test_an_invalid_file_is_reported_by_the_running_validator(
    tmp_path: Path, own_validator: validate._Validator
) -> None:
    bad = tmp_path / "bad.glb"
    bad.write_bytes(b"glTF" + b"\x07\x00\x00\x00" + b"\x00" * 12)
    report = validate.validate(bad)
    assert report.errors >= 1 and report.first and report.first.startswith("GLB_")
    missing = validate._validator.ask(validate.bun_path() or "bun", tmp_path / "gone.glb")
    assert "error" in missing  # the file is gone: the validator says so and keeps serving
    assert validate.validate(bad) == report


def _script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "validator.mjs"
    script.write_text(body)
    return script


def test_a_validator_that_does_not_answer_is_stopped_in_time(
    glb: Path, own_validator: validate._Validator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = _script(tmp_path, "process.stdin.resume(); setInterval(() => {}, 1000);\n")
    try:
        monkeypatch.setattr(validate, "SCRIPT", script)
        monkeypatch.setattr(validate, "TIMEOUT_S", 1.0)
        started = time.monotonic()
        with pytest.raises(ConversionFailed, match="did not finish in 1 s"):
            validate.validate(glb)
        assert time.monotonic() - started < 10
        assert own_validator.pid() is None  # killed, not left behind
    finally:
        script.unlink(missing_ok=True)


def test_a_validator_that_talks_nonsense_is_a_clear_failure(
    glb: Path, own_validator: validate._Validator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = _script(
        tmp_path,
        'import { createInterface } from "node:readline";\n'
        "for await (const _ of createInterface({ input: process.stdin })) "
        'process.stdout.write("not json\\n");\n',
    )
    try:
        monkeypatch.setattr(validate, "SCRIPT", script)
        with pytest.raises(ConversionFailed, match="could not check the model"):
            validate.validate(glb)
    finally:
        script.unlink(missing_ok=True)
