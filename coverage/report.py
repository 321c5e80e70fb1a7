"""Outputs for documents: a static overview map (PNG) and an Excel workbook (XLSX).

:func:`overview_png` draws one circle's coverage with matplotlib (no pyplot, no global state):
communities filled by status, the circle's area, facilities by tier, legend, scale bar, north
arrow and attribution. Chinese labels need a font with Chinese glyphs; :func:`cjk_font` finds
one among the fonts matplotlib knows and the system's, and without one the map falls back to
English labels (with a warning) rather than drawing empty boxes.

:func:`workbook` writes the tables of ``summary.csv``, ``townships.csv``, ``facilities.csv``
and ``district.csv`` as sheets with Chinese (or English) headers and values.

Both write to a temporary file beside the target and move it into place when complete.

This module holds the workbook; the overview map is drawn in :mod:`carecircle._overview`, whose
public names (:func:`overview_png`, :func:`cjk_font`, :func:`nice_length_m`, :data:`LANGS`,
:data:`ATTRIBUTION`, :data:`CJK_SAMPLE`, :data:`CJK_FONT_HINTS`) are exported here.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import circles as circles_mod
from ._cells import to_sheet
from ._files import atomic
from ._overview import ATTRIBUTION as ATTRIBUTION
from ._overview import CJK_FONT_HINTS as CJK_FONT_HINTS
from ._overview import CJK_SAMPLE as CJK_SAMPLE
from ._overview import LANGS as LANGS
from ._overview import _check_lang
from ._overview import cjk_font as cjk_font
from ._overview import nice_length_m as nice_length_m
from ._overview import overview_png as overview_png
from ._validate import YES_NO_WORDS
from .export import FACILITY_COLUMNS, summary_table
from .inputs import TIER_LABELS_EN, TIER_LABELS_ZH, note_zh
from .maps import STATUS_LABELS_EN, TEXT
from .pipeline import Analysis
from .standards import STANDARD_TEXT_ZH_COLUMNS, district_basis

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
        "input_status": {"ok": "正常", **circles_mod.STATUS_LABELS_ZH},
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

_PERCENT = "0.0%"
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


def workbook(analysis: Analysis, path: str | Path, *, lang: str = "zh") -> Path:
    """Write the result tables as an Excel workbook.

    Five sheets: communities (the columns of ``summary.csv``, one row per community, from
    :func:`carecircle.export.summary_table`), townships, facilities (with their standards
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
    carecircle._errors.InputError
        For an unknown language.

    """
    _check_lang(lang)
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
            words: Mapping[Any, str] = (
                circles_mod.STATUS_LABELS_ZH if lang == "zh" else STATUS_LABELS_EN
            )
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


def format_sheet(
    sheet: Worksheet,
    shown: pd.DataFrame,
    number_formats: Sequence[str | None],
    *,
    frozen: str = "A2",
) -> None:
    """Freeze and filter the header row, format numbers and fit column widths, as in Excel.

    Parameters
    ----------
    sheet : openpyxl.worksheet.worksheet.Worksheet
        A sheet ``shown`` was just written to (header in row 1, no index).
    shown : pandas.DataFrame
        The table as written, for the column widths.
    number_formats : sequence of str or None
        One Excel number format per column (for example ``"0.0%"``), None to leave it.
    frozen : str, keyword-only
        The top-left cell that stays in view when scrolling (``"A2"``: the header row).

    """
    from openpyxl.styles import Alignment, PatternFill
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = frozen
    if sheet.max_row >= 1 and sheet.max_column >= 1:
        sheet.auto_filter.ref = sheet.dimensions
    fill = PatternFill("solid", fgColor="EEF2F7")
    for cell in sheet[1]:
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.fill = fill
    for position, number_format in enumerate(number_formats, start=1):
        letter = get_column_letter(position)
        if number_format:
            for (cell,) in sheet.iter_rows(
                min_row=2, min_col=position, max_col=position, max_row=sheet.max_row
            ):
                cell.number_format = number_format
        values = shown.iloc[:, position - 1]
        widths = [_display_width(_shown_text(v, number_format)) for v in values]
        header = min(_display_width(str(shown.columns[position - 1])), 28)
        best = max([header, *widths]) if widths else header
        sheet.column_dimensions[letter].width = float(min(max(best + 2, 6), 60))


def _shown_text(value: Any, number_format: str | None) -> str:
    """Roughly the text Excel shows for a cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        if number_format == _PERCENT:
            return f"{number:.1%}"
        if number_format and "." in number_format:
            digits = len(number_format.split(".")[1])
            return f"{number:,.{digits}f}"
        return f"{number:,.0f}" if number_format else f"{number:g}"
    return str(value)


def _display_width(text: str) -> int:
    """Width in Excel character units: East Asian wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
