"""Cost a set of facilities under a policy profile's money rules.

The ``[money]`` tables of a profile (see :mod:`carecircle.policy`) hold the subsidies and awards
its documents promise: a one-off construction subsidy (flat per tier, 万州; or per m² up to a
cap, 运城), a yearly operating award (per tier, 垫江; or a range by grade, 运城) and a bed
subsidy per resident-month (运城). :func:`cost` applies them to every facility and adds them up
over a planning horizon; :func:`write` saves the result as CSV and Excel; :func:`format_table`
renders it for a terminal.

Which facilities are to be built comes from the input's ``year`` and ``status`` (see
:data:`STATUSES`): a year is an opening year; without one, ``status = proposed`` (as
``carecircle site`` writes) opens in the horizon's first year, ``existing`` or a blank status is
an existing facility, and a row of a proposed-sites table that says neither has an unknown
construction, never 0.

Every amount comes with a sentence saying which rule gave it and why, or why nothing is due
(below the area threshold, not built by social capital, tier not subsidised). An amount that
cannot be worked out (no floor area where a rule needs one, no resident counts) is NaN, never
0, and the totals say how many facilities they leave out; a total that leaves one out is a
lower bound, flagged in its table (``construction_known``, ``bed_subsidy_known``) and shown as
``≥ N`` (``?`` when nothing of it is known) in the terminal and the workbook.

Per-facility columns (:data:`FACILITY_COLUMNS`)::

    id, name, tier, township, year, status, area_m2,
    construction_yuan, construction_rule,
    operating_yuan_per_year, operating_yuan_per_year_min, operating_yuan_per_year_max,
    operating_rule, bed_subsidy_yuan_per_year, bed_subsidy_rule,
    horizon_years, horizon_total_yuan_min, horizon_total_yuan_max, complete,
    construction_rule_en, operating_rule_en, bed_subsidy_rule_en

Per-year columns (:data:`PER_YEAR_COLUMNS`)::

    year, facilities_operating, facilities_opening, construction_yuan,
    operating_yuan_min, operating_yuan_max, bed_subsidy_yuan,
    total_yuan_min, total_yuan_max, incomplete_facilities,
    construction_known, bed_subsidy_known

Per-township columns (:data:`PER_TOWNSHIP_COLUMNS`), summed over the horizon::

    township, facilities, construction_yuan, operating_yuan_min, operating_yuan_max,
    bed_subsidy_yuan, total_yuan_min, total_yuan_max, incomplete_facilities,
    construction_known, bed_subsidy_known

This module holds :class:`Costing` and the public functions; the work they hand on lives in
private modules, each read on its own: :mod:`carecircle.costing.rows` (reading and checking
the facility rows), :mod:`carecircle.costing.rules` (each amount with its sentence),
:mod:`carecircle.costing.tables` (the per-facility table, the horizon, the per-year and
per-township totals and the notes), :mod:`carecircle.outputs.costing_tables` (headers, workbook and
terminal text) and :mod:`carecircle.costing.schema` (the constants, exported here).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ..policy import Policy
from .rows import check_year_value, default_start, parse_rows
from .rules import check_money, policy_labels, resolve_municipal
from .schema import FACILITY_COLUMNS as FACILITY_COLUMNS
from .schema import HEADERS_EN as HEADERS_EN
from .schema import HEADERS_ZH as HEADERS_ZH
from .schema import LANGS as LANGS
from .schema import MONEY_COLUMNS, Note, operating_note
from .schema import MONEY_TABLES as MONEY_TABLES
from .schema import OPTIONAL_ALIASES as OPTIONAL_ALIASES
from .schema import PER_TOWNSHIP_COLUMNS as PER_TOWNSHIP_COLUMNS
from .schema import PER_YEAR_COLUMNS as PER_YEAR_COLUMNS
from .schema import RESIDENT_FIELDS as RESIDENT_FIELDS
from .schema import SHEETS as SHEETS
from .schema import SOCIAL_CAPITAL_TIERS as SOCIAL_CAPITAL_TIERS
from .schema import STATUS_WORDS as STATUS_WORDS
from .schema import STATUSES as STATUSES
from .schema import URBAN_CENTRE_TIERS as URBAN_CENTRE_TIERS
from .tables import (
    costing_notes,
    empty_table,
    facility_table,
    horizon_of,
    per_township_table,
    per_year_table,
    with_horizon,
)

logger = logging.getLogger(__name__)


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
        ``year`` is the year given (the opening year of a facility to be built; ``<NA>`` when
        not given), ``status`` how the facility was taken (one of :data:`STATUSES`),
        ``horizon_years`` the years it operates within the horizon,
        ``horizon_total_yuan_min``/``_max`` what it receives within the horizon (unknown
        amounts left out; ``complete`` is False then). ``*_rule`` in Chinese, ``*_rule_en``
        in English.
    per_year : pandas.DataFrame
        One row per year of the horizon, columns :data:`PER_YEAR_COLUMNS`, yuan. The sums
        leave out unknown amounts: ``construction_known`` (``bed_subsidy_known``) is False
        when the row's construction (bed subsidy) leaves one out, and its ``construction_yuan``
        (``bed_subsidy_yuan``) and ``total_yuan_*`` are then lower bounds.
    per_township : pandas.DataFrame
        One row per township (``""`` for facilities without one), columns
        :data:`PER_TOWNSHIP_COLUMNS`, yuan summed over the horizon; lower bounds flagged as
        in :attr:`per_year`.
    notes : tuple of str
        Assumptions, conditions the costing cannot check, and the profile's notes on its money
        rules; for a profile without money tables, the message saying so. In English.
    policy_name : str
        The profile's name.
    first_year : int
        First year of the horizon.
    years : int
        Length of the horizon in years.
    municipal : bool or None
        Whether the facilities are in a municipal district (市辖区), as used for the per-m²
        cap; None when no per-m² rule applied.
    notes_zh : tuple of str
        :attr:`notes` in Chinese, one for one (a profile's note as written unless its money
        table has a ``note_zh``); the Chinese workbook and terminal text show these.

    """

    facilities: pd.DataFrame
    per_year: pd.DataFrame
    per_township: pd.DataFrame
    notes: tuple[str, ...]
    policy_name: str
    first_year: int
    years: int
    municipal: bool | None = None
    notes_zh: tuple[str, ...] = ()

    @property
    def total(self) -> pd.Series:
        """Grand total over the horizon: the sums of :attr:`per_year`'s money columns, yuan.

        ``incomplete_facilities`` counts the facilities with an unknown amount in any year.
        """
        sums = self.per_year[list(MONEY_COLUMNS)].sum()
        sums = sums.astype(float)
        sums["incomplete_facilities"] = float((~self.facilities["complete"].astype(bool)).sum())
        return sums


