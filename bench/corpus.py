"""Which STEP files the CAD benchmarks use: the public corpus when it is there, else the project's
own CadQuery fixtures, so that ``make bench`` runs every benchmark on a fresh clone.

The corpus (``../shared/corpus/step`` beside the checkout, or ``AERIE_CORPUS_DIR``) holds
real-world parts up to 5.6 MB and is what docs/benchmarks.md reports; the fixtures are small known
shapes (tests/step_fixtures.py), so figures made on them say so and are not comparable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "step"


def step_files(corpus: Path | None = None) -> tuple[list[Path], str]:
    """(files, where from): the corpus's STEP files, or the fixtures that convert."""
    folder = corpus or Path(os.environ.get("AERIE_CORPUS_DIR", DEFAULT_CORPUS))
    if folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".step", ".stp"})
        if files:
            return files, f"corpus {folder}"
    sys.path.insert(0, str(ROOT))
    from tests.step_fixtures import GOOD, build

    built = build()
    print(
        f"no STEP corpus at {folder}: using the project's generated fixtures ({built}); "
        "set AERIE_CORPUS_DIR for real-world files",
        file=sys.stderr,
    )
    return [built / name for name in GOOD], f"generated fixtures {built}"
