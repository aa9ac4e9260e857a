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
            rgba = pbr.get("baseColorFactor")
            if rgba is not None:
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
