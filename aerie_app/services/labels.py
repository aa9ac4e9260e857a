"""Part labels as a printable PDF: a sheet of sticky labels, or one label a page for a label printer.

Each label carries what a student at a machine needs to match a part to its stack of stock (part
number, name, material and thickness, amount, subsystem) and a QR code of the part's phone card
(``<base>/p/<id>``). QR codes are drawn as vector squares from segno's module matrix, so they
stay sharp at any printer resolution; text uses a Unicode TrueType font when the system has one
(DejaVu, Liberation or Noto Sans), else PDF's built-in Helvetica with what Latin-1 cannot hold
replaced by "?".
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import segno
from fpdf import FPDF
from sqlmodel import Session, col, select

from aerie_app.errors import NotFound, ValidationFailed
from aerie_app.models import Part
from aerie_app.schemas import part_public
from aerie_app.services import partjson
from aerie_app.services.partquery import PartQuery

INCH = 25.4
MAX_LABELS = 2000  # one request's worth; a whole build season is ~600 parts


@dataclass(frozen=True)
class Sheet:
    """A label stock: page size, grid and where the first label sits (all millimetres)."""

    key: str
    title: str
    page_w: float
    page_h: float
    cols: int
    rows: int
    label_w: float
    label_h: float
    left: float = 0.0
    top: float = 0.0
    pitch_x: float = 0.0  # from one label's left edge to the next one's
    pitch_y: float = 0.0

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    def origin(self, slot: int) -> tuple[float, float]:
        """Top-left corner of the label in this slot of its page (row by row)."""
        row, col = divmod(slot, self.cols)
        return self.left + col * (self.pitch_x or self.label_w), self.top + row * (
            self.pitch_y or self.label_h
        )


def _single(key: str, title: str, w: float, h: float) -> Sheet:
    return Sheet(key, title, w, h, 1, 1, w, h)


SHEETS: dict[str, Sheet] = {
    s.key: s
    for s in (
        Sheet(
            "avery-5160",
            "Letter, 30 labels 2⅝ × 1 in (Avery 5160)",
            8.5 * INCH,
            11 * INCH,
            3,
            10,
            2.625 * INCH,
            1 * INCH,
            left=0.1875 * INCH,
            top=0.5 * INCH,
            pitch_x=2.75 * INCH,
            pitch_y=1 * INCH,
        ),
        Sheet(
            "avery-5163",
            "Letter, 10 labels 4 × 2 in (Avery 5163)",
            8.5 * INCH,
            11 * INCH,
            2,
            5,
            4 * INCH,
            2 * INCH,
            left=0.15625 * INCH,
            top=0.5 * INCH,
            pitch_x=4.1875 * INCH,
            pitch_y=2 * INCH,
        ),
        Sheet(
            "avery-l7160",
            "A4, 21 labels 63.5 × 38.1 mm (Avery L7160)",
            210,
            297,
            3,
            7,
            63.5,
            38.1,
            left=7.2,
            top=15.15,
            pitch_x=66.04,
            pitch_y=38.1,
        ),
        Sheet(
            "avery-l7163",
            "A4, 14 labels 99.1 × 38.1 mm (Avery L7163)",
            210,
            297,
            2,
            7,
            99.1,
            38.1,
            left=4.65,
            top=15.15,
            pitch_x=101.6,
            pitch_y=38.1,
        ),
        _single("label-62x29", "Label printer, 62 × 29 mm (Brother DK-11209)", 62, 29),
        _single("label-57x32", "Label printer, 2¼ × 1¼ in (Dymo 30334)", 57.15, 31.75),
        _single("label-102x51", "Label printer, 4 × 2 in (Zebra, Rollo)", 101.6, 50.8),
    )
}
DEFAULT_SHEET = "avery-5160"
SINGLE_SHEET = "label-62x29"

# Where a Unicode sans font usually is (Debian/Ubuntu, Fedora, Arch, macOS).
FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    ),
    ("/Library/Fonts/Arial Unicode.ttf", "/Library/Fonts/Arial Unicode.ttf"),
)


@dataclass(frozen=True)
class Label:
    """What one label says. ``url`` is what its QR code opens."""

    part_id: str
    name: str
    material: str
    thickness: str
    amount: int
    subsystem: str
    url: str
    short: str  # the number under the QR code, for typing when no camera reads it


def sheet_for(key: str | None) -> Sheet:
    if not key:
        return SHEETS[DEFAULT_SHEET]
    sheet = SHEETS.get(key)
    if sheet is None:
        raise ValidationFailed("sheet", f"Unknown label sheet {key!r}; one of: {', '.join(SHEETS)}")
    return sheet


def card_url(base_url: str, part_id: int) -> str:
    """The phone card a label's QR code opens."""
    return f"{base_url.rstrip('/')}/p/{part_id}"


