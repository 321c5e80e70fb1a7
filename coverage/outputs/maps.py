"""The HTML map: communities coloured by status, facilities by tier, circle polygons.

:func:`build` returns a ``folium.Map``; writing it is the caller's job (``m.save(path)``).
Every text taken from the data is HTML-escaped before it reaches the page. The scripts the
page adds to Leaflet (scale bar, either-or layers, search box) and Leaflet itself, inlined, come
from :mod:`carecircle.outputs._map_page`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import circles as circles_mod
from .. import compounds as compounds_mod
from .. import coords, demand, terms
from ..errors import InputError
from ..inputs.readers import note_zh
from ..pipeline import Analysis, has_shape
from ..terms import HEALTH_TIERS, TIER_LABELS_EN, TIER_LABELS_ZH
from . import headline as headline_mod
from ._map_page import (
    OSM_HOLDERS,
    CompactLines,
    EitherOr,
    FeatureCollection,
    FitClear,
    MapExtras,
    PlaceLabels,
    ReadyHook,
    Search,
    Tianditu,
    TitleBlock,
    Verbatim,
    compact_layers,
    inline_leaflet,
    make_verbatim,
)
from .care_tables import care_header, care_notes

STATUS_COLOURS = {
    circles_mod.COVERED: "#1a9850",
    circles_mod.PARTIAL: "#fdae61",
    circles_mod.UNCOVERED: "#d73027",
    circles_mod.OUTSIDE_NETWORK: "#762a83",
    circles_mod.NO_FACILITY: "#525252",  # not red: nothing of the kind was there to measure
}
OTHER_COLOUR = "#969696"
PARTIAL_LOW = "partial_low"
PARTIAL_HIGH = "partial_high"
SHARE_CLASS_COLOURS = {PARTIAL_LOW: "#fc8d59", PARTIAL_HIGH: "#fee08b"}
"""On the map, partly covered communities in two classes: under :data:`SHARE_SPLIT` of their
residents within the circle (orange), and from it up to the profile's covered threshold
(yellow)."""
SHARE_SPLIT = 0.5
BELOW_STANDARD_COLOUR = "#e31a1c"
"""The ring round a facility below its tier's standard."""
TOWNSHIP_COLOUR = "#252525"
TIER_COLOURS = {
    "street_center": "#08519c",
    "community_station": "#3182bd",
    "township_center": "#6baed6",
    "village_point": "#9ecae1",
    "health_center": "#a50f15",
    "clinic": "#ef3b2c",
    "hospital": "#67000d",
    "meal_point": "#d94801",
}
CIRCLE_COLOURS = ("#2171b5", "#cb181d", "#238b45", "#6a51a3")
FACILITY_PANE = "carecircle-facilities"
"""Leaflet pane of the elderly-care facilities' circles: above every polygon layer (Leaflet's
overlay pane is at z-index 400), so a layer switched on later never covers them."""
PROPOSED_CIRCLE_PANE = "carecircle-proposed-circles"
"""Leaflet pane of the proposed sites' circles: above every community layer (the overlay pane,
z-index 400), below the facilities."""
PROPOSED_COLOUR = "#252525"
"""Proposed sites: near black, apart from every status and tier colour."""
CIRCLE_FILL_OPACITY = 0.12
"""Fill opacity of the walking circles' polygons, on the map and in its legend."""
UNCOVERED_COLOUR = "#67001f"
"""The parts of communities outside their circle: dark red, dashed outline."""
UNCOVERED_FILL_OPACITY = 0.45
UNCOVERED_STYLE = {
    "color": UNCOVERED_COLOUR,
    "weight": 1,
    "fillColor": UNCOVERED_COLOUR,
    "fillOpacity": UNCOVERED_FILL_OPACITY,
    "dashArray": "4 3",
}

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
        "streets": "步行路网",
        "uncovered": "未覆盖区域",
        "search": "搜索社区名称",
        "proposed": "建议选址",
        "proposed_legend": "建议选址（数字为建设顺序）",
        "after": "建成建议选址后的社区覆盖",
        "proposed_circle": "建议选址的步行圈",
        "proposed_circle_legend": "建议选址的步行圈（虚线）",
        "candidates": "未选中的候选点",
        "compounds": "小区（配建规则）",
        "community": "所在社区",
        "required": "要求",
        "actual": "现状",
        "candidates_legend": "未选中的候选点（红色：不在步行网络内）",
        "reach": "单独建设可新增覆盖老年人",
        "access": "距步行网络（米）",
        "ok": "正常",
        "off_network": "不在步行网络内",
        "off_network_share": "距可达设施的步行网络超过上限的居民（步行时间未计）",
        "before_after": "圈内老年人占比：现状 → 建成后",
        "newly_covered": "新增覆盖老年人",
        "cost": "费用（元）",
        "beside_health_centre": "邻近卫生服务中心（医养结合）",
        "nearest_health_centre": "最近的卫生服务中心",
        "yes": "是",
        "no": "否",
        "walk_minutes": "步行 {minutes} 分钟",
        "build_year": "建设年份",
        "after_the_horizon": "规划期内未安排（年份已用完）",
        "over_a_year_budget": "未安排：造价超过一年的预算",
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
        "tianditu": "天地图",
        "tianditu_labels": "天地图 注记",
        "tianditu_ask": "天地图底图需要密钥；本文件中没有密钥。",
        "tianditu_placeholder": "天地图密钥 (tk)",
        "tianditu_remember": "在本浏览器中记住",
        "tianditu_show": "显示底图",
        "subtitle": "老年人步行到养老与医疗设施",
        "policy": "政策依据",
        "data_date": "数据日期",
        "run_date": "分析日期",
        "below_standard": "未达标设施",
        "targets": "区级指标",
        "target": "目标",
        "year": "年份",
        "why": "原因",
        "sep": "；",
        "why_far": "最近设施 {facility}，步行中位数 {median} 分钟，"
        "超出 {limit} 分钟上限 {over} 分钟",
        "why_tail": "最近设施 {facility}，步行中位数 {median} 分钟（上限 {limit} 分钟），"
        "但 10% 的{who}步行超过 {p90} 分钟，超出上限 {over} 分钟",
        "why_none": "服务圈内没有可步行到达的此类设施",
        "outside": "{count} 名{who}在服务圈外（共 {total} 名）",
        "elderly_who": "老年人",
        "residents_who": "居民",
        "area_shortfall": "面积缺口（m²）",
        "beds_shortfall": "床位缺口",
        "townships": "街道/乡镇",
        "township_communities": "社区数",
        "not_covered_communities": "未全覆盖社区",
        "centres": "街道养老服务中心",
        "with_station": "有养老服务站的社区",
        "place_names": "地名",
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
        "streets": "walking network",
        "uncovered": "areas outside the circle",
        "search": "find a community",
        "proposed": "proposed site",
        "proposed_legend": "proposed site (number: order to build)",
        "after": "community coverage with the proposed sites",
        "proposed_circle": "the proposed sites' walking circles",
        "proposed_circle_legend": "walking circle of a proposed site (dashed)",
        "candidates": "candidate sites not chosen",
        "compounds": "compounds (provision rules)",
        "community": "community",
        "required": "required",
        "actual": "actual",
        "candidates_legend": "candidate site not chosen (red: off the walking network)",
        "reach": "older residents it alone would bring in",
        "access": "distance to the walking network (m)",
        "ok": "ok",
        "off_network": "off the walking network",
        "off_network_share": "residents too far from a walking way that reaches a facility "
        "(their walk is not measured)",
        "before_after": "older residents within the circle: today → with the sites",
        "newly_covered": "older residents newly covered",
        "cost": "cost (yuan)",
        "beside_health_centre": "beside a health centre (医养结合)",
        "nearest_health_centre": "nearest health centre",
        "yes": "yes",
        "no": "no",
        "walk_minutes": "{minutes} min walk",
        "build_year": "year to build",
        "after_the_horizon": "not planned: the years run out first",
        "over_a_year_budget": "not planned: it costs more than a year's budget",
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
        "tianditu": "Tianditu",
        "tianditu_labels": "Tianditu labels",
        "tianditu_ask": "The Tianditu basemap needs a key; this file holds none.",
        "tianditu_placeholder": "Tianditu key (tk)",
        "tianditu_remember": "remember in this browser",
        "tianditu_show": "show the basemap",
        "subtitle": "Older residents' walks to care and medical facilities",
        "policy": "Policy",
        "data_date": "Data as of",
        "run_date": "Run on",
        "below_standard": "facilities below standard",
        "targets": "District targets",
        "target": "target",
        "year": "year",
        "why": "Why",
        "sep": "; ",
        "why_far": "nearest facility {facility}, median walk {median} min, {over} min over the "
        "{limit}-minute limit",
        "why_tail": "nearest facility {facility}, median walk {median} min (limit {limit} min), "
        "but 10% of {who} walk over {p90} min, {over} min over the limit",
        "why_none": "no facility of this circle can be reached on foot",
        "outside": "{count} {who} outside the circle (of {total})",
        "elderly_who": "older residents",
        "residents_who": "residents",
        "area_shortfall": "floor area short (m²)",
        "beds_shortfall": "beds short",
        "townships": "townships",
        "township_communities": "communities",
        "not_covered_communities": "communities not fully covered",
        "centres": "street centres",
        "with_station": "communities with a station",
        "place_names": "place names",
    },
}


Basemap = Literal["none", "osm", "amap", "tianditu"]
"""A map background: none (the walking network), OpenStreetMap, AutoNavi (GCJ-02), Tianditu."""

