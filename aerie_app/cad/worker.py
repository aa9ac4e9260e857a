"""Run one STEP conversion in a throw-away child process with a wall-clock timeout and a memory cap.

Why a plain ``subprocess`` of ``python -m aerie_app.cad.child`` rather than multiprocessing:
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

Pre-warmed spares, which hide the child's ~1.3 s start-up without giving up isolation, are
:mod:`aerie_app.cad.spares`; what runs inside a child is :mod:`aerie_app.cad.child`.

Test seam: with ``AERIE_CAD_TEST_CRASH=1`` in the parent's environment when a job starts, the child
that runs it (cold or spare) kills itself with SIGSEGV before converting, so tests can prove a
crash is contained. The flag travels in the job, so a spare started earlier obeys it too.
``AERIE_CAD_TEST_CRASH_VIEWS=1`` does the same after the model is published, before its views.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from aerie_app.cad import compress, validate
from aerie_app.cad.child import (
    EXTRAS_NAME,
    GLB_NAME,
    RESULT_NAME,
    THUMB_NAME,
    VIEWS_DIR,
    looks_out_of_memory,
    out_of_memory,
)
from aerie_app.cad.convert import GeometryFacts
from aerie_app.cad.sniff import SNIFF_BYTES, step_header_problem
from aerie_app.cad.spares import CRASH_ENV, POLL_S, WarmPool, _child_env, _kill_group, _Spare, pool
from aerie_app.errors import ConversionFailed, InvalidFile

# Test seam: the child dies of SIGSEGV after publishing its model, before drawing its views.
CRASH_VIEWS_ENV = "AERIE_CAD_TEST_CRASH_VIEWS"

# How a child that hit its memory cap may die (besides saying so on stderr).
FATAL_SIGNALS = (signal.SIGABRT, signal.SIGKILL, signal.SIGSEGV, signal.SIGBUS)

# Process-wide default for ``run_conversion_job(prewarm=None)``; False disables spares entirely.
PREWARM = True
__all__ = ["CRASH_ENV", "PREWARM", "ConversionResult", "WarmPool", "pool", "run_conversion_job"]


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
    worker: str = "cold"  # "cold": a child started for this job; "spare": a pre-started one
    # The meshopt-compressed copy the viewer downloads (None when gltfpack could not make one).
    compressed_path: Path | None = None


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


_PATH_RE = re.compile(r"(?<![\w.>])/[^\s'\":,()]+")


def _last_lines(
    stderr_text: str, *, hide: tuple[Path, ...], lines: int = 3, limit: int = 400
) -> str:
    """The child's last stderr lines for a failure reason, with server paths taken out.

    A user reads this on the part page: it must say what went wrong without telling where the
    server keeps its files. Known folders become ``<file>``; any other absolute path keeps only
    its last component.
    """
    text = stderr_text
    for folder in sorted({str(p) for p in hide}, key=len, reverse=True):
        text = text.replace(folder, "<file>")
    text = _PATH_RE.sub(lambda m: Path(m.group(0)).name or "/", text)
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    if not kept:
        return ""
    tail = " | ".join(kept)
    if len(tail) > limit:
        tail = "…" + tail[-limit:]
    return f": {tail}"


def _memory_kb(pid: int) -> tuple[int, int]:
    """The process's own peak resident set and address space so far (VmHWM, VmPeak in KiB);
    0 where unknown (a zombie has neither).

    Not ``ru_maxrss`` from ``wait4``: Linux carries the parent's high-water mark into a child
    across fork and exec, so a long-lived server that once grew large would see every child as
    "near its memory cap". These two belong to the child's own address space, made fresh at exec.
    """
    hwm = peak = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith(b"VmPeak:"):
                    peak = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return hwm, peak


@dataclass
class _Exit:
    status: int
    # Both sampled while the child ran (a dead process has no address space to read), raised by
    # what the child itself reported in its result.
    peak_rss_kb: int
    peak_vm_kb: int
    timed_out: bool
    running: bool = False  # returned early: the file waited for appeared, the child goes on

    def near_cap(self, memory_mb: int) -> bool:
        """Whether the child came close enough to its memory cap for that to explain a failure.

        Under RLIMIT_AS a failed allocation does not always say so: OCCT may dereference the null
        it got (SIGSEGV) or swallow the failure and transfer nothing. The address space it had
        reached tells those apart from a crash on a bad file, which happens far below the cap.
        """
        cap_kb = memory_mb * 1024
        return self.peak_rss_kb > cap_kb * NEAR_CAP or self.peak_vm_kb > cap_kb * NEAR_CAP


# A failure after the child used this share of its memory cap is reported as the cap's doing.
NEAR_CAP = 0.8


def _wait(
    proc: subprocess.Popen[bytes],
    deadline: float,
    until: Path | None = None,
    since: _Exit | None = None,
) -> _Exit:
    """Reap the child (its wait status and the peaks of its memory), killing its group at
    ``deadline`` (``time.monotonic()``); or return while it runs, once ``until`` exists.
    ``since``: an earlier return for the same child, whose sampled peaks carry over."""
    timed_out = False
    peak_rss = since.peak_rss_kb if since else 0
    peak_vm = since.peak_vm_kb if since else 0
    while True:
        pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        rss, vm = _memory_kb(proc.pid)
        peak_rss, peak_vm = max(peak_rss, rss), max(peak_vm, vm)
        if until is not None and until.exists():
            return _Exit(0, peak_rss, peak_vm, timed_out=False, running=True)
        if time.monotonic() >= deadline:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            pid, status, _usage = os.wait4(proc.pid, 0)
            break
        time.sleep(POLL_S)
    # We reaped it ourselves; tell Popen so it never waits on a recycled pid. (No killpg after
    # reaping: the child spawns no helpers, and its pid/pgid may already belong to someone else.)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return _Exit(status, peak_rss, peak_vm, timed_out)


def _with_reported(exit_: _Exit, *payloads: dict[str, Any] | None) -> _Exit:
    """``exit_`` with the peak the child measured on itself as it wrote its result (the last
    sample may be up to one poll older)."""
    reported = [
        int(p["peak_rss_kb"])
        for p in payloads
        if p and isinstance(p.get("peak_rss_kb"), int) and not isinstance(p["peak_rss_kb"], bool)
    ]
    return replace(exit_, peak_rss_kb=max([exit_.peak_rss_kb, *reported]))


def _read_payload(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _install_model(
    staging: Path, out_dir: Path, payload: dict[str, Any]
) -> tuple[Path, Path | None]:
    """Publish the model and its thumbnail (each move an atomic rename); the model goes last."""
    # Until this model's compressed copy lands, the plain GLB is what is served: never an older copy.
    (out_dir / compress.COMPRESSED_NAME).unlink(missing_ok=True)
    thumb: Path | None = None
    if payload.get("thumbnail"):
        thumb = out_dir / THUMB_NAME
        os.replace(staging / THUMB_NAME, thumb)
    glb = out_dir / GLB_NAME
    os.replace(staging / GLB_NAME, glb)
    return glb, thumb


def _install_views(staging: Path, out_dir: Path, views: list[str]) -> list[Path]:
    """Publish the turntable views the child drew after the model."""
    placed: list[Path] = []
    if views:
        (out_dir / VIEWS_DIR).mkdir(exist_ok=True)
        for name in views:
            target = out_dir / VIEWS_DIR / name
            os.replace(staging / VIEWS_DIR / name, target)
            placed.append(target)
    return placed


def _hand_over(spare: _Spare, args: dict[str, Any]) -> bool:
    """Write the job to the spare's stdin; False (and the spare discarded) if it is gone."""
    try:
        assert spare.proc.stdin is not None
        spare.proc.stdin.write(json.dumps(args).encode() + b"\n")
        spare.proc.stdin.close()
    except OSError:
        spare.discard()
        return False
    # stdout stays open until the job ends: a spare still importing writes its "ready" byte
    # there, and a closed pipe would make that write fail (EPIPE) and end the spare without a job.
    return True


