"""Cost a set of facilities under a policy profile's money rules.

The ``[money]`` tables of a profile (see :mod:`carecircle.policy`) hold the subsidies and awards
its documents promise: a one-off construction subsidy (flat per tier, 万州; or per m² up to a
cap, 运城), a yearly operating award (per tier, 垫江; or a range by grade, 运城) and a bed
subsidy per resident-month (运城). :func:`cost` applies them to every facility and adds them up
over a planning horizon; :func:`write` saves the result as CSV and Excel; :func:`format_table`
renders it for a terminal.

Every amount comes with a sentence saying which rule gave it and why, or why nothing is due
(below the area threshold, not built by social capital, tier not subsidised). An amount that
cannot be worked out (no floor area where a rule needs one, no resident counts) is NaN, never
0, and the totals say how many facilities they leave out.

Per-facility columns (:data:`FACILITY_COLUMNS`)::

    id, name, tier, township, year, area_m2,
    construction_yuan, construction_rule,
    operating_yuan_per_year, operating_yuan_per_year_min, operating_yuan_per_year_max,
    operating_rule, bed_subsidy_yuan_per_year, bed_subsidy_rule,
    horizon_years, horizon_total_yuan_min, horizon_total_yuan_max, complete,
    construction_rule_en, operating_rule_en, bed_subsidy_rule_en

Per-year columns (:data:`PER_YEAR_COLUMNS`)::

    year, facilities_operating, facilities_opening, construction_yuan,
    operating_yuan_min, operating_yuan_max, bed_subsidy_yuan,
    total_yuan_min, total_yuan_max, incomplete_facilities

Per-township columns (:data:`PER_TOWNSHIP_COLUMNS`), summed over the horizon::

    township, facilities, construction_yuan, operating_yuan_min, operating_yuan_max,
    bed_subsidy_yuan, total_yuan_min, total_yuan_max, incomplete_facilities
"""

from __future__ import annotations

import datetime
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import InputError, PolicyError
from ._files import atomic
from ._validate import as_text, resolve_columns
from .inputs import TIER_LABELS_EN, TIER_LABELS_ZH, TIERS
from .policy import Policy

logger = logging.getLogger(__name__)

MONEY_TABLES: tuple[str, ...] = (
    "construction_flat",
    "construction_per_m2",
    "operating_yearly",
    "operating_by_grade",
    "bed_subsidy_monthly",
)
"""The ``[money.*]`` tables :func:`cost` applies."""

URBAN_CENTRE_TIERS: tuple[str, ...] = ("street_center", "community_station")
"""Tiers that count as an urban community centre (城市社区养老服务中心).

运城's per-m² construction award, operating subsidy by grade and bed subsidy are for urban
community centres only (运〔2021〕—2 §二(四), §三(二)); other tiers get none of them.
"""

SOCIAL_CAPITAL_TIERS: tuple[str, ...] = ("street_center", "township_center")
"""Tiers whose flat construction subsidy is only for facilities built by social capital.

万州府办发〔2020〕28号 §二(五)13 pays street (community) centres "社会力量投资建设的" and §二(七)17
township centres likewise, but asks of a community station only that it pass inspection
("经验收合格的社区养老服务站一次性补助20万元"): stations there are publicly built and privately
run (公建民营). The document's task table (annex) words the station subsidy with the social
capital condition too; this module follows the operative text.
"""

RESIDENT_FIELDS: tuple[str, ...] = (
    "residents_self_care",
    "residents_semi_disabled",
    "residents_disabled",
)
"""Optional facility columns: residents (people) by care need, for the bed subsidy."""

_NEEDS = ("self_care", "semi_disabled", "disabled")  # keys of [money.bed_subsidy_monthly]
_NEEDS_ZH = ("自理", "半失能", "失能")
_NEEDS_EN = ("self-care", "semi-disabled", "disabled")

OPTIONAL_ALIASES: dict[str, tuple[str, ...]] = {
    "year": ("开业年份", "投用年份", "建成年份", "年份"),
    "township": ("街道", "乡镇", "街道(乡镇)", "乡镇(街道)", "所属街道", "所属乡镇"),
    "social_capital": ("社会资本", "社会力量投资", "社会资本投资", "社会力量"),
    "grade": ("评定等级", "评估等级", "运营等级"),
    "residents_self_care": ("自理老人", "自理人数"),
    "residents_semi_disabled": ("半失能老人", "半失能人数"),
    "residents_disabled": ("失能老人", "失能人数"),
}
"""Optional field → accepted headers besides the field name itself."""

_TRUE = frozenset({"true", "t", "yes", "y", "1", "是", "对"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "否", "不是"})
_YEAR_RANGE = (1900, 2100)


FACILITY_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "tier",
    "township",
    "year",
    "area_m2",
    "construction_yuan",
    "construction_rule",
    "operating_yuan_per_year",
    "operating_yuan_per_year_min",
    "operating_yuan_per_year_max",
    "operating_rule",
    "bed_subsidy_yuan_per_year",
    "bed_subsidy_rule",
    "horizon_years",
    "horizon_total_yuan_min",
    "horizon_total_yuan_max",
    "complete",
    "construction_rule_en",
    "operating_rule_en",
    "bed_subsidy_rule_en",
)
"""Columns of :attr:`Costing.facilities`, in order."""

_MONEY_COLUMNS: tuple[str, ...] = (
    "construction_yuan",
    "operating_yuan_min",
    "operating_yuan_max",
    "bed_subsidy_yuan",
    "total_yuan_min",
    "total_yuan_max",
    "incomplete_facilities",
)

PER_YEAR_COLUMNS: tuple[str, ...] = (
    "year",
    "facilities_operating",
    "facilities_opening",
    *_MONEY_COLUMNS,
)
"""Columns of :attr:`Costing.per_year`, in order."""

PER_TOWNSHIP_COLUMNS: tuple[str, ...] = ("township", "facilities", *_MONEY_COLUMNS)
"""Columns of :attr:`Costing.per_township`, in order."""

