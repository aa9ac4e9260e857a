"""Unit tests of upload sniffing: extension and content must agree."""

from __future__ import annotations

import struct

import pytest

from aerie_app.cad.sniff import FileKind, detect_kind, step_header_problem
from aerie_app.errors import BadRequest, InvalidFile

pytestmark = pytest.mark.unit

STEP_HEAD = b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('x'),'2;1');\n"
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@pytest.mark.parametrize(
    ("head", "name", "kind"),
    [
        (STEP_HEAD, "bracket.step", FileKind.STEP),
        (STEP_HEAD, "BRACKET.STP", FileKind.STEP),
        (b"\xef\xbb\xbf\r\n  " + STEP_HEAD, "bom.Step", FileKind.STEP),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "drawing.pdf", FileKind.PDF),
        (b"glTF\x02\x00\x00\x00" + b"\x00" * 12, "model.GLB", FileKind.GLB),
        (b"solid cube\n  facet normal 0 0 1\n", "cube.stl", FileKind.STL),
        (b"\x00" * 80 + struct.pack("<I", 2) + b"\x00" * 100, "bin.stl", FileKind.STL),
        # Binary STL whose 80-byte header starts with "solid" (SolidWorks does this).
        (
            b"solid SW export" + b"\x00" * 65 + struct.pack("<I", 1) + b"\x00" * 50,
            "sw.stl",
            FileKind.STL,
        ),
    ],
)
def test_detects_matching_kind(head: bytes, name: str, kind: FileKind) -> None:
    assert detect_kind(head, name) is kind
    assert kind.value in {"step", "pdf", "stl", "glb"}


@pytest.mark.parametrize("name", ["part.png", "part", "part.step.exe", "notes.txt", ""])
def test_unknown_extension_is_bad_request(name: str) -> None:
    with pytest.raises(BadRequest) as info:
        detect_kind(STEP_HEAD, name)
    assert info.value.message == "Invalid file type"
    assert ".step" in str(info.value.details)
    assert info.value.status_code == 400


@pytest.mark.parametrize(
    ("head", "name", "words"),
    [
        (PNG_HEAD, "photo.step", "not a STEP file"),
        (b"hello world", "x.stp", "ISO-10303-21"),
        (STEP_HEAD, "drawing.pdf", "not a PDF"),
        (STEP_HEAD, "model.glb", "glTF"),
        (b"hello", "tiny.stl", "not an STL"),
    ],
)
def test_wrong_content_is_invalid_file(head: bytes, name: str, words: str) -> None:
    with pytest.raises(InvalidFile) as info:
        detect_kind(head, name)
    assert words in info.value.message
    assert info.value.status_code == 422


def test_empty_content_is_invalid() -> None:
    with pytest.raises(InvalidFile, match="The file is empty"):
        detect_kind(b"", "part.step")


def test_binary_stl_size_must_match_when_known() -> None:
    head = b"\x00" * 80 + struct.pack("<I", 10) + b"\x00" * 100
    assert detect_kind(head, "a.stl", size=84 + 50 * 10) is FileKind.STL
    with pytest.raises(InvalidFile):
        detect_kind(head, "a.stl", size=84 + 50 * 9)


def test_step_header_problem() -> None:
    assert step_header_problem(STEP_HEAD) is None
    assert step_header_problem(b"") == "The file is empty"
    assert "ISO-10303-21" in (step_header_problem(PNG_HEAD) or "")
