"""The project's own STEP fixtures, generated with CadQuery: every CAD test runs on a fresh clone.

Each fixture is a small, known shape whose facts the tests can check exactly (a 120 × 80 × 6 mm
plate is 120 × 80 × 6 mm). They are made once and cached in ``tests/.step-cache/<key>/`` (ignored
by git); the key hashes this file and the CadQuery/OCP versions, so a change to a generator or an
upgrade makes them anew. ``python -m tests.step_fixtures [FOLDER]`` writes them for benchmarks or
a look in a CAD program.

Real-world files (``../shared/corpus/step``, ``AERIE_CORPUS_DIR``) are an optional extra tier.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CACHE_ROOT = Path(__file__).resolve().parent / ".step-cache"


@dataclass(frozen=True)
class Expect:
    """What a fixture is known to be: sizes in mm (x, y, z), solids, whether it converts."""

    bbox_mm: tuple[float, float, float] | None
    solids: int
    converts: bool = True
    colours: int = 0
    error: str = ""  # a word the failure reason must contain (when it does not convert)


def plate_with_holes(path: Path) -> None:
    """A 120 × 80 × 6 mm aluminium plate with a 4 × 3 grid of 5.1 mm holes: a router job."""
    import cadquery as cq

    plate = (
        cq.Workplane("XY")
        .box(120, 80, 6)
        .faces(">Z")
        .workplane()
        .rarray(30, 25, 4, 3)
        .hole(5.1)
        .edges("|Z and >X")
        .fillet(4)
    )
    cq.exporters.export(plate, str(path), "STEP")


def bent_bracket(path: Path) -> None:
    """An L bracket bent from 3 mm sheet: 50 × 30 × 40 mm outside, inside bend radius 3 mm, two holes."""
    import cadquery as cq

    profile = (
        cq.Workplane("XZ")
        .polyline([(0, 0), (50, 0), (50, 3), (3, 3), (3, 40), (0, 40)])
        .close()
        .extrude(-30)
    )
    bracket = (
        profile.edges("|Y and <X and <Z")
        .fillet(6)
        .edges("|Y and (not <X) and (not <Z)")
        .edges("<X and <Z")
        .fillet(3)
        .faces(">Z[-2]")
        .workplane(centerOption="CenterOfBoundBox")
        .center(8, 0)
        .hole(5)
        .faces("<X")
        .workplane(centerOption="CenterOfBoundBox")
        .center(0, 8)
        .hole(5)
    )
    cq.exporters.export(bracket, str(path), "STEP")


def coloured_assembly(path: Path) -> None:
    """Two named, coloured bodies: a red 60 × 40 × 5 mm base and a blue Ø20 × 30 mm post on it."""
    import cadquery as cq

    base = cq.Workplane("XY").box(60, 40, 5, centered=(True, True, False))
    post = cq.Workplane("XY").circle(10).extrude(30)
    assy = cq.Assembly(name="fixture_assembly")
    assy.add(base, name="base", color=cq.Color(0.85, 0.1, 0.1))
    assy.add(post, name="post", loc=cq.Location((0, 0, 5)), color=cq.Color(0.1, 0.2, 0.9))
    assy.export(str(path), "STEP")


def many_faces(path: Path) -> None:
    """A 300 × 300 × 4 mm plate cut by a 30 × 30 grid of 5 mm square windows: over 3,600 faces.

    For timeout and memory-cap tests: it takes seconds, not milliseconds, to read and convert.
    """
    import cadquery as cq

    outer = cq.Wire.makePolygon(
        [cq.Vector(x, y, 0) for x, y in ((-150, -150), (150, -150), (150, 150), (-150, 150))],
        close=True,
    )
    windows = []
    for i in range(30):
        for j in range(30):
            cx, cy = -137.75 + 9.5 * i, -137.75 + 9.5 * j
            corners = (
                (cx - 2.5, cy - 2.5),
                (cx - 2.5, cy + 2.5),
                (cx + 2.5, cy + 2.5),
                (cx + 2.5, cy - 2.5),
            )
            windows.append(
                cq.Wire.makePolygon([cq.Vector(x, y, 0) for x, y in corners], close=True)
            )
    # One face with 900 inner wires, extruded: no boolean operations, so it is made in a second.
    face = cq.Face.makeFromWires(outer, windows)
    plate = cq.Solid.extrudeLinear(face, cq.Vector(0, 0, 4))
    cq.exporters.export(cq.Workplane("XY").add(plate), str(path), "STEP")


def _write_shape(shape: object, path: Path) -> None:
    """Write an OCP shape with the plain STEP writer (keeps loose edges that CadQuery would drop)."""
    from OCP.IFSelect import IFSelect_ReturnStatus
    from OCP.STEPControl import STEPControl_AsIs, STEPControl_Writer

    writer = STEPControl_Writer()
    writer.Transfer(shape, STEPControl_AsIs)
    if writer.Write(str(path)) != IFSelect_ReturnStatus.IFSelect_RetDone:
        raise RuntimeError(f"could not write {path}")


def no_solids(path: Path) -> None:
    """A valid STEP file holding only a sketch: a 50 × 20 mm rectangle of edges, no faces or solids."""
    import cadquery as cq

    wire = cq.Workplane("XY").rect(50, 20).val()
    _write_shape(wire.wrapped, path)


def solid_with_loose_edges(path: Path) -> None:
    """A 40 × 30 × 10 mm block and, as a second body, a compound of construction curves (a line
    and a circle), as NX and other systems export sketches beside the solids."""
    import cadquery as cq

    block = cq.Workplane("XY").box(40, 30, 10).val()
    sketch = cq.Compound.makeCompound(
        [
            cq.Edge.makeLine(cq.Vector(-30, -20, 0), cq.Vector(30, -20, 0)),
            cq.Edge.makeCircle(12, cq.Vector(0, 0, 20)),
        ]
    )
    assy = cq.Assembly(name="bracket_with_sketch")
    assy.add(block, name="block")
    assy.add(sketch, name="sketch")
    assy.export(str(path), "STEP")


def truncated(path: Path) -> None:
    """The plate with holes, cut off in the middle of its DATA section (an interrupted upload)."""
    with tempfile.TemporaryDirectory() as tmp:
        whole = Path(tmp) / "whole.step"
        plate_with_holes(whole)
        data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])


GENERATORS: dict[str, tuple[Callable[[Path], None], Expect]] = {
    "plate_with_holes.step": (plate_with_holes, Expect((120.0, 80.0, 6.0), solids=1)),
    "bent_bracket.step": (bent_bracket, Expect((50.0, 30.0, 40.0), solids=1)),
    "coloured_assembly.step": (
        coloured_assembly,
        Expect((60.0, 40.0, 35.0), solids=2, colours=2),
    ),
    "many_faces.step": (many_faces, Expect((300.0, 300.0, 4.0), solids=1)),
    "solid_with_loose_edges.step": (
        solid_with_loose_edges,
        # The box: loose curves are shown as lines (or left out) but never count as stock.
        Expect(None, solids=1),
    ),
    "no_solids.step": (no_solids, Expect(None, solids=0, converts=False, error="No solids")),
    "truncated.step": (
        truncated,
        Expect(None, solids=0, converts=False, error="could not be read"),
    ),
}
GOOD = [name for name, (_, expect) in GENERATORS.items() if expect.converts]


def cache_key() -> str:
    """Changes when a generator or the CAD kernel changes."""
    import cadquery
    import OCP

    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"{cadquery.__version__}/{getattr(OCP, '__version__', '')}".encode())
    return digest.hexdigest()[:16]


def build(folder: Path | None = None) -> Path:
    """Return a folder holding every fixture, making (and caching) the ones that are missing."""
    if folder is None:
        folder = CACHE_ROOT / cache_key()
    folder.mkdir(parents=True, exist_ok=True)
    for name, (make, _) in GENERATORS.items():
        target = folder / name
        if target.exists() and target.stat().st_size > 0:
            continue
        # Write aside and rename: parallel test processes never see half a file.
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=f"-{name}", dir=folder)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            make(tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    if folder.parent == CACHE_ROOT:
        for old in CACHE_ROOT.iterdir():
            if old.is_dir() and old != folder:
                shutil.rmtree(old, ignore_errors=True)
    return folder


if __name__ == "__main__":
    out = build(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    for item in sorted(out.iterdir()):
        print(f"{item.stat().st_size:>10}  {item}")
