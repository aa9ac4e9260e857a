"""The headless renderer: right size, not blank, colours from materials, distinct turntable views.

(Its speed is measured by bench/convert.py, not asserted here.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.cad

pytest.importorskip("OCP")

from aerie_app.cad.convert import convert_step  # noqa: E402
from aerie_app.cad.thumbnail import render_thumbnail, render_turntable  # noqa: E402


@pytest.fixture(scope="module")
def assembly_glb(steps: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A red base and a blue post."""
    glb = tmp_path_factory.mktemp("thumb") / "assembly.glb"
    convert_step(steps / "coloured_assembly.step", glb)
    return glb


@pytest.fixture(scope="module")
def bracket_glb(steps: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An L bracket: no two turntable angles look alike."""
    glb = tmp_path_factory.mktemp("thumb") / "bracket.glb"
    convert_step(steps / "bent_bracket.step", glb)
    return glb


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGBA"), dtype=np.float64)


def test_thumbnail_is_a_non_blank_png(bracket_glb: Path, tmp_path: Path) -> None:
    png = render_thumbnail(bracket_glb, tmp_path / "thumb.png", size=200)
    assert png == tmp_path / "thumb.png"
    with Image.open(png) as im:
        assert im.size == (200, 200)
    px = _pixels(png)
    covered = px[..., 3] > 0
    # The model fills a good part of the frame but not all of it (margins stay transparent).
    assert 0.15 < covered.mean() < 0.95
    assert px[covered][:, :3].std() > 10  # shaded, not one flat colour
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thumb.png"]


def test_colours_come_from_materials(assembly_glb: Path, tmp_path: Path) -> None:
    px = _pixels(render_thumbnail(assembly_glb, tmp_path / "t.png"))
    opaque = px[px[..., 3] == 255][:, :3]
    red = (opaque[:, 0] > 2 * opaque[:, 2]) & (opaque[:, 0] > 60)
    blue = (opaque[:, 2] > 2 * opaque[:, 0]) & (opaque[:, 2] > 60)
    # The red base and the blue post both show, each a good share of the model's pixels.
    assert red.mean() > 0.05 and blue.mean() > 0.05


def test_turntable_gives_distinct_views(bracket_glb: Path, tmp_path: Path) -> None:
    views = render_turntable(bracket_glb, tmp_path / "views", count=8, size=128)
    assert [p.name for p in views] == [f"view_{i}.png" for i in range(8)]
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in views}
    assert len(digests) == 8
    for p in views:
        assert _pixels(p)[..., 3].mean() > 10
