"""The overview map (PNG) of one circle's coverage, drawn with matplotlib.

:func:`overview_png` checks its arguments and writes the figure that :func:`_draw_overview`
builds (no pyplot, no global state) in the metric CRS of :func:`_metric_crs`: communities filled
by status, the circle's area, facilities by tier (:func:`_marker`, :func:`_marker_area`), the
title (:func:`_title`: the data's place, never the profile's city), :func:`_legend`,
:func:`_scale_bar` (its length from :func:`nice_length_m`), :func:`_north_arrow` and the
network's credit (:func:`carecircle.outputs.maps.network_credit`). :func:`cjk_font` finds a
font with Chinese glyphs (:func:`_covers`; :func:`_bold_sibling` finds its bold face).

The workbook is in :mod:`carecircle.outputs.workbook`; both take their languages from
:mod:`carecircle.terms`.
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import coords, demand, terms
from .._version import __version__
from ..errors import InputError
from ..pipeline import Analysis, has_shape
from ..terms import (
    ELDERCARE_TIERS,
    HEALTH_TIERS,
    STATUS_LABELS_EN,
    TIER_LABELS_EN,
    TIER_LABELS_ZH,
    check_lang,
)
from ._files import atomic
from .headline import place_name
from .maps import (
    CIRCLE_COLOURS,
    OTHER_COLOUR,
    STATUS_COLOURS,
    TEXT,
    TIER_COLOURS,
    network_credit,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.font_manager import FontProperties
    from pyproj import CRS

logger = logging.getLogger(__name__)

#: Characters a font must have to count as able to write the map's Chinese labels.
CJK_SAMPLE = "养老服务圈已覆盖部分未街道乡镇社区设施图例分钟比例医院诊所站点中心"
#: Substrings of font names and files tried first when looking for a Chinese font.
CJK_FONT_HINTS = (
    "cjk",
    "source han",
    "sourcehan",
    "wenquanyi",
    "wqy",
    "yahei",
    "msyh",
    "simhei",
    "simsun",
    "pingfang",
    "heiti",
    "songti",
    "fangsong",
    "kaiti",
    "droid sans fallback",
    "droidsansfallback",
    "sarasa",
    "ar pl",
    "uming",
    "ukai",
    "noto sans sc",
    "noto serif sc",
)


def overview_png(
    analysis: Analysis,
    path: str | Path,
    *,
    circle: str | None = None,
    lang: terms.Lang = "zh",
    dpi: int = 150,
) -> Path:
    """Draw a static overview map of one circle's coverage and write it as a PNG.

    Communities are filled by their status for the circle (the colours of the HTML map), the
    circle's area (the union of its walking-time polygons) is a dashed outline over them, and
    facilities are markers coloured by tier (circles for elderly care, squares for medical
    care; the circle's own tiers full size, the others smaller and faded). The map has a title
    (profile, circle, minutes and the district-wide share), a legend beside the map, a scale
    bar in metres, a north arrow and the OpenStreetMap attribution.

    Parameters
    ----------
    analysis : Analysis
        The results; the layers must share one CRS. A projected CRS in metres is used as it
        is; any other is reprojected to its UTM zone for drawing.
    path : path
        The PNG to write (replaced atomically).
    circle : str, optional, keyword-only
        The circle to draw (e.g. ``"eldercare"``); the first one measured when omitted.
    lang : {"zh", "en"}, keyword-only
        Language of the labels. Chinese needs a font with Chinese glyphs (see
        :func:`cjk_font`); without one the labels are in English and a warning is logged.
    dpi : int, keyword-only
        Resolution in dots per inch (the map is 11 × 8.5 inches before trimming).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    carecircle.errors.InputError
        For an unknown language or circle, a circle that was not measured, or layers without
        a CRS.

    """
    check_lang(lang)
    if dpi <= 0:
        msg = f"dpi must be positive, found {dpi!r}"
        raise InputError(msg)
    name = _circle_name(analysis, circle)
    spec = analysis.policy.circle(name)
    font = cjk_font()
    if lang == "zh" and font is None:
        logger.warning(
            "no font with Chinese glyphs found (install fonts-noto-cjk or another CJK font); "
            "drawing the overview map with English labels"
        )
        lang = "en"
    path = Path(path)
    fig = _draw_overview(analysis, name, spec, lang=lang, font=font, dpi=dpi)
    with atomic(path) as tmp:
        fig.savefig(
            tmp,
            format="png",
            dpi=dpi,
            bbox_inches="tight",
            pad_inches=0.15,
            facecolor="white",
            metadata={"Software": f"carecircle {__version__}"},
        )
    return path


@functools.cache
def cjk_font() -> Path | None:
    """A font file with Chinese glyphs that matplotlib can draw with, or None.

    Looks through the fonts matplotlib has registered and the system's font files, trying
    names that suggest Chinese fonts (Noto Sans CJK, Source Han, WenQuanYi, Microsoft YaHei,
    ...) first, and returns the first whose character map holds every character of
    :data:`CJK_SAMPLE`. The answer is remembered for the process.

    Returns
    -------
    pathlib.Path or None

    """
    from matplotlib import font_manager

    known = [Path(entry.fname) for entry in font_manager.fontManager.ttflist]
    system = [Path(found) for found in font_manager.findSystemFonts()]
    names = {Path(entry.fname): entry.name for entry in font_manager.fontManager.ttflist}
    seen: set[Path] = set()
    hinted: list[Path] = []
    rest: list[Path] = []
    for candidate in [*known, *system]:
        if candidate in seen:
            continue
        seen.add(candidate)
        text = f"{candidate.name} {names.get(candidate, '')}".lower()
        (hinted if any(hint in text for hint in CJK_FONT_HINTS) else rest).append(candidate)
    # regular (not bold) sans faces first
    hinted.sort(key=lambda p: ("bold" in p.name.lower(), "serif" in p.name.lower(), str(p)))
    for candidate in [*hinted, *(p for p in rest if p in names)]:
        if _covers(candidate, CJK_SAMPLE):
            logger.debug("Chinese labels drawn with %s", candidate)
            return candidate
    return None


def _covers(font_path: Path, text: str) -> bool:
    """True when the font (its first face, for a collection) has a glyph for every character."""
    from matplotlib.ft2font import FT2Font

    try:
        charmap = FT2Font(str(font_path)).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(char) in charmap for char in text if not char.isspace())


def _circle_name(analysis: Analysis, circle: str | None) -> str:
    measured = analysis.circles_measured
    if not measured:
        msg = (
            "the analysis measured no circle (a standards check only); "
            "run the full analysis to draw the overview map"
        )
        raise InputError(msg)
    if circle is None:
        return measured[0]
    if circle not in measured:
        msg = f"circle {circle!r} was not measured; expected one of: {', '.join(measured)}"
        raise InputError(msg)
    return circle


def _metric_crs(layer: gpd.GeoDataFrame) -> CRS:
    """The layer's CRS when projected in metres, else its UTM zone."""
    from pyproj import CRS

    crs = coords.check_crs(layer.crs, what="the analysis layers")
    units = {axis.unit_name for axis in crs.axis_info}
    if crs.is_projected and units <= {"metre", "meter"}:
        return crs
    return CRS.from_user_input(layer.estimate_utm_crs())


def _draw_overview(
    analysis: Analysis,
    name: str,
    spec: Any,
    *,
    lang: str,
    font: Path | None,
    dpi: int,
) -> Any:
    """Build the matplotlib Figure of :func:`overview_png`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    crs = _metric_crs(analysis.communities)
    communities = analysis.communities.to_crs(crs)
    communities = communities[has_shape(communities)]
    facilities = analysis.facilities.to_crs(crs)
    facilities = facilities[has_shape(facilities)]
    # the circle's outline: its merged areas (one per tier and limit) where the analysis has
    # them, which unite in a blink; else every facility's area (seconds for thousands)
    dissolved = analysis.dissolved
    areas = (
        dissolved
        if len(dissolved) and "circle" in dissolved and (dissolved["circle"] == name).any()
        else analysis.circle_areas()
    )
    circles = areas.to_crs(crs) if len(areas) else areas
    area = circles.geometry[circles["circle"] == name] if len(circles) else gpd.GeoSeries()
    area_geom = shapely.union_all(area.to_numpy()) if len(area) else None

    bold_font = _bold_sibling(font)

    def fp(size: float, *, bold: bool = False) -> FontProperties:
        if font is None:
            return FontProperties(size=size, weight="bold" if bold else "normal")
        return FontProperties(fname=str(bold_font if bold else font), size=size)

    fig = Figure(figsize=(11, 8.5), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.06, 0.70, 0.84))
    number = [c.name for c in analysis.policy.circles].index(name)
    colour = CIRCLE_COLOURS[number % len(CIRCLE_COLOURS)]
    status = communities[f"{name}_status"].astype(str)

    # communities, the circle's area, outlines, facilities (bottom to top)
    if len(communities):
        fills = [STATUS_COLOURS.get(s, OTHER_COLOUR) for s in status]
        communities.plot(ax=ax, color=fills, alpha=0.6, linewidth=0, zorder=1)
    if area_geom is not None and not area_geom.is_empty:
        # an outline only: a tint would change the status colours beneath it
        ring = gpd.GeoSeries([area_geom], crs=crs)
        ring.boundary.plot(ax=ax, color=colour, linewidth=1.1, linestyle="--", zorder=3)
    if len(communities):
        communities.boundary.plot(ax=ax, color="#333333", linewidth=0.6, zorder=4)
    tiers_here = [t for t in (*ELDERCARE_TIERS, *HEALTH_TIERS) if t in set(facilities["tier"])]
    for tier in tiers_here:
        group = facilities[facilities["tier"] == tier]
        own = tier in spec.tiers
        ax.scatter(
            group.geometry.x,
            group.geometry.y,
            s=_marker_area(tier, own),
            marker=_marker(tier),
            color=TIER_COLOURS.get(tier, "#333333"),
            edgecolors="white",
            linewidths=0.9,
            alpha=1.0 if own else 0.55,
            zorder=6 if own else 5,
        )

    bounds = _extent(communities, facilities, area_geom)
    x0, y0, x1, y1 = bounds
    width, height = x1 - x0, y1 - y0
    # room below the data for the scale bar and north arrow
    ax.set_xlim(x0 - 0.03 * width, x1 + 0.03 * width)
    ax.set_ylim(y0 - 0.13 * height, y1 + 0.03 * height)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_color("#999999")
        spine.set_linewidth(0.6)

    _scale_bar(ax, fp(8))
    _north_arrow(ax, fp(10, bold=True))
    ax.set_title(
        _title(analysis, name, spec, communities, lang, font),
        fontproperties=fp(13),
        loc="left",
        pad=10,
    )
    ax.annotate(
        network_credit(analysis.parameters, lead=""),
        xy=(1.0, 0.0),
        xycoords="axes fraction",
        xytext=(0, -4),
        textcoords="offset points",
        ha="right",
        va="top",
        color="#555555",
        fontproperties=fp(7.5),
    )
    stamp = f"carecircle {__version__} · {str(analysis.parameters.get('date', ''))[:10]}"
    ax.annotate(
        stamp.strip(" ·"),
        xy=(0.0, 0.0),
        xycoords="axes fraction",
        xytext=(0, -4),
        textcoords="offset points",
        ha="left",
        va="top",
        color="#888888",
        fontproperties=fp(7),
    )
    _legend(
        ax,
        status=status,
        tiers=tiers_here,
        circle_tiers=spec.tiers,
        area_label=(
            f"{_circle_label(spec, lang)}范围"
            if lang == "zh"
            else f"{_circle_label(spec, lang)} area"
        ),
        colour=colour,
        show_area=area_geom is not None and not area_geom.is_empty,
        lang=lang,
        prop=fp(8.5),
        header=fp(9.5, bold=True),
    )
    return fig


def _title(
    analysis: Analysis,
    name: str,
    spec: Any,
    communities: pd.DataFrame,
    lang: str,
    font: Path | None,
) -> str:
    text = TEXT[lang]
    unit = text["minutes"] if lang == "en" else " 分钟"
    urban, rural = spec.minutes["urban"], spec.minutes["rural"]
    if urban == rural:
        minutes = f"{urban:g}{unit}" if lang == "zh" else f"{urban:g} {unit}"
    elif lang == "zh":
        minutes = f"城市社区 {urban:g} 分钟，农村 {rural:g} 分钟"
    else:
        minutes = f"urban {urban:g} min, rural {rural:g} min"
    title = place_name(analysis)[0]  # the data's place, never the profile's city
    if font is None and not title.isascii():  # no font to draw it: the profile's short name
        title = analysis.policy.name
    residents = float(np.nansum(communities[f"{name}_residents"].to_numpy(dtype=float)))
    within = float(np.nansum(communities[f"{name}_within"].to_numpy(dtype=float)))
    label = _circle_label(spec, lang)
    head = f"{title}　{label}（{minutes}）" if lang == "zh" else f"{title}: {label} ({minutes})"
    if residents > 0:
        basis = set(communities["basis"].astype(str)) if "basis" in communities else set()
        share_label = text["share"] if basis == {demand.ELDERLY} else text["share_population"]
        share = f"{within / residents:.0%}"
        if lang == "zh":
            return f"{head}\n全区{share_label}：{share}"
        return f"{head}\n{share_label.capitalize()}, whole district: {share}"
    return head


def _circle_label(spec: Any, lang: str) -> str:
    return str(spec.label_zh if lang == "zh" else spec.label_en)


def _status_label(status: str, lang: str) -> str:
    if lang == "zh":
        return terms.STATUS_LABELS_ZH.get(status, status)
    return STATUS_LABELS_EN.get(status, status)


def _marker(tier: str) -> str:
    return "s" if tier in HEALTH_TIERS else "o"


def _marker_area(tier: str, own: bool) -> float:
    big = tier.endswith(("center", "hospital"))
    size = 9.0 if big else 7.0
    if not own:
        size *= 0.8
    return size**2


def _extent(
    communities: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, area: Any
) -> tuple[float, float, float, float]:
    """Bounds of everything drawn, never of zero width or height."""
    boxes = []
    for layer in (communities, facilities):
        if len(layer):
            boxes.append(layer.total_bounds)
    if area is not None and not area.is_empty:
        boxes.append(np.asarray(area.bounds))
    if not boxes:
        return (0.0, 0.0, 1000.0, 1000.0)
    stacked = np.vstack(boxes)
    x0, y0 = stacked[:, 0].min(), stacked[:, 1].min()
    x1, y1 = stacked[:, 2].max(), stacked[:, 3].max()
    pad = 250.0
    if x1 - x0 < 1.0:
        x0, x1 = x0 - pad, x1 + pad
    if y1 - y0 < 1.0:
        y0, y1 = y0 - pad, y1 + pad
    return (float(x0), float(y0), float(x1), float(y1))


def nice_length_m(span_m: float) -> float:
    """The largest round length (1, 2 or 5 × 10ⁿ metres) within a quarter of ``span_m``."""
    if not span_m > 0:
        msg = f"span must be positive, found {span_m!r} m"
        raise ValueError(msg)
    target = span_m / 4.0
    power = 10.0 ** math.floor(math.log10(target))
    for step in (5.0, 2.0, 1.0):
        if step * power <= target:
            return step * power
    return power


def _length_label(length_m: float) -> str:
    return f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"


def _scale_bar(ax: Axes, prop: FontProperties) -> None:
    """A black and white bar in the strip below the data, labelled in metres (or km)."""
    from matplotlib import patheffects
    from matplotlib.patches import Rectangle

    x_lo, x_hi = ax.get_xlim()
    y_lo, y_hi = ax.get_ylim()
    width, height = x_hi - x_lo, y_hi - y_lo
    length = nice_length_m(width)
    x = x_lo + 0.04 * width
    y = y_lo + 0.04 * height
    bar_h = 0.011 * height
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    quarter = length / 4
    for part in range(4):
        ax.add_patch(
            Rectangle(
                (x + part * quarter, y),
                quarter,
                bar_h,
                facecolor="black" if part % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.8,
                zorder=10,
            )
        )
    for offset, label in ((0.0, "0"), (length, _length_label(length))):
        ax.text(
            x + offset,
            y + bar_h * 1.8,
            label,
            ha="center",
            va="bottom",
            fontproperties=prop,
            path_effects=halo,
            zorder=10,
        )


def _north_arrow(ax: Axes, prop: FontProperties) -> None:
    """An arrow and "N" in the lower right (grid north of the projected CRS)."""
    ax.annotate(
        "N",
        xy=(0.955, 0.105),
        xytext=(0.955, 0.025),
        xycoords="axes fraction",
        textcoords="axes fraction",
        ha="center",
        va="bottom",
        fontproperties=prop,
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.4},
        zorder=10,
    )


def _legend(
    ax: Axes,
    *,
    status: pd.Series,
    tiers: list[str],
    circle_tiers: tuple[str, ...],
    area_label: str,
    colour: str,
    show_area: bool,
    lang: str,
    prop: FontProperties,
    header: FontProperties,
) -> None:
    """One legend beside the map, with bold section headers."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    text = TEXT[lang]
    present = set(status)
    order = [s for s in terms.STATUSES if s in present] + sorted(present - set(terms.STATUSES))
    handles: list[Any] = [
        Patch(
            facecolor=STATUS_COLOURS.get(value, OTHER_COLOUR),
            alpha=0.6,
            edgecolor="#333333",
            linewidth=0.6,
        )
        for value in order
    ]
    labels = [_status_label(value, lang) for value in order]
    if show_area:
        handles.append(Patch(facecolor="none", edgecolor=colour, linestyle="--", linewidth=1.1))
        labels.append(area_label)
    common: dict[str, Any] = {
        "loc": "upper left",
        "borderaxespad": 0.0,
        "frameon": False,
        "prop": prop,
        "title_fontproperties": header,
        "alignment": "left",
        "handlelength": 1.6,
        "labelspacing": 0.55,
    }
    title = text["communities"] if lang == "zh" else text["communities"].capitalize()
    first = ax.legend(handles, labels, title=title, bbox_to_anchor=(1.03, 1.0), **common)
    if not tiers:
        return
    ax.add_artist(first)
    tier_labels = TIER_LABELS_ZH if lang == "zh" else TIER_LABELS_EN
    markers = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=_marker(tier),
            markersize=math.sqrt(_marker_area(tier, tier in circle_tiers)),
            markerfacecolor=TIER_COLOURS.get(tier, "#333333"),
            markeredgecolor="white",
            alpha=1.0 if tier in circle_tiers else 0.55,
        )
        for tier in tiers
    ]
    # the second legend starts below the first, wherever that ends
    figure = ax.get_figure()
    renderer = figure.canvas.get_renderer()  # type: ignore[union-attr]
    box = first.get_window_extent(renderer).transformed(ax.transAxes.inverted())
    title = text["facilities"] if lang == "zh" else text["facilities"].capitalize()
    ax.legend(
        markers,
        [tier_labels.get(tier, tier) for tier in tiers],
        title=title,
        bbox_to_anchor=(1.03, box.y0 - 0.04),
        **common,
    )


@functools.cache
def _bold_sibling(font: Path | None) -> Path | None:
    """The bold face beside a regular font file (``...-Regular.ttc`` -> ``...-Bold.ttc``)."""
    if font is None:
        return None
    for regular, bold in (("Regular", "Bold"), ("regular", "bold"), ("-R.", "-B.")):
        if regular in font.name:
            candidate = font.with_name(font.name.replace(regular, bold))
            if candidate.is_file() and _covers(candidate, CJK_SAMPLE):
                return candidate
    return font
