"""Reading and checking the facility rows a costing works on.

:func:`parse_rows` turns the facility table given to :func:`carecircle.costing.cost` into
:class:`Rows`, one checked entry per facility, raising an :class:`InputError` that names the
row, id, column and bad value; :func:`check_year_value` and :func:`default_start` check and
choose the first year of the horizon.
"""

from __future__ import annotations

import datetime
import logging
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validate import Where, as_text, is_nan_text, resolve_columns
from ..errors import InputError, MissingColumnError
from ..terms import KIND_NAMES, NO_TEXTS, TIERS, YES_NO_EXPECTED, YES_TEXTS
from .schema import (
    OPTIONAL_ALIASES,
    PROPOSAL_COLUMN,
    RESIDENT_FIELDS,
    STATUS_WORDS,
    Note,
)

logger = logging.getLogger(__name__)

_YEAR_RANGE = (1900, 2100)


@dataclass(frozen=True)
class Rows:
    """The checked input columns, one entry per facility."""

    ids: list[str]
    names: list[str]
    tiers: list[str]
    townships: list[str]
    years: list[int | None]
    status: list[str]  # how each is taken: one of costing.STATUSES
    area_m2: np.ndarray
    social: list[bool | None]
    grades: list[str]
    kinds: list[str]  # the community kind (urban, rural) where the facility stands, "" if blank
    residents: np.ndarray  # (n, 3), NaN where blank or the column is absent
    found: frozenset[str]  # optional fields present in the input
    proposal: bool  # a table of proposed sites (it has PROPOSAL_COLUMN)

    @property
    def opening_years(self) -> list[int]:
        """The years of the facilities to be built that have one (``planned``)."""
        pairs = zip(self.years, self.status, strict=True)
        return [y for y, s in pairs if s == "planned" and y is not None]


def _bad(
    where: Where, position: int, ident: str, column: str, value: Any, expected: str
) -> InputError:
    who = f" (id {ident!r})" if ident else ""
    msg = (
        f"{where.path}: {where.row(position)}{who}, column {column!r}: found {value!r}; "
        f"expected {expected}"
    )
    return InputError(msg)


def _where(source: str | os.PathLike[str] | None, frame: object) -> Where:
    """Where the facility rows come from: the file named, with a CSV's lines or Excel's rows.

    A workbook's Excel rows are those its reader kept in the frame's ``attrs``.
    """
    if source is None:
        return Where(Path("facilities"))
    return Where.of(Path(source), frame if isinstance(frame, pd.DataFrame) else None)


def parse_rows(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None,
    source: str | os.PathLike[str] | None = None,
) -> Rows:
    """The facility table checked, one entry per facility, as :class:`Rows`.

    ``columns`` maps the optional fields to the table's own column names; ``source`` names
    the file in errors. Raises :class:`InputError` naming the row, id, column and value.
    """
    where = _where(source, frame)
    if not isinstance(frame, pd.DataFrame):
        msg = f"facilities must be a pandas DataFrame, found {type(frame).__name__}"
        raise InputError(msg)
    gpd = sys.modules.get("geopandas")  # a GeoDataFrame exists only once geopandas is loaded
    geometry = frame.geometry.name if gpd and isinstance(frame, gpd.GeoDataFrame) else None
    names = [str(c) for c in frame.columns if c != geometry]
    for field in ("id", "name", "tier"):
        if field not in names:
            msg = (
                f"{where.path}: missing column {field!r}; columns found: "
                f"{', '.join(repr(c) for c in names)}; expected the table "
                "carecircle.inputs.read_facilities returns"
            )
            raise MissingColumnError(msg)
    free = [c for c in names if c not in ("id", "name", "tier", "area_m2")]
    col = resolve_columns(
        free, aliases=OPTIONAL_ALIASES, required=(), columns=columns, path=where.path
    )
    n = len(frame)
    ids = as_text(frame["id"])
    tiers = []
    for position, (ident, tier) in enumerate(zip(ids, frame["tier"].tolist(), strict=True)):
        if tier not in TIERS:
            raise _bad(where, position, ident, "tier", tier, f"one of {', '.join(TIERS)}")
        tiers.append(str(tier))
    area = (
        _numbers(frame["area_m2"], where, ids, "area_m2", "a floor area in m², 0 or more")
        if "area_m2" in names
        else np.full(n, np.nan)
    )
    residents = np.full((n, 3), np.nan)
    for k, field in enumerate(RESIDENT_FIELDS):
        if field in col:
            residents[:, k] = _numbers(
                frame[col[field]], where, ids, col[field], "a number of residents, 0 or more"
            )
    years: list[int | None] = (
        _years(frame[col["year"]], where, ids, col["year"]) if "year" in col else [None] * n
    )
    proposal = PROPOSAL_COLUMN in names
    given = (
        _given_status(frame[col["status"]], years, where, ids, col["status"])
        if "status" in col
        else [""] * n
    )
    status = [_status(g, y, proposal=proposal) for g, y in zip(given, years, strict=True)]
    return Rows(
        ids=ids,
        names=as_text(frame["name"]),
        tiers=tiers,
        townships=as_text(frame[col["township"]]) if "township" in col else [""] * n,
        years=years,
        status=status,
        area_m2=area,
        social=(
            _flags(frame[col["social_capital"]], where, ids, col["social_capital"])
            if "social_capital" in col
            else [None] * n
        ),
        grades=as_text(frame[col["grade"]]) if "grade" in col else [""] * n,
        kinds=_kinds(frame[col["kind"]], where, ids, col["kind"]) if "kind" in col else [""] * n,
        residents=residents,
        found=frozenset(col),
        proposal=proposal,
    )


