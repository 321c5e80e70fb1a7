"""The care map (关爱地图): counts per community, inside each circle, with small counts suppressed.

万州府办发〔2020〕28号 §二(二)6 asks for a care map of the older residents in special hardship
(高龄、独居、空巢、失能等). :func:`care_map` turns a :class:`~carecircle.inputs.care.CareTable`
and an analysis's communities into the table every output publishes (:class:`CareMap`):

* each community's counts (people needing care, each category, home-care beds, retrofits);
* per circle, how many of them live within it: **exact** for a records table (each person's
  walk measured from their home, :func:`carecircle.pipeline.analyze`), an **estimate** for a
  counts table (the count times the community's covered share of older residents, rounded),
  said so on every row (``within_basis``) and in every total;
* disclosure control (:func:`suppress`): a count from 1 to ``min_count`` − 1 is left blank and
  flagged, and more cells are withheld so that none can be worked out from a total.

Only this published table leaves the module; an :class:`~carecircle.pipeline.Analysis` keeps
nothing else of the care table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .inputs.care import CARE_CATEGORIES, CARE_FIELDS, CareTable

WITHIN_FIELDS: tuple[str, ...] = ("people", *CARE_CATEGORIES)
"""The counts of each circle: people needing care, and each category, living within it."""

EXACT = "exact: each record's home walked to the circle's facilities"
ESTIMATE = "estimate: the community's count × its share of (older) residents within, rounded"
"""The ``within_basis`` of a care map's rows: how its counts within each circle were found."""

SUPPRESSED = "suppressed"
"""The flag of a cell withheld so that a small count cannot be worked out (secondary)."""

_MAX_ROUNDS = 50


def small_flag(min_count: int) -> str:
    """The flag of a count below ``min_count`` (primary suppression): ``<5``."""
    return f"<{min_count}"


def within_column(circle: str, name: str) -> str:
    """The column of the count of ``name`` within ``circle``: ``eldercare_people_within``."""
    return f"{circle}_{name}_within"


@dataclass(frozen=True)
class CareMap:
    """The published care map: only counts safe to show.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per community, in input order: ``id``, ``name``, ``township``, ``kind``, the
        counts of :data:`~carecircle.inputs.care.CARE_FIELDS`, then per circle
        ``<circle>_<field>_within`` for :data:`WITHIN_FIELDS` and ``<circle>_people_share``,
        then ``within_basis`` (:data:`EXACT` or :data:`ESTIMATE`), ``people_basis`` and
        ``suppressed`` (each withheld cell's column and flag, ``;``-separated). Withheld
        cells are NaN; a count not given is NaN without a flag.
    totals : pandas.DataFrame
        The district's totals: ``field``, ``value`` (NaN where withheld), ``flag``,
        ``basis``; the records outside every community last (``field`` ``outside_people``,
        ...).
    exact : bool
        True for counts within the circles found from records, False for estimates.
    min_count : int
        The smallest count shown.
    circles : tuple of str
        The circles counted.
    note : str
        A line every human-facing output shows with the map (the demo's: its counts are
        invented).

    """

    table: pd.DataFrame
    totals: pd.DataFrame
    exact: bool
    min_count: int
    circles: tuple[str, ...] = field(default=())
    note: str = ""

    @property
    def count_columns(self) -> list[str]:
        """Every column of :attr:`table` holding a count (suppressed or not)."""
        within = [within_column(c, f) for c in self.circles for f in WITHIN_FIELDS]
        return [*CARE_FIELDS, *within]


