"""The care map's outputs (关爱地图): ``care_map.csv``, its GeoPackage layer, sheet and rows.

Every writer here takes the published :class:`carecircle.care.CareMap` of an analysis, whose
small counts are already withheld (:func:`carecircle.care.suppress`); nothing here sees a
record. The layer is the community polygons with their counts, never points.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .._cells import to_csv
from ..care import ESTIMATE, EXACT, SUPPRESSED, WITHIN_FIELDS, CareMap, within_column
from ..inputs.care import CARE_LABELS_EN, CARE_LABELS_ZH
from ..pipeline import Analysis
from ._files import atomic
from ._sheets import PERCENT, Block

CARE_SOURCE = "关爱地图: 万州府办发〔2020〕28号 §二(二)6"
"""The document a care map answers, for the outputs' notes and ``district.csv``."""

_BASIS_ZH = {
    EXACT: "精确：按每位老人住址步行计算",
    ESTIMATE: "估算：社区人数 × 该社区老年人覆盖比例（四舍五入）",
}


def care_table(analysis: Analysis) -> pd.DataFrame:
    """The rows of ``care_map.csv``: one per community (empty without a care map)."""
    care = analysis.care
    if care is None:
        return pd.DataFrame()
    return care.table.copy()


def write_care_map(analysis: Analysis, path: str | Path) -> Path:
    """Write ``care_map.csv`` (UTF-8 with BOM), withheld counts blank and flagged."""
    path = Path(path)
    with atomic(path) as tmp:
        to_csv(care_table(analysis), tmp)
    return path


def care_layer(analysis: Analysis) -> gpd.GeoDataFrame:
    """The ``care_map`` layer: the community polygons with the care map's columns."""
    care = analysis.care
    if care is None:
        return gpd.GeoDataFrame()
    comm = analysis.communities
    return gpd.GeoDataFrame(care.table.copy(), geometry=comm.geometry.to_numpy(), crs=comm.crs)


def care_district_rows(care: CareMap) -> pd.DataFrame:
    """The care map's rows of ``district.csv``: each total, withheld where it must be.

    ``rule`` is ``care_<field>`` (``care_people``, ``care_eldercare_people_within``,
    ``care_outside_people``, ...), ``value`` the district's total (blank where withheld;
    ``status`` then says ``<5`` or ``suppressed``), ``basis`` how it was found (sum over the
    communities; exact or estimate for the counts within a circle).
    """
    totals = care.totals
    return pd.DataFrame(
        {
            "rule": [f"care_{f}" for f in totals["field"]],
            "value": totals["value"].to_numpy(dtype=float),
            "target": np.nan,
            "year": pd.array([pd.NA] * len(totals), dtype="Int64"),
            "status": totals["flag"].to_numpy(dtype=object),
            "basis": totals["basis"].to_numpy(dtype=object),
            "source": f"care_map.csv ({CARE_SOURCE})",
        }
    )


def care_notes(care: CareMap, lang: str) -> list[str]:
    """The lines every human-facing output prints beside the care map."""
    flag = f"<{care.min_count}"
    extra = [care.note] if care.note else []
    if lang == "zh":
        basis = _BASIS_ZH[EXACT if care.exact else ESTIMATE]
        return [
            *extra,
            f"{CARE_SOURCE}",
            f"圈内人数：{basis}",
            f"1 至 {care.min_count - 1} 的人数不公布（空白，标记 {flag}）；为防止由合计反推，"
            f"另有单元格一并不公布（标记 {SUPPRESSED}）。0 照常公布。",
        ]
    basis = EXACT if care.exact else ESTIMATE
    return [
        *extra,
        CARE_SOURCE,
        f"Counts within circles: {basis}",
        f"Counts from 1 to {care.min_count - 1} are withheld (blank, flagged {flag}); further "
        f"cells are withheld so none can be worked out from a total (flagged {SUPPRESSED}). "
        "Zero is shown.",
    ]


def care_header(code: str, labels: dict[str, str], lang: str, *, exact: bool) -> str:
    """A care map column's header in ``lang``; counts within a circle say when estimated."""
    names = CARE_LABELS_ZH if lang == "zh" else CARE_LABELS_EN
    if code in names:
        return names[code]
    for circle, label in labels.items():
        for name in WITHIN_FIELDS:
            if code == within_column(circle, name):
                if lang == "zh":
                    return f"{label}内{names[name]}" + ("" if exact else "（估算）")
                return f"{names[name]} in {label}" + ("" if exact else " (estimate)")
        if code == f"{circle}_people_share":
            if lang == "zh":
                return f"{label}内比例" + ("" if exact else "（估算）")
            return f"Share in {label}" + ("" if exact else " (estimate)")
    words = {
        "zh": {
            "id": "编号",
            "name": "名称",
            "township": "街道(乡镇)",
            "kind": "类型",
            "within_basis": "圈内人数依据",
            "people_basis": "需关爱人数依据",
            "suppressed": "不公布的单元格",
        },
        "en": {
            "within_basis": "Counts within: basis",
            "people_basis": "People: basis",
            "suppressed": "Withheld cells",
        },
    }
    return words.get(lang, {}).get(code, code)


