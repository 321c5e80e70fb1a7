"""Benchmark the outputs of big districts: map.html's size, the time to write it, and its load.

Two synthetic analyses, built as ``scripts/benchmark.py`` builds its own (square communities on a
street grid with 50 m blocks, facilities at random nodes):

- ``district``: a 200 x 200 grid (40,000 nodes, 10 x 10 km, every street drawn on the map),
  100 communities, 50 facilities;
- ``city``: a 1,000 x 1,000 grid (1,000,000 nodes, too many streets to draw), 10,000
  communities, 2,000 facilities.

For each it reports the seconds to build the map (:func:`carecircle.outputs.maps.build`) and to
save it, map.html's size, the seconds to write every output at once as ``carecircle analyze``
does (:func:`carecircle.outputs.write_all` with the map), and how soon the map is ready in
headless Chromium: milliseconds from the start of navigation to the end of the page's scripts
(every layer added), to the window's ``load`` event, and to the first frame drawn after it
(``window.carecircleReady``, which the page sets itself; a probe added at the end of the page
measures the same for maps written before that hook). Chromium is driven over its DevTools
pipe (``--remote-debugging-pipe``), with the standard library only.

Usage::

    python scripts/benchmark_outputs.py                   # both cases
    python scripts/benchmark_outputs.py --case district   # the 40,000-node district only
    python scripts/benchmark_outputs.py --keep /tmp/out   # keep the files written
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle import inputs, network, outputs, pipeline
from carecircle.outputs import maps

CASES = {
    "district": (200, 100, 50),  # grid side, communities, facilities
    "city": (1000, 10_000, 2_000),
}
BUDGETS = {"district": (5_000_000, 3000.0), "city": (25_000_000, None)}  # bytes, ms

PROBE = """
<script>
(function () {
  var layersAdded = performance.now();  // this script runs after the page's own
  requestAnimationFrame(function () {
    setTimeout(function () {
      window.benchmarkProbe = {layersAdded: layersAdded, ready: performance.now()};
    }, 0);
  });
})();
</script>
"""

READ = """JSON.stringify({
  page: window.carecircleReady === undefined ? null : window.carecircleReady,
  probe: window.benchmarkProbe || null,
  load: performance.timing.loadEventEnd ? performance.timing.loadEventEnd
        - performance.timing.navigationStart : null,
  canvases: document.querySelectorAll(".leaflet-overlay-pane canvas").length,
  paths: document.querySelectorAll(".leaflet-overlay-pane path").length
})"""


def _communities(net: network.WalkNetwork, count: int, rng: np.random.Generator) -> Any:
    minx, miny, maxx, maxy = net.bounds()
    side = int(np.sqrt(count))
    xs = np.linspace(minx, maxx, side + 1)
    ys = np.linspace(miny, maxy, side + 1)
    ix, iy = (a.ravel() for a in np.meshgrid(np.arange(side), np.arange(side)))
    boxes = shapely.box(xs[ix], ys[iy], xs[ix + 1], ys[iy + 1])
    population = rng.integers(500, 8000, size=boxes.size)
    frame = gpd.GeoDataFrame(
        {
            "id": [f"C{i:05d}" for i in range(boxes.size)],
            "name": [f"第{i}社区居委会" for i in range(boxes.size)],
            "population": population,
            "elderly": (population * rng.uniform(0.15, 0.3, size=boxes.size)).round(),
            "township": [f"街道{i // 100:03d}" for i in range(boxes.size)],
        },
        geometry=boxes,
        crs=net.crs,
    )
    return inputs.communities_from_frame(frame.to_crs(4326))


def _facilities(net: network.WalkNetwork, count: int, rng: np.random.Generator) -> Any:
    chosen = rng.choice(net.n_nodes, size=count, replace=False)
    points = gpd.GeoSeries(
        shapely.points(net.x[chosen] + 15.0, net.y[chosen] + 10.0), crs=net.crs
    ).to_crs(4326)
    tiers = np.where(np.arange(count) % 5 == 0, "health_center", "community_station")
    frame = pd.DataFrame(
        {
            "id": [f"F{i:05d}" for i in range(count)],
            "name": [f"设施{i}" for i in range(count)],
            "tier": tiers,
            "lon": points.x.round(7),
            "lat": points.y.round(7),
            "area_m2": 300,
        }
    )
    return inputs.facilities_from_frame(frame)


def analysis_of(case: str, seed: int = 0) -> pipeline.Analysis:
    """The synthetic analysis of ``case`` (see the module's docstring)."""
    side, n_communities, n_facilities = CASES[case]
    rng = np.random.default_rng(seed)
    net = network.synthetic_grid(side, side, spacing_m=50.0)
    return pipeline.analyze(
        net, _communities(net, n_communities, rng), _facilities(net, n_facilities, rng)
    )


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    msg = "Chromium is missing (scripts/setup.sh installs it)"
    raise SystemExit(msg)


class _DevTools:
    """Headless Chromium driven over its DevTools pipe (file descriptors 3 and 4)."""

    def __init__(self, profile: Path, *, width: int = 1400, height: int = 1000) -> None:
        to_browser, self._send = os.pipe()
        self._receive, from_browser = os.pipe()

        def wire() -> None:  # in the child: the pipes as descriptors 3 and 4
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            preexec_fn=wire,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next = 0

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._send, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._receive, 1 << 16)
                if not chunk:
                    msg = "Chromium closed its DevTools pipe"
                    raise RuntimeError(msg)
                self._buffer += chunk
            line, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(line)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return dict(reply.get("result", {}))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            self.process.kill()
        self.process.wait(timeout=30)
        os.close(self._send)
        os.close(self._receive)


