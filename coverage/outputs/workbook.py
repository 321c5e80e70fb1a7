"""The Excel workbook for people: ``coverage.xlsx``.

:func:`workbook` writes the tables of ``summary.csv``, ``townships.csv``, ``facilities.csv``
and ``district.csv`` as sheets with Chinese (or English) headers and values, in the one look
of :mod:`carecircle.outputs._sheets`, to a temporary file beside the target moved into place
when complete. The overview map (PNG) is drawn in :mod:`carecircle.outputs.overview`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import terms
from .._cells import to_sheet
from ..inputs.readers import note_zh
from ..pipeline import Analysis
from ..standards import STANDARD_TEXT_ZH_COLUMNS, district_basis
from ..terms import (
    LANGS,
    STATUS_LABELS_EN,
    TIER_LABELS_EN,
    TIER_LABELS_ZH,
    YES_NO_WORDS,
    check_lang,
)
from ._files import atomic
from ._sheets import PERCENT as _PERCENT
from ._sheets import format_sheet
from .export import FACILITY_COLUMNS, summary_table
from .maps import TEXT

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

logger = logging.getLogger(__name__)

SHEETS = {
    "zh": {
        "communities": "社区",
        "townships": "街道(乡镇)",
        "facilities": "设施",
        "district": "全区指标",
        "parameters": "运行参数",
    },
    "en": {
        "communities": "communities",
        "townships": "townships",
        "facilities": "facilities",
        "district": "district",
        "parameters": "parameters",
    },
}
#: Column headers (columns not listed keep their name).
HEADERS: dict[str, dict[str, str]] = {
    "zh": {
        "id": "编号",
        "name": "名称",
        "kind": "类型",
        "township": "街道(乡镇)",
        "population": "人口",
        "elderly": "60岁以上人口",
        "basis": "比例基数",
        "input_status": "数据状态",
        "input_note": "数据说明",
        "demand_method": "人口分布方法",
        "demand_points": "需求点数",
        "off_network_share": "不在步行网络内的居民比例",
        "stations": "养老服务站(点)数",
        "station_status": "养老服务站(点)",
        "eldercare_area_m2": "养老服务设施面积(m²)",
        "area_per_resident_m2": "人均养老服务设施面积(m²)",
        "area_per_resident_required_m2": "人均面积要求(m²)",
        "area_per_resident_status": "人均面积是否达标",
        "tier": "设施等级",
        "area_m2": "建筑面积(m²)",
        "beds": "床位",
        "nursing_beds": "护理型床位",
        "social_operated": "社会力量运营",
        "medical_capable": "具备医养服务能力",
        "shared_station": "共享养老服务站编号",
        "community_id": "所在社区编号",
        "network_status": "步行网络状态",
        "access_m": "距步行道路(m)",
        "standard_status": "设施标准",
        "area_required_m2": "面积要求(m²)",
        "area_shortfall_m2": "面积缺口(m²)",
        "beds_required": "床位要求",
        "beds_shortfall": "床位缺口",
        "standard_advice": "建议",
        "standard_note": "标准说明",
        "standard_source": "标准依据",
        "centre_id": "所属中心编号",
        "centre_minutes": "至所属中心(分钟)",
        "centre_method": "至中心计算方法",
        "within_centre_circle": "在中心服务圈内",
        "stations_assigned": "下辖站点数",
        "stations_over_limit": "下辖站点超过上限",
        "communities": "社区数",
        "communities_with_station": "有养老服务站(点)的社区数",
        "centres": "养老服务中心数",
        "station_coverage": "养老服务站(点)覆盖比例",
        "centre_status": "养老服务中心",
        "source": "依据",
        "rule": "指标",
        "value": "现状",
        "target": "目标",
        "year": "目标年份",
        "status": "状态",
    },
    "en": {
        "id": "ID",
        "name": "Name",
        "kind": "Kind",
        "township": "Township / street",
        "population": "Population",
        "elderly": "Residents 60+",
        "basis": "Share of",
        "input_status": "Data status",
        "input_note": "Data note",
        "demand_method": "Residents placed by",
        "demand_points": "Demand points",
        "off_network_share": "Residents off the walking network",
        "stations": "Stations",
        "station_status": "Station",
        "eldercare_area_m2": "Care floor area (m²)",
        "area_per_resident_m2": "Care floor area per resident (m²)",
        "area_per_resident_required_m2": "Required per resident (m²)",
        "area_per_resident_status": "Area per resident",
        "tier": "Tier",
        "area_m2": "Floor area (m²)",
        "beds": "Beds",
        "nursing_beds": "Nursing beds",
        "social_operated": "Socially operated",
        "medical_capable": "Able to give medical care",
        "shared_station": "Shared station ID",
        "community_id": "Community ID",
        "network_status": "Walking network",
        "access_m": "Distance to a walkable way (m)",
        "standard_status": "Tier standard",
        "area_required_m2": "Area required (m²)",
        "area_shortfall_m2": "Area shortfall (m²)",
        "beds_required": "Beds required",
        "beds_shortfall": "Beds shortfall",
        "standard_advice": "Advice",
        "standard_note": "Standard note",
        "standard_source": "Standard source",
        "centre_id": "Centre ID",
        "centre_minutes": "Minutes to the centre",
        "centre_method": "Minutes measured by",
        "within_centre_circle": "Within the centre's circle",
        "stations_assigned": "Stations assigned",
        "stations_over_limit": "Stations over the limit",
        "communities": "Communities",
        "communities_with_station": "Communities with a station",
        "centres": "Centres",
        "station_coverage": "Station coverage",
        "centre_status": "Centre",
        "source": "Source",
        "rule": "Target",
        "value": "Value",
        "target": "Target value",
        "year": "Year",
        "status": "Status",
    },
}
#: Headers that differ on one sheet.
SHEET_HEADERS: dict[str, dict[str, dict[str, str]]] = {
    "zh": {"district": {"basis": "计算依据"}},
    "en": {"district": {"basis": "Computed from"}},
}
#: Per-circle headers: ``<circle label><suffix>`` (zh) or ``<circle label> <suffix>`` (en).
CIRCLE_HEADERS = {
    "zh": {
        "share": "覆盖比例",
        "status": "状态",
        "median_min": "步行时间中位数(分钟)",
        "p90_min": "90%分位步行时间(分钟)",
        "nearest": "最近设施",
        "minutes": "时限(分钟)",
        "within": "圈内人数",
        "residents": "计算人数",
        "not_covered": "未覆盖社区数",
    },
    "en": {
        "share": "share",
        "status": "status",
        "median_min": "median walk (min)",
        "p90_min": "90th-percentile walk (min)",
        "nearest": "nearest facility",
        "minutes": "limit (min)",
        "within": "residents within",
        "residents": "residents counted",
        "not_covered": "communities not covered",
    },
}
_STANDARD_WORDS = ("meets", "below", "above_max", "unknown", "no_standard", "missing")
#: Cell values shown in words, per column.
VALUES: dict[str, dict[str, dict[Any, str]]] = {
    "zh": {
        "kind": {"urban": TEXT["zh"]["urban"], "rural": TEXT["zh"]["rural"]},
        "basis": {
            "elderly": "60岁以上人口",
            "population": "总人口",
            "no data": "无数据",
            "not computed": "未计算",
        },
        "input_status": {"ok": "正常", **terms.STATUS_LABELS_ZH},
        "demand_method": {"raster": "人口栅格", "grid": "均匀分布", "none": "无"},
        "tier": dict(TIER_LABELS_ZH),
        "network_status": {"ok": "正常", "off_network": TEXT["zh"]["off_network"]},
        "centre_method": {"walk": "步行", "straight_line": "直线距离"},
        "station_status": {
            "has_station": TEXT["zh"]["has_station"],
            "shared": TEXT["zh"]["shared"],
            **{w: TEXT["zh"][w] for w in _STANDARD_WORDS},
        },
        "rule": {
            "nursing_bed_share": "护理型床位占比",
            "social_bed_share": "社会力量运营床位占比",
            "medical_capable_share": "具备医养服务能力的设施比例",
            "social_facility_share_urban": "城市养老服务设施社会化运营率",
            "social_facility_share_rural": "农村养老服务设施社会化运营率",
        },
    },
    "en": {
        "input_status": {"ok": "ok", **STATUS_LABELS_EN},
        "demand_method": {"raster": "population raster", "grid": "evenly", "none": "none"},
        "tier": dict(TIER_LABELS_EN),
        "network_status": {"ok": "ok", "off_network": TEXT["en"]["off_network"]},
        "centre_method": {"walk": "walking", "straight_line": "straight line"},
        "station_status": {
            "has_station": TEXT["en"]["has_station"],
            "shared": TEXT["en"]["shared"],
            **{w: TEXT["en"][w] for w in _STANDARD_WORDS},
        },
        "rule": {
            "nursing_bed_share": "nursing beds share",
            "social_bed_share": "socially operated beds share",
            "medical_capable_share": "facilities able to give medical care",
            "social_facility_share_urban": "urban facilities socially operated",
            "social_facility_share_rural": "rural facilities socially operated",
        },
    },
}
for _lang in LANGS:
    _words = {w: TEXT[_lang][w] for w in _STANDARD_WORDS}
    for _column in ("standard_status", "area_per_resident_status", "centre_status", "status"):
        VALUES[_lang][_column] = dict(_words)
    for _column in (
        "within_centre_circle",
        "stations_over_limit",
        "social_operated",
        "medical_capable",
    ):
        VALUES[_lang][_column] = dict(YES_NO_WORDS[_lang])

_FORMATS = {
    "population": "#,##0",
    "elderly": "#,##0",
    "residents": "#,##0",
    "within": "#,##0",
    "median_min": "0.0",
    "p90_min": "0.0",
    "minutes": "0",
    "centre_minutes": "0.0",
    "access_m": "#,##0.0",
    "area_m2": "#,##0",
    "eldercare_area_m2": "#,##0",
    "area_required_m2": "#,##0",
    "area_shortfall_m2": "#,##0",
    "area_per_resident_m2": "0.000",
    "area_per_resident_required_m2": "0.000",
    "share": _PERCENT,
    "station_coverage": _PERCENT,
    "off_network_share": _PERCENT,
}


def workbook(analysis: Analysis, path: str | Path, *, lang: terms.Lang = "zh") -> Path:
    """Write the result tables as an Excel workbook.

    Five sheets: communities (the columns of ``summary.csv``, one row per community, from
    :func:`carecircle.outputs.export.summary_table`), townships, facilities (with their standards
    checks), district targets, and the run's parameters (speed, files, the walking model and
    what it counted: :attr:`Analysis.parameters`). Headers, coded values (statuses, tiers,
    kinds) and the standards' sentences (``standard_note``, ``standard_advice``, ``basis``) are
    in Chinese or English; shares are formatted as percentages; the header row is frozen,
    filtered, and columns are sized to their contents.

    Parameters
    ----------
    analysis : Analysis
        The results.
    path : path
        The ``.xlsx`` file to write (replaced atomically).
    lang : {"zh", "en"}, keyword-only
        Language of headers, sheet names and values.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    carecircle.errors.InputError
        For an unknown language.

    """
    check_lang(lang)
    path = Path(path)
    tables = {
        "communities": summary_table(analysis),
        "townships": analysis.townships(),
        "facilities": _facility_table(analysis.facilities, lang),
        "district": _district_table(analysis.district, lang),
    }
    labels = {c.name: (c.label_zh if lang == "zh" else c.label_en) for c in analysis.policy.circles}
    with atomic(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for key, table in tables.items():
            codes = [str(c) for c in table.columns]
            shown = _translate_values(table, codes, labels, lang)
            shown.columns = pd.Index(
                [_header(code, key, labels, lang) for code in codes], dtype=object
            )
            sheet = SHEETS[lang][key]
            _format_sheet(to_sheet(writer, shown, sheet), shown, codes, key, labels)
        settings = pd.DataFrame(
            {
                "参数" if lang == "zh" else "parameter": [str(k) for k in analysis.parameters],
                "值" if lang == "zh" else "value": [str(v) for v in analysis.parameters.values()],
            }
        )
        format_sheet(to_sheet(writer, settings, SHEETS[lang]["parameters"]), settings, [None, None])
    return path


def _facility_table(facilities: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The columns of ``facilities.csv``, with the standards' sentences in ``lang``."""
    table = pd.DataFrame(facilities[[c for c in FACILITY_COLUMNS if c in facilities]])
    if lang == "zh":
        for column in STANDARD_TEXT_ZH_COLUMNS:
            if column in facilities and column.removesuffix("_zh") in table:
                table[column.removesuffix("_zh")] = facilities[column]
    return table