def _raise_failure(
    exit_: _Exit,
    payload: dict[str, Any] | None,
    stderr_text: str,
    memory_mb: int,
    timeout_s: float,
    *hide: Path,
) -> NoReturn:
    """Say why a job produced no model, in the words a user can act on."""
    near_cap = exit_.near_cap(memory_mb)
    if exit_.timed_out:
        raise ConversionFailed(f"Conversion timed out after {timeout_s:g} s")
    if os.WIFSIGNALED(exit_.status):
        signum = os.WTERMSIG(exit_.status)
        # An allocation failure under RLIMIT_AS often ends as abort() from C++ code, or as a
        # segmentation fault where OCCT used the null pointer it was given.
        if signum in FATAL_SIGNALS and (looks_out_of_memory(stderr_text) or near_cap):
            raise ConversionFailed(out_of_memory(memory_mb))
        raise ConversionFailed(
            f"The converter crashed (signal {signum})" + _last_lines(stderr_text, hide=hide)
        )
    if payload is None:
        if looks_out_of_memory(stderr_text) or near_cap:
            raise ConversionFailed(out_of_memory(memory_mb))
        code = os.waitstatus_to_exitcode(exit_.status)
        raise ConversionFailed(
            f"The converter stopped without a result (exit code {code})"
            + _last_lines(stderr_text, hide=hide)
        )
    message = str(payload.get("error") or "Conversion failed")
    if payload.get("kind") == "InvalidFile":
        raise InvalidFile(message)
    if near_cap:
        # e.g. "No solids found": the transfer swallowed a failed allocation.
        raise ConversionFailed(out_of_memory(memory_mb))
    raise ConversionFailed(message)