def load_times(page: Path, *, timeout_s: float = 120.0) -> dict[str, Any]:
    """Open ``page`` in headless Chromium; the times (ms) of its hook, the probe and ``load``."""
    probed = page.with_name(page.stem + "_probed.html")
    probed.write_text(
        page.read_text(encoding="utf-8").replace("</html>", PROBE + "</html>"), encoding="utf-8"
    )
    with tempfile.TemporaryDirectory() as profile:
        browser = _DevTools(Path(profile))
        try:
            target = browser.call("Target.createTarget", url=probed.as_uri())["targetId"]
            session = browser.call("Target.attachToTarget", targetId=target, flatten=True)[
                "sessionId"
            ]
            start = time.perf_counter()
            while time.perf_counter() - start < timeout_s:
                result = browser.call(
                    "Runtime.evaluate", session, expression=READ, returnByValue=True
                )
                seen = json.loads(result["result"].get("value") or "{}")
                if seen.get("probe") and seen.get("load"):
                    return seen
                time.sleep(0.05)
            msg = f"{page.name} was not ready in {timeout_s:g} s"
            raise RuntimeError(msg)
        finally:
            browser.close()
            probed.unlink()


def run(case: str, out: Path) -> dict[str, Any]:
    """Build ``case``'s analysis, write its map and every output, open the map; the figures."""
    print(
        f"\n## {case}: grid {CASES[case][0]} x {CASES[case][0]}, {CASES[case][1]:,} "
        f"communities, {CASES[case][2]:,} facilities"
    )
    start = time.perf_counter()
    analysis = analysis_of(case)
    print(f"analysis (not part of the outputs):      {time.perf_counter() - start:7.1f} s")
    print(
        f"streets drawn: {len(analysis.streets):,}; circle polygons: "
        f"{len(analysis.circle_areas()):,}; uncovered areas: {len(analysis.uncovered):,}"
    )

    out.mkdir(parents=True, exist_ok=True)
    page = out / "map.html"
    start = time.perf_counter()
    fmap = maps.build(analysis)
    built = time.perf_counter() - start
    start = time.perf_counter()
    fmap.save(str(page))
    saved = time.perf_counter() - start
    size = page.stat().st_size
    print(f"map: build {built:.1f} s, save {saved:.1f} s, map.html {size / 1e6:.1f} MB")

    def write_map(path: Path) -> Path:
        maps.build(analysis).save(str(path))
        return path

    start = time.perf_counter()
    outputs.write_all(analysis, out / "all", also={"map": ("map.html", write_map)})
    written = time.perf_counter() - start
    print(f"every output (write_all with the map):   {written:7.1f} s")

    seen = load_times(page)
    probe = seen["probe"]
    ready = seen["page"] if seen["page"] is not None else probe["ready"]
    print(
        f"in Chromium: layers added {probe['layersAdded']:.0f} ms, load {seen['load']:.0f} ms, "
        f"first frame drawn (carecircleReady) {ready:.0f} ms "
        f"({'the page' if seen['page'] is not None else 'the probe'}); "
        f"{seen['canvases']} canvas, {seen['paths']:,} SVG paths in the overlay pane"
    )
    budget_bytes, budget_ms = BUDGETS[case]
    verdict = [f"size {'within' if size <= budget_bytes else 'OVER'} {budget_bytes / 1e6:g} MB"]
    if budget_ms is not None:
        verdict.append(f"ready {'within' if ready <= budget_ms else 'OVER'} {budget_ms:g} ms")
    print("budget: " + ", ".join(verdict))
    return {"size": size, "build": built, "save": saved, "written": written, "ready": ready}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args(argv)
    cases = list(CASES) if args.case == "all" else [args.case]
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            run(case, (args.keep or Path(tmp)) / case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
