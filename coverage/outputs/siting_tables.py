"""The siting tables: ``proposed_sites.csv`` and the others, and ``siting.xlsx``.

:func:`write` (:func:`carecircle.outputs.write_siting`) writes what
:func:`carecircle.siting.propose` found, with the workbook's headers and coded values in words
(Chinese by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .. import terms
from .._cells import to_csv, to_sheet
from ..policy import Circle
from ..siting.sites import reasons as _reasons
from ..terms import STATUS_LABELS_EN, YES_NO_WORDS
from . import workbook as report
from ._files import SITING_FILES, atomic
from ._sheets import PERCENT, format_sheet
from .maps import TEXT

if TYPE_CHECKING:
    from ..siting.sites import Proposal


def write(proposal: Proposal, out_dir: str | Path, *, lang: terms.Lang = "zh") -> dict[str, Path]:
    """Write ``proposed_sites.csv`` (ids in order of choice), ``siting.xlsx`` and the tables.

    Files: ``proposed_sites.csv``, whose ``year`` (blank) and ``status`` (``proposed``) say
    that its sites are still to be built, unless the sites carry a phasing's own;
    ``siting_communities.csv`` and ``siting_townships.csv`` (before and after);
    ``uncoverable.csv``; ``candidates.csv`` (every candidate, chosen or not, with its status);
    ``siting.xlsx`` with all of them (Chinese headers by default).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "proposed_sites": _with_lonlat(_to_build(proposal.sites)),
        "siting_communities": proposal.communities,
        "siting_townships": proposal.townships,
        "uncoverable": proposal.uncoverable,
        "candidates": _with_lonlat(proposal.candidates),
    }
    written: dict[str, Path] = {}
    for name, frame in frames.items():
        path = out / SITING_FILES[name]
        with atomic(path) as tmp:
            to_csv(frame, tmp)
        written[name] = path
    path = out / SITING_FILES["xlsx"]
    headers = _HEADERS_ZH if lang == "zh" else _HEADERS_EN
    sheets = _SHEETS_ZH if lang == "zh" else {k: k.replace("_", " ") for k in frames}
    words = _words(proposal.circle, lang)
    with atomic(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, frame in frames.items():
            shown = frame.copy()
            for column in shown.columns:
                if column in words:
                    shown[column] = [words[column].get(value, value) for value in shown[column]]
            shown = shown.rename(columns=headers)
            sheet = to_sheet(writer, shown, sheets[name])
            formats = [_FORMATS.get(column) for column in frame.columns]
            format_sheet(sheet, shown, formats)
    written["xlsx"] = path
    return written


def _to_build(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The sites with ``year`` (blank) and ``status`` (``proposed``) unless phased already.

    So that ``proposed_sites.csv`` says its sites are still to be built, and ``carecircle
    cost`` costs them as new (see :data:`carecircle.costing.STATUSES`).
    """
    columns = {"year": pd.array([None] * len(sites), dtype="Int64"), "status": "proposed"}
    missing = {name: value for name, value in columns.items() if name not in sites}
    if not missing:
        return sites
    geometry = sites.geometry.name
    out = sites.assign(**missing)
    return out[[c for c in out.columns if c != geometry] + [geometry]]


def _words(circle: Circle, lang: str) -> dict[str, dict[Any, Any]]:
    """Coded cell values of the siting tables in words, per column, for the workbook."""
    values = report.VALUES[lang]
    statuses = terms.STATUS_LABELS_ZH if lang == "zh" else STATUS_LABELS_EN
    yes_no = YES_NO_WORDS[lang]
    label = circle.label_zh if lang == "zh" else circle.label_en
    off_network, out_of_reach = _reasons(circle)
    reasons = {
        off_network: values["network_status"]["off_network"],
        out_of_reach: (
            f"{label}步行时间内无候选点" if lang == "zh" else f"no candidate within the {label}"
        ),
    }
    text = TEXT[lang]
    planned = {
        "proposed": "拟建" if lang == "zh" else "proposed",
        "planned": "列入计划" if lang == "zh" else "planned",
        "after_the_horizon": text["after_the_horizon"],
        "over_a_year_budget": text["over_a_year_budget"],
    }
    return {
        "status": planned,
        "network_status": values["network_status"],
        "tier": values["tier"],
        "status_before": statuses,
        "status_after": statuses,
        "under_1000m2": yes_no,
        "generated": yes_no,
        "beside_health_centre": yes_no,
        "reason": reasons,
    }


_FORMATS = {
    "newly_covered": "#,##0",
    "cumulative_covered": "#,##0",
    "reach": "#,##0",
    "residents": "#,##0",
    "within_before": "#,##0",
    "within_after": "#,##0",
    "share_before": PERCENT,
    "share_after": PERCENT,
    "cost_yuan": "#,##0",
    "area_m2": "#,##0",
    "access_m": "#,##0",
    "health_centre_minutes": "0.00",
}
"""Excel number formats of the siting tables' columns."""


def _with_lonlat(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """A point layer as a table, its geometry as ``lon`` and ``lat`` (EPSG:4326) at the end."""
    points = layer.to_crs(4326)
    table = pd.DataFrame(points.drop(columns=points.geometry.name))
    return table.assign(lon=points.geometry.x.round(7), lat=points.geometry.y.round(7))


_SHEETS_ZH = {
    "proposed_sites": "建议选址",
    "siting_communities": "社区前后对比",
    "siting_townships": "街道乡镇前后对比",
    "uncoverable": "无法覆盖",
    "candidates": "全部候选点",
}
_HEADERS_ZH = {
    "order": "顺序",
    "id": "编号",
    "name": "名称",
    "tier": "设施类型",
    "newly_covered": "新增覆盖老年人",
    "cumulative_covered": "累计新增覆盖",
    "cost_yuan": "费用(元)",
    "area_m2": "建筑面积(m²)",
    "under_1000m2": "1000m²以下(简化审批)",
    "generated": "自动生成",
    "beside_health_centre": "邻近卫生服务中心(医养结合)",
    "health_centre_id": "最近卫生服务中心编号",
    "health_centre_minutes": "至卫生服务中心(分钟)",
    "lon": "经度",
    "lat": "纬度",
    "township": "街道(乡镇)",
    "residents": "老年人口",
    "within_before": "建设前圈内",
    "within_after": "建设后圈内",
    "share_before": "建设前覆盖率",
    "share_after": "建设后覆盖率",
    "status_before": "建设前状态",
    "status_after": "建设后状态",
    "communities_covered_before": "建设前已覆盖社区数",
    "communities_covered_after": "建设后已覆盖社区数",
    "community_id": "社区编号",
    "reason": "原因",
    "network_status": "路网状态",
    "access_m": "距路网(m)",
    "reach": "可新增覆盖老年人",
    "year": "建设年份",
    "status": "安排",
}
_HEADERS_EN = {
    "order": "order",
    "id": "id",
    "name": "name",
    "tier": "tier",
    "newly_covered": "older residents newly covered",
    "cumulative_covered": "newly covered, cumulative",
    "cost_yuan": "cost (yuan)",
    "area_m2": "floor area (m²)",
    "under_1000m2": "under 1000 m² (simplified approval)",
    "generated": "generated",
    "beside_health_centre": "beside a health centre (medical integration)",
    "health_centre_id": "nearest health centre",
    "health_centre_minutes": "minutes to the health centre",
    "lon": "longitude",
    "lat": "latitude",
    "township": "township",
    "residents": "older residents",
    "within_before": "within the circle before",
    "within_after": "within the circle after",
    "share_before": "share before",
    "share_after": "share after",
    "status_before": "status before",
    "status_after": "status after",
    "communities_covered_before": "communities covered before",
    "communities_covered_after": "communities covered after",
    "community_id": "community id",
    "reason": "reason",
    "network_status": "network status",
    "access_m": "distance to the network (m)",
    "reach": "older residents it alone would bring in",
    "year": "year to build",
    "status": "plan",
}
"""The workbook's headers in English (the CSVs keep the column names)."""
