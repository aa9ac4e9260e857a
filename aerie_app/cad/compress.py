"""The copy of each model the viewer downloads: quantised and meshopt-compressed by gltfpack.

gltfpack (meshoptimizer's glTF tool, npm ``gltfpack``: a WebAssembly build run by the venv's bun,
installed beside the validator in ``cad/gltf-tools``) rewrites the validated GLB with
``KHR_mesh_quantization`` (positions in 14-bit integers per mesh, normals in 8 bits) and
``EXT_meshopt_compression``; the viewer decodes it with three.js's own MeshoptDecoder, which ships
inside the app bundle. On the corpus the copy is 0.15-0.3x the plain GLB's bytes (docs/benchmarks.md).

Named nodes are kept (``-kn``), so the assembly tree and its names survive; materials may be merged
only when identical, so colours survive too. The plain GLB stays beside it: geometry facts,
thumbnails and ``GET /api/parts/{id}/model?format=plain`` use it. Compression is an optimisation:
when gltfpack is missing, fails or writes something the validator rejects, the conversion still
succeeds and the plain GLB is served. So is it when the copy's box (read from its accessor bounds,
glb.scene_bounds) strays more than 0.1 % of the model's size from the plain one's.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from aerie_app.cad import validate
from aerie_app.cad.glb import read_glb_json, scene_bounds
from aerie_app.errors import ConversionFailed

log = logging.getLogger("aerie.cad")

COMPRESSED_NAME = "model.meshopt.glb"
CLI = validate.TOOLS_DIR / "node_modules" / "gltfpack" / "cli.js"
TIMEOUT_S = 120.0
# Quantisation may move the box by this share of the model's size at most (0.1 %; 14-bit positions
# move it by about 0.003 % on the corpus); a copy that moved more is not served.
MAX_BOX_DRIFT = 0.001
# -cc: meshopt compression with its higher-ratio filters; -kn: keep named nodes (the tree).
ARGS = ("-cc", "-kn")


def available() -> bool:
    return validate.bun_path() is not None and CLI.is_file()


class _NoCopy(Exception):
    """Why no compressed copy was made."""


def compress(src: Path, dst: Path) -> int | None:
    """Write the compressed copy of ``src`` to ``dst``; its size in bytes, or None (logged) if not made."""
    try:
        _pack(src, dst)
    except _NoCopy as why:
        log.warning("No compressed copy, serving the plain GLB: %s", why)
        dst.unlink(missing_ok=True)
        return None
    return dst.stat().st_size


def _pack(src: Path, dst: Path) -> None:
    bun = validate.bun_path()
    if bun is None or not CLI.is_file():
        raise _NoCopy("gltfpack is not installed (run `make install`)")
    try:
        done = subprocess.run(
            [bun, str(CLI), "-i", str(src), "-o", str(dst), *ARGS],
            cwd=validate.TOOLS_DIR,
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise _NoCopy(f"gltfpack did not finish in {TIMEOUT_S:g} s") from exc
    if done.returncode != 0 or not dst.is_file():
        stderr = done.stderr.decode("utf-8", "replace").strip()[-500:]
        raise _NoCopy(f"gltfpack failed (exit {done.returncode}): {stderr}")
    try:
        report = validate.validate(dst)
        drift = box_drift(src, dst)
    except ConversionFailed as exc:  # the plain GLB passed these checks: keep to it
        raise _NoCopy(f"the compressed model could not be checked ({exc.message})") from exc
    if report.errors:
        raise _NoCopy(f"the compressed model is not valid glTF ({report.first})")
    if drift > MAX_BOX_DRIFT:
        raise _NoCopy(f"the compressed model's box moved {drift:.4%} of its size")


def box_drift(plain: Path, packed: Path) -> float:
    """The largest shift of a face of the scene's box, as a share of the model's largest size."""
    before = scene_bounds(read_glb_json(plain))
    after = scene_bounds(read_glb_json(packed))
    size = float((before[1] - before[0]).max()) or 1.0
    return float(abs(after - before).max()) / size
