"""In-process conversion of the project's own STEP fixtures: sizes, axes, colours, valid glTF.

These always run (the fixtures are generated with CadQuery); the real-world corpus adds the same
checks on downloaded parts in test_convert.py where it is present.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.cad

trimesh = pytest.importorskip("trimesh")

from aerie_app.cad import glb as glb_mod  # noqa: E402
from aerie_app.cad import validate  # noqa: E402
from aerie_app.cad.convert import GeometryFacts, convert_step  # noqa: E402
from aerie_app.errors import ConversionFailed  # noqa: E402
from tests.cad.conftest import assert_y_up_metres  # noqa: E402
from tests.step_fixtures import GENERATORS, GOOD  # noqa: E402

BAD = [name for name in GENERATORS if name not in GOOD]
_cache: dict[str, tuple[Path, GeometryFacts]] = {}


def _convert(steps: Path, glb_cache: Path, name: str) -> tuple[Path, GeometryFacts]:
    if name not in _cache:
        glb = glb_cache / f"fixture-{Path(name).stem}.glb"
        _cache[name] = (glb, convert_step(steps / name, glb))
    return _cache[name]


@pytest.mark.parametrize("name", GOOD)
def test_fixture_converts_to_its_known_shape(steps: Path, glb_cache: Path, name: str) -> None:
    glb, facts = _convert(steps, glb_cache, name)
    expect = GENERATORS[name][1]
    assert facts.solids == expect.solids
    assert facts.colours == expect.colours
    assert facts.triangles > 0 and facts.glb_bytes == glb.stat().st_size
    if expect.bbox_mm is not None:
        got = [facts.bbox_mm[a] for a in "xyz"]
        assert got == pytest.approx(list(expect.bbox_mm), abs=0.05)
    assert facts.volume_mm3 > 0 and facts.surface_area_mm2 > 0
    assert [p.name for p in glb.parent.glob(".*.tmp")] == []


@pytest.mark.parametrize("name", GOOD)
def test_fixture_glb_passes_the_khronos_validator(steps: Path, glb_cache: Path, name: str) -> None:
    glb, _ = _convert(steps, glb_cache, name)
    report = validate.validate(glb)
    assert report.errors == 0, report.first


@pytest.mark.parametrize("name", GOOD)
def test_glb_is_y_up_metres(steps: Path, glb_cache: Path, name: str) -> None:
    assert_y_up_metres(*_convert(steps, glb_cache, name))


def test_assembly_keeps_names_and_colours(steps: Path, glb_cache: Path) -> None:
    glb, facts = _convert(steps, glb_cache, "coloured_assembly.step")
    gltf = glb_mod.read_glb_json(glb)
    names = {node.get("name") for node in gltf["nodes"]}
    assert {"base", "post"} <= names
    assert facts.colours == 2 and facts.named_nodes >= 2


def test_loose_curves_are_left_out_of_the_model_and_the_stock(steps: Path, glb_cache: Path) -> None:
    """A solid beside a compound of curves: the writer's empty primitive is dropped, the
    stock box is the block's (40 × 30 × 10 mm), not the sketch's, and the GLB loads."""
    glb, facts = _convert(steps, glb_cache, "solid_with_loose_edges.step")
    assert facts.bbox_mm == pytest.approx({"x": 40.0, "y": 30.0, "z": 10.0}, abs=0.05)
    assert facts.timings_s.get("empty_primitives") == 1
    gltf = glb_mod.read_glb_json(glb)
    for mesh in gltf["meshes"]:
        for prim in mesh["primitives"]:
            assert prim["attributes"]["POSITION"] >= 0 and prim.get("indices", 0) >= 0
    assert trimesh.load(str(glb), force="scene").bounds is not None


def test_the_validator_catches_what_the_raw_writer_emits(
    steps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the clean-up the fixture reproduces the bug, and the validator says so."""
    monkeypatch.setattr("aerie_app.cad.convert.drop_empty_primitives", lambda _path: 0)
    monkeypatch.setattr("aerie_app.cad.convert._validate_glb", lambda _path: 12)
    raw = tmp_path / "raw.glb"
    convert_step(steps / "solid_with_loose_edges.step", raw)
    report = validate.validate(raw)
    assert report.errors >= 1 and report.first is not None
    assert report.first.startswith("INVALID_INDEX")
    with pytest.raises(ConversionFailed, match="not valid glTF: INVALID_INDEX"):
        validate.check(raw)
    # And the clean-up alone repairs that very file.
    assert glb_mod.drop_empty_primitives(raw) == 1
    assert validate.validate(raw).errors == 0


@pytest.mark.parametrize("name", BAD)
def test_bad_fixture_fails_with_a_reason(steps: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / "out.glb"
    with pytest.raises(ConversionFailed) as info:
        convert_step(steps / name, out)
    assert GENERATORS[name][1].error in info.value.message
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_in_process_failure_is_conversion_failed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.step"
    bad.write_text("ISO-10303-21;\nHEADER;\nthis is not step\n")
    out = tmp_path / "out.glb"
    with pytest.raises(ConversionFailed):
        convert_step(bad, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_facts_round_trip_through_json(steps: Path, glb_cache: Path) -> None:
    _, facts = _convert(steps, glb_cache, "coloured_assembly.step")
    data = json.loads(json.dumps(facts.to_dict()))
    assert GeometryFacts.from_dict(data).to_dict() == data


# ----------------------------------------------------------------------------- glb.py on its own


def _doc(meshes: list[list[dict[str, object]]]) -> dict[str, object]:
    return {
        "accessors": [{}, {}, {}],
        "meshes": [{"primitives": prims} for prims in meshes],
        "nodes": [{"name": f"n{i}", "mesh": i} for i in range(len(meshes))],
    }


def test_prune_keeps_a_clean_document_untouched() -> None:
    doc = _doc([[{"attributes": {"POSITION": 0}, "indices": 1}]])
    before = json.dumps(doc)
    assert glb_mod.prune_document(doc) == 0
    assert json.dumps(doc) == before


def test_prune_renumbers_meshes_and_keeps_nodes() -> None:
    doc = _doc(
        [
            [{"attributes": {"POSITION": -1}, "indices": -1}],
            [{"attributes": {"POSITION": 0}, "indices": 2}, {"attributes": {"POSITION": 7}}],
        ]
    )
    assert glb_mod.prune_document(doc) == 2
    assert doc["meshes"] == [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 2}]}]
    assert doc["nodes"] == [{"name": "n0"}, {"name": "n1", "mesh": 0}]


def test_a_file_that_is_not_glb_is_a_conversion_failure(tmp_path: Path) -> None:
    bad = tmp_path / "x.glb"
    bad.write_bytes(b"not a glb at all, just text")
    with pytest.raises(ConversionFailed, match="bad header"):
        glb_mod.drop_empty_primitives(bad)
