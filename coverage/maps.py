"""The HTML map: communities coloured by status, facilities by tier, circle polygons.

:func:`build` returns a ``folium.Map``; writing it is the caller's job (``m.save(path)``).
Every text taken from the data is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from . import circles as circles_mod
from .inputs import TIER_LABELS_ZH
from .pipeline import Analysis, _has_shape

STATUS_COLOURS = {
    circles_mod.COVERED: "#1a9850",
    circles_mod.PARTIAL: "#fdae61",
    circles_mod.UNCOVERED: "#d73027",
    circles_mod.OUTSIDE_NETWORK: "#762a83",
    circles_mod.NO_FACILITY: "#d73027",
}
OTHER_COLOUR = "#969696"
TIER_COLOURS = {
    "street_center": "#08519c",
    "community_station": "#3182bd",
    "township_center": "#6baed6",
    "village_point": "#9ecae1",
    "health_center": "#a50f15",
    "clinic": "#ef3b2c",
    "hospital": "#67000d",
}
CIRCLE_COLOURS = ("#2171b5", "#cb181d", "#238b45", "#6a51a3")

TEXT = {
    "zh": {
        "communities": "社区覆盖",
        "facilities": "设施",
        "circle": "服务圈范围",
        "share": "服务圈内老年人比例",
        "share_population": "服务圈内人口比例",
        "status": "状态",
        "median": "步行时间中位数（分钟）",
        "p90": "90%分位步行时间（分钟）",
        "nearest": "最近设施",
        "population": "人口",
        "elderly": "60岁以上人口",
        "township": "街道/乡镇",
        "kind": "类型",
        "urban": "城市社区",
        "rural": "农村",
        "tier": "等级",
        "area": "建筑面积（m²）",
        "beds": "床位",
        "legend": "图例",
        "minutes": "分钟",
        "note": "说明",
        "network": "步行网络状态",
        "standard": "设施标准",
        "station": "养老服务站(点)",
        "area_per_resident": "人均养老设施面积（m²）",
        "centre": "所属中心",
        "meets": "达标",
        "below": "未达标",
        "above_max": "超过上限",
        "unknown": "数据不全",
        "no_standard": "无标准",
        "has_station": "有",
        "shared": "与邻近社区共用",
        "missing": "缺",
    },
    "en": {
        "communities": "community coverage",
        "facilities": "facilities",
        "circle": "circle area",
        "share": "older residents within the circle",
        "share_population": "residents within the circle",
        "status": "status",
        "median": "median walk (min)",
        "p90": "90th-percentile walk (min)",
        "nearest": "nearest facility",
        "population": "population",
        "elderly": "residents 60+",
        "township": "township / street",
        "kind": "kind",
        "urban": "urban",
        "rural": "rural",
        "tier": "tier",
        "area": "floor area (m²)",
        "beds": "beds",
        "legend": "legend",
        "minutes": "min",
        "note": "note",
        "network": "network status",
        "standard": "tier standard",
        "station": "station or point",
        "area_per_resident": "care floor area per resident (m²)",
        "centre": "centre",
        "meets": "meets",
        "below": "below",
        "above_max": "above the maximum",
        "unknown": "data missing",
        "no_standard": "no standard",
        "has_station": "yes",
        "shared": "shared with a neighbour",
        "missing": "missing",
    },
}
STATUS_LABELS_EN = {
    circles_mod.COVERED: "covered",
    circles_mod.PARTIAL: "partly covered",
    circles_mod.UNCOVERED: "not covered",
    circles_mod.NO_FACILITY: "no facility of this kind",
    circles_mod.OUTSIDE_NETWORK: "outside the walking network",
    "invalid_geometry": "invalid boundary",
    "empty_geometry": "no boundary",
    "no_population": "no population",
}
TIER_LABELS_EN = {
    "street_center": "street elderly-care centre",
    "community_station": "community elderly-care station",
    "township_center": "township elderly-care centre",
    "village_point": "village mutual-aid point",
    "health_center": "community health centre",
    "clinic": "clinic",
    "hospital": "hospital",
}


def build(analysis: Analysis, *, lang: str = "zh") -> folium.Map:
    """Build the map of an analysis.

    Parameters
    ----------
    analysis : Analysis
        The results.
    lang : {"zh", "en"}, keyword-only
        Language of labels.

    Returns
    -------
    folium.Map

    """
    if lang not in TEXT:
        msg = f"unknown language {lang!r}; expected 'zh' or 'en'"
        raise ValueError(msg)
    text = TEXT[lang]
    communities = analysis.communities.to_crs(4326)
    facilities = analysis.facilities.to_crs(4326)
    circles = analysis.circles.to_crs(4326)

    shown = communities[_has_shape(communities)]
    minx, miny, maxx, maxy = (shown if len(shown) else facilities).total_bounds
    fmap = folium.Map(tiles="OpenStreetMap", control_scale=True)
    _inline_leaflet(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])

    for number, circle in enumerate(analysis.policy.circles):
        label = circle.label_zh if lang == "zh" else circle.label_en
        layer = folium.FeatureGroup(name=f"{label}: {text['communities']}", show=number == 0)
        features = _community_features(shown, circle.name, text, lang)
        folium.GeoJson(
            features,
            style_function=_status_style,
            highlight_function=lambda _: {"weight": 3, "color": "#000000"},
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
            tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
        ).add_to(layer)
        layer.add_to(fmap)

        area = circles[(circles["circle"] == circle.name) & ~circles.geometry.is_empty]
        if len(area):
            colour = CIRCLE_COLOURS[number % len(CIRCLE_COLOURS)]
            ring = folium.FeatureGroup(name=f"{label}: {text['circle']}", show=number == 0)
            folium.GeoJson(
                area[["facility_id", "minutes", "geometry"]].to_json(),
                style_function=lambda _, c=colour: {
                    "color": c,
                    "weight": 1,
                    "fillColor": c,
                    "fillOpacity": 0.12,
                },
            ).add_to(ring)
            ring.add_to(fmap)

    for tier, group in facilities.groupby("tier", sort=False):
        tier_label = (
            TIER_LABELS_ZH.get(tier, tier) if lang == "zh" else TIER_LABELS_EN.get(tier, tier)
        )
        layer = folium.FeatureGroup(name=f"{text['facilities']}: {tier_label}")
        points = gpd.GeoDataFrame(
            {
                "popup": [_facility_popup(row, tier_label, text) for row in group.itertuples()],
                "tooltip": [html.escape(str(name)) for name in group["name"]],
            },
            geometry=group.geometry.to_numpy(),
            crs=group.crs,
        )
        big = str(tier).endswith(("center", "hospital"))
        colour = TIER_COLOURS.get(str(tier), "#333333")
        folium.GeoJson(
            points.to_json(),
            marker=folium.CircleMarker(radius=8 if big else 6, fill=True),
            style_function=lambda _, c=colour: {
                "color": "#ffffff",
                "weight": 1.5,
                "fillColor": c,
                "fillOpacity": 0.95,
            },
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
            tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
        ).add_to(layer)
        layer.add_to(fmap)

    _add_legend(fmap, text, lang)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


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


def _status_label(status: str, lang: str) -> str:
    if lang == "zh":
        return circles_mod.STATUS_LABELS_ZH.get(status, status)
    return STATUS_LABELS_EN.get(status, status)


def _community_features(
    frame: gpd.GeoDataFrame, circle: str, text: dict[str, str], lang: str
) -> dict[str, Any]:
    status = frame[f"{circle}_status"].astype(str)
    popups = [_community_popup(row, circle, text, lang) for row in frame.to_dict("records")]
    tooltips = [
        f"{html.escape(str(name))}: {html.escape(_status_label(s, lang))}"
        for name, s in zip(frame["name"], status, strict=True)
    ]
    small = gpd.GeoDataFrame(
        {
            "status": status.to_numpy(),
            "popup": popups,
            "tooltip": tooltips,
        },
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    return json.loads(small.to_json())


def _status_style(feature: dict[str, Any]) -> dict[str, Any]:
    colour = STATUS_COLOURS.get(feature["properties"]["status"], OTHER_COLOUR)
    return {"color": "#333333", "weight": 1, "fillColor": colour, "fillOpacity": 0.55}


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or pd.isna(value):
        return "—"
    if isinstance(value, float | np.floating):
        return f"{value:,.{digits}f}"
    return html.escape(str(value))


def _community_popup(row: dict[str, Any], circle: str, text: dict[str, str], lang: str) -> str:
    share = row.get(f"{circle}_share")
    share_text = "—" if share is None or pd.isna(share) else f"{share:.0%}"
    share_label = text["share"] if row.get("basis") == "elderly" else text["share_population"]
    lines = [
        f"<b>{html.escape(str(row['name']))}</b> ({html.escape(str(row['id']))})",
        f"{text['township']}: {html.escape(str(row.get('township', '')))}",
        f"{text['kind']}: {text.get(str(row.get('kind')), html.escape(str(row.get('kind'))))}",
        f"{text['population']}: {_fmt(row.get('population'), 0)}",
        f"{text['elderly']}: {_fmt(row.get('elderly'), 0)}",
        f"{text['status']}: <b>{html.escape(_status_label(str(row[f'{circle}_status']), lang))}</b>"
        f" ({_fmt(row.get(f'{circle}_minutes'), 0)} {text['minutes']})",
        f"{share_label}: {share_text}",
        f"{text['median']}: {_fmt(row.get(f'{circle}_median_min'))}",
        f"{text['p90']}: {_fmt(row.get(f'{circle}_p90_min'))}",
        f"{text['nearest']}: {_fmt(row.get(f'{circle}_nearest'))}",
    ]
    if "station_status" in row:
        lines.append(f"{text['station']}: {_word(row['station_status'], text)}")
        per = row.get("area_per_resident_m2")
        required = row.get("area_per_resident_required_m2")
        if per is not None and not pd.isna(per):
            need = "" if required is None or pd.isna(required) else f" / {required:g}"
            lines.append(
                f"{text['area_per_resident']}: {per:.3f}{need} "
                f"({_word(row.get('area_per_resident_status', ''), text)})"
            )
    note = row.get("input_note")
    if note:
        lines.append(f"{text['note']}: {html.escape(str(note))}")
    return "<br>".join(lines)


def _facility_popup(row: Any, tier_label: str, text: dict[str, str]) -> str:
    lines = [
        f"<b>{html.escape(str(row.name))}</b> ({html.escape(str(row.id))})",
        f"{text['tier']}: {html.escape(tier_label)}",
        f"{text['area']}: {_fmt(getattr(row, 'area_m2', None), 0)}",
        f"{text['beds']}: {_fmt(getattr(row, 'beds', None), 0)}",
        f"{text['network']}: {html.escape(str(getattr(row, 'network_status', '')))}",
    ]
    status = getattr(row, "standard_status", None)
    if status is not None:
        lines.append(f"{text['standard']}: <b>{_word(status, text)}</b>")
        note = getattr(row, "standard_note", "")
        if status in ("below", "above_max", "unknown") and note:
            lines.append(html.escape(str(note)))
        advice = getattr(row, "standard_advice", "")
        if advice:
            lines.append(html.escape(str(advice)))
    centre = getattr(row, "centre_id", "")
    if centre:
        lines.append(f"{text['centre']}: {html.escape(str(centre))} ({_fmt(row.centre_minutes)})")
    return "<br>".join(lines)


def _word(value: object, text: dict[str, str]) -> str:
    """A status word in the map's language, escaped."""
    return html.escape(text.get(str(value), str(value)))


def _add_legend(fmap: folium.Map, text: dict[str, str], lang: str) -> None:
    items = [
        (STATUS_COLOURS[s], _status_label(s, lang))
        for s in (
            circles_mod.COVERED,
            circles_mod.PARTIAL,
            circles_mod.UNCOVERED,
            circles_mod.OUTSIDE_NETWORK,
        )
    ]
    items.append((OTHER_COLOUR, "not analysed" if lang == "en" else "无法分析"))
    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{c};'
        f'margin-right:6px;border:1px solid #333"></span>{html.escape(label)}</div>'
        for c, label in items
    )
    box = (
        '<div id="carecircle-legend" style="position:fixed;bottom:24px;left:12px;z-index:9999;'
        "background:#fff;padding:8px 10px;border:1px solid #999;border-radius:4px;"
        f'font:13px sans-serif"><b>{html.escape(text["legend"])}</b>{rows}</div>'
    )
    fmap.get_root().html.add_child(folium.Element(box))  # type: ignore[attr-defined]