def _district_table(district: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The rows of ``district.csv``, with each ``basis`` in ``lang``."""
    table = pd.DataFrame(district)
    if "basis" in table and "rule" in table:
        table["basis"] = [
            district_basis(str(rule), str(basis), lang=lang) if isinstance(basis, str) else basis
            for rule, basis in zip(table["rule"], table["basis"], strict=True)
        ]
    return table


def _header(code: str, sheet: str, labels: Mapping[str, str], lang: str) -> str:
    """Header of a column: per-circle columns named with the circle's label."""
    special = SHEET_HEADERS[lang].get(sheet, {})
    if code in special:
        return special[code]
    circle, suffix = _split_circle(code, labels)
    if circle is not None:
        words = CIRCLE_HEADERS[lang].get(suffix, suffix)
        return f"{labels[circle]}{words}" if lang == "zh" else f"{labels[circle]} {words}"
    return HEADERS[lang].get(code, code)


def _split_circle(code: str, labels: Mapping[str, str]) -> tuple[str | None, str]:
    """``("eldercare", "share")`` for ``eldercare_share``; ``(None, code)`` otherwise."""
    for circle in sorted(labels, key=len, reverse=True):
        prefix = f"{circle}_"
        rest = code.removeprefix(prefix)
        if code.startswith(prefix) and rest in CIRCLE_HEADERS["en"]:
            return circle, rest
    return None, code


def _translate_values(
    table: pd.DataFrame, codes: list[str], labels: Mapping[str, str], lang: str
) -> pd.DataFrame:
    """A copy with coded values (statuses, tiers, kinds, yes/no) in words."""
    out = table.copy()
    out.columns = pd.Index(range(len(codes)))
    for position, code in enumerate(codes):
        if code == "input_note" and lang == "zh":  # free text, phrase by phrase
            out[position] = [note_zh(v) if isinstance(v, str) else v for v in out[position]]
            continue
        circle, suffix = _split_circle(code, labels)
        if circle is not None and suffix == "status":
            words: Mapping[Any, str] = terms.STATUS_LABELS_ZH if lang == "zh" else STATUS_LABELS_EN
        else:
            words = VALUES[lang].get(code, {})
        if not words:
            continue
        column = out[position]
        out[position] = pd.Series(
            [_word(value, words) for value in column], index=column.index, dtype=object
        )
    return out


def _word(value: Any, words: Mapping[Any, str]) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.bool_):
        value = bool(value)
    return words.get(value, value)


def _number_format(code: str, sheet: str, labels: Mapping[str, str]) -> str | None:
    if sheet == "district" and code in ("value", "target"):
        return _PERCENT
    if sheet == "district" and code == "year":
        return "0"
    _, suffix = _split_circle(code, labels)
    return _FORMATS.get(suffix) or _FORMATS.get(code)


def _format_sheet(
    sheet: Worksheet,
    shown: pd.DataFrame,
    codes: list[str],
    key: str,
    labels: Mapping[str, str],
) -> None:
    """Format one of :func:`workbook`'s sheets (see :func:`format_sheet`)."""
    frozen = {"communities": "C2", "facilities": "C2", "townships": "B2"}.get(key, "A2")
    formats = [_number_format(code, key, labels) for code in codes]
    format_sheet(sheet, shown, formats, frozen=frozen)
