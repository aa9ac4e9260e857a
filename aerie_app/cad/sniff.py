"""Decide what an upload is from its extension and its first bytes, before anything expensive runs."""

from __future__ import annotations

import struct
from enum import Enum
from pathlib import PurePath

from aerie_app.errors import BadRequest, InvalidFile


class FileKind(str, Enum):
    STEP = "step"
    PDF = "pdf"
    STL = "stl"
    GLB = "glb"


_EXTENSIONS: dict[str, FileKind] = {
    ".step": FileKind.STEP,
    ".stp": FileKind.STEP,
    ".pdf": FileKind.PDF,
    ".stl": FileKind.STL,
    ".glb": FileKind.GLB,
}
ALLOWED_DETAILS = "Allowed: .step, .stp, .pdf, .stl, .glb"
STEP_MAGIC = b"ISO-10303-21"
# Bytes worth reading for detect_kind: enough for a STEP header behind a BOM and blank lines.
SNIFF_BYTES = 1024


def _strip_leading(head: bytes) -> bytes:
    """Drop a UTF-8 BOM and leading whitespace, which some exporters write before the magic."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip(b" \t\r\n\f\v\x00")


def step_header_problem(head: bytes) -> str | None:
    """Return a plain reason when ``head`` cannot be the start of a STEP file, else None."""
    if not head:
        return "The file is empty"
    if not _strip_leading(head).startswith(STEP_MAGIC):
        return "This is not a STEP file: it does not start with ISO-10303-21"
    return None


def _looks_like_ascii_stl(head: bytes) -> bool:
    body = _strip_leading(head)
    if body[:5].lower() != b"solid":
        return False
    # Some binary STLs also begin with "solid" in their 80-byte header; real ASCII ones
    # say "facet" or "endsolid" soon after and contain no NUL bytes.
    sample = body[:SNIFF_BYTES]
    return b"\x00" not in sample and (b"facet" in sample or b"endsolid" in sample or len(body) < 84)


def _looks_like_binary_stl(head: bytes, size: int | None) -> bool:
    if len(head) < 84:
        return False
    (count,) = struct.unpack("<I", head[80:84])
    if size is not None:
        return bool(size == 84 + 50 * int(count))
    # Only the head is known: accept any plausible count (the mesh loader checks the rest).
    return True


def detect_kind(head: bytes, filename: str, size: int | None = None) -> FileKind:
    """Return the kind of an upload from its name and first bytes (``size`` = full length when known).

    Raises BadRequest for an extension Aerie does not accept and InvalidFile when the
    content does not match the extension.
    """
    suffix = PurePath(filename or "").suffix.lower()
    kind = _EXTENSIONS.get(suffix)
    if kind is None:
        raise BadRequest("Invalid file type", details=ALLOWED_DETAILS)
    if not head:
        raise InvalidFile("The file is empty")

    if kind is FileKind.STEP:
        if not _strip_leading(head).startswith(STEP_MAGIC):
            raise InvalidFile(
                f"This {suffix} file is not a STEP file: it does not start with ISO-10303-21"
            )
    elif kind is FileKind.PDF:
        # The PDF spec lets readers find %PDF within the first 1024 bytes; exporters rarely use that.
        if b"%PDF" not in head[:SNIFF_BYTES]:
            raise InvalidFile("This .pdf file is not a PDF: it does not start with %PDF")
    elif kind is FileKind.GLB:
        if not head.startswith(b"glTF"):
            raise InvalidFile("This .glb file is not a binary glTF model: it lacks the glTF header")
    elif kind is FileKind.STL and not (
        _looks_like_ascii_stl(head) or _looks_like_binary_stl(head, size)
    ):
        raise InvalidFile(
            "This .stl file is not an STL mesh: it is neither ASCII STL nor binary STL"
        )
    return kind


def kind_from_name(filename: str) -> FileKind:
    """The kind an upload claims by its extension alone (BadRequest if Aerie does not take it)."""
    kind = _EXTENSIONS.get(PurePath(filename or "").suffix.lower())
    if kind is None:
        raise BadRequest("Invalid file type", details=ALLOWED_DETAILS)
    return kind
