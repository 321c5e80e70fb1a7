"""The municipality's files of ``carecircle batch``, written from its district folders.

``districts.csv`` and ``districts.xlsx`` (one row per district: its run, its error, its headline
figures and rank), ``municipality.gpkg`` (every district's communities and circles, the
facilities once each, the districts' areas) and ``map.html`` (the districts coloured by share,
each linking to its own map). Names stay text: escaped in the map, never formulas in the
tables (:mod:`carecircle._cells`).
"""

from __future__ import annotations

import html
import urllib.parse
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from branca.element import MacroElement
from jinja2 import Template

from .._cells import to_csv, to_sheet
from ..errors import InputError
from ._files import ANALYSIS_FILES, BATCH_FILES, atomic
from ._map_page import OSM_CREDIT, MapExtras, inline_leaflet
from .export import output_crs

DISTRICTS_DIR = "districts"
"""The folder of the batch's ``--out`` that holds one folder per district."""

COMPUTED, SKIPPED, FAILED = "computed", "skipped", "failed"
"""What a run did with a district (the ``run`` column of ``districts.csv``)."""

SHARE_CLASSES = ((0.9, "#1a9850"), (0.7, "#91cf60"), (0.5, "#fee08b"), (0.0, "#fc8d59"))
"""The municipal map's colours: a district's share at least this, this colour."""

NO_DATA_COLOUR = "#bdbdbd"
"""The colour of a district without a share (failed, or no resident counted)."""


def write_municipal(
    table: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    out: Path,
    staging: Path,
    *,
    crs: str | None = None,
    lang: str = "zh",
    title: str = "",
    circle_labels: dict[str, str] | None = None,
    credit: str = OSM_CREDIT,
) -> dict[str, Path]:
    """Write ``districts.csv``, ``districts.xlsx``, ``municipality.gpkg`` and ``map.html``.

    The GeoPackage's layers come from the district folders under ``out`` (so a skipped
    district's come from its earlier run): ``communities`` and ``circles`` of every district,
    ``facilities`` once each (from the run of the district that holds it, else the first), and
    ``districts`` (each district's area and its row of ``table``). The files are written into
    ``staging``.
    """
    written: dict[str, Path] = {}
    path = staging / BATCH_FILES["districts_csv"]
    with atomic(path) as tmp:
        to_csv(table, tmp)
    written["districts_csv"] = path
    path = staging / BATCH_FILES["districts_xlsx"]
    with atomic(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        to_sheet(writer, table, "districts")
    written["districts_xlsx"] = path
    target = output_crs(crs, option="crs")
    shaped = gpd.GeoDataFrame(
        areas.drop(columns="folder").merge(table, on="district", how="left")
        if not table.empty
        else areas,
        geometry="geometry",
        crs=areas.crs,
    )
    layers: dict[str, list[gpd.GeoDataFrame]] = {"communities": [], "circles": [], "facilities": []}
    ok = table.loc[table["run"] != FAILED] if not table.empty else table
    for district, folder in zip(ok.get("district", []), ok.get("folder", []), strict=True):
        gpkg = out / folder / ANALYSIS_FILES["geopackage"]
        for name, frames in layers.items():
            try:
                frame = pyogrio.read_dataframe(gpkg, layer=name)
            except Exception as exc:
                msg = f"{gpkg}: cannot read layer {name!r} ({' '.join(str(exc).split())})"
                raise InputError(msg) from exc
            frames.append(frame.assign(run_district=district))
    path = staging / BATCH_FILES["geopackage"]
    with atomic(path) as tmp:
        pyogrio.write_dataframe(
            _gpkg_ready(shaped.to_crs(target)),
            tmp,
            layer="districts",
            driver="GPKG",
            promote_to_multi=True,
        )
        for name, frames in layers.items():
            if not frames:
                continue
            frame = pd.concat(frames, ignore_index=True)
            if name == "facilities":
                home = frame["district"].astype(str) == frame["run_district"].astype(str)
                frame = frame.assign(_home=~home).sort_values("_home", kind="stable")
                frame = frame.drop_duplicates("id").drop(columns="_home").sort_index()
            frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=frames[0].crs)
            pyogrio.write_dataframe(
                _gpkg_ready(frame.to_crs(target)),
                tmp,
                layer=name,
                driver="GPKG",
                promote_to_multi=name != "facilities",
            )
    written["geopackage"] = path
    path = staging / BATCH_FILES["map"]
    fmap = municipal_map(shaped, lang=lang, title=title, circle_labels=circle_labels, credit=credit)
    with atomic(path) as tmp:
        fmap.save(str(tmp))
    written["map"] = path
    return written