def _late_problem(exit_: _Exit, memory_mb: int, timeout_s: float) -> str:
    """Why a child that had published its model did not finish its views ("" if it did)."""
    if exit_.timed_out:
        return f"the conversion's {timeout_s:g} s ran out (AERIE_CONVERSION_TIMEOUT_S)"
    if os.WIFSIGNALED(exit_.status):
        if exit_.near_cap(memory_mb):
            return out_of_memory(memory_mb)
        return f"the converter stopped (signal {os.WTERMSIG(exit_.status)})"
    return ""


def run_conversion_job(
    step_path: Path,
    out_dir: Path,
    *,
    timeout_s: float,
    memory_mb: int,
    thumbnail: bool = True,
    linear_deflection: float = 0.1,
    angular_deflection: float = 0.5,
    prewarm: bool | None = None,
    spares: int | None = None,
    on_model: Callable[[ConversionResult], None] | None = None,
) -> ConversionResult:
    """Convert ``step_path`` in a child process; outputs land in ``out_dir`` or nothing does.

    ``prewarm`` (default :data:`PREWARM`): run in an idle pre-started spare when there is one, and
    start the next spare; ``spares`` caps the idle spares (default: the CPU count).

    The model (validated) and its thumbnail are published as soon as the child has them, and
    ``on_model`` is called then with their result (``seconds``: what a user waits for; views,
    compressed copy and peak RSS not known yet); the turntable views and the meshopt copy land
    after it. A failure of those is a warning in the returned result, never the job's failure.
    """
    # Absolute paths only: a spare was started in another working directory than ours.
    step_path = Path(step_path).resolve()
    out_dir = Path(out_dir).resolve()
    _check_step_file(step_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    use_pool = PREWARM if prewarm is None else prewarm
    started = time.perf_counter()
    spare: _Spare | None = None
    replenished = False

    def replenish() -> None:
        nonlocal replenished
        if use_pool and not replenished:
            replenished = True
            pool.replenish(int(memory_mb), spares or os.cpu_count() or 1)

    try:
        args = {
            "step_path": str(step_path),
            "staging": str(staging),
            "memory_mb": int(memory_mb),
            "thumbnail": bool(thumbnail),
            "linear_deflection": float(linear_deflection),
            "angular_deflection": float(angular_deflection),
            "test_crash": os.environ.get(CRASH_ENV) == "1",
            "test_crash_views": os.environ.get(CRASH_VIEWS_ENV) == "1",
        }
        stderr_path = staging / "stderr.txt"
        if use_pool:
            spare = pool.take(int(memory_mb))
            if spare is not None and not _hand_over(spare, args):
                spare = None
        if spare is not None:
            proc = spare.proc
        else:
            with open(stderr_path, "wb") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "aerie_app.cad.child", json.dumps(args)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    cwd=staging,
                    env=_child_env(),
                    close_fds=True,
                    start_new_session=True,
                )
        deadline = time.monotonic() + timeout_s
        result_file = staging / RESULT_NAME
        try:
            exit_ = _wait(proc, deadline, until=result_file)
            payload = _read_payload(result_file)
            if exit_.running and not (payload and payload.get("ok")):
                exit_ = _wait(proc, deadline, since=exit_)  # a failure: judged once it has ended
        except BaseException:
            # Parent interrupted (KeyboardInterrupt, cancellation): never leave an orphan.
            _kill_group(proc)
            raise
        if not exit_.running:
            payload = _read_payload(result_file)
        exit_ = _with_reported(exit_, payload)
        if not (payload and payload.get("ok")):
            stderr_text = _tail(stderr_path)
            if spare is not None:
                stderr_text = _tail(spare.stderr_path) + stderr_text
            _raise_failure(
                exit_,
                payload,
                stderr_text,
                int(memory_mb),
                timeout_s,
                staging,
                out_dir,
                step_path.parent,
            )
        assert payload is not None

        try:
            # Publish only what the Khronos validator accepts: a strict glTF loader must load it.
            timings = dict(payload.get("timings_s", {}))
            mark = time.perf_counter()
            validate.check(staging / GLB_NAME)
            timings["validate"] = round(time.perf_counter() - mark, 4)
            glb, thumb = _install_model(staging, out_dir, payload)
            result = ConversionResult(
                glb_path=glb,
                thumbnail_path=thumb,
                views=[],
                facts=GeometryFacts.from_dict(payload["facts"]),
                seconds=time.perf_counter() - started,
                peak_rss_kb=exit_.peak_rss_kb,
                warnings=list(payload.get("warnings", [])),
                timings_s=timings,
                worker="spare" if spare is not None else "cold",
            )
            if on_model is not None:
                on_model(replace(result, warnings=list(result.warnings), timings_s=dict(timings)))
            # The next spare starts once this model is out: its imports (~1 s of CPU) would otherwise
            # compete with this conversion on a small machine, and they still overlap the views.
            replenish()

            # After the model: the compressed copy (made here while the child draws its views), served
            # from the moment it lands, then the views.
            mark = time.perf_counter()
            if compress.compress(glb, staging / compress.COMPRESSED_NAME) is not None:
                result.compressed_path = out_dir / compress.COMPRESSED_NAME
                os.replace(staging / compress.COMPRESSED_NAME, result.compressed_path)
            timings["compress"] = round(time.perf_counter() - mark, 4)
            drawing_views = exit_.running
            if drawing_views:
                exit_ = _wait(proc, deadline, since=exit_)
            extras = _read_payload(staging / EXTRAS_NAME) or {}
            exit_ = _with_reported(exit_, extras)
            result.peak_rss_kb = exit_.peak_rss_kb
            # Also when the child was gone before its model was read (it can crash right after
            # publishing it): its exit status says why the views are missing.
            problem = _late_problem(exit_, int(memory_mb), timeout_s)
            if problem:
                result.warnings.append(f"Turntable views skipped: {problem}")
            result.warnings.extend(str(w) for w in extras.get("warnings", []))
            timings.update(extras.get("timings_s", {}))
            result.views = _install_views(staging, out_dir, list(extras.get("views", [])))
            return result
        except BaseException:
            if exit_.running:
                # Not published after all (or interrupted): its views are for nobody.
                _kill_group(proc)
            raise
    finally:
        replenish()  # after a failure too
        shutil.rmtree(staging, ignore_errors=True)
        if spare is not None:
            spare.close_pipes()
            spare.stderr_path.unlink(missing_ok=True)