HEADERS_ZH: dict[str, str] = {
    "id": "编号",
    "name": "名称",
    "tier": "设施类型",
    "township": "街道(乡镇)",
    "year": "开业年份",
    "area_m2": "建筑面积(m²)",
    "construction_yuan": "一次性建设补助(元)",
    "construction_rule": "建设补助依据",
    "operating_yuan_per_year": "运营补助(元/年)",
    "operating_yuan_per_year_min": "运营补助下限(元/年)",
    "operating_yuan_per_year_max": "运营补助上限(元/年)",
    "operating_rule": "运营补助依据",
    "bed_subsidy_yuan_per_year": "床位补贴(元/年)",
    "bed_subsidy_rule": "床位补贴依据",
    "horizon_years": "测算期内运营年数",
    "horizon_total_yuan_min": "测算期合计下限(元)",
    "horizon_total_yuan_max": "测算期合计上限(元)",
    "complete": "金额齐全",
    "facilities_operating": "运营设施数",
    "facilities_opening": "新开设施数",
    "facilities": "设施数",
    "operating_yuan_min": "运营补助下限(元)",
    "operating_yuan_max": "运营补助上限(元)",
    "bed_subsidy_yuan": "床位补贴(元)",
    "total_yuan_min": "合计下限(元)",
    "total_yuan_max": "合计上限(元)",
    "incomplete_facilities": "金额不全的设施数",
}
"""Chinese headers for :func:`write` and :func:`format_table`."""

HEADERS_EN: dict[str, str] = {
    "id": "id",
    "name": "name",
    "tier": "tier",
    "township": "township",
    "year": "opening year",
    "area_m2": "floor area (m²)",
    "construction_yuan": "construction subsidy (yuan)",
    "construction_rule": "construction rule",
    "operating_yuan_per_year": "operating subsidy (yuan/year)",
    "operating_yuan_per_year_min": "operating subsidy, low (yuan/year)",
    "operating_yuan_per_year_max": "operating subsidy, high (yuan/year)",
    "operating_rule": "operating rule",
    "bed_subsidy_yuan_per_year": "bed subsidy (yuan/year)",
    "bed_subsidy_rule": "bed subsidy rule",
    "horizon_years": "years operating in horizon",
    "horizon_total_yuan_min": "horizon total, low (yuan)",
    "horizon_total_yuan_max": "horizon total, high (yuan)",
    "complete": "all amounts known",
    "facilities_operating": "facilities operating",
    "facilities_opening": "facilities opening",
    "facilities": "facilities",
    "operating_yuan_min": "operating, low (yuan)",
    "operating_yuan_max": "operating, high (yuan)",
    "bed_subsidy_yuan": "bed subsidy (yuan)",
    "total_yuan_min": "total, low (yuan)",
    "total_yuan_max": "total, high (yuan)",
    "incomplete_facilities": "facilities with unknown amounts",
}
"""English headers for :func:`write` and :func:`format_table`."""

SHEETS: dict[str, tuple[str, str, str, str]] = {
    "zh": ("设施", "逐年合计", "分街道乡镇合计", "说明"),
    "en": ("facilities", "per year", "per township", "notes"),
}
"""Sheet names of ``costing.xlsx`` by language: facilities, per year, per township, notes."""

LANGS: tuple[str, ...] = ("zh", "en")
"""Languages accepted by :func:`write` and :func:`format_table`."""

_TOTAL_LABEL = {"zh": "合计", "en": "total"}
_YEAR_HEADER = {"zh": "年份", "en": "year"}  # per-year tables: a calendar year, not an opening
_NO_TOWNSHIP = {"zh": "(未填街道乡镇)", "en": "(no township)"}


@dataclass(frozen=True)
class Costing:
    """Subsidies and awards due to a set of facilities under one policy profile.

    Attributes
    ----------
    facilities : pandas.DataFrame
        One row per input facility, columns :data:`FACILITY_COLUMNS`. Amounts in yuan:
        ``construction_yuan`` once, in the opening year; ``operating_yuan_per_year`` (NaN when
        only a range is known, see ``_min``/``_max``, which always hold the range, equal to the
        amount when it is exact) and ``bed_subsidy_yuan_per_year`` every year the facility
        operates. NaN means the amount could not be worked out (see the ``*_rule`` column).
        ``year`` is the opening year (``<NA>`` for an existing facility), ``horizon_years`` the
        years it operates within the horizon, ``horizon_total_yuan_min``/``_max`` what it
        receives within the horizon (unknown amounts left out; ``complete`` is False then).
        ``*_rule`` in Chinese, ``*_rule_en`` in English.
    per_year : pandas.DataFrame
        One row per year of the horizon, columns :data:`PER_YEAR_COLUMNS`, yuan.
    per_township : pandas.DataFrame
        One row per township (``""`` for facilities without one), columns
        :data:`PER_TOWNSHIP_COLUMNS`, yuan summed over the horizon.
    notes : tuple of str
        Assumptions, conditions the costing cannot check, and the profile's notes on its money
        rules; for a profile without money tables, the message saying so.
    policy_name : str
        The profile's name.
    first_year : int
        First year of the horizon.
    years : int
        Length of the horizon in years.
    municipal : bool or None
        Whether the facilities are in a municipal district (市辖区), as used for the per-m²
        cap; None when no per-m² rule applied.

    """

    facilities: pd.DataFrame
    per_year: pd.DataFrame
    per_township: pd.DataFrame
    notes: tuple[str, ...]
    policy_name: str
    first_year: int
    years: int
    municipal: bool | None = None

    @property
    def total(self) -> pd.Series:
        """Grand total over the horizon: the sums of :attr:`per_year`'s money columns, yuan.

        ``incomplete_facilities`` counts the facilities with an unknown amount in any year.
        """
        sums = self.per_year[list(_MONEY_COLUMNS)].sum()
        sums = sums.astype(float)
        sums["incomplete_facilities"] = float((~self.facilities["complete"].astype(bool)).sum())
        return sums


class _Amount(NamedTuple):
    """An amount (a range when ``low < high``; NaN when unknown) and why, in zh and en."""

    low: float
    high: float
    zh: str
    en: str


@dataclass(frozen=True)
class _Rows:
    """The checked input columns, one entry per facility."""

    ids: list[str]
    names: list[str]
    tiers: list[str]
    townships: list[str]
    years: list[int | None]
    area_m2: np.ndarray
    social: list[bool | None]
    grades: list[str]
    residents: np.ndarray  # (n, 3), NaN where blank or the column is absent
    found: frozenset[str]  # optional fields present in the input


# --- public API ----------------------------------------------------------------------------


