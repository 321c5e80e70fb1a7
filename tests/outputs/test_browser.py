"""The demo map in headless Chromium with the network cut off.

Chromium runs with every request sent to a recording proxy on the loopback address that
refuses them all, so the test sees any request the page tries to send off the machine. The
page is checked through its rendered DOM, a probe script opens every popup, and a screenshot
is saved to ``maps/browser/`` for a person to look at.

Chromium comes from the project's set-up (``scripts/setup.sh``); the test is skipped where it
is missing, except in CI, where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest

from carecircle import pipeline
from carecircle.outputs import headline, maps

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "maps" / "browser"
# Chromium's own services (clock, updates, sign-in), not requests of the page.
BROWSER_SERVICES = (
    "clients2.google.com",
    "update.googleapis.com",
    "accounts.google.com",
    "optimizationguide-pa.googleapis.com",
)
EVIL = "<img src=x onerror=\"document.title='pwned'\">社区"

PROBE = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var found = {imgs: 0, texts: []};
    Object.keys(window).forEach(function (key) {
      var group = window[key];
      if (!(group instanceof L.GeoJSON) || !group.getPopup()) { return; }
      group.eachLayer(function (layer) {
        var where = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
        layer.fire("click", {latlng: where}, true);  // as a click would: opens its popup
        var box = document.querySelector(".leaflet-popup-content");
        if (box) {
          found.imgs += box.querySelectorAll("img").length;
          found.texts.push(box.textContent);
        }
      });
    });
    var out = document.createElement("pre");
    out.id = "probe";
    out.textContent = JSON.stringify(found);
    document.body.appendChild(out);
  }, 200);
});
</script>
"""


SWITCH = """
<script>
window.addEventListener("load", function () {
  var today = "养老服务圈: 社区覆盖", after = "养老服务圈: 建成建议选址后的社区覆盖";
  function box(name) {
    var labels = document.querySelectorAll(".leaflet-control-layers-overlays label");
    for (var i = 0; i < labels.length; i++) {
      if (labels[i].textContent.trim() === name) { return labels[i].querySelector("input"); }
    }
  }
  var seen = [];
  function look() { seen.push([box(today).checked, box(after).checked]); }
  setTimeout(function () {
    box(after).click();
    setTimeout(function () {
      look();
      box(today).click();
      setTimeout(function () {
        look();
        var out = document.createElement("pre");
        out.id = "switched";
        out.textContent = JSON.stringify(seen);
        document.body.appendChild(out);
      }, 100);
    }, 100);
  }, 200);
});
</script>
"""


FIT = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var map = null;
    Object.keys(window).forEach(function (key) {
      if (window[key] instanceof L.Map) { map = window[key]; }
    });
    var bounds = map.carecircleBounds;
    var sw = map.latLngToContainerPoint(L.latLng(bounds[0]));
    var ne = map.latLngToContainerPoint(L.latLng(bounds[1]));
    var list = document.querySelector(".leaflet-control-layers");
    var legend = document.getElementById("carecircle-legend").getBoundingClientRect();
    var rows = document.querySelector(".carecircle-legend-rows");
    var folded = rows.style.display === "none";
    document.querySelector(".carecircle-legend-title").click();  // a tap on the title
    var tapped = rows.style.display !== "none";
    document.querySelector(".carecircle-legend-title").click();
    var out = document.createElement("pre");
    out.id = "fit";
    out.textContent = JSON.stringify({
      width: map.getSize().x, height: map.getSize().y, zoom: map.getZoom(),
      west: sw.x, south: sw.y, east: ne.x, north: ne.y,
      listLeft: list.getBoundingClientRect().left,
      listBottom: list.getBoundingClientRect().bottom,
      listOpen: list.classList.contains("leaflet-control-layers-expanded"),
      legendLeft: legend.left, legendTop: legend.top,
      legendOpen: !folded, legendTapped: tapped
    });
    document.body.appendChild(out);
  }, 300);
});
</script>
"""


TIANDITU = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var form = document.querySelector("form.carecircle-tianditu");
    var seen = {asked: !!form, address: window.location.href};
    if (form && TYPED) {  // a viewer types the key, ticks "remember" and presses the button
      form.querySelector("input[type=text]").value = TYPED;
      form.querySelector("input[type=checkbox]").checked = true;
      form.querySelector("button").click();
    }
    setTimeout(function () {
      seen.tiles = Array.prototype.map.call(
        document.querySelectorAll(".leaflet-tile-pane img"), function (img) { return img.src; });
      seen.layers = document.querySelector(".leaflet-control-layers").textContent;
      seen.stillAsked = !!document.querySelector("form.carecircle-tianditu");
      seen.stored = window.localStorage.getItem("carecircle.tianditu.tk");
      var out = document.createElement("pre");
      out.id = "tianditu";
      out.textContent = JSON.stringify(seen);
      document.body.appendChild(out);
    }, 300);
  }, 200);
});
</script>
"""


