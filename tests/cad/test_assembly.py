"""Whole-robot assemblies: the generated drivetrain converts with every body named and coloured,
and the shape healing skipped on read (the quadratic wire repairs) is exactly the two it names.

The full-size assembly (57 MB) is converted in the e2e tier (tests/e2e/test_viewer.py) and
measured by bench/assembly.py; here a lighter belly-pan pattern keeps the same 355 bodies.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.cad

pytest.importorskip("OCP")

from aerie_app.cad import convert  # noqa: E402
from aerie_app.cad.glb import read_glb_json  # noqa: E402
from tests.robot_assembly import cached  # noqa: E402


def test_the_reader_skips_only_the_quadratic_wire_repairs() -> None:
    from OCP.TCollection import TCollection_AsciiString

    defaults = convert._default_repairs()
    params = convert._repair_parameters()
    assert params.Size() == defaults.Size() > 40  # OCCT's whole set, not just our two

    def value(m: object, key: str) -> str:
        return str(m.Find(TCollection_AsciiString(key)).ToCString())  # type: ignore[attr-defined]

    for key in convert.SKIPPED_REPAIRS:
        assert value(defaults, key) == "-1"  # OCCT's default: repair when the analysis asks
        assert value(params, key) == "0"
    # Every other repair stays as OCCT sets it, e.g. wire order, seams and small edges.
    for key in (
        "FixShape.FixReorderMode",
        "FixShape.FixMissingSeamMode",
        "FixShape.FixSmallMode",
        "FixShape.FixSelfIntersectingEdgeMode",
        "FixShape.Tolerance3d",
        "FixShape.MaxTolerance3d",
    ):
        assert value(params, key) == value(defaults, key)
    # The defaults are learnt once, and what the reader is given is a copy of them.
    assert convert._default_repairs() is defaults
    assert value(convert._default_repairs(), "FixShape.FixSelfIntersectionMode") == "-1"


def test_a_robot_assembly_converts_with_every_body_named(tmp_path: Path) -> None:
    step = cached(0.05)  # 355 bodies, a coarse belly-pan pattern: ~4 MB
    glb = tmp_path / "robot.glb"
    facts = convert.convert_step(step, glb)
    assert facts.solids == 355
    assert facts.colours == 4  # pan and plates, rails, wheels and bolts, spacers
    assert facts.bbox_mm["x"] == pytest.approx(900.0, abs=0.05)  # the rails' length
    names = {node.get("name") for node in read_glb_json(glb).get("nodes", [])}
    for body in ("belly_pan", "rail_left", "wheel_fl", "gearbox_plate_8", "spacer_040", "bolt_300"):
        assert body in names
    assert sum(1 for n in names if n and n.startswith("bolt_")) == 300


def test_skipping_the_repairs_changes_nothing_on_valid_geometry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = cached(0.05)
    skipped = convert.convert_step(step, tmp_path / "skipped.glb")
    monkeypatch.setattr(convert, "SKIPPED_REPAIRS", {})
    repaired = convert.convert_step(step, tmp_path / "repaired.glb")
    # Same box, volume, area, faces, triangles and GLB size: the repairs had nothing to mend.
    assert skipped == repaired