def cost(
    facilities: pd.DataFrame,
    policy: Policy,
    *,
    municipal: bool | None = None,
    first_year: int | None = None,
    years: int = 1,
    columns: Mapping[str, str] | None = None,
) -> Costing:
    """Work out the subsidies and awards due to each facility, per year and per township.

    Parameters
    ----------
    facilities : pandas.DataFrame
        Facilities as returned by :func:`carecircle.inputs.read_facilities` (a GeoDataFrame
        will do; geometry is ignored): ``id``, ``name``, ``tier`` (one of
        :data:`carecircle.inputs.TIERS`) and ``area_m2`` (floor area in m², NaN when unknown).
        Optional columns, by name or by a header in :data:`OPTIONAL_ALIASES`: ``year`` (the
        year a proposed facility opens; blank for an existing one), ``township``,
        ``social_capital`` (built by social capital: true/false, 是/否, 1/0; blank when
        unknown), ``grade`` (运城 assessment grade), ``residents_self_care``,
        ``residents_semi_disabled``, ``residents_disabled`` (residents, people, by care need).
        Not modified.
    policy : carecircle.policy.Policy
        The profile whose ``money`` tables apply.
    municipal : bool, optional
        Whether the facilities are in a municipal district (市辖区), which sets the per-m² cap
        (``cap_m2_municipal`` or ``cap_m2_other``); overrides the profile's
        ``money.construction_per_m2.municipal``.
    first_year : int, optional
        First year of the horizon (calendar year). Default: the earliest opening year, or the
        current year when no facility has one.
    years : int
        Length of the horizon in years (≥ 1): ``first_year .. first_year + years - 1``.
    columns : mapping of str to str, optional
        Optional field → the frame's column name, overriding :data:`OPTIONAL_ALIASES`.

    Returns
    -------
    Costing
        Per-facility amounts with their rules, per-year and per-township totals, and notes.
        Construction counts in the opening year when that year is within the horizon (never
        for existing facilities); operating awards and bed subsidies count every year from
        opening (from ``first_year`` for existing facilities) to the end of the horizon, the
        opening year in full. A profile without money tables gives empty tables and a note.

    Raises
    ------
    InputError
        For a missing ``id``/``name``/``tier`` column, an unknown tier, a bad year, area,
        resident count or social-capital value (naming the row, id, column and value), or
        ``first_year``/``years`` out of range.
    PolicyError
        For a money table without its amounts (``yuan``; ``yuan_per_m2`` and both caps;
        ``min_yuan`` ≤ ``max_yuan``; the three monthly rates), or a per-m² rule with no
        ``municipal`` setting in the profile or the arguments; the message names the file.

    """
    if isinstance(years, bool) or not isinstance(years, int | np.integer) or years < 1:
        msg = f"years must be a whole number of years, 1 or more; found {years!r}"
        raise InputError(msg)
    if first_year is not None:
        _check_year_value(first_year, "first_year")
    rows = _parse(facilities, columns=columns)
    money = policy.money
    if not any(money.get(table) for table in MONEY_TABLES):
        msg = (
            f"policy {policy.name!r} ({policy.source_file}) has no money tables: nothing to "
            "cost. Add [money.construction_flat.<tier>], [money.construction_per_m2], "
            "[money.operating_yearly.<tier>], [money.operating_by_grade] or "
            "[money.bed_subsidy_monthly] to the profile, each with its source"
        )
        start = first_year if first_year is not None else _default_start(rows.years, [])
        return Costing(
            facilities=_empty(FACILITY_COLUMNS),
            per_year=_empty(PER_YEAR_COLUMNS),
            per_township=_empty(PER_TOWNSHIP_COLUMNS),
            notes=(msg,),
            policy_name=policy.name,
            first_year=start,
            years=int(years),
        )
    _check_money(money, policy.source_file)
    notes: list[str] = []
    start = first_year if first_year is not None else _default_start(rows.years, notes)
    end = start + int(years) - 1
    per_m2 = money.get("construction_per_m2") or {}
    used_municipal = _municipal(per_m2, municipal, policy, notes) if per_m2 else None
    if not per_m2 and municipal is not None:
        notes.append(
            f"municipal={municipal} has no effect: policy {policy.name!r} has no per-m² "
            "construction rule"
        )
    label = _labels(policy)
    amounts = _facility_table(rows, money, municipal=used_municipal, label=label)
    horizon = _horizon(amounts, start=start, end=end)
    table = _with_horizon(amounts, horizon)
    per_year = _per_year(table, horizon, start=start, end=end)
    per_township = _per_township(table, horizon)
    notes += _notes(rows, money, table, start=start, end=end)
    return Costing(
        facilities=table,
        per_year=per_year,
        per_township=per_township,
        notes=tuple(notes),
        policy_name=policy.name,
        first_year=start,
        years=int(years),
        municipal=used_municipal,
    )


