"""The meshopt-compressed copy of each model (aerie_app/cad/compress.py), on the project's fixtures.

The box is read from accessor bounds (glb.scene_bounds); the e2e tier decodes the compressed file
in Chromium and compares what the viewer measures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aerie_app.cad import compress, validate
from aerie_app.cad.glb import colours_and_names, read_glb_json, scene_bounds
from aerie_app.cad.worker import run_conversion_job

TIMEOUT_S = 60.0
MEMORY_MB = 2048


def node_names(glb: Path) -> list[str]:
    return sorted(n["name"] for n in read_glb_json(glb).get("nodes", []) if n.get("name"))


@pytest.fixture(scope="module")
def assembly_job(steps: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("compress") / "out"
    return run_conversion_job(
        steps / "coloured_assembly.step", out, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB
    )


def test_gltfpack_is_installed_by_make() -> None:
    # `make test` installs cad/gltf-tools; a checkout without it would silently serve plain GLBs.
    assert compress.available()


def test_job_publishes_a_smaller_compressed_copy(
    assembly_job: Any, steps: Path, tmp_path: Path
) -> None:
    plain, packed = assembly_job.glb_path, assembly_job.compressed_path
    assert packed == plain.parent / compress.COMPRESSED_NAME and packed.is_file()
    assert packed.stat().st_size < plain.stat().st_size
    # On a part with a real mesh (a plate with holes, 40 KB as plain GLB) the target ratio holds;
    # the assembly fixture is so small that its JSON, not its mesh, is most of the file.
    plate = run_conversion_job(
        steps / "plate_with_holes.step",
        tmp_path / "plate",
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
    )
    assert plate.compressed_path is not None
    assert plate.compressed_path.stat().st_size <= 0.35 * plate.glb_path.stat().st_size
    doc = read_glb_json(packed)
    assert {"EXT_meshopt_compression", "KHR_mesh_quantization"} <= set(doc["extensionsUsed"])
    assert "EXT_meshopt_compression" in doc["extensionsRequired"]
    assert validate.validate(packed).errors == 0
    assert "compress" in assembly_job.timings_s and "validate" in assembly_job.timings_s


def test_compressed_copy_keeps_colours_names_and_box(assembly_job: Any) -> None:
    plain, packed = assembly_job.glb_path, assembly_job.compressed_path
    assert colours_and_names(read_glb_json(packed)) == colours_and_names(read_glb_json(plain))
    assert node_names(packed) == node_names(plain) != []
    box_plain = scene_bounds(read_glb_json(plain))
    box_packed = scene_bounds(read_glb_json(packed))
    size = box_plain[1] - box_plain[0]
    # Within 0.1 % of the model's size, on every face of the box.
    assert np.all(np.abs(box_packed - box_plain) <= 0.001 * size.max()), (box_plain, box_packed)


def test_without_gltfpack_the_job_succeeds_plain(
    steps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / compress.COMPRESSED_NAME
    stale.write_bytes(b"an older conversion's copy")
    monkeypatch.setattr(compress, "CLI", tmp_path / "missing" / "cli.js")
    result = run_conversion_job(
        steps / "plate_with_holes.step", out, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB
    )
    assert result.compressed_path is None
    assert not stale.exists()  # never served beside a newer plain model
    assert result.glb_path.read_bytes()[:4] == b"glTF"


def test_a_copy_the_validator_rejects_is_dropped(
    steps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, assembly_job: Any
) -> None:
    monkeypatch.setattr(
        validate, "validate", lambda path: validate.Report(1, 0, "MESH_PRIMITIVE_TOO_FEW: (/x)")
    )
    dst = tmp_path / compress.COMPRESSED_NAME
    assert compress.compress(assembly_job.glb_path, dst) is None
    assert not dst.exists()


def test_a_file_gltfpack_cannot_read_is_no_copy(tmp_path: Path) -> None:
    src = tmp_path / "model.glb"
    src.write_bytes(b"glTF" + b"\0" * 64)
    dst = tmp_path / compress.COMPRESSED_NAME
    assert compress.compress(src, dst) is None
    assert not dst.exists()


def test_a_copy_whose_box_moved_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, assembly_job: Any
) -> None:
    # The real copy moves the box by ~0.003 %; pretend quantisation moved it by 0.2 %.
    assert compress.box_drift(assembly_job.glb_path, assembly_job.compressed_path) < 0.0001
    monkeypatch.setattr(compress, "box_drift", lambda plain, packed: 0.002)
    dst = tmp_path / compress.COMPRESSED_NAME
    assert compress.compress(assembly_job.glb_path, dst) is None
    assert not dst.exists()
