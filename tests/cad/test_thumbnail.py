"""The headless renderer: right size, not blank, distinct turntable views, fast enough."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.cad

pytest.importorskip("OCP")

from aerie_app.cad.convert import convert_step  # noqa: E402
from aerie_app.cad.thumbnail import load_mesh, render_thumbnail, render_turntable  # noqa: E402


@pytest.fixture(scope="module")
def canivore_glb(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    glb = tmp_path_factory.mktemp("thumb") / "canivore.glb"
    convert_step(corpus_dir / "ctre_canivore.step", glb)
    return glb


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGBA"), dtype=np.float64)


def test_thumbnail_is_a_non_blank_png(canivore_glb: Path, tmp_path: Path) -> None:
    png = render_thumbnail(canivore_glb, tmp_path / "thumb.png", size=200)
    assert png == tmp_path / "thumb.png"
    with Image.open(png) as im:
        assert im.size == (200, 200)
    px = _pixels(png)
    covered = px[..., 3] > 0
    # The model fills a good part of the frame but not all of it (margins stay transparent).
    assert 0.15 < covered.mean() < 0.95
    assert px[covered][:, :3].std() > 10  # shaded, not one flat colour
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thumb.png"]


def test_colours_come_from_materials(canivore_glb: Path, tmp_path: Path) -> None:
    px = _pixels(render_thumbnail(canivore_glb, tmp_path / "t.png"))
    opaque = px[px[..., 3] == 255][:, :3].astype(int)
    distinct = {tuple(c // 32) for c in opaque}
    assert len(distinct) >= 4  # CANivore has a black, green, grey and white parts


def test_turntable_gives_distinct_views(canivore_glb: Path, tmp_path: Path) -> None:
    views = render_turntable(canivore_glb, tmp_path / "views", count=8, size=128)
    assert [p.name for p in views] == [f"view_{i}.png" for i in range(8)]
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in views}
    assert len(digests) == 8
    for p in views:
        assert _pixels(p)[..., 3].mean() > 10


def test_render_speed_40k_triangles(corpus_dir: Path, tmp_path: Path) -> None:
    glb = tmp_path / "servo.glb"
    convert_step(corpus_dir / "gobilda_servo_hs488hb.step", glb)
    mesh = load_mesh(glb)
    assert len(mesh.faces) > 40_000
    started = time.perf_counter()
    render_thumbnail(mesh, tmp_path / "servo.png", size=256)
    assert time.perf_counter() - started < 1.0
