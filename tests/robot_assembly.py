"""A whole-robot assembly generated with CadQuery: hundreds of bodies and tens of MB of STEP.

FRC teams upload drivetrains and whole robots of 50-300 MB with hundreds of bodies. This makes one
of that kind, so the converter, the memory cap and the viewer's tree can be measured and tested on
a fresh clone: a drivetrain with two side rails, a belly pan cut by a hexagonal lightening pattern
(most of the file's bytes: thousands of faces), four wheels, gearbox plates, spacers and a few
hundred bolts (a handful of bolt shapes, each placed many times, as a real robot's hardware is).

Nothing here uses boolean operations: every plate is a face with its outline and its holes as
wires, extruded, so even the full-size model is written in under a minute. The model is named
per body (``bolt_042``, ``wheel_fl``...) and coloured per kind.

``python -m tests.robot_assembly [FILE] [--scale S]`` writes one (default: cached under
tests/.step-cache); ``--scale`` multiplies the belly pan's pattern (1.0 ≈ 50+ MB, 300+ bodies).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import tempfile
from pathlib import Path

from tests.step_fixtures import CACHE_ROOT, cache_key


def _hexagon(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    return [
        (
            cx + r * math.cos(math.pi / 6 + k * math.pi / 3),
            cy + r * math.sin(math.pi / 6 + k * math.pi / 3),
        )
        for k in range(6)
    ]


def _plate(
    outline: list[tuple[float, float]],
    holes: list[list[tuple[float, float]]],
    circles: list[tuple[float, float, float]],
    thickness: float,
):  # type: ignore[no-untyped-def]
    """A flat plate in XY from z=0: outline and holes as polygons, round holes as (x, y, radius)."""
    import cadquery as cq

    outer = cq.Wire.makePolygon([cq.Vector(x, y, 0) for x, y in outline], close=True)
    inner = [cq.Wire.makePolygon([cq.Vector(x, y, 0) for x, y in h], close=True) for h in holes]
    inner += [cq.Wire.makeCircle(r, cq.Vector(x, y, 0), cq.Vector(0, 0, 1)) for x, y, r in circles]
    face = cq.Face.makeFromWires(outer, inner)
    return cq.Solid.extrudeLinear(face, cq.Vector(0, 0, thickness))


def _rect(w: float, h: float) -> list[tuple[float, float]]:
    return [(0, 0), (w, 0), (w, h), (0, h)]


def build_robot(path: Path, scale: float = 1.0) -> dict[str, int]:
    """Write the assembly to ``path``; return its body and kind counts."""
    import cadquery as cq

    length, width = 900.0, 640.0
    assy = cq.Assembly(name="robot")
    counts: dict[str, int] = {}

    def add(shape, name: str, kind: str, loc: cq.Location, color: cq.Color) -> None:  # type: ignore[no-untyped-def]
        assy.add(shape, name=name, loc=loc, color=color)
        counts[kind] = counts.get(kind, 0) + 1

    grey, blue, black, gold = (
        cq.Color(0.62, 0.64, 0.67),
        cq.Color(0.12, 0.3, 0.75),
        cq.Color(0.08, 0.08, 0.09),
        cq.Color(0.8, 0.65, 0.2),
    )

    # Belly pan: a hexagonal lightening pattern, thousands of faces.
    r = 6.8 / math.sqrt(scale)
    pitch_x, pitch_y = r * 2.2, r * 1.95
    hexes = []
    for j in range(int((width - 80) / pitch_y)):
        for i in range(int((length - 80) / pitch_x)):
            cx = 40 + pitch_x * (i + (0.5 if j % 2 else 0.0)) + r
            cy = 40 + pitch_y * j + r
            if cx + r < length - 40 and cy + r < width - 40:
                hexes.append(_hexagon(cx, cy, r))
    pan = _plate(_rect(length, width), hexes, [], 3.0)
    add(pan, "belly_pan", "pan", cq.Location((0, 0, 0)), grey)

    # Side rails: 2 × 1 in bars with a 1/2 in hole pattern along them.
    rail_holes = [(12.7 + 12.7 * i, 25.4, 2.5) for i in range(int((length - 25.4) / 12.7))]
    rail = _plate(_rect(length, 50.8), [], rail_holes, 25.4)
    for k, y in enumerate((0.0, width - 25.4)):
        add(
            rail,
            f"rail_{'left' if k == 0 else 'right'}",
            "rail",
            cq.Location((0, y + 25.4 if k else y, 3.0), (1, 0, 0), 90),
            blue,
        )

    # Wheels: 4 in discs with round spoke windows.
    spokes = [
        (38.0 * math.cos(a), 38.0 * math.sin(a), 11.0)
        for a in (2 * math.pi * k / 10 for k in range(10))
    ]
    hub = [(0.0, 0.0, 6.35)]
    wheel_outline = [
        (50.8 * math.cos(2 * math.pi * k / 64), 50.8 * math.sin(2 * math.pi * k / 64))
        for k in range(64)
    ]
    wheel = _plate(wheel_outline, [], spokes + hub, 38.1)
    for name, x, y in (
        ("fl", 120, -30),
        ("fr", 120, width + 30),
        ("rl", length - 120, -30),
        ("rr", length - 120, width + 30),
    ):
        add(wheel, f"wheel_{name}", "wheel", cq.Location((x, y, 50), (1, 0, 0), 90), black)

    # Gearbox plates: 8 of them, each with its own bearing and bolt holes (unique shapes).
    for g in range(8):
        bearing = (60.0, 50.0, 14.3)
        holes = [
            (x, y, r)
            for x, y, r in (
                (30 + 14 * i, 20 + 14 * j, 2.1 + 0.05 * g) for i in range(8) for j in range(5)
            )
            # No bolt hole cuts into the bearing bore: a valid face's holes never cross.
            if math.hypot(x - bearing[0], y - bearing[1]) > bearing[2] + r + 1.0
        ]
        holes.append(bearing)
        plate = _plate(_rect(150, 100), [], holes, 6.35)
        x = 80 + (g % 4) * 200
        y = 60 if g < 4 else width - 160
        add(plate, f"gearbox_plate_{g + 1}", "gearbox plate", cq.Location((x, y, 30)), grey)

    # Spacers and bolts: a few shapes, placed many times (instances, as in a real robot).
    spacer = cq.Solid.makeCylinder(6.35, 25.4).cut(cq.Solid.makeCylinder(2.6, 25.4))
    for k in range(40):
        add(spacer, f"spacer_{k + 1:03d}", "spacer", cq.Location((40 + 20 * k, 320, 3)), gold)

    def bolt(length_mm: float):  # type: ignore[no-untyped-def]
        head = cq.Solid.extrudeLinear(
            cq.Face.makeFromWires(
                cq.Wire.makePolygon(
                    [cq.Vector(x, y, 0) for x, y in _hexagon(0, 0, 4.4)], close=True
                )
            ),
            cq.Vector(0, 0, 3.5),
        )
        shank = cq.Solid.makeCylinder(2.5, length_mm, cq.Vector(0, 0, -length_mm))
        return head.fuse(shank)

    bolts = [bolt(float(n)) for n in (8, 12, 16, 20, 25, 30)]
    spots = [
        (12.7 + 12.7 * i, side, z)
        for z in (12.0, 28.4, 44.8)
        for i in range(int((length - 25.4) / 12.7))
        for side in (0, 1)
    ]
    for n, (x, side, z) in enumerate(spots[:300]):
        y = -6.0 if side == 0 else width + 6.0
        add(
            bolts[n % len(bolts)],
            f"bolt_{n + 1:03d}",
            "bolt",
            cq.Location((x, y, z), (1, 0, 0), 90 if side == 0 else -90),
            black,
        )

    assy.export(str(path), "STEP")
    counts["bodies"] = sum(counts.values())
    return counts


def cached(scale: float = 1.0) -> Path:
    """The assembly at ``scale``, made once per version of this generator and of the CAD kernel."""
    folder = CACHE_ROOT / cache_key()
    folder.mkdir(parents=True, exist_ok=True)
    version = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8]
    name = f"robot_assembly-x{scale:g}-{version}.step"
    target = folder / name
    if target.exists() and target.stat().st_size > 0:
        return target
    for old in folder.glob(f"robot_assembly-x{scale:g}-*.step"):
        old.unlink(missing_ok=True)  # an older generator's
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=f"-{name}", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        build_robot(tmp, scale)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    if args.file:
        print(build_robot(args.file, args.scale))
    else:
        print(cached(args.scale))
