"""The costing's tables: amounts per facility, what counts within the horizon, the totals.

:func:`facility_table` applies the money rules to every facility; :func:`horizon_of` works out what
of each amount falls within the horizon, :func:`with_horizon` adds it to the per-facility table,
:func:`per_year_table` and :func:`per_township_table` add it up, and :func:`costing_notes` says what
the costing assumed and left out. :func:`empty_table` gives the tables, without rows, of a profile
that has no money tables.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..terms import TIER_LABELS_EN, TIER_LABELS_ZH
from .rows import Rows
from .rules import bed_subsidy_amount, construction_amount, operating_amount, out_of_scope
from .schema import (
    FACILITY_COLUMNS,
    KNOWN_COLUMNS,
    MONEY_TABLES,
    PER_TOWNSHIP_COLUMNS,
    PER_YEAR_COLUMNS,
    RESIDENT_FIELDS,
    Note,
)

logger = logging.getLogger(__name__)

_MONEY_WORDS: dict[str, tuple[str, str]] = {
    "construction_flat": ("一次性建设补助", "One-off construction subsidy"),
    "construction_per_m2": ("按面积建设奖补", "Construction award per m²"),
    "operating_yearly": ("年度运营奖补", "Yearly operating award"),
    "operating_by_grade": ("按等级运营补贴", "Operating subsidy by grade"),
    "bed_subsidy_monthly": ("床位补贴", "Bed subsidy"),
}
"""Each ``[money.*]`` table of :data:`MONEY_TABLES` in words (Chinese, English), for the notes
an official reads: a profile's key names are not for them."""