# --- public API ----------------------------------------------------------------------------


def cost(
    facilities: pd.DataFrame,
    policy: Policy,
    *,
    municipal: bool | None = None,
    first_year: int | None = None,
    years: int = 1,
    columns: Mapping[str, str] | None = None,
    source: str | os.PathLike[str] | None = None,
    operating_from: str = "opening",
) -> Costing:
    """Work out the subsidies and awards due to each facility, per year and per township.

    Parameters
    ----------
    facilities : pandas.DataFrame
        Facilities as returned by :func:`carecircle.inputs.read_facilities` (a GeoDataFrame
        will do; geometry is ignored): ``id``, ``name``, ``tier`` (one of
        :data:`carecircle.terms.TIERS`) and ``area_m2`` (floor area in m², NaN when unknown).
        Optional columns, by name or by a header in :data:`OPTIONAL_ALIASES`: ``year`` (the
        year a facility to be built opens; blank for an existing one), ``status`` (one of the
        :data:`STATUS_WORDS`, or blank: whether a facility without a year is ``existing`` or
        ``proposed``, or a site a plan leaves out; see :data:`STATUSES`), ``township``,
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
    source : str or os.PathLike, optional
        The file the facilities were read from, named in error messages (with each row's line
        for a CSV, its Excel row for a workbook); messages say ``facilities`` when not given.
    operating_from : {"opening", "next"}, keyword-only
        When a new facility's yearly operating award and bed subsidy start: its opening year,
        in full (default), or the year after (:data:`OPERATING_FROM`; a reading, said in the
        notes).

    Returns
    -------
    Costing
        Per-facility amounts with their rules, per-year and per-township totals, and notes.
        Construction counts in the opening year when that year is within the horizon (never
        for existing facilities; a ``proposed`` facility opens in ``first_year``); operating
        awards and bed subsidies count every year from opening (from ``first_year`` for
        existing facilities) to the end of the horizon, the opening year in full (with
        ``operating_from="next"``, from the year after). Sites a plan
        leaves out count nothing; a row of a proposed-sites table (one with ``newly_covered``)
        with neither a year nor a status has an unknown construction (NaN). A profile without
        money tables gives empty tables and a note.

    Raises
    ------
    InputError
        For a missing ``id``/``name``/``tier`` column, an unknown tier, a bad year, status,
        area, resident count or social-capital value, a year beside a status that says the
        plan leaves the site out (naming the file, row, id, column and value), or
        ``first_year``/``years`` out of range.
    PolicyError
        For a money table without its amounts (``yuan``; ``yuan_per_m2`` and both caps;
        ``min_yuan`` ≤ ``max_yuan``; the three monthly rates), or a per-m² rule with no
        ``municipal`` setting in the profile or the arguments; the message names the file.

    Examples
    --------
    An existing station and one opening in 2026, under 万州's flat construction subsidy:

    >>> import pandas as pd
    >>> from carecircle import costing, policy
    >>> stations = pd.DataFrame(
    ...     {
    ...         "id": ["S1", "S2"],
    ...         "name": ["一号站", "二号站"],
    ...         "tier": ["community_station", "community_station"],
    ...         "area_m2": [350.0, 200.0],
    ...         "year": ["", "2026"],
    ...     }
    ... )
    >>> money = costing.cost(stations, policy.load("wanzhou"), first_year=2026, years=3)
    >>> money.facilities[["id", "status", "construction_yuan"]]
       id    status  construction_yuan
    0  S1  existing                0.0
    1  S2   planned           200000.0
    >>> money.facilities["construction_rule_en"].iloc[1]
    'Wanzhou: community elderly-care station 200,000 yuan (万州府办发〔2020〕28号 §二(五)13)'
    >>> money.per_year[["year", "construction_yuan"]]
       year  construction_yuan
    0  2026           200000.0
    1  2027                0.0
    2  2028                0.0

    """
    reading = operating_note(operating_from)  # checked before anything is read
    if isinstance(years, bool) or not isinstance(years, int | np.integer) or years < 1:
        msg = f"years must be a whole number of years, 1 or more; found {years!r}"
        raise InputError(msg)
    if first_year is not None:
        check_year_value(first_year, "first_year")
    rows = parse_rows(facilities, columns=columns, source=source)
    money = policy.money
    if not any(money.get(table) for table in MONEY_TABLES):
        tables = (
            "[money.construction_flat.<tier>], [money.construction_per_m2], "
            "[money.operating_yearly.<tier>], [money.operating_by_grade]"
        )
        none = Note(
            f"政策 {policy.name!r}（{policy.source_file}）没有资金表，无可测算。请在政策配置中加入 "
            f"{tables} 或 [money.bed_subsidy_monthly]，并各注明依据（source）",
            f"policy {policy.name!r} ({policy.source_file}) has no money tables: nothing to "
            f"cost. Add {tables} or [money.bed_subsidy_monthly] to the profile, each with its "
            "source",
        )
        start = first_year if first_year is not None else default_start(rows.opening_years, [])
        check_year_value(start + int(years) - 1, "the horizon's last year (first year + years - 1)")
        return Costing(
            facilities=empty_table(FACILITY_COLUMNS),
            per_year=empty_table(PER_YEAR_COLUMNS),
            per_township=empty_table(PER_TOWNSHIP_COLUMNS),
            notes=(none.en,),
            policy_name=policy.name,
            first_year=start,
            years=int(years),
            notes_zh=(none.zh,),
        )
    check_money(money, policy.source_file)
    notes: list[Note] = [reading]
    start = first_year if first_year is not None else default_start(rows.opening_years, notes)
    end = start + int(years) - 1
    check_year_value(end, "the horizon's last year (first year + years - 1)")
    per_m2 = money.get("construction_per_m2") or {}
    used_municipal = resolve_municipal(per_m2, municipal, policy, notes) if per_m2 else None
    if not per_m2 and municipal is not None:
        notes.append(
            Note(
                f"市辖区设置（municipal={municipal}）不起作用：政策 {policy.name!r} 没有按面积"
                "计算的建设奖补",
                f"municipal={municipal} has no effect: policy {policy.name!r} has no per-m² "
                "construction rule",
            )
        )
    label = policy_labels(policy)
    kinds = [kind or "urban" for kind in rows.kinds]  # blank: urban, as everywhere
    applies = policy.applies(np.array(kinds, dtype=object)).tolist()
    scope = (policy.scope_en, policy.scope_zh)
    if policy.scope_en and "kind" not in rows.found:
        notes.append(
            Note(
                f"无城乡类型一栏（kind）：本政策的资金规定{policy.scope_zh}，所有设施均按位于城市社区计；"
                "位于农村（村）的设施请填 kind=rural",
                f"no 'kind' column: the profile's money rules are for {policy.scope_en}, and "
                "every facility is taken to stand in an urban community; give kind = rural for "
                "a facility in a village",
            )
        )
    amounts = facility_table(
        rows, money, municipal=used_municipal, label=label, applies=applies, scope=scope
    )
    horizon = horizon_of(amounts, start=start, end=end, operating_from=operating_from)
    table = with_horizon(amounts, horizon)
    per_year = per_year_table(table, horizon, start=start, end=end)
    per_township = per_township_table(table, horizon)
    notes += costing_notes(rows, money, table, start=start, end=end)
    return Costing(
        facilities=table,
        per_year=per_year,
        per_township=per_township,
        notes=tuple(note.en for note in notes),
        policy_name=policy.name,
        first_year=start,
        years=int(years),
        municipal=used_municipal,
        notes_zh=tuple(note.zh for note in notes),
    )
