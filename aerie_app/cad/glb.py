"""Binary glTF at the byte level: read the JSON chunk, count colours, and drop empty primitives.

OCCT's glTF writer gives every free shape of the document a mesh, even one made only of curves
(sketches or construction geometry that NX and other systems export beside the solids). Such a
mesh has no triangles, and the writer emits its primitive with ``POSITION`` and ``indices`` set to
``-1``: invalid glTF that strict loaders (and trimesh's bounds) reject. :func:`drop_empty_primitives`
removes those primitives, then meshes left without primitives and the nodes' references to them.
The nodes themselves stay, so names and the assembly tree are kept.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from aerie_app.errors import ConversionFailed

GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(JSON document, everything after the JSON chunk) of a GLB, or ConversionFailed."""
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise ConversionFailed("The converter wrote an invalid GLB (bad header)")
    json_len, chunk_type = struct.unpack("<II", data[12:20])
    if chunk_type != CHUNK_JSON or 20 + json_len > len(data):
        raise ConversionFailed("The converter wrote an invalid GLB (no JSON chunk)")
    try:
        doc: dict[str, Any] = json.loads(data[20 : 20 + json_len])
    except ValueError as exc:
        raise ConversionFailed("The converter wrote an invalid GLB (broken JSON chunk)") from exc
    return doc, data[20 + json_len :]


def read_glb_json(glb_path: Path) -> dict[str, Any]:
    """Return the JSON chunk of a GLB (cheap: reads only the header and first chunk)."""
    with open(glb_path, "rb") as fh:
        header = fh.read(20)
        if len(header) < 20 or header[:4] != GLB_MAGIC:
            raise ConversionFailed("The converter wrote an invalid GLB (bad header)")
        json_len, chunk_type = struct.unpack("<II", header[12:20])
        if chunk_type != CHUNK_JSON:
            raise ConversionFailed("The converter wrote an invalid GLB (no JSON chunk)")
        parsed: dict[str, Any] = json.loads(fh.read(json_len))
        return parsed


def colours_and_names(gltf: dict[str, Any]) -> tuple[int, int]:
    """Distinct base colours among materials actually used, and nodes that carry a name."""
    materials = gltf.get("materials", [])
    used: set[int] = set()
    for mesh in gltf.get("meshes", []):
        for prim in mesh.get("primitives", []):
            if "material" in prim:
                used.add(int(prim["material"]))
    colours: set[tuple[float, ...]] = set()
    for idx in used:
        if 0 <= idx < len(materials):
            pbr = materials[idx].get("pbrMetallicRoughness", {})
            # glTF's default base colour is opaque white; writers such as gltfpack omit it.
            rgba = pbr.get("baseColorFactor", (1.0, 1.0, 1.0, 1.0))
            colours.add(tuple(round(float(c), 4) for c in rgba))
    named = sum(1 for node in gltf.get("nodes", []) if node.get("name"))
    return len(colours), named