def write(
    costing: Costing, out_dir: str | os.PathLike[str], *, lang: str = "zh"
) -> dict[str, Path]:
    """Write ``costing.csv`` and ``costing.xlsx`` into ``out_dir``.

    Each file is written to a temporary name beside its target and moved into place only when
    complete.

    Parameters
    ----------
    costing : Costing
        The result of :func:`cost`.
    out_dir : str or os.PathLike
        Folder for the files; created when missing.
    lang : str
        ``"zh"`` (Chinese headers, tier names and rule texts) or ``"en"``.

    Returns
    -------
    dict of str to pathlib.Path
        ``{"csv": ..., "xlsx": ...}``. The CSV (UTF-8 with BOM, for Excel) holds the
        per-facility table with the stable English column names of :data:`FACILITY_COLUMNS`,
        like every CSV carecircle writes; the workbook, for people, has headers in ``lang`` and
        sheets for facilities, per year and per township (each with a total row) and the notes
        (sheet names in :data:`SHEETS`).

    Raises
    ------
    InputError
        For an unknown ``lang``.
    ImportError
        When openpyxl, needed for the workbook, is not installed.

    """
    _check_lang(lang)
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        msg = "writing costing.xlsx needs openpyxl: pip install openpyxl"
        raise ImportError(msg) from exc
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    facilities = _display_facilities(costing.facilities, lang=lang)
    per_year = _display_totals(costing, "year", lang=lang)
    per_township = _display_totals(costing, "township", lang=lang)
    notes = pd.DataFrame({"说明" if lang == "zh" else "note": list(costing.notes)})
    csv_path = folder / "costing.csv"
    with atomic(csv_path) as tmp:
        costing.facilities.to_csv(tmp, index=False, encoding="utf-8-sig", float_format=_csv_number)
    xlsx_path = folder / "costing.xlsx"
    sheets = SHEETS[lang]
    with atomic(xlsx_path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for frame, sheet in zip((facilities, per_year, per_township, notes), sheets, strict=True):
            frame.to_excel(writer, sheet_name=sheet, index=False)
            _autofit(writer.sheets[sheet], frame)
    return {"csv": csv_path, "xlsx": xlsx_path}


def format_table(costing: Costing, *, lang: str = "zh") -> str:
    """Render a costing as plain text for a terminal.

    Parameters
    ----------
    costing : Costing
        The result of :func:`cost`.
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The horizon, the per-facility amounts (without rule texts), the per-year and
        per-township totals with a total row, and the notes. A range shows as ``low–high``.

    Raises
    ------
    InputError
        For an unknown ``lang``.

    """
    _check_lang(lang)
    zh = lang == "zh"
    end = costing.first_year + costing.years - 1
    lines = [
        (
            f"政策: {costing.policy_name}; 测算期 {costing.first_year}–{end} ({costing.years} 年)"
            if zh
            else f"policy: {costing.policy_name}; horizon {costing.first_year}–{end} "
            f"({costing.years} years)"
        )
    ]
    if not costing.facilities.empty:
        lines += ["", _facility_text(costing.facilities, lang=lang)]
        for key, title in (
            ("year", "逐年合计" if zh else "per year"),
            ("township", "分街道乡镇合计" if zh else "per township"),
        ):
            lines += ["", title, _totals_text(costing, key, lang=lang)]
    if costing.notes:
        lines += ["", "说明:" if zh else "notes:"]
        lines += [f"- {note}" for note in costing.notes]
    return "\n".join(lines)


# --- reading the facilities ----------------------------------------------------------------


def _bad(position: int, ident: str, column: str, value: Any, expected: str) -> InputError:
    who = f" (id {ident!r})" if ident else ""
    msg = (
        f"facilities row {position + 1}{who}, column {column!r}: found {value!r}; "
        f"expected {expected}"
    )
    return InputError(msg)


def _parse(frame: pd.DataFrame, *, columns: Mapping[str, str] | None) -> _Rows:
    if not isinstance(frame, pd.DataFrame):
        msg = f"facilities must be a pandas DataFrame, found {type(frame).__name__}"
        raise InputError(msg)
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    names = [str(c) for c in frame.columns if c != geometry]
    for field in ("id", "name", "tier"):
        if field not in names:
            msg = (
                f"facilities: missing column {field!r}; columns found: "
                f"{', '.join(repr(c) for c in names)}; expected the table "
                "carecircle.inputs.read_facilities returns"
            )
            raise InputError(msg)
    free = [c for c in names if c not in ("id", "name", "tier", "area_m2")]
    col = resolve_columns(
        free, aliases=OPTIONAL_ALIASES, required=(), columns=columns, path=Path("facilities")
    )
    n = len(frame)
    ids = as_text(frame["id"])
    tiers = []
    for position, (ident, tier) in enumerate(zip(ids, frame["tier"].tolist(), strict=True)):
        if tier not in TIERS:
            raise _bad(position, ident, "tier", tier, f"one of {', '.join(TIERS)}")
        tiers.append(str(tier))
    area = (
        _numbers(frame["area_m2"], ids, "area_m2", "a floor area in m², 0 or more")
        if "area_m2" in names
        else np.full(n, np.nan)
    )
    residents = np.full((n, 3), np.nan)
    for k, field in enumerate(RESIDENT_FIELDS):
        if field in col:
            residents[:, k] = _numbers(
                frame[col[field]], ids, col[field], "a number of residents, 0 or more"
            )
    return _Rows(
        ids=ids,
        names=as_text(frame["name"]),
        tiers=tiers,
        townships=as_text(frame[col["township"]]) if "township" in col else [""] * n,
        years=_years(frame[col["year"]], ids, col["year"]) if "year" in col else [None] * n,
        area_m2=area,
        social=(
            _flags(frame[col["social_capital"]], ids, col["social_capital"])
            if "social_capital" in col
            else [None] * n
        ),
        grades=as_text(frame[col["grade"]]) if "grade" in col else [""] * n,
        residents=residents,
        found=frozenset(col),
    )


def _numbers(values: pd.Series, ids: Sequence[str], column: str, expected: str) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for position, (value, text) in enumerate(zip(values.tolist(), as_text(values), strict=True)):
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            raise _bad(position, ids[position], column, value, expected) from None
        if not math.isfinite(number) or number < 0:
            raise _bad(position, ids[position], column, value, expected)
        out[position] = number
    return out


def _years(values: pd.Series, ids: Sequence[str], column: str) -> list[int | None]:
    low, high = _YEAR_RANGE
    expected = f"an opening year from {low} to {high}, or blank for an existing facility"
    out: list[int | None] = []
    for position, (value, text) in enumerate(zip(values.tolist(), as_text(values), strict=True)):
        if not text:
            out.append(None)
            continue
        try:
            number = float(text)
        except ValueError:
            raise _bad(position, ids[position], column, value, expected) from None
        if not number.is_integer() or not low <= number <= high:
            raise _bad(position, ids[position], column, value, expected)
        out.append(int(number))
    return out


def _flags(values: pd.Series, ids: Sequence[str], column: str) -> list[bool | None]:
    out: list[bool | None] = []
    for position, (value, text) in enumerate(zip(values.tolist(), as_text(values), strict=True)):
        key = text.lower()
        if isinstance(value, bool | np.bool_):
            out.append(bool(value))
        elif not key:
            out.append(None)
        elif key in _TRUE:
            out.append(True)
        elif key in _FALSE:
            out.append(False)
        else:
            expected = "true/false, 是/否, 1/0, or blank when unknown"
            raise _bad(position, ids[position], column, value, expected)
    return out


def _check_year_value(value: Any, name: str) -> None:
    low, high = _YEAR_RANGE
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= high
    ):
        msg = f"{name} must be a calendar year from {low} to {high}; found {value!r}"
        raise InputError(msg)


def _default_start(years: Sequence[int | None], notes: list[str]) -> int:
    opening = [y for y in years if y is not None]
    if opening:
        start = min(opening)
        notes.append(
            f"first_year not given: the horizon starts at the earliest opening year, {start}"
        )
        return start
    start = datetime.date.today().year
    notes.append(
        f"first_year not given and no facility has an opening year: the horizon starts in the "
        f"current year, {start}"
    )
    return start


# --- the rules -----------------------------------------------------------------------------


def _labels(policy: Policy) -> tuple[str, str]:
    """Short zh and en labels of the profile, from a title like ``重庆市万州区 (Wanzhou)``."""
    title = policy.title.strip() or policy.name
    zh, _, rest = title.partition(" (")
    en = rest.rstrip(")").strip() if rest else policy.name
    return zh.strip() or policy.name, en or policy.name


