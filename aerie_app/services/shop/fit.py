"""Pure fit rules: which machines can make a part, the nearest miss when none can, its stock.

No database here: :mod:`aerie_app.services.shop.recompute` loads machines, stock and parts and
calls these per part. Sizes are millimetres throughout.

- Sheet processes (router, laser, waterjet): the part's thickness axis is the machine's Z; the
  other two dimensions may turn in the XY plane (by 90°; a diagonal placement is not tried).
- Printer, mill and a hand process with an envelope: any axis permutation.
- Lathe: the diameter needed is the larger of the two smaller dimensions, the length the largest.
- Material: a machine with a materials list cuts those keys (and the alloys of a family).
- Thickness range: the part's stock thickness must lie within the machine's min/max.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aerie_app.cad.materials import compatible, material_key
from aerie_app.models import FitStatus, Process, StockKind
from aerie_app.units import length_label, number, parse_length_mm, size_label
from aerie_app.units import thickness_label as _thickness_label

SHEET_PROCESSES = frozenset({Process.ROUTER, Process.LASER, Process.WATERJET})
EPS_MM = 1e-6
# Two thicknesses this close are the same stock (1/4 in sheet vs a 6.35 mm model).
STOCK_TOLERANCE_MM = 0.1
# A model is a plate when its smallest size is at most a quarter of the middle one and 2 in.
PLATE_RATIO = 4.0
PLATE_MAX_MM = 50.8
_AREA_WORD = {
    Process.ROUTER: "bed",
    Process.LASER: "bed",
    Process.WATERJET: "bed",
    Process.MILL: "envelope",
    Process.PRINTER: "build volume",
    Process.HAND: "envelope",
}


@dataclass(frozen=True)
class MachineSpec:
    id: int
    name: str
    process: Process
    x: float | None
    y: float | None
    z: float | None
    units: str = "mm"
    materials: tuple[str, ...] = ()
    min_thickness: float | None = None
    max_thickness: float | None = None
    margin: float = 0.0


@dataclass(frozen=True)
class StockSpec:
    id: int
    material: str  # a material key
    thickness: float
    kind: StockKind
    x: float  # sheet: X size; bar: length
    y: float | None  # sheet: Y size; bar: None
    count: int

    @property
    def label(self) -> str:
        return stock_label(self.material, self.thickness, self.kind, self.x, self.y)


@dataclass(frozen=True)
class PartShape:
    """What the rules read of a part: its model's box, material text and stock thickness."""

    dims: tuple[float, float, float] | None
    material: str
    thickness: float | None


@dataclass(frozen=True)
class Miss:
    """Why one machine cannot make a part; the smallest ``rank`` is the nearest miss."""

    machine: MachineSpec
    kinds: tuple[str, ...]  # "envelope", "thickness", "material"
    over_mm: float
    text: str

    @property
    def rank(self) -> tuple[int, int, float]:
        order = {"envelope": 0, "thickness": 1, "material": 2}
        return (len(self.kinds), min(order[k] for k in self.kinds), self.over_mm)


@dataclass(frozen=True)
class FitResult:
    status: FitStatus
    machines: tuple[MachineSpec, ...] = ()
    reason: str | None = None

    def machines_json(self) -> list[dict[str, Any]] | None:
        return [{"id": m.id, "name": m.name} for m in self.machines] or None


def stock_label(material: str, thickness: float, kind: StockKind, x: float, y: float | None) -> str:
    """``1/4 in aluminium 6061 sheet, 24 × 48 in`` / ``1/2 in acetal bar, 36 in long``."""
    head = f"{_thickness_label(thickness)} {material} {kind.value}"
    if kind is StockKind.BAR or y is None:
        return f"{head}, {size_label([x])} long"
    return f"{head}, {size_label([x, y])}"


def plate_thickness(dims: tuple[float, float, float] | None) -> float | None:
    """The smallest size of a plate-like model (thin against the other two), else None."""
    if dims is None:
        return None
    a, b, _ = sorted(dims)
    if a > EPS_MM and a * PLATE_RATIO <= b and a <= PLATE_MAX_MM:
        return round(a, 4)
    return None


def part_thickness(
    material_thickness: str | None, dims: tuple[float, float, float] | None
) -> float | None:
    """The part's stock thickness: its typed material thickness when it parses, else the plate's."""
    typed = parse_length_mm(material_thickness) if material_thickness else None
    return typed if typed is not None else plate_thickness(dims)


def _mm(value: float) -> str:
    return f"{number(value, 1)} mm"


def _over(need: float, limit: float) -> float:
    return need - limit if need > limit + EPS_MM else 0.0