def _numbers(
    values: pd.Series, where: Where, ids: Sequence[str], column: str, expected: str
) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for position, (value, text) in enumerate(zip(values.tolist(), as_text(values), strict=True)):
        if is_nan_text(value):  # 'not a number' written out: refused, a blank cell is unknown
            blank = f"{expected} (a blank cell where it is unknown)"
            raise _bad(where, position, ids[position], column, value, blank)
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            raise _bad(where, position, ids[position], column, value, expected) from None
        if not math.isfinite(number) or number < 0:
            raise _bad(where, position, ids[position], column, value, expected)
        out[position] = number
    return out


def _years(values: pd.Series, where: Where, ids: Sequence[str], column: str) -> list[int | None]:
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
            raise _bad(where, position, ids[position], column, value, expected) from None
        if not number.is_integer() or not low <= number <= high:
            raise _bad(where, position, ids[position], column, value, expected)
        out.append(int(number))
    return out


def _given_status(
    values: pd.Series,
    years: Sequence[int | None],
    where: Where,
    ids: Sequence[str],
    column: str,
) -> list[str]:
    """The input statuses as their :data:`STATUS_WORDS` keys, ``""`` where blank.

    A site the plan leaves out (``after_the_horizon``, ``over_a_year_budget``) has no year to
    open in, so one with a ``year`` is refused.
    """
    words = {word.lower(): key for key, group in STATUS_WORDS.items() for word in group}
    codes = ", ".join(group[0] for group in STATUS_WORDS.values())
    others = ", ".join(word for group in STATUS_WORDS.values() for word in group[1:])
    out: list[str] = []
    for position, (value, text) in enumerate(zip(values.tolist(), as_text(values), strict=True)):
        key = words.get(text.lower(), "") if text else ""
        if text and not key:
            expected = f"one of {codes} (or {others}), or blank"
            raise _bad(where, position, ids[position], column, value, expected)
        if key in ("after_the_horizon", "over_a_year_budget") and years[position] is not None:
            expected = (
                f"existing, planned or proposed beside its year {years[position]} (a site the "
                "plan leaves out has no year)"
            )
            raise _bad(where, position, ids[position], column, value, expected)
        out.append(key)
    return out


def _status(given: str, year: int | None, *, proposal: bool) -> str:
    """How a facility is costed (one of :data:`STATUSES`), from its status word and year.

    A year makes a facility ``planned`` (opening that year) unless its status says it exists.
    Without a year, ``planned`` or ``proposed`` make it ``proposed``; a blank status makes it
    ``existing``, except in a table of proposed sites, where it is ``unknown``.
    """
    if given == "existing":
        return "existing"
    if year is not None:
        return "planned"
    if given in ("planned", "proposed"):
        return "proposed"
    if given:
        return given
    return "unknown" if proposal else "existing"


def _kinds(values: pd.Series, where: Where, ids: Sequence[str], column: str) -> list[str]:
    """The community kinds (``urban``, ``rural``) of the facilities, ``""`` where blank."""
    out: list[str] = []
    for position, text in enumerate(as_text(values)):
        kind = KIND_NAMES.get(text.lower(), "") if text else ""
        if text and not kind:
            expected = f"a community kind: one of {', '.join(KIND_NAMES)}, or blank"
            raise _bad(where, position, ids[position], column, values.iloc[position], expected)
        out.append(kind)
    return out


def _flags(values: pd.Series, where: Where, ids: Sequence[str], column: str) -> list[bool | None]:
    out: list[bool | None] = []
    for position, (value, text) in enumerate(zip(values.tolist(), as_text(values), strict=True)):
        key = text.lower()
        if isinstance(value, bool | np.bool_):
            out.append(bool(value))
        elif not key:
            out.append(None)
        elif key in YES_TEXTS:
            out.append(True)
        elif key in NO_TEXTS:
            out.append(False)
        else:
            expected = YES_NO_EXPECTED
            raise _bad(where, position, ids[position], column, value, expected)
    return out


def check_year_value(value: Any, name: str) -> None:
    """Raise :class:`InputError` unless ``value`` is a whole calendar year in range."""
    low, high = _YEAR_RANGE
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= high
    ):
        msg = f"{name} must be a calendar year from {low} to {high}; found {value!r}"
        raise InputError(msg)


def default_start(years: Sequence[int | None], notes: list[Note]) -> int:
    """The horizon's first year when none is given, with a note saying how it was chosen."""
    opening = [y for y in years if y is not None]
    if opening:
        start = min(opening)
        notes.append(
            Note(
                f"未指定起始年份：测算期从最早的开业年份（{start}年）开始",
                f"first_year not given: the horizon starts at the earliest opening year, {start}",
            )
        )
        return start
    start = datetime.date.today().year
    notes.append(
        Note(
            f"未指定起始年份，且没有设施填写开业年份：测算期从今年（{start}年）开始",
            f"first_year not given and no facility has an opening year: the horizon starts in "
            f"the current year, {start}",
        )
    )
    return start
