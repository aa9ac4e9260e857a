"""Fixtures for the CAD tests: a per-session folder for in-process conversions.

The STEP files come from ``tests/step_fixtures.py`` (the ``steps`` fixture of tests/conftest.py);
the optional real-world corpus is ``corpus_dir``, for tests marked ``corpus``.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def glb_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where in-process conversions land, shared across tests of one session."""
    return tmp_path_factory.mktemp("glb")