def _gpkg_ready(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame with object columns as text (lists and mixed values cannot be written)."""
    out = frame.copy()
    for column in out.columns:
        if column != out.geometry.name and out[column].dtype == object:
            out[column] = out[column].map(_gpkg_text)
    return out


def _gpkg_text(value: Any) -> str:
    missing = value is None or (isinstance(value, float) and not np.isfinite(value))
    return "" if missing else str(value)


def _share_colour(share: float) -> str:
    if not np.isfinite(share):
        return NO_DATA_COLOUR
    return next(colour for floor, colour in SHARE_CLASSES if share >= floor)


_MAP_TEXT = {
    "zh": {
        "title": "全市各区覆盖情况",
        "share": "覆盖率",
        "rank": "排名",
        "open": "打开本区地图",
        "failed": "未完成",
        "no_data": "无数据",
        "districts": "各区",
        "legend": "{circle}覆盖率",
    },
    "en": {
        "title": "Coverage by district",
        "share": "share",
        "rank": "rank",
        "open": "open the district's map",
        "failed": "failed",
        "no_data": "no data",
        "districts": "districts",
        "legend": "share within the {circle}",
    },
}


class _Popup(MacroElement):
    """A popup bound to its parent layer, its HTML given as a JSON string.

    folium's own ``Popup`` builds its content with jQuery, which the offline page does not
    load (:func:`carecircle.outputs._map_page.inline_leaflet`).
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }}, {maxWidth: 320});"
        "{% endmacro %}"
    )

    def __init__(self, html_text: str) -> None:
        super().__init__()
        self._name = "Popup"
        self.html = html_text


def municipal_map(
    shaped: gpd.GeoDataFrame,
    *,
    lang: str = "zh",
    title: str = "",
    circle_labels: dict[str, str] | None = None,
    credit: str = OSM_CREDIT,
) -> folium.Map:
    """The municipality's map: each district coloured by its first circle's share.

    Offline like the district maps (Leaflet inlined, no tiles); each district's popup links
    to its own map by a relative link (``districts/<folder>/map.html``). Every text from the
    data is HTML-escaped, and the link's path is URL-quoted. ``circle_labels`` names each
    circle (by its key) for the legend's head: the first circle's share colours the
    districts. ``credit`` is the walking network's credit, in plain text.
    """
    text = _MAP_TEXT.get(lang, _MAP_TEXT["en"])
    shares = [c for c in shaped.columns if c.endswith("_share")]
    share_col = shares[0] if shares else None
    rank_col = share_col.removesuffix("_share") + "_rank" if share_col else None
    shown = shaped.loc[~shaped.geometry.is_empty & shaped.geometry.notna()].to_crs(4326)
    fmap = folium.Map(tiles=None, control_scale=False)
    inline_leaflet(fmap)
    MapExtras(attribution=credit).add_to(fmap)  # a metric scale bar, the network's credit
    if len(shown):
        x0, y0, x1, y1 = shown.total_bounds
        fmap.fit_bounds([[float(y0), float(x0)], [float(y1), float(x1)]])
    esc = html.escape
    heading = esc(title or text["title"])
    fmap.get_root().html.add_child(  # type: ignore[attr-defined]
        folium.Element(
            '<div style="position:fixed;top:10px;left:50px;z-index:1000;background:white;'
            f'padding:4px 8px;font:bold 14px sans-serif">{heading}</div>'
        )
    )
    group = folium.FeatureGroup(name=text["districts"])
    for row in shown.itertuples(index=False):  # one feature per district: tens, not thousands
        share = float(getattr(row, share_col)) if share_col else float("nan")
        failed = str(getattr(row, "run", "")) == FAILED
        label = f"{share:.0%}" if np.isfinite(share) else text["no_data"]
        lines = [f"<b>{esc(str(row.district))}</b>", f"{esc(text['share'])}: {esc(label)}"]
        rank = getattr(row, rank_col) if rank_col else None
        if rank is not None and not pd.isna(rank):
            lines.append(f"{esc(text['rank'])}: {int(rank)}")
        if failed:
            lines.append(f"{esc(text['failed'])}: {esc(str(getattr(row, 'error', '')))}")
        else:
            href = urllib.parse.quote(f"{row.folder}/{ANALYSIS_FILES['map']}")
            lines.append(f'<a href="{esc(href)}" target="_blank">{esc(text["open"])}</a>')
        colour = NO_DATA_COLOUR if failed else _share_colour(share)
        shape = folium.GeoJson(
            shapely.geometry.mapping(row.geometry),
            style_function=lambda _f, c=colour: {
                "fillColor": c,
                "color": "#555555",
                "weight": 1,
                "fillOpacity": 0.7,
            },
            tooltip=folium.Tooltip(f"{esc(str(row.district))}: {esc(label)}"),
        )
        _Popup("<br>".join(lines)).add_to(shape)
        shape.add_to(group)
    group.add_to(fmap)
    key = share_col.removesuffix("_share") if share_col else ""
    circle = (circle_labels or {}).get(key, key)
    legend = f"<b>{esc(text['legend'].format(circle=circle))}</b>" if circle else ""
    legend += "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{colour}">'
        f"</span> ≥ {floor:.0%}</div>"
        for floor, colour in SHARE_CLASSES
    )
    legend += (
        f'<div><span style="display:inline-block;width:12px;height:12px;'
        f'background:{NO_DATA_COLOUR}"></span> {esc(text["no_data"])}</div>'
    )
    fmap.get_root().html.add_child(  # type: ignore[attr-defined]
        folium.Element(
            '<div style="position:fixed;bottom:20px;right:10px;z-index:1000;background:white;'
            f'padding:6px;font:12px sans-serif">{legend}</div>'
        )
    )
    return fmap