def _valid_ref(value: Any, count: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def _usable(prim: dict[str, Any], accessors: int) -> bool:
    position = prim.get("attributes", {}).get("POSITION")
    if not _valid_ref(position, accessors):
        return False
    return "indices" not in prim or _valid_ref(prim["indices"], accessors)


def prune_document(doc: dict[str, Any]) -> int:
    """Drop primitives without usable geometry, then empty meshes; returns how many primitives went.

    Mesh indices are renumbered and every node's ``mesh`` follows (a node whose mesh went keeps
    its name, children and transform).
    """
    accessors = len(doc.get("accessors", []))
    meshes = doc.get("meshes", [])
    dropped = 0
    new_index: dict[int, int] = {}
    kept_meshes: list[dict[str, Any]] = []
    for old, mesh in enumerate(meshes):
        prims = mesh.get("primitives", [])
        good = [p for p in prims if _usable(p, accessors)]
        dropped += len(prims) - len(good)
        if good:
            mesh["primitives"] = good
            new_index[old] = len(kept_meshes)
            kept_meshes.append(mesh)
    if dropped == 0 and len(kept_meshes) == len(meshes):
        return 0
    if kept_meshes:
        doc["meshes"] = kept_meshes
    else:
        doc.pop("meshes", None)
    for node in doc.get("nodes", []):
        if "mesh" in node:
            if node["mesh"] in new_index:
                node["mesh"] = new_index[node["mesh"]]
            else:
                del node["mesh"]
    return dropped


def _pack(doc: dict[str, Any], rest: bytes) -> bytes:
    payload = json.dumps(doc, separators=(",", ":")).encode()
    payload += b" " * (-len(payload) % 4)  # chunks are 4-byte aligned; JSON pads with spaces
    total = 12 + 8 + len(payload) + len(rest)
    return (
        GLB_MAGIC
        + struct.pack("<II", 2, total)
        + struct.pack("<II", len(payload), CHUNK_JSON)
        + payload
        + rest
    )


def drop_empty_primitives(glb_path: Path) -> int:
    """Rewrite ``glb_path`` in place without empty primitives (see the module docstring).

    Returns the number of primitives removed; the file is untouched when there were none. The
    binary chunk is kept byte for byte: unreferenced accessors of dropped primitives stay valid.
    """
    data = glb_path.read_bytes()
    doc, rest = _split(data)
    dropped = prune_document(doc)
    if dropped:
        glb_path.write_bytes(_pack(doc, rest))
    return dropped


def _node_matrix(node: dict[str, Any]) -> Any:
    import numpy as np

    if "matrix" in node:
        return np.array(node["matrix"], dtype=float).reshape(4, 4).T  # glTF is column-major
    x, y, z, w = node.get("rotation", [0.0, 0.0, 0.0, 1.0])
    rotation = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    m = np.eye(4)
    m[:3, :3] = rotation @ np.diag(node.get("scale", [1.0, 1.0, 1.0]))
    m[:3, 3] = node.get("translation", [0.0, 0.0, 0.0])
    return m


# The largest stored value of each normalised integer type: that value means 1.0.
_NORMALISED_MAX = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}


def scene_bounds(gltf: dict[str, Any]) -> Any:
    """(min xyz, max xyz) of the default scene in glTF units, without decoding a vertex.

    glTF requires POSITION accessors to carry their min/max, and a quantised mesh's node transform
    maps its integers back to metres, so the transformed corners of every primitive's box bound the
    scene for a plain and a meshopt-compressed file alike (a rotated node makes the bound loose).
    """
    import numpy as np

    corners: list[Any] = []
    accessors = gltf.get("accessors", [])

    def visit(index: int, parent: Any, depth: int) -> None:
        if depth > 256:  # a cycle in a broken file
            raise ConversionFailed("The model's node tree is too deep")
        node = gltf["nodes"][index]
        world = parent @ _node_matrix(node)
        for prim in gltf["meshes"][node["mesh"]]["primitives"] if "mesh" in node else []:
            acc = accessors[prim["attributes"]["POSITION"]]
            lo, hi = np.array(acc["min"], dtype=float), np.array(acc["max"], dtype=float)
            if acc.get("normalized"):
                top = _NORMALISED_MAX[acc["componentType"]]
                lo, hi = np.maximum(lo / top, -1.0), np.maximum(hi / top, -1.0)
            box = np.array(
                [
                    [a, b, c, 1.0]
                    for a in (lo[0], hi[0])
                    for b in (lo[1], hi[1])
                    for c in (lo[2], hi[2])
                ]
            )
            corners.append((world @ box.T).T[:, :3])
        for child in node.get("children", []):
            visit(child, world, depth + 1)

    nodes = gltf.get("nodes", [])
    children = {c for node in nodes for c in node.get("children", [])}
    scenes = gltf.get("scenes") or [{"nodes": [i for i in range(len(nodes)) if i not in children]}]
    for root in scenes[gltf.get("scene", 0)].get("nodes", []):
        visit(root, np.eye(4), 0)
    if not corners:
        raise ConversionFailed("The model has no geometry")
    every = np.vstack(corners)
    return np.array([every.min(axis=0), every.max(axis=0)])
