"""Headless PNG thumbnails of a GLB with numpy + Pillow only: flat-shaded, orthographic, supersampled."""

from __future__ import annotations

import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

# Linear-space grey-blue for geometry without a material (the goBILDA exports carry no colours).
DEFAULT_COLOUR_LINEAR = np.array([0.33, 0.38, 0.46], dtype=np.float64)
SUPERSAMPLE = 2
MARGIN = 0.06
_LIGHT_CAMERA = np.array([-0.4, 0.6, 0.7])  # upper-left, from the viewer's side: reads as "lit"


@dataclass
class RenderMesh:
    """A flat triangle soup ready to draw: world positions (glTF Y-up) and one linear RGB per face."""

    vertices: NDArray[np.float64]  # (n, 3)
    faces: NDArray[np.int64]  # (m, 3)
    face_colours: NDArray[np.float64]  # (m, 3), linear 0..1


def _srgb_to_linear_u8(rgb_u8: NDArray[np.float64]) -> NDArray[np.float64]:
    # glTF base colours are linear already, trimesh just scaled them to 0..255.
    return np.clip(rgb_u8 / 255.0, 0.0, 1.0)


def load_mesh(glb_path: Path) -> RenderMesh:
    """Flatten every instanced node of the GLB into one triangle soup with per-face colours."""
    import trimesh  # local: trimesh is heavy and only the worker renders

    scene = trimesh.load(str(glb_path), file_type="glb", force="scene", process=False)
    verts: list[NDArray[np.float64]] = []
    faces: list[NDArray[np.int64]] = []
    colours: list[NDArray[np.float64]] = []
    offset = 0
    for node in scene.graph.nodes_geometry:
        transform, geom_name = scene.graph[node]
        geom = scene.geometry.get(geom_name)
        if geom is None or not hasattr(geom, "faces") or len(geom.faces) == 0:
            continue
        v = trimesh.transform_points(np.asarray(geom.vertices, dtype=np.float64), transform)
        f = np.asarray(geom.faces, dtype=np.int64)
        colour = DEFAULT_COLOUR_LINEAR
        visual = geom.visual
        if visual is not None and visual.kind == "vertex":
            vc = np.asarray(visual.vertex_colors, dtype=np.float64)[:, :3]
            face_rgb = _srgb_to_linear_u8(vc[f].mean(axis=1))
        else:
            material = getattr(visual, "material", None)
            main = getattr(material, "main_color", None)
            if main is not None:
                colour = _srgb_to_linear_u8(np.asarray(main, dtype=np.float64)[:3])
            face_rgb = np.broadcast_to(colour, (len(f), 3))
        verts.append(v)
        faces.append(f + offset)
        colours.append(np.asarray(face_rgb, dtype=np.float64))
        offset += len(v)
    if not faces:
        raise ValueError("the model has no triangles to draw")
    return RenderMesh(np.concatenate(verts), np.concatenate(faces), np.concatenate(colours))


def _as_mesh(source: Path | str | RenderMesh) -> RenderMesh:
    return source if isinstance(source, RenderMesh) else load_mesh(Path(source))


def _view_rotation(azimuth_deg: float, elevation_deg: float) -> NDArray[np.float64]:
    """Rows = camera right, up, towards-viewer, for a camera orbiting the Y (up) axis."""
    az = math.radians(azimuth_deg)
    el = math.radians(elevation_deg)
    # Spin the model about Y, then tilt it towards the viewer about X.
    ry = np.array([[math.cos(az), 0, math.sin(az)], [0, 1, 0], [-math.sin(az), 0, math.cos(az)]])
    rx = np.array([[1, 0, 0], [0, math.cos(el), -math.sin(el)], [0, math.sin(el), math.cos(el)]])
    rotation: NDArray[np.float64] = rx @ ry
    return rotation


def _render(mesh: RenderMesh, size: int, azimuth_deg: float, elevation_deg: float) -> Image.Image:
    big = size * SUPERSAMPLE
    rot = _view_rotation(azimuth_deg, elevation_deg)
    cam = mesh.vertices @ rot.T  # x right, y up, z towards the viewer
    tri = cam[mesh.faces]  # (m, 3, 3)

    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    keep = lengths > 0  # degenerate slivers have no normal and cover no pixels
    tri, normals, lengths, colours = (
        tri[keep],
        normals[keep],
        lengths[keep],
        mesh.face_colours[keep],
    )
    normals /= lengths[:, None]
    facing = normals[:, 2] >= 0

    light = _LIGHT_CAMERA / np.linalg.norm(_LIGHT_CAMERA)
    # Two-sided: open surfaces show their back as lit as their front.
    lambert = np.abs(normals @ light)
    shade = 0.28 + 0.72 * lambert
    linear = np.clip(colours * shade[:, None] + 0.04, 0.0, 1.0)
    srgb = np.round(255.0 * linear ** (1 / 2.2)).astype(np.uint8)

    # Fit the projected silhouette into the square with a margin (orthographic, so scale only).
    xy = cam[:, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-12))
    scale = big * (1 - 2 * MARGIN) / span
    centre = (lo + hi) / 2
    px = (tri[:, :, 0] - centre[0]) * scale + big / 2
    py = big / 2 - (tri[:, :, 1] - centre[1]) * scale

    # Painter's algorithm: back faces first (a closed solid's front faces always cover them), then
    # far to near within each group. Sorting on the nearest vertex keeps thin slivers in front.
    depth = tri[:, :, 2].max(axis=1)
    order = np.lexsort((depth, facing))

    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    # Straight to Pillow's C drawing core: ImageDraw.polygon's per-call colour parsing costs more
    # than the rasterising. An RGBA "ink" is the little-endian packed pixel as a signed int32.
    rgb = srgb[order].astype(np.uint32)
    inks = (rgb[:, 0] | (rgb[:, 1] << 8) | (rgb[:, 2] << 16) | np.uint32(0xFF000000)).view(np.int32)
    flat = np.stack([px, py], axis=2)[order].reshape(-1, 6).tolist()
    draw_polygon = ImageDraw.Draw(image).draw.draw_polygon
    for pts, ink in zip(flat, inks.tolist(), strict=True):
        draw_polygon(pts, ink, 1)
    return image.resize((size, size), Image.Resampling.BOX)


def _save_atomic(image: Image.Image, png_path: Path) -> Path:
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = png_path.with_name(f".{png_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        image.save(tmp, format="PNG", optimize=False)
        os.replace(tmp, png_path)
    finally:
        tmp.unlink(missing_ok=True)
    return png_path


def render_thumbnail(
    glb_path: Path | str | RenderMesh,
    png_path: Path,
    size: int = 256,
    azimuth_deg: float = 35,
    elevation_deg: float = 25,
) -> Path:
    """Render one shaded view (transparent background) to ``png_path``; a loaded RenderMesh is accepted too."""
    mesh = _as_mesh(glb_path)
    return _save_atomic(_render(mesh, size, azimuth_deg, elevation_deg), png_path)


def render_turntable(
    glb_path: Path | str | RenderMesh,
    out_dir: Path,
    count: int = 8,
    size: int = 256,
    elevation_deg: float = 25,
) -> list[Path]:
    """Render ``count`` views evenly around the vertical axis as ``view_0.png`` ... in ``out_dir``."""
    mesh = _as_mesh(glb_path)
    out_dir = Path(out_dir)
    paths = []
    for i in range(count):
        image = _render(mesh, size, 360.0 * i / count, elevation_deg)
        paths.append(_save_atomic(image, out_dir / f"view_{i}.png"))
    return paths
