"""The three.js GLB viewer (assets/viewer.jsx) as a Reflex component."""

from __future__ import annotations

import reflex as rx


class AerieViewer(rx.NoSSRComponent):
    """Orbit/zoom/pan, fit, reset, wireframe, edges, bounding-box dimensions, light/dark, ghost."""

    library = "$/public/viewer.jsx"
    tag = "AerieViewer"
    lib_dependencies: list[str] = ["three@0.183.0"]

    url: rx.Var[str]
    # The previous revision's GLB, drawn see-through over the model ("" for none).
    ghost_url: rx.Var[str]
    dark: rx.Var[bool]
    height: rx.Var[str]
    label: rx.Var[str]  # the part's name, for the canvas's text alternative
    # The model's box in its own (STEP) axes, mm, from its geometry facts; [] = measure the mesh.
    dims_mm: rx.Var[list[float]]
    # The model's thumbnail, shown in its place while the model loads ("" for none).
    poster: rx.Var[str]


viewer = AerieViewer.create
