"""Run one STEP conversion in a throw-away child process with a wall-clock timeout and a memory cap.

Why a plain ``subprocess`` of ``python -m aerie_app.cad.worker`` rather than multiprocessing:
- OCCT can segfault, abort or allocate gigabytes on hostile input; a fresh interpreter
  (not a fork of a threaded web server) is the only state that is safe to kill at any point.
- ``start_new_session=True`` puts the child in its own process group, so a timeout kills it and
  every thread/helper with one ``killpg``; ``close_fds=True`` keeps server sockets out of it.
- The child sets ``RLIMIT_AS`` on itself before importing OCP (no ``preexec_fn``, which is unsafe
  in a threaded parent), and ``RLIMIT_CORE`` to 0 so crashes leave no core files behind.
- The result travels through a JSON file in a private staging folder, not stdout, because OCCT
  may print on stdout. The parent reaps the child with ``os.wait4`` to read its peak RSS.
- All outputs are written into ``out_dir/.staging-*`` and moved into place only after the child
  succeeded; on any failure the staging folder is deleted, so ``out_dir`` never holds half files.

Test seam: with ``AERIE_CAD_TEST_CRASH=1`` in the environment the child kills itself with SIGSEGV
before converting, so tests can prove a crash is contained.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aerie_app.cad.convert import GeometryFacts
from aerie_app.cad.sniff import SNIFF_BYTES, step_header_problem
from aerie_app.errors import AerieError, ConversionFailed, InvalidFile

GLB_NAME = "model.glb"
THUMB_NAME = "thumb.png"
VIEWS_DIR = "views"
RESULT_NAME = "result.json"
CRASH_ENV = "AERIE_CAD_TEST_CRASH"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_POLL_S = 0.02


@dataclass
class ConversionResult:
    """What a finished job produced; paths point at their final names under out_dir."""

    glb_path: Path
    thumbnail_path: Path | None
    views: list[Path]
    facts: GeometryFacts
    seconds: float
    peak_rss_kb: int
    warnings: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)  # child-side stages, for benchmarks


def _check_step_file(step_path: Path) -> None:
    """Fail cheaply in the parent for missing, empty or non-STEP files."""
    try:
        with open(step_path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise ConversionFailed(f"The STEP file could not be read: {exc.strerror}") from exc
    problem = step_header_problem(head)
    if problem is not None:
        raise ConversionFailed(problem)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        data = path.read_bytes()[-limit:]
    except OSError:
        return ""
    return data.decode("utf-8", "replace")


def _looks_out_of_memory(stderr_text: str) -> bool:
    """Recognise the many ways an allocation failure under RLIMIT_AS shows up in the child's stderr."""
    text = stderr_text.lower()
    markers = (
        "memoryerror",  # Python
        "bad_alloc",  # C++ (OCCT)
        "out of memory",
        "outofmemory",  # Standard_OutOfMemory
        "cannot allocate memory",  # glibc, thread-local data, mmap
        "failed to map segment",  # the dynamic loader hit the cap while loading OCCT
        "memory allocation still failed",  # OpenBLAS gives up and exits(1)
    )
    return any(marker in text for marker in markers)