def empty_table(columns: Sequence[str]) -> pd.DataFrame:
    """A table with ``columns`` and no rows (object columns)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def facility_table(
    rows: Rows,
    money: Mapping[str, Any],
    *,
    municipal: bool | None,
    label: tuple[str, str],
    applies: Sequence[bool] | None = None,
    scope: tuple[str, str] = ("", ""),
) -> pd.DataFrame:
    """One row per facility: its amounts and the rule behind each, in zh and en.

    A facility whose ``applies`` is False (in a rural community under a profile for urban ones
    only, ``scope`` saying so in en and zh) gets nothing, with that sentence.
    """
    n = len(rows.ids)
    inside = [True] * n if applies is None else list(applies)
    outside = out_of_scope(scope, label=label)
    built = [
        construction_amount(rows, i, money, municipal=municipal, label=label)
        if inside[i]
        else outside
        for i in range(n)
    ]
    run = [
        operating_amount(rows, i, money, label=label) if inside[i] else outside for i in range(n)
    ]
    beds = [
        bed_subsidy_amount(rows, i, money, label=label) if inside[i] else outside for i in range(n)
    ]
    low = np.array([a.low for a in run], dtype=float)
    high = np.array([a.high for a in run], dtype=float)
    return pd.DataFrame(
        {
            "id": rows.ids,
            "name": rows.names,
            "tier": rows.tiers,
            "township": rows.townships,
            "year": pd.array(rows.years, dtype="Int64"),
            "status": rows.status,
            "area_m2": rows.area_m2,
            "construction_yuan": [a.low for a in built],
            "construction_rule": [a.zh for a in built],
            "operating_yuan_per_year": np.where(low == high, low, np.nan),
            "operating_yuan_per_year_min": low,
            "operating_yuan_per_year_max": high,
            "operating_rule": [a.zh for a in run],
            "bed_subsidy_yuan_per_year": [a.low for a in beds],
            "bed_subsidy_rule": [a.zh for a in beds],
            "construction_rule_en": [a.en for a in built],
            "operating_rule_en": [a.en for a in run],
            "bed_subsidy_rule_en": [a.en for a in beds],
        }
    )


class _Horizon(NamedTuple):
    """Per facility: what counts within the horizon."""

    runs_from: np.ndarray  # first year operating within the horizon (end + 1: never)
    years: np.ndarray  # years operating within the horizon
    opening: np.ndarray  # opening year of a facility to be built, NaN for the others
    builds: np.ndarray  # year its construction counts in: opening, or NaN for none
    construction: np.ndarray  # construction counted in the horizon (NaN: unknown)
    bed: np.ndarray  # bed subsidy per year counted (NaN: unknown; 0 when not operating)


def horizon_of(
    table: pd.DataFrame, *, start: int, end: int, operating_from: str = "opening"
) -> _Horizon:
    """What of each facility's amounts falls within ``start .. end``, by its ``status``.

    ``planned`` opens in its year and ``proposed`` in ``start``: construction then, operating
    from then (``operating_from="next"``: from the year after). ``existing`` operates from
    ``start`` (or its year, when later), with no construction. ``after_the_horizon`` and
    ``over_a_year_budget`` are not built within the plan: nothing counts. ``unknown`` operates
    from ``start``, and its construction, unknown, counts in ``start``.
    """
    status = table["status"].to_numpy(dtype=object)
    year = table["year"].to_numpy(dtype=float, na_value=np.nan)
    opening = np.where(status == "proposed", float(start), np.nan)
    opening = np.where(status == "planned", year, opening)
    builds = np.where(status == "unknown", float(start), opening)
    first_paid = opening + (1.0 if operating_from == "next" else 0.0)
    since = np.where(np.isnan(opening), np.nan_to_num(year, nan=start), first_paid)
    left_out = np.isin(status, ("after_the_horizon", "over_a_year_budget"))
    runs_from = np.where(left_out, end + 1, since)
    runs_from = np.maximum(runs_from, start)
    n_years = np.clip(end - runs_from + 1, 0, None).astype(int)
    in_horizon = (builds >= start) & (builds <= end)  # False for NaN
    construction = np.where(in_horizon, table["construction_yuan"].to_numpy(dtype=float), 0.0)
    bed = np.where(n_years > 0, table["bed_subsidy_yuan_per_year"].to_numpy(dtype=float), 0.0)
    return _Horizon(runs_from, n_years, opening, builds, construction, bed)


def with_horizon(table: pd.DataFrame, horizon: _Horizon) -> pd.DataFrame:
    """A new per-facility table with the horizon columns, in :data:`FACILITY_COLUMNS` order."""
    n = horizon.years
    known = np.nan_to_num(horizon.construction) + n * np.nan_to_num(horizon.bed)
    out = table.assign(
        horizon_years=n,
        horizon_total_yuan_min=known + n * table["operating_yuan_per_year_min"].to_numpy(),
        horizon_total_yuan_max=known + n * table["operating_yuan_per_year_max"].to_numpy(),
        complete=~(np.isnan(horizon.construction) | np.isnan(horizon.bed)),
    )
    return out[list(FACILITY_COLUMNS)]


def per_year_table(table: pd.DataFrame, horizon: _Horizon, *, start: int, end: int) -> pd.DataFrame:
    """The totals of each year from ``start`` to ``end`` (:data:`PER_YEAR_COLUMNS`)."""
    low = table["operating_yuan_per_year_min"].to_numpy(dtype=float)
    high = table["operating_yuan_per_year_max"].to_numpy(dtype=float)
    records = []
    for year in range(start, end + 1):
        running = horizon.runs_from <= year
        opens = horizon.opening == year
        builds = horizon.builds == year
        construction = float(np.nansum(horizon.construction[builds]))
        bed = float(np.nansum(horizon.bed[running]))
        unknown_construction = builds & np.isnan(horizon.construction)
        unknown_bed = running & np.isnan(horizon.bed)
        unknown = unknown_construction | unknown_bed
        records.append(
            {
                "year": year,
                "facilities_operating": int(running.sum()),
                "facilities_opening": int(opens.sum()),
                "construction_yuan": construction,
                "operating_yuan_min": float(low[running].sum()),
                "operating_yuan_max": float(high[running].sum()),
                "bed_subsidy_yuan": bed,
                "total_yuan_min": construction + float(low[running].sum()) + bed,
                "total_yuan_max": construction + float(high[running].sum()) + bed,
                "incomplete_facilities": int(unknown.sum()),
                "construction_known": not unknown_construction.any(),
                "bed_subsidy_known": not unknown_bed.any(),
            }
        )
    return pd.DataFrame.from_records(records, columns=list(PER_YEAR_COLUMNS))


def per_township_table(table: pd.DataFrame, horizon: _Horizon) -> pd.DataFrame:
    """The totals of each township over the horizon (:data:`PER_TOWNSHIP_COLUMNS`)."""
    n = horizon.years
    parts = pd.DataFrame(
        {
            "township": table["township"].to_numpy(),
            "facilities": 1,
            "construction_yuan": np.nan_to_num(horizon.construction),
            "operating_yuan_min": n * table["operating_yuan_per_year_min"].to_numpy(),
            "operating_yuan_max": n * table["operating_yuan_per_year_max"].to_numpy(),
            "bed_subsidy_yuan": n * np.nan_to_num(horizon.bed),
            "total_yuan_min": table["horizon_total_yuan_min"].to_numpy(),
            "total_yuan_max": table["horizon_total_yuan_max"].to_numpy(),
            "incomplete_facilities": (~table["complete"].to_numpy(dtype=bool)).astype(int),
            "construction_known": ~np.isnan(horizon.construction),
            "bed_subsidy_known": ~np.isnan(horizon.bed),
        }
    )
    known = list(KNOWN_COLUMNS)
    grouped = parts.groupby("township", sort=True, as_index=False)
    sums = grouped[[c for c in parts.columns if c not in ("township", *known)]].sum()
    sums[known] = grouped[known].all()[known].to_numpy()
    return sums[list(PER_TOWNSHIP_COLUMNS)].reset_index(drop=True)


def costing_notes(
    rows: Rows, money: Mapping[str, Any], table: pd.DataFrame, *, start: int, end: int
) -> list[Note]:
    """What the costing assumed and left out, in Chinese and English.

    A profile's own ``note`` on a money table is given as written, in both languages, unless
    the table also has a ``note_zh`` for the Chinese.
    """
    notes: list[Note] = []
    opening = rows.opening_years
    if not rows.found & {"year", "status"} and not rows.proposal:
        notes.append(
            Note(
                "无开业年份和建设状态两栏：所有设施按现有设施处理，不计建设补助；"
                "请为每个拟建设施填写开业年份，或填建设状态 status=proposed",
                "no 'year' or 'status' column: every facility is treated as existing (no "
                "construction subsidy counted); give each facility to be built its opening "
                "year, or status = proposed",
            )
        )
    notes += _status_notes(rows.status, start=start)
    early = sum(1 for y in opening if y < start)
    late = sum(1 for y in opening if y > end)
    if early:
        notes.append(
            Note(
                f"{early} 个设施在 {start} 年之前开业：建设补助在测算期之前，不计入合计；"
                f"运营补助从 {start} 年起计",
                f"{early} facilit{'y opens' if early == 1 else 'ies open'} before {start}: "
                "construction falls before the horizon and is not in the totals; operating "
                f"counts from {start}",
            )
        )
    if late:
        notes.append(
            Note(
                f"{late} 个设施在 {end} 年之后开业：均不计入合计",
                f"{late} facilit{'y opens' if late == 1 else 'ies open'} after {end}: nothing "
                "of theirs is in the totals",
            )
        )
    if money.get("construction_flat"):
        notes.append(
            Note(
                "一次性建设补助：设施经审核同意、验收合格后一次性补助，"
                "养老服务中心须为社会力量投资建设（养老服务站不要求）；"
                "测算假定验收合格，计入开业当年",
                "One-off construction subsidy: paid once a facility is approved and passes "
                "inspection (验收合格), for centres only when built by social capital "
                "(社会力量投资建设; not asked of stations); the costing "
                "assumes inspection is passed and counts it in the opening year",
            )
        )
        if "social_capital" not in rows.found:
            notes.append(
                Note(
                    "无“社会资本”一栏（列名 social_capital）：所有拟建养老服务中心均按社会力量"
                    "投资建设计，一次性建设补助为上限",
                    "no 'social_capital' column: every proposed centre is assumed built by "
                    "social capital, so the one-off construction subsidies are upper bounds",
                )
            )
    if money.get("construction_per_m2"):
        notes.append(
            Note(
                "按面积建设奖补：市级对改造或新建城市社区养老服务中心的奖补"
                "（市级奖补），面积上限“原则上”适用；测算计入开业当年，但县级每年为已建成项目"
                "申报一次，可能次年拨付；购买或租赁的场所不在奖补范围内，县级承担的部分未计入",
                "Construction award per m²: the municipal award (市级奖补) for new or renovated "
                "urban community centres (改造或新建), with the area caps that apply 'in "
                "principle' (原则上); counted in the opening year, though counties apply for it "
                "once a year for completed projects, so it may be paid the year after; purchased "
                "or rented premises are not covered and the county's own share is not included",
            )
        )
    if money.get("operating_yearly"):
        notes.append(
            Note(
                "年度运营奖补：以奖代补，年度考核后拨付；测算假定每年全额拨付，开业当年按全年计",
                "Yearly operating award: awards in place of subsidies (以奖代补), paid after the "
                "yearly evaluation; the full amount is assumed every year, the opening year in "
                "full",
            )
        )
    if money.get("operating_by_grade"):
        notes.append(
            Note(
                "按等级运营补贴：文件只给出按评定等级的金额范围，未规定"
                "各等级的金额，因此运营补助和合计为“下限–上限”范围",
                "Operating subsidy by grade: the document gives a range by assessed grade without "
                "saying which grade gets how much, so operating amounts and totals are low–high "
                "ranges",
            )
        )
    if money.get("bed_subsidy_monthly"):
        notes.append(
            Note(
                "床位补贴：按护理需求分别计算 12 × 每人每月补贴 × "
                "收住老人人数，人数按所填（全年平均）",
                "Bed subsidy: 12 × (yuan per resident-month × residents) for each need, "
                "residents as given (a yearly average)",
            )
        )
    notes += money_notes(money)
    # a missing area, or a status that does not say whether the facility is new
    missing_area = int((table["construction_yuan"].isna() & (table["status"] != "unknown")).sum())
    if missing_area:
        notes.append(
            Note(
                f"{missing_area} 个拟建设施缺少建筑面积，而建设补助要按面积判断：建设补助未知"
                "（NaN），未计入合计；请填写建筑面积（area_m2）",
                f"{missing_area} proposed facilit{'y has' if missing_area == 1 else 'ies have'} "
                "no floor area where a construction rule needs one: construction is unknown "
                "(NaN) and left out of the totals; fill in area_m2",
            )
        )
    no_beds = int(table["bed_subsidy_yuan_per_year"].isna().sum())
    if no_beds:
        fields = ", ".join(RESIDENT_FIELDS)
        notes.append(
            Note(
                f"{no_beds} 个设施没有收住老人人数，床位补贴未知（NaN），未计入合计；"
                f"请补充自理老人、半失能老人、失能老人人数（{fields}）",
                f"{no_beds} facilit{'y has' if no_beds == 1 else 'ies have'} no resident counts "
                "for the bed subsidy: unknown (NaN) and left out of the totals; add " + fields,
            )
        )
    return notes


def _status_notes(status: Sequence[str], *, start: int) -> list[Note]:
    """What the costing took for the facilities to be built without a year, and the unknown."""
    notes: list[Note] = []
    proposed = sum(1 for s in status if s == "proposed")
    left_out = sum(1 for s in status if s in ("after_the_horizon", "over_a_year_budget"))
    unknown = sum(1 for s in status if s == "unknown")
    if proposed:
        notes.append(
            Note(
                f"{proposed} 个拟建设施（status=proposed）未填开业年份：按测算期首年（{start}年）"
                "开业计，建设补助计入当年，运营补助从当年起计；请填写开业年份以按年安排"
                "（scripts/plan_sites.py 会填写）",
                f"{proposed} facilit{'y' if proposed == 1 else 'ies'} to be built (status "
                f"proposed) {'has' if proposed == 1 else 'have'} no opening year: taken as "
                f"opening in {start}, the horizon's first year, with construction counted then "
                "and operating from then; give each its 'year' to place it (scripts/"
                "plan_sites.py does)",
            )
        )
    if left_out:
        notes.append(
            Note(
                f"{left_out} 个选址未列入规划年份（status 为 after_the_horizon 或 "
                "over_a_year_budget）：规划期内不建，均不计入合计",
                f"{left_out} site{'' if left_out == 1 else 's'} the plan leaves out of its years "
                "(status after_the_horizon or over_a_year_budget): not built within the plan, so "
                "nothing of theirs is in the totals",
            )
        )
    if unknown:
        notes.append(
            Note(
                f"{unknown} 个设施来自拟建选址表（有 newly_covered 一栏），但未填开业年份或"
                "建设状态：不知是新建还是现有，建设补助未知，未计入合计（合计为下限）；"
                "请填写开业年份，或填建设状态 status=proposed（选址命令会填写）",
                f"{unknown} facilit{'y' if unknown == 1 else 'ies'} of a proposed-sites table (it "
                "has a newly_covered column) give neither an opening year nor a status: whether "
                "new or existing is not stated, so construction is unknown and left out of the "
                "totals (lower bounds); give 'year', or status = proposed (carecircle site "
                "writes it)",
            )
        )
    return notes


def money_notes(money: Mapping[str, Any]) -> list[Note]:
    """The profile's own notes on its money tables, in Chinese and English.

    A ``note`` is given as written, in both languages, unless its table also has a ``note_zh``
    for the Chinese.
    """
    notes: list[Note] = []
    for table_name in MONEY_TABLES:
        spec = money.get(table_name) or {}
        words_zh, words_en = _MONEY_WORDS[table_name]
        entries = (
            [
                (
                    f"{words_zh}（{TIER_LABELS_ZH.get(k, k)}）",
                    f"{words_en} ({TIER_LABELS_EN.get(k, k)})",
                    v,
                )
                for k, v in spec.items()
            ]
            if table_name in ("construction_flat", "operating_yearly")
            else [(words_zh, words_en, spec)]
        )
        for key_zh, key_en, entry in entries:
            if isinstance(entry, Mapping) and entry.get("note"):
                zh = entry.get("note_zh") or entry["note"]
                notes.append(Note(f"{key_zh}：{zh}", f"{key_en}: {entry['note']}"))
    return notes
