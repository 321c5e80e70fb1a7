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
from pathlib import Path

import folium
from branca import element as branca_element
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

#: The credit of a walking network read from OpenStreetMap.
OSM_CREDIT = "walking network © OpenStreetMap contributors"


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