def care_map(
    communities: pd.DataFrame,
    care: CareTable,
    *,
    circles: Sequence[str],
    min_count: int,
    within: Mapping[str, np.ndarray] | None = None,
) -> CareMap:
    """Build the published care map.

    Parameters
    ----------
    communities : pandas.DataFrame
        An analysis's communities (input order), with ``<circle>_share`` for every circle.
    care : CareTable
        The care table, counted per community (same communities, same order).
    circles : sequence of str
        The circles measured.
    min_count : int, keyword-only
        The smallest count shown (the profile's ``[care_map] min_count``).
    within : mapping of str to numpy.ndarray, optional, keyword-only
        For a records table: per circle, the exact count of each of :data:`WITHIN_FIELDS`
        (columns) living within it, per community (rows). Without it the counts within are
        estimated from the communities' covered shares.

    Returns
    -------
    CareMap

    """
    counts = care.counts
    base = {
        c: communities[c].to_numpy() for c in ("id", "name", "township", "kind") if c in communities
    }
    values: dict[str, np.ndarray] = {f: counts[f].to_numpy(dtype=float) for f in CARE_FIELDS}
    exact = within is not None
    for circle in circles:
        if within is not None:
            inside = np.asarray(within[circle], dtype=float)
            for j, name in enumerate(WITHIN_FIELDS):
                values[within_column(circle, name)] = np.where(
                    np.isnan(values[name]), np.nan, inside[:, j]
                )
            continue
        share = communities[f"{circle}_share"].to_numpy(dtype=float)
        for name in WITHIN_FIELDS:
            values[within_column(circle, name)] = np.round(values[name] * share)
    columns = list(values)
    matrix = np.column_stack([values[c] for c in columns])
    rows = [
        [columns.index(c) for c in (*CARE_CATEGORIES, "people")]
        if care.people_basis == "sum of categories"
        else []
    ]
    if care.people_basis == "sum of categories":
        rows += [
            [columns.index(within_column(c, f)) for f in (*CARE_CATEGORIES, "people")]
            for c in circles
        ]
    complements = [
        (columns.index(within_column(c, f)), columns.index(f))
        for c in circles
        for f in WITHIN_FIELDS
    ]
    primary, secondary, total_withheld = suppress(
        matrix, min_count=min_count, rows=[r for r in rows if r], complements=complements
    )
    shown = np.where(primary | secondary, np.nan, matrix)
    table = pd.DataFrame(base)
    for j, column in enumerate(columns):
        table[column] = pd.array(
            [pd.NA if np.isnan(v) else int(v) for v in shown[:, j]], dtype="Int64"
        )
        if column.endswith("_people_within"):
            circle = column.removesuffix("_people_within")
            people = shown[:, columns.index("people")]  # withheld: NaN, so no share
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(people > 0, shown[:, j] / people, np.nan)
            table[f"{circle}_people_share"] = np.round(share, 4)
    table["within_basis"] = EXACT if exact else ESTIMATE
    table["people_basis"] = care.people_basis
    flag = small_flag(min_count)
    table["suppressed"] = _flags(columns, primary, secondary, flag)
    for part, whole in complements:  # the district's people outside a circle, too
        rest = np.nansum(matrix[:, whole]) - np.nansum(matrix[:, part])
        total_withheld[part] |= bool(1 <= rest < min_count)
    totals = _totals(matrix, columns, total_withheld, care, circles, min_count, exact=exact)
    return CareMap(table, totals, exact=exact, min_count=min_count, circles=tuple(circles))


