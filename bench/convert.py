"""Benchmark Aerie's STEP -> GLB pipeline against cascadio on the shared corpus, side by side in one run.

Usage: .venv/bin/python bench/convert.py [--runs 3] [--json] [--corpus DIR] [--only NAME ...]

Per file and run, four fresh processes (so peak RSS is each one's own):
- aerie job: ``run_conversion_job(prewarm=False)``, a cold child, as the server runs it (thumbnail
  on): wall time until the model is published (its ``on_model`` call: validated GLB and thumbnail,
  what the user waits for), incl. interpreter + OCP start-up; the turntable views and the meshopt
  copy land after it ("all done" below);
- aerie warm job: the same served by a pre-started spare that was ready (the bench waits for one
  before timing; the replacement spare it starts imports during the job, as in production, and is
  ready again before the next measurement starts);
- aerie in-process: ``convert_step`` timed inside a child that has already imported OCP;
- cascadio: ``cascadio.step_to_glb(tol_linear=0.1, tol_angular=0.5)`` timed inside a child.
cascadio is a bench-only dependency (``pip install cascadio``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


# ----------------------------------------------------------------------------- children


def _child(kind: str, step: str, out: str) -> None:
    """Run one conversion and print a JSON line with seconds and peak RSS of this process."""
    if kind == "aerie":
        from aerie_app.cad.convert import convert_step, preload

        preload()  # like `import cascadio` below: library loading is not conversion time
        started = time.perf_counter()
        convert_step(Path(step), Path(out), linear_deflection=0.1, angular_deflection=0.5)
    elif kind == "cascadio":
        import cascadio  # type: ignore[import-untyped]

        started = time.perf_counter()
        cascadio.step_to_glb(step, out, tol_linear=0.1, tol_angular=0.5)
    else:
        raise SystemExit(f"unknown child kind {kind}")
    seconds = time.perf_counter() - started
    # The child's own peak (ru_maxrss would carry this bench's own high-water mark across exec).
    from aerie_app.cad.child import own_peak_rss_kb

    print(json.dumps({"seconds": seconds, "peak_rss_kb": own_peak_rss_kb()}))


def _run_child(kind: str, step: Path, out: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--_child", kind, str(step), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} child failed on {step.name}: {proc.stderr[-500:]}")
    parsed: dict[str, Any] = json.loads(lines[-1])
    return parsed


# ----------------------------------------------------------------------------- GLB facts


def _glb_facts(glb: Path) -> dict[str, Any]:
    import trimesh

    from aerie_app.cad.glb import colours_and_names, read_glb_json

    scene = trimesh.load(str(glb), force="scene", process=False)
    triangles = 0
    for node in scene.graph.nodes_geometry:
        _, geom_name = scene.graph[node]
        triangles += len(scene.geometry[geom_name].faces)
    colours, named = colours_and_names(read_glb_json(glb))
    lo, hi = scene.bounds
    return {
        "bytes": glb.stat().st_size,
        "triangles": triangles,
        "colours": colours,
        "named_nodes": named,
        "bounds": [list(map(float, lo)), list(map(float, hi))],
    }


def _bbox_diff_pct(aerie_bounds: list[list[float]], cascadio_bounds: list[list[float]]) -> float:
    """Largest corner difference, % of the largest size, after mapping Aerie's Y-up back to Z-up.

    Aerie writes glTF Y-up (x, z_step, -y_step); cascadio 0.1 keeps STEP's Z-up axes in metres.
    """
    (ax0, ay0, az0), (ax1, ay1, az1) = aerie_bounds
    aerie_zup = [[ax0, -az1, ay0], [ax1, -az0, ay1]]
    size = max(c1 - c0 for c0, c1 in zip(*cascadio_bounds, strict=True)) or 1.0
    diff = max(
        abs(a - c)
        for a_row, c_row in zip(aerie_zup, cascadio_bounds, strict=True)
        for a, c in zip(a_row, c_row, strict=True)
    )
    return 100.0 * diff / size


# ----------------------------------------------------------------------------- main


class PublishedAt:
    """``on_model`` for a timed job: when the model was published (``time.perf_counter()``)."""

    def __init__(self) -> None:
        self.at = float("nan")

    def __call__(self, _result: Any) -> None:
        self.at = time.perf_counter()


def bench_file(step: Path, runs: int, work: Path) -> dict[str, Any]:
    from aerie_app.cad.worker import pool, run_conversion_job

    job_s, job_rss, inproc_s, inproc_rss, cas_s, cas_rss = [], [], [], [], [], []
    warm_s: list[float] = []
    done_s: list[float] = []
    memory_mb = 4096
    aerie_glb = work / f"{step.stem}.aerie.glb"
    cas_glb = work / f"{step.stem}.cascadio.glb"
    for _ in range(runs):
        published = PublishedAt()
        started = time.perf_counter()
        result = run_conversion_job(
            step,
            work / "job",
            timeout_s=300,
            memory_mb=memory_mb,
            prewarm=False,
            on_model=published,
        )
        job_s.append(published.at - started)
        job_rss.append(result.peak_rss_kb)
        if not pool.pids():
            pool.replenish(memory_mb, 1)
        if not pool.wait_ready(memory_mb, timeout_s=120):
            raise RuntimeError("no spare became ready")
        published = PublishedAt()
        started = time.perf_counter()
        warm = run_conversion_job(
            step,
            work / "warm",
            timeout_s=300,
            memory_mb=memory_mb,
            spares=1,
            on_model=published,
        )
        warm_s.append(published.at - started)
        done_s.append(time.perf_counter() - started)
        if warm.worker != "spare" or warm.facts.to_dict() != result.facts.to_dict():
            raise RuntimeError(f"warm job on {step.name}: {warm.worker}, facts differ from cold")
        pool.wait_ready(memory_mb, timeout_s=120)  # its replacement must not compete below
        child = _run_child("aerie", step, aerie_glb)
        inproc_s.append(child["seconds"])
        inproc_rss.append(child["peak_rss_kb"])
        child = _run_child("cascadio", step, cas_glb)
        cas_s.append(child["seconds"])
        cas_rss.append(child["peak_rss_kb"])
    aerie = _glb_facts(aerie_glb)
    cas = _glb_facts(cas_glb)
    # What the viewer downloads: the job's meshopt-compressed copy (the plain GLB when none).
    served = result.compressed_path or result.glb_path
    served_bytes = served.stat().st_size
    med = statistics.median
    return {
        "file": step.name,
        "step_bytes": step.stat().st_size,
        "aerie_job_s": med(job_s),
        "aerie_warm_job_s": med(warm_s),
        "aerie_warm_done_s": med(done_s),
        "warm_job_ratio": med(warm_s) / med(cas_s),
        "aerie_convert_s": med(inproc_s),
        "cascadio_s": med(cas_s),
        "time_ratio": med(inproc_s) / med(cas_s),
        "job_ratio": med(job_s) / med(cas_s),
        "aerie_job_rss_mb": med(job_rss) / 1024,
        "aerie_convert_rss_mb": med(inproc_rss) / 1024,
        "cascadio_rss_mb": med(cas_rss) / 1024,
        "aerie_bytes": aerie["bytes"],
        "cascadio_bytes": cas["bytes"],
        "bytes_ratio": aerie["bytes"] / cas["bytes"],
        "served_bytes": served_bytes,
        "served_ratio": served_bytes / cas["bytes"],
        "compress_s": result.timings_s.get("compress", 0.0),
        "aerie_triangles": aerie["triangles"],
        "cascadio_triangles": cas["triangles"],
        "aerie_colours": aerie["colours"],
        "cascadio_colours": cas["colours"],
        "aerie_named_nodes": aerie["named_nodes"],
        "cascadio_named_nodes": cas["named_nodes"],
        "bbox_diff_pct": _bbox_diff_pct(aerie["bounds"], cas["bounds"]),
        "job_facts": result.facts.to_dict(),
    }


def _median_or_dash(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "–"


def markdown(rows: list[dict[str, Any]], runs: int) -> str:
    out = [
        f"Median of {runs} run(s). Times in seconds; `convert` = in-process `convert_step` (after imports), "
        "`job` = `run_conversion_job` in a cold child (process start-up and OCP import included) "
        "until its model is published (validated GLB and thumbnail: what the user waits for), "
        "`warm job` = the same served by a pre-started spare that was ready, `all done` = that "
        "warm job until its turntable views and meshopt copy landed too. "
        "Ratios are aerie / cascadio (lower is better for time and bytes).",
        "",
        "| file | aerie convert s | aerie job s | aerie warm job s | all done s | cascadio s "
        "| convert ratio "
        "| job ratio | warm job ratio "
        "| RSS MB aerie convert / job / cascadio | GLB bytes aerie | GLB bytes cascadio | bytes ratio "
        "| served bytes (meshopt) | served ratio | compress s "
        "| triangles aerie / cascadio | colours aerie / cascadio | bbox diff % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['file']} | {r['aerie_convert_s']:.3f} | {r['aerie_job_s']:.2f} "
            f"| {r['aerie_warm_job_s']:.3f} | {r['aerie_warm_done_s']:.3f} | {r['cascadio_s']:.3f} "
            f"| {r['time_ratio']:.2f} | {r['job_ratio']:.2f} | {r['warm_job_ratio']:.2f} "
            f"| {r['aerie_convert_rss_mb']:.0f} / {r['aerie_job_rss_mb']:.0f} / {r['cascadio_rss_mb']:.0f} "
            f"| {r['aerie_bytes']:,} | {r['cascadio_bytes']:,} | {r['bytes_ratio']:.3f} "
            f"| {r['served_bytes']:,} | {r['served_ratio']:.3f} | {r['compress_s']:.3f} "
            f"| {r['aerie_triangles']:,} / {r['cascadio_triangles']:,} "
            f"| {r['aerie_colours']} / {r['cascadio_colours']} | {r['bbox_diff_pct']:.3f} |"
        )
    med = statistics.median
    out += [
        "",
        "Medians over files: "
        f"convert time ratio {med(r['time_ratio'] for r in rows):.2f}, "
        f"job time ratio {med(r['job_ratio'] for r in rows):.2f}, "
        f"warm job time ratio {med(r['warm_job_ratio'] for r in rows):.2f} (files over 1 MB: "
        f"{_median_or_dash([r['warm_job_ratio'] for r in rows if r['step_bytes'] > 1_000_000])}), "
        f"GLB bytes ratio {med(r['bytes_ratio'] for r in rows):.3f}, "
        f"served (meshopt) bytes ratio {med(r['served_ratio'] for r in rows):.3f}, "
        f"bbox diff {med(r['bbox_diff_pct'] for r in rows):.3f} %, "
        f"max bbox diff {max(r['bbox_diff_pct'] for r in rows):.3f} %. "
        f"Totals: aerie convert {sum(r['aerie_convert_s'] for r in rows):.2f} s, "
        f"aerie job {sum(r['aerie_job_s'] for r in rows):.2f} s, "
        f"aerie warm job {sum(r['aerie_warm_job_s'] for r in rows):.2f} s, "
        f"cascadio {sum(r['cascadio_s'] for r in rows):.2f} s.",
    ]
    return "\n".join(out)


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "--_child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="folder of STEP files (default: AERIE_CORPUS_DIR, ../shared/corpus/step, else the "
        "project's generated fixtures)",
    )
    parser.add_argument("--only", nargs="*", help="file names to include")
    args = parser.parse_args()
    from bench.corpus import step_files

    files, source = step_files(args.corpus)
    print(f"STEP files: {source}", file=sys.stderr)
    if args.only:
        files = [p for p in files if p.name in set(args.only)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="aerie-bench-") as tmp:
        for step in files:
            rows.append(bench_file(step, args.runs, Path(tmp)))
            print(f"done {step.name}", file=sys.stderr)
    print(json.dumps(rows, indent=2) if args.json else markdown(rows, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
