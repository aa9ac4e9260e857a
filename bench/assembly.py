"""Whole-robot assembly benchmark: Aerie's conversion job vs cascadio on a generated drivetrain.

Usage: .venv/bin/python bench/assembly.py [--scale 1.0] [--runs 1] [--json]

The assembly comes from tests/robot_assembly.py (CadQuery: 300+ bodies, 50+ MB of STEP at scale
1.0), made once and cached under tests/.step-cache (not committed). Measured, each in a fresh
process so peak RSS is its own:

- Aerie's job as a server runs it: ``run_conversion_job`` with the default timeout and memory cap
  (AERIE_CONVERSION_TIMEOUT_S / AERIE_CONVERSION_MEMORY_MB), thumbnail and turntable views included,
  no spare (a cold child: the worst case); seconds until the model is published (what the user
  waits for) and until the views and the compressed copy landed too, the child's peak RSS, its
  stage timings, the plain and the served (meshopt) GLB bytes, bodies and named nodes;
- cascadio ``step_to_glb`` at the same deflection (bench/convert.py's child);
- the memory cap: the same job under a cap too small for it must fail with the message that names
  the setting to raise, in bounded time, and leave nothing behind.

The viewer on this model: ``bench/ui.py --sizes 1000 --model <the cached file>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SMALL_CAP_MB = 1200


def aerie_job(step: Path, work: Path, *, memory_mb: int, timeout_s: float) -> dict[str, Any]:
    from aerie_app.cad.glb import colours_and_names, read_glb_json
    from aerie_app.cad.worker import run_conversion_job
    from bench.convert import PublishedAt

    published = PublishedAt()
    started = time.perf_counter()
    result = run_conversion_job(
        step,
        work,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        prewarm=False,
        thumbnail=True,
        on_model=published,
    )
    done = time.perf_counter() - started
    doc = read_glb_json(result.glb_path)
    colours, named = colours_and_names(doc)
    served = result.compressed_path or result.glb_path
    return {
        "seconds": published.at - started,  # until the model is published: what the user waits for
        "all_done_s": done,
        "peak_rss_mb": result.peak_rss_kb / 1024,
        "timings_s": result.timings_s,
        "glb_bytes": result.glb_path.stat().st_size,
        "served_bytes": served.stat().st_size,
        "compressed": result.compressed_path is not None,
        "triangles": result.facts.triangles,
        "solids": result.facts.solids,
        "named_nodes": named,
        "colours": colours,
        "views": len(result.views),
    }


def over_the_cap(step: Path, work: Path, cap_mb: int, timeout_s: float) -> dict[str, Any]:
    from aerie_app.cad.worker import run_conversion_job
    from aerie_app.errors import ConversionFailed

    started = time.perf_counter()
    message = ""
    try:
        run_conversion_job(step, work, timeout_s=timeout_s, memory_mb=cap_mb, prewarm=False)
    except ConversionFailed as exc:
        message = exc.message
    return {
        "cap_mb": cap_mb,
        "seconds": time.perf_counter() - started,
        "message": message or "(it converted: the cap was not too small)",
        "left_behind": sorted(p.name for p in work.iterdir()) if work.exists() else [],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="belly-pan pattern density")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from aerie_app.settings import get_settings
    from bench.convert import _glb_facts, _run_child
    from tests.robot_assembly import cached

    settings = get_settings()
    started = time.perf_counter()
    step = cached(args.scale)
    made_s = time.perf_counter() - started
    print(
        f"assembly: {step} ({step.stat().st_size / 1e6:.1f} MB, ready in {made_s:.1f} s)",
        file=sys.stderr,
    )
    runs: list[dict[str, Any]] = []
    cas: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="aerie-bench-assembly-") as tmp:
        work = Path(tmp)
        for i in range(args.runs):
            runs.append(
                aerie_job(
                    step,
                    work / f"aerie{i}",
                    memory_mb=settings.conversion_memory_mb,
                    timeout_s=settings.conversion_timeout_s,
                )
            )
            print(f"aerie run {i + 1}: {runs[-1]['seconds']:.1f} s", file=sys.stderr)
            child = _run_child("cascadio", step, work / "cascadio.glb")
            facts = _glb_facts(work / "cascadio.glb")
            cas.append(child | {"bytes": facts["bytes"], "triangles": facts["triangles"]})
            print(f"cascadio run {i + 1}: {child['seconds']:.1f} s", file=sys.stderr)
        cap = over_the_cap(step, work / "capped", SMALL_CAP_MB, settings.conversion_timeout_s)
    med = statistics.median
    report = {
        "file": step.name,
        "step_mb": step.stat().st_size / 1e6,
        "generated_s": made_s,
        "timeout_s": settings.conversion_timeout_s,
        "memory_cap_mb": settings.conversion_memory_mb,
        "aerie": runs[-1]
        | {
            "seconds": med(r["seconds"] for r in runs),
            "all_done_s": med(r["all_done_s"] for r in runs),
        },
        "cascadio": {
            "seconds": med(c["seconds"] for c in cas),
            "peak_rss_mb": med(c["peak_rss_kb"] for c in cas) / 1024,
            "bytes": cas[-1]["bytes"],
            "triangles": cas[-1]["triangles"],
        },
        "over_the_cap": cap,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    a, c = report["aerie"], report["cascadio"]
    print(
        f"{report['file']}: {report['step_mb']:.1f} MB STEP, {a['solids']} solids, "
        f"{a['named_nodes']} named nodes, {a['colours']} colours, {a['triangles']:,} triangles "
        f"(cascadio {c['triangles']:,}); default cap {report['memory_cap_mb']} MB, timeout "
        f"{report['timeout_s']:g} s; median of {args.runs} run(s)\n"
    )
    print("| | model published s | all done s | peak RSS MB | GLB bytes | served bytes |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| Aerie job (cold child, thumbnail + views) | {a['seconds']:.1f} | {a['all_done_s']:.1f} "
        f"| {a['peak_rss_mb']:.0f} | {a['glb_bytes']:,} | {a['served_bytes']:,} |"
    )
    print(f"| cascadio | {c['seconds']:.1f} | – | {c['peak_rss_mb']:.0f} | {c['bytes']:,} | – |")
    print(
        f"\nRatios Aerie / cascadio: time {a['seconds'] / c['seconds']:.2f}, plain bytes "
        f"{a['glb_bytes'] / c['bytes']:.3f}, served bytes {a['served_bytes'] / c['bytes']:.3f}."
    )
    print(f"Aerie stages (s): {json.dumps(a['timings_s'])}")
    print(
        f'Under a {cap["cap_mb"]} MB cap: "{cap["message"]}" after {cap["seconds"]:.1f} s; '
        f"left behind: {cap['left_behind'] or 'nothing'}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
