"""In-process STEP -> GLB conversion through OCP's XCAF path, returning geometry facts from the same read."""

from __future__ import annotations

import functools
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aerie_app.cad.glb import colours_and_names, drop_empty_primitives, read_glb_json
from aerie_app.errors import ConversionFailed

__all__ = ["GeometryFacts", "convert_step", "preload", "read_glb_json"]

# A GLB smaller than this cannot hold a single triangle plus its JSON chunk: the writer
# produced an "empty" file, which some bad inputs do without reporting an error.
MIN_GLB_BYTES = 200


def _num(value: float, digits: int = 4) -> float:
    """Round for JSON and replace NaN/inf (void boxes, broken solids) with 0.0 so json.dumps never fails."""
    v = float(value)
    return round(v, digits) if math.isfinite(v) else 0.0


@dataclass
class GeometryFacts:
    """Facts about one converted model; lengths in millimetres (STEP units), as stored in the database."""

    bbox_min_mm: tuple[float, float, float]
    bbox_max_mm: tuple[float, float, float]
    volume_mm3: float
    surface_area_mm2: float
    solids: int
    faces: int
    triangles: int
    colours: int
    named_nodes: int
    glb_bytes: int = 0
    timings_s: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def bbox_mm(self) -> dict[str, float]:
        return {
            axis: _num(hi - lo)
            for axis, lo, hi in zip("xyz", self.bbox_min_mm, self.bbox_max_mm, strict=True)
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "bbox_mm": self.bbox_mm,
            "bbox_min_mm": [_num(v) for v in self.bbox_min_mm],
            "bbox_max_mm": [_num(v) for v in self.bbox_max_mm],
            "volume_mm3": _num(self.volume_mm3, 3),
            "surface_area_mm2": _num(self.surface_area_mm2, 3),
            "solids": int(self.solids),
            "faces": int(self.faces),
            "triangles": int(self.triangles),
            "colours": int(self.colours),
            "named_nodes": int(self.named_nodes),
            "glb_bytes": int(self.glb_bytes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeometryFacts:
        lo = data.get("bbox_min_mm") or [0.0, 0.0, 0.0]
        hi = data.get("bbox_max_mm")
        if hi is None:
            # Older rows may only carry sizes: anchor them at the origin.
            size = data.get("bbox_mm") or {}
            hi = [float(lo[i]) + float(size.get(a, 0.0)) for i, a in enumerate("xyz")]
        return cls(
            bbox_min_mm=(float(lo[0]), float(lo[1]), float(lo[2])),
            bbox_max_mm=(float(hi[0]), float(hi[1]), float(hi[2])),
            volume_mm3=float(data.get("volume_mm3", 0.0)),
            surface_area_mm2=float(data.get("surface_area_mm2", 0.0)),
            solids=int(data.get("solids", 0)),
            faces=int(data.get("faces", 0)),
            triangles=int(data.get("triangles", 0)),
            colours=int(data.get("colours", 0)),
            named_nodes=int(data.get("named_nodes", 0)),
            glb_bytes=int(data.get("glb_bytes", 0)),
        )


def _validate_glb(glb_path: Path) -> int:
    """Load the GLB with trimesh and return its triangle count; raise ConversionFailed when unusable."""
    import trimesh  # local: keeps `import aerie_app.cad` light for the web process

    if not glb_path.exists():
        raise ConversionFailed("The converter did not write a model file")
    size = glb_path.stat().st_size
    if size < MIN_GLB_BYTES:
        raise ConversionFailed(f"The converter wrote an empty model ({size} bytes)")
    try:
        scene = trimesh.load(str(glb_path), file_type="glb", force="scene", process=False)
    except Exception as exc:  # trimesh raises many types for broken files
        raise ConversionFailed(f"The converted model could not be read back: {exc}") from exc
    # Count instanced triangles (what the viewer draws), like cascadio's reference figures.
    triangles = 0
    for node_name in scene.graph.nodes_geometry:
        _, geom_name = scene.graph[node_name]
        geom = scene.geometry.get(geom_name)
        faces = getattr(geom, "faces", None)
        if faces is not None:
            triangles += len(faces)
    if triangles == 0:
        raise ConversionFailed("The converted model has no triangles")
    return triangles


def _silence_occt() -> None:
    """OCCT prints progress and warnings on stdout; keep only failures so logs stay readable."""
    from OCP.Message import Message, Message_Gravity  # type: ignore[import-untyped]

    printers = Message.DefaultMessenger_s().Printers()
    for printer in printers:
        printer.SetTraceLevel(Message_Gravity.Message_Fail)


_READ_STATUS_REASONS = {
    "IFSelect_RetVoid": "it contains no data",
    "IFSelect_RetError": "it has syntax errors or is incomplete",
    "IFSelect_RetFail": "the reader failed on its content",
    "IFSelect_RetStop": "the reader stopped on a fatal error",
}


# Shape healing that OCCT runs on every face while transferring a STEP file, skipped here. Both
# repairs test each wire of a face against the others and re-apply the face's edits per wire:
# quadratic in the holes of one face. A perforated belly pan (2,300 hexagonal pockets in one face,
# tests/robot_assembly.py) spent 110 of its 122 s of transfer there (py-spy, docs/benchmarks.md),
# and cascadio, which heals the same way, takes 172 s on it. A valid CAD export has no
# self-intersecting or crossing wires to repair; on a file that has them the mesher still meshes
# the face as it is. Every other repair keeps OCCT's default.
SKIPPED_REPAIRS = {
    "FixShape.FixSelfIntersectionMode": "0",
    "FixShape.FixIntersectingWiresMode": "0",
}


@functools.cache
def _default_repairs() -> Any:
    """The STEP reader's own shape-healing parameters (OCCT fills them in on its first transfer).

    OCP does not expose the defaults, and a parameter map given to the reader replaces them
    whole, so they are learnt once per process from the transfer of a one-box file.
    """
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox  # type: ignore[import-untyped]
    from OCP.Message import Message_ProgressRange  # type: ignore[import-untyped]
    from OCP.STEPControl import (  # type: ignore[import-untyped]
        STEPControl_Reader,
        STEPControl_StepModelType,
        STEPControl_Writer,
    )

    _silence_occt()
    with tempfile.TemporaryDirectory(prefix="aerie-occt-") as tmp:
        box = str(Path(tmp) / "box.step")
        writer = STEPControl_Writer()
        writer.Transfer(
            BRepPrimAPI_MakeBox(1.0, 1.0, 1.0).Shape(), STEPControl_StepModelType.STEPControl_AsIs
        )
        writer.Write(box)
        reader = STEPControl_Reader()
        reader.ReadFile(box)
        reader.TransferRoots(Message_ProgressRange())
        return reader.GetShapeFixParameters()


def _repair_parameters() -> Any:
    from OCP.Resource import Resource_DataMapOfAsciiStringAsciiString  # type: ignore[import-untyped]
    from OCP.TCollection import TCollection_AsciiString  # type: ignore[import-untyped]

    params = Resource_DataMapOfAsciiStringAsciiString()
    params.Assign(_default_repairs())
    if params.Size() == 0:
        raise RuntimeError("OCCT reported no shape-healing defaults")
    for key, value in SKIPPED_REPAIRS.items():
        name = TCollection_AsciiString(key)
        if not params.IsBound(name):
            raise RuntimeError(f"OCCT has no shape-healing parameter {key}")
        params.UnBind(name)
        params.Bind(name, TCollection_AsciiString(value))
    return params


def preload() -> None:
    """Import OCP and trimesh up front (about 1 s), e.g. in a warm worker or before timing a conversion."""
    import trimesh  # noqa: F401
    from OCP import (  # type: ignore[import-untyped]  # noqa: F401
        BRepGProp,
        BRepMesh,
        RWGltf,
        STEPCAFControl,
        XCAFApp,
    )

    _silence_occt()
    _default_repairs()


def convert_step(
    step_path: Path,
    glb_path: Path,
    *,
    linear_deflection: float = 0.1,
    angular_deflection: float = 0.5,
) -> GeometryFacts:
    """Read ``step_path`` once, mesh it, write a binary glTF (Y-up, metres) to ``glb_path`` and return facts."""
    import time

    from OCP.Bnd import Bnd_Box  # type: ignore[import-untyped]
    from OCP.BRep import BRep_Tool  # type: ignore[import-untyped]
    from OCP.BRepBndLib import BRepBndLib  # type: ignore[import-untyped]
    from OCP.BRepGProp import BRepGProp  # type: ignore[import-untyped]
    from OCP.BRepMesh import BRepMesh_IncrementalMesh  # type: ignore[import-untyped]
    from OCP.GProp import GProp_GProps  # type: ignore[import-untyped]
    from OCP.IFSelect import IFSelect_ReturnStatus  # type: ignore[import-untyped]
    from OCP.Interface import Interface_Static  # type: ignore[import-untyped]
    from OCP.Message import Message_ProgressRange  # type: ignore[import-untyped]
    from OCP.RWGltf import RWGltf_CafWriter  # type: ignore[import-untyped]
    from OCP.RWMesh import (  # type: ignore[import-untyped]
        RWMesh_CoordinateSystem,
        RWMesh_CoordinateSystemConverter,
    )
    from OCP.STEPCAFControl import STEPCAFControl_Reader  # type: ignore[import-untyped]
    from OCP.TCollection import (  # type: ignore[import-untyped]
        TCollection_AsciiString,
        TCollection_ExtendedString,
    )
    from OCP.TColStd import TColStd_IndexedDataMapOfStringString  # type: ignore[import-untyped]
    from OCP.TDF import TDF_LabelSequence  # type: ignore[import-untyped]
    from OCP.TDocStd import TDocStd_Document  # type: ignore[import-untyped]
    from OCP.TopAbs import TopAbs_FACE, TopAbs_SOLID  # type: ignore[import-untyped]
    from OCP.TopExp import TopExp_Explorer  # type: ignore[import-untyped]
    from OCP.TopLoc import TopLoc_Location  # type: ignore[import-untyped]
    from OCP.TopoDS import TopoDS  # type: ignore[import-untyped]
    from OCP.XCAFApp import XCAFApp_Application  # type: ignore[import-untyped]
    from OCP.XCAFDoc import XCAFDoc_DocumentTool, XCAFDoc_ShapeTool  # type: ignore[import-untyped]

    step_path = Path(step_path)
    glb_path = Path(glb_path)
    if not step_path.is_file():
        raise ConversionFailed("The STEP file could not be read: it does not exist")
    if step_path.stat().st_size == 0:
        raise ConversionFailed("The STEP file could not be read: it is empty")

    _silence_occt()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    # STEP is millimetres by convention; pin the session unit so reads never rescale silently.
    Interface_Static.SetCVal_s("xstep.cascade.unit", "MM")
    reader = STEPCAFControl_Reader()
    reader.SetColorMode(True)
    reader.SetNameMode(True)
    reader.SetLayerMode(True)
    status = reader.ReadFile(str(step_path))
    if status != IFSelect_ReturnStatus.IFSelect_RetDone:
        reason = _READ_STATUS_REASONS.get(status.name, status.name)
        raise ConversionFailed(f"The STEP file could not be read: {reason}")
    reader.SetShapeFixParameters(_repair_parameters())

    doc = TDocStd_Document(TCollection_ExtendedString("MDTV-XCAF"))
    XCAFApp_Application.GetApplication_s().InitDocument(doc)
    if not reader.Transfer(doc, Message_ProgressRange()):
        # The syntax was fine but no entity became a shape: from the user's side, nothing solid in it.
        raise ConversionFailed("No solids found in the STEP file")
    timings["read"] = time.perf_counter() - t0

    shape_tool = XCAFDoc_DocumentTool.ShapeTool_s(doc.Main())
    labels = TDF_LabelSequence()
    shape_tool.GetFreeShapes(labels)
    shapes = [XCAFDoc_ShapeTool.GetShape_s(labels.Value(i)) for i in range(1, labels.Length() + 1)]
    shapes = [s for s in shapes if not s.IsNull()]

    # Count topology before meshing: an empty document is the "valid STEP, nothing in it" case.
    solids = 0
    faces = 0
    for shape in shapes:
        exp = TopExp_Explorer(shape, TopAbs_SOLID)
        while exp.More():
            solids += 1
            exp.Next()
        exp = TopExp_Explorer(shape, TopAbs_FACE)
        while exp.More():
            faces += 1
            exp.Next()
    if faces == 0:
        # Surface-only models (faces, no solids) still convert; with no faces there is nothing to show.
        raise ConversionFailed("No solids found in the STEP file")

    t1 = time.perf_counter()
    for shape in shapes:
        # Relative deflection off: tolerances are absolute millimetres, as cascadio's tol_linear is.
        mesher = BRepMesh_IncrementalMesh(shape, linear_deflection, False, angular_deflection, True)
        if not mesher.IsDone():
            raise ConversionFailed("The model could not be meshed")
    timings["mesh"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    box = Bnd_Box()
    volume = 0.0
    area = 0.0
    mesh_triangles = 0
    for shape in shapes:
        # Everything below reads the fresh triangulation: ~40x faster than exact B-rep integration
        # (0.02 s instead of 0.8 s on the motor) and within 0.2 % of it at 0.1 mm deflection.
        props = GProp_GProps()
        BRepGProp.VolumeProperties_s(
            shape, props, True, False, True
        )  # only closed shells hold volume
        volume += abs(props.Mass())
        props = GProp_GProps()
        BRepGProp.SurfaceProperties_s(shape, props, False, True)
        area += props.Mass()
        exp = TopExp_Explorer(shape, TopAbs_FACE)
        while exp.More():
            # The box holds faces only: loose curves (sketches, construction lines) beside the
            # solids are not material to cut, and the GLB does not draw them either.
            BRepBndLib.Add_s(exp.Current(), box, True)
            tri = BRep_Tool.Triangulation_s(TopoDS.Face_s(exp.Current()), TopLoc_Location())
            if tri is not None:
                mesh_triangles += tri.NbTriangles()
            exp.Next()
    if box.IsVoid():
        raise ConversionFailed("No solids found in the STEP file")
    # Add_s boxes the mesh nodes (which lie on the surfaces) and then widens by a tolerance gap;
    # taking the gap back out gives sizes within the deflection of exact (AddOptimal is 50-500x slower).
    gap = box.GetGap()
    xmin, ymin, zmin, xmax, ymax, zmax = box.Get()
    bbox_min = (xmin + gap, ymin + gap, zmin + gap)
    bbox_max = (xmax - gap, ymax - gap, zmax - gap)
    timings["facts"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    glb_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = glb_path.with_name(f".{glb_path.name}.{os.getpid()}.tmp")
    try:
        writer = RWGltf_CafWriter(TCollection_AsciiString(str(tmp_path)), True)
        converter = RWMesh_CoordinateSystemConverter()
        converter.SetInputLengthUnit(0.001)  # the XCAF document is in millimetres
        converter.SetInputCoordinateSystem(RWMesh_CoordinateSystem.RWMesh_CoordinateSystem_Zup)
        converter.SetOutputLengthUnit(1.0)  # glTF is metres
        converter.SetOutputCoordinateSystem(RWMesh_CoordinateSystem.RWMesh_CoordinateSystem_glTF)
        writer.SetCoordinateSystemConverter(converter)
        # One primitive per solid and material instead of one per B-rep face: about half the bytes.
        writer.SetMergeFaces(True)
        # 16-bit indices where a primitive allows it: smaller buffers, same geometry.
        writer.SetSplitIndices16(True)
        writer.SetParallel(True)
        if not writer.Perform(doc, TColStd_IndexedDataMapOfStringString(), Message_ProgressRange()):
            raise ConversionFailed("The model could not be written as GLB")
        timings["write"] = time.perf_counter() - t3

        t4 = time.perf_counter()
        empty = drop_empty_primitives(tmp_path)
        if empty:
            timings["empty_primitives"] = float(empty)
        triangles = _validate_glb(tmp_path)
        colours, named = colours_and_names(read_glb_json(tmp_path))
        glb_bytes = tmp_path.stat().st_size
        os.replace(tmp_path, glb_path)
        timings["validate"] = time.perf_counter() - t4
    finally:
        tmp_path.unlink(missing_ok=True)

    timings["total"] = time.perf_counter() - t0
    timings["mesh_triangles"] = float(mesh_triangles)
    return GeometryFacts(
        bbox_min_mm=bbox_min,
        bbox_max_mm=bbox_max,
        volume_mm3=volume,
        surface_area_mm2=area,
        solids=solids,
        faces=faces,
        triangles=triangles,
        colours=colours,
        named_nodes=named,
        glb_bytes=glb_bytes,
        timings_s=timings,
    )
