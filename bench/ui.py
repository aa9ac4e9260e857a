"""UI benchmark (issue 5): the board and the part page in Chromium against the production build.

    .venv/bin/python bench/ui.py                              # 10k and 100k parts, 15 runs
    .venv/bin/python bench/ui.py --sizes 10000 --runs 5 --json

For each size: a fresh data folder with SQLite, N parts seeded with bench/api.py's `seed`, Aerie
started in production mode with bench/api.py's `Server`, the largest corpus STEP uploaded to one
part through the REST API (conversion awaited), then Debian's Chromium (the e2e launch args)
signs in once and measures, `--runs` times each after one untimed warm-up:

- board: `page.goto("/")` until the first `.part-row` is visible and `#search` is enabled;
- search: last keystroke of a unique part id (e.g. `P-004242`, Review tab) until the table shows
  exactly that row; reported raw and minus the debounce of the search box;
- tab: pointerdown on a tab until the table's rows are replaced (tabs taken in turn);
- detail: `page.goto("/parts/<id>")` until the viewer has `data-state=ready` and its canvas shows
  non-blank pixels (GLB from the HTTP cache after the warm-up: `Cache-Control: max-age=3600`);
- detail, no cache: the same with Chromium's HTTP cache disabled (CDP), like a first visit;
  then the same with the uncompressed GLB (the model request rewritten to `?format=plain`), and
  both again on emulated shop Wi-Fi (CDP network conditions: 20 Mbit/s down, 20 ms latency).

Every time is taken inside the page with `performance.now()`: page loads from navigation start
(the document's time origin), interactions from the input event (`input` / `pointerdown`), ends
from a MutationObserver (rAF polling for the canvas pixels). WebSocket frames are timestamped in
the page too, which splits each interaction into client (debounce), server round trip and render.
The server-side part of one board refresh is also timed in-process on the same database.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The same flags as tests/e2e/conftest.py's browser_type_launch_args.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
# The board's debounce, read from its source (importing the page would import the whole UI).
DEBOUNCE_MS = int(
    re.search(
        r"SEARCH_DEBOUNCE_MS = (\d+)", (ROOT / "aerie_app" / "pages" / "board.py").read_text()
    ).group(1)  # type: ignore[union-attr]
)
TABS = ["cnc", "hand", "misc", "completed", "review"]
WAIT_MS = 60_000
METRICS = {
    "board": "board load → interactive",
    "search": "search keystroke → rows (raw)",
    "search_net": f"search keystroke → rows − {DEBOUNCE_MS} ms debounce",
    "tab": "tab switch → rows replaced",
    "detail": "detail open → first model frame (GLB cached)",
    "detail_cold": "detail open → first model frame (HTTP cache off)",
    "detail_cold_plain": "… the same with the plain GLB (`?format=plain`)",
    "detail_wifi": "detail open → first model frame (cache off, shop Wi-Fi: 20 Mbit/s, 20 ms)",
    "detail_wifi_plain": "… the same with the plain GLB (`?format=plain`)",
    "poster": "detail open → thumbnail in the viewer's place (GLB cached)",
    "poster_cold": "detail open → thumbnail in the viewer's place (HTTP cache off)",
}


# Chromium's network emulation (CDP Network.emulateNetworkConditions): bytes per second.
WIFI = {
    "offline": False,
    "latency": 20,
    "downloadThroughput": 20_000_000 / 8,
    "uploadThroughput": 10_000_000 / 8,
}
NO_THROTTLE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def to_plain(route: Any) -> None:
    """Ask for the uncompressed GLB instead of the meshopt one the viewer asks for."""
    sep = "&" if "?" in route.request.url else "?"
    route.continue_(url=f"{route.request.url}{sep}format=plain")


def _load_api() -> Any:
    spec = importlib.util.spec_from_file_location("bench_api", ROOT / "bench" / "api.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


api = _load_api()

# Installed before any page script runs (every navigation): WebSocket frame timestamps and the
# marks for page loads. Times are performance.now(), i.e. ms since the navigation started.
INIT_JS = """
(() => {
  if (window.__bench) return;
  const B = (window.__bench = { ws: [], marks: {}, cur: null });
  const Orig = window.WebSocket;
  if (Orig) {
    const send = Orig.prototype.send;
    Orig.prototype.send = function (d) {
      B.ws.push(['s', performance.now(), (d && d.length) || 0]);
      return send.call(this, d);
    };
    window.WebSocket = class extends Orig {
      constructor(...args) {
        super(...args);
        B.marks.wsCreated = B.marks.wsCreated || performance.now();
        this.addEventListener('open', () => { B.marks.wsOpen = B.marks.wsOpen || performance.now(); });
        this.addEventListener('message', (e) => {
          B.ws.push(['r', performance.now(), (e.data && (e.data.length || e.data.byteLength)) || 0]);
        });
      }
    };
  }
  const PIXELS = () => {
    const src = document.querySelector('[data-testid=viewer-canvas]');
    if (!src) return -1;
    const c = document.createElement('canvas');
    c.width = src.width; c.height = src.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(src, 0, 0);
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4 * 97) seen.add(data[i] + ',' + data[i+1] + ',' + data[i+2]);
    return seen.size;
  };
  const poll = () => {
    const n = PIXELS();
    B.marks.pixels = n;
    if (n > 20) { B.marks.frame = performance.now(); return; }
    if (performance.now() - B.marks.ready < 20000) requestAnimationFrame(poll);
  };
  const check = () => {
    const path = location.pathname.replace(/\\/+$/, '') || '/';
    if (path === '/' && B.marks.board === undefined) {
      const row = document.querySelector('#parts-table .part-row');
      const search = document.querySelector('#search');
      if (row && row.getClientRects().length && search && !search.disabled) {
        B.marks.board = performance.now();
      }
    }
    if (path.startsWith('/parts/') && B.marks.poster === undefined) {
      // The thumbnail the viewer shows in the model's place while the model loads.
      const img = document.querySelector('[data-testid=viewer-poster]');
      const mark = () => { if (B.marks.poster === undefined) B.marks.poster = performance.now(); };
      if (img && img.complete && img.naturalWidth > 0) mark();
      else if (img && !img.dataset.benchArmed) {
        img.dataset.benchArmed = '1';
        img.addEventListener('load', mark, { once: true });
      }
    }
    if (path.startsWith('/parts/') && B.marks.ready === undefined) {
      const viewer = document.querySelector('[data-testid=aerie-viewer]');
      const state = viewer && viewer.getAttribute('data-state');
      if (state === 'ready') { B.marks.ready = performance.now(); requestAnimationFrame(poll); }
      if (state === 'error') B.marks.error = viewer.textContent || 'viewer error';
    }
    return B.marks.board !== undefined || B.marks.ready !== undefined || B.marks.error;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  observer.observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'disabled'],
  });
})();
"""

# Arms a measurement: `start` is the last `input` on #search or the first pointerdown; `done`
# the first DOM mutation after which the table shows what is expected.
ARM_JS = """
(arg) => {
  const B = window.__bench;
  const table = document.querySelector('#parts-table');
  const rowsOf = () => Array.from(table.querySelectorAll('.part-row'));
  const sig = () => rowsOf().map((r) => (r.querySelector('a') || r).getAttribute('href')).join(',');
  const before = sig();
  const s = (B.cur = { start: null, done: null, rows: null });
  B.ws.length = 0;
  const input = document.querySelector('#search');
  const onInput = () => { s.start = performance.now(); };
  const onDown = () => { if (s.start === null) s.start = performance.now(); };
  if (arg.kind === 'search') input.addEventListener('input', onInput, true);
  else document.addEventListener('pointerdown', onDown, true);
  const ok = () => {
    const rows = rowsOf();
    if (arg.kind === 'search') {
      return rows.length === 1 && rows[0].textContent.includes(arg.text);
    }
    const tab = document.querySelector('#tab-' + arg.tab);
    const now = sig();
    return rows.length > 0 && now !== before && tab && tab.getAttribute('data-state') === 'active';
  };
  const observer = new MutationObserver(() => {
    if (s.start === null || s.done !== null || !ok()) return;
    s.done = performance.now();
    s.rows = rowsOf().length;
    observer.disconnect();
    input.removeEventListener('input', onInput, true);
    document.removeEventListener('pointerdown', onDown, true);
  });
  observer.observe(table, { subtree: true, childList: true, characterData: true, attributes: true });
  observer.observe(document.querySelector('#tab-' + (arg.tab || 'review')), { attributes: true });
}
"""

# Where an interaction's time went: start → first event frame sent (client, incl. debounce),
# → last frame received before the DOM changed (server + socket), → DOM done (React render).
SPLIT_JS = """
() => {
  const B = window.__bench, s = B.cur;
  const sent = B.ws.filter((w) => w[0] === 's' && w[1] >= s.start && w[2] > 8);
  const recv = B.ws.filter((w) => w[0] === 'r' && w[1] <= s.done && w[2] > 8);
  const t0 = sent.length ? sent[0][1] : null;
  const t1 = recv.length ? recv[recv.length - 1][1] : null;
  return {
    total: s.done - s.start,
    client: t0 === null ? null : t0 - s.start,
    server: t0 === null || t1 === null || t1 < t0 ? null : t1 - t0,
    render: t1 === null || t1 < (t0 || 0) ? null : s.done - t1,
    down: recv.length ? recv[recv.length - 1][2] : null,
  };
}
"""

LOAD_SPLIT_JS = """
() => {
  const B = window.__bench, nav = performance.getEntriesByType('navigation')[0];
  const recv = B.ws.filter((w) => w[0] === 'r' && w[1] <= (B.marks.board || B.marks.ready));
  const glb = performance.getEntriesByType('resource').filter((r) => r.name.includes('/model'));
  return {
    dcl: nav ? nav.domContentLoadedEventEnd : null,
    wsOpen: B.marks.wsOpen || null,
    lastRecv: recv.length ? recv[recv.length - 1][1] : null,
    glbEnd: glb.length ? glb[0].responseEnd : null,
    glbBytes: glb.length ? glb[0].transferSize : null,
    ready: B.marks.ready || null,
    poster: B.marks.poster || null,
    pixels: B.marks.pixels || null,
  };
}
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        # nearest rank: with 15 runs p95 is the slowest run
        "p95": round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], 1),
        "min": round(ordered[0], 1),
        "n": len(ordered),
    }


