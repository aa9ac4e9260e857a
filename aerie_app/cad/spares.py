"""Pre-warmed converter children for :func:`aerie_app.cad.worker.run_conversion_job`.

Pre-warmed spares (:class:`WarmPool`): a cold child spends ~1.2-1.5 s starting Python and importing
OCP, trimesh, numpy and PIL before it reads a byte of STEP. To hide that without giving up
isolation, a *spare* child (``python -m aerie_app.cad.child --serve-one --memory-mb N``) is started
ahead of time. It sets its rlimits first (the memory cap is fixed at spawn, so spares are keyed by
it), imports everything, writes one byte on its stdout pipe ("ready"), points stdout at
/dev/null, then blocks reading ONE job as a JSON line on stdin. When the job arrives it moves into
the job's staging folder (an absolute path: the spare runs in the temp folder, not the server's
working directory), sends its stderr there, runs exactly the code a cold child runs (same
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
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aerie_app.cad.child import DEFAULT_MAX_IDLE_S

CRASH_ENV = "AERIE_CAD_TEST_CRASH"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.02
_SPARE_EXPIRY_MARGIN_S = 30.0


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
            time.sleep(POLL_S)
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
                    "aerie_app.cad.child",
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