BASEMAPS: tuple[str, ...] = get_args(Basemap)
"""Every accepted ``basemap`` value."""
HEALTH_SYMBOL = "✚"


def network_credit(parameters: Mapping[str, Any], *, lead: str = "walking network ") -> str:
    """The credit of the walking network a run used, from its parameters.

    OpenStreetMap's credit, after ``lead`` (the overview, whose credit stands alone, gives
    none), unless the network is (or holds) a road layer, which is named.

    Examples
    --------
    >>> network_credit({"network": "roads.shp", "network_kind": "road layer"})
    'walking network: roads.shp'
    >>> network_credit({}, lead="")
    '© OpenStreetMap contributors'

    """
    kind = str(parameters.get("network_kind", ""))
    source = str(parameters.get("network", ""))
    if kind == "road layer":
        return f"walking network: {source}"
    osm = f"{lead}{OSM_HOLDERS}"
    if kind.startswith("OpenStreetMap +"):
        layer = source.split(" + ", 1)[-1]
        return f"{osm}, and {layer}"
    return osm


def build(
    analysis: Analysis,
    *,
    lang: terms.Lang = "zh",
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    embed_key: bool = False,
) -> folium.Map:
    """Build the map of an analysis.

    Parameters
    ----------
    analysis : Analysis
        The results.
    lang : {"zh", "en"}, keyword-only
        Language of labels.
    basemap : {"none", "osm", "amap", "tianditu"}, keyword-only
        Background tiles. ``none`` (the default) needs no internet: the walking network is drawn
        as the background instead. ``amap`` tiles are in GCJ-02, so every layer is shifted to
        GCJ-02 for display. ``tianditu`` needs a key, which the page asks for when it is
        opened (or reads from ``map.html#tk=KEY``), unless it is embedded.
    tianditu_key : str, optional, keyword-only
        The 天地图 key to write into the page; only with ``embed_key=True``.
    embed_key : bool, default False, keyword-only
        Write ``tianditu_key`` into the page, where anyone who has the file can read and use
        it. Without it no key is written.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import carecircle as cc
    >>> from carecircle.data import demo_files
    >>> files = demo_files()
    >>> res = cc.analyze(
    ...     cc.network.read(files["network"]),
    ...     cc.read_communities(files["communities"]),
    ...     cc.read_facilities(files["facilities"]),
    ... )
    >>> m = cc.outputs.build_map(res, lang="en")  # basemap="none": no internet needed
    >>> type(m).__name__
    'Map'
    >>> with tempfile.TemporaryDirectory() as out:
    ...     m.save(Path(out) / "map.html")  # saving is the caller's job
    ...     (Path(out) / "map.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True

    """
    if lang not in TEXT:
        msg = f"unknown language {lang!r}; expected 'zh' or 'en'"
        raise ValueError(msg)
    if basemap not in BASEMAPS:
        msg = f"unknown basemap {basemap!r}; expected one of {', '.join(BASEMAPS)}"
        raise InputError(msg)
    _check_key(basemap, tianditu_key, embed_key=embed_key)
    text = TEXT[lang]
    shift = basemap == "amap"
    communities = _display(analysis.communities, gcj02=shift)
    facilities = _display(analysis.facilities, gcj02=shift)
    circles = _display(analysis.circle_areas(), gcj02=shift)
    uncovered = _display(analysis.uncovered, gcj02=shift)
    planned_circles = _display(analysis.proposed_circles, gcj02=shift)

    shown = communities[has_shape(communities)]
    minx, miny, maxx, maxy = (shown if len(shown) else facilities).total_bounds
    fmap = folium.Map(tiles=None, control_scale=False)
    inline_leaflet(fmap)
    MapExtras(network_credit(analysis.parameters)).add_to(fmap)
    _add_basemap(fmap, basemap, lang)
    bounds = [[float(miny), float(minx)], [float(maxy), float(maxx)]]
    fmap.fit_bounds(bounds)  # and again clear of the layer list, once it is drawn (FitClear)
    TitleBlock(_title_markup(analysis, text, lang)).add_to(fmap)
    facility_names = dict(
        zip(
            analysis.facilities["id"].astype(str),
            analysis.facilities["name"].astype(str),
            strict=True,
        )
    )
    covered_min = float(analysis.policy.covered_min_share)

    if len(analysis.streets):
        streets = _display(gpd.GeoDataFrame(geometry=analysis.streets), gcj02=shift)
        layer = folium.FeatureGroup(name=text["streets"], control=True)
        style = {"color": "#9a9a9a", "weight": 1, "opacity": 0.8}
        CompactLines(streets.geometry.to_numpy(), style, decimals=COORD_DECIMALS).add_to(layer)
        layer.add_to(fmap)

    if len(planned_circles):
        folium.map.CustomPane(PROPOSED_CIRCLE_PANE, z_index=420).add_to(fmap)
    searchable = []
    areas: list[tuple[str, str, str]] = []  # (circle, label, colour) of each circle drawn
    gaps_drawn = False
    for number, circle in enumerate(analysis.policy.circles):
        if circle.name not in analysis.circles_measured:
            continue
        label = circle.label_zh if lang == "zh" else circle.label_en
        colour = CIRCLE_COLOURS[number % len(CIRCLE_COLOURS)]
        area = circles[(circles["circle"] == circle.name) & ~circles.geometry.is_empty]
        if len(area):
            ring = folium.FeatureGroup(name=f"{label}: {text['circle']}", show=number == 0)
            folium.GeoJson(
                _geojson(area[["facility_id", "minutes", "geometry"]]),
                style_function=lambda _, c=colour: {
                    "color": c,
                    "weight": 1,
                    "fillColor": c,
                    "fillOpacity": CIRCLE_FILL_OPACITY,
                },
                interactive=False,
            ).add_to(ring)
            ring.add_to(fmap)
            areas.append((circle.name, f"{label}: {text['circle']}", colour))

        name = f"{label}: {text['communities']}"
        if (shown[f"{circle.name}_status"] == circles_mod.NO_FACILITY).any():
            name += f" ({_status_label(circles_mod.NO_FACILITY, lang)})"  # nothing to measure
        layer = folium.FeatureGroup(name=name, show=number == 0)
        features = folium.GeoJson(
            _community_features(
                shown,
                circle.name,
                text,
                lang,
                facility_names=facility_names,
                covered_min_share=covered_min,
            ),
            style_function=_status_style,
            highlight_function=lambda _: {"weight": 3, "color": "#000000"},
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
            tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
        )
        features.add_to(layer)
        layer.add_to(fmap)
        searchable.append(features)
        after = analysis.after
        if len(after) and str(after["circle"].iloc[0]) == circle.name:
            planned = folium.FeatureGroup(name=f"{label}: {text['after']}", show=False)
            folium.GeoJson(
                _after_features(shown, after, text, lang, covered_min_share=covered_min),
                style_function=_status_style,
                highlight_function=lambda _: {"weight": 3, "color": "#000000"},
                popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
                tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
            ).add_to(planned)
            planned.add_to(fmap)
            EitherOr(layer, planned).add_to(fmap)
        if len(planned_circles):
            _add_proposed_circles(
                fmap, planned_circles, circle.name, f"{label}: {text['proposed_circle']}"
            )

        gaps = uncovered[uncovered["circle"] == circle.name] if len(uncovered) else uncovered
        if len(gaps):
            # shown with the first circle: where its residents are left outside
            hole = folium.FeatureGroup(name=f"{label}: {text['uncovered']}", show=number == 0)
            folium.GeoJson(
                _geojson(gaps[["minutes", "geometry"]]),
                style_function=lambda _: dict(UNCOVERED_STYLE),
                interactive=False,
            ).add_to(hole)
            hole.add_to(fmap)
            gaps_drawn = True

    townships = _townships(analysis, gcj02=shift)
    if len(townships):
        _add_townships(fmap, townships, analysis, text, lang)

    care_entries = _add_care(fmap, analysis, gcj02=shift, lang=lang)

    folium.map.CustomPane(FACILITY_PANE, z_index=450).add_to(fmap)
    for tier, group in facilities.groupby("tier", sort=False):
        _add_facilities(fmap, str(tier), group, text, lang)

    if len(analysis.compounds):
        _add_compounds(fmap, _display(analysis.compounds, gcj02=shift), analysis, text, lang)

    passed_over = analysis.candidates
    if len(passed_over):  # an analysis without a proposal has no "order" column
        passed_over = passed_over[passed_over["order"].isna().to_numpy()]
    if len(passed_over):  # none left when every candidate was chosen
        _add_candidates(fmap, _display(passed_over, gcj02=shift), text)
    if len(analysis.proposed):
        _add_proposed(fmap, _display(analysis.proposed, gcj02=shift), text)
    if searchable:
        Search(searchable, placeholder=text["search"]).add_to(fmap)
    _add_legend(
        fmap,
        text,
        lang,
        tiers=[str(tier) for tier in facilities["tier"].unique()] if len(facilities) else [],
        circle_areas=areas,
        uncovered=gaps_drawn,
        proposed=len(analysis.proposed) > 0,
        proposed_circles=len(planned_circles) > 0,
        candidates=len(passed_over) > 0,
        walking=walking_note(analysis.parameters, lang),
        covered_min_share=covered_min,
        uncovered_max_share=float(analysis.policy.partial_min_share),
        below_standard=bool(
            (analysis.facilities.get("standard_status", pd.Series(dtype=object)) == "below").any()
        ),
        care=care_entries,
        compounds=[str(v) for v in analysis.compounds["status"].unique()]
        if len(analysis.compounds)
        else [],
        townships=len(townships) > 0,
        no_facility=any(
            (analysis.communities[f"{name}_status"] == circles_mod.NO_FACILITY).any()
            for name in analysis.circles_measured
        ),
    )
    control = folium.LayerControl(collapsed=False)
    control.add_to(fmap)
    if basemap == "tianditu":  # the list gains its layers before the map is fitted clear of it
        _add_tianditu(fmap, control, text, key=tianditu_key if embed_key else None)
    places = _places(shown, townships)
    if places:
        PlaceLabels(
            places,
            control,
            community_zoom=_community_zoom(analysis.communities),
            name=text["place_names"],
        ).add_to(fmap)
    FitClear(bounds, control).add_to(fmap)
    ReadyHook().add_to(fmap)  # last: once every layer is added
    return make_verbatim(compact_layers(fmap, decimals=COORD_DECIMALS))