def median_of(samples: list[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in samples if s.get(key) is not None]
    return round(statistics.median(values), 1) if values else None


def wait_until_served(server: Any) -> None:
    """bench/api.py's Server waits for /api/health; the UI also needs the built frontend."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"Aerie exited with {server.proc.returncode}")
        try:
            if httpx.get(server.base + "/", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("the frontend was not served within 900 s")


def frontend_stamp() -> float:
    """Newest mtime in .web/build: every production start rebuilds this shared folder, so a
    change during a measurement means another server (another engineer's test) rebuilt it."""
    build = ROOT / ".web" / "build"
    return max((p.stat().st_mtime for p in build.rglob("*")), default=0.0)


def start_server(data: Path) -> Any:
    server = api.Server.__new__(api.Server)
    try:
        api.Server.__init__(server, data, None)
        wait_until_served(server)
    except BaseException:
        if getattr(server, "proc", None) is not None:
            server.stop()
        raise
    return server


def upload_model(base: str, part: int, step: Path) -> dict[str, Any]:
    headers = {"X-API-Key": api.KEY}
    with step.open("rb") as fh:
        r = httpx.post(
            f"{base}/api/parts/{part}/upload",
            headers=headers,
            files={"file": (step.name, fh, "application/step")},
            timeout=120,
        )
    if r.status_code != 201:
        raise RuntimeError(f"upload failed: {r.status_code} {r.text[:300]}")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = httpx.get(f"{base}/api/parts/{part}/conversion", headers=headers, timeout=30)
        body = status.json()
        if body.get("status") == "ready":
            return dict(body)
        if body.get("status") in ("failed", "error"):
            raise RuntimeError(f"conversion failed: {body}")
        time.sleep(1)
    raise RuntimeError("conversion not ready within 600 s")


def pick_parts(url: str, size: int) -> tuple[int, list[str]]:
    """(id of a Review part for the model, part ids of Review parts to search for)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, part_id FROM part WHERE category = 'review' "
                "ORDER BY id LIMIT 4 OFFSET :o"
            ),
            {"o": size // 12},
        ).all()
    engine.dispose()
    if len(rows) < 4:
        raise RuntimeError("not enough Review parts seeded")
    return int(rows[0][0]), [str(r[1]) for r in rows[1:]]


def server_refresh_ms(url: str, search: str, runs: int) -> dict[str, Any]:
    """The queries of one BoardState._refresh, in-process on the same database (no Reflex)."""
    from aerie_app.db import make_engine, session_scope
    from aerie_app.schemas import part_public
    from aerie_app.services import partquery, stats
    from aerie_app.services.partquery import PartQuery

    engine = make_engine(url)
    out: dict[str, Any] = {}
    cases = {"search": ("review", search), "tab": ("cnc", None)}
    for name, (tab, text) in cases.items():
        times: dict[str, list[float]] = {"list": [], "stats": [], "filters": [], "all": []}
        for _ in range(runs + 1):
            with session_scope(engine) as session:
                t0 = time.perf_counter()
                found, _ = partquery.list_parts(
                    session, PartQuery(category=tab, search=text, limit=50, offset=0)
                )
                [part_public(p) for p in found]
                t1 = time.perf_counter()
                stats.stats(session)
                t2 = time.perf_counter()
                for f in ("subsystem", "material", "assigned", "status"):
                    partquery.distinct_values(session, f, category=tab)
                t3 = time.perf_counter()
            times["list"].append((t1 - t0) * 1000)
            times["stats"].append((t2 - t1) * 1000)
            times["filters"].append((t3 - t2) * 1000)
            times["all"].append((t3 - t0) * 1000)
        out[name] = {k: round(statistics.median(v[1:]), 1) for k, v in times.items()}
    engine.dispose()
    return out


def sign_in(page: Any, base: str, data: Path) -> None:
    """Sign in once with the admin key (the session cookie then serves every page)."""
    for attempt in range(3):
        try:
            page.goto(base + "/", timeout=WAIT_MS)
            page.locator("#access-key").fill(api.KEY, timeout=WAIT_MS)
            page.locator("#sign-in").click()
            page.locator("#parts-table .part-row").first.wait_for(timeout=WAIT_MS)
            return
        except Exception as exc:
            shot = ROOT / "artifacts" / f"bench-ui-signin-{attempt}.png"
            shot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(shot))
            log(f"sign-in failed ({type(exc).__name__}); screenshot {shot}")
            if attempt == 2:
                log((data / "server.log").read_text(errors="replace")[-3000:])
                raise
            time.sleep(5)


class Bench:
    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base

    def goto_board(self) -> dict[str, Any]:
        self.page.goto(self.base + "/", wait_until="commit", timeout=WAIT_MS)
        self.page.wait_for_function(
            "() => window.__bench && window.__bench.marks.board !== undefined", timeout=WAIT_MS
        )
        split = self.page.evaluate(LOAD_SPLIT_JS)
        split["total"] = self.page.evaluate("() => window.__bench.marks.board")
        return dict(split)

    def ensure_tab(self, tab: str) -> None:
        locator = self.page.locator(f"#tab-{tab}")
        if locator.get_attribute("data-state") != "active":
            locator.click()
            self.page.wait_for_function(
                f"() => document.querySelector('#tab-{tab}').getAttribute('data-state') === 'active'",
                timeout=WAIT_MS,
            )
        self.settle()

    def settle(self) -> None:
        # let the last refresh land before the next measurement
        self.page.wait_for_function(
            "() => document.querySelectorAll('#parts-table .part-row').length > 1",
            timeout=WAIT_MS,
        )
        self.page.wait_for_timeout(300)

    def search(self, text: str) -> dict[str, Any]:
        box = self.page.locator("#search")
        self.page.evaluate(ARM_JS, {"kind": "search", "text": text})
        box.click()
        box.press_sequentially(text, delay=25)
        self.page.wait_for_function("() => window.__bench.cur.done !== null", timeout=WAIT_MS)
        split = dict(self.page.evaluate(SPLIT_JS))
        box.fill("")
        self.settle()
        return split

    def tab(self, tab: str) -> dict[str, Any]:
        self.page.evaluate(ARM_JS, {"kind": "tab", "tab": tab})
        self.page.locator(f"#tab-{tab}").click()
        self.page.wait_for_function("() => window.__bench.cur.done !== null", timeout=WAIT_MS)
        split = dict(self.page.evaluate(SPLIT_JS))
        self.page.wait_for_timeout(300)
        return split

    def detail(self, part: int) -> dict[str, Any]:
        self.page.goto(f"{self.base}/parts/{part}", wait_until="commit", timeout=WAIT_MS)
        try:
            self.page.wait_for_function(
                "() => window.__bench && (window.__bench.marks.frame !== undefined"
                " || window.__bench.marks.error !== undefined"
                " || (window.__bench.marks.ready !== undefined"
                "     && performance.now() - window.__bench.marks.ready > 20000))",
                timeout=WAIT_MS,
            )
        except Exception as exc:
            seen = self.page.evaluate(
                "() => [JSON.stringify((window.__bench || {}).marks),"
                " (document.body ? document.body.innerText : '').slice(0, 120)]"
            )
            raise RuntimeError(f"{type(exc).__name__}: marks/page text {seen}") from None
        marks = self.page.evaluate("() => window.__bench.marks")
        if "frame" not in marks:
            raise RuntimeError(f"no model frame: {marks}")
        split = self.page.evaluate(LOAD_SPLIT_JS)
        split["total"] = marks["frame"]
        return dict(split)


def repeat(
    name: str, runs: int, fn: Callable[[int], dict[str, Any]], recover: Callable[[], None]
) -> tuple[list[dict[str, Any]], list[str]]:
    """One untimed warm-up, then `runs` timed runs; stops after 3 failures in a row."""
    samples: list[dict[str, Any]] = []
    errors: list[str] = []
    streak = 0
    for i in range(runs + 1):
        try:
            sample = fn(i)
            streak = 0
            if i > 0:
                samples.append(sample)
        except Exception as exc:  # a timeout or a blank canvas: count it, resync, go on
            errors.append(f"{name} run {i}: {type(exc).__name__}: {str(exc)[:200]}")
            log(errors[-1])
            streak += 1
            if streak >= 3:
                break
            try:
                recover()
            except Exception as again:
                errors.append(f"{name} recover: {again}")
    values = [s["total"] for s in samples]
    log(f"  {name}: {summary(values)}")
    return samples, errors


def bench_size(size: int, runs: int, step: Path, browser: Any) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix=f"aerie-ui-bench-{size}-"))
    url = f"sqlite:///{data / 'aerie.db'}"
    server = None
    context = None
    try:
        log(f"{size}: seeding")
        t0 = time.perf_counter()
        api.seed(url, size)
        seeded = time.perf_counter() - t0
        model_part, targets = pick_parts(url, size)
        log(f"{size}: seeded in {seeded:.0f} s; starting the production server")
        t0 = time.perf_counter()
        server = start_server(data)
        started = time.perf_counter() - t0
        log(f"{size}: served at {server.base} after {started:.0f} s; converting {step.name}")
        t0 = time.perf_counter()
        conversion = upload_model(server.base, model_part, step)
        converted = time.perf_counter() - t0

        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(INIT_JS)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        sign_in(page, server.base, data)
        bench = Bench(page, server.base)

        def to_board() -> None:
            bench.goto_board()
            bench.page.locator("#search").fill("")
            bench.ensure_tab("review")

        result: dict[str, Any] = {"samples": {}, "errors": []}
        stamp = frontend_stamp()

        def record(name: str, fn: Callable[[int], dict[str, Any]]) -> None:
            samples, errors = repeat(name, runs, fn, to_board)
            result["samples"][name] = samples
            result["errors"] += errors
            if frontend_stamp() != stamp:
                result["errors"].append(f"{name}: .web/build was rebuilt by another server")
                log(result["errors"][-1])

        log(f"{size}: measuring ({runs} runs + 1 warm-up each)")
        record("board", lambda i: bench.goto_board())
        to_board()
        record("search", lambda i: bench.search(targets[i % len(targets)]))
        to_board()
        record("tab", lambda i: bench.tab(TABS[i % len(TABS)]))
        record("detail", lambda i: bench.detail(model_part))
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        record("detail_cold", lambda i: bench.detail(model_part))
        # The same page with the uncompressed GLB (what the model route served before meshopt).
        page.route("**/api/parts/*/model*", to_plain)
        record("detail_cold_plain", lambda i: bench.detail(model_part))
        page.unroute("**/api/parts/*/model*", to_plain)
        # A phone on the shop's Wi-Fi: the model's bytes, not the loopback, set the pace.
        cdp.send("Network.emulateNetworkConditions", WIFI)
        record("detail_wifi", lambda i: bench.detail(model_part))
        page.route("**/api/parts/*/model*", to_plain)
        record("detail_wifi_plain", lambda i: bench.detail(model_part))
        page.unroute("**/api/parts/*/model*", to_plain)
        cdp.send("Network.emulateNetworkConditions", NO_THROTTLE)
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        context.close()
        context = None

        log(f"{size}: timing the board refresh queries in-process")
        result["server_refresh_ms"] = server_refresh_ms(url, targets[0], runs)
        samples = result["samples"]
        for s in samples.get("search", []):
            s["net"] = s["total"] - DEBOUNCE_MS
        metrics = {
            "board": summary([s["total"] for s in samples.get("board", [])]),
            "search": summary([s["total"] for s in samples.get("search", [])]),
            "search_net": summary([s["net"] for s in samples.get("search", [])]),
            "tab": summary([s["total"] for s in samples.get("tab", [])]),
            "detail": summary([s["total"] for s in samples.get("detail", [])]),
            "detail_cold": summary([s["total"] for s in samples.get("detail_cold", [])]),
            **{
                name: summary([s["total"] for s in samples.get(name, [])])
                for name in ("detail_cold_plain", "detail_wifi", "detail_wifi_plain")
            },
            # A run where the model was drawn before the thumbnail arrived has no poster mark.
            "poster": summary([s["poster"] for s in samples.get("detail", []) if s.get("poster")]),
            "poster_cold": summary(
                [s["poster"] for s in samples.get("detail_cold", []) if s.get("poster")]
            ),
        }
        splits: dict[str, Any] = {}
        for name in ("search", "tab"):
            splits[name] = {
                k: median_of(samples.get(name, []), k) for k in ("client", "server", "render")
            }
            splits[name]["frame_bytes"] = median_of(samples.get(name, []), "down")
        splits["board"] = {
            k: median_of(samples.get("board", []), k) for k in ("dcl", "wsOpen", "lastRecv")
        }
        for name in ("detail", "detail_cold", "detail_wifi", "detail_wifi_plain"):
            splits[name] = {
                k: median_of(samples.get(name, []), k) for k in ("dcl", "glbEnd", "ready")
            }
            splits[name]["glb_transfer_bytes"] = median_of(samples.get(name, []), "glbBytes")
        return {
            "seed_s": round(seeded, 1),
            "server_start_s": round(started, 1),
            "conversion_s": round(converted, 1),
            "model": {"file": step.name, "part": model_part, "facts": conversion.get("facts")},
            "search_terms": targets,
            "metrics": metrics,
            "splits": splits,
            "server_refresh_ms": result["server_refresh_ms"],
            "errors": result["errors"],
            "samples": samples,
        }
    finally:
        if context is not None:
            try:
                context.close()
            except Exception:
                pass
        if server is not None:
            log(f"{size}: stopping the server")
            server.stop()
        shutil.rmtree(data, ignore_errors=True)


def markdown(results: dict[str, Any], runs: int) -> str:
    out = [
        f"Times in ms, {runs} runs per metric after 1 warm-up; p95 is nearest-rank "
        f"(with 15 runs: the slowest). All measured in the page with `performance.now()` "
        f"(loads from navigation start, interactions from the `input`/`pointerdown` event).",
        "",
        "| parts | metric | p50 | p95 | min | n |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for size, r in results.items():
        for key, label in METRICS.items():
            m = r["metrics"][key]
            if m["n"]:
                out.append(
                    f"| {int(size):,} | {label} | {m['p50']} | {m['p95']} | {m['min']} | {m['n']} |"
                )
            else:
                out.append(f"| {int(size):,} | {label} | failed | | | 0 |")
    out += [
        "",
        "Where the time goes (medians, ms). search/tab: client = input → event frame sent "
        "(includes the debounce), server = frame sent → last frame received (Reflex event + queries "
        "+ socket), render = frame received → DOM updated. board/detail: ms from navigation start.",
        "",
        "| parts | search client / server / render | tab client / server / render | "
        "board DOMContentLoaded / socket open / rows frame | detail DCL / GLB loaded / ready "
        "(cached) | in-process refresh: search list / stats / filters | tab list / stats / filters |",
        "|---:|---|---|---|---|---|---|",
    ]
    for size, r in results.items():
        sp, q = r["splits"], r["server_refresh_ms"]

        def three(d: dict[str, Any], a: str, b: str, c: str) -> str:
            return f"{d.get(a)} / {d.get(b)} / {d.get(c)}"

        out.append(
            f"| {int(size):,} | {three(sp['search'], 'client', 'server', 'render')} "
            f"| {three(sp['tab'], 'client', 'server', 'render')} "
            f"| {three(sp['board'], 'dcl', 'wsOpen', 'lastRecv')} "
            f"| {three(sp['detail'], 'dcl', 'glbEnd', 'ready')} "
            f"| {three(q['search'], 'list', 'stats', 'filters')} "
            f"| {three(q['tab'], 'list', 'stats', 'filters')} |"
        )
    out.append("")
    for size, r in results.items():
        sp = r["splits"]
        for name, what in (("detail_wifi", "meshopt GLB"), ("detail_wifi_plain", "plain GLB")):
            d = sp.get(name) or {}
            out.append(
                f"- {int(size):,} parts, part page on shop Wi-Fi with the {what}: DOMContentLoaded "
                f"/ GLB loaded / viewer ready {d.get('dcl')} / {d.get('glbEnd')} / {d.get('ready')} "
                f"ms, GLB transfer {d.get('glb_transfer_bytes')} bytes"
            )
    for size, r in results.items():
        out.append(
            f"- {int(size):,} parts: seeded in {r['seed_s']} s, server up in "
            f"{r['server_start_s']} s (incl. frontend build), {r['model']['file']} converted in "
            f"{r['conversion_s']} s; searched {', '.join(r['search_terms'])}; "
            f"{len(r['errors'])} failed run(s)" + (f": {r['errors']}" if r["errors"] else "")
        )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per metric")
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="default: the largest corpus STEP (or generated fixture, with no corpus)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (with every sample)")
    args = parser.parse_args()

    if not Path(CHROMIUM).exists():
        raise SystemExit(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install "
            "chromium); this benchmark does not use Playwright's downloaded browsers."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("playwright is not installed: .venv/bin/pip install playwright") from None
    step = args.model
    if step is None:
        sys.path.insert(0, str(ROOT))
        from bench.corpus import step_files

        files, source = step_files()
        step = max(files, key=lambda p: p.stat().st_size)
        print(f"model: {step.name} ({source})", file=sys.stderr)
    if not step.exists():
        raise SystemExit(f"{step} does not exist")

    results: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for size in [int(s) for s in args.sizes.split(",")]:
                results[str(size)] = bench_size(size, args.runs, step, browser)
        finally:
            browser.close()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(markdown(results, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