def _municipal(
    per_m2: Mapping[str, Any], municipal: bool | None, policy: Policy, notes: list[str]
) -> bool:
    if municipal is not None:
        if "municipal" in per_m2 and bool(per_m2["municipal"]) != municipal:
            notes.append(
                f"municipal={municipal} overrides the profile's "
                f"money.construction_per_m2.municipal = {str(per_m2['municipal']).lower()}"
            )
        return bool(municipal)
    if "municipal" not in per_m2:
        msg = (
            f"{policy.source_file}: money.construction_per_m2 has no 'municipal' key and no "
            "municipal= was given; expected municipal = true (市辖区, cap_m2_municipal) or "
            "false (cap_m2_other) in the profile, or --municipal / --not-municipal"
        )
        raise PolicyError(msg)
    return bool(per_m2["municipal"])


_REQUIRED: dict[str, tuple[str, ...]] = {
    "construction_flat": ("yuan",),
    "construction_per_m2": ("yuan_per_m2", "cap_m2_municipal", "cap_m2_other"),
    "operating_yearly": ("yuan",),
    "operating_by_grade": ("min_yuan", "max_yuan"),
    "bed_subsidy_monthly": _NEEDS,
}


def _check_money(money: Mapping[str, Any], where: str) -> None:
    """Raise unless every money table has the amounts :func:`cost` needs."""
    for table, keys in _REQUIRED.items():
        spec = money.get(table) or {}
        entries = (
            [(f"{table}.{tier}", entry) for tier, entry in spec.items()]
            if table in ("construction_flat", "operating_yearly")
            else ([(table, spec)] if spec else [])
        )
        for key, entry in entries:
            for name in keys:
                if name not in entry:
                    msg = (
                        f"{where}: money.{key} has no {name!r}; expected a number "
                        f"({'m²' if name.startswith('cap') else 'yuan'})"
                    )
                    raise PolicyError(msg)
    by_grade = money.get("operating_by_grade") or {}
    if by_grade and by_grade["min_yuan"] > by_grade["max_yuan"]:
        msg = (
            f"{where}: money.operating_by_grade.min_yuan ({by_grade['min_yuan']!r}) exceeds "
            f"max_yuan ({by_grade['max_yuan']!r})"
        )
        raise PolicyError(msg)


