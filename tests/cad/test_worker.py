"""Conversions in a child process: success, and every failure contained with a plain message."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest
from PIL import Image

pytestmark = pytest.mark.cad

pytest.importorskip("OCP")

from aerie_app.cad.child import out_of_memory  # noqa: E402
from aerie_app.cad.worker import (  # noqa: E402
    CRASH_ENV,
    CRASH_VIEWS_ENV,
    ConversionResult,
    WarmPool,
    pool,
    run_conversion_job,
)
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


def test_successful_job_writes_everything(steps: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_conversion_job(
        steps / "coloured_assembly.step", out, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB
    )
    assert result.glb_path == out / "model.glb"
    assert result.thumbnail_path == out / "thumb.png"
    assert [p.name for p in result.views] == [f"view_{i}.png" for i in range(8)]
    assert all(p.parent == out / "views" for p in result.views)
    assert _entries(out) == sorted(
        ["model.glb", "model.meshopt.glb", "thumb.png", "views"]
        + [f"view_{i}.png" for i in range(8)]
    )
    assert result.glb_path.read_bytes()[:4] == b"glTF"
    with Image.open(result.thumbnail_path) as im:
        assert im.size == (256, 256)
    assert result.facts.triangles > 100 and result.facts.solids == 2
    assert result.facts.glb_bytes == result.glb_path.stat().st_size
    assert result.facts.colours == 2
    assert result.seconds > 0
    assert result.peak_rss_kb > 50_000  # OCP alone is a few hundred MB: this is the child's figure
    assert result.warnings == []


def test_job_without_thumbnail(steps: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_conversion_job(
        steps / "plate_with_holes.step",
        out,
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        thumbnail=False,
    )
    assert result.thumbnail_path is None and result.views == []
    assert _entries(out) == ["model.glb", "model.meshopt.glb"]


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


def test_truncated_step(steps: Path, tmp_path: Path) -> None:
    message = _expect_failure(steps / "truncated.step", tmp_path / "out")
    assert message.startswith(("The STEP file could not be read", "No solids found"))


def test_valid_step_without_solids(tmp_path: Path) -> None:
    step = tmp_path / "nosolid.step"
    step.write_text(NO_SOLIDS_STEP)
    assert _expect_failure(step, tmp_path / "out") == "No solids found in the STEP file"


def test_sketch_only_step(steps: Path, tmp_path: Path) -> None:
    assert _expect_failure(steps / "no_solids.step", tmp_path / "out") == (
        "No solids found in the STEP file"
    )


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
            "This file needs more than",
        )
    ), message


def test_timeout(steps: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    message = _expect_failure(steps / "many_faces.step", tmp_path / "out", timeout_s=0.3)
    assert message == "Conversion timed out after 0.3 s"
    assert time.monotonic() - started < 5


def test_memory_cap(steps: Path, tmp_path: Path) -> None:
    # OCP alone maps ~600 MB of address space: 400 MB cannot hold a conversion.
    message = _expect_failure(steps / "coloured_assembly.step", tmp_path / "out", memory_mb=400)
    assert message == (
        "This file needs more than 400 MB to convert; "
        "raise AERIE_CONVERSION_MEMORY_MB (the converter's memory cap)"
    )


def test_crash_is_contained(steps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CRASH_ENV, "1")
    message = _expect_failure(steps / "bent_bracket.step", tmp_path / "out")
    assert message == "The converter crashed (signal 11)"


def test_the_model_is_published_before_its_views(steps: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    seen: dict[str, Any] = {}

    def on_model(result: ConversionResult) -> None:
        seen["result"] = result
        # Published files only: the child is still at work in its staging folder.
        seen["files"] = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        seen["at"] = time.perf_counter()

    started = time.perf_counter()
    result = run_conversion_job(
        steps / "coloured_assembly.step",
        out,
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        on_model=on_model,
    )
    done = time.perf_counter()
    # When the user's model is ready: the validated GLB and the board's thumbnail, nothing else.
    assert seen["files"] == ["model.glb", "thumb.png"]
    early = seen["result"]
    assert early.glb_path == out / "model.glb" and early.thumbnail_path == out / "thumb.png"
    assert early.views == [] and early.compressed_path is None
    assert early.facts == result.facts
    # The job's seconds are the wait for the model; the views and the compressed copy came later.
    assert result.seconds == early.seconds <= seen["at"] - started < done - started
    assert len(result.views) == 8 and result.compressed_path == out / "model.meshopt.glb"
    assert {"validate", "thumbnail", "compress", "views"} <= set(result.timings_s)
    assert result.warnings == []


def test_a_crash_after_the_model_costs_only_the_views(
    steps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CRASH_VIEWS_ENV, "1")
    out = tmp_path / "out"
    published: list[ConversionResult] = []
    result = run_conversion_job(
        steps / "bent_bracket.step",
        out,
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        on_model=published.append,
    )
    assert len(published) == 1
    assert result.warnings == ["Turntable views skipped: the converter stopped (signal 11)"]
    assert result.views == []
    assert result.facts.bbox_mm == {"x": 50.0, "y": 30.0, "z": 40.0}
    assert _entries(out) == ["model.glb", "model.meshopt.glb", "thumb.png"]


def test_failure_keeps_previous_outputs(steps: Path, tmp_path: Path) -> None:
    """A failed re-conversion must not damage the model a part already has."""
    out = tmp_path / "out"
    first = run_conversion_job(
        steps / "plate_with_holes.step",
        out,
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        thumbnail=False,
    )
    before = first.glb_path.read_bytes()
    with pytest.raises(ConversionFailed):
        run_conversion_job(steps / "no_solids.step", out, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB)
    assert _entries(out) == ["model.glb", "model.meshopt.glb"]
    assert first.glb_path.read_bytes() == before


# ----------------------------------------------------------------------------- pre-warmed spares

SERVE_ONE = "--serve-one"


@pytest.fixture
def fresh_pool() -> Iterator[WarmPool]:
    """The process-wide pool, emptied before and after the test (other tests leave spares in it)."""
    pool.shutdown()
    pool.stats.update(dict.fromkeys(pool.stats, 0))
    yield pool
    pool.shutdown()


def _spare_children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if SERVE_ONE in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _warm(p: WarmPool, memory_mb: int = MEMORY_MB) -> int:
    """Make sure a ready spare for ``memory_mb`` is idle; return its pid."""
    if not p.pids():
        p.replenish(memory_mb, 2)
    assert p.wait_ready(memory_mb, timeout_s=60)
    return p.pids()[-1]


def test_second_job_runs_in_a_spare_with_identical_results(
    steps: Path, tmp_path: Path, fresh_pool: WarmPool
) -> None:
    step = steps / "bent_bracket.step"
    kw: dict[str, Any] = {"timeout_s": TIMEOUT_S, "memory_mb": MEMORY_MB, "thumbnail": False}
    first = run_conversion_job(step, tmp_path / "a", **kw)
    assert first.worker == "cold" and "import" in first.timings_s  # the pool was empty
    assert fresh_pool.stats["spawned"] >= 1 and len(fresh_pool) == 1  # ...and now holds a spare
    assert fresh_pool.wait_ready(MEMORY_MB, timeout_s=60)
    taken_ready = fresh_pool.stats["taken_ready"]
    second = run_conversion_job(step, tmp_path / "b", **kw)
    assert second.worker == "spare"
    assert "import" not in second.timings_s  # OCP was imported before the job arrived
    assert fresh_pool.stats["taken_ready"] == taken_ready + 1
    assert second.seconds < first.seconds
    assert len(fresh_pool) == 1  # its replacement is already starting
    cold = run_conversion_job(step, tmp_path / "c", prewarm=False, **kw)
    assert cold.worker == "cold"
    assert second.facts.to_dict() == cold.facts.to_dict() == first.facts.to_dict()
    assert second.glb_path.read_bytes() == cold.glb_path.read_bytes()
    assert (
        _entries(tmp_path / "b") == _entries(tmp_path / "c") == ["model.glb", "model.meshopt.glb"]
    )


def test_spare_job_with_thumbnails(steps: Path, tmp_path: Path, fresh_pool: WarmPool) -> None:
    _warm(fresh_pool)
    out = tmp_path / "out"
    result = run_conversion_job(
        steps / "plate_with_holes.step",
        out,
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
    )
    assert result.worker == "spare"
    assert result.thumbnail_path == out / "thumb.png" and len(result.views) == 8
    assert result.warnings == []


def test_prewarm_off_starts_no_spare(steps: Path, tmp_path: Path, fresh_pool: WarmPool) -> None:
    result = run_conversion_job(
        steps / "plate_with_holes.step",
        tmp_path / "out",
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        thumbnail=False,
        prewarm=False,
    )
    assert result.worker == "cold" and "import" in result.timings_s
    assert len(fresh_pool) == 0 and fresh_pool.stats["spawned"] == 0
    assert _spare_children() == []


def test_timeout_in_a_spare(steps: Path, tmp_path: Path, fresh_pool: WarmPool) -> None:
    pid = _warm(fresh_pool)
    started = time.monotonic()
    message = _expect_failure(steps / "many_faces.step", tmp_path / "out", timeout_s=0.3)
    assert message == "Conversion timed out after 0.3 s"
    assert time.monotonic() - started < 5
    assert pid not in fresh_pool.pids() and _gone(pid, within_s=1)
    # The next job still runs, in the spare started while the first one was killed.
    assert fresh_pool.wait_ready(MEMORY_MB, timeout_s=60)
    result = run_conversion_job(
        steps / "plate_with_holes.step",
        tmp_path / "next",
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        thumbnail=False,
    )
    assert result.worker == "spare" and result.facts.bbox_mm == {"x": 120.0, "y": 80.0, "z": 6.0}


def test_crash_in_a_spare_is_contained(
    steps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pool: WarmPool
) -> None:
    pid = _warm(fresh_pool)  # started before the flag was set: the flag travels with the job
    monkeypatch.setenv(CRASH_ENV, "1")
    taken = fresh_pool.stats["taken"]
    message = _expect_failure(steps / "bent_bracket.step", tmp_path / "out")
    assert message == "The converter crashed (signal 11)"
    assert fresh_pool.stats["taken"] == taken + 1 and _gone(pid, within_s=1)
    # The replacement was started while the flag was set; it must not inherit it.
    monkeypatch.delenv(CRASH_ENV)
    assert fresh_pool.wait_ready(MEMORY_MB, timeout_s=60)
    result = run_conversion_job(
        steps / "bent_bracket.step",
        tmp_path / "next",
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        thumbnail=False,
    )
    assert result.worker == "spare" and result.facts.bbox_mm == {"x": 50.0, "y": 30.0, "z": 40.0}


def test_out_of_memory_in_a_spare_while_importing(
    steps: Path, tmp_path: Path, fresh_pool: WarmPool
) -> None:
    # OCP alone maps ~600 MB: the spare's imports fail under 400 MB, and its job reports that.
    cap = 400
    fresh_pool.replenish(cap, 2)
    assert fresh_pool.wait_ready(cap, timeout_s=60)
    assert not fresh_pool._idle[0].imports_ok
    message = _expect_failure(steps / "coloured_assembly.step", tmp_path / "out", memory_mb=cap)
    assert message == out_of_memory(cap)
    assert fresh_pool.stats["taken_ready"] == 1


def test_out_of_memory_in_a_spare_while_converting(
    steps: Path, tmp_path: Path, fresh_pool: WarmPool
) -> None:
    # The cap must hold the imports but not a conversion of the 14 MB many-faces plate. What the
    # imports take varies by machine, so measure a probe spare first and allow ~48 MB above it.
    import psutil

    fresh_pool.replenish(4096, 1)
    assert fresh_pool.wait_ready(4096, timeout_s=60)
    imports_mb = psutil.Process(fresh_pool._idle[0].proc.pid).memory_info().vms // 2**20
    fresh_pool.shutdown()
    cap = int(imports_mb) + 48
    fresh_pool.replenish(cap, 2)
    assert fresh_pool.wait_ready(cap, timeout_s=60)
    assert fresh_pool._idle[0].imports_ok
    message = _expect_failure(steps / "many_faces.step", tmp_path / "out", memory_mb=cap)
    # However OCCT meets the failed allocation (an error it reports, a segmentation fault, or a
    # transfer that yields nothing), the child had reached its cap: the message says so.
    assert message == out_of_memory(cap), message
    assert fresh_pool.stats["taken_ready"] == 1
    # The spare started meanwhile (same cap) still converts a small part.
    assert fresh_pool.wait_ready(cap, timeout_s=60)
    result = run_conversion_job(
        steps / "plate_with_holes.step",
        tmp_path / "next",
        timeout_s=TIMEOUT_S,
        memory_mb=cap,
        thumbnail=False,
    )
    assert result.worker == "spare" and result.facts.bbox_mm == {"x": 120.0, "y": 80.0, "z": 6.0}


def test_spares_never_exceed_the_cap(steps: Path, tmp_path: Path, fresh_pool: WarmPool) -> None:
    step = steps / "plate_with_holes.step"
    seen: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            seen.append(len(fresh_pool))
            time.sleep(0.01)

    def job(i: int) -> str:
        result = run_conversion_job(
            step,
            tmp_path / str(i),
            timeout_s=TIMEOUT_S,
            memory_mb=MEMORY_MB,
            thumbnail=False,
            spares=1,
        )
        return result.worker

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(max_workers=3) as ex:
            workers = list(ex.map(job, range(3)))  # three at once: all cold, one spare kept
            workers += list(ex.map(job, range(3, 6)))
    finally:
        stop.set()
        sampler.join()
    assert workers.count("spare") >= 1
    assert max(seen) == 1 and len(fresh_pool) == 1
    assert len(_spare_children()) == 1
    # A job with another memory cap evicts the idle spare instead of adding one.
    old = fresh_pool.pids()
    fresh_pool.replenish(MEMORY_MB + 512, 1)
    assert len(fresh_pool) == 1 and fresh_pool.pids() != old and _gone(old[0], within_s=1)
    assert fresh_pool.stats["evicted"] == 1


def test_dead_and_stale_spares_are_replaced(
    steps: Path, tmp_path: Path, fresh_pool: WarmPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = steps / "plate_with_holes.step"
    kw: dict[str, Any] = {"timeout_s": TIMEOUT_S, "memory_mb": MEMORY_MB, "thumbnail": False}
    pid = _warm(fresh_pool)
    os.kill(pid, signal.SIGKILL)  # died while idle
    assert _gone(pid)
    result = run_conversion_job(step, tmp_path / "a", **kw)
    assert result.worker == "cold" and fresh_pool.stats["dead"] == 1
    assert len(fresh_pool) == 1 and fresh_pool.pids() != [pid]  # replaced
    old = _warm(fresh_pool)
    monkeypatch.setattr(fresh_pool, "max_idle_s", 0.2)  # now it has been idle too long
    time.sleep(0.3)
    result = run_conversion_job(step, tmp_path / "b", **kw)
    assert result.worker == "cold" and fresh_pool.stats["stale"] == 1
    assert _gone(old, within_s=1) and len(fresh_pool) == 1


def test_no_spare_outlives_shutdown(fresh_pool: WarmPool) -> None:
    fresh_pool.replenish(MEMORY_MB, 2)
    fresh_pool.replenish(MEMORY_MB, 2)
    fresh_pool.replenish(MEMORY_MB, 2)  # over the cap: ignored
    pids = fresh_pool.pids()
    logs = [spare.stderr_path for spare in fresh_pool._idle]
    assert len(pids) == 2 and len(_spare_children()) == 2
    assert all(log.exists() for log in logs)
    fresh_pool.shutdown()
    assert len(fresh_pool) == 0 and _spare_children() == []
    assert not any(psutil.pid_exists(pid) for pid in pids)
    assert not any(log.exists() for log in logs)


_PARENT = """
import os, sys, time
from aerie_app.cad.worker import pool
pool.replenish(2048, 1)
assert pool.wait_ready(2048, timeout_s=60)
print(pool.pids()[0], pool._idle[0].stderr_path, flush=True)
if sys.argv[1] == "hang":
    time.sleep(600)