COORD_DECIMALS = 5
"""Decimals of degrees the map keeps: 0.00001° is about 1 m, two pixels at zoom 18."""


def _display(frame: gpd.GeoDataFrame, *, gcj02: bool) -> gpd.GeoDataFrame:
    """The layer in EPSG:4326 (GCJ-02 when the basemap is), to the metre the screen shows.

    Polygons are simplified within half of :data:`COORD_DECIMALS`' last place (topology kept:
    a polygon stays a polygon, a hole stays inside; a boundary digitised to the centimetre
    loses the vertices no screen shows), then every coordinate is rounded to
    :data:`COORD_DECIMALS` decimals, so that each is written in 9 or 10 characters instead
    of 17.
    """
    if frame.empty or frame.crs is None:
        return frame
    out = frame.to_crs(4326)
    geoms = out.geometry.to_numpy()
    if gcj02:
        geoms = shapely.transform(
            geoms,
            lambda xy: np.column_stack(coords.from_wgs84(xy[:, 0], xy[:, 1], system="gcj02")),
        )
    areas = np.isin(shapely.get_type_id(geoms), (3, 6))  # polygons
    tolerance = 10.0**-COORD_DECIMALS / 2
    geoms[areas] = shapely.simplify(geoms[areas], tolerance, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, COORD_DECIMALS))
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))


def _check_key(basemap: str, key: str | None, *, embed_key: bool) -> None:
    """Refuse a 天地图 key that would not be used, or an embedding without a key."""
    if embed_key and basemap != "tianditu":
        msg = f"--embed-key (embed_key=True) is for --basemap tianditu; found --basemap {basemap}"
        raise InputError(msg)
    if embed_key and not key:
        msg = "--embed-key needs the key: --tianditu-key KEY (or TIANDITU_KEY)"
        raise InputError(msg)
    if key and not embed_key:
        msg = (
            "a 天地图 key is written into map.html only with --embed-key (embed_key=True), and "
            "then anyone who has the file can use it; without a key the map asks for it when "
            "opened"
        )
        raise InputError(msg)


def _add_tianditu(
    fmap: folium.Map, control: folium.LayerControl, text: dict[str, str], *, key: str | None
) -> None:
    """The 天地图 streets and their labels, drawn once the page has a key (see Tianditu)."""
    layers: list[dict[str, object]] = [
        {
            "url": (
                f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}"
            ),
            "name": name,
            "overlay": overlay,
        }
        for layer, name, overlay in (
            ("vec", text["tianditu"], False),
            ("cva", text["tianditu_labels"], True),
        )
    ]
    words = {word: text[f"tianditu_{word}"] for word in ("ask", "placeholder", "remember", "show")}
    Tianditu(control, layers=layers, words=words, key=key).add_to(fmap)


def _add_basemap(fmap: folium.Map, basemap: str, lang: str) -> None:
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(fmap)
    elif basemap == "amap":
        folium.TileLayer(
            tiles=(
                "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                "&style=8&x={x}&y={y}&z={z}"
            ),
            attr="© 高德地图 AutoNavi",
            subdomains="1234",
            name="高德地图" if lang == "zh" else "Amap",
            max_zoom=18,
        ).add_to(fmap)