def _envelope_misses(machine: MachineSpec, shape: PartShape) -> list[tuple[float, str]]:
    """(excess, clause) for every axis the part is too big on, in its best orientation."""
    assert shape.dims is not None
    dims = sorted(shape.dims)
    name, units = machine.name, machine.units
    out: list[tuple[float, str]] = []

    def check(need: float, limit: float | None, what: str, axis: str | None) -> None:
        if limit is None:
            return
        over = _over(need, limit)
        if over:
            where = f" on {axis}" if axis else ""
            out.append(
                (
                    over,
                    f"{_mm(need)} > {length_label(limit, units)} {name} {what} by {_mm(over)}{where}",
                )
            )

    if machine.process is Process.LATHE:
        check(dims[1], machine.x, "max diameter", None)
        check(dims[2], machine.y, "max length", None)
        return out
    word = _AREA_WORD.get(machine.process, "envelope")
    if machine.process in SHEET_PROCESSES:
        t = shape.thickness if shape.thickness is not None else dims[0]
        axis = min(range(3), key=lambda i: abs(dims[i] - t))
        flat = [d for i, d in enumerate(dims) if i != axis]
        bed = sorted(
            [(v, label) for v, label in ((machine.x, "X"), (machine.y, "Y")) if v is not None]
        )
        for need, (limit, label) in zip(flat, bed, strict=False):
            check(need, limit, word, label)
        check(dims[axis], machine.z, "Z clearance", None)
        return out
    axes = sorted(
        [
            (v, label)
            for v, label in ((machine.x, "X"), (machine.y, "Y"), (machine.z, "Z"))
            if v is not None
        ]
    )
    for need, (limit, label) in zip(dims[3 - len(axes) :], axes, strict=False):
        check(need, limit, word, label)
    return out


def check_machine(machine: MachineSpec, shape: PartShape, key: str | None) -> Miss | None:
    """None when ``machine`` can make the part, else what stops it."""
    kinds: list[str] = []
    clauses: list[str] = []
    over = 0.0
    if machine.materials and (
        key is None or not any(compatible(m, key) for m in machine.materials)
    ):
        kinds.append("material")
        clauses.append(f"{machine.name} does not cut {key or shape.material or 'unknown material'}")
    misses = _envelope_misses(machine, shape)
    if misses:
        kinds.append("envelope")
        over = max(o for o, _ in misses)
        clauses.extend(text for _, text in sorted(misses, reverse=True))
    t = shape.thickness
    if t is None and machine.process in SHEET_PROCESSES and shape.dims is not None:
        t = min(shape.dims)
    if t is not None:
        low, high = machine.min_thickness, machine.max_thickness
        if low is not None and t < low - EPS_MM:
            kinds.append("thickness")
            over = max(over, low - t)
            clauses.append(
                f"{_mm(t)} < {machine.name} min thickness {length_label(low, machine.units)}"
            )
        if high is not None and t > high + EPS_MM:
            kinds.append("thickness")
            over = max(over, t - high)
            clauses.append(
                f"{_mm(t)} > {machine.name} max thickness {length_label(high, machine.units)} by {_mm(t - high)}"
            )
    if not kinds:
        return None
    return Miss(machine, tuple(dict.fromkeys(kinds)), over, "; ".join(clauses))


def fit_part(shape: PartShape, machines: Sequence[MachineSpec]) -> FitResult:
    """Which of ``machines`` (the enabled ones) can make the part, or the nearest miss."""
    if shape.dims is None or not all(d > 0 for d in shape.dims):
        return FitResult(FitStatus.NO_MODEL)
    if not machines:
        return FitResult(FitStatus.UNKNOWN, reason="No machines are set up")
    key = material_key(shape.material)
    fits: list[MachineSpec] = []
    misses: list[Miss] = []
    for machine in machines:
        miss = check_machine(machine, shape, key)
        if miss is None:
            fits.append(machine)
        else:
            misses.append(miss)
    if fits:
        return FitResult(FitStatus.FITS, tuple(fits))
    nearest = min(misses, key=lambda m: m.rank)
    return FitResult(FitStatus.NONE, reason=nearest.text[:500])


def footprint(shape: PartShape) -> tuple[float, float] | None:
    """The two sizes other than the thickness (the plate's outline), largest first."""
    if shape.dims is None:
        return None
    dims = sorted(shape.dims)
    t = shape.thickness if shape.thickness is not None else dims[0]
    axis = min(range(3), key=lambda i: abs(dims[i] - t))
    a, b = (d for i, d in enumerate(dims) if i != axis)
    return (b, a)


def _big_enough(stock: StockSpec, shape: PartShape) -> bool:
    if shape.dims is None:
        return True
    if stock.kind is StockKind.BAR or stock.y is None:
        return max(shape.dims) <= stock.x + EPS_MM
    outline = footprint(shape)
    assert outline is not None
    long_side, short_side = outline
    sheet = sorted((stock.x, stock.y), reverse=True)
    return long_side <= sheet[0] + EPS_MM and short_side <= sheet[1] + EPS_MM


def match_stock(
    shape: PartShape, stock: Sequence[StockSpec]
) -> tuple[StockSpec | None, str | None]:
    """The stock item the part comes from, and a note when there is none (or none on hand).

    Same material (see :func:`compatible`), thickness within 0.1 mm, and big enough for the
    part's outline; of several, one with pieces on hand first, then the smallest.
    """
    if shape.thickness is None:
        return None, None
    key = material_key(shape.material)
    name = key or (shape.material.strip() or "unknown material")
    wanted = f"{_thickness_label(shape.thickness)} {name}"
    same = [
        s
        for s in stock
        if key is not None
        and compatible(s.material, key)
        and abs(s.thickness - shape.thickness) <= STOCK_TOLERANCE_MM
    ]
    if not same:
        return None, f"No stock of {wanted}"
    sized = [s for s in same if _big_enough(s, shape)]
    if not sized:
        outline = footprint(shape)
        need = size_label(list(outline)) if outline else "the part"
        biggest = max(same, key=lambda s: s.x * (s.y or 1.0))
        return None, f"{wanted} stock ({biggest.label}) is too small for {need}"
    best = min(sized, key=lambda s: (s.count <= 0, s.x * (s.y or 1.0), s.id))
    return best, (f"None on hand: {best.label}" if best.count <= 0 else None)
