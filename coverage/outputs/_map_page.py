"""What the map page adds to Leaflet: a scale bar, either-or layers, a search box, Leaflet inline.

It also draws the 天地图 basemap with a key given when the page is opened (:class:`Tianditu`),
so that the key need not be written into the file.

:func:`carecircle.outputs.maps.build` adds these to its folium map. Each is a folium element whose
script runs in the page; :func:`inline_leaflet` puts Leaflet itself into the page, so that
the map opens on a network without internet.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any, cast

import folium
import numpy as np
import shapely
from branca import element as branca_element
from branca.element import Element, Figure, MacroElement
from folium.template import Template as FoliumTemplate
from folium.utilities import JsCode
from jinja2 import Template

#: The credit of a walking network read from OpenStreetMap.
OSM_HOLDERS = "© OpenStreetMap contributors"
OSM_CREDIT = f"walking network {OSM_HOLDERS}"


PAGE_STYLE = """
.carecircle-title{background:#fff;padding:6px 10px;font:12px/1.4 sans-serif;max-width:330px;
  color:#222}
.carecircle-title-head{cursor:pointer}
.carecircle-title-place{font-size:16px;font-weight:bold}
.carecircle-title-shares{font-size:13px;margin-top:2px}
.carecircle-title-body{margin-top:4px;border-top:1px solid #ddd;padding-top:4px}
.carecircle-title-body .c{margin-top:4px}
.carecircle-title-body .dim{color:#555}
.carecircle-title details{margin-top:4px}
.carecircle-title summary{cursor:pointer;font-weight:bold}
.carecircle-title table{border-collapse:collapse;margin-top:2px}
.carecircle-title td{padding:1px 6px 1px 0;vertical-align:top}
.carecircle-title .below{color:#b2182b;font-weight:bold}
.carecircle-title .meets{color:#1a9850;font-weight:bold}
.carecircle-label{background:none;border:none}
.carecircle-label span{position:absolute;transform:translate(-50%,-50%);white-space:nowrap;
  font:12px/1.2 sans-serif;color:#111;
  text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff,0 0 1px #fff}
.carecircle-label-township span{font-size:15px;font-weight:bold;letter-spacing:1px}
.leaflet-control-attribution{font-size:10px}
@media (max-width:600px){
  .leaflet-bottom.leaflet-right .leaflet-control-attribution{max-width:calc(100vw - 120px)}
  .carecircle-title{max-width:calc(100vw - 90px)}
}
"""
"""The page's own styles: the title block, the place names, a narrow attribution on a phone."""

LEAFLET_CREDIT = '<a href="https://leafletjs.com" title="Leaflet">Leaflet</a>'
"""Leaflet's credit, in place of its default prefix (a link and a flag)."""


class MapExtras(MacroElement):
    """A metric scale bar, the credit of the walking network, and the page's styles.

    ``attribution`` is plain text (it is escaped here); by default OpenStreetMap's credit.
    Leaflet's own credit is a plain link, without the flag its default prefix carries.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}<style>{{ this.style }}</style>{% endmacro %}
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
        {{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix }});
        {{ this._parent.get_name() }}.attributionControl.addAttribution(
            {{ this.attribution }});
        {% endmacro %}
        """
    )

    def __init__(self, attribution: str = OSM_CREDIT) -> None:
        super().__init__()
        self._name = "CarecircleExtras"
        # a JSON string, its markup escaped: a file name is shown as text, never run
        self.attribution = json.dumps(html.escape(attribution))
        self.prefix = json.dumps(LEAFLET_CREDIT)
        self.style = PAGE_STYLE


class TitleBlock(MacroElement):
    """The map's title block, first at the top left: a head and a body a tap folds away.

    ``markup`` is built by the caller with every text from the data already escaped; it holds
    an element of class ``carecircle-title-head`` (always shown, with a
    ``carecircle-title-fold`` mark) and one of class ``carecircle-title-body``. The body is
    folded when the map is narrower than ``open_from`` pixels (a phone).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var control = L.control({position: "topleft"});
            control.onAdd = function() {
                var box = L.DomUtil.create("div", "leaflet-bar carecircle-title");
                box.id = "carecircle-title";
                box.innerHTML = {{ this.markup | tojson }};
                var head = box.querySelector(".carecircle-title-head");
                var body = box.querySelector(".carecircle-title-body");
                var mark = box.querySelector(".carecircle-title-fold");
                function fold(open) {
                    body.style.display = open ? "" : "none";
                    mark.textContent = open ? " ▾" : " ▸";
                }
                head.addEventListener("click", function() {
                    fold(body.style.display === "none");
                });
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                fold(map.getSize().x >= {{ this.open_from }});
                return box;
            };
            control.addTo(map);
            var corner = control.getContainer().parentNode;  // first in its corner
            corner.insertBefore(control.getContainer(), corner.firstChild);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, markup: str, *, open_from: int = 600) -> None:
        super().__init__()
        self._name = "CarecircleTitle"
        self.markup = markup
        self.open_from = int(open_from)


class PlaceLabels(MacroElement):
    """Names on the map: townships below ``community_zoom``, communities from it on.

    ``places`` are ``[lat, lon, text, kind, length]`` rows, ``text`` already escaped, ``kind``
    0 for a township and 1 for a community, ``length`` the name's length in characters; larger
    places first. Only the names inside the view are drawn (at most :attr:`most`), again after
    each move, so a city of thousands of communities keeps a light page; a name that would
    overlap one already drawn is left out until the map is zoomed in. The names are a layer
    of the layer list, named ``name``; added after the list.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var control = {{ this.control.get_name() }};
            var places = {{ this.places | tojson }};
            var from = {{ this.community_zoom }}, most = {{ this.most }};
            var pane = map.createPane("carecircle-labels");
            pane.style.zIndex = 460;
            pane.style.pointerEvents = "none";
            var group = L.layerGroup().addTo(map);
            control.addOverlay(group, {{ this.name | tojson }});
            function draw() {
                group.clearLayers();
                var kind = map.getZoom() >= from ? 1 : 0;
                var view = map.getBounds().pad(0.05);
                var shown = 0, taken = [];
                for (var i = 0; i < places.length && shown < most; i++) {
                    var place = places[i];
                    if (place[3] !== kind || !view.contains([place[0], place[1]])) { continue; }
                    // a name that would overlap one already drawn (larger places first) waits
                    var at = map.latLngToContainerPoint([place[0], place[1]]);
                    var half = place[4] * (kind ? 6.5 : 8) + 4, high = kind ? 9 : 11;
                    var clash = taken.some(function(b) {
                        return Math.abs(b[0] - at.x) < half + b[2]
                            && Math.abs(b[1] - at.y) < high + b[3];
                    });
                    if (clash) { continue; }
                    taken.push([at.x, at.y, half, high]);
                    L.marker([place[0], place[1]], {
                        pane: "carecircle-labels", interactive: false, keyboard: false,
                        icon: L.divIcon({
                            className: "carecircle-label carecircle-label-"
                                + (kind ? "community" : "township"),
                            html: "<span>" + place[2] + "</span>", iconSize: null
                        })
                    }).addTo(group);
                    shown += 1;
                }
            }
            map.on("moveend zoomend", draw);
            draw();
        })();
        {% endmacro %}
        """
    )

    most = 400

    def __init__(
        self,
        places: list[list[object]],
        control: folium.LayerControl,
        *,
        community_zoom: int,
        name: str,
    ) -> None:
        super().__init__()
        self._name = "CarecirclePlaceLabels"
        self.places = places
        self.control = control
        self.community_zoom = int(community_zoom)
        self.name = name


class FitClear(MacroElement):
    """Fit the map to the district clear of the open layer list, when the window has room.

    The list stays open at the top right and is as wide as its longest label, so its width is
    read from the page. Where keeping clear of it would leave less than half the map (a phone,
    a split screen), the list is folded into its button instead (a tap opens it, a tap on the
    map folds it), and the district fills the map. The district also keeps clear of the legend
    at the bottom right (``#carecircle-legend``) where that leaves half the map, and clear of
    the title block at the top left (``#carecircle-title``): beside it where that leaves half
    the map's width, else below it. Added after the layer control, so that the list is on the
    page.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var control = {{ this.control.get_name() }};
            var bounds = {{ this.bounds|tojson }};
            map.carecircleBounds = bounds;
            function fit() {
                var width = map.getSize().x;
                var list = control.getContainer();
                var left = 60, right = control.options.collapsed ? 20 : list.offsetWidth + 20;
                var legend = document.getElementById("carecircle-legend");
                if (width - left - right < width / 2) {
                    left = 20; right = 20;
                    if (!control.options.collapsed) {
                        control.options.collapsed = true;  // laid out again, folded
                        map.removeControl(control);
                        map.addControl(control);
                        var title = legend && legend.querySelector(".carecircle-legend-title");
                        if (title) { title.click(); }  // the legend's entries folded too
                    }
                }
                var clear = legend ? legend.offsetWidth + 20 : 0;
                if (clear > right && width - left - clear >= width / 2) { right = clear; }
                // clear of the title block: beside it or below it, whichever zooms closer
                var top = 20, title = document.getElementById("carecircle-title");
                if (title) {
                    var frame = map.getContainer().getBoundingClientRect();
                    var box = title.getBoundingClientRect();
                    var beside = Math.max(left, box.right - frame.left + 20);
                    var below = box.bottom - frame.top + 20;
                    var area = L.latLngBounds(bounds);
                    function zoom(l, t) {
                        return map.getBoundsZoom(area, false, L.point(l + right, t + 20));
                    }
                    if (zoom(beside, 20) >= zoom(left, below)) { left = beside; }
                    else { top = below; }
                }
                map.fitBounds(bounds, {
                    paddingTopLeft: [left, top], paddingBottomRight: [right, 20], animate: false
                });
            }
            fit();
            // again once styles and fonts are in: only then has the list its final width
            window.addEventListener("load", fit);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]], control: folium.LayerControl) -> None:
        super().__init__()
        self._name = "CarecircleFitClear"
        self.bounds = bounds
        self.control = control


class EitherOr(MacroElement):
    """Two layers of which at most one is shown: switching one on switches the other off.

    Today's community colours and those once the proposed sites are built would otherwise be
    drawn over each other and mix.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.on("overlayadd", function(event) {
            var map = {{ this._parent.get_name() }};
            var one = {{ this.one }}, other = {{ this.other }};
            var off = event.layer === one ? other : event.layer === other ? one : null;
            // once the layer control has handled the click, so that it ticks the box off too
            if (off) { setTimeout(function() { map.removeLayer(off); }, 0); }
        });
        {% endmacro %}
        """
    )

    def __init__(self, one: folium.FeatureGroup, other: folium.FeatureGroup) -> None:
        super().__init__()
        self._name = "CarecircleEitherOr"
        self.one = one.get_name()
        self.other = other.get_name()


class Search(MacroElement):
    """A search box of community names: picking one zooms to it and opens its popup.

    The names reach the page as JSON data and are put into the list as option values, never
    as HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var groups = [{{ this.layer_names | join(", ") }}];
            var index = {};
            groups.forEach(function(group) {
                group.eachLayer(function(layer) {
                    var name = layer.feature && layer.feature.properties.search;
                    if (name) { (index[name] = index[name] || []).push(layer); }
                });
            });
            var control = L.control({position: "topleft"});
            control.onAdd = function() {
                var box = L.DomUtil.create("div", "leaflet-bar carecircle-search");
                var input = L.DomUtil.create("input", "", box);
                input.type = "search";
                input.placeholder = {{ this.placeholder | tojson }};
                input.setAttribute("list", "carecircle-names");
                input.style.cssText = "width:14em;padding:4px;font-size:13px;border:0";
                var list = L.DomUtil.create("datalist", "", box);
                list.id = "carecircle-names";
                Object.keys(index).sort().forEach(function(name) {
                    var option = document.createElement("option");
                    option.value = name;
                    list.appendChild(option);
                });
                L.DomEvent.disableClickPropagation(box);
                input.addEventListener("change", function() {
                    var found = index[input.value];
                    if (!found) { return; }
                    var layer = found.find(function(l) { return map.hasLayer(l); }) || found[0];
                    map.fitBounds(layer.getBounds(), {maxZoom: 17});
                    layer.openPopup();
                });
                return box;
            };
            control.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layers: list[folium.GeoJson], *, placeholder: str) -> None:
        super().__init__()
        self._name = "CarecircleSearch"
        self.layer_names = [layer.get_name() for layer in layers]
        self.placeholder = placeholder


TIANDITU_STORE = "carecircle.tianditu.tk"
"""The browser's local storage entry of a 天地图 key the viewer asked the page to remember."""


class Tianditu(MacroElement):
    """The 天地图 basemap, with a key the page is given when it is opened.

    The key is taken, in this order, from the page itself (only when the map was built with
    ``embed_key=True``), from the address's fragment (``map.html#tk=KEY``: a fragment is never
    sent to a server, and it is taken off the address once read), or from the browser's local
    storage (:data:`TIANDITU_STORE`, where the viewer chose to remember it). Without one, a box
    at the top left asks for it; the basemap and its labels are drawn once it is given. An
    empty fragment (``#tk=``) forgets a remembered key. Added after the layer control, whose
    list gains the two layers.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var control = {{ this.control.get_name() }};
            var layers = {{ this.layers | tojson }};
            var words = {{ this.words | tojson }};
            var store = {{ this.store | tojson }};
            function show(key) {
                layers.forEach(function(spec) {
                    var layer = L.tileLayer(spec.url, {
                        tk: encodeURIComponent(key), subdomains: "01234567", maxZoom: 18,
                        attribution: "© 天地图 Tianditu"
                    });
                    layer.addTo(map);
                    if (spec.overlay) { control.addOverlay(layer, spec.name); }
                    else { control.addBaseLayer(layer, spec.name); }
                });
            }
            function remember(key) {
                try {
                    if (key) { window.localStorage.setItem(store, key); }
                    else { window.localStorage.removeItem(store); }
                } catch (error) {}  // storage refused: the key is asked for next time
            }
            var key = {{ this.key | tojson }};  // null unless the map was built to embed it
            var given = /(?:^#|&)tk=([^&]*)/.exec(window.location.hash);
            if (given) {
                var found = "";
                try { found = decodeURIComponent(given[1]).trim(); } catch (error) {}
                if (!found) { remember(""); }
                key = key || found;
                try {  // off the address, so that a copied link or a screenshot does not show it
                    window.history.replaceState(null, "", window.location.href.split("#")[0]);
                } catch (error) {}
            }
            if (!key) {
                try { key = window.localStorage.getItem(store); } catch (error) {}
            }
            if (key) { show(key); return; }
            var ask = L.control({position: "topleft"});
            ask.onAdd = function() {
                var box = L.DomUtil.create("form", "leaflet-bar carecircle-tianditu");
                box.style.cssText = "background:#fff;padding:6px 8px;font-size:12px;width:15em";
                L.DomUtil.create("div", "", box).textContent = words.ask;
                var input = L.DomUtil.create("input", "", box);
                input.type = "text";
                input.autocomplete = "off";
                input.placeholder = words.placeholder;
                input.style.cssText = "width:100%;box-sizing:border-box;margin:4px 0";
                var line = L.DomUtil.create("label", "", box);
                line.style.cssText = "display:block;margin-bottom:4px";
                var keep = L.DomUtil.create("input", "", line);
                keep.type = "checkbox";
                line.appendChild(document.createTextNode(" " + words.remember));
                var button = L.DomUtil.create("button", "", box);
                button.type = "submit";
                button.textContent = words.show;
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                box.addEventListener("submit", function(event) {
                    event.preventDefault();
                    var value = input.value.trim();
                    if (!value) { return; }
                    if (keep.checked) { remember(value); }
                    map.removeControl(ask);
                    show(value);
                });
                return box;
            };
            ask.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        control: folium.LayerControl,
        *,
        layers: list[dict[str, object]],
        words: dict[str, str],
        key: str | None,
    ) -> None:
        super().__init__()
        self._name = "CarecircleTianditu"
        self.control = control
        self.layers = layers
        self.words = words
        self.key = key
        self.store = TIANDITU_STORE


#: The page's one canvas renderer of the big layers, made by the first layer drawn on it.
CANVAS = "(window.carecircleCanvas = window.carecircleCanvas || L.canvas())"


class FeatureCollection(dict[str, Any]):
    """A GeoJSON FeatureCollection whose geometries are kept aside as shapely's, in ``shapes``.

    Each feature holds its ``id``, ``properties`` and a ``geometry`` of ``None``, no ``type``:
    :class:`CompactGeoJson` writes them without the geometry, and ``shapes`` delta-coded
    (:func:`encode`); the page puts the geometries and ``"type": "Feature"`` back
    (``carecircleGeometries``).
    """

    def __init__(self, features: list[dict[str, Any]], shapes: np.ndarray) -> None:
        super().__init__(type="FeatureCollection", features=features)
        self.shapes = shapes

    def as_geojson(self) -> dict[str, Any]:
        """The collection as plain GeoJSON, each feature with its type and geometry."""
        texts = shapely.to_geojson(self.shapes)
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    **feature,
                    "geometry": None if text is None else json.loads(text),
                }
                for feature, text in zip(self["features"], texts, strict=True)
            ],
        }


GEOJSON_TYPES = {
    shapely.GeometryType.POINT: "Point",
    shapely.GeometryType.LINESTRING: "LineString",
    shapely.GeometryType.POLYGON: "Polygon",
    shapely.GeometryType.MULTIPOINT: "MultiPoint",
    shapely.GeometryType.MULTILINESTRING: "MultiLineString",
    shapely.GeometryType.MULTIPOLYGON: "MultiPolygon",
}
FAMILIES = ((0, 4), (1, 5), (3, 6))
"""Geometry type ids written together: points, lines, polygons (each with its multi-part)."""


def encode(shapes: np.ndarray, *, decimals: int) -> list[dict[str, Any]]:
    """Geometries as delta-coded integers, one block per family of types (points, lines, ...).

    Each block holds the GeoJSON ``type`` of its geometries (a family's single or multi-part
    type), the ``index`` of each geometry among ``shapes``, the ``steps`` from coordinate to
    coordinate in units of ``10**-decimals`` degrees (x, y, x, y, ...; the first from 0) and the
    ``offsets`` of shapely's ragged arrays (:func:`shapely.to_ragged_array`), which nest the
    coordinates into rings, polygons, ...; rings are written without their closing point. The
    page's ``carecircleGeometries`` reads them back. A
    staircase edge of a circle polygon costs some 6 characters instead of 21. Geometry
    collections are written as GeoJSON text (in a block of ``type`` ``null``); missing
    or empty geometries are not written (their features keep ``null``).
    """
    kinds = np.where(shapely.is_empty(shapes), -1, shapely.get_type_id(shapes))
    blocks: list[dict[str, Any]] = []
    for family in FAMILIES:
        index = np.flatnonzero(np.isin(kinds, family))
        if not index.size:
            continue
        kind, coords, offsets = shapely.to_ragged_array(shapes[index], include_z=False)
        if family == FAMILIES[2]:  # each ring without its closing point: Leaflet closes it
            rings = offsets[0]
            coords = np.delete(coords, rings[1:] - 1, axis=0)
            offsets = (rings - np.arange(rings.size), *offsets[1:])
        units = np.rint(coords * 10.0**decimals).astype(np.int64)
        steps = np.diff(units, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
        blocks.append(
            {
                "type": GEOJSON_TYPES[kind],
                "index": index.tolist(),
                "decimals": decimals,
                "steps": steps.tolist(),
                "offsets": [o.tolist() for o in offsets],
            }
        )
    other = np.flatnonzero(kinds == 7)  # geometry collections
    if other.size:
        texts = shapely.to_geojson(shapes[other])
        blocks.append(
            {"type": None, "index": other.tolist(), "geometries": [json.loads(t) for t in texts]}
        )
    return blocks


#: Texts packed by :func:`pack_phrases`: the properties of a layer's features that are read as
#: text (popups and tooltips), and the fewest features that make packing worth it.
PACKED = ("popup", "tooltip")
PACK_FROM = 200
_FIRST_MARK = 0xE000  # Unicode's private use area: U+E000 to U+F8FF
_MARKS = 0x1900
_PIECES = re.compile(r"(\d[\d,.%]*)")
_OWN_MARKS = re.compile("[\ue000-\uf8ff]")


def pack_phrases(features: list[dict[str, Any]]) -> list[str]:
    """Pack the repeated phrases of the features' popups and tooltips; return the phrases.

    A city's popups repeat their labels and sentences (``<br>人口: ``, ``，步行中位数 ``) in
    every one of 10,000 communities. Each text is cut at its numbers; a piece of four characters
    or more found in two texts or more becomes a phrase, written once, and each text keeps one
    private-use character (U+E000 on) in its place. The page's ``carecircleGeometries`` puts
    the phrases back. A layer of fewer than :data:`PACK_FROM` features, or one whose texts hold
    private-use characters of their own, is left as it is (and ``[]`` returned).

    Examples
    --------
    >>> texts = [f"<br>人口: {n}<br>老年人: {n // 4}" for n in range(400)]
    >>> features = [{"properties": {"popup": text}} for text in texts]
    >>> phrases = pack_phrases(features)
    >>> packed = features[9]["properties"]["popup"]
    >>> phrases, [ord(c) - 0xE000 if ord(c) >= 0xE000 else c for c in packed]
    (['<br>老年人: ', '<br>人口: '], [1, '9', 0, '2'])

    """
    if len(features) < PACK_FROM:
        return []
    texts = [
        (feature["properties"], key)
        for feature in features
        for key in PACKED
        if isinstance(feature.get("properties", {}).get(key), str)
    ]
    split = [_PIECES.split(props[key]) for props, key in texts]
    if any(
        _FIRST_MARK <= ord(c) < _FIRST_MARK + _MARKS for props, key in texts for c in props[key]
    ):
        return []
    counts: dict[str, int] = {}
    for pieces in split:
        for piece in pieces[::2]:  # the pieces between numbers
            if len(piece) >= 4:
                counts[piece] = counts.get(piece, 0) + 1
    common = sorted((p for p, n in counts.items() if n >= 2), key=lambda p: -counts[p] * len(p))
    phrases = common[:_MARKS]
    if not phrases:
        return []
    mark = {p: chr(_FIRST_MARK + i) for i, p in enumerate(phrases)}
    for (props, key), pieces in zip(texts, split, strict=True):
        pieces[::2] = [mark.get(piece, piece) for piece in pieces[::2]]
        props[key] = "".join(pieces)
    return phrases


GEOMETRIES_JS = """
function carecircleGeometries(data) {
    var phrases = data.phrases;
    if (phrases) {
        var unpack = function(text) {
            return text.replace(/[\ue000-\uf8ff]/g, function(c) {
                return phrases[c.charCodeAt(0) - 0xe000];
            });
        };
        data.features.forEach(function(feature) {
            var p = feature.properties;
            ["popup", "tooltip"].forEach(function(key) {
                if (typeof p[key] === "string") { p[key] = unpack(p[key]); }
            });
        });
        delete data.phrases;
    }
    (data.encoded || []).forEach(function(block) {
        var shapes = block.geometries;
        if (!shapes) {
            var scale = Math.pow(10, block.decimals), steps = block.steps, x = 0, y = 0;
            var level = new Array(steps.length / 2);
            for (var k = 0; k < level.length; k++) {
                x += steps[2 * k]; y += steps[2 * k + 1];
                level[k] = [x / scale, y / scale];
            }
            block.offsets.forEach(function(offsets) {
                var up = new Array(offsets.length - 1);
                for (var k = 0; k + 1 < offsets.length; k++) {
                    up[k] = level.slice(offsets[k], offsets[k + 1]);
                }
                level = up;
            });
            shapes = level.map(function(coordinates) {
                return {type: block.type, coordinates: coordinates};
            });
        }
        block.index.forEach(function(i, k) { data.features[i].geometry = shapes[k]; });
    });
    delete data.encoded;
    data.features.forEach(function(feature) { feature.type = "Feature"; });
    return data;
}
"""
"""The page's reader of :func:`encode`'s blocks (written once, into the page's head)."""


class CompactGeoJson(folium.GeoJson):
    """A ``folium.GeoJson`` whose data is written compactly, and drawn on a canvas when big.

    folium writes a layer's data with Jinja's ``tojson``: keys sorted, a space after every
    comma and colon, each Chinese character as a six-byte escape. This layer writes it once
    with :func:`compact_json`. Its template is folium 0.20's ``GeoJson`` template with only
    that line changed. :func:`compact_layers` turns a map's ``GeoJson`` layers into these.
    """

    _template = FoliumTemplate(
        """
        {% macro script(this, kwargs) %}
        {%- if this.style %}
        function {{ this.get_name() }}_styler(feature) {
            switch({{ this.feature_identifier }}) {
                {%- for style, ids_list in this.style_map.items() if not style == 'default' %}
                {% for id_val in ids_list %}case {{ id_val|tojson }}: {% endfor %}
                    return {{ style }};
                {%- endfor %}
                default:
                    return {{ this.style_map['default'] }};
            }
        }
        {%- endif %}
        {%- if this.highlight %}
        function {{ this.get_name() }}_highlighter(feature) {
            switch({{ this.feature_identifier }}) {
                {%- for style, ids_list in this.highlight_map.items() if not style == 'default' %}
                {% for id_val in ids_list %}case {{ id_val|tojson }}: {% endfor %}
                    return {{ style }};
                {%- endfor %}
                default:
                    return {{ this.highlight_map['default'] }};
            }
        }
        {%- endif %}

        {%- if this.marker %}
        function {{ this.get_name() }}_pointToLayer(feature, latlng) {
            var opts = {{ this.marker.options | tojavascript }};
            {% if this.marker._name == 'Marker' and this.marker.icon %}
            const iconOptions = {{ this.marker.icon.options | tojavascript }}
            const iconRootAlias = L
                {%- if this.marker.icon._name == "Icon" %}.AwesomeMarkers{%- endif %}
            opts.icon = new iconRootAlias.{{ this.marker.icon._name }}(iconOptions)
            {% endif %}
            {%- if this.style_function %}
            let style = {{ this.get_name()}}_styler(feature)
            Object.assign(
                {%- if this.marker.icon -%}opts.icon.options{%- else -%} opts {%- endif -%}
                , style)
            {% endif %}
            return new L.{{this.marker._name}}(latlng, opts)
        }
        {%- endif %}

        function {{this.get_name()}}_onEachFeature(feature, layer) {
            {%- if this.on_each_feature %}
            ({{this.on_each_feature}})(feature, layer);
            {%- endif %}

            layer.on({
                {%- if this.highlight %}
                mouseout: function(e) {
                    if(typeof e.target.setStyle === "function"){
                        {%- if this.popup_keep_highlighted %}
                        if (!e.target.isPopupOpen())
                        {%- endif %}
                            {{ this.get_name() }}.resetStyle(e.target);
                    }
                },
                mouseover: function(e) {
                    if(typeof e.target.setStyle === "function"){
                        const highlightStyle = {{ this.get_name() }}_highlighter(e.target.feature)
                        e.target.setStyle(highlightStyle);
                    }
                },
                {%- if this.popup_keep_highlighted %}
                popupopen: function(e) {
                    if(typeof e.target.setStyle === "function"){
                        const highlightStyle = {{ this.get_name() }}_highlighter(e.target.feature)
                        e.target.setStyle(highlightStyle);
                        e.target.bindPopup(e.popup)
                    }
                },
                popupclose: function(e) {
                    if(typeof e.target.setStyle === "function"){
                        {{ this.get_name() }}.resetStyle(e.target);
                        e.target.unbindPopup()
                    }
                },
                {%- endif %}
                {%- endif %}
                {%- if this.zoom_on_click %}
                click: function(e) {
                    if (typeof e.target.getBounds === 'function') {
                        {{ this.parent_map.get_name() }}.fitBounds(e.target.getBounds());
                    }
                    else if (typeof e.target.getLatLng === 'function'){
                        let zoom = {{ this.parent_map.get_name() }}.getZoom()
                        zoom = zoom > 12 ? zoom : zoom + 1
                        {{ this.parent_map.get_name() }}.flyTo(e.target.getLatLng(), zoom)
                    }
                }
                {%- endif %}
            });
        };
        var {{ this.get_name() }} = L.geoJson(null, {
            {%- if this.smooth_factor is not none  %}
                smoothFactor: {{ this.smooth_factor|tojson }},
            {%- endif %}
                onEachFeature: {{ this.get_name() }}_onEachFeature,
            {% if this.style %}
                style: {{ this.get_name() }}_styler,
            {%- endif %}
            {%- if this.marker %}
                pointToLayer: {{ this.get_name() }}_pointToLayer,
            {%- endif %}
            ...{{this.options | tojavascript }}
        });

        function {{ this.get_name() }}_add (data) {
            {{ this.get_name() }}
                .addData(data);
        }
        {%- if this.embed %}
            {{ this.get_name() }}_add(carecircleGeometries({{ this.data_text }}));
        {%- else %}
            $.ajax({{ this.embed_link|tojson }}, {dataType: 'json', async: false})
                .done({{ this.get_name() }}_add);
        {%- endif %}

        {%- if not this.style %}
        {{this.get_name()}}.setStyle(function(feature) {return feature.properties.style;});
        {%- endif %}

        {% endmacro %}
        """
    )

    decimals: int = 5
    """Decimals of degrees its geometries keep (:func:`encode`)."""

    def render(self, **kwargs: object) -> None:  # type: ignore[override]  # as folium's
        """The layer's script, its data written by :func:`compact_json` and :func:`encode`."""
        data = self.data
        if isinstance(data, FeatureCollection):
            features = [
                {key: value for key, value in feature.items() if key != "geometry"}
                for feature in data["features"]
            ]
            encoded = encode(data.shapes, decimals=self.decimals)
            data = {"type": data["type"], "features": features, "encoded": encoded}
            phrases = pack_phrases(features)
            if phrases:
                data["phrases"] = phrases
        self.data_text = compact_json(data)
        try:
            super().render(**kwargs)
        finally:
            del self.data_text


class CompactLines(MacroElement):
    """Lines drawn in one style on the canvas (:data:`CANVAS`), their coordinates delta-coded.

    The streets of a district are tens of thousands of short lines drawn alike and never
    clicked; as GeoJSON each costs some 45 bytes and a Leaflet layer. Here they are one
    polyline, written as every line's number of points and the steps from point to point in
    units of ``10**-decimals`` degrees (a few characters each), read back by a loop in the page.

    Parameters
    ----------
    lines : array of shapely geometries
        Lines or multi-lines in EPSG:4326 (or GCJ-02, as the map is drawn).
    style : dict
        Leaflet path options (``color``, ``weight``, ``opacity``).
    decimals : int, keyword-only
        Decimals of degrees kept.

    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var data = {{ this.data }};
            var scale = Math.pow(10, data.decimals), steps = data.steps, k = 0, x = 0, y = 0;
            var lines = data.counts.map(function(count) {
                var line = new Array(count);
                for (var j = 0; j < count; j++) {
                    x += steps[k++]; y += steps[k++];
                    line[j] = L.latLng(y / scale, x / scale);
                }
                return line;
            });
            var options = {{ this.style|tojson }};
            options.interactive = false;
            options.renderer = {{ this.canvas }};
            L.polyline(lines, options).addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, lines: np.ndarray, style: dict[str, object], *, decimals: int) -> None:
        super().__init__()
        self._name = "CarecircleLines"
        parts = shapely.get_parts(lines)
        parts = parts[~shapely.is_empty(parts)]
        units = np.rint(shapely.get_coordinates(parts) * 10.0**decimals).astype(np.int64)
        steps = np.diff(units, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
        counts = shapely.get_num_coordinates(parts)
        self.data = (
            f'{{"decimals":{int(decimals)},"counts":[{",".join(map(str, counts.tolist()))}],'
            f'"steps":[{",".join(map(str, steps.tolist()))}]}}'
        )
        self.style = style
        self.canvas = CANVAS


def compact_json(data: object) -> str:
    r"""``data`` as JSON for a ``<script>``: no spaces, Chinese as it is, ``<`` escaped.

    Every ``<`` is written ``\u003c``, so that no text from the data can close the script
    (``</script>``) or open a comment (``<!--``); in a script nothing else needs escaping
    (Jinja's ``tojson`` also escapes ``>``, ``&`` and ``'``, for attributes, which cost
    1.6 MB of the popups' ``<br>`` in a city of 10,000 communities).

    Examples
    --------
    >>> compact_json({"name": "社区</script>", "n": [1.5, None]})
    '{"name":"社区\\u003c/script>","n":[1.5,null]}'

    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def compact_layers(fmap: folium.Map, *, decimals: int) -> folium.Map:
    """Make every ``folium.GeoJson`` of ``fmap`` a :class:`CompactGeoJson`; return ``fmap``.

    Their geometries are written to ``decimals`` decimals of degrees (:func:`encode`).

    Layers of lines and polygons in Leaflet's overlay pane (streets, communities, circles,
    uncovered areas) are drawn on one canvas (:data:`CANVAS`) instead of one SVG path per
    feature: 80,000 streets took seconds to lay out as SVG. Markers, and layers in a pane of
    their own (the facilities, the proposed sites' circles), stay as they are.
    """
    header = fmap.get_root().header  # type: ignore[attr-defined]
    header.add_child(Verbatim(f"<script>{GEOMETRIES_JS}</script>"), name="carecircle_geometries")
    stack = list(fmap._children.values())
    while stack:
        element = stack.pop()
        stack.extend(element._children.values())
        if type(element) is folium.GeoJson:
            element.__class__ = CompactGeoJson
            layer = cast(CompactGeoJson, element)
            layer.decimals = decimals
            if layer.marker is None and "pane" not in layer.options:
                layer.options["renderer"] = JsCode(CANVAS)  # type: ignore[assignment]
    return fmap


class ReadyHook(MacroElement):
    """The page's own times: every layer added, and the first frame drawn after that.

    ``window.carecircleLayersAdded`` is set once every layer is added, ``window.carecircleReady``
    once the first frame after that is drawn (the canvas draws in that frame). Both are
    milliseconds from the start of navigation (``performance.now()``). Added last, after the
    layers; ``scripts/benchmark_outputs.py`` reads them in headless Chromium.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.carecircleLayersAdded = performance.now();
        requestAnimationFrame(function() {
            setTimeout(function() { window.carecircleReady = performance.now(); }, 0);
        });
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "CarecircleReady"


def inline_leaflet(fmap: folium.Map) -> None:
    """Put Leaflet's script and style into the page itself, from the installed xstatic-leaflet.

    folium links Leaflet, jQuery, Bootstrap and Font Awesome from content delivery networks;
    this map needs only Leaflet, so the page opens without internet.
    """
    from xstatic.pkg import leaflet

    data = Path(leaflet.BASE_DIR)
    css = (data / "leaflet.css").read_text(encoding="utf-8")
    for image in sorted((data / "images").glob("*.png")):
        encoded = base64.b64encode(image.read_bytes()).decode("ascii")
        css = css.replace(f"images/{image.name}", f"data:image/png;base64,{encoded}")
    script = (data / "leaflet.js").read_text(encoding="utf-8")
    fmap.default_js = []
    fmap.default_css = []
    header = fmap.get_root().header  # type: ignore[attr-defined]
    header.add_child(Verbatim(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(Verbatim(f"<script>{script}</script>"), name="leaflet_js")


class Verbatim(Element):
    """A piece of the page written as it is, never read as a template.

    ``folium.Element(text)`` compiles ``text`` as a Jinja template: ``{{ ... }}`` in it is
    evaluated when the page is written, and a long text (Leaflet's script, a layer's data) takes
    seconds to parse. This element returns its text unchanged.
    """

    def __init__(self, text: str = "", template_name: str | None = None) -> None:
        super().__init__()
        self._name = "Verbatim"
        self.text = text

    def render(self, **kwargs: object) -> str:
        """The text, as it is."""
        return self.text


class VerbatimFigure(Figure):
    """The map's page, written without a second template pass over what its layers wrote.

    branca renders each layer's ``header``, ``html`` and ``script`` macros and then wraps the
    output in an ``Element``, which compiles it as a template again: a name holding
    ``{{ 7*7 }}`` showed as ``49`` (and a crafted one could run code when the page is
    written), and every layer's data was parsed as a template (7 s for a district of 10,000
    communities). While this page renders, those wraps are :class:`Verbatim`.
    """

    def render(self, **kwargs: object) -> str:
        """The page's HTML."""
        wrap = branca_element.Element
        branca_element.Element = Verbatim  # type: ignore[misc,assignment]
        try:
            return super().render(**kwargs)
        finally:
            branca_element.Element = wrap  # type: ignore[misc]


def make_verbatim(fmap: folium.Map) -> folium.Map:
    """Make ``fmap``'s page a :class:`VerbatimFigure` (however it is saved or shown)."""
    root = fmap.get_root()
    if isinstance(root, Figure) and not isinstance(root, VerbatimFigure):
        root.__class__ = VerbatimFigure
    return fmap