"""


@pytest.mark.parametrize("ending", ["exit", "hang"])
def test_spares_die_with_their_parent(ending: str, tmp_path: Path) -> None:
    """atexit reaps them on a normal exit; after a SIGKILL of the parent, stdin EOF ends them."""
    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, str(script), ending], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert proc.stdout is not None
        pid_text, log = proc.stdout.readline().split()
        spare_pid = int(pid_text)
        assert Path(log).exists()
        assert psutil.pid_exists(spare_pid)
        if ending == "hang":
            proc.kill()
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert _gone(spare_pid, within_s=10)
    assert not Path(log).exists()  # removed by atexit, or by the spare itself on stdin EOF


# ----------------------------------------------------------------------------- paths and reasons


@pytest.mark.parametrize("prewarm", [True, False], ids=["spare", "cold"])
def test_relative_paths_from_another_working_directory(
    prewarm: bool,
    steps: Path,
    tmp_path: Path,
    fresh_pool: WarmPool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's default data folder is relative (``data``): a spare started in the temp
    folder must still find the job's files (every upload failed on the defaults before)."""
    work = tmp_path / "server-cwd"
    (work / "data" / "files").mkdir(parents=True)
    (work / "data" / "part.step").write_bytes((steps / "plate_with_holes.step").read_bytes())
    monkeypatch.chdir(work)
    if prewarm:
        _warm(fresh_pool)
    result = run_conversion_job(
        Path("data/part.step"),
        Path("data/files/models/abc"),
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        thumbnail=False,
        prewarm=prewarm,
    )
    assert result.worker == ("spare" if prewarm else "cold")
    assert result.glb_path == work / "data" / "files" / "models" / "abc" / "model.glb"
    assert result.glb_path.is_file()