def this_computer_only(base_url: str) -> bool:
    """Whether an address means "this computer" (a phone following a code to it finds nothing)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def label_for(part: dict[str, Any], base_url: str) -> Label:
    """A label from the API's part JSON."""
    thickness = part.get("materialThickness") or part.get("thicknessLabel") or ""
    return Label(
        part_id=str(part.get("partId") or ""),
        name=str(part.get("name") or ""),
        material=str(part.get("material") or ""),
        thickness=str(thickness),
        amount=int(part.get("amount") or 1),
        subsystem=str(part.get("subsystem") or ""),
        url=card_url(base_url, int(part["id"])),
        short=f"#{part['id']}",
    )


@functools.cache
def _font_files() -> tuple[str, str] | None:
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file() and Path(bold).is_file():
            return regular, bold
    return None


class _Writer:
    """One PDF of labels; text is fitted to the label (shrunk a little, then cut with "…")."""

    def __init__(self, sheet: Sheet, fonts: tuple[str, str] | None) -> None:
        self.sheet = sheet
        self.pdf = FPDF(unit="mm", format=(sheet.page_w, sheet.page_h))
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margin(0)
        self.pdf.set_creator("Aerie")
        self.pdf.set_title("Aerie part labels")
        if fonts:
            self.pdf.add_font("Sans", "", fonts[0])
            self.pdf.add_font("Sans", "B", fonts[1])
            self.family, self.unicode = "Sans", True
        else:
            self.family, self.unicode = "Helvetica", False

    def _text(self, value: str) -> str:
        value = " ".join(value.split())
        if self.unicode:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")

    def _fit(self, value: str, width: float, size: float, style: str = "") -> tuple[str, float]:
        """The text and font size (pt) that fit ``width``: down to 80 % of ``size``, then cut."""
        text = self._text(value)
        for pt in (size, size * 0.9, size * 0.8):
            self.pdf.set_font(self.family, style, pt)
            if self.pdf.get_string_width(text) <= width:
                return text, pt
        ellipsis = "…" if self.unicode else "..."
        while text and self.pdf.get_string_width(text + ellipsis) > width:
            text = text[:-1]
        return (text.rstrip() + ellipsis) if text else "", pt

    def _line(
        self, x: float, y: float, w: float, value: str, size: float, style: str = ""
    ) -> float:
        """Write one line at (x, y) (its top); returns the y of the next line."""
        if not value:
            return y
        text, pt = self._fit(value, w, size, style)
        self.pdf.set_font(self.family, style, pt)
        height = pt * 0.3528 * 1.2  # points to mm, with a little leading
        self.pdf.set_xy(x, y)
        self.pdf.cell(w, height, text)
        return y + height

    def _qr(self, url: str, x: float, y: float, size: float) -> None:
        code = segno.make(url, error="m", micro=False)
        matrix = code.matrix
        n = len(matrix)
        module = size / n
        self.pdf.set_fill_color(0, 0, 0)
        for r, row in enumerate(matrix):
            c = 0
            while c < n:
                if row[c]:
                    start = c
                    while c < n and row[c]:
                        c += 1
                    self.pdf.rect(
                        x + start * module, y + r * module, (c - start) * module, module, style="F"
                    )
                else:
                    c += 1

    def label(self, item: Label, x: float, y: float) -> None:
        s = self.sheet
        pad = min(2.0, s.label_h * 0.07)
        # The QR code needs a quiet zone of 4 modules; ~2 mm of white around it is enough here
        # (29 modules at ~0.9 mm on the smallest label).
        qr = s.label_h - 2 * pad
        self._qr(item.url, x + pad, y + pad, qr - 3.2)
        self.pdf.set_font(self.family, "", 6)
        self.pdf.set_xy(x + pad, y + pad + qr - 3.0)
        self.pdf.cell(qr - 3.2, 3.0, item.short, align="C")
        tx = x + pad + qr + pad
        tw = s.label_w - (tx - x) - pad
        big = min(12.0, s.label_h * 0.36)
        small = big * 0.72
        ty = y + pad
        ty = self._line(tx, ty, tw, item.part_id or item.name, big, "B")
        if item.part_id:
            ty = self._line(tx, ty, tw, item.name, small)
        stock = " ".join(v for v in (item.material, item.thickness) if v)
        ty = self._line(tx, ty, tw, stock, small)
        amount = f"× {item.amount}"
        ty = self._line(
            tx, ty, tw, f"{amount} · {item.subsystem}" if item.subsystem else amount, small
        )

    def write(self, items: Sequence[Label], start: int) -> bytes:
        slot = start % self.sheet.per_page
        self.pdf.add_page()
        for item in items:
            if slot == self.sheet.per_page:
                self.pdf.add_page()
                slot = 0
            x, y = self.sheet.origin(slot)
            self.label(item, x, y)
            slot += 1
        return bytes(self.pdf.output())