READY = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var seen = {added: window.carecircleLayersAdded, ready: window.carecircleReady,
                onCanvas: 0, communities: 0};
    Object.keys(window).forEach(function (key) {
      var group = window[key];
      if (!(group instanceof L.GeoJSON)) { return; }
      group.eachLayer(function (layer) {
        var canvas = layer._renderer instanceof L.Canvas;
        seen.onCanvas += canvas ? 1 : 0;
        seen.communities += canvas && layer.feature.properties.search ? 1 : 0;
      });
    });
    var out = document.createElement("pre");
    out.id = "ready";
    out.textContent = JSON.stringify(seen);
    document.body.appendChild(out);
  }, 500);
});
</script>
"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing: scripts/setup.sh should have installed it")
    pytest.skip("Chromium is not installed (scripts/setup.sh installs it)")
    raise AssertionError  # unreachable


class _RefusingProxy:
    """An HTTP proxy on 127.0.0.1 that records the first line of every request and refuses it."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    data = conn.recv(4096)
                    self.seen.append(data.split(b"\r\n", 1)[0].decode(errors="replace"))
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def page_requests(self) -> list[str]:
        return [line for line in self.seen if not any(h in line for h in BROWSER_SERVICES)]

    def close(self) -> None:
        # shutdown wakes the accept() the serving thread waits in; closing alone does not,
        # and a thread left running would keep later tests from forking a second process
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()


@pytest.fixture
def proxy() -> Iterator[_RefusingProxy]:
    server = _RefusingProxy()
    yield server
    server.close()


def _run(
    chromium: str,
    page: Path,
    proxy: _RefusingProxy,
    profile: Path,
    *extra: str,
    fragment: str = "",
) -> str:
    args = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-default-apps",
        f"--proxy-server=http://127.0.0.1:{proxy.port}",
        "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=6000",
        *extra,
        page.as_uri() + fragment,
    ]
    result = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_offline_map_sends_no_request_and_shows_every_layer(demo_analysis, proxy, tmp_path):
    chromium = _chromium()
    page = tmp_path / "map.html"
    maps.build(demo_analysis).save(str(page))
    dom = _run(chromium, page, proxy, tmp_path / "profile", "--dump-dom")
    assert proxy.page_requests() == []

    # the communities, the circle polygons and the streets drawn on one canvas, not as SVG
    overlay = re.search(r'<div class="leaflet-pane leaflet-overlay-pane"[^>]*>(.*?)</div>', dom)
    assert overlay is not None and overlay.group(1).count("<canvas") == 1
    assert "<path" not in overlay.group(1)
    for label in (
        "养老服务圈: 社区覆盖",
        "养老服务圈: 服务圈范围",
        "步行路网",
        "设施: 社区养老服务站",
    ):
        assert label in dom
    health = (demo_analysis.facilities["tier"].isin(["health_center", "clinic"])).sum()
    assert len(re.findall(r'class="[^"]*carecircle-health', dom)) == health
    # the care facilities' circles sit in their own pane, above every polygon layer
    pane = re.search(
        r'<div class="leaflet-pane leaflet-carecircle-facilities-pane"[^>]*>(.*?)</svg>', dom, re.S
    )
    care = demo_analysis.facilities["tier"].isin(["street_center", "community_station"]).sum()
    assert pane is not None and pane.group(1).count("<path") == care
    assert "carecircle-legend" in dom
    # the legend names each kind of thing drawn, with the map's own symbols
    entries = dict(re.findall(r'data-entry="([^"]+)"(.*?)</span></div>', dom, re.S))
    tiers = set(demo_analysis.facilities["tier"])
    assert {e for e in entries if e.startswith("tier:")} == {f"tier:{t}" for t in tiers}
    for tier in tiers & {"street_center", "community_station"}:
        colour = maps.TIER_COLOURS[tier]
        assert f'fill="{colour}"' in pane.group(1)  # the dots on the map ...
        assert f"background:{colour}" in entries[f"tier:{tier}"]  # ... and in the legend
    for tier in tiers & {"health_center", "clinic"}:
        assert maps.HEALTH_SYMBOL in entries[f"tier:{tier}"]
        assert f"border:2px solid {maps.TIER_COLOURS[tier]}" in entries[f"tier:{tier}"]
    assert {"circle:eldercare", "circle:medical", "uncovered"} <= set(entries)
    assert "未覆盖区域" in entries["uncovered"] and "服务圈范围" in entries["circle:eldercare"]
    assert 'placeholder="搜索社区名称"' in dom
    # the map opened fitted to the data: Leaflet placed its panes with a zoom level
    assert re.search(r"leaflet-zoom-animated", dom)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "demo_map.png"
    _run(
        chromium,
        page,
        proxy,
        tmp_path / "profile2",
        "--window-size=1400,1000",
        f"--screenshot={shot}",
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 30_000  # a drawn map, not a blank page
    assert proxy.page_requests() == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_map_opens_on_the_district_clear_of_the_layer_list(
    demo_analysis, proxy, tmp_path, lang
):
    chromium = _chromium()
    page = tmp_path / "map.html"
    maps.build(demo_analysis, lang=lang).save(str(page))
    page.write_text(page.read_text(encoding="utf-8").replace("</html>", FIT + "</html>"))
    seen = {}
    # a desktop, a laptop, a split screen, a phone (Chromium's narrowest window)
    for width in (1400, 1000, 700, 500):
        dom = _run(
            chromium,
            page,
            proxy,
            tmp_path / f"profile{width}",
            f"--window-size={width},1000",
            "--dump-dom",
        )
        fit = json.loads(re.search(r'<pre id="fit">(.*?)</pre>', dom, re.S).group(1))
        # the whole district on the map, at a street-level zoom, and never under an open list
        assert 0 <= fit["west"] < fit["east"] <= fit["width"], fit
        assert 0 <= fit["north"] < fit["south"] <= fit["height"], fit
        assert fit["zoom"] >= 14, fit
        assert not fit["listOpen"] or fit["east"] <= fit["listLeft"], fit
        if width > 500:  # room for both: the legend covers neither the district nor the list
            assert fit["east"] <= fit["legendLeft"] or fit["south"] <= fit["legendTop"], fit
            assert not fit["listOpen"] or fit["listBottom"] <= fit["legendTop"], fit
        seen[width] = fit
    if lang == "zh":  # a fit to the whole map would put the district's east edge under the list
        assert seen[1000]["listOpen"]
    assert not seen[500]["listOpen"]  # folded into its button, so the district fills the map
    assert not seen[500]["legendOpen"]  # and the legend down to its title, a tap away
    assert seen[500]["legendTapped"]
    assert seen[1400]["legendOpen"] and not seen[1400]["legendTapped"]  # a tap folds it


def test_the_proxy_does_see_tile_requests(demo_analysis, proxy, tmp_path):
    """The control case: with the OpenStreetMap basemap the page asks for tiles."""
    chromium = _chromium()
    page = tmp_path / "osm.html"
    maps.build(demo_analysis, basemap="osm").save(str(page))
    _run(chromium, page, proxy, tmp_path / "profile", "--dump-dom")
    assert any("tile.openstreetmap.org" in line for line in proxy.page_requests())


def test_names_from_the_data_never_run_as_html(demo_analysis, proxy, tmp_path):
    chromium = _chromium()
    communities = gpd.GeoDataFrame(demo_analysis.communities.copy())
    communities.loc[0, "name"] = EVIL
    facilities = gpd.GeoDataFrame(demo_analysis.facilities.copy())
    facilities.loc[0, "name"] = EVIL
    evil = pipeline.Analysis(
        communities,
        facilities,
        demo_analysis.circles,
        demo_analysis.policy,
        streets=demo_analysis.streets,
    )
    page = tmp_path / "evil.html"
    maps.build(evil).save(str(page))
    page.write_text(page.read_text(encoding="utf-8").replace("</html>", PROBE + "</html>"))
    dom = _run(chromium, page, proxy, tmp_path / "profile", "--dump-dom")
    probe = json.loads(
        re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
        .group(1)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&quot;", '"')
    )
    assert len(probe["texts"]) >= len(communities)  # every popup was opened
    assert probe["imgs"] == 0
    assert any(EVIL in text for text in probe["texts"])  # shown as text
    assert "<title>pwned</title>" not in dom
    assert proxy.page_requests() == []


def test_the_siting_map_numbers_the_sites_and_offers_the_coverage_after(
    demo_analysis, proxy, tmp_path
):
    chromium = _chromium()
    communities = demo_analysis.communities
    spots = communities.geometry.representative_point().iloc[:3]
    proposed = gpd.GeoDataFrame(
        {
            "order": [1, 2, 3],
            "id": ["G1", "G2", "G3"],
            "name": [EVIL, "二号", "三号"],
            "newly_covered": [300.0, 200.0, 100.0],
            "cost_yuan": [200_000.0] * 3,
        },
        geometry=spots.to_numpy(),
        crs=communities.crs,
    )
    after = pd.DataFrame(
        {
            "id": communities["id"],
            "share_before": 0.5,
            "share_after": 1.0,
            "status_before": "partial",
            "status_after": "covered",
            "circle": "eldercare",
        }
    )
    reach = gpd.GeoDataFrame(
        {
            "facility_id": ["G1", "G2", "G3"],
            "tier": "community_station",
            "circle": "eldercare",
            "minutes": 15.0,
        },
        geometry=spots.buffer(300.0).to_numpy(),
        crs=communities.crs,
    )
    sited = dataclasses.replace(
        demo_analysis, proposed=proposed, proposed_circles=reach, after=after
    )
    page = tmp_path / "site.html"
    maps.build(sited).save(str(page))
    page.write_text(page.read_text(encoding="utf-8").replace("</html>", SWITCH + "</html>"))
    dom = _run(chromium, page, proxy, tmp_path / "profile", "--dump-dom")
    assert proxy.page_requests() == []
    # the new sites' circles, dashed, in their own pane above the community colours
    pane = re.search(
        r'<div class="leaflet-pane leaflet-carecircle-proposed-circles-pane"[^>]*>(.*?)</svg>',
        dom,
        re.S,
    )
    assert pane is not None and pane.group(1).count('stroke-dasharray="6 4"') == 3
    assert "建议选址的步行圈（虚线）" in dom
    # ticking the layer "after" unticks today's communities, and the other way round
    switched = json.loads(re.search(r'<pre id="switched">(.*?)</pre>', dom, re.S).group(1))
    assert switched == [[False, True], [True, False]]
    marker = r'class="[^"]*carecircle-proposed[^"]*"[^>]*>\s*<div[^>]*>(\d+)</div>'
    markers = re.findall(marker, dom)
    assert markers == ["1", "2", "3"]
    assert "养老服务圈: 建成建议选址后的社区覆盖" in dom  # the layer control was built
    assert "建议选址（数字为建设顺序）" in dom  # and the legend says what the numbers mean
    assert "<title>pwned</title>" not in dom
    assert 'src="x"' not in dom  # the name with markup stays text


def test_the_tianditu_key_is_asked_for_in_the_page_never_written(demo_analysis, proxy, tmp_path):
    chromium = _chromium()
    page = tmp_path / "tianditu.html"
    maps.build(demo_analysis, basemap="tianditu").save(str(page))
    html = page.read_text(encoding="utf-8")

    def opened(profile: str, *, typed: str = "", fragment: str = "") -> dict[str, Any]:
        probe = TIANDITU.replace("TYPED", json.dumps(typed))
        page.write_text(html.replace("</html>", probe + "</html>"), encoding="utf-8")
        dom = _run(chromium, page, proxy, tmp_path / profile, "--dump-dom", fragment=fragment)
        seen = re.search(r'<pre id="tianditu">(.*?)</pre>', dom, re.S)
        assert seen is not None, dom[-2000:]
        return json.loads(seen.group(1).replace("&amp;", "&"))

    def keys(tiles: list[str]) -> set[str]:
        assert all(".tianditu.gov.cn/" in tile for tile in tiles), tiles
        return {re.search(r"[?&]tk=([^&]*)", tile).group(1) for tile in tiles}

    # no key in the file: the page asks, and draws nothing from 天地图 until it is given
    first = opened("viewer", typed="typed0key")
    assert first["asked"] and not first["stillAsked"]
    assert first["tiles"] and keys(first["tiles"]) == {"typed0key"}
    assert "天地图" in first["layers"] and "天地图 注记" in first["layers"]
    assert first["stored"] == "typed0key"  # "remember in this browser" was ticked
    assert proxy.page_requests() and all("tianditu.gov.cn" in r for r in proxy.page_requests())
    # opened again in the same browser: the remembered key, not asked again
    again = opened("viewer")
    assert not again["asked"] and keys(again["tiles"]) == {"typed0key"}
    # an empty key in the address forgets it: asked again, no tile asked for
    proxy.seen.clear()
    forgot = opened("viewer", fragment="#tk=")
    assert forgot["asked"] and forgot["tiles"] == [] and forgot["stored"] is None
    assert proxy.page_requests() == []
    # a key in the address's fragment: used, not remembered, and taken off the address
    linked = opened("another", fragment="#tk=fragment0key")
    assert not linked["asked"] and keys(linked["tiles"]) == {"fragment0key"}
    assert linked["stored"] is None and "tk=" not in linked["address"]


def test_names_with_control_characters_leave_the_page_working(demo_analysis, proxy, tmp_path):
    chromium = _chromium()
    names = ['=HYPERLINK("http://x","y")', "a\x00b", "v\x0bt", "c\x1fd", "\rcr"]
    communities = demo_analysis.communities.copy()
    communities.loc[communities.index[: len(names)], "name"] = names
    facilities = demo_analysis.facilities.copy()
    facilities.loc[facilities.index[: len(names)], "name"] = names
    named = dataclasses.replace(demo_analysis, communities=communities, facilities=facilities)
    page = tmp_path / "named.html"
    maps.build(named).save(str(page))
    page.write_text(page.read_text(encoding="utf-8").replace("</html>", PROBE + "</html>"))
    dom = _run(chromium, page, proxy, tmp_path / "profile", "--dump-dom")
    probe = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1))
    assert len(probe["texts"]) >= len(communities)  # every popup still opens
    texts = "\n".join(probe["texts"])
    assert '=HYPERLINK("http://x","y")' in texts.replace("&quot;", '"')
    assert "v\x0bt" in texts and "c\x1fd" in texts
    assert proxy.page_requests() == []


READ = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var found = {title: "", reasons: {}, labels: [], flags: 0, scale: null};
    var title = document.getElementById("carecircle-title");
    found.title = title ? title.textContent : "";
    Object.keys(window).forEach(function (key) {
      var group = window[key];
      if (!(group instanceof L.GeoJSON) || !group.getPopup()) { return; }
      group.eachLayer(function (layer) {
        var props = layer.feature && layer.feature.properties;
        if (!props || !props.search || !props.shade) { return; }
        layer.fire("click", {latlng: layer.getBounds().getCenter()}, true);
        var box = document.querySelector(".leaflet-popup-content");
        var why = box && box.querySelector(".carecircle-why");
        (found.reasons[props.search] = found.reasons[props.search] || []).push(
          why ? why.textContent : "");
      });
    });
    document.querySelectorAll(".carecircle-label span").forEach(function (span) {
      found.labels.push(span.textContent);
    });
    var credit = document.querySelector(".leaflet-control-attribution");
    found.flags = credit.querySelectorAll("svg, img").length;
    found.credit = credit.textContent;
    var scale = document.querySelector(".leaflet-control-scale").getBoundingClientRect();
    var boxes = [credit.getBoundingClientRect(),
                 document.getElementById("carecircle-legend").getBoundingClientRect()];
    found.scale = {top: scale.top, bottom: scale.bottom, left: scale.left, right: scale.right,
                   width: scale.width, height: window.innerHeight,
                   clear: boxes.every(function (b) {
                     return b.left >= scale.right || b.bottom <= scale.top || b.top >= scale.bottom;
                   })};
    var out = document.createElement("pre");
    out.id = "read";
    out.textContent = JSON.stringify(found);
    document.body.appendChild(out);
  }, 300);
});
</script>
"""


