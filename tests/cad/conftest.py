"""Fixtures for the CAD tests: the shared STEP corpus and a per-session cache of conversions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]
_DEFAULT_CORPUS = _REPO.parent / "shared" / "corpus" / "step"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real-file corpus (never copied into the repo); skip cleanly where it is absent."""
    path = Path(os.environ.get("AERIE_CORPUS_DIR", str(_DEFAULT_CORPUS)))
    if not path.is_dir() or not any(path.iterdir()):
        pytest.skip(f"STEP corpus not found at {path} (set AERIE_CORPUS_DIR)")
    return path


@pytest.fixture(scope="session")
def glb_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where in-process conversions of corpus files land, shared across tests of one session."""
    return tmp_path_factory.mktemp("glb")
