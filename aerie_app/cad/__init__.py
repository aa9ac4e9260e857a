"""Framework-free CAD pipeline: file sniffing, STEP -> GLB conversion, thumbnails, mass estimates."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aerie_app.cad.convert import GeometryFacts, convert_step
    from aerie_app.cad.materials import density_for, estimated_mass_g
    from aerie_app.cad.sniff import FileKind, detect_kind
    from aerie_app.cad.thumbnail import render_thumbnail, render_turntable
    from aerie_app.cad.worker import ConversionResult, run_conversion_job

# Lazy re-exports: importing the package stays cheap (no numpy/Pillow for a sniff), and
# `python -m aerie_app.cad.worker` does not find its own module pre-imported by the package.
_EXPORTS = {
    "GeometryFacts": "convert",
    "convert_step": "convert",
    "density_for": "materials",
    "estimated_mass_g": "materials",
    "FileKind": "sniff",
    "detect_kind": "sniff",
    "render_thumbnail": "thumbnail",
    "render_turntable": "thumbnail",
    "ConversionResult": "worker",
    "run_conversion_job": "worker",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
