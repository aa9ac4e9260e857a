"""Conversions in a child process: success, and every failure contained with a plain message."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.cad

pytest.importorskip("OCP")

from aerie_app.cad.worker import CRASH_ENV, run_conversion_job  # noqa: E402
from aerie_app.errors import ConversionFailed  # noqa: E402

TIMEOUT_S = 60.0
MEMORY_MB = 2048

NO_SOLIDS_STEP = """ISO-10303-21;
HEADER;
FILE_DESCRIPTION(('no solids'),'2;1');
FILE_NAME('nosolid.step','2024-01-01T00:00:00',('Aerie'),('Aerie'),'hand','hand','');
FILE_SCHEMA(('AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }'));
ENDSEC;
DATA;
#1=CARTESIAN_POINT('origin',(0.,0.,0.));
#2=DIRECTION('z',(0.,0.,1.));
ENDSEC;
END-ISO-10303-21;
"""


def _entries(out_dir: Path) -> list[str]:
    return sorted(p.name for p in out_dir.rglob("*")) if out_dir.exists() else []


def test_successful_job_writes_everything(corpus_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_conversion_job(
        corpus_dir / "ctre_canivore.step", out, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB
    )
    assert result.glb_path == out / "model.glb"
    assert result.thumbnail_path == out / "thumb.png"
    assert [p.name for p in result.views] == [f"view_{i}.png" for i in range(8)]
    assert all(p.parent == out / "views" for p in result.views)
    assert _entries(out) == sorted(
        ["model.glb", "thumb.png", "views"] + [f"view_{i}.png" for i in range(8)]
    )
    assert result.glb_path.read_bytes()[:4] == b"glTF"
    with Image.open(result.thumbnail_path) as im:
        assert im.size == (256, 256)
    assert result.facts.triangles == 16_996
    assert result.facts.glb_bytes == result.glb_path.stat().st_size
    assert result.facts.colours > 1
    assert result.seconds > 0
    assert result.peak_rss_kb > 50_000  # OCP alone is a few hundred MB: this is the child's figure
    assert result.warnings == []


def test_job_without_thumbnail(corpus_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_conversion_job(
        corpus_dir / "gobilda_shaft_6mmD_70mm.step",
        out,
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        thumbnail=False,
    )
    assert result.thumbnail_path is None and result.views == []
    assert _entries(out) == ["model.glb"]


def _expect_failure(
    step: Path, out: Path, *, timeout_s: float = TIMEOUT_S, memory_mb: int = MEMORY_MB
) -> str:
    with pytest.raises(ConversionFailed) as info:
        run_conversion_job(step, out, timeout_s=timeout_s, memory_mb=memory_mb)
    assert _entries(out) == [], "a failed job must leave nothing in out_dir"
    assert info.value.status_code == 422
    return info.value.message


def test_empty_file(tmp_path: Path) -> None:
    step = tmp_path / "empty.step"
    step.write_bytes(b"")
    assert _expect_failure(step, tmp_path / "out") == "The file is empty"


def test_png_renamed_step(tmp_path: Path) -> None:
    step = tmp_path / "photo.step"
    step.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    message = _expect_failure(step, tmp_path / "out")
    assert "not a STEP file" in message and "ISO-10303-21" in message


def test_missing_file(tmp_path: Path) -> None:
    message = _expect_failure(tmp_path / "nope.step", tmp_path / "out")
    assert message.startswith("The STEP file could not be read")


def test_truncated_step(corpus_dir: Path, tmp_path: Path) -> None:
    data = (corpus_dir / "ctre_canivore.step").read_bytes()
    step = tmp_path / "half.step"
    step.write_bytes(data[: len(data) // 2])
    message = _expect_failure(step, tmp_path / "out")
    assert message.startswith(("The STEP file could not be read", "No solids found"))


def test_valid_step_without_solids(tmp_path: Path) -> None:
    step = tmp_path / "nosolid.step"
    step.write_text(NO_SOLIDS_STEP)
    assert _expect_failure(step, tmp_path / "out") == "No solids found in the STEP file"


def test_big_garbage_with_valid_header(tmp_path: Path) -> None:
    # 60 MB that looks like STEP to the header check: entity soup plus raw bytes.
    rnd = random.Random(7)
    step = tmp_path / "garbage.step"
    with open(step, "w", encoding="latin-1") as fh:
        fh.write("ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('AUTOMOTIVE_DESIGN'));\nENDSEC;\nDATA;\n")
        written, i = 0, 1
        junk = "".join(chr(rnd.randrange(32, 256)) for _ in range(4096))
        while written < 60_000_000:
            if i % 50 == 0:
                line = junk + "\n"
            elif i % 3:
                line = f"#{i}=CARTESIAN_POINT('',({rnd.random():.5f},{rnd.random():.5f},0.));\n"
            else:
                line = f"#{i}=FOO_{rnd.randrange(99)}(#{rnd.randrange(1, i + 1)},'x',(#{i - 1}));\n"
            fh.write(line)
            written += len(line)
            i += 1
    assert step.stat().st_size >= 60_000_000
    started = time.monotonic()
    message = _expect_failure(step, tmp_path / "out", timeout_s=30)
    assert time.monotonic() - started < 40
    assert message.startswith(
        (
            "The STEP file could not be read",
            "No solids found",
            "Conversion timed out",
            "The converter ran out of memory",
        )
    ), message


def test_timeout(corpus_dir: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    message = _expect_failure(
        corpus_dir / "ctre_minion_motor.step", tmp_path / "out", timeout_s=0.3
    )
    assert message == "Conversion timed out after 0.3 s"
    assert time.monotonic() - started < 5


def test_memory_cap(corpus_dir: Path, tmp_path: Path) -> None:
    # OCP alone maps ~600 MB of address space: 400 MB cannot hold a conversion.
    message = _expect_failure(corpus_dir / "ctre_canivore.step", tmp_path / "out", memory_mb=400)
    assert message == "The converter ran out of memory (cap 400 MB)"


def test_crash_is_contained(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CRASH_ENV, "1")
    message = _expect_failure(corpus_dir / "ctre_mag_encoder_magnet.step", tmp_path / "out")
    assert message == "The converter crashed (signal 11)"


def test_failure_keeps_previous_outputs(corpus_dir: Path, tmp_path: Path) -> None:
    """A failed re-conversion must not damage the model a part already has."""
    out = tmp_path / "out"
    first = run_conversion_job(
        corpus_dir / "gobilda_spacer_plastic_8mm.step",
        out,
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        thumbnail=False,
    )
    before = first.glb_path.read_bytes()
    bad = tmp_path / "bad.step"
    bad.write_text(NO_SOLIDS_STEP)
    with pytest.raises(ConversionFailed):
        run_conversion_job(bad, out, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB)
    assert _entries(out) == ["model.glb"]
    assert first.glb_path.read_bytes() == before