def _read(chromium: str, page: Path, proxy: _RefusingProxy, profile: Path, width: int) -> Any:
    dom = _run(chromium, page, proxy, profile, f"--window-size={width},1000", "--dump-dom")
    found = re.search(r'<pre id="read">(.*?)</pre>', dom, re.S)
    assert found is not None, dom[-2000:]
    text = found.group(1)
    for escaped, plain in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&amp;", "&")):
        text = text.replace(escaped, plain)
    return json.loads(text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_map_leads_with_the_headline_and_says_why_a_community_is_not_covered(
    demo_analysis, proxy, tmp_path, lang
):
    chromium = _chromium()
    page = tmp_path / "map.html"
    maps.build(demo_analysis, lang=lang).save(str(page))
    page.write_text(page.read_text(encoding="utf-8").replace("</html>", READ + "</html>"))
    found = _read(chromium, page, proxy, tmp_path / "profile", 1400)
    assert proxy.page_requests() == []

    # the title block: the place, the policy, each circle's share and counts as the headline
    head = headline.headline(demo_analysis)
    title = found["title"]
    assert head.place in title and head.policy in title and head.run_date in title
    for figures in head.circles:
        assert headline.share_text(figures, lang) in title
        assert headline.counts_text(figures, lang) in title
        assert f"{figures.share:.0%}" in title

    # a community with no resident within the circle: its nearest facility by name, the
    # minutes over the limit and the residents outside
    comm = demo_analysis.communities
    circle = demo_analysis.circles_measured[0]
    names = dict(zip(demo_analysis.facilities["id"], demo_analysis.facilities["name"], strict=True))
    uncovered = comm[comm[f"{circle}_status"] == "uncovered"]
    assert len(uncovered)  # the demo has one, else this test tests nothing
    for row in uncovered.itertuples():
        row = row._asdict()
        reason = found["reasons"][row["name"]][0]  # the first circle's layer comes first
        assert names[row[f"{circle}_nearest"]] in reason
        over = row[f"{circle}_median_min"] - row[f"{circle}_minutes"]
        assert over > 0 and f"{over:.1f}" in reason
        outside = row[f"{circle}_residents"] - row[f"{circle}_within"]
        assert f"{outside:,.0f}" in reason
    covered = comm.loc[comm[f"{circle}_status"] == "covered", "name"]
    assert all(found["reasons"][name][0] == "" for name in covered)  # no reason where none

    # the communities named on the map, Leaflet's credit without its flag, the scale clear
    assert set(found["labels"]) & set(comm["name"])
    assert found["flags"] == 0 and "Leaflet" in found["credit"]
    assert found["scale"]["clear"], found["scale"]


def test_the_title_folds_and_the_scale_shows_on_a_phone(demo_analysis, proxy, tmp_path):
    chromium = _chromium()
    page = tmp_path / "map.html"
    maps.build(demo_analysis).save(str(page))
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("</html>", READ + "</html>"))
    found = _read(chromium, probed, proxy, tmp_path / "profile", 390)
    head = headline.headline(demo_analysis)
    assert head.place in found["title"]  # the head stays
    scale = found["scale"]
    assert scale["clear"] and scale["width"] > 0 and scale["bottom"] <= scale["height"], scale
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "demo_map_phone.png"
    _run(
        chromium,
        page,
        proxy,
        tmp_path / "profile2",
        "--window-size=390,844",
        f"--screenshot={shot}",
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_map_says_when_it_is_ready(demo_analysis, proxy, tmp_path):
    """The page's timing hook fires, after its layers are added, with every community drawn.

    How soon is measured by scripts/benchmark_outputs.py on a 40,000-node district (budget
    3 s), not here: Chromium runs this page on virtual time, and a timed assertion would fail
    on a busy machine.
    """
    chromium = _chromium()
    page = tmp_path / "map.html"
    maps.build(demo_analysis).save(str(page))
    page.write_text(page.read_text(encoding="utf-8").replace("</html>", READY + "</html>"))
    dom = _run(chromium, page, proxy, tmp_path / "profile", "--dump-dom")
    seen = json.loads(re.search(r'<pre id="ready">(.*?)</pre>', dom, re.S).group(1))
    assert isinstance(seen["ready"], int | float), seen
    assert 0 < seen["added"] <= seen["ready"], seen
    # every community of the first circle's layer on the canvas (the second's is off at first)
    assert seen["communities"] == len(demo_analysis.communities), seen
    assert seen["onCanvas"] > seen["communities"]  # and the circles' polygons with them
    assert proxy.page_requests() == []


POPUPS = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var texts = {};
    Object.keys(window).forEach(function (key) {
      var group = window[key];
      if (!(group instanceof L.GeoJSON)) { return; }
      group.eachLayer(function (layer) {
        var p = layer.feature.properties;
        texts[p.key] = [p.popup, p.tooltip];
      });
    });
    var out = document.createElement("pre");
    out.id = "popups";
    out.textContent = JSON.stringify(texts);
    document.body.appendChild(out);
  }, 300);
});
</script>
"""


def test_a_big_layer_s_packed_popups_read_back_as_written(proxy, tmp_path):
    """A layer of many features has its repeated phrases packed (pack_phrases); the page unpacks
    every popup and tooltip to the very text written."""
    import html as html_module

    import folium
    import geopandas as gpd
    import numpy as np
    import shapely

    from carecircle.outputs._map_page import (
        PACK_FROM,
        FeatureCollection,
        compact_layers,
        inline_leaflet,
    )

    n = 2 * PACK_FROM + 50
    popups = [
        f"<b>第{i}社区居委会</b> (C{i:05d})<br>人口: {i * 37:,}<br>60岁以上人口: {i * 9:,}"
        f"<br>状态: <b>{'未覆盖' if i % 3 else '已覆盖'}</b> ★\ue000"[: -1 if i % 2 == 0 else None]
        for i in range(n)
    ]
    tooltips = [f"第{i}社区居委会: {'未覆盖' if i % 3 else '已覆盖'}" for i in range(n)]
    points = gpd.GeoSeries(shapely.points(np.linspace(24.9, 25.0, n), np.full(n, 60.17)))
    features = [
        {"id": str(i), "properties": {"key": str(i), "popup": p, "tooltip": t}, "geometry": None}
        for i, (p, t) in enumerate(zip(popups, tooltips, strict=True))
    ]
    # the odd features end in a private-use character of their own: that layer is not packed
    for name, kept in (("plain", slice(0, None, 2)), ("own", slice(None))):
        fmap = folium.Map(location=[60.17, 24.95], zoom_start=12, tiles=None)
        inline_leaflet(fmap)  # offline, as every map of carecircle
        chosen = features[kept]
        folium.GeoJson(
            FeatureCollection(
                [{**f, "properties": dict(f["properties"])} for f in chosen],
                points.to_numpy()[kept],
            ),
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        ).add_to(fmap)
        compact_layers(fmap, decimals=5)
        page = tmp_path / f"{name}.html"
        fmap.save(str(page))
        html_text = page.read_text(encoding="utf-8")
        assert ('"phrases"' in html_text) == (name == "plain")
        page.write_text(html_text.replace("</html>", POPUPS + "</html>"), encoding="utf-8")
        dom = _run(_chromium(), page, proxy, tmp_path / f"profile-{name}", "--dump-dom")
        found = re.search(r'<pre id="popups">(.*?)</pre>', dom, re.S).group(1)
        seen = json.loads(html_module.unescape(found))  # the DOM writes its text escaped
        assert seen == {
            f["properties"]["key"]: [f["properties"]["popup"], f["properties"]["tooltip"]]
            for f in chosen
        }
