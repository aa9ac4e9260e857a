"""The converter child's side: one job in a fresh process, its outcome written to ``result.json``.

The model and its thumbnail come first: ``result.json`` is written as soon as they are, and the
parent publishes them while this process goes on to draw the turntable views (``extras.json``).

Run as ``python -m aerie_app.cad.child '<json job>'`` (a cold child) or ``--serve-one`` (a spare,
see :mod:`aerie_app.cad.spares`) by :func:`aerie_app.cad.worker.run_conversion_job`, which owns
the timeout, the reaping and publishing the files. Nothing here is imported by the web process
except the file names and :func:`looks_out_of_memory`.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from aerie_app.errors import AerieError

GLB_NAME = "model.glb"
THUMB_NAME = "thumb.png"
VIEWS_DIR = "views"
RESULT_NAME = "result.json"  # the model's outcome: the parent publishes the model on seeing it
EXTRAS_NAME = "extras.json"  # written after it: what the child made once the model was out
DEFAULT_MAX_IDLE_S = 600.0


def out_of_memory(cap_mb: int) -> str:
    """The failure reason of a conversion that hit the memory cap: what happened and what to change."""
    return (
        f"This file needs more than {int(cap_mb)} MB to convert; "
        "raise AERIE_CONVERSION_MEMORY_MB (the converter's memory cap)"
    )


def looks_out_of_memory(stderr_text: str) -> bool:
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


def own_peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM, KiB), 0 if unknown. Not ``ru_maxrss``: Linux
    carries the parent's high-water mark into a child across fork and exec."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _write_result(staging: Path, payload: dict[str, Any], name: str = RESULT_NAME) -> None:
    """Publish ``payload`` (with this process's peak memory so far) as ``name``, atomically."""
    tmp = staging / f".{name}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps({**payload, "peak_rss_kb": own_peak_rss_kb()}))
    os.replace(tmp, staging / name)


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
            {"ok": False, "error": out_of_memory(args["memory_mb"])},
        )
        return 0
    except Exception as exc:  # noqa: BLE001 - OCP raises Standard_Failure subclasses with terse messages
        text = f"{type(exc).__name__}: {exc}"
        if looks_out_of_memory(text):
            error = out_of_memory(args["memory_mb"])
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
    if not args.get("thumbnail"):
        _write_result(staging, payload)
        return 0
    # The model and its thumbnail first (the board shows the thumbnail as soon as the model is
    # ready): the parent publishes them while the turntable views are still being drawn.
    t0 = time.perf_counter()
    mesh: Any = None
    # A model without a picture is still useful: a renderer problem is a warning, not a failure.
    try:
        from aerie_app.cad.thumbnail import load_mesh, render_thumbnail

        mesh = load_mesh(staging / GLB_NAME)
        render_thumbnail(mesh, staging / THUMB_NAME)
        payload["thumbnail"] = True
        payload["timings_s"]["thumbnail"] = time.perf_counter() - t0
    except MemoryError:
        payload["warnings"].append("Thumbnail skipped: out of memory")
    except Exception as exc:  # noqa: BLE001 - a thumbnail must never fail the conversion
        payload["warnings"].append(f"Thumbnail failed: {type(exc).__name__}: {exc}")
    _write_result(staging, payload)
    if mesh is None:
        return 0
    if args.get("test_crash_views"):
        os.kill(os.getpid(), signal.SIGSEGV)
    t0 = time.perf_counter()
    extras: dict[str, Any] = {"warnings": [], "timings_s": {}}
    try:
        from aerie_app.cad.thumbnail import render_turntable

        views = render_turntable(mesh, staging / VIEWS_DIR)
        extras["views"] = [p.name for p in views]
        extras["timings_s"]["views"] = time.perf_counter() - t0
    except MemoryError:
        extras["warnings"].append("Turntable views skipped: out of memory")
    except Exception as exc:  # noqa: BLE001 - nor must the views
        extras["warnings"].append(f"Turntable views failed: {type(exc).__name__}: {exc}")
    _write_result(staging, extras, name=EXTRAS_NAME)
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
    try:
        os.chdir(staging)
    except OSError as exc:
        # Said on the idle log, which the parent reads into the failure reason.
        print(f"The converter could not enter its job folder: {exc.strerror}", file=sys.stderr)
        return 1
    err = os.open(staging / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(err, 2)
    os.close(err)
    return _run_job(args, cold=False, preload_exc=preload_exc)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--serve-one":
        import argparse

        parser = argparse.ArgumentParser(prog="python -m aerie_app.cad.child --serve-one")
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
            "usage: python -m aerie_app.cad.child '<json args>' | --serve-one --memory-mb N",
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