def test_failure_reason_keeps_the_last_stderr_lines_without_paths() -> None:
    from aerie_app.cad.worker import _last_lines

    staging = Path("/srv/aerie/data/files/models/ab12/.staging-x1")
    text = (
        "warming up\n"
        "Traceback (most recent call last):\n"
        f'  File "/opt/venv/lib/python3.11/site-packages/OCP/x.py", line 3\n'
        f"FileNotFoundError: [Errno 2] No such file or directory: '{staging}/result.json'\n"
    )
    tail = _last_lines(text, hide=(staging, staging.parent))
    assert tail.startswith(": ") and "FileNotFoundError" in tail
    assert "/srv" not in tail and "/opt" not in tail and "x.py" in tail
    assert "<file>/result.json" in tail
    assert _last_lines("", hide=()) == ""
    assert len(_last_lines("x" * 5000, hide=())) < 410


def test_a_model_the_validator_rejects_is_a_failed_conversion(
    steps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aerie_app.cad import validate

    monkeypatch.setattr(
        validate,
        "validate",
        lambda _path: validate.Report(1, 0, "INVALID_INDEX: Index must be a non-negative integer."),
    )
    message = _expect_failure(steps / "plate_with_holes.step", tmp_path / "out")
    assert message == (
        "The converted model is not valid glTF: INVALID_INDEX: Index must be a non-negative integer."
    )
    # The child was still drawing views for the refused model: it is stopped, not left running.
    spares = set(pool.pids())
    others = [c for c in psutil.Process().children() if c.pid not in spares]
    assert [c for c in others if "aerie_app.cad.child" in " ".join(c.cmdline())] == []


def test_a_spare_waits_from_server_start_and_the_first_upload_is_not_cold(
    steps: Path, tmp_path: Path, fresh_pool: WarmPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conversion poller's first tick (at server start) starts one spare and keeps one."""
    from aerie_app.services import conversions
    from aerie_app.settings import get_settings

    monkeypatch.setenv("AERIE_CONVERSION_MEMORY_MB", str(MEMORY_MB))
    get_settings.cache_clear()
    try:
        assert conversions.keep_spare_ready() is True  # server start: one spare, importing
        assert conversions.keep_spare_ready() is False  # the next tick: one is enough
        assert len(fresh_pool) == 1
        assert fresh_pool.wait_ready(MEMORY_MB, timeout_s=60)
        first = run_conversion_job(
            steps / "bent_bracket.step",
            tmp_path / "a",
            timeout_s=TIMEOUT_S,
            memory_mb=MEMORY_MB,
            thumbnail=False,
            spares=1,
        )
        assert first.worker == "spare" and "import" not in first.timings_s
        assert conversions.keep_spare_ready() is False  # the job already started the next one
        assert len(fresh_pool) == 1

        monkeypatch.setenv("AERIE_CONVERSION_PREWARM", "false")
        get_settings.cache_clear()
        fresh_pool.shutdown()
        assert conversions.keep_spare_ready() is False and len(fresh_pool) == 0
    finally:
        get_settings.cache_clear()


def test_a_failure_near_the_cap_is_the_caps_doing() -> None:
    from aerie_app.cad.worker import _Exit, _memory_kb

    rss, vm = _memory_kb(os.getpid())  # this process's own peaks, from /proc
    assert 0 < rss < vm
    assert _memory_kb(2**22 + 12345) == (0, 0)  # no such process: unknown, not an error
    cap = 1200
    # What the 57 MB robot assembly reached under a 1,200 MB cap before OCCT's SIGSEGV.
    assert _Exit(11, peak_rss_kb=725_628, peak_vm_kb=1_227_688, timed_out=False).near_cap(cap)
    assert _Exit(6, peak_rss_kb=1_000_000, peak_vm_kb=0, timed_out=False).near_cap(cap)
    # A crash on a bad file, far below the cap, stays a crash.
    assert not _Exit(11, peak_rss_kb=400_000, peak_vm_kb=700_000, timed_out=False).near_cap(cap)


# A parent that once grew large (a long-running server, a long test session) hands its peak RSS to
# every child through fork and exec (Linux keeps it in ru_maxrss): judged on that, every failure
# of a small file read as "needs more memory".
BIG_PARENT = """
import sys
from pathlib import Path
from aerie_app.cad.worker import run_conversion_job
from aerie_app.errors import ConversionFailed

ballast = bytearray(1700 * 1024 * 1024)
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
del ballast
step = Path(sys.argv[1])
try:
    run_conversion_job(step, step.parent / "out", timeout_s=60, memory_mb=2048, prewarm=False)
except ConversionFailed as exc:
    print(exc.message)
"""


def test_a_large_parent_does_not_make_a_small_failure_look_like_memory(tmp_path: Path) -> None:
    step = tmp_path / "nosolid.step"
    step.write_text(NO_SOLIDS_STEP)
    done = subprocess.run(
        [sys.executable, "-c", BIG_PARENT, str(step)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert done.stdout.strip() == "No solids found in the STEP file", done.stderr


def test_the_reported_peak_is_the_childs_own(steps: Path, tmp_path: Path) -> None:
    result = run_conversion_job(
        steps / "plate_with_holes.step",
        tmp_path / "out",
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        thumbnail=False,
        prewarm=False,
    )
    # OCP alone is a few hundred MB; the child's whole address space is capped at MEMORY_MB.
    assert 100_000 < result.peak_rss_kb < MEMORY_MB * 1024