def _wait(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[int, int, bool]:
    """Reap the child (returning its wait status and peak RSS in KiB), killing its group on timeout."""
    deadline = time.monotonic() + timeout_s
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        if time.monotonic() >= deadline:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(_POLL_S)
    # We reaped it ourselves; tell Popen so it never waits on a recycled pid. (No killpg after
    # reaping: the child spawns no helpers, and its pid/pgid may already belong to someone else.)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return status, int(usage.ru_maxrss), timed_out


def _install(
    staging: Path, out_dir: Path, payload: dict[str, Any]
) -> tuple[Path, Path | None, list[Path]]:
    """Move finished files from staging to their final names (each move is an atomic rename)."""
    glb = out_dir / GLB_NAME
    thumb: Path | None = None
    views: list[Path] = []
    if payload.get("views"):
        (out_dir / VIEWS_DIR).mkdir(exist_ok=True)
        for name in payload["views"]:
            target = out_dir / VIEWS_DIR / name
            os.replace(staging / VIEWS_DIR / name, target)
            views.append(target)
    if payload.get("thumbnail"):
        thumb = out_dir / THUMB_NAME
        os.replace(staging / THUMB_NAME, thumb)
    # The model goes last: its presence means the whole job landed.
    os.replace(staging / GLB_NAME, glb)
    return glb, thumb, views


def run_conversion_job(
    step_path: Path,
    out_dir: Path,
    *,
    timeout_s: float,
    memory_mb: int,
    thumbnail: bool = True,
    linear_deflection: float = 0.1,
    angular_deflection: float = 0.5,
) -> ConversionResult:
    """Convert ``step_path`` in a child process; outputs land in ``out_dir`` or nothing does."""
    step_path = Path(step_path).resolve()
    out_dir = Path(out_dir)
    _check_step_file(step_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    started = time.perf_counter()
    try:
        args = {
            "step_path": str(step_path),
            "staging": str(staging),
            "memory_mb": int(memory_mb),
            "thumbnail": bool(thumbnail),
            "linear_deflection": float(linear_deflection),
            "angular_deflection": float(angular_deflection),
        }
        env = dict(os.environ)
        # One BLAS thread: OpenBLAS reserves buffers per thread and exits hard if that fails.
        env["OPENBLAS_NUM_THREADS"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
        )
        stderr_path = staging / "stderr.txt"
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "aerie_app.cad.worker", json.dumps(args)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=staging,
                env=env,
                close_fds=True,
                start_new_session=True,
            )
            try:
                status, peak_rss_kb, timed_out = _wait(proc, timeout_s)
            except BaseException:
                # Parent interrupted (KeyboardInterrupt, cancellation): never leave an orphan.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
                raise
        seconds = time.perf_counter() - started
        stderr_text = _tail(stderr_path)

        if timed_out:
            raise ConversionFailed(f"Conversion timed out after {timeout_s:g} s")
        result_file = staging / RESULT_NAME
        payload: dict[str, Any] | None = None
        if result_file.exists():
            payload = json.loads(result_file.read_text())
        if os.WIFSIGNALED(status):
            signum = os.WTERMSIG(status)
            # An allocation failure under RLIMIT_AS often ends as abort() from C++ code.
            if signum in (signal.SIGABRT, signal.SIGKILL) and (
                _looks_out_of_memory(stderr_text) or peak_rss_kb > memory_mb * 1024 * 0.8
            ):
                raise ConversionFailed(f"The converter ran out of memory (cap {memory_mb} MB)")
            raise ConversionFailed(f"The converter crashed (signal {signum})")
        if payload is None:
            if _looks_out_of_memory(stderr_text):
                raise ConversionFailed(f"The converter ran out of memory (cap {memory_mb} MB)")
            code = os.waitstatus_to_exitcode(status)
            raise ConversionFailed(f"The converter stopped without a result (exit code {code})")
        if not payload.get("ok"):
            message = str(payload.get("error") or "Conversion failed")
            if payload.get("kind") == "InvalidFile":
                raise InvalidFile(message)
            raise ConversionFailed(message)

        glb, thumb, views = _install(staging, out_dir, payload)
        return ConversionResult(
            glb_path=glb,
            thumbnail_path=thumb,
            views=views,
            facts=GeometryFacts.from_dict(payload["facts"]),
            seconds=seconds,
            peak_rss_kb=peak_rss_kb,
            warnings=list(payload.get("warnings", [])),
            timings_s=dict(payload.get("timings_s", {})),
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ----------------------------------------------------------------------------- child side


def _write_result(staging: Path, payload: dict[str, Any]) -> None:
    tmp = staging / f".{RESULT_NAME}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, staging / RESULT_NAME)


def _child(args: dict[str, Any]) -> int:
    staging = Path(args["staging"])
    limit = int(args["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.environ.get(CRASH_ENV) == "1":
        os.kill(os.getpid(), signal.SIGSEGV)

    try:
        from aerie_app.cad.convert import convert_step

        facts = convert_step(
            Path(args["step_path"]),
            staging / GLB_NAME,
            linear_deflection=float(args["linear_deflection"]),
            angular_deflection=float(args["angular_deflection"]),
        )
    except AerieError as exc:
        _write_result(staging, {"ok": False, "error": exc.message, "kind": type(exc).__name__})
        return 0
    except MemoryError:
        _write_result(
            staging,
            {"ok": False, "error": f"The converter ran out of memory (cap {args['memory_mb']} MB)"},
        )
        return 0
    except Exception as exc:  # noqa: BLE001 - OCP raises Standard_Failure subclasses with terse messages
        text = f"{type(exc).__name__}: {exc}"
        if _looks_out_of_memory(text):
            error = f"The converter ran out of memory (cap {args['memory_mb']} MB)"
        else:
            error = f"The STEP file could not be read: {text}"
        _write_result(staging, {"ok": False, "error": error})
        return 0

    payload: dict[str, Any] = {
        "ok": True,
        "facts": facts.to_dict(),
        "warnings": [],
        "timings_s": dict(facts.timings_s),
    }
    if args.get("thumbnail"):
        t0 = time.perf_counter()
        # A model without a picture is still useful: a renderer problem is a warning, not a failure.
        try:
            from aerie_app.cad.thumbnail import load_mesh, render_thumbnail, render_turntable

            mesh = load_mesh(staging / GLB_NAME)
            render_thumbnail(mesh, staging / THUMB_NAME)
            views = render_turntable(mesh, staging / VIEWS_DIR)
            payload["thumbnail"] = True
            payload["views"] = [p.name for p in views]
            payload["timings_s"]["thumbnails"] = time.perf_counter() - t0
        except MemoryError:
            payload["warnings"].append("Thumbnail skipped: out of memory")
        except Exception as exc:  # noqa: BLE001 - a thumbnail must never fail the conversion
            payload["warnings"].append(f"Thumbnail failed: {type(exc).__name__}: {exc}")
    _write_result(staging, payload)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m aerie_app.cad.worker '<json args>'", file=sys.stderr)
        return 2
    return _child(json.loads(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
