"""What the map page adds to Leaflet: a scale bar, either-or layers, a search box, Leaflet inline.

:func:`carecircle.maps.build` adds these to its folium map. Each is a folium element whose
script runs in the page; :func:`_inline_leaflet` puts Leaflet itself into the page, so that
the map opens on a network without internet.
"""

from __future__ import annotations

import base64
from pathlib import Path

import folium
from branca.element import MacroElement
from jinja2 import Template


class _MapExtras(MacroElement):
    """A metric scale bar and the OpenStreetMap credit for the streets and the analysis."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
        {{ this._parent.get_name() }}.attributionControl.addAttribution(
            "walking network © OpenStreetMap contributors");
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "CarecircleExtras"


class _FitClear(MacroElement):
    """Fit the map to the district clear of the open layer list, when the window has room.

    The list stays open at the top right and is as wide as its longest label, so its width is
    read from the page. Where keeping clear of it would leave less than half the map (a phone,
    a split screen), the list is folded into its button instead (a tap opens it, a tap on the
    map folds it), and the district fills the map. The district also keeps clear of the legend
    at the bottom right (``#carecircle-legend``) where that leaves half the map. Added after
    the layer control, so that the list is on the page.
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
                map.fitBounds(bounds, {
                    paddingTopLeft: [left, 20], paddingBottomRight: [right, 20], animate: false
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


class _EitherOr(MacroElement):
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


class _Search(MacroElement):
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


def _inline_leaflet(fmap: folium.Map) -> None:
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
    header.add_child(folium.Element(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(folium.Element(f"<script>{script}</script>"), name="leaflet_js")
