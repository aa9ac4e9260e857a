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

Pre-warmed spares (:class:`WarmPool`): a cold child spends ~1.2-1.5 s starting Python and importing
OCP, trimesh, numpy and PIL before it reads a byte of STEP. To hide that without giving up
isolation, a *spare* child (``python -m aerie_app.cad.worker --serve-one --memory-mb N``) is started
ahead of time. It sets its rlimits first (the memory cap is fixed at spawn, so spares are keyed by
it), imports everything, writes one byte on its stdout pipe ("ready"), points stdout at
/dev/null, then blocks reading ONE job as a JSON line on stdin. When the job arrives it moves into
the job's staging folder, sends its stderr there, runs exactly the code a cold child runs (same
result file, same crash hook) and exits. So it is still one process per job, with fresh state,
its own process group, the same timeout (the clock starts at hand-over) and the same memory cap.
- ``run_conversion_job`` takes an idle spare with the job's memory cap if one is alive (a ready one
  first, else one still importing, which is still faster than a new process), and immediately
  starts the next spare in the background; with no usable spare it starts a cold child as before.
- Never more than ``spares`` idle spares (callers pass ``conversion_workers or cpu_count``); when
  full, an idle spare with another memory cap is evicted for the one needed now.
- A spare that died while idle is reaped and replaced lazily, at the next job. A spare idle for
  ``max_idle_s`` (10 min by default) is not used any more: the parent replaces it at the next job,
  and the spare exits on its own soon after, so an idle server does not hold stale spares forever.
- No leaks: spares are killed and reaped at interpreter exit (``atexit``); if the parent dies
  without running it, the spare's stdin reaches EOF and it exits, deleting its idle-stderr log
  (and it expires anyway). A forked
  copy of the parent forgets the spares (``os.register_at_fork``) and closes its copies of their pipes.
