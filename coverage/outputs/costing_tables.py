"""The costing for people: tables with headers in a language, the workbook's look, terminal text.

:func:`_display_facilities` and :func:`_display_totals` give the sheets of ``costing.xlsx``
(:func:`_format_sheet` gives them the other workbooks' look), :func:`_facility_text` and
:func:`_totals_text` the tables of :func:`carecircle.costing.format_table`, and
:func:`_csv_number` the numbers of ``costing.csv``.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from .._cells import to_csv, to_sheet
from ..costing.costs import Costing
from ..costing.rules import fmt
from ..costing.schema import (
    HEADERS_EN,
    HEADERS_ZH,
    KNOWN_COLUMNS,
    LANGS,
    SHEETS,
    STATUS_LABELS_EN,
    STATUS_LABELS_ZH,
)
from ..plan_cost import PlanCosting
from ..terms import TIER_LABELS_EN, TIER_LABELS_ZH, YES_NO_WORDS, Lang, check_lang
from . import text
from ._files import COST_FILES, PLAN_COST_FILES, atomic
from ._sheets import format_sheet

logger = logging.getLogger(__name__)

_TOTAL_LABEL = {"zh": "合计", "en": "total"}
_YEAR_HEADER = {"zh": "年份", "en": "year"}  # per-year tables: a calendar year, not an opening
_NO_TOWNSHIP = {"zh": "(未填街道乡镇)", "en": "(no township)"}


def _csv_number(value: object) -> str:
    """Write whole numbers without ``.0`` and others to the fen (0.01 yuan) or 0.01 m²."""
    number = float(value)  # type: ignore[arg-type]  # pandas passes floats only
    return f"{number:.0f}" if number.is_integer() else f"{number:.2f}".rstrip("0")


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
    statuses = STATUS_LABELS_ZH if lang == "zh" else STATUS_LABELS_EN
    out["status"] = out["status"].map(lambda s: statuses.get(s, s))
    if lang == "zh":
        out["complete"] = out["complete"].map(YES_NO_WORDS["zh"])
    return out.rename(columns=_headers(lang))


def _with_total(frame: pd.DataFrame, total: pd.Series, key: str, *, lang: str) -> pd.DataFrame:
    """The per-year (``key="year"``) or per-township table with a total row appended.

    ``frame`` is :attr:`Costing.per_year` or :attr:`Costing.per_township` and ``total`` is
    :attr:`Costing.total` (see :class:`carecircle.costing.Costing`).
    """
    out = frame.copy().astype({key: object})
    if key == "township":
        out[key] = out[key].map(lambda t: t or _NO_TOWNSHIP[lang])
    if out.empty:
        return out
    sums = {str(k): v for k, v in total.items()}
    sums["incomplete_facilities"] = int(sums["incomplete_facilities"])
    for column in KNOWN_COLUMNS:  # the total is known when every row's is
        sums[column] = bool(frame[column].all())
    if key == "year":
        sums["facilities_operating"] = None  # a count per year: its sum means nothing
        sums["facilities_opening"] = int(frame["facilities_opening"].sum())
    else:
        sums["facilities"] = int(frame["facilities"].sum())
    row = pd.DataFrame([{key: _TOTAL_LABEL[lang], **sums}])
    return pd.concat([out, row[out.columns]], ignore_index=True)


def _display_totals(frame: pd.DataFrame, total: pd.Series, key: str, *, lang: str) -> pd.DataFrame:
    """The per-year or per-township sheet: :func:`_with_total` without the known flags."""
    full = _with_total(frame, total, key, lang=lang).drop(columns=list(KNOWN_COLUMNS))
    return full.rename(columns=_headers(lang, key=key))


def _lower_bounds(frame: pd.DataFrame, total: pd.Series, key: str) -> dict[str, list[bool]]:
    """Flag the lower bounds of a totals sheet: per money column, one flag per row.

    A row's sum is a lower bound when it leaves out an unknown amount; the total row is
    included, last.
    """
    full = _with_total(frame, total, key, lang="en")
    construction = ~full["construction_known"].astype(bool)
    bed = ~full["bed_subsidy_known"].astype(bool)
    either = (construction | bed).tolist()
    return {
        "construction_yuan": construction.tolist(),
        "bed_subsidy_yuan": bed.tolist(),
        "total_yuan_min": either,
        "total_yuan_max": either,
    }


_AT_LEAST_FORMAT = '"≥ "#,##0;-#,##0;"?"'
"""Excel number format of a sum that leaves out an unknown amount: ``≥ 600,000``, or ``?`` when
nothing of it is known. The cell keeps its number (the known part)."""


def _mark_lower_bounds(sheet: Any, frame: pd.DataFrame, rows: dict[str, list[bool]]) -> None:
    """Give the cells of an openpyxl sheet that are lower bounds :data:`_AT_LEAST_FORMAT`.

    ``frame`` is the sheet's table (headers in the sheet's language, so its columns are found
    by position) and ``rows`` maps a column of :data:`PER_YEAR_COLUMNS`-style names to one
    flag per data row.
    """
    from openpyxl.utils import get_column_letter

    names = [str(c) for c in frame.columns]
    for column, flags in rows.items():
        for lang in LANGS:
            header = _headers(lang).get(column, column)
            if header in names:
                letter = get_column_letter(names.index(header) + 1)
                for row, partial in enumerate(flags, start=2):
                    if partial:
                        sheet[f"{letter}{row}"].number_format = _AT_LEAST_FORMAT


def _headers(lang: str, *, key: str = "") -> dict[str, str]:
    headers = dict(HEADERS_ZH if lang == "zh" else HEADERS_EN)
    if key == "year":
        headers["year"] = _YEAR_HEADER[lang]
    return headers


def _format_sheet(sheet: Any, frame: pd.DataFrame) -> None:
    """Give an openpyxl sheet the look of carecircle's other workbooks.

    The header row frozen and filtered, columns sized to their contents (see
    :func:`carecircle.outputs._sheets.format_sheet`) and yuan shown with thousands separators.
    """
    money = ["#,##0" if "元" in str(c) or "yuan" in str(c) else None for c in frame.columns]
    format_sheet(sheet, frame, money)


def _money_text(low: float, high: float, *, known: bool = True) -> str:
    """An amount or a ``low–high`` range; ``?`` when unknown.

    ``known=False`` marks a sum that leaves out an unknown amount: it shows as ``≥ low``, or
    ``?`` when nothing of it is known (``low`` is 0), never as a plain number.
    """
    if math.isnan(low) or (not known and low == 0):
        return "?"
    if not known:
        return f"≥ {fmt(round(low, 2))}"
    if low == high:
        return fmt(round(low, 2))
    return f"{fmt(round(low, 2))}–{fmt(round(high, 2))}"


def _facility_text(table: pd.DataFrame, *, lang: str) -> str:
    headers = _headers(lang)
    labels = TIER_LABELS_ZH if lang == "zh" else TIER_LABELS_EN
    statuses = STATUS_LABELS_ZH if lang == "zh" else STATUS_LABELS_EN
    columns = {
        headers["id"]: [_cell(v) for v in table["id"]],
        headers["name"]: [_cell(v) for v in table["name"]],
        headers["tier"]: [_cell(labels.get(t, t)) for t in table["tier"]],
        headers["year"]: [_cell(y) for y in table["year"]],
        headers["status"]: [_cell(statuses.get(s, s)) for s in table["status"]],
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
    return _columns_text(columns, align="lllrlrrr")  # id, name, tier, year, status, yuan


def _columns_text(columns: dict[str, list[str]], *, align: str) -> str:
    """A terminal table (:func:`carecircle.outputs.text.table`) of columns by their headers."""
    return text.table(list(zip(*columns.values(), strict=True)), header=list(columns), align=align)


def _cell(value: Any) -> str:
    """A value as a table shows it: blank when missing."""
    return "" if value is None or value is pd.NA or value != value else str(value)


def _totals_text(frame: pd.DataFrame, total: pd.Series, key: str, *, lang: str) -> str:
    headers = _headers(lang, key=key)
    full = _with_total(frame, total, key, lang=lang)
    construction_known = full["construction_known"].astype(bool).tolist()
    bed_known = full["bed_subsidy_known"].astype(bool).tolist()
    known = [c and b for c, b in zip(construction_known, bed_known, strict=True)]
    zh = lang == "zh"
    columns = {
        headers[key]: [_cell(v) for v in full[key]],
        headers["construction_yuan"]: [
            _money_text(v, v, known=k)
            for v, k in zip(full["construction_yuan"], construction_known, strict=True)
        ],
        ("运营补助(元)" if zh else "operating (yuan)"): [
            _money_text(lo, hi)
            for lo, hi in zip(full["operating_yuan_min"], full["operating_yuan_max"], strict=True)
        ],
        headers["bed_subsidy_yuan"]: [
            _money_text(v, v, known=k)
            for v, k in zip(full["bed_subsidy_yuan"], bed_known, strict=True)
        ],
        ("合计(元)" if zh else "total (yuan)"): [
            _money_text(lo, hi, known=k)
            for lo, hi, k in zip(full["total_yuan_min"], full["total_yuan_max"], known, strict=True)
        ],
        headers["incomplete_facilities"]: [
            str(n) for n in full["incomplete_facilities"].astype(int)
        ],
    }
    return _columns_text(columns, align="l" + "r" * (len(columns) - 1))  # year or township


def write(
    costing: Costing, out_dir: str | os.PathLike[str], *, lang: Lang = "zh"
) -> dict[str, Path]:
    """Write ``costing.csv`` and ``costing.xlsx`` into ``out_dir``.

    Each file is written to a temporary name beside its target and moved into place only when
    complete.

    Parameters
    ----------
    costing : Costing
        The result of :func:`carecircle.costing.cost`.
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
        in ``lang`` (sheet names in :data:`SHEETS`).

    Raises
    ------
    InputError
        For an unknown ``lang``.
    ImportError
        When openpyxl, needed for the workbook, is not installed.

    """
    check_lang(lang)
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        msg = "writing costing.xlsx needs openpyxl: pip install openpyxl"
        raise ImportError(msg) from exc
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    facilities = _display_facilities(costing.facilities, lang=lang)
    per_year = _display_totals(costing.per_year, costing.total, "year", lang=lang)
    per_township = _display_totals(costing.per_township, costing.total, "township", lang=lang)
    notes = pd.DataFrame({"说明" if lang == "zh" else "note": list(_notes_in(costing, lang))})
    csv_path = folder / COST_FILES["csv"]
    with atomic(csv_path) as tmp:
        to_csv(costing.facilities, tmp, float_format=_csv_number)
    xlsx_path = folder / COST_FILES["xlsx"]
    sheets = SHEETS[lang]
    incomplete = (~costing.facilities["complete"].astype(bool)).tolist()
    bounds = [
        {"horizon_total_yuan_min": incomplete, "horizon_total_yuan_max": incomplete},
        _lower_bounds(costing.per_year, costing.total, "year"),
        _lower_bounds(costing.per_township, costing.total, "township"),
        {},
    ]
    frames = (facilities, per_year, per_township, notes)
    with atomic(xlsx_path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for frame, sheet, rows in zip(frames, sheets, bounds, strict=True):
            written = to_sheet(writer, frame, sheet)
            _format_sheet(written, frame)
            _mark_lower_bounds(written, frame, rows)
    return {"csv": csv_path, "xlsx": xlsx_path}


def format_table(costing: Costing, *, lang: Lang = "zh") -> str:
    """Render a costing as plain text for a terminal.

    Parameters
    ----------
    costing : Costing
        The result of :func:`carecircle.costing.cost`.
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The horizon, the per-facility amounts (without rule texts), the per-year and
        per-township totals with a total row, and the notes (in ``lang``). A range shows as
        ``low–high``, an unknown amount as ``?``, and a total that leaves out an unknown amount
        as ``≥ N`` (its known part), or ``?`` when nothing of it is known.

    Raises
    ------
    InputError
        For an unknown ``lang``.

    """
    check_lang(lang)
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
        for frame, key, title in (
            (costing.per_year, "year", "逐年合计" if zh else "per year"),
            (costing.per_township, "township", "分街道乡镇合计" if zh else "per township"),
        ):
            lines += ["", title, _totals_text(frame, costing.total, key, lang=lang)]
    if costing.notes:
        lines += ["", "说明:" if zh else "notes:"]
        lines += [f"- {note}" for note in _notes_in(costing, lang)]
    return "\n".join(lines)


def _notes_in(costing: Costing, lang: str) -> tuple[str, ...]:
    """The notes in ``lang``: English when a Costing was made without its Chinese notes."""
    if lang == "zh" and len(costing.notes_zh) == len(costing.notes):
        return costing.notes_zh
    return costing.notes


# --- a plan costed year by year (cost --plan) ----------------------------------------------

_PLAN_HEADERS = {
    "zh": {
        "year": "年份",
        "centres_built": "新建中心",
        "stations_built": "新建站点",
        "centres_operating": "享受运营奖补的中心",
        "stations_operating": "享受运营奖补的站点",
        "construction_yuan_min": "建设补助下限(元)",
        "construction_yuan_max": "建设补助上限(元)",
        "operating_yuan_min": "运营补助下限(元)",
        "operating_yuan_max": "运营补助上限(元)",
        "bed_subsidy_yuan_min": "床位补贴下限(元)",
        "bed_subsidy_yuan_max": "床位补贴上限(元)",
        "total_yuan_min": "当年合计下限(元)",
        "total_yuan_max": "当年合计上限(元)",
        "cumulative_yuan_min": "累计下限(元)",
        "cumulative_yuan_max": "累计上限(元)",
        "unknown_facilities": "金额未知的设施",
        "construction_complete": "建设补助完整",
        "operating_complete": "运营补助完整",
        "bed_subsidy_complete": "床位补贴完整",
        "complete": "当年合计完整",
        "cumulative_complete": "累计完整",
        "tier": "设施类型",
        "kind": "城乡",
        "construction_yuan": "建设补助(元)",
        "operating_yuan_per_year_min": "年运营补助下限(元)",
        "operating_yuan_per_year_max": "年运营补助上限(元)",
        "bed_subsidy_yuan_per_year": "年床位补贴(元)",
        "construction_rule": "建设补助依据",
        "operating_rule": "运营补助依据",
        "bed_subsidy_rule": "床位补贴依据",
    },
    "en": {
        "year": "year",
        "centres_built": "centres built",
        "stations_built": "stations and points built",
        "centres_operating": "centres with an operating award",
        "stations_operating": "stations and points with an operating award",
        "construction_yuan_min": "construction, least (yuan)",
        "construction_yuan_max": "construction, most (yuan)",
        "operating_yuan_min": "operating, least (yuan)",
        "operating_yuan_max": "operating, most (yuan)",
        "bed_subsidy_yuan_min": "bed subsidy, least (yuan)",
        "bed_subsidy_yuan_max": "bed subsidy, most (yuan)",
        "total_yuan_min": "year's total, least (yuan)",
        "total_yuan_max": "year's total, most (yuan)",
        "cumulative_yuan_min": "cumulative, least (yuan)",
        "cumulative_yuan_max": "cumulative, most (yuan)",
        "unknown_facilities": "facilities with an unknown amount",
        "construction_complete": "construction complete",
        "operating_complete": "operating complete",
        "bed_subsidy_complete": "bed subsidy complete",
        "complete": "year's total complete",
        "cumulative_complete": "cumulative complete",
        "tier": "tier",
        "kind": "kind",
        "construction_yuan": "construction (yuan)",
        "operating_yuan_per_year_min": "operating a year, least (yuan)",
        "operating_yuan_per_year_max": "operating a year, most (yuan)",
        "bed_subsidy_yuan_per_year": "bed subsidy a year (yuan)",
        "construction_rule": "construction rule",
        "operating_rule": "operating rule",
        "bed_subsidy_rule": "bed subsidy rule",
    },
}
_PLAN_SHEETS = {"zh": ("逐年", "单价", "说明"), "en": ("per year", "prices", "notes")}


def _plan_notes(result: PlanCosting, lang: str) -> tuple[str, ...]:
    return result.notes_zh if lang == "zh" else result.notes


def write_plan(
    result: PlanCosting, out_dir: str | os.PathLike[str], *, lang: Lang = "zh"
) -> dict[str, Path]:
    """Write ``cost_by_year.csv`` and ``cost_by_year.xlsx`` into ``out_dir``.

    Parameters
    ----------
    result : PlanCosting
        The result of :func:`carecircle.plan_cost.cost_plan`.
    out_dir : str or os.PathLike
        Folder for the files; created when missing.
    lang : str
        ``"zh"`` (Chinese headers, tier names and rule texts) or ``"en"``.

    Returns
    -------
    dict of str to pathlib.Path
        ``{"by_year": ..., "by_year_xlsx": ...}``. The CSV holds :attr:`PlanCosting.by_year`
        with its English column names (:data:`carecircle.plan_cost.BY_YEAR_COLUMNS`); the
        workbook, for people, has the years (a year whose total leaves an amount out marked as
        in ``costing.xlsx``), the price of each tier with its rules, and the notes, in
        ``lang``.

    """
    check_lang(lang)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / PLAN_COST_FILES["by_year"]
    with atomic(csv_path) as tmp:
        to_csv(result.by_year, tmp, float_format=_csv_number)
    headers = _PLAN_HEADERS[lang]
    yes_no = YES_NO_WORDS[lang]
    years = result.by_year.copy()
    flags = [c for c in years.columns if c.endswith("complete")]
    for column in flags:
        years[column] = [yes_no[bool(v)] for v in years[column]]
    prices = result.prices.copy()
    rules = ("construction_rule", "operating_rule", "bed_subsidy_rule")
    if lang == "en":
        for rule in rules:
            prices[rule] = prices[f"{rule}_en"]
    prices = prices.drop(columns=[f"{rule}_en" for rule in rules])
    labels = TIER_LABELS_ZH if lang == "zh" else TIER_LABELS_EN
    prices["tier"] = prices["tier"].map(lambda t: labels.get(t, t))
    if lang == "zh":
        prices["kind"] = prices["kind"].map({"urban": "城市", "rural": "农村"})
    notes = pd.DataFrame({"说明" if lang == "zh" else "note": list(_plan_notes(result, lang))})
    low = {
        headers[f"{amount}_{end}"]: (~result.by_year[flag].astype(bool)).tolist()
        for amount, flag in _FLAGS.items()
        for end in ("min", "max")
    }
    xlsx_path = folder / PLAN_COST_FILES["by_year_xlsx"]
    frames = (years.rename(columns=headers), prices.rename(columns=headers), notes)
    marks: tuple[dict[str, list[bool]], ...] = (low, {}, {})
    with atomic(xlsx_path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for frame, sheet, rows in zip(frames, _PLAN_SHEETS[lang], marks, strict=True):
            written = to_sheet(writer, frame, sheet)
            _format_sheet(written, frame)
            _mark_lower_bounds(written, frame, rows)
    return {"by_year": csv_path, "by_year_xlsx": xlsx_path}


_FLAGS = {
    "construction_yuan": "construction_complete",
    "operating_yuan": "operating_complete",
    "bed_subsidy_yuan": "bed_subsidy_complete",
    "total_yuan": "complete",
    "cumulative_yuan": "cumulative_complete",
}
"""Each money column pair of ``cost_by_year.csv`` and the flag saying it leaves nothing out."""


def _partial_text(low: float, high: float, *, known: bool) -> str:
    """An amount or range; one that leaves an amount out shows what is known ``+ ?``."""
    if known:
        return _money_text(low, high)
    if low == high == 0:
        return "?"
    return f"{_money_text(low, high)} + ?"


def format_plan(result: PlanCosting, *, lang: Lang = "zh") -> str:
    """Render a plan's costing as plain text for a terminal: the years, then the notes.

    A range shows as ``low–high``; an amount that leaves something out as its known part
    followed by ``+ ?``, or ``?`` when nothing of it is known.
    """
    check_lang(lang)
    zh = lang == "zh"
    end = result.first_year + result.years - 1
    table = result.by_year

    def money(name: str) -> list[str]:
        known = table[_FLAGS[name]].astype(bool)
        return [
            _partial_text(float(lo), float(hi), known=k)
            for lo, hi, k in zip(table[f"{name}_min"], table[f"{name}_max"], known, strict=True)
        ]

    columns = {
        ("年份" if zh else "year"): [str(y) for y in table["year"]],
        ("新建中心/站点" if zh else "built: centres/stations"): [
            f"{c}/{s}" for c, s in zip(table["centres_built"], table["stations_built"], strict=True)
        ],
        ("建设补助(元)" if zh else "construction (yuan)"): money("construction_yuan"),
        ("运营补助(元)" if zh else "operating (yuan)"): money("operating_yuan"),
        ("床位补贴(元)" if zh else "bed subsidy (yuan)"): money("bed_subsidy_yuan"),
        ("当年合计(元)" if zh else "year's total (yuan)"): money("total_yuan"),
        ("累计(元)" if zh else "cumulative (yuan)"): money("cumulative_yuan"),
    }
    lines = [
        (
            f"政策: {result.policy_name}; 计划逐年测算 {result.first_year}–{end} "
            f"({result.years} 年)"
            if zh
            else f"policy: {result.policy_name}; the plan year by year, {result.first_year}–{end} "
            f"({result.years} years)"
        ),
        "",
        _columns_text(columns, align="l" + "r" * (len(columns) - 1)),
    ]
    if result.notes:
        lines += ["", "说明:" if zh else "notes:"]
        lines += [f"- {note}" for note in _plan_notes(result, lang)]
    return "\n".join(lines)
