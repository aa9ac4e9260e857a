"""Fixtures for the CAD tests: a per-session folder for in-process conversions.

The STEP files come from ``tests/step_fixtures.py`` (the ``steps`` fixture of tests/conftest.py);
the optional real-world corpus is ``corpus_dir``, for tests marked ``corpus``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def glb_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where in-process conversions land, shared across tests of one session."""
    return tmp_path_factory.mktemp("glb")


def assert_y_up_metres(glb: Path, facts: Any) -> None:
    """The GLB's bounds are the STEP box turned Y-up and scaled to metres (glTF's convention)."""
    import trimesh

    lo, hi = trimesh.load(str(glb), force="scene").bounds
    xmin, ymin, zmin = facts.bbox_min_mm
    xmax, ymax, zmax = facts.bbox_max_mm
    # STEP Z-up mm -> glTF Y-up m: x stays, glTF y = STEP z, glTF z = -STEP y.
    want = [xmin / 1000, zmin / 1000, -ymax / 1000, xmax / 1000, zmax / 1000, -ymin / 1000]
    span = max(hi - lo)
    for got, expected in zip([*lo, *hi], want, strict=True):
        assert got == pytest.approx(expected, abs=0.002 * span + 1e-5)
