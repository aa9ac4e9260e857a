"""In-process conversion of the optional real-world corpus: counts, units, axes and facts.

The same checks on the project's own fixtures, which always run, are in test_fixtures_convert.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytestmark = [pytest.mark.cad, pytest.mark.corpus]

trimesh = pytest.importorskip("trimesh")
pytest.importorskip("OCP")

from aerie_app.cad.convert import GeometryFacts, convert_step  # noqa: E402
from tests.cad.conftest import assert_y_up_metres  # noqa: E402

# cascadio reference figures from the corpus README: triangles, colours, named nodes.
REFERENCE: dict[str, tuple[int, int, int]] = {
    "ctre_canivore.step": (16_996, 8, 9),
    "ctre_mag_encoder_magnet.step": (828, 1, 1),
    "ctre_minion_motor.step": (34_648, 12, 1),
    "ctre_talon_tach_bracket_short.step": (736, 1, 1),
    "ctre_talon_tach_bracket_tall.step": (864, 1, 1),
    "gobilda_bracket_flat_2_3.step": (5_088, 0, 1),
    "gobilda_plate_channel_conn.step": (812, 0, 1),
    "gobilda_servo_hs488hb.step": (43_386, 0, 1),
    "gobilda_shaft_6mmD_70mm.step": (178, 0, 1),
    "gobilda_spacer_plastic_8mm.step": (208, 0, 1),
    "gobilda_u_channel_5.step": (23_812, 0, 1),
    "occdemo_as1_oc_214.stp": (5_180, 5, 28),
}

_cache: dict[str, tuple[Path, GeometryFacts]] = {}


def _convert(corpus_dir: Path, glb_cache: Path, name: str) -> tuple[Path, GeometryFacts]:
    """Convert each corpus file once per session; several tests look at the same result."""
    if name not in _cache:
        step = corpus_dir / name
        glb = glb_cache / (Path(name).stem + ".glb")
        _cache[name] = (glb, convert_step(step, glb))
    return _cache[name]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_corpus_file_converts(corpus_dir: Path, glb_cache: Path, name: str) -> None:
    glb, facts = _convert(corpus_dir, glb_cache, name)
    ref_triangles, _, _ = REFERENCE[name]
    assert glb.exists() and glb.stat().st_size == facts.glb_bytes > 1000
    assert abs(facts.triangles - ref_triangles) <= 0.4 * ref_triangles
    assert facts.solids >= 1
    assert facts.faces >= facts.solids
    assert facts.volume_mm3 > 0
    assert facts.surface_area_mm2 > 0
    # Robot parts: bigger than a grain of sand, smaller than a car, in millimetres.
    sizes = facts.bbox_mm
    assert all(0.5 < sizes[a] < 2000 for a in "xyz"), sizes
    assert max(sizes.values()) > 5
    # No temp files left beside the output.
    assert [p.name for p in glb.parent.glob(".*.tmp")] == []


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_glb_is_y_up_metres(corpus_dir: Path, glb_cache: Path, name: str) -> None:
    assert_y_up_metres(*_convert(corpus_dir, glb_cache, name))


def test_colours_and_names_survive(corpus_dir: Path, glb_cache: Path) -> None:
    _, canivore = _convert(corpus_dir, glb_cache, "ctre_canivore.step")
    assert canivore.colours > 1
    _, occdemo = _convert(corpus_dir, glb_cache, "occdemo_as1_oc_214.stp")
    assert occdemo.named_nodes > 1
    assert occdemo.solids == 18
    _, bare = _convert(corpus_dir, glb_cache, "gobilda_shaft_6mmD_70mm.step")
    assert bare.colours == 0


def test_known_dimensions(corpus_dir: Path, glb_cache: Path) -> None:
    # The AS1 assembly is 200 x 150 x 84 mm; the goBILDA shaft is 70 mm long.
    _, occdemo = _convert(corpus_dir, glb_cache, "occdemo_as1_oc_214.stp")
    assert occdemo.bbox_mm == pytest.approx({"x": 200.0, "y": 150.0, "z": 84.0}, abs=0.2)
    _, shaft = _convert(corpus_dir, glb_cache, "gobilda_shaft_6mmD_70mm.step")
    assert max(shaft.bbox_mm.values()) == pytest.approx(70.0, abs=0.2)


def test_facts_round_trip_through_json(corpus_dir: Path, glb_cache: Path) -> None:
    _, facts = _convert(corpus_dir, glb_cache, "ctre_canivore.step")
    data = json.loads(json.dumps(facts.to_dict()))
    assert set(data) == {
        "bbox_mm",
        "bbox_min_mm",
        "bbox_max_mm",
        "volume_mm3",
        "surface_area_mm2",
        "solids",
        "faces",
        "triangles",
        "colours",
        "named_nodes",
        "glb_bytes",
    }
    assert set(data["bbox_mm"]) == {"x", "y", "z"}
    again = GeometryFacts.from_dict(data)
    assert again.to_dict() == data
    assert all(math.isfinite(v) for v in data["bbox_min_mm"] + data["bbox_max_mm"])


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_corpus_glb_passes_the_gltf_validator(corpus_dir: Path, glb_cache: Path, name: str) -> None:
    from aerie_app.cad import validate

    glb, _ = _convert(corpus_dir, glb_cache, name)
    report = validate.validate(glb)
    assert report.errors == 0, report.first
