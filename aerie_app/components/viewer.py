"""The three.js GLB viewer (assets/viewer.jsx) as a Reflex component."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import passthrough_event_spec


class AerieViewer(rx.NoSSRComponent):
    """Orbit/zoom/pan, fit, reset, wireframe, edges, bounding-box dimensions, light/dark, ghost,
    review pins (drawn where they were put; placed by a click on a face in pin mode)."""

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
    # The part's review pins ({number, note, point (STEP mm) or None, ticked, stale}).
    pins: rx.Var[list[dict[str, Any]]]
    # Offer the "Pin" tool (people who may change the part).
    can_pin: rx.Var[bool]
    # A face was clicked in pin mode: {point, normal, body, face}, in the STEP model's axes.
    on_pick: rx.EventHandler[passthrough_event_spec(dict[str, Any])]


viewer = AerieViewer.create