def _add_facilities(
    fmap: folium.Map, tier: str, group: gpd.GeoDataFrame, text: dict[str, str], lang: str
) -> None:
    """One layer per tier: circles for elderly care, crosses for health care."""
    tier_label = TIER_LABELS_ZH.get(tier, tier) if lang == "zh" else TIER_LABELS_EN.get(tier, tier)
    layer = folium.FeatureGroup(name=f"{text['facilities']}: {tier_label}")
    below = (group.get("standard_status", pd.Series("", index=group.index)) == "below").to_numpy()
    points = gpd.GeoDataFrame(
        {
            "popup": [_facility_popup(row, tier_label, text, lang) for row in group.itertuples()],
            "tooltip": [
                html.escape(str(name)) + (f" ({text['below']})" if low else "")
                for name, low in zip(group["name"], below, strict=True)
            ],
            "below": below,
        },
        geometry=group.geometry.to_numpy(),
        crs=group.crs,
    )
    colour = TIER_COLOURS.get(tier, "#333333")
    if tier not in HEALTH_TIERS:  # elderly care and meal points: dots; medical care: crosses
        marker: folium.Marker | folium.CircleMarker = folium.CircleMarker(
            radius=_dot_radius(tier), fill=True
        )
        marker.options["pane"] = FACILITY_PANE  # folium's path options leave the pane out
    else:
        size = _cross_size(tier)
        marker = folium.Marker(
            icon=folium.DivIcon(
                html=_health_cross(colour, size),
                icon_size=(size + 4, size + 4),
                icon_anchor=(size // 2 + 2, size // 2 + 2),
                class_name="carecircle-health",
            )
        )
    folium.GeoJson(
        _geojson(points),
        marker=marker,
        style_function=lambda feature, c=colour, t=tier: _facility_style(feature, c, t),
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    ).add_to(layer)
    layer.add_to(fmap)


def _facility_style(feature: dict[str, Any], colour: str, tier: str) -> dict[str, Any]:
    """A facility's marker style: a red ring round one below its tier's standard."""
    below = bool(feature["properties"].get("below"))
    if tier in HEALTH_TIERS:  # a boxed cross: folium merges "html" into its icon
        return {"html": _health_cross(colour, _cross_size(tier), below=below)}
    return {
        "color": BELOW_STANDARD_COLOUR if below else "#ffffff",
        "weight": 3.5 if below else 1.5,
        "fillColor": colour,
        "fillOpacity": 0.95,
    }


def _big(tier: str) -> bool:
    """Centres and hospitals are drawn larger than stations, points and clinics."""
    return tier.endswith(("center", "hospital"))


def _dot_radius(tier: str) -> int:
    """Radius (px) of an elderly-care facility's dot."""
    return 8 if _big(tier) else 6


def _cross_size(tier: str) -> int:
    """Inner width (px) of a health facility's boxed cross (plus a 2 px border each side)."""
    return 20 if _big(tier) else 16


def _health_cross(colour: str, size: int, *, below: bool = False) -> str:
    """A health facility's marker: a cross in a white box, both in the tier's colour.

    Ringed in red when the facility is below its tier's standard.
    """
    ring = f"box-shadow:0 0 0 3px {BELOW_STANDARD_COLOUR};" if below else ""
    return (
        f'<div style="width:{size}px;height:{size}px;background:#fff;{ring}'
        f"border:2px solid {colour};border-radius:3px;color:{colour};"
        f'font:bold {size - 4}px/{size - 4}px sans-serif;text-align:center">'
        f"{HEALTH_SYMBOL}</div>"
    )


PROPOSED_CLASS = "carecircle-proposed"
"""CSS class of the proposed sites' markers."""


def _numbered(order: int) -> str:
    """A proposed site's marker: its place in the order of building, white on a dark disc."""
    return (
        f'<div style="width:22px;height:22px;border-radius:11px;background:{PROPOSED_COLOUR};'
        f"border:2px solid #fff;color:#fff;font:bold 11px/22px sans-serif;"
        f'text-align:center">{int(order)}</div>'
    )


def _add_proposed_circles(
    fmap: folium.Map, circles: gpd.GeoDataFrame, circle: str, name: str
) -> None:
    """The proposed sites' walking circles of ``circle``: dashed outlines, lightly filled."""
    area = circles[(circles["circle"] == circle) & ~circles.geometry.is_empty]
    if not len(area):
        return
    layer = folium.FeatureGroup(name=name)
    folium.GeoJson(
        _geojson(area[["facility_id", "minutes", "geometry"]]),
        style_function=lambda _: {
            "color": PROPOSED_COLOUR,
            "weight": 2,
            "dashArray": "6 4",
            "fillColor": PROPOSED_COLOUR,
            "fillOpacity": 0.05,
        },
        interactive=False,
        pane=PROPOSED_CIRCLE_PANE,
    ).add_to(layer)
    layer.add_to(fmap)


def _add_proposed(fmap: folium.Map, sites: gpd.GeoDataFrame, text: dict[str, str]) -> None:
    """Proposed sites: numbered markers in order of choice.

    When the sites were phased (:func:`carecircle.siting.phase`: ``year`` and ``status``
    columns), each popup and tooltip also gives the year to build it, or why it is not planned.
    Under a profile with ``[medical_integration]`` each popup also says whether the site is
    beside a health centre, which one and the walk to it (:func:`_health_centre_lines`).
    """
    layer = folium.FeatureGroup(name=text["proposed"])
    when = _build_years(sites, text)
    beside = _health_centre_lines(sites, text)
    popups = [
        "<br>".join(
            [
                f"<b>{text['proposed']} {int(row.order)}</b>: {html.escape(str(row.name))} "
                f"({html.escape(str(row.id))})",
                *([when[i]] if when[i] else []),
                f"{text['newly_covered']}: {_fmt(float(row.newly_covered), 0)}",
                f"{text['cost']}: {_fmt(float(row.cost_yuan), 0)}",
                *([beside[i]] if beside[i] else []),
            ]
        )
        for i, row in enumerate(sites.itertuples())
    ]
    years = sites["year"] if "year" in sites else pd.Series([pd.NA] * len(sites))
    points = gpd.GeoDataFrame(
        {
            "popup": popups,
            "tooltip": [
                f"{text['proposed']} {int(o)}" + ("" if pd.isna(y) else f" ({int(y)})")
                for o, y in zip(sites["order"], years, strict=True)
            ],
            "order": sites["order"].astype(int),
        },
        geometry=sites.geometry.to_numpy(),
        crs=sites.crs,
    )
    folium.GeoJson(
        _geojson(points),
        marker=folium.Marker(
            icon=folium.DivIcon(icon_size=(26, 26), icon_anchor=(13, 13), class_name=PROPOSED_CLASS)
        ),
        # folium merges what this returns into each marker's icon options: its number
        style_function=lambda feature: {"html": _numbered(feature["properties"]["order"])},
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    ).add_to(layer)
    layer.add_to(fmap)


_YES = frozenset({"true", "yes", "1", "是", "y"})
_NO = frozenset({"false", "no", "0", "否", "n"})


def _health_centre_lines(sites: pd.DataFrame, text: dict[str, str]) -> list[str]:
    """Per site, the popup line on 医养结合: beside a health centre or not, which, how far.

    ``beside_health_centre`` (a boolean, or yes/no as ``proposed_sites.csv`` writes it),
    ``health_centre_id`` and ``health_centre_minutes`` are :func:`carecircle.siting.propose`'s;
    the line is empty where the column is missing or the cell blank (not checked), and the id
    is escaped.
    """
    if "beside_health_centre" not in sites:
        return [""] * len(sites)
    flags = sites["beside_health_centre"].astype(object).to_numpy()
    ids = (
        sites["health_centre_id"].astype(object).to_numpy()
        if "health_centre_id" in sites
        else np.full(len(sites), None, dtype=object)
    )
    minutes = (
        pd.to_numeric(sites["health_centre_minutes"], errors="coerce").to_numpy(dtype=float)
        if "health_centre_minutes" in sites
        else np.full(len(sites), np.nan)
    )
    lines = []
    for flag, centre, walk in zip(flags, ids, minutes, strict=True):
        word = "" if flag is None or pd.isna(flag) else str(flag).strip().lower()
        if word in _YES:
            answer = text["yes"]
        elif word in _NO:
            answer = text["no"]
        else:  # blank: not checked (no [medical_integration] for this tier)
            lines.append("")
            continue
        found = "" if centre is None or pd.isna(centre) else str(centre).strip()
        detail = []
        if found:
            label = "" if answer == text["yes"] else f"{text['nearest_health_centre']} "
            detail.append(f"{label}{html.escape(found)}")
        if np.isfinite(walk):
            detail.append(text["walk_minutes"].format(minutes=f"{walk:.1f}"))
        line = f"{text['beside_health_centre']}: {answer}"
        lines.append(f"{line} ({', '.join(detail)})" if detail else line)
    return lines


CANDIDATE_COLOUR = "#737373"
"""Candidate sites not chosen (red, :data:`OFF_NETWORK_COLOUR`, when off the network), on the
map and in the GeoPackage's QGIS style."""
OFF_NETWORK_COLOUR = "#d7301f"


def _add_candidates(fmap: folium.Map, candidates: gpd.GeoDataFrame, text: dict[str, str]) -> None:
    """The candidates not chosen: small grey dots (red off the network), a layer off at first.

    Each popup gives what the candidate alone would bring in, its cost and its distance to the
    walking network, so a reader can see why it was passed over.
    """
    popups = [
        "<br>".join(
            [
                f"<b>{html.escape(str(row.name))}</b> ({html.escape(str(row.id))})",
                f"{text['network']}: {_word(row.network_status, text)}",
                f"{text['access']}: {_fmt(float(row.access_m), 0)}",
                f"{text['reach']}: {_fmt(float(row.reach), 0)}",
                f"{text['cost']}: {_fmt(float(row.cost_yuan), 0)}",
            ]
        )
        for row in candidates.itertuples()
    ]
    points = gpd.GeoDataFrame(
        {
            "popup": popups,
            "tooltip": [html.escape(str(name)) for name in candidates["name"]],
            "off": (candidates["network_status"] == "off_network").to_numpy(),
        },
        geometry=candidates.geometry.to_numpy(),
        crs=candidates.crs,
    )
    layer = folium.FeatureGroup(name=text["candidates"], show=False)
    folium.GeoJson(
        _geojson(points),
        marker=folium.CircleMarker(radius=4, weight=1, fill=True, fill_opacity=0.8),
        style_function=lambda feature: {
            "color": "#ffffff",
            "fillColor": OFF_NETWORK_COLOUR if feature["properties"]["off"] else CANDIDATE_COLOUR,
        },
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    ).add_to(layer)
    layer.add_to(fmap)


COMPOUND_COLOURS = {
    compounds_mod.NEEDS_CENTRE: "#7b3294",
    compounds_mod.BELOW: BELOW_STANDARD_COLOUR,
    compounds_mod.UNKNOWN: OTHER_COLOUR,
    compounds_mod.MEETS: STATUS_COLOURS[circles_mod.COVERED],
    compounds_mod.NOT_APPLICABLE: "#d9d9d9",
}
"""A compound's colour on the map, by its worst rule's status."""


def _add_compounds(
    fmap: folium.Map,
    compounds: gpd.GeoDataFrame,
    analysis: Analysis,
    text: dict[str, str],
    lang: str,
) -> None:
    """The residential compounds, coloured by their worst rule's status; a layer off at first.

    Each popup gives every compound rule's status, the required and the actual figure, the
    reason and the source, and the compound's ``note`` when its file has one (the demo's says
    its compounds are invented).
    """
    words = compounds_mod.STATUS_LABELS[lang]
    rules = compounds_mod.rules_of(analysis.policy)

    def status(value: object) -> str:
        colour = COMPOUND_COLOURS.get(str(value), OTHER_COLOUR)
        word = html.escape(words.get(str(value), str(value)))
        return f'<b style="color:{colour}">{word}</b>'

    popups = []
    for row in compounds.itertuples():
        place = (
            html.escape(str(row.community_name))
            if row.community_id
            else html.escape(compounds_mod.OUTSIDE if lang == "en" else "不在任何社区内")
        )
        lines = [
            f"<b>{html.escape(str(row.name))}</b> ({html.escape(str(row.id))})",
            f"{text['community']}: {place}",
            f"{text['status']}: {status(row.status)}",
        ]
        for rule in rules:
            label = html.escape(rule.label_zh if lang == "zh" else rule.label_en)
            get = row._asdict().get
            lines.append(
                f"{label}: {status(get(f'{rule.prefix}_status'))}; {text['required']} "
                f"{_fmt(get(f'{rule.prefix}_required'), 0)} / {text['actual']} "
                f"{_fmt(get(f'{rule.prefix}_actual'), 0)} m²"
            )
            lines.append(
                f"<small>{html.escape(str(get(f'{rule.prefix}_reason')))} "
                f"({html.escape(str(get(f'{rule.prefix}_source')))})</small>"
            )
        note = getattr(row, "note", None)
        if isinstance(note, str) and note:
            lines.append(f"<i>{html.escape(note)}</i>")
        popups.append("<br>".join(lines))
    features = gpd.GeoDataFrame(
        {
            "popup": popups,
            "tooltip": [html.escape(str(name)) for name in compounds["name"]],
            "colour": [COMPOUND_COLOURS.get(str(s), OTHER_COLOUR) for s in compounds["status"]],
        },
        geometry=compounds.geometry.to_numpy(),
        crs=compounds.crs,
    )
    layer = folium.FeatureGroup(name=text["compounds"], show=False)
    folium.GeoJson(
        _geojson(features),
        marker=folium.CircleMarker(radius=6, weight=1, fill=True, fill_opacity=0.85),
        style_function=lambda feature: {
            "color": "#333333",
            "weight": 1,
            "fillColor": feature["properties"]["colour"],
            "fillOpacity": 0.6,
        },
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    ).add_to(layer)
    layer.add_to(fmap)


def _build_years(sites: gpd.GeoDataFrame, text: dict[str, str]) -> list[str]:
    """Per site, its year to build or why it is not planned; empty strings when not phased."""
    if "year" not in sites:
        return [""] * len(sites)
    statuses = sites["status"] if "status" in sites else pd.Series([""] * len(sites))
    return [
        f"{text['build_year']}: {int(year)}"
        if not pd.isna(year)
        else html.escape(text.get(str(status), str(status)))
        for year, status in zip(sites["year"], statuses, strict=True)
    ]


def _status_label(status: str, lang: str) -> str:
    if lang == "zh":
        return terms.STATUS_LABELS_ZH.get(status, status)
    return terms.STATUS_LABELS_EN.get(status, status)


def _community_features(
    frame: gpd.GeoDataFrame,
    circle: str,
    text: dict[str, str],
    lang: str,
    *,
    facility_names: Mapping[str, str] | None = None,
    covered_min_share: float = 1.0,
) -> dict[str, Any]:
    status = frame[f"{circle}_status"].astype(str)
    share = frame[f"{circle}_share"].to_numpy(dtype=float)
    names = facility_names or {}
    popups = [
        _community_popup(row, circle, text, lang, facility_names=names)
        for row in frame.to_dict("records")
    ]
    off = frame.get("off_network_share", pd.Series(np.nan, index=frame.index))
    tooltips = [
        f"{html.escape(str(name))}: {html.escape(_status_label(s, lang))}"
        f"{_share_note(s, v)}{_off_note(o, text)}"
        for name, s, v, o in zip(frame["name"], status, share, off, strict=True)
    ]
    small = gpd.GeoDataFrame(
        {
            "status": status.to_numpy(),
            "shade": share_classes(status.to_numpy(), share, covered_min_share=covered_min_share),
            "popup": popups,
            "tooltip": tooltips,
            "search": frame["name"].astype(str).to_numpy(),
        },
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    return _geojson(small)


def share_classes(status: np.ndarray, share: np.ndarray, *, covered_min_share: float) -> np.ndarray:
    """The class each community is coloured by: its status, partly covered ones split in two.

    A partly covered community is :data:`PARTIAL_LOW` under :data:`SHARE_SPLIT` of its
    residents within the circle and :data:`PARTIAL_HIGH` from it on (below the profile's
    ``covered_min_share``, or it would be covered). With a covered threshold at or under
    the split, partly covered communities keep the one class ``partial``.

    Parameters
    ----------
    status : numpy.ndarray
        Statuses (``<circle>_status``).
    share : numpy.ndarray
        Shares within the circle, 0 to 1 (``<circle>_share``).
    covered_min_share : float, keyword-only
        The profile's covered threshold, a share.

    Returns
    -------
    numpy.ndarray
        Class names (object strings), shaped like ``status``.

    Examples
    --------
    >>> share_classes(
    ...     np.array(["partial", "partial", "covered"]), np.array([0.2, 0.7, 1.0]),
    ...     covered_min_share=0.9,
    ... ).tolist()
    ['partial_low', 'partial_high', 'covered']

    """
    status = np.asarray(status, dtype=object)
    if covered_min_share <= SHARE_SPLIT:
        return status.copy()
    partial = status == circles_mod.PARTIAL
    low = np.asarray(share, dtype=float) < SHARE_SPLIT
    return np.where(partial, np.where(low, PARTIAL_LOW, PARTIAL_HIGH), status).astype(object)


def _share_note(status: str, share: float) -> str:
    """`` 36%`` after a partly covered community's status, else ""."""
    return f" {_percent(share)}" if status == circles_mod.PARTIAL else ""


def _off_note(share: Any, text: dict[str, str]) -> str:
    """`` (12% off the walking network)`` for a community with off-network residents, else ""."""
    if share is None or pd.isna(share) or share <= 0:
        return ""
    shown = _percent(share) if share >= 0.005 else "<1%"
    return f" ({shown} {html.escape(text['off_network'])})"


def _after_features(
    frame: gpd.GeoDataFrame,
    after: pd.DataFrame,
    text: dict[str, str],
    lang: str,
    *,
    covered_min_share: float = 1.0,
) -> dict[str, Any]:
    """The communities coloured by their status once the proposed sites are built."""
    table = after.set_index(after["id"].astype(str))
    ids = frame["id"].astype(str)
    status = table["status_after"].reindex(ids).fillna("").astype(str).to_numpy()
    before = table["share_before"].reindex(ids).to_numpy(dtype=float)
    later = table["share_after"].reindex(ids).to_numpy(dtype=float)

    names = [html.escape(str(name)) for name in frame["name"]]
    popups = [
        f"<b>{name}</b> ({html.escape(i)})<br>{text['status']}: "
        f"<b>{html.escape(_status_label(s, lang))}</b><br>"
        f"{html.escape(text['before_after'])}: {_percent(b)} → {_percent(a)}"
        for name, i, s, b, a in zip(names, ids, status, before, later, strict=True)
    ]
    small = gpd.GeoDataFrame(
        {
            "status": status,
            "shade": share_classes(status, later, covered_min_share=covered_min_share),
            "popup": popups,
            "tooltip": [
                f"{name}: {html.escape(_status_label(s, lang))}"
                for name, s in zip(names, status, strict=True)
            ],
        },
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    return _geojson(small)


def _status_style(feature: dict[str, Any]) -> dict[str, Any]:
    properties = feature["properties"]
    shade = properties.get("shade") or properties["status"]
    colour = SHARE_CLASS_COLOURS.get(shade) or STATUS_COLOURS.get(shade, OTHER_COLOUR)
    return {"color": "#333333", "weight": 1, "fillColor": colour, "fillOpacity": 0.55}


def _percent(share: Any) -> str:
    """A share as a whole percentage, "—" when unknown."""
    return "—" if share is None or pd.isna(share) else f"{share:.0%}"


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or pd.isna(value):
        return "—"
    if isinstance(value, float | np.floating):
        return f"{value:,.{digits}f}"
    return html.escape(str(value))


def _community_popup(
    row: dict[str, Any],
    circle: str,
    text: dict[str, str],
    lang: str,
    *,
    facility_names: Mapping[str, str] | None = None,
) -> str:
    share_text = _percent(row.get(f"{circle}_share"))
    share_label = text["share"] if row.get("basis") == demand.ELDERLY else text["share_population"]
    lines = [
        f"<b>{html.escape(str(row['name']))}</b> ({html.escape(str(row['id']))})",
        f"{text['township']}: {html.escape(str(row.get('township', '')))}",
        f"{text['kind']}: {text.get(str(row.get('kind')), html.escape(str(row.get('kind'))))}",
        f"{text['population']}: {_fmt(row.get('population'), 0)}",
        f"{text['elderly']}: {_fmt(row.get('elderly'), 0)}",
        f"{text['status']}: <b>{html.escape(_status_label(str(row[f'{circle}_status']), lang))}</b>"
        f" ({_fmt(row.get(f'{circle}_minutes'), 0)} {text['minutes']})",
        f"{share_label}: {share_text}",
        *_reason(row, circle, text, facility_names or {}),
        *_off_line(row.get("off_network_share"), text),
        f"{text['median']}: {_fmt(row.get(f'{circle}_median_min'))}",
        f"{text['p90']}: {_fmt(row.get(f'{circle}_p90_min'))}",
        f"{text['nearest']}: {_facility_name(row.get(f'{circle}_nearest'), facility_names)}",
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
        shown = note_zh(str(note)) if lang == "zh" else str(note)
        lines.append(f"{text['note']}: {html.escape(shown)}")
    return "<br>".join(lines)


def _facility_name(facility_id: Any, names: Mapping[str, str] | None) -> str:
    """``name (id)`` of a facility, escaped; its id alone when unnamed, "—" when none."""
    if facility_id is None or pd.isna(facility_id) or not str(facility_id):
        return "—"
    key = str(facility_id)
    name = (names or {}).get(key)
    return html.escape(f"{name} ({key})" if name else key)


def _reason(
    row: dict[str, Any], circle: str, text: dict[str, str], names: Mapping[str, str]
) -> list[str]:
    """Why a community is not (fully) covered: its popup's reason line, or none.

    The nearest facility by name and the walk of the median resident; where that is over the
    limit, by how many minutes, else how far over it the slowest tenth walk; then how many
    residents are outside the circle. Only for partly covered and not covered communities.
    """
    status = str(row.get(f"{circle}_status"))
    if status not in (circles_mod.PARTIAL, circles_mod.UNCOVERED):
        return []
    limit = _number(row.get(f"{circle}_minutes"))
    median = _number(row.get(f"{circle}_median_min"))
    p90 = _number(row.get(f"{circle}_p90_min"))
    nearest = row.get(f"{circle}_nearest")
    who = text["elderly_who"] if row.get("basis") == demand.ELDERLY else text["residents_who"]
    if not nearest or not np.isfinite(median) or not np.isfinite(limit):
        why = text["why_none"]
    elif median > limit:
        why = text["why_far"].format(
            facility=_facility_name(nearest, names),
            median=f"{median:.1f}",
            limit=f"{limit:g}",
            over=f"{median - limit:.1f}",
        )
    else:
        why = text["why_tail"].format(
            facility=_facility_name(nearest, names),
            median=f"{median:.1f}",
            limit=f"{limit:g}",
            who=who,
            p90=f"{p90:.1f}",
            over=f"{max(p90 - limit, 0.0):.1f}",
        )
    residents = _number(row.get(f"{circle}_residents"))
    within = _number(row.get(f"{circle}_within"))
    if np.isfinite(residents) and np.isfinite(within):
        why += text["sep"]
        why += text["outside"].format(
            count=f"{max(residents - within, 0.0):,.0f}", who=who, total=f"{residents:,.0f}"
        )
    return [f'<span class="carecircle-why"><b>{text["why"]}</b>: {why}</span>']


def _number(value: Any) -> float:
    """``value`` as a float, NaN when missing."""
    try:
        return float(value) if value is not None and not pd.isna(value) else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def _off_line(share: Any, text: dict[str, str]) -> list[str]:
    """The popup line on a community's off-network residents, when it has any."""
    if share is None or pd.isna(share) or share <= 0:
        return []
    shown = _percent(share) if share >= 0.005 else "<1%"
    return [f"{html.escape(text['off_network_share'])}: {shown}"]


def _facility_popup(row: Any, tier_label: str, text: dict[str, str], lang: str) -> str:
    lines = [
        f"<b>{html.escape(str(row.name))}</b> ({html.escape(str(row.id))})",
        f"{text['tier']}: {html.escape(tier_label)}",
        f"{text['area']}: {_fmt(getattr(row, 'area_m2', None), 0)}",
        f"{text['beds']}: {_fmt(getattr(row, 'beds', None), 0)}",
        f"{text['network']}: {_word(getattr(row, 'network_status', ''), text)}",
    ]
    status = getattr(row, "standard_status", None)
    if status is not None:
        style = f' style="color:{BELOW_STANDARD_COLOUR}"' if status == "below" else ""
        lines.append(f"{text['standard']}: <b{style}>{_word(status, text)}</b>")
        for column, unit in (
            ("area_shortfall_m2", "area_shortfall"),
            ("beds_shortfall", "beds_shortfall"),
        ):
            short = _number(getattr(row, column, None))
            if status == "below" and np.isfinite(short) and short > 0:
                lines.append(f"{text[unit]}: {short:,.0f}")
        zh = "_zh" if lang == "zh" else ""  # the sentences in Chinese (standards.check_facilities)
        note = getattr(row, f"standard_note{zh}", getattr(row, "standard_note", ""))
        if status in ("below", "above_max", "unknown") and note:
            lines.append(html.escape(str(note)))
        advice = getattr(row, f"standard_advice{zh}", getattr(row, "standard_advice", ""))
        if advice:
            lines.append(html.escape(str(advice)))
    centre = getattr(row, "centre_id", "")
    if centre:
        lines.append(f"{text['centre']}: {html.escape(str(centre))} ({_fmt(row.centre_minutes)})")
    return "<br>".join(lines)


def _word(value: object, text: dict[str, str]) -> str:
    """A status word in the map's language, escaped."""
    return html.escape(text.get(str(value), str(value)))


def _add_legend(
    fmap: folium.Map,
    text: dict[str, str],
    lang: str,
    *,
    tiers: list[str] | None = None,
    circle_areas: list[tuple[str, str, str]] | None = None,
    uncovered: bool = False,
    proposed: bool,
    proposed_circles: bool = False,
    candidates: bool = False,
    no_facility: bool = False,
    walking: str = "",
    covered_min_share: float = 1.0,
    uncovered_max_share: float = 0.0,
    below_standard: bool = False,
    townships: bool = False,
    care: list[tuple[str, str]] | None = None,
    compounds: list[str] | None = None,
) -> None:
    """The legend box (bottom right): an entry for each kind of thing the map draws.

    Parameters
    ----------
    fmap : folium.Map
        The map; the box is added to its page.
    text : dict
        The map's words (:data:`TEXT`), in ``lang``.
    lang : {"zh", "en"}
        Language of the status and tier labels.
    tiers : list of str, optional, keyword-only
        The facility tiers drawn; one entry each, with the marker the map uses.
    circle_areas : list of (circle, label, colour), optional, keyword-only
        The circles whose walking-circle polygons are drawn.
    uncovered : bool, keyword-only
        Whether a layer of the areas outside the circles is drawn.
    no_facility : bool, keyword-only
        Whether a circle had no facility of its tiers at all (its communities are drawn in
        the ``no_facility`` colour, with an entry of their own).
    proposed, proposed_circles, candidates : bool, keyword-only
        Whether the siting layers are drawn.
    walking : str, keyword-only
        How the walking times were made (:func:`walking_note`), a last line under the entries.
    covered_min_share, uncovered_max_share : float, keyword-only
        The profile's thresholds (shares): the community entries name the share classes
        they stand for (:func:`share_classes`).
    below_standard : bool, keyword-only
        Whether a facility below its tier's standard is drawn (ringed in red).
    townships : bool, keyword-only
        Whether the township layer is drawn.
    care : list of (colour, label), optional, keyword-only
        The care map's shades drawn (:func:`_add_care`).
    compounds : list of str, optional, keyword-only
        The statuses of the residential compounds drawn.

    Each entry is a ``div`` with ``data-entry`` naming what it stands for (``status:covered``,
    ``circle:eldercare``, ``uncovered``, ``tier:clinic``, ``proposed``, ...), holding two
    ``span``: the symbol, drawn as the map draws it, and the label.

    """
    groups: list[list[tuple[str, str, str]]] = []  # (entry, symbol html, label)
    statuses = (
        circles_mod.COVERED,
        circles_mod.PARTIAL,
        circles_mod.UNCOVERED,
        circles_mod.OUTSIDE_NETWORK,
        *((circles_mod.NO_FACILITY,) if no_facility else ()),
    )
    communities = [
        (f"status:{s}", _swatch(STATUS_COLOURS[s], "1px solid #333"), _status_label(s, lang))
        for s in statuses
    ]
    communities[0] = (*communities[0][:2], f"{communities[0][2]} (≥ {covered_min_share:.0%})")
    most = "0%" if uncovered_max_share <= 0 else f"≤ {uncovered_max_share:.0%}"
    communities[2] = (*communities[2][:2], f"{communities[2][2]} ({most})")
    if covered_min_share > SHARE_SPLIT:  # partly covered, in two classes
        partly = _status_label(circles_mod.PARTIAL, lang)
        communities[1:2] = [
            (
                f"status:{PARTIAL_HIGH}",
                _swatch(SHARE_CLASS_COLOURS[PARTIAL_HIGH], "1px solid #333"),
                f"{partly} ({SHARE_SPLIT:.0%}–{covered_min_share:.0%})",
            ),
            (
                f"status:{PARTIAL_LOW}",
                _swatch(SHARE_CLASS_COLOURS[PARTIAL_LOW], "1px solid #333"),
                f"{partly} (< {SHARE_SPLIT:.0%})",
            ),
        ]
    communities.append(
        (
            "status:other",
            _swatch(OTHER_COLOUR, "1px solid #333"),
            "not analysed" if lang == "en" else "无法分析",
        )
    )
    groups.append(communities)
    areas = [
        (f"circle:{name}", _swatch(_rgba(c, CIRCLE_FILL_OPACITY), f"1px solid {c}"), label)
        for name, label, c in circle_areas or []
    ]
    if uncovered:
        fill = _rgba(UNCOVERED_COLOUR, UNCOVERED_FILL_OPACITY)
        areas.append(
            ("uncovered", _swatch(fill, f"1px dashed {UNCOVERED_COLOUR}"), text["uncovered"])
        )
    if townships:
        areas.append(
            (
                "townships",
                _swatch(_rgba(TOWNSHIP_COLOUR, 0.04), f"3px solid {TOWNSHIP_COLOUR}"),
                text["townships"],
            )
        )
    groups.append(areas)
    labels = TIER_LABELS_ZH if lang == "zh" else TIER_LABELS_EN
    known = list(TIER_COLOURS)
    drawn = sorted(tiers or [], key=lambda t: known.index(t) if t in known else len(known))
    facilities = [(f"tier:{t}", _tier_symbol(t), labels.get(t, t)) for t in drawn]
    if below_standard:
        ring = (
            '<span style="display:inline-block;width:12px;height:12px;border-radius:50%;'
            f'background:#fff;border:3px solid {BELOW_STANDARD_COLOUR}"></span>'
        )
        facilities.append(("below_standard", ring, text["below_standard"]))
    groups.append(facilities)
    siting = []
    if proposed:
        symbol = (
            f'<span style="display:inline-block;width:14px;height:14px;border-radius:7px;'
            f"background:{PROPOSED_COLOUR};border:1px solid #fff;color:#fff;"
            f'font:bold 9px/14px sans-serif;text-align:center">1</span>'
        )
        siting.append(("proposed", symbol, text["proposed_legend"]))
    if proposed_circles:
        siting.append(
            (
                "proposed_circle",
                _swatch(_rgba(PROPOSED_COLOUR, 0.05), f"2px dashed {PROPOSED_COLOUR}"),
                text["proposed_circle_legend"],
            )
        )
    if candidates:
        symbol = (
            f'<span style="display:inline-block;width:8px;height:8px;border-radius:4px;'
            f'background:{CANDIDATE_COLOUR}"></span>'
        )
        siting.append(("candidates", symbol, text["candidates_legend"]))
    groups.append(siting)
    rows = ""
    for group in groups:
        for number, (entry, symbol, label) in enumerate(group):
            gap = 5 if number == 0 and rows else 0  # a little space between groups
            rows += _legend_row(entry, symbol, label, gap)
    # the care map's shades and the compounds' statuses: short entries two to a line under a
    # head naming what they show, so that the box stays clear of the layer list
    care_entries = [
        (f"care:{n}", _swatch(c, "1px solid #555"), label)
        for n, (c, label) in enumerate(care or [])
    ]
    words = compounds_mod.STATUS_LABELS[lang]
    compound_entries = [
        (
            f"compound:{status}",
            '<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
            f'background:{COMPOUND_COLOURS[status]};border:1px solid #333"></span>',
            words[status],
        )
        for status in compounds_mod.STATUSES
        if status in (compounds or [])
    ]
    heads = {
        "zh": ("关爱地图：需关爱老年人（人）", "小区（配建规则）"),
        "en": ("care map: people needing care", "residential compounds"),
    }[lang if lang == "zh" else "en"]
    for head, entries in zip(heads, (care_entries, compound_entries), strict=True):
        if entries:
            cells = "".join(_legend_row(*entry, 0) for entry in entries)
            rows += (
                f'<div style="margin-top:5px">{html.escape(head)}</div>'
                '<div style="display:grid;grid-template-columns:repeat(2,auto);'
                f'column-gap:8px;justify-content:start">{cells}</div>'
            )
    if walking:
        rows += (
            '<div data-entry="walking" style="margin-top:5px;max-width:260px;color:#555;'
            f'font-size:11px">{html.escape(walking)}</div>'
        )
    # a click on the title folds the entries away (the map folds them itself on a phone)
    fold = (
        "var r=this.nextElementSibling;var o=r.style.display==='none';"
        "r.style.display=o?'':'none';this.lastChild.textContent=o?' ▾':' ▸';"
    )
    box = (
        '<div id="carecircle-legend" style="position:fixed;bottom:28px;right:12px;z-index:9999;'
        "background:#fff;padding:6px 10px;border:1px solid #999;border-radius:4px;"
        'font:12px/1.3 sans-serif">'
        f'<b class="carecircle-legend-title" style="cursor:pointer" onclick="{fold}">'
        f"{html.escape(text['legend'])}<span> ▾</span></b>"
        f'<div class="carecircle-legend-rows">{rows}</div></div>'
    )
    fmap.get_root().html.add_child(Verbatim(box))  # type: ignore[attr-defined]


def _legend_row(entry: str, symbol: str, label: str, gap: int) -> str:
    """One legend entry: ``data-entry`` naming what it stands for, its symbol, its label."""
    return (
        f'<div data-entry="{html.escape(entry)}" style="display:flex;'
        f'align-items:center;min-height:18px;margin-top:{gap}px">'
        '<span style="display:inline-flex;justify-content:center;align-items:center;'
        f'flex:none;width:24px;margin-right:6px">{symbol}</span>'
        f"<span>{html.escape(label)}</span></div>"
    )


def _swatch(fill: str, border: str) -> str:
    """A legend swatch of a polygon layer: its fill and its outline."""
    return (
        f'<span style="display:inline-block;box-sizing:border-box;width:16px;height:13px;'
        f'background:{fill};border:{border}"></span>'
    )


def _tier_symbol(tier: str) -> str:
    """A facility tier's marker as the map draws it: a cross for medical care, else a dot."""
    colour = TIER_COLOURS.get(tier, "#333333")
    if tier not in HEALTH_TIERS:
        width = 2 * _dot_radius(tier)
        return (
            f'<span style="display:inline-block;width:{width}px;height:{width}px;'
            f"border-radius:50%;background:{colour};border:1.5px solid #fff;"
            f'box-shadow:0 0 0 1px #bbb"></span>'
        )
    return _health_cross(colour, _cross_size(tier))


def _rgba(colour: str, opacity: float) -> str:
    """``#rrggbb`` and an opacity as CSS ``rgba()``."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{opacity:g})"


def walking_note(parameters: Mapping[str, Any], lang: terms.Lang) -> str:
    """One line saying how the walking times were made: speed, slopes (survey, DEM, flat), steps.

    Parameters
    ----------
    parameters : mapping
        :attr:`carecircle.pipeline.Analysis.parameters` (``speed_m_s`` and ``walking_*``).
    lang : {"zh", "en"}
        The language.

    """
    if "speed_m_s" not in parameters:
        return ""
    speed = float(parameters["speed_m_s"])
    dem = str(parameters.get("walking_dem", ""))
    steps = int(parameters.get("walking_edges_steps", 0) or 0)
    name = Path(dem).name if dem else ""
    # slopes from the network's own (surveyed) elevations: alone, or with the DEM elsewhere
    source = str(parameters.get("walking_slope_source", ""))
    surveyed = source.startswith("network z")
    with_dem = source == "network z + DEM"
    if lang == "zh":
        if surveyed:
            also = f"与高程模型 {name}" if with_dem else ""
            ground = f"含坡度（路网实测高程{also}，Tobler 公式）"
        else:
            ground = (
                f"含坡度（高程模型 {name}，Tobler 公式）" if dem else "按平地计（未给高程模型）"
            )
        stairs = f"含 {steps} 段台阶" if steps else "无台阶"
        return f"步行时间：{speed:g} 米/秒，{ground}，{stairs}，电梯与扶梯按路网标注计"
    if surveyed:
        also = f" and the DEM {name}" if with_dem else ""
        ground = f"slopes from the network's surveyed elevations{also} (Tobler)"
    else:
        ground = f"slopes from the DEM {name} (Tobler)" if dem else "flat ground (no DEM given)"
    stairs = f"{steps} flights of steps costed" if steps else "no steps"
    return f"Walking times: {speed:g} m/s, {ground}, {stairs}, elevators and escalators as mapped"


def _geojson(frame: gpd.GeoDataFrame) -> FeatureCollection:
    """A GeoJSON FeatureCollection of ``frame``, its geometries kept as shapely's.

    The properties are written by pandas (missing values as ``null``, numbers to 15
    significant digits), instead of geopandas' feature by feature conversion. Each feature's
    ``id`` is its index label, as geopandas writes it. Each feature's ``geometry`` is
    ``None``: the geometries stay in the collection's ``shapes``, which the page writes delta-coded
    (:class:`carecircle.outputs._map_page.CompactGeoJson`);
    :meth:`~carecircle.outputs._map_page.FeatureCollection.as_geojson` gives the collection
    with them (as ``json.loads(frame.to_json())``).
    """
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    properties = (
        json.loads(table.to_json(orient="records", force_ascii=False, double_precision=15))
        if len(table.columns)
        else [{} for _ in range(len(frame))]
    )
    features = [
        {"id": str(label), "properties": props, "geometry": None}
        for label, props in zip(frame.index, properties, strict=True)
    ]
    return FeatureCollection(features, frame.geometry.to_numpy())


def _title_markup(analysis: Analysis, text: dict[str, str], lang: str) -> str:
    """The title block's HTML (see :class:`TitleBlock`), every text escaped.

    The head: the place and each circle's headline share; the body: the policy, the dates,
    each circle's share in words and its communities by status, the facilities below
    standard, and the district targets in a foldable section. All from
    :func:`carecircle.outputs.headline.headline`, as the terminal and the workbook say it.
    """
    head = headline_mod.headline(analysis)
    esc = html.escape

    def label(figures: headline_mod.CircleFigures) -> str:
        return figures.label_zh if lang == "zh" else figures.label_en

    shares = " · ".join(
        f"{esc(label(c))} <b>{_percent(c.share)}</b>" for c in head.circles if np.isfinite(c.share)
    )
    circles = "".join(
        f'<div class="c" data-circle="{esc(c.circle)}"><b>{esc(label(c))}</b>: '
        f"{esc(headline_mod.share_text(c, lang))}<br>"
        f'<span class="dim">{esc(headline_mod.counts_text(c, lang))}</span></div>'
        for c in head.circles
    )
    below = (
        f'<span class="below">{head.below_standard}</span>'
        if head.below_standard
        else f"{head.below_standard}"
    )
    body = (
        f'<div class="dim">{esc(text["policy"])}: {esc(head.policy)}</div>'
        f'<div class="dim">{esc(text["data_date"])}: {esc(head.data_date or "—")} · '
        f"{esc(text['run_date'])}: {esc(head.run_date)}</div>"
        f"{circles}"
        f'<div class="c">{esc(text["below_standard"])}: {below} / {head.facilities}</div>'
        f"{_targets_markup(analysis.district, text, lang)}"
    )
    return (
        '<div class="carecircle-title-head">'
        f'<span class="carecircle-title-place">{esc(head.place)}</span>'
        f'<span class="carecircle-title-fold"> ▾</span>'
        f'<div class="dim">{esc(text["subtitle"])}</div>'
        f'<div class="carecircle-title-shares">{shares}</div></div>'
        f'<div class="carecircle-title-body">{body}</div>'
    )


def _targets_markup(district: pd.DataFrame, text: dict[str, str], lang: str) -> str:
    """The district targets (:attr:`Analysis.district`) as a folded table, or "" when none."""
    if district.empty or "rule" not in district:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(terms.target_label(str(row.rule), lang))}</td>"
        f"<td>{terms.target_text(str(row.rule), row.value) or '—'} / "
        f"{terms.target_text(str(row.rule), row.target)}</td>"
        f"<td>{_year(row.year)}</td>"
        f'<td class="{html.escape(str(row.status))}">{_word(row.status, text)}</td></tr>'
        for row in district.itertuples()
    )
    head = (
        f"<tr class='dim'><td></td><td>{html.escape(text['target'])}</td>"
        f"<td>{html.escape(text['year'])}</td><td>{html.escape(text['status'])}</td></tr>"
    )
    return (
        f"<details><summary>{html.escape(text['targets'])} ({len(district)})</summary>"
        f"<table>{head}{rows}</table></details>"
    )


def _year(value: Any) -> str:
    """A target's year as text, "" when it has none."""
    year = _number(value)
    return f"{year:.0f}" if np.isfinite(year) else ""


def _townships(analysis: Analysis, *, gcj02: bool) -> gpd.GeoDataFrame:
    """Township polygons dissolved from their communities, for display; empty without names.

    Columns ``township`` (as the township table names it, :func:`circles.township_names`)
    and ``geometry``. Empty when no community names a township.
    """
    comm = analysis.communities
    if "township" not in comm:
        return gpd.GeoDataFrame()
    names = circles_mod.township_names(comm["township"])
    keep = has_shape(comm) & (names != circles_mod.NO_TOWNSHIP).to_numpy()
    if not keep.any():
        return gpd.GeoDataFrame()
    shapes = gpd.GeoDataFrame(
        {"township": names[keep].to_numpy()}, geometry=comm.geometry[keep].to_numpy(), crs=comm.crs
    )
    dissolved = shapes.dissolve(by="township", as_index=False)
    return _display(dissolved[["township", "geometry"]], gcj02=gcj02)


def _add_townships(
    fmap: folium.Map,
    townships: gpd.GeoDataFrame,
    analysis: Analysis,
    text: dict[str, str],
    lang: str,
) -> None:
    """The townships: bold outlines, a layer off at first, popups with their totals."""
    # one row per township (the first value of each column where the merged table has two)
    table = analysis.townships().groupby("township", sort=False).first()
    circles = [c for c in analysis.policy.circles if c.name in analysis.circles_measured]
    popups = []
    for name in townships["township"]:
        row = table.loc[name] if name in table.index else pd.Series(dtype=object)
        lines = [
            f"<b>{html.escape(str(name))}</b>",
            f"{text['township_communities']}: {_fmt(row.get('communities'))}",
        ]
        for circle in circles:
            label = circle.label_zh if lang == "zh" else circle.label_en
            lines.append(
                f"{html.escape(label)}: {text['share']} {_percent(row.get(f'{circle.name}_share'))}"
                f", {text['not_covered_communities']} "
                f"{_fmt(row.get(f'{circle.name}_not_covered'))}"
            )
        if "centres" in row:
            lines.append(f"{text['centres']}: {_fmt(row.get('centres'))}")
        if "communities_with_station" in row:
            lines.append(
                f"{text['with_station']}: {_fmt(row.get('communities_with_station'))} "
                f"({_percent(row.get('station_coverage'))})"
            )
        popups.append("<br>".join(lines))
    frame = gpd.GeoDataFrame(
        {
            "popup": popups,
            "tooltip": [html.escape(str(name)) for name in townships["township"]],
        },
        geometry=townships.geometry.to_numpy(),
        crs=townships.crs,
    )
    layer = folium.FeatureGroup(name=text["townships"], show=False)
    folium.GeoJson(
        _geojson(frame),
        style_function=lambda _: {
            "color": TOWNSHIP_COLOUR,
            "weight": 3,
            "fillColor": TOWNSHIP_COLOUR,
            "fillOpacity": 0.04,
        },
        highlight_function=lambda _: {"weight": 5},
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    ).add_to(layer)
    layer.add_to(fmap)


def _places(communities: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> list[list[object]]:
    """Each township's and community's name and a point inside it, for :class:`PlaceLabels`.

    Larger places first (by area in degrees, enough to order them), so that where names
    would overlap the larger place's is drawn.
    """
    places: list[list[object]] = []
    for frame, column, kind in ((townships, "township", 0), (communities, "name", 1)):
        if not len(frame):
            continue
        shapes = frame.geometry.to_numpy()
        order = np.argsort(-shapely.area(shapes), kind="stable")
        xy = shapely.get_coordinates(shapely.point_on_surface(shapes[order]))
        names = frame[column].astype(str).to_numpy()[order]
        places += [
            [round(float(y), 6), round(float(x), 6), html.escape(name), kind, len(name)]
            for (x, y), name in zip(xy, names, strict=True)
        ]
    return places


#: On-screen width (px) a typical community needs before the communities are named.
LABEL_ROOM_PX = 90


def _community_zoom(communities: gpd.GeoDataFrame) -> int:
    """The zoom from which communities are named instead of townships.

    The first zoom at which the median community (in the analysis's projected CRS) is
    :data:`LABEL_ROOM_PX` wide on a web map at its latitude.
    """
    shapes = communities.geometry[has_shape(communities)]
    if not len(shapes) or communities.crs is None or not communities.crs.is_projected:
        return 15
    bounds = shapely.bounds(shapes.to_numpy())
    width_m = float(np.median(bounds[:, 2] - bounds[:, 0]))
    minx, miny, maxx, maxy = shapes.total_bounds
    centre = gpd.GeoSeries(
        [shapely.Point((minx + maxx) / 2, (miny + maxy) / 2)], crs=communities.crs
    )
    lat = float(centre.to_crs(4326).iloc[0].y)
    metres_per_px_z0 = 156_543.03 * np.cos(np.radians(lat))
    if width_m <= 0:
        return 18
    return int(np.clip(np.ceil(np.log2(metres_per_px_z0 * LABEL_ROOM_PX / width_m)), 0, 18))


CARE_COLOURS = ("#fde0dd", "#fa9fb5", "#f768a1", "#c51b8a", "#7a0177")
"""The care map's shades, fewest to most people needing care (classes of equal counts)."""
CARE_WITHHELD_COLOUR = "#bdbdbd"
"""The shade of a community whose count of people needing care is withheld or not given."""


def _add_care(
    fmap: folium.Map, analysis: Analysis, *, gcj02: bool, lang: str
) -> list[tuple[str, str]]:
    """The care map (关爱地图) layer, off by default: communities shaded by people needing care.

    The published counts only (:attr:`Analysis.care`: small counts withheld); each popup
    lists them, says which are withheld and whether the counts within the circles are
    estimates. Returns the legend's entries, ``(colour, label)`` for each shade drawn.
    """
    care = analysis.care
    if care is None:
        return []
    table = care.table
    labels = {c.name: (c.label_zh if lang == "zh" else c.label_en) for c in analysis.policy.circles}
    edges, shade = care_classes(table["people"].to_numpy(dtype=float))
    columns = [c for c in care.count_columns if c in table]
    columns += [f"{c}_people_share" for c in care.circles if f"{c}_people_share" in table]
    notes = "<br>".join(html.escape(line) for line in care_notes(care, lang))
    popups = []
    for row in table.to_dict("records"):
        lines = [f"<b>{html.escape(str(row.get('name', row.get('id', ''))))}</b>"]
        for column in columns:
            value = row[column]
            header = html.escape(care_header(column, labels, lang, exact=care.exact))
            if column.endswith("_share"):
                shown = _percent(value)
            else:
                shown = "—" if pd.isna(value) else f"{int(value):,}"
            lines.append(f"{header}: {shown}")
        if row.get("suppressed"):
            lines.append(html.escape(str(row["suppressed"])))
        popups.append("<br>".join(lines) + f"<br><small>{notes}</small>")
    frame = gpd.GeoDataFrame(
        {
            "popup": popups,
            "tooltip": [html.escape(str(n)) for n in table.get("name", table["id"])],
            "shade": [CARE_COLOURS[k] if k >= 0 else CARE_WITHHELD_COLOUR for k in shade],
        },
        geometry=analysis.communities.geometry.to_numpy(),
        crs=analysis.communities.crs,
    )
    frame = _display(frame[has_shape(frame)], gcj02=gcj02)
    name = "关爱地图（需关爱老年人）" if lang == "zh" else "Care map (older residents needing care)"
    layer = folium.FeatureGroup(name=name, show=False)
    folium.GeoJson(
        _geojson(frame),
        style_function=lambda feature: {
            "color": "#555555",
            "weight": 1,
            "fillColor": feature["properties"]["shade"],
            "fillOpacity": 0.6,
        },
        highlight_function=lambda _: {"weight": 3, "color": "#000000"},
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    ).add_to(layer)
    layer.add_to(fmap)
    return _care_legend(edges, shade, lang)


def care_classes(people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The care map's classes: ``(edges, shade)`` of each community's count of people.

    Parameters
    ----------
    people : numpy.ndarray
        People needing care per community (float; NaN where withheld or not given).

    Returns
    -------
    edges : numpy.ndarray
        The class boundaries: the quantiles splitting the known counts into
        ``len(CARE_COLOURS)`` classes of about equal size (fewer where counts repeat).
    shade : numpy.ndarray
        Each community's class, an index into :data:`CARE_COLOURS` (class ``k`` holds the
        counts ``v`` with ``edges[k-1] <= v < edges[k]``), -1 where withheld or not given.

    """
    known = people[np.isfinite(people)]
    edges = (
        np.unique(np.quantile(known, np.linspace(0, 1, len(CARE_COLOURS) + 1)[1:-1]))
        if known.size
        else np.array([])
    )
    shade = np.where(
        np.isfinite(people),
        np.searchsorted(edges, np.nan_to_num(people), side="right"),
        -1,
    )
    return edges, shade


def care_ranges(
    edges: np.ndarray, shade: np.ndarray, lang: str
) -> list[tuple[int, int | None, str, str]]:
    """``(low, high, label, colour)`` of each care-map class drawn, the withheld one last.

    ``low`` and ``high`` are the whole counts a class holds, both included (``high`` None
    for the last, open class; ``low`` and ``high`` -1 for the withheld class, whose colour is
    :data:`CARE_WITHHELD_COLOUR`).
    """
    lows = [0, *np.ceil(edges).astype(int).tolist()]
    entries: list[tuple[int, int | None, str, str]] = []
    for k, low in enumerate(lows):
        if not (shade == k).any():
            continue
        high = lows[k + 1] - 1 if k + 1 < len(lows) else None
        span = f"≥ {low:,}" if high is None else label_range(low, high)
        label = f"需关爱老年人 {span} 人" if lang == "zh" else f"{span} needing care"
        entries.append((low, high, label, CARE_COLOURS[k]))
    if (shade < 0).any():
        withheld = "未公布（人数过少或未填）" if lang == "zh" else "withheld (too few) or not given"
        entries.append((-1, -1, withheld, CARE_WITHHELD_COLOUR))
    return entries


def _care_legend(edges: np.ndarray, shade: np.ndarray, lang: str) -> list[tuple[str, str]]:
    """``(colour, label)`` of each care-map shade drawn: its range of people needing care.

    Short: the legend's care block names what is counted once, above them.
    """
    withheld = "未公布" if lang == "zh" else "withheld"
    return [
        (colour, withheld if low < 0 else f"≥ {low:,}" if high is None else label_range(low, high))
        for low, high, _, colour in care_ranges(edges, shade, lang)
    ]


def label_range(low: int, high: int) -> str:
    """``"low–high"``, or ``"low"`` when the class holds one count."""
    return f"{low:,}" if high <= low else f"{low:,}–{high:,}"
