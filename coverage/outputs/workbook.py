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
from typing import Any

import numpy as np
import pandas as pd

from .. import terms
from ..compounds import COMPOUND_RULES, OUTSIDE
from ..compounds import STATUS_LABELS as COMPOUND_STATUS_LABELS
from ..inputs.readers import note_zh
from ..pipeline import Analysis
from ..standards import BELOW, STANDARD_TEXT_ZH_COLUMNS, district_basis
from ..terms import (
    COVERED,
    LANGS,
    PARTIAL,
    STATUS_LABELS_EN,
    TIER_LABELS_EN,
    TIER_LABELS_ZH,
    UNCOVERED,
    YES_NO_WORDS,
    check_lang,
)
from ._files import atomic
from ._sheets import PERCENT as _PERCENT
from ._sheets import Block, new_book, write_sheet
from .care_tables import care_block, care_guide
from .export import FACILITY_COLUMNS, compounds_table, summary_table
from .headline import Headline, headline
from .maps import OTHER_COLOUR, STATUS_COLOURS, TEXT

logger = logging.getLogger(__name__)

SHEETS = {
    "zh": {
        "summary": "汇总",
        "communities": "社区",
        "townships": "街道(乡镇)",
        "facilities": "设施",
        "district": "全区指标",
        "compounds": "小区",
        "parameters": "运行参数",
        "guide": "列说明",
        "care_map": "关爱地图",
    },
    "en": {
        "summary": "summary",
        "communities": "communities",
        "townships": "townships",
        "facilities": "facilities",
        "district": "district",
        "compounds": "compounds",
        "parameters": "parameters",
        "guide": "column guide",
        "care_map": "care map",
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
        "medical_integrated": "医养结合型机构",
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
        "health_centre_id": "最近卫生服务中心编号",
        "health_centre_minutes": "至卫生服务中心(分钟)",
        "health_centre_method": "至卫生服务中心计算方法",
        "beside_health_centre": "邻近卫生服务中心",
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
        "parameter": "参数",
        "setting": "值",
        "community_name": "所在社区",
        "location": "位置",
        "shape": "形状",
        "households": "户数",
        "residents": "居住人口",
        "build_year": "建成年份",
        "new": "新建小区",
        "care_room_area_m2": "养老用房面积(m²)",
        "care_land_area_m2": "养老用地面积(m²)",
        "floor_area_m2": "总建筑面积(m²)",
        "eldercare_facilities": "小区内养老服务设施",
        "old_compound_priority": "20万m²以上（特别是）",
        "old_compound_basis": "有无养老服务设施",
        "lon": "经度",
        "lat": "纬度",
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
        "medical_integrated": "Medical-and-care (医养结合) facility",
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
        "health_centre_id": "Nearest health centre",
        "health_centre_minutes": "Minutes to the health centre",
        "health_centre_method": "Health-centre minutes measured by",
        "beside_health_centre": "Beside a health centre",
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
        "parameter": "parameter",
        "setting": "value",
        "community_name": "Community",
        "location": "Location",
        "shape": "Shape",
        "households": "Households",
        "residents": "Residents",
        "build_year": "Year built",
        "new": "New compound",
        "care_room_area_m2": "Care rooms (m²)",
        "care_land_area_m2": "Care land (m²)",
        "floor_area_m2": "Total floor area (m²)",
        "eldercare_facilities": "Elderly-care facilities inside",
        "old_compound_priority": "200,000 m² and more (named first)",
        "old_compound_basis": "Facility found by",
        "lon": "Longitude",
        "lat": "Latitude",
    },
}
#: Headers of each compound rule's columns: ``<rule label><suffix>`` (see
#: :data:`carecircle.compounds.RULE_COLUMNS`).
COMPOUND_RULE_HEADERS = {
    "zh": {"status": "", "required": "要求", "actual": "现状", "reason": "说明", "source": "依据"},
    "en": {
        "status": "",
        "required": " required",
        "actual": " actual",
        "reason": " reason",
        "source": " source",
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
#: What each column means, for the column guide (:data:`GUIDE`), by column code.
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "zh": {
        "id": "输入数据中的编号",
        "name": "输入数据中的名称",
        "kind": "城市社区或农村（决定适用的步行时限）",
        "township": "所属街道(乡镇)",
        "shared_station": "该社区共享的养老服务站(点)编号",
        "population": "常住人口（输入数据）",
        "elderly": "60岁以上常住人口（输入数据）",
        "basis": "覆盖比例按60岁以上人口还是总人口计算",
        "input_status": "数据是否可用于分析；不可用时说明原因",
        "input_note": "数据问题与处理说明（如边界修复、类型推断）",
        "demand_method": "居民在社区内的分布方法：人口栅格或均匀分布",
        "demand_points": "代表居民位置的需求点数",
        "off_network_share": "离步行网络过远、未能计算步行时间的居民比例",
        "stations": "社区内（或申报、共享）的养老服务站(点)数",
        "station_status": "是否有养老服务站(点)",
        "eldercare_area_m2": "社区内养老服务设施的建筑面积合计",
        "area_per_resident_m2": "人均养老服务设施面积",
        "area_per_resident_required_m2": "政策要求的人均面积",
        "area_per_resident_status": "人均面积是否达到要求",
        "tier": "设施等级（决定适用的标准）",
        "area_m2": "建筑面积（输入数据）",
        "beds": "床位数（输入数据）",
        "nursing_beds": "护理型床位数（输入数据）",
        "social_operated": "是否由社会力量运营（输入数据）",
        "medical_capable": "是否具备医养结合服务能力（输入数据）",
        "medical_integrated": "是否为医养结合型机构（输入数据）",
        "community_id": "设施所在社区的编号",
        "network_status": "设施能否接入步行网络",
        "access_m": "设施到最近步行道路的距离",
        "standard_status": "设施是否达到其等级的建设标准",
        "area_required_m2": "该等级要求的建筑面积",
        "area_shortfall_m2": "建筑面积比要求少多少",
        "beds_required": "该等级要求的床位数",
        "beds_shortfall": "床位数比要求少多少",
        "standard_advice": "未达标时的建议",
        "standard_note": "标准核查的说明",
        "standard_source": "所依据的政策文件与条款",
        "centre_id": "站点所属（步行最近）的街道养老服务中心",
        "centre_minutes": "站点到所属中心的步行时间",
        "centre_method": "步行时间按步行网络还是直线距离计算",
        "within_centre_circle": "站点是否在所属中心的服务圈内",
        "stations_assigned": "中心下辖的站点数",
        "stations_over_limit": "中心下辖站点数是否超过政策上限",
        "health_centre_id": "中心步行最近的社区卫生服务中心/乡镇卫生院",
        "health_centre_minutes": "中心到最近卫生服务中心的步行时间",
        "health_centre_method": "步行时间按步行网络还是直线距离计算",
        "beside_health_centre": "中心是否在政策要求的步行时间内邻近卫生服务中心（医养结合）",
        "communities": "街道(乡镇)内的社区数",
        "communities_with_station": "有养老服务站(点)的社区数",
        "centres": "街道(乡镇)内的养老服务中心数",
        "station_coverage": "有养老服务站(点)的社区比例",
        "centre_status": "街道(乡镇)是否有养老服务中心",
        "source": "所依据的政策文件与条款",
        "rule": "全区指标名称",
        "value": "全区现状值",
        "target": "政策目标值",
        "year": "目标年份",
        "status": "是否达到目标",
        "parameter": "运行参数名称",
        "setting": "本次运行所用的值",
        "community_name": "小区所在社区（点所在，或面重叠最大者）",
        "location": "小区是否在某个社区内",
        "shape": "小区以面还是点给出",
        "households": "户数（输入数据）",
        "residents": "居住人口（输入数据）",
        "build_year": "建成年份（输入数据）",
        "new": "新建或老旧（输入数据；空白时按建成年份与文件年份判断）",
        "care_room_area_m2": "养老服务用房建筑面积（输入数据）",
        "care_land_area_m2": "养老服务用地面积（输入数据）",
        "floor_area_m2": "小区总建筑面积（输入数据）",
        "eldercare_facilities": "位于小区内（点小区：一定距离内）的养老服务设施编号",
        "old_compound_priority": "老旧小区建筑面积是否在20万平方米以上（文件“特别是”所指）",
        "old_compound_basis": "判断有无养老服务设施的依据",
        "lon": "经度（WGS 84）",
        "lat": "纬度（WGS 84）",
    },
    "en": {
        "id": "ID from the input",
        "name": "name from the input",
        "kind": "urban community or village (sets the walking time limit)",
        "township": "township or street it belongs to",
        "shared_station": "ID of the station the community shares",
        "population": "residents (input)",
        "elderly": "residents aged 60 and over (input)",
        "basis": "whether shares are of residents 60+ or of all residents",
        "input_status": "whether the community could be analysed, and if not why",
        "input_note": "data problems and how they were handled (repairs, inferred kind)",
        "demand_method": "how residents were placed: population raster or evenly",
        "demand_points": "points standing for where residents live",
        "off_network_share": "share of residents too far from the walking network to measure",
        "stations": "stations in (declared for, or shared by) the community",
        "station_status": "whether the community has a station",
        "eldercare_area_m2": "floor area of its elderly-care facilities",
        "area_per_resident_m2": "elderly-care floor area per resident",
        "area_per_resident_required_m2": "floor area per resident the policy requires",
        "area_per_resident_status": "whether the floor area per resident meets the policy",
        "tier": "facility tier (sets the standard applied)",
        "area_m2": "floor area (input)",
        "beds": "beds (input)",
        "nursing_beds": "nursing beds (input)",
        "social_operated": "operated by a social (non-government) provider (input)",
        "medical_capable": "able to give medical care (input)",
        "medical_integrated": "a medical-and-care (医养结合) facility (input)",
        "community_id": "ID of the community the facility is in",
        "network_status": "whether the facility joins the walking network",
        "access_m": "distance from the facility to the nearest walkable way",
        "standard_status": "whether the facility meets its tier's standard",
        "area_required_m2": "floor area its tier requires",
        "area_shortfall_m2": "floor area missing against the standard",
        "beds_required": "beds its tier requires",
        "beds_shortfall": "beds missing against the standard",
        "standard_advice": "what to do where the standard is not met",
        "standard_note": "how the standard was checked",
        "standard_source": "the policy document and article",
        "centre_id": "the street centre the station belongs to (nearest on foot)",
        "centre_minutes": "walk from the station to its centre",
        "centre_method": "walk measured on the network or in a straight line",
        "within_centre_circle": "whether the station lies within its centre's circle",
        "stations_assigned": "stations assigned to the centre",
        "stations_over_limit": "whether the centre has more stations than the policy allows",
        "health_centre_id": "the health centre the centre reaches fastest on foot",
        "health_centre_minutes": "walk from the centre to that health centre",
        "health_centre_method": "walk measured on the network or in a straight line",
        "beside_health_centre": "whether the centre is within the policy's walk of a health "
        "centre (医养结合)",
        "communities": "communities in the township",
        "communities_with_station": "communities with a station",
        "centres": "street centres in the township",
        "station_coverage": "share of communities with a station",
        "centre_status": "whether the township has a street centre",
        "source": "the policy document and article",
        "rule": "district target",
        "value": "the district's value now",
        "target": "the policy's target",
        "year": "year of the target",
        "status": "whether the target is met",
        "parameter": "run parameter",
        "setting": "the value used in this run",
        "community_name": "the community its point, or most of its polygon, lies in",
        "location": "whether the compound lies in a community",
        "shape": "whether the compound is given as a polygon or a point",
        "households": "households (input)",
        "residents": "residents (input)",
        "build_year": "year built (input)",
        "new": "new or old (input; where blank, by the year built and the document's year)",
        "care_room_area_m2": "floor area of its elderly-care rooms (input)",
        "care_land_area_m2": "land allocated to elderly care (input)",
        "floor_area_m2": "the compound's total building floor area (input)",
        "eldercare_facilities": "elderly-care facilities inside it (near a point compound)",
        "old_compound_priority": "an old compound of 200,000 m² floor area or more, named first "
        "(特别是)",
        "old_compound_basis": "how a facility was found, or that none was",
        "lon": "longitude (WGS 84)",
        "lat": "latitude (WGS 84)",
    },
}
#: What each per-circle column means: ``{label}`` is the circle's label, ``{minutes}`` its limits.
CIRCLE_DESCRIPTIONS = {
    "zh": {
        "share": "{minutes}内可达{label}设施的居民比例（按比例基数）",
        "status": "{label}覆盖状态：已覆盖、部分覆盖、未覆盖等",
        "median_min": "到最近{label}设施步行时间的中位数",
        "p90_min": "到最近{label}设施步行时间的90%分位数",
        "nearest": "对多数居民最近的{label}设施编号",
        "minutes": "适用的步行时限（城市或农村）",
        "within": "{minutes}内可达的居民人数",
        "residents": "计算覆盖比例所用的居民人数",
        "not_covered": "未完全覆盖的社区数",
    },
    "en": {
        "share": "share of residents within {minutes} of a {label} facility (see Share of)",
        "status": "{label} status: covered, partly covered, not covered, ...",
        "median_min": "median walk to the nearest {label} facility",
        "p90_min": "90th-percentile walk to the nearest {label} facility",
        "nearest": "ID of the {label} facility nearest to most residents",
        "minutes": "the time limit applied (urban or village)",
        "within": "residents within {minutes}",
        "residents": "residents counted for the share",
        "not_covered": "communities not fully covered",
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
        "health_centre_method": {"walk": "步行", "straight_line": "直线距离"},
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
        "health_centre_method": {"walk": "walking", "straight_line": "straight line"},
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
    VALUES[_lang]["location"] = {OUTSIDE: "不在任何社区内" if _lang == "zh" else OUTSIDE}
    for _rule in COMPOUND_RULES:
        VALUES[_lang][f"{_rule.prefix}_status"] = dict(COMPOUND_STATUS_LABELS[_lang])
    VALUES[_lang]["new"] = dict(YES_NO_WORDS[_lang])
    VALUES[_lang]["old_compound_priority"] = dict(YES_NO_WORDS[_lang])
for _lang in LANGS:
    _words = {w: TEXT[_lang][w] for w in _STANDARD_WORDS}
    for _column in ("standard_status", "area_per_resident_status", "centre_status", "status"):
        VALUES[_lang][_column] = dict(_words)
    VALUES[_lang]["status"].update(COMPOUND_STATUS_LABELS[_lang])
    for _column in (
        "within_centre_circle",
        "stations_over_limit",
        "social_operated",
        "medical_capable",
        "medical_integrated",
        "beside_health_centre",
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
    "health_centre_minutes": "0.0",
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

    Seven sheets. It opens on the summary: the headline figures (place, policy, dates and each
    circle's district share and community counts, from
    :func:`carecircle.outputs.headline.headline`), each circle's figures as numbers, the
    township table, the facilities below their tier's standard with the advice, the district
    targets, and the street centres' checks (stations beyond their centre's circle, centres
    with too many stations). Then communities (the columns of ``summary.csv``, one row per
    community, from :func:`carecircle.outputs.export.summary_table`), townships, facilities
    (with their standards checks), district targets, the run's parameters
    (:attr:`Analysis.parameters`), and a column guide saying what every column of every sheet
    means; with a care map (:attr:`Analysis.care`), a care map sheet after the parameters (its
    notes, then its table, small counts withheld). Headers, coded values (statuses, tiers,
    kinds) and the standards' sentences (``standard_note``, ``standard_advice``, ``basis``) are
    in Chinese or English; shares are formatted as percentages; status cells are filled with
    the map's colours (:data:`carecircle.outputs.maps.STATUS_COLOURS`) by conditional formats;
    every sheet prints
    on A4 landscape, one page wide, its header row on every page, the place and the run's date
    in the page header and page numbers in the footer
    (:func:`carecircle.outputs._sheets.write_sheet`).

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
    labels = {c.name: (c.label_zh if lang == "zh" else c.label_en) for c in analysis.policy.circles}
    top = headline(analysis)
    page = f"{top.place}  {top.run_date}"
    facilities = _facility_table(analysis.facilities, lang)
    district = _district_table(analysis.district, lang)
    tables = {
        "communities": summary_table(analysis),
        "townships": analysis.townships(),
        "facilities": facilities,
        "district": district,
        **({"compounds": compounds_table(analysis)} if len(analysis.compounds) else {}),
        "parameters": pd.DataFrame(
            {
                "parameter": [str(k) for k in analysis.parameters],
                "setting": [str(v) for v in analysis.parameters.values()],
            }
        ),
    }
    frozen = {"communities": "C2", "facilities": "C2", "townships": "B2", "compounds": "C2"}
    book = new_book()
    write_sheet(
        book,
        SHEETS[lang]["summary"],
        _summary_blocks(analysis, top, tables, labels, lang),
        page_header=page,
        title=_TITLE[lang].format(place=top.place),
        max_width=_SUMMARY_WIDTH,
    )
    for key, table in tables.items():
        write_sheet(
            book,
            SHEETS[lang][key],
            [_block(table, key, labels, lang)],
            page_header=page,
            frozen=frozen.get(key, "A2"),
        )
    if analysis.care is not None:  # 关爱地图: its published counts and how to read them
        write_sheet(
            book,
            SHEETS[lang]["care_map"],
            care_block(analysis, lang),
            page_header=page,
            frozen="A1",
        )
    guide = _guide(tables, labels, top, lang)
    extra = care_guide(analysis, lang, SHEETS[lang]["care_map"])
    if extra:
        rows = pd.DataFrame(extra, columns=guide.frame.columns)
        guide = Block(pd.concat([guide.frame, rows], ignore_index=True), guide.number_formats)
    write_sheet(book, SHEETS[lang]["guide"], [guide], page_header=page)
    with atomic(path) as tmp:
        book.save(tmp)
    return path


_TITLE = {"zh": "{place}老年人步行可达情况汇总", "en": "{place}: older residents' walking access"}
_SECTIONS = {
    "zh": {
        "headline": "主要指标",
        "circles": "各服务圈",
        "townships": "各街道(乡镇)",
        "below": "未达标设施",
        "district": "全区指标",
        "centres": "街道养老服务中心与站点",
        "none": "无",
    },
    "en": {
        "headline": "Headline",
        "circles": "Circles",
        "townships": "Townships",
        "below": "Facilities below standard",
        "district": "District targets",
        "centres": "Street centres and their stations",
        "none": "none",
    },
}
_CIRCLE_FIGURES = {
    "zh": (
        "服务圈",
        "时限(分钟)",
        "计算人数",
        "圈内人数",
        "覆盖比例",
        "已覆盖社区",
        "部分覆盖社区",
        "未覆盖社区",
        "未分析社区",
    ),
    "en": (
        "Circle",
        "Limit (min)",
        "Residents counted",
        "Residents within",
        "Share",
        "Communities covered",
        "Partly covered",
        "Not covered",
        "Not analysed",
    ),
}
#: The summary's columns at most this many characters wide, its texts wrapped, and its tables
#: cut to the columns a meeting reads (the other sheets hold them all): the page prints legibly
#: on A4 landscape.
_SUMMARY_WIDTH = 22
_SUMMARY_TOWNSHIP_COLUMNS = ("township", "communities", "communities_with_station", "centres")
_BELOW_COLUMNS = (
    "id",
    "name",
    "tier",
    "standard_status",
    "area_shortfall_m2",
    "beds_shortfall",
    "standard_advice",
    "standard_note",
)
_CENTRE_COLUMNS = (
    "id",
    "name",
    "township",
    "centre_minutes",
    "within_centre_circle",
    "stations_assigned",
    "stations_over_limit",
)
_GUIDE_HEADERS = {"zh": ("工作表", "列", "含义"), "en": ("Sheet", "Column", "Meaning")}


def _summary_blocks(
    analysis: Analysis,
    top: Headline,
    tables: Mapping[str, pd.DataFrame],
    labels: Mapping[str, str],
    lang: str,
) -> list[Block]:
    """The summary sheet's tables: headline, circles, townships, standards, targets, centres."""
    words = _SECTIONS[lang]
    blocks = [
        Block(
            pd.DataFrame(top.rows(lang), columns=["label", "value"]),
            [None, None],
            heading=words["headline"],
            header=False,
        )
    ]
    if top.circles:
        figures = pd.DataFrame(
            [
                (
                    labels.get(c.circle, c.circle),
                    f"{c.minutes_urban:g}"
                    if c.minutes_urban == c.minutes_rural
                    else f"{c.minutes_urban:g} / {c.minutes_rural:g}",
                    c.residents,
                    c.within,
                    c.share if np.isfinite(c.share) else None,
                    c.covered,
                    c.partly,
                    c.not_covered,
                    c.not_analysed,
                )
                for c in top.circles
            ],
            columns=list(_CIRCLE_FIGURES[lang]),
        )
        formats = [None, None, "#,##0", "#,##0", _PERCENT, "0", "0", "0", "0"]
        blocks.append(Block(figures, formats, heading=words["circles"]))
    towns = tables["townships"]
    kept = [
        c
        for c in towns.columns
        if c in _SUMMARY_TOWNSHIP_COLUMNS or str(c).endswith(("_share", "_not_covered"))
    ]
    blocks.append(_block(towns[kept], "townships", labels, lang, words["townships"]))
    facilities = tables["facilities"]
    status = analysis.facilities.get("standard_status", pd.Series(dtype=object)).astype(str)
    below = facilities.loc[
        (status == BELOW).to_numpy(), [c for c in _BELOW_COLUMNS if c in facilities]
    ]
    blocks.append(_block_or_none(below, "facilities", labels, lang, words["below"]))
    blocks.append(_block_or_none(tables["district"], "district", labels, lang, words["district"]))
    flagged = pd.Series(False, index=facilities.index)
    for column, bad in (("within_centre_circle", False), ("stations_over_limit", True)):
        if column in facilities:
            flagged |= (facilities[column].astype("boolean") == bad).fillna(False).to_numpy()
    centres = facilities.loc[flagged.to_numpy(), [c for c in _CENTRE_COLUMNS if c in facilities]]
    blocks.append(_block_or_none(centres, "facilities", labels, lang, words["centres"]))
    return blocks


def _block_or_none(
    table: pd.DataFrame, key: str, labels: Mapping[str, str], lang: str, heading: str
) -> Block:
    """``table`` as a block, or one line saying there is nothing."""
    if len(table):
        return _block(table, key, labels, lang, heading)
    return Block(
        pd.DataFrame({"": [_SECTIONS[lang]["none"]]}), [None], heading=heading, header=False
    )


def _block(
    table: pd.DataFrame,
    key: str,
    labels: Mapping[str, str],
    lang: str,
    heading: str | None = None,
) -> Block:
    """One of the tables as shown on sheet ``key``: headers, words, formats and colours."""
    codes = [str(c) for c in table.columns]
    shown = _translate_values(table, codes, labels, lang)
    shown.columns = pd.Index([_header(code, key, labels, lang) for code in codes], dtype=object)
    return Block(
        shown,
        [_number_format(code, key, labels) for code in codes],
        [_colours(code, labels, lang) for code in codes],
        heading=heading,
    )


def _guide(
    tables: Mapping[str, pd.DataFrame], labels: Mapping[str, str], top: Headline, lang: str
) -> Block:
    """The column guide: every column of every table sheet, with what it means."""
    minutes = {
        c.circle: (
            f"步行 {c.minutes_urban:g} 分钟"
            if lang == "zh"
            else f"a {c.minutes_urban:g}-minute walk"
        )
        for c in top.circles
    }
    rows = []
    for key, table in tables.items():
        for column in table.columns:
            code = str(column)
            circle, suffix = _split_circle(code, labels)
            if circle is not None:
                meaning = CIRCLE_DESCRIPTIONS[lang][suffix].format(
                    label=labels[circle], minutes=minutes.get(circle, "")
                )
            else:
                meaning = DESCRIPTIONS[lang].get(code, "")
            rows.append((SHEETS[lang][key], _header(code, key, labels, lang), meaning))
    return Block(pd.DataFrame(rows, columns=list(_GUIDE_HEADERS[lang])), [None, None, None])


#: Colours of coded values, by column (statuses of circles are :data:`_CIRCLE_STATUS_COLOURS`).
_MEETS = {
    "meets": STATUS_COLOURS[COVERED],
    "below": STATUS_COLOURS[UNCOVERED],
    "above_max": STATUS_COLOURS[PARTIAL],
    "missing": STATUS_COLOURS[UNCOVERED],
    "unknown": OTHER_COLOUR,
}
_CIRCLE_STATUS_COLOURS = {s: STATUS_COLOURS.get(s, OTHER_COLOUR) for s in STATUS_LABELS_EN}
_COLUMN_COLOURS: dict[str, dict[str, str]] = {
    "input_status": {
        s: c for s, c in _CIRCLE_STATUS_COLOURS.items() if s not in (COVERED, PARTIAL, UNCOVERED)
    },
    "standard_status": _MEETS,
    "area_per_resident_status": _MEETS,
    "centre_status": _MEETS,
    "status": {**_MEETS, "needs_centre": STATUS_COLOURS[UNCOVERED], "not_applicable": OTHER_COLOUR},
    **{
        f"{_rule.prefix}_status": {
            **_MEETS,
            "needs_centre": STATUS_COLOURS[UNCOVERED],
            "not_applicable": OTHER_COLOUR,
        }
        for _rule in COMPOUND_RULES
    },
    "station_status": {
        "has_station": STATUS_COLOURS[COVERED],
        "shared": STATUS_COLOURS[COVERED],
        **_MEETS,
    },
}


def _colours(code: str, labels: Mapping[str, str], lang: str) -> dict[str, str] | None:
    """The fill colour of each word a status column of code ``code`` shows, or None."""
    circle, suffix = _split_circle(code, labels)
    if circle is not None and suffix == "status":
        colours: Mapping[str, str] = _CIRCLE_STATUS_COLOURS
        words: Mapping[Any, str] = terms.STATUS_LABELS_ZH if lang == "zh" else STATUS_LABELS_EN
    elif code in _COLUMN_COLOURS:
        colours, words = _COLUMN_COLOURS[code], VALUES[lang].get(code, {})
    else:
        return None
    return {str(words.get(value, value)): colour for value, colour in colours.items()}


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
    if "rule" in table:  # a count's value and number as whole numbers (the column's are shares)
        rules = table["rule"].astype(str)
        counts = ~rules.map(terms.is_share_target).to_numpy(dtype=bool)
        for column in ("value", "target"):
            if column in table and counts.any():
                shown = table[column].astype(object)
                shown[counts] = [
                    terms.target_text(rule, value)
                    for rule, value in zip(rules[counts], table.loc[counts, column], strict=True)
                ]
                table[column] = shown
    if "basis" in table and "rule" in table:
        table["basis"] = [
            district_basis(str(rule), str(basis), lang=lang) if isinstance(basis, str) else basis
            for rule, basis in zip(table["rule"], table["basis"], strict=True)
        ]
    if "rule" in table:
        table["rule"] = [terms.target_label(str(rule), lang) for rule in table["rule"]]
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
    for rule in COMPOUND_RULES:
        part = code.removeprefix(f"{rule.prefix}_")
        if code.startswith(f"{rule.prefix}_") and part in COMPOUND_RULE_HEADERS[lang]:
            label = rule.label_zh if lang == "zh" else rule.label_en
            return f"{label}{COMPOUND_RULE_HEADERS[lang][part]}"
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