def labels_pdf(items: Iterable[Label], *, sheet: Sheet, start: int = 0) -> bytes:
    """A PDF with one label per item, row by row from slot ``start`` of the first page (the
    labels a partly used sheet has already lost are skipped)."""
    rows = list(items)
    if not rows:
        raise ValidationFailed("ids", "No parts to label: pick parts, or a view that shows some")
    if len(rows) > MAX_LABELS:
        raise ValidationFailed(
            "ids", f"{len(rows)} labels is more than {MAX_LABELS} at once; narrow the view"
        )
    if not 0 <= start < sheet.per_page:
        raise ValidationFailed(
            "start", f"start must be between 0 and {sheet.per_page - 1} on this sheet"
        )
    return _Writer(sheet, _font_files()).write(rows, start)


def parse_ids(raw: str) -> list[int]:
    """Part ids as a client sends them: ``3,7,12`` (spaces allowed; order kept, repeats dropped)."""
    out: list[int] = []
    for piece in raw.split(","):
        text = piece.strip()
        if not text:
            continue
        if not (text.isascii() and text.isdigit() and len(text) <= 10) or not (
            1 <= int(text) <= 2**31 - 1
        ):
            raise ValidationFailed("ids", f"ids must be part ids separated by commas, not {text!r}")
        value = int(text)
        if value not in out:
            out.append(value)
    if len(out) > MAX_LABELS:
        raise ValidationFailed("ids", f"{len(out)} labels is more than {MAX_LABELS} at once")
    return out


def parts_for_labels(
    session: Session, *, ids: Sequence[int] | None, query: PartQuery
) -> list[dict[str, Any]]:
    """The part JSON of the picked parts (in the order given), or of every part the board's
    query matches (its paging ignored). An id that names no part is a 404 naming it."""
    if ids:
        found = {p.id: p for p in session.exec(select(Part).where(col(Part.id).in_(ids)))}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(
                f"No part with id {', '.join(map(str, missing[:10]))}", {"ids": missing[:50]}
            )
        return [part_public(found[i]) for i in ids]
    return partjson.every_match(session, query)