def suppress(
    counts: np.ndarray,
    *,
    min_count: int,
    rows: Sequence[Sequence[int]] = (),
    complements: Sequence[tuple[int, int]] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decide which counts to withhold: small ones, and enough others to protect them.

    Primary: a count from 1 to ``min_count`` − 1. Secondary, repeated until nothing changes:

    * **columns** (each column's district total is published): while a column's withheld
      cells are one alone, or total less than ``min_count``, its smallest shown count above
      zero is withheld too; with none left, the column's total is withheld;
    * **rows** (``rows``: groups of columns whose last is the sum of the others, e.g. the
      categories and people counted as their sum): the same within the group, withholding
      the group's total when no count is left;
    * **complements** (``(part, whole)`` column pairs, e.g. the people within a circle and
      all of them): a part is withheld when the whole less the part is from 1 to
      ``min_count`` − 1, so the people outside the circle cannot be worked out; and wherever
      its whole is withheld, since a part bounds its whole (and an estimated part, the whole
      times a published share, gives it away).

    Zero is shown, except as a part of a withheld whole: it discloses no one.

    Parameters
    ----------
    counts : numpy.ndarray
        Communities × columns, NaN where not given.
    min_count : int, keyword-only
        The smallest count shown.
    rows, complements : keyword-only
        As above, by column position.

    Returns
    -------
    tuple of numpy.ndarray
        ``(primary, secondary, total_withheld)``: boolean communities × columns masks, and a
        boolean per column whose district total is withheld.

    """
    values = np.asarray(counts, dtype=float)
    known = ~np.isnan(values)
    safe = np.where(known, values, 0.0)
    primary = known & (safe >= 1) & (safe < min_count)
    hidden = primary.copy()
    total_withheld = np.zeros(values.shape[1], dtype=bool)
    for _ in range(_MAX_ROUNDS):
        before = hidden.copy(), total_withheld.copy()
        for part, whole in complements:
            rest = safe[:, whole] - safe[:, part]
            open_ = known[:, part] & known[:, whole] & ~hidden[:, part] & ~hidden[:, whole]
            hidden[:, part] |= open_ & (rest >= 1) & (rest < min_count)
            hidden[:, part] |= known[:, part] & hidden[:, whole]  # a part bounds its whole
        # columns: the communities of each column as one group, with the total published
        hidden_t, withheld = _protect(
            safe.T, known.T, hidden.T, min_count=min_count, total_hidden=total_withheld
        )
        hidden = hidden_t.T
        total_withheld |= withheld
        for group in rows:
            idx = np.asarray(group)
            cells = idx[:-1]
            grown, gone = _protect(
                safe[:, cells],
                known[:, cells],
                hidden[:, cells],
                min_count=min_count,
                total_hidden=hidden[:, idx[-1]],
            )
            hidden[:, cells] = grown
            hidden[:, idx[-1]] |= gone
        if (hidden == before[0]).all() and (total_withheld == before[1]).all():
            break
    return primary, hidden & ~primary, total_withheld


def _protect(
    values: np.ndarray,
    known: np.ndarray,
    hidden: np.ndarray,
    *,
    min_count: int,
    total_hidden: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One round of secondary suppression over groups (rows of these arrays) with a total.

    Returns the new hidden mask and, per group, whether its total must be withheld.
    """
    hidden = hidden.copy()
    open_total = np.ones(values.shape[0], dtype=bool) if total_hidden is None else ~total_hidden
    withheld = np.zeros(values.shape[0], dtype=bool)
    for _ in range(values.shape[1] + 1):
        n_hidden = hidden.sum(axis=1)
        sum_hidden = np.where(hidden, values, 0.0).sum(axis=1)
        weak = (
            open_total & ~withheld & (n_hidden > 0) & ((n_hidden == 1) | (sum_hidden < min_count))
        )
        if not weak.any():
            break
        pick = known & ~hidden & (values > 0)
        score = np.where(pick, values, np.inf)
        best = score.argmin(axis=1)
        found = np.isfinite(score[np.arange(values.shape[0]), best])
        grow = weak & found
        hidden[np.flatnonzero(grow), best[grow]] = True
        withheld |= weak & ~found
    return hidden, withheld


def _flags(
    columns: Sequence[str], primary: np.ndarray, secondary: np.ndarray, flag: str
) -> list[str]:
    """Each row's withheld cells as ``column flag`` items joined by ``; ``."""
    out = []
    for small, other in zip(primary, secondary, strict=True):
        items = [f"{columns[int(j)]} {flag}" for j in np.flatnonzero(small)]
        items += [f"{columns[int(j)]} {SUPPRESSED}" for j in np.flatnonzero(other)]
        out.append("; ".join(items))
    return out


def _totals(
    matrix: np.ndarray,
    columns: Sequence[str],
    withheld: np.ndarray,
    care: CareTable,
    circles: Sequence[str],
    min_count: int,
    *,
    exact: bool,
) -> pd.DataFrame:
    """The district's totals of every count, withheld where a column's cells need it."""
    flag = small_flag(min_count)
    known = ~np.isnan(matrix)
    total = np.where(known, matrix, 0.0).sum(axis=0)
    given = known.any(axis=0)
    small = (total >= 1) & (total < min_count)
    rows: list[dict[str, Any]] = []
    for j, column in enumerate(columns):
        if not given[j]:
            continue
        basis = f"sum over {int(known[:, j].sum())} communities"
        if column.endswith("_within"):
            basis += "; exact" if exact else "; estimate (community count × covered share)"
        hide = bool(withheld[j] or small[j])
        rows.append(
            {
                "field": column,
                "value": np.nan if hide else float(total[j]),
                "flag": flag if small[j] else (SUPPRESSED if withheld[j] else ""),
                "basis": basis,
            }
        )
    people: dict[str, float] = {str(r["field"]): float(r["value"]) for r in rows}
    for circle in circles:
        within = people.get(within_column(circle, "people"), np.nan)
        whole = people.get("people", np.nan)
        share = within / whole if whole > 0 and not np.isnan(within) else np.nan
        rows.append(
            {
                "field": f"{circle}_people_share",
                "value": round(float(share), 4) if not np.isnan(share) else np.nan,
                "flag": "" if not np.isnan(share) else SUPPRESSED,
                "basis": ("exact" if exact else "estimate") + f": {circle}_people_within / people",
            }
        )
    for name, count in care.outside.items():
        hide = 1 <= count < min_count
        rows.append(
            {
                "field": f"outside_{name}",
                "value": np.nan if hide else float(count),
                "flag": flag if hide else "",
                "basis": "records whose location lies in no community",
            }
        )
    return pd.DataFrame(rows, columns=["field", "value", "flag", "basis"])