- Cost: an idle spare holds ~395 MB RSS (psutil: 393-394 MB with OCP 7.9.3, trimesh, numpy, PIL
  loaded; OCCT's libraries dominate) and ~910 MB of address space, at most one per conversion
  slot, and its imports burn ~1.3 s of one core while the current job runs (on a busy 2-core box
  that slows a large job by up to ~30 %; an idle core absorbs it). ``prewarm=False`` (the
  ``conversion_prewarm`` setting, or :data:`PREWARM` for the whole process) turns it off.

Test seam: with ``AERIE_CAD_TEST_CRASH=1`` in the parent's environment when a job starts, the child
that runs it (cold or spare) kills itself with SIGSEGV before converting, so tests can prove a
crash is contained. The flag travels in the job, so a spare started earlier obeys it too.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
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
DEFAULT_MAX_IDLE_S = 600.0
_SPARE_EXPIRY_MARGIN_S = 30.0
# Process-wide default for ``run_conversion_job(prewarm=None)``; False disables spares entirely.
PREWARM = True


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


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # One BLAS thread: OpenBLAS reserves buffers per thread and exits hard if that fails.
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.pop(CRASH_ENV, None)  # the crash hook travels in the job, never through the environment
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's process group (it leads its own session) and reap the child."""
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


@dataclass
class _Spare:
    """An idle pre-started child waiting for one job on its stdin."""

    proc: subprocess.Popen[bytes]
    memory_mb: int
    born: float  # time.monotonic() at spawn
    stderr_path: Path  # what it printed before it got a job (import problems)
    ready: bool = False  # it finished its imports (one byte arrived on its stdout pipe)
    imports_ok: bool = True  # that byte was b"R"; b"F": they failed (reported with its job)

    def poll_ready(self) -> bool:
        if not self.ready and self.proc.stdout is not None and not self.proc.stdout.closed:
            fd = self.proc.stdout.fileno()
            if select.select([fd], [], [], 0)[0]:
                byte = os.read(fd, 16)
                self.ready = bool(byte)
                self.imports_ok = byte.startswith(b"R")
        return self.ready

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass

    def discard(self) -> None:
        """Kill, reap and clean up a spare that will not run a job."""
        self.close_pipes()
        _kill_group(self.proc)
        self.stderr_path.unlink(missing_ok=True)


class WarmPool:
    """Idle pre-started worker children, keyed by memory cap; thread-safe. See the module docstring."""

    def __init__(self, max_idle_s: float = DEFAULT_MAX_IDLE_S) -> None:
        self.max_idle_s = max_idle_s
        self._lock = threading.Lock()
        self._idle: list[_Spare] = []
        self._owner = os.getpid()
        self._atexit = False
        self.stats: dict[str, int] = dict.fromkeys(
            ("spawned", "taken", "taken_ready", "cold", "dead", "stale", "evicted"), 0
        )

    def __len__(self) -> int:
        with self._lock:
            return len(self._idle)

    def pids(self) -> list[int]:
        """Process ids of the idle spares (tests)."""
        with self._lock:
            return [s.proc.pid for s in self._idle]

    def wait_ready(self, memory_mb: int, timeout_s: float = 30.0) -> bool:
        """Block until an idle spare for ``memory_mb`` finished its imports (benchmarks, tests)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                self._prune()
                if any(s.memory_mb == memory_mb and s.poll_ready() for s in self._idle):
                    return True
            time.sleep(_POLL_S)
        return False

    def _prune(self) -> None:
        """Drop spares that died while idle or sat idle too long (the caller holds the lock)."""
        keep: list[_Spare] = []
        now = time.monotonic()
        for spare in self._idle:
            if not spare.alive():
                self.stats["dead"] += 1
                spare.discard()
            elif now - spare.born > self.max_idle_s:
                self.stats["stale"] += 1
                spare.discard()
            else:
                keep.append(spare)
        self._idle = keep

    def take(self, memory_mb: int) -> _Spare | None:
        """Remove and return an idle spare with this memory cap (a ready one first), or None."""
        if os.getpid() != self._owner:
            return None
        with self._lock:
            self._prune()
            matching = [s for s in self._idle if s.memory_mb == memory_mb]
            if not matching:
                self.stats["cold"] += 1
                return None
            ready = [s for s in matching if s.poll_ready()]
            spare = (ready or matching)[0]
            self._idle.remove(spare)
            self.stats["taken"] += 1
            self.stats["taken_ready"] += int(spare.ready)
            return spare

    def replenish(self, memory_mb: int, cap: int) -> None:
        """Start one spare for ``memory_mb`` in the background unless ``cap`` spares are idle."""
        if cap < 1 or os.getpid() != self._owner:
            return
        with self._lock:
            self._prune()
            if len(self._idle) >= cap:
                others = [s for s in self._idle if s.memory_mb != memory_mb]
                if not others:
                    return
                # The memory cap changed (or two caps are in use): make room for the current one.
                oldest = min(others, key=lambda s: s.born)
                self._idle.remove(oldest)
                self.stats["evicted"] += 1
                oldest.discard()
            self._idle.append(self._spawn(int(memory_mb)))
            self.stats["spawned"] += 1
            if not self._atexit:
                atexit.register(self.shutdown)
                self._atexit = True

    def _spawn(self, memory_mb: int) -> _Spare:
        fd, name = tempfile.mkstemp(prefix="aerie-spare-", suffix=".log")
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "aerie_app.cad.worker",
                    "--serve-one",
                    "--memory-mb",
                    str(memory_mb),
                    "--max-idle-s",
                    # It expires on its own a little after the parent stops handing it jobs.
                    str(self.max_idle_s + _SPARE_EXPIRY_MARGIN_S),
                    "--log",
                    name,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=fd,
                cwd=tempfile.gettempdir(),
                env=_child_env(),
                close_fds=True,
                start_new_session=True,
            )
        except BaseException:
            os.unlink(name)
            raise
        finally:
            os.close(fd)
        return _Spare(proc=proc, memory_mb=memory_mb, born=time.monotonic(), stderr_path=Path(name))

    def shutdown(self) -> None:
        """Kill and reap every idle spare (registered with atexit when the first one starts)."""
        if os.getpid() != self._owner:
            self._forget()
            return
        with self._lock:
            spares, self._idle = self._idle, []
        for spare in spares:
            spare.discard()

    def _forget(self) -> None:
        """In a forked copy of the parent the spares are not ours: drop our copies of their pipes."""
        for spare in self._idle:
            spare.close_pipes()
        self._idle = []
        self._lock = threading.Lock()
        self._owner = os.getpid()


pool = WarmPool()
os.register_at_fork(after_in_child=pool._forget)


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
) -> ConversionResult:
    """Convert ``step_path`` in a child process; outputs land in ``out_dir`` or nothing does.

    ``prewarm`` (default :data:`PREWARM`): run in an idle pre-started spare when there is one, and
    start the next spare; ``spares`` caps the idle spares (default: the CPU count).
    """
    step_path = Path(step_path).resolve()
    out_dir = Path(out_dir)
    _check_step_file(step_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    use_pool = PREWARM if prewarm is None else prewarm
    started = time.perf_counter()
    spare: _Spare | None = None
    try:
        args = {
            "step_path": str(step_path),
            "staging": str(staging),
            "memory_mb": int(memory_mb),
            "thumbnail": bool(thumbnail),
            "linear_deflection": float(linear_deflection),
            "angular_deflection": float(angular_deflection),
            "test_crash": os.environ.get(CRASH_ENV) == "1",
        }
        stderr_path = staging / "stderr.txt"
        if use_pool:
            spare = pool.take(int(memory_mb))
            # Start the next one now: its imports overlap this job instead of delaying the next.
            pool.replenish(int(memory_mb), spares or os.cpu_count() or 1)
            if spare is not None and not _hand_over(spare, args):
                spare = None
        if spare is not None:
            proc = spare.proc
        else:
            with open(stderr_path, "wb") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "aerie_app.cad.worker", json.dumps(args)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    cwd=staging,
                    env=_child_env(),
                    close_fds=True,
                    start_new_session=True,
                )
        try:
            status, peak_rss_kb, timed_out = _wait(proc, timeout_s)
        except BaseException:
            # Parent interrupted (KeyboardInterrupt, cancellation): never leave an orphan.
            _kill_group(proc)
            raise
        seconds = time.perf_counter() - started
        stderr_text = _tail(stderr_path)
        if spare is not None:
            stderr_text = _tail(spare.stderr_path) + stderr_text

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
            worker="spare" if spare is not None else "cold",
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if spare is not None:
            spare.close_pipes()
            spare.stderr_path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- child side


def _write_result(staging: Path, payload: dict[str, Any]) -> None:
    tmp = staging / f".{RESULT_NAME}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, staging / RESULT_NAME)


def _set_limits(memory_mb: int) -> None:
    limit = int(memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _preload_all() -> None:
    """Everything a job imports: OCP, trimesh, numpy (convert) and PIL (thumbnails)."""
    from aerie_app.cad.convert import preload

    preload()
    import aerie_app.cad.thumbnail  # noqa: F401


def _run_job(args: dict[str, Any], *, cold: bool, preload_exc: BaseException | None = None) -> int:
    """The job itself, the same in a cold child and in a spare; the outcome goes to result.json."""
    staging = Path(args["staging"])
    if args.get("test_crash"):
        os.kill(os.getpid(), signal.SIGSEGV)

    extra: dict[str, float] = {}
    try:
        if preload_exc is not None:
            raise preload_exc  # a spare whose imports failed reports it like a cold child would
        if cold:
            t0 = time.perf_counter()
            from aerie_app.cad.convert import preload

            preload()
            extra["import"] = time.perf_counter() - t0
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
        "timings_s": {**extra, **facts.timings_s},
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


def _child(args: dict[str, Any]) -> int:
    """A cold child: limits first, then imports and the job."""
    _set_limits(int(args["memory_mb"]))
    return _run_job(args, cold=True)


def _read_job(max_idle_s: float) -> bytes | None:
    """One JSON line from stdin; None on EOF (the parent is gone) or after ``max_idle_s`` idle."""
    if not select.select([0], [], [], max_idle_s)[0]:
        return None
    chunks: list[bytes] = []
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    data = b"".join(chunks)
    return data if data.strip() else None


def _serve_one(memory_mb: int, max_idle_s: float, log: str | None = None) -> int:
    """A spare: limits, imports, say "ready", then wait for ONE job, run it and exit."""
    _set_limits(memory_mb)
    preload_exc: BaseException | None = None
    try:
        _preload_all()
    except Exception as exc:  # noqa: BLE001 - e.g. the loader hit the cap: reported with the job
        preload_exc = exc
    try:
        os.write(1, b"R" if preload_exc is None else b"F")
    except OSError:
        return 0  # nobody is listening any more
    # From here on stdout is /dev/null: OCCT prints there and the pipe is not read any more.
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    line = _read_job(max_idle_s)
    if line is None:
        # Expired, or the parent is gone (maybe killed, without its atexit): tidy up our log.
        if log:
            Path(log).unlink(missing_ok=True)
        return 0
    args = json.loads(line)
    staging = Path(args["staging"])
    os.chdir(staging)
    err = os.open(staging / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(err, 2)
    os.close(err)
    return _run_job(args, cold=False, preload_exc=preload_exc)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--serve-one":
        import argparse

        parser = argparse.ArgumentParser(prog="python -m aerie_app.cad.worker --serve-one")
        parser.add_argument("--serve-one", action="store_true")
        parser.add_argument("--memory-mb", type=int, required=True)
        parser.add_argument("--max-idle-s", type=float, default=DEFAULT_MAX_IDLE_S)
        parser.add_argument(
            "--log", help="the file our stderr goes to while idle (deleted on expiry)"
        )
        opts = parser.parse_args(argv)
        return _serve_one(opts.memory_mb, opts.max_idle_s, opts.log)
    if len(argv) != 1:
        print(
            "usage: python -m aerie_app.cad.worker '<json args>' | --serve-one --memory-mb N",
            file=sys.stderr,
        )
        return 2
    return _child(json.loads(argv[0]))


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # The result is already on disk: skip interpreter teardown, which with OCP, trimesh and numpy
    # loaded costs ~0.45 s per job (module finalisers, freeing OCCT's heap), all of it dead time.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