_MEANINGS = {
    "zh": {
        "id": "社区编号",
        "name": "社区名称",
        "township": "所属街道(乡镇)",
        "kind": "城乡类型",
        "people": "需关爱老年人数（逐人记录：每人计一次；按社区人数表：表中合计，"
        "无合计时为各类之和）",
        "home_care_beds": "家庭养老床位数",
        "retrofits": "完成适老化改造的老年人家庭数",
        "within": "居住在{circle}内的{what}人数（{basis}）",
        "share": "需关爱老年人中居住在{circle}内的比例（{basis}）",
        "within_basis": "圈内人数是精确计算还是估算",
        "people_basis": "需关爱人数的来源：persons（逐人）、given（表中合计）、"
        "sum of categories（各类之和）",
        "suppressed": "不公布的单元格及原因：<{k} 为人数过少，suppressed 为防止反推而一并不公布",
        "category": "{what}老年人数",
    },
    "en": {
        "id": "community id",
        "name": "community name",
        "township": "its street or township",
        "kind": "urban or rural",
        "people": "older residents needing care (records: each person once; counts: the "
        "table's total, or the categories' sum)",
        "home_care_beds": "home-care beds (家庭养老床位)",
        "retrofits": "homes of older residents given an age-friendly retrofit (适老化改造)",
        "within": "{what} living within the {circle} ({basis})",
        "share": "share of the older residents needing care living within the {circle} ({basis})",
        "within_basis": "whether the counts within circles are exact or estimates",
        "people_basis": "what people counts: persons, given (the table's total) or sum of "
        "categories",
        "suppressed": "the cells withheld and why: <{k} too small, suppressed so that none "
        "can be worked out from a total",
        "category": "{what} older residents",
    },
}


def care_guide(analysis: Analysis, lang: str, sheet: str) -> list[tuple[str, str, str]]:
    """The column guide's rows for the care map sheet: (sheet, header, meaning)."""
    care = analysis.care
    if care is None:
        return []
    labels = {c.name: (c.label_zh if lang == "zh" else c.label_en) for c in analysis.policy.circles}
    words = _MEANINGS["zh" if lang == "zh" else "en"]
    names = CARE_LABELS_ZH if lang == "zh" else CARE_LABELS_EN
    basis = (
        ("精确" if care.exact else "估算")
        if lang == "zh"
        else ("exact" if care.exact else "estimate")
    )
    rows = []
    for code in care.table.columns:
        code = str(code)
        meaning = words.get(code, "")
        if code in CARE_LABELS_EN and not meaning:
            meaning = words["category"].format(what=names[code])
        for circle, label in labels.items():
            for name in WITHIN_FIELDS:
                if code == within_column(circle, name):
                    meaning = words["within"].format(circle=label, what=names[name], basis=basis)
            if code == f"{circle}_people_share":
                meaning = words["share"].format(circle=label, basis=basis)
        meaning = meaning.replace("{k}", str(care.min_count))
        rows.append((sheet, care_header(code, labels, lang, exact=care.exact), meaning))
    return rows


def care_block(analysis: Analysis, lang: str) -> list[Block]:
    """The workbook's care map sheet: its notes, then the table (headers in ``lang``)."""
    care = analysis.care
    if care is None:
        return []
    labels = {c.name: (c.label_zh if lang == "zh" else c.label_en) for c in analysis.policy.circles}
    notes = pd.DataFrame({"": care_notes(care, lang)})
    table = care.table.copy()
    if lang == "zh":
        table["within_basis"] = table["within_basis"].map(lambda v: _BASIS_ZH.get(v, v))
    formats = [PERCENT if str(c).endswith("_share") else None for c in table.columns]
    table.columns = pd.Index(
        [care_header(str(c), labels, lang, exact=care.exact) for c in table.columns]
    )
    totals = care.totals.copy()
    totals["field"] = [
        care_header(f.removeprefix("outside_"), labels, lang, exact=care.exact)
        + (
            ("（不在任何社区内）" if lang == "zh" else " (outside the communities)")
            if f.startswith("outside_")
            else ""
        )
        for f in totals["field"]
    ]
    heading = "全区合计" if lang == "zh" else "District totals"
    return [
        Block(notes, [None], header=False),
        Block(table, formats),
        Block(totals, [None, None, None, None], heading=heading),
    ]