def _fmt(value: float) -> str:
    """``2000000`` → ``"2,000,000"``; ``1499.5`` → ``"1,499.5"``."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _tier_names(tier: str) -> tuple[str, str]:
    return TIER_LABELS_ZH.get(tier, tier), TIER_LABELS_EN.get(tier, tier)


def _join(parts: Sequence[_Amount]) -> _Amount:
    """Sum the amounts (NaN when any is unknown) and join the reasons."""
    return _Amount(
        low=float(sum(p.low for p in parts)),
        high=float(sum(p.high for p in parts)),
        zh="；".join(p.zh for p in parts),
        en="; ".join(p.en for p in parts),
    )


def _exact(value: float, zh: str, en: str) -> _Amount:
    return _Amount(value, value, zh, en)


def _construction_flat(
    tier: str,
    area: float,
    social: bool | None,
    flat: Mapping[str, Any],
    *,
    label: tuple[str, str],
    social_column: bool,
) -> _Amount:
    tier_zh, tier_en = _tier_names(tier)
    lzh, len_ = label
    spec = flat.get(tier)
    if spec is None:
        if tier == "village_point" and "township_center" in flat:
            source = flat["township_center"].get("source", "")
            return _exact(
                0.0,
                f"{lzh}: {tier_zh}无单独建设补助；乡镇养老服务中心的补助含辖区内互助点 ({source})",
                f"{len_}: no separate construction subsidy for a {tier_en}; the township "
                f"centre's subsidy covers the points of its township ({source})",
            )
        return _exact(
            0.0,
            f"{lzh}: {tier_zh}无一次性建设补助标准",
            f"{len_}: no one-off construction subsidy for a {tier_en}",
        )
    yuan = float(spec["yuan"])
    source = spec.get("source", "")
    needs_social = tier in SOCIAL_CAPITAL_TIERS
    if social is False and needs_social:
        return _exact(
            0.0,
            f"{lzh}: 非社会力量投资建设，不享受{tier_zh} {_fmt(yuan)} 元建设补助 ({source})",
            f"{len_}: not built by social capital, so no {_fmt(yuan)} yuan construction "
            f"subsidy for a {tier_en} ({source})",
        )
    min_area = spec.get("min_area_m2")
    area_zh = area_en = ""
    if min_area is not None:
        if math.isnan(area):
            return _exact(
                math.nan,
                f"{lzh}: 建筑面积缺失，无法判断是否达到 {_fmt(min_area)} m²，"
                f"{tier_zh}建设补助 {_fmt(yuan)} 元未计 ({source})",
                f"{len_}: floor area missing, so whether it reaches {_fmt(min_area)} m² is "
                f"unknown; the {_fmt(yuan)} yuan subsidy for a {tier_en} is not counted "
                f"({source})",
            )
        if area < min_area:
            return _exact(
                0.0,
                f"{lzh}: 建筑面积 {_fmt(area)} m² 未达 {_fmt(min_area)} m²，无{tier_zh}建设补助 "
                f"({source})",
                f"{len_}: floor area {_fmt(area)} m² is below {_fmt(min_area)} m², so no "
                f"construction subsidy for a {tier_en} ({source})",
            )
        area_zh = f"（建筑面积 {_fmt(area)} m² ≥ {_fmt(min_area)} m²）"
        area_en = f" (floor area {_fmt(area)} m² ≥ {_fmt(min_area)} m²)"
    zh = f"{lzh}: {tier_zh} {_fmt(yuan)} 元{area_zh} ({source})"
    en = f"{len_}: {tier_en} {_fmt(yuan)} yuan{area_en} ({source})"
    if social is False:
        zh += "；不限社会力量投资建设，验收合格即可"
        en += "; not limited to social capital: passing inspection suffices"
    elif social is None and needs_social:
        why_zh = "无社会资本一栏" if not social_column else "社会资本一栏空白"
        why_en = "no social_capital column" if not social_column else "social_capital blank"
        zh += f"；{why_zh}，按社会力量投资建设计"
        en += f"; {why_en}: assumed built by social capital"
    return _exact(yuan, zh, en)


def _construction_per_m2(
    tier: str, area: float, per_m2: Mapping[str, Any], *, municipal: bool, label: tuple[str, str]
) -> _Amount:
    tier_zh, tier_en = _tier_names(tier)
    lzh, len_ = label
    source = per_m2.get("source", "")
    if tier not in URBAN_CENTRE_TIERS:
        return _exact(
            0.0,
            f"{lzh}: 按面积奖补只适用于城市社区养老服务中心，{tier_zh}不适用 ({source})",
            f"{len_}: the per-m² award is for urban community centres only, not a {tier_en} "
            f"({source})",
        )
    rate = float(per_m2["yuan_per_m2"])
    cap_key = "cap_m2_municipal" if municipal else "cap_m2_other"
    cap = float(per_m2[cap_key])
    where_zh, where_en = (
        ("市辖区", "in a municipal district")
        if municipal
        else ("非市辖区", "outside municipal districts")
    )
    if math.isnan(area):
        return _exact(
            math.nan,
            f"{lzh}: 建筑面积缺失，无法按 {_fmt(rate)} 元/m² 计算建设奖补 ({source})",
            f"{len_}: floor area missing, so the {_fmt(rate)} yuan/m² award cannot be worked "
            f"out ({source})",
        )
    counted = min(area, cap)
    amount = rate * counted
    capped_zh = (
        f"，{where_zh}上限 {_fmt(cap)} m²" if area > cap else f"，未超{where_zh}上限 {_fmt(cap)} m²"
    )
    capped_en = (
        f", capped at {_fmt(cap)} m² {where_en}"
        if area > cap
        else f", within the {_fmt(cap)} m² cap {where_en}"
    )
    return _exact(
        amount,
        f"{lzh}: {_fmt(rate)} 元/m² × {_fmt(counted)} m²（建筑面积 {_fmt(area)} m²{capped_zh}）"
        f"= {_fmt(amount)} 元 ({source})",
        f"{len_}: {_fmt(rate)} yuan/m² × {_fmt(counted)} m² (floor area {_fmt(area)} m²"
        f"{capped_en}) = {_fmt(amount)} yuan ({source})",
    )


def _construction(
    rows: _Rows, i: int, money: Mapping[str, Any], *, municipal: bool | None, label: tuple[str, str]
) -> _Amount:
    if rows.years[i] is None:
        return _exact(
            0.0,
            "现有设施（无开业年份），不计建设补助",
            "existing facility (no opening year): no construction subsidy counted",
        )
    parts = []
    if money.get("construction_flat"):
        parts.append(
            _construction_flat(
                rows.tiers[i],
                float(rows.area_m2[i]),
                rows.social[i],
                money["construction_flat"],
                label=label,
                social_column="social_capital" in rows.found,
            )
        )
    if money.get("construction_per_m2"):
        assert municipal is not None  # set by cost() whenever the table exists
        parts.append(
            _construction_per_m2(
                rows.tiers[i],
                float(rows.area_m2[i]),
                money["construction_per_m2"],
                municipal=municipal,
                label=label,
            )
        )
    if not parts:
        return _exact(0.0, "本政策无建设补助", "the profile has no construction subsidy")
    return _join(parts)


def _operating(rows: _Rows, i: int, money: Mapping[str, Any], *, label: tuple[str, str]) -> _Amount:
    tier = rows.tiers[i]
    tier_zh, tier_en = _tier_names(tier)
    lzh, len_ = label
    parts = []
    yearly = money.get("operating_yearly") or {}
    if yearly:
        spec = yearly.get(tier)
        if spec is None:
            parts.append(
                _exact(
                    0.0,
                    f"{lzh}: {tier_zh}无运营奖补标准",
                    f"{len_}: no operating award for a {tier_en}",
                )
            )
        else:
            yuan = float(spec["yuan"])
            source = spec.get("source", "")
            parts.append(
                _exact(
                    yuan,
                    f"{lzh}: {tier_zh} {_fmt(yuan)} 元/年 ({source})",
                    f"{len_}: {tier_en} {_fmt(yuan)} yuan a year ({source})",
                )
            )
    by_grade = money.get("operating_by_grade") or {}
    if by_grade:
        source = by_grade.get("source", "")
        if tier not in URBAN_CENTRE_TIERS:
            parts.append(
                _exact(
                    0.0,
                    f"{lzh}: 按等级运营补贴只适用于城市社区养老服务中心，"
                    f"{tier_zh}不适用 ({source})",
                    f"{len_}: the operating subsidy by grade is for urban community centres only, "
                    f"not a {tier_en} ({source})",
                )
            )
        else:
            low = float(by_grade["min_yuan"])
            high = float(by_grade["max_yuan"])
            grade = rows.grades[i]
            grade_zh = f"评定等级 {grade}" if grade else "未填评定等级"
            grade_en = f"grade {grade}" if grade else "no grade given"
            parts.append(
                _Amount(
                    low,
                    high,
                    f"{lzh}: 按等级 {_fmt(low)}–{_fmt(high)} 元/年（{grade_zh}；文件未规定各等级"
                    f"的金额） ({source})",
                    f"{len_}: {_fmt(low)}–{_fmt(high)} yuan a year by grade ({grade_en}; the "
                    f"document does not say which grade gets how much) ({source})",
                )
            )
    if not parts:
        return _exact(0.0, "本政策无运营补助", "the profile has no operating subsidy")
    return _join(parts)


def _bed(rows: _Rows, i: int, money: Mapping[str, Any], *, label: tuple[str, str]) -> _Amount:
    spec = money.get("bed_subsidy_monthly") or {}
    if not spec:
        return _exact(0.0, "本政策无床位补贴", "the profile has no bed subsidy")
    tier_zh, tier_en = _tier_names(rows.tiers[i])
    lzh, len_ = label
    source = spec.get("source", "")
    if rows.tiers[i] not in URBAN_CENTRE_TIERS:
        return _exact(
            0.0,
            f"{lzh}: 床位补贴只适用于城市社区养老服务中心，{tier_zh}不适用 ({source})",
            f"{len_}: the bed subsidy is for urban community centres only, not a {tier_en} "
            f"({source})",
        )
    rates = [float(spec[need]) for need in _NEEDS]
    present = [f in rows.found for f in RESIDENT_FIELDS]
    counts = rows.residents[i]
    if not any(present) or bool(np.isnan(counts).all()):
        why_zh = "无收住老人人数" if any(present) else "无收住老人人数一栏"
        why_en = "resident counts blank" if any(present) else "no resident count columns"
        fields = ", ".join(RESIDENT_FIELDS)
        return _exact(
            math.nan,
            f"{lzh}: {why_zh}（{fields}），床位补贴未计 ({source})",
            f"{len_}: {why_en} ({fields}); bed subsidy not counted ({source})",
        )
    known = np.nan_to_num(counts, nan=0.0)
    amount = 12.0 * float(np.dot(rates, known))
    terms = " + ".join(f"{_fmt(r)}×{_fmt(c)}" for r, c in zip(rates, known, strict=True))
    zh = f"{lzh}: 12 个月 × ({terms}) = {_fmt(amount)} 元/年 ({source})"
    en = f"{len_}: 12 months × ({terms}) = {_fmt(amount)} yuan a year ({source})"
    blank = [k for k in range(3) if np.isnan(counts[k])]
    if blank:
        zh += "；" + "、".join(_NEEDS_ZH[k] for k in blank) + "人数未填，按 0 计"
        en += "; " + ", ".join(_NEEDS_EN[k] for k in blank) + " count not given, taken as 0"
    return _exact(amount, zh, en)


def _facility_table(
    rows: _Rows, money: Mapping[str, Any], *, municipal: bool | None, label: tuple[str, str]
) -> pd.DataFrame:
    n = len(rows.ids)
    built = [_construction(rows, i, money, municipal=municipal, label=label) for i in range(n)]
    run = [_operating(rows, i, money, label=label) for i in range(n)]
    beds = [_bed(rows, i, money, label=label) for i in range(n)]
    low = np.array([a.low for a in run], dtype=float)
    high = np.array([a.high for a in run], dtype=float)
    return pd.DataFrame(
        {
            "id": rows.ids,
            "name": rows.names,
            "tier": rows.tiers,
            "township": rows.townships,
            "year": pd.array(rows.years, dtype="Int64"),
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


# --- the horizon ---------------------------------------------------------------------------


class _Horizon(NamedTuple):
    """Per facility: what counts within the horizon."""

    runs_from: np.ndarray  # first year operating within the horizon
    years: np.ndarray  # years operating within the horizon
    opening: np.ndarray  # opening year, NaN for existing facilities
    construction: np.ndarray  # construction counted in the horizon (NaN: unknown)
    bed: np.ndarray  # bed subsidy per year counted (NaN: unknown; 0 when not operating)


def _horizon(table: pd.DataFrame, *, start: int, end: int) -> _Horizon:
    opening = table["year"].to_numpy(dtype=float, na_value=np.nan)
    runs_from = np.where(np.isnan(opening), start, np.maximum(opening, start))
    n_years = np.clip(end - runs_from + 1, 0, None).astype(int)
    in_horizon = (opening >= start) & (opening <= end)  # False for NaN (existing)
    construction = np.where(in_horizon, table["construction_yuan"].to_numpy(dtype=float), 0.0)
    bed = np.where(n_years > 0, table["bed_subsidy_yuan_per_year"].to_numpy(dtype=float), 0.0)
    return _Horizon(runs_from, n_years, opening, construction, bed)


def _with_horizon(table: pd.DataFrame, horizon: _Horizon) -> pd.DataFrame:
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


def _per_year(table: pd.DataFrame, horizon: _Horizon, *, start: int, end: int) -> pd.DataFrame:
    low = table["operating_yuan_per_year_min"].to_numpy(dtype=float)
    high = table["operating_yuan_per_year_max"].to_numpy(dtype=float)
    records = []
    for year in range(start, end + 1):
        running = horizon.runs_from <= year
        opens = horizon.opening == year
        construction = float(np.nansum(horizon.construction[opens]))
        bed = float(np.nansum(horizon.bed[running]))
        unknown = (opens & np.isnan(horizon.construction)) | (running & np.isnan(horizon.bed))
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
            }
        )
    return pd.DataFrame.from_records(records, columns=list(PER_YEAR_COLUMNS))


def _per_township(table: pd.DataFrame, horizon: _Horizon) -> pd.DataFrame:
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
        }
    )
    grouped = parts.groupby("township", sort=True, as_index=False).sum()
    return grouped[list(PER_TOWNSHIP_COLUMNS)].reset_index(drop=True)


def _notes(
    rows: _Rows, money: Mapping[str, Any], table: pd.DataFrame, *, start: int, end: int
) -> list[str]:
    notes: list[str] = []
    opening = [y for y in rows.years if y is not None]
    if "year" not in rows.found:
        notes.append(
            "no 'year' column: every facility is treated as existing (no construction subsidy "
            "counted); give each proposed facility its opening year"
        )
    early = sum(1 for y in opening if y < start)
    late = sum(1 for y in opening if y > end)
    if early:
        notes.append(
            f"{early} facilit{'y opens' if early == 1 else 'ies open'} before {start}: "
            "construction falls before the horizon and is not in the totals; operating counts "
            f"from {start}"
        )
    if late:
        notes.append(
            f"{late} facilit{'y opens' if late == 1 else 'ies open'} after {end}: nothing of "
            "theirs is in the totals"
        )
    if money.get("construction_flat"):
        notes.append(
            "construction_flat: a one-off subsidy once a facility is approved and passes "
            "inspection (验收合格), for centres only when built by social capital "
            "(社会力量投资建设; not asked of stations, see SOCIAL_CAPITAL_TIERS); the costing "
            "assumes inspection is passed and counts it in the opening year"
        )
        if "social_capital" not in rows.found:
            notes.append(
                "no 'social_capital' column: every proposed centre is assumed built by social "
                "capital, so construction_flat amounts are upper bounds"
            )
    if money.get("construction_per_m2"):
        notes.append(
            "construction_per_m2: the municipal award (市级奖补) for new or renovated urban "
            "community centres (改造或新建), with the area caps that apply 'in principle' "
            "(原则上); counted in the opening year, though counties apply for it once a year "
            "for completed projects, so it may be paid the year after; purchased or rented "
            "premises are not covered and the county's own share is not included"
        )
    if money.get("operating_yearly"):
        notes.append(
            "operating_yearly: awards in place of subsidies (以奖代补), paid after the yearly "
            "evaluation; the full amount is assumed every year, the opening year in full"
        )
    if money.get("operating_by_grade"):
        notes.append(
            "operating_by_grade: the document gives a range by assessed grade without saying "
            "which grade gets how much, so operating amounts and totals are low–high ranges"
        )
    if money.get("bed_subsidy_monthly"):
        notes.append(
            "bed_subsidy_monthly: 12 × (yuan per resident-month × residents) for each need, "
            "residents as given (a yearly average)"
        )
    for table_name in MONEY_TABLES:
        spec = money.get(table_name) or {}
        entries = (
            [(f"money.{table_name}.{k}", v) for k, v in spec.items()]
            if table_name in ("construction_flat", "operating_yearly")
            else [(f"money.{table_name}", spec)]
        )
        for key, entry in entries:
            if isinstance(entry, Mapping) and entry.get("note"):
                notes.append(f"{key}: {entry['note']}")
    missing_area = int(table["construction_yuan"].isna().sum())  # only a missing area does it
    if missing_area:
        notes.append(
            f"{missing_area} proposed facilit{'y has' if missing_area == 1 else 'ies have'} no "
            "floor area where a construction rule needs one: construction is unknown (NaN) and "
            "left out of the totals; fill in area_m2"
        )
    no_beds = int(table["bed_subsidy_yuan_per_year"].isna().sum())
    if no_beds:
        notes.append(
            f"{no_beds} facilit{'y has' if no_beds == 1 else 'ies have'} no resident counts for "
            "the bed subsidy: unknown (NaN) and left out of the totals; add "
            + ", ".join(RESIDENT_FIELDS)
        )
    return notes


# --- output --------------------------------------------------------------------------------


def _csv_number(value: object) -> str:
    """Write whole numbers without ``.0`` and others to the fen (0.01 yuan) or 0.01 m²."""
    number = float(value)  # type: ignore[arg-type]  # pandas passes floats only
    return f"{number:.0f}" if number.is_integer() else f"{number:.2f}".rstrip("0")


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        msg = f"lang must be one of {', '.join(map(repr, LANGS))}; found {lang!r}"
        raise InputError(msg)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _display_facilities(table: pd.DataFrame, *, lang: str) -> pd.DataFrame:
    """The per-facility table with tier names, rule texts and headers in ``lang``."""
    out = table.copy()
    rules = ("construction_rule", "operating_rule", "bed_subsidy_rule")
    if lang == "en":
        for rule in rules:
            out[rule] = out[f"{rule}_en"]
    out = out.drop(columns=[f"{rule}_en" for rule in rules])
    labels = TIER_LABELS_ZH if lang == "zh" else TIER_LABELS_EN
    out["tier"] = out["tier"].map(lambda t: labels.get(t, t))
    if lang == "zh":
        out["complete"] = out["complete"].map({True: "是", False: "否"})
    return out.rename(columns=_headers(lang))


def _with_total(costing: Costing, key: str, *, lang: str) -> pd.DataFrame:
    """The per-year (``key="year"``) or per-township table with a total row appended."""
    frame = costing.per_year if key == "year" else costing.per_township
    out = frame.copy().astype({key: object})
    if key == "township":
        out[key] = out[key].map(lambda t: t or _NO_TOWNSHIP[lang])
    if out.empty:
        return out
    total = {str(k): v for k, v in costing.total.items()}
    total["incomplete_facilities"] = int(total["incomplete_facilities"])
    if key == "year":
        total["facilities_operating"] = None  # a count per year: its sum means nothing
        total["facilities_opening"] = int(frame["facilities_opening"].sum())
    else:
        total["facilities"] = int(frame["facilities"].sum())
    row = pd.DataFrame([{key: _TOTAL_LABEL[lang], **total}])
    return pd.concat([out, row[out.columns]], ignore_index=True)


def _display_totals(costing: Costing, key: str, *, lang: str) -> pd.DataFrame:
    return _with_total(costing, key, lang=lang).rename(columns=_headers(lang, key=key))


def _headers(lang: str, *, key: str = "") -> dict[str, str]:
    headers = dict(HEADERS_ZH if lang == "zh" else HEADERS_EN)
    if key == "year":
        headers["year"] = _YEAR_HEADER[lang]
    return headers


def _autofit(sheet: Any, frame: pd.DataFrame) -> None:
    """Widen the columns of an openpyxl sheet and show yuan with thousands separators."""
    from openpyxl.utils import get_column_letter

    for k, column in enumerate(frame.columns, start=1):
        texts = [str(column), *(str(v) for v in frame[column].head(200).tolist())]
        width = min(60, max(len(t) for t in texts) + 2)
        letter = get_column_letter(k)
        sheet.column_dimensions[letter].width = width
        if "元" in str(column) or "yuan" in str(column):
            for cell in sheet[letter][1:]:
                cell.number_format = "#,##0"


def _money_text(low: float, high: float) -> str:
    if math.isnan(low):
        return "?"
    if low == high:
        return _fmt(round(low, 2))
    return f"{_fmt(round(low, 2))}–{_fmt(round(high, 2))}"


def _facility_text(table: pd.DataFrame, *, lang: str) -> str:
    headers = _headers(lang)
    labels = TIER_LABELS_ZH if lang == "zh" else TIER_LABELS_EN
    out = pd.DataFrame(
        {
            headers["id"]: table["id"],
            headers["name"]: table["name"],
            headers["tier"]: table["tier"].map(lambda t: labels.get(t, t)),
            headers["year"]: table["year"].map(lambda y: "" if pd.isna(y) else str(y)),
            headers["construction_yuan"]: [
                _money_text(v, v) for v in table["construction_yuan"].astype(float)
            ],
            headers["operating_yuan_per_year"]: [
                _money_text(lo, hi)
                for lo, hi in zip(
                    table["operating_yuan_per_year_min"],
                    table["operating_yuan_per_year_max"],
                    strict=True,
                )
            ],
            headers["bed_subsidy_yuan_per_year"]: [
                _money_text(v, v) for v in table["bed_subsidy_yuan_per_year"].astype(float)
            ],
        }
    )
    return out.to_string(index=False)


def _totals_text(costing: Costing, key: str, *, lang: str) -> str:
    headers = _headers(lang, key=key)
    full = _with_total(costing, key, lang=lang)
    zh = lang == "zh"
    out = pd.DataFrame(
        {
            headers[key]: full[key],
            headers["construction_yuan"]: [_money_text(v, v) for v in full["construction_yuan"]],
            ("运营补助(元)" if zh else "operating (yuan)"): [
                _money_text(lo, hi)
                for lo, hi in zip(
                    full["operating_yuan_min"], full["operating_yuan_max"], strict=True
                )
            ],
            headers["bed_subsidy_yuan"]: [_money_text(v, v) for v in full["bed_subsidy_yuan"]],
            ("合计(元)" if zh else "total (yuan)"): [
                _money_text(lo, hi)
                for lo, hi in zip(full["total_yuan_min"], full["total_yuan_max"], strict=True)
            ],
            headers["incomplete_facilities"]: full["incomplete_facilities"].astype(int),
        }
    )
    return out.to_string(index=False)
