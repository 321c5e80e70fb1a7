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
