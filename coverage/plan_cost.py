"""A township plan's construction costed year by year under a profile's money rules.

A plan (垫江府办〔2020〕8号 annex 2, read by :func:`carecircle.plan.read_plan`) gives counts, not
facilities: per township the centres and the stations or village points existing and new in
each year. :func:`cost_plan` prices each kind of facility once with
:func:`carecircle.costing.cost` (construction, operating award, bed subsidy, each with its rule)
and applies the prices to the counts:

- a construction subsidy in the year a facility is built;
- the yearly operating award and bed subsidy from the year it is built, in full, as
  :func:`carecircle.costing.cost` counts them, or (``operating_from="next"``) from the year
  after: 垫江府办〔2020〕8号 §三(二) pays its awards 每年 against a yearly assessment
  (评估考核奖补办法; §三(三) 每年…进行服务质量绩效评价，并根据评价结果兑现扶持奖补政策) and
  says nothing of the first year, so either is a reading; and every year for the facilities
  existing before the plan.

A centre is a street centre in a township named …街道 and a township centre in one named …镇 or
…乡. The plan counts stations (社区养老服务站) and village points (村级互助养老点) together;
the code list (:func:`carecircle.plan.read_divisions`) says how many communities and villages
each township has, and since the plan gives one each, ``n`` of a township's stations or points
hold at least ``n − villages`` and at most ``communities`` stations. Their amounts are a range
over that split (a township missing from the code list: anything from no station to all). An
amount the rules cannot work out without a floor area or resident counts is left out of the
sums, and the year's ``complete`` is False: its totals are then lower bounds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .costing import cost
from .costing.rows import check_year_value
from .costing.rules import resolve_municipal
from .costing.schema import Note, operating_note
from .costing.tables import money_notes
from .errors import InputError
from .plan import plan_years
from .policy import Policy

__all__ = ["BY_YEAR_COLUMNS", "PRICE_COLUMNS", "PlanCosting", "cost_plan"]

BY_YEAR_COLUMNS = (
    "year",
    "centres_built",
    "stations_built",
    "centres_operating",
    "stations_operating",
    "construction_yuan_min",
    "construction_yuan_max",
    "operating_yuan_min",
    "operating_yuan_max",
    "bed_subsidy_yuan_min",
    "bed_subsidy_yuan_max",
    "total_yuan_min",
    "total_yuan_max",
    "cumulative_yuan_min",
    "cumulative_yuan_max",
    "unknown_facilities",
    "construction_complete",
    "operating_complete",
    "bed_subsidy_complete",
    "complete",
    "cumulative_complete",
)
"""Columns of :attr:`PlanCosting.by_year` (``cost_by_year.csv``), in order."""

PRICE_COLUMNS = (
    "tier",
    "kind",
    "construction_yuan",
    "operating_yuan_per_year_min",
    "operating_yuan_per_year_max",
    "bed_subsidy_yuan_per_year",
    "construction_rule_en",
    "operating_rule_en",
    "bed_subsidy_rule_en",
    "construction_rule",
    "operating_rule",
    "bed_subsidy_rule",
)
"""Columns of :attr:`PlanCosting.prices`: one facility of each tier, as costed."""

_TIERS = ("street_center", "township_center", "community_station", "village_point")
_KINDS = ("urban", "rural", "urban", "rural")
_AMOUNTS = {
    "construction": ("construction_yuan", "construction_yuan"),
    "operating": ("operating_yuan_per_year_min", "operating_yuan_per_year_max"),
    "bed_subsidy": ("bed_subsidy_yuan_per_year", "bed_subsidy_yuan_per_year"),
}


@dataclass(frozen=True)
class PlanCosting:
    """A plan's subsidies and awards, year by year.

    Attributes
    ----------
    by_year : pandas.DataFrame
        One row per year of the horizon, columns :data:`BY_YEAR_COLUMNS`. ``*_built`` are the
        facilities built that year, ``*_operating`` those paid an operating award that year
        (existing before the plan, or built in an earlier year); ``stations`` are stations and
        village points together, as in the plan. Amounts in yuan, ``_min``/``_max`` over the
        unknown split of stations and village points (and over an operating award given as a
        range). ``unknown_facilities`` counts the facilities whose amount that year the rules
        cannot work out; they are left out of the sums, and ``complete`` is then False (the
        totals are lower bounds); ``construction_complete``, ``operating_complete`` and
        ``bed_subsidy_complete`` say which amount leaves something out. ``cumulative_*``
        add the years up to that one; ``cumulative_complete`` is False from the first
        incomplete year on.
    prices : pandas.DataFrame
        The amounts of one facility of each tier (:data:`PRICE_COLUMNS`), NaN where unknown,
        with each rule's sentence (``*_rule`` in Chinese, ``*_rule_en`` in English).
    notes : tuple of str
        What the costing assumed and left out, and the profile's notes, in English.
    notes_zh : tuple of str
        The same in Chinese, one for one.
    policy_name : str
        The profile's name.
    first_year, years : int
        The horizon: ``first_year .. first_year + years - 1``.
    plan_years : tuple of int
        The plan's years.

    """

    by_year: pd.DataFrame
    prices: pd.DataFrame
    notes: tuple[str, ...]
    notes_zh: tuple[str, ...]
    policy_name: str
    first_year: int
    years: int
    plan_years: tuple[int, ...]


def cost_plan(
    plan: pd.DataFrame,
    policy: Policy,
    *,
    divisions: pd.DataFrame | None = None,
    first_year: int | None = None,
    years: int | None = None,
    municipal: bool | None = None,
    source: str | os.PathLike[str] | None = None,
    operating_from: str = "opening",
) -> PlanCosting:
    """Cost a township plan year by year under ``policy``'s money rules.

    Parameters
    ----------
    plan : pandas.DataFrame
        As :func:`carecircle.plan.read_plan` returns it: ``township_code``, ``township``,
        ``centers_existing``, ``centers_new_<year>``, ``stations_existing``,
        ``stations_new_<year>`` (counts of facilities).
    policy : carecircle.policy.Policy
        The profile whose ``money`` tables apply.
    divisions : pandas.DataFrame, optional, keyword-only
        The code list (:func:`carecircle.plan.read_divisions`): each township's communities and
        villages bound how many of its stations or points are stations. Without it every split
        is possible.
    first_year : int, optional, keyword-only
        First year of the horizon; the plan's first year by default.
    years : int, optional, keyword-only
        Length of the horizon in years (≥ 1); by default up to the plan's last year.
    municipal : bool, optional, keyword-only
        For a per-m² rule's cap, as in :func:`carecircle.costing.cost`.
    source : str or os.PathLike, optional, keyword-only
        The plan's file, named in messages.
    operating_from : {"opening", "next"}, keyword-only
        When a new facility's operating award and bed subsidy start: the year it is built (in
        full, as :func:`carecircle.costing.cost` counts by default) or the year after
        (:data:`carecircle.costing.OPERATING_FROM`; a reading either way, said in the notes).

    Returns
    -------
    PlanCosting

    Raises
    ------
    InputError
        For a plan without ``centers_new_<year>``/``stations_new_<year>`` columns (as
        :func:`carecircle.plan.plan_years` says), a missing count column, or a horizon out of
        1900–2100 or of less than a year.

    Examples
    --------
    垫江's plan under its own awards, 2020 and 2021:

    >>> from carecircle import plan, policy
    >>> from carecircle.plan_cost import cost_plan
    >>> with plan._file_or_bundled(None, plan.BUNDLED_PLAN) as path:
    ...     township_plan = plan.read_plan(path)
    >>> money = cost_plan(township_plan, policy.load("dianjiang"), years=2)
    >>> money.by_year[["year", "centres_built", "centres_operating"]]
       year  centres_built  centres_operating
    0  2020              8                 13
    1  2021              7                 20

    """
    reading = operating_note(operating_from)  # checked before anything is read
    where = source if source is not None else "plan"
    built_years = plan_years([str(c) for c in plan.columns], source=where)
    wanted = ["township_code", "township", "centers_existing", "stations_existing"]
    wanted += [f"{what}_new_{year}" for year in built_years for what in ("centers", "stations")]
    missing = [c for c in wanted if c not in plan.columns]
    if missing:
        msg = f"{where}: missing column {missing[0]!r}; expected the columns {', '.join(wanted)}"
        raise InputError(msg)
    start = built_years[0] if first_year is None else int(first_year)
    check_year_value(start, "first_year")
    length = built_years[-1] - start + 1 if years is None else years
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 1:
        msg = f"years must be a whole number of years, 1 or more; found {length!r}" + (
            f" (the plan ends in {built_years[-1]}, before {start})" if years is None else ""
        )
        raise InputError(msg)
    horizon = np.arange(start, start + int(length))
    check_year_value(int(horizon[-1]), "the horizon's last year (first year + years - 1)")

    from .standards import township_kinds  # lazily: standards loads geopandas

    prices, notes = _prices(policy, start=start, municipal=municipal)
    # centres: street or township centre by the township's name (neither: either)
    kinds = township_kinds(plan["township"])
    centre_share = np.where(kinds == "street", 1.0, np.where(kinds == "town", 0.0, np.nan))
    communities, villages = _split(plan, divisions)

    counts = {
        what: (
            plan[f"{what}_existing"].to_numpy(dtype=np.int64),
            np.column_stack(
                [plan[f"{what}_new_{year}"].to_numpy(dtype=np.int64) for year in built_years]
            ),
        )
        for what in ("centers", "stations")
    }
    plan_year = np.asarray(built_years)
    # built in year t: the plan's new count for t; operating in t: existing plus built before
    # t (operating_from='next') or by t (the default)
    built_in = plan_year[None, :] == horizon[:, None]  # (horizon, plan years)
    before = (
        plan_year[None, :] < horizon[:, None]
        if operating_from == "next"
        else plan_year[None, :] <= horizon[:, None]
    )
    rows: dict[str, np.ndarray] = {"year": horizon}
    total_min = np.zeros(horizon.size)
    total_max = np.zeros(horizon.size)
    unknown = np.zeros(horizon.size, dtype=np.int64)
    for what, (existing, new) in counts.items():
        label = "centres" if what == "centers" else "stations"
        built = new @ built_in.T.astype(np.int64)  # (townships, horizon)
        operating = existing[:, None] + new @ before.T.astype(np.int64)
        rows[f"{label}_built"] = built.sum(axis=0)
        rows[f"{label}_operating"] = operating.sum(axis=0)
        for amount, count in (
            ("construction", built),
            ("operating", operating),
            ("bed_subsidy", operating),
        ):
            low, high, left_out = _amounts(
                count,
                prices,
                amount,
                centre_share if what == "centers" else None,
                communities,
                villages,
            )
            rows[f"{amount}_yuan_min"] = rows.get(f"{amount}_yuan_min", 0.0) + low
            rows[f"{amount}_yuan_max"] = rows.get(f"{amount}_yuan_max", 0.0) + high
            total_min, total_max = total_min + low, total_max + high
            unknown = unknown + left_out
            so_far = rows.get(f"{amount}_unknown", np.zeros(horizon.size, dtype=np.int64))
            rows[f"{amount}_unknown"] = so_far + left_out
    rows["total_yuan_min"], rows["total_yuan_max"] = total_min, total_max
    rows["cumulative_yuan_min"] = np.cumsum(total_min)
    rows["cumulative_yuan_max"] = np.cumsum(total_max)
    rows["unknown_facilities"] = unknown
    for amount in _AMOUNTS:
        rows[f"{amount}_complete"] = rows[f"{amount}_unknown"] == 0
    rows["complete"] = unknown == 0
    rows["cumulative_complete"] = np.cumsum(unknown) == 0
    by_year = pd.DataFrame({column: rows[column] for column in BY_YEAR_COLUMNS})
    notes += _plan_notes(plan, prices, by_year, built_years, start, divisions is not None, reading)
    return PlanCosting(
        by_year=by_year,
        prices=prices,
        notes=tuple(note.en for note in notes),
        notes_zh=tuple(note.zh for note in notes),
        policy_name=policy.name,
        first_year=start,
        years=int(length),
        plan_years=tuple(built_years),
    )


def _prices(
    policy: Policy, *, start: int, municipal: bool | None
) -> tuple[pd.DataFrame, list[Note]]:
    """One facility of each tier costed by :func:`carecircle.costing.cost`, and its notes."""
    n = len(_TIERS)
    one_each = pd.DataFrame(
        {
            "id": list(_TIERS),
            "name": list(_TIERS),
            "tier": list(_TIERS),
            "area_m2": np.full(n, np.nan),
            "year": [str(start)] * n,
            "kind": list(_KINDS),
        }
    )
    money = cost(one_each, policy, municipal=municipal, first_year=start, years=1)
    notes: list[Note] = []
    if len(money.facilities) == 0:  # no money tables: nothing is due, and the note says so
        notes = [Note(zh, en) for en, zh in zip(money.notes, money.notes_zh, strict=True)]
    else:  # the notes on the profile's rules, not those on the four rows priced here
        per_m2 = policy.money.get("construction_per_m2") or {}
        if per_m2:
            resolve_municipal(per_m2, municipal, policy, notes)
        notes += money_notes(policy.money)
    if len(money.facilities) == 0:
        table = pd.DataFrame({"tier": list(_TIERS), "kind": list(_KINDS)})
        for column in PRICE_COLUMNS[2:6]:
            table[column] = 0.0
        for column in PRICE_COLUMNS[6:]:
            table[column] = ""
        return table, notes
    table = money.facilities.assign(kind=list(_KINDS))
    return table[list(PRICE_COLUMNS)].reset_index(drop=True), notes


def _split(plan: pd.DataFrame, divisions: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Each township's communities and villages from the code list (inf where unknown)."""
    n = len(plan)
    if divisions is None:
        return np.full(n, np.inf), np.full(n, np.inf)
    by_kind = divisions.groupby(["township_code", "kind"]).size().unstack(fill_value=0)
    codes = plan["township_code"].astype(str)
    known = codes.isin(by_kind.index).to_numpy()

    def of(kind: str) -> np.ndarray:
        column = by_kind[kind] if kind in by_kind else pd.Series(0, index=by_kind.index)
        values = codes.map(column).to_numpy(dtype=float)
        return np.where(known, np.nan_to_num(values), np.inf)

    return of("community"), of("village")


def _amounts(
    count: np.ndarray,
    prices: pd.DataFrame,
    amount: str,
    centre_share: np.ndarray | None,
    communities: np.ndarray,
    villages: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per year: the least and most yuan of ``amount``, and the facilities left out of both.

    ``count`` is (townships, years). For centres, ``centre_share`` is 1 for a street centre, 0
    for a township centre, NaN when either. For stations and points the number of stations
    among ``n`` lies in ``[max(0, n − villages), min(n, communities)]``; the amount is linear
    in it, so its least and most are at the ends. An unknown price counts as 0 in both, and
    the facilities that may have it are counted as left out.
    """
    low_col, high_col = _AMOUNTS[amount]
    tiers = prices["tier"].tolist()
    n = count.astype(float)
    if centre_share is None:
        one, other = tiers.index("community_station"), tiers.index("village_point")
        least = np.maximum(0.0, n - villages[:, None])
        most = np.minimum(n, communities[:, None])
    else:
        one, other = tiers.index("street_center"), tiers.index("township_center")
        share = centre_share[:, None]
        least = np.where(np.isnan(share), 0.0, share * n)
        most = np.where(np.isnan(share), n, share * n)
    sums = []
    for column, pick in ((low_col, np.minimum), (high_col, np.maximum)):
        price = prices[column].to_numpy(dtype=float)
        a, b = np.nan_to_num(price[one]), np.nan_to_num(price[other])
        sums.append(pick(least * a + (n - least) * b, most * a + (n - most) * b).sum(axis=0))
    unknown = np.isnan(prices[low_col].to_numpy(dtype=float))
    may_be = np.zeros_like(n)
    if unknown[one]:
        may_be = may_be + most
    if unknown[other]:
        may_be = may_be + (n - least)
    left_out = np.minimum(may_be, n).sum(axis=0).astype(np.int64)
    return sums[0], sums[1], left_out


def _plan_notes(
    plan: pd.DataFrame,
    prices: pd.DataFrame,
    by_year: pd.DataFrame,
    built_years: tuple[int, ...],
    start: int,
    divided: bool,
    reading: Note,
) -> list[Note]:
    """What the plan's costing assumed and left out."""
    from .standards import township_kinds  # lazily: standards loads geopandas

    notes = [
        Note(
            "建设补助计入建成当年；现有设施的运营奖补（及床位补贴）每年计入",
            "construction subsidies count in the year a facility is built; the operating awards "
            "(and bed subsidies) of the facilities existing before the plan every year",
        ),
        reading,
        Note(
            "中心按乡镇（街道）名称区分：…街道为街道养老服务中心，…镇、…乡为乡镇养老服务中心",
            "a centre is a street centre in a township named …街道 and a township centre in one "
            "named …镇 or …乡",
        ),
    ]
    odd = plan["township"][township_kinds(plan["township"]) == ""].astype(str).tolist()
    if odd:
        notes.append(
            Note(
                f"{len(odd)}个乡镇（街道）名称既非…街道也非…镇/乡（首个：{odd[0]}），其中心按两种"
                "类型取区间",
                f"{len(odd)} township(s) named neither …街道 nor …镇/乡 (first: {odd[0]!r}): "
                "their centres are costed as either kind, a range",
            )
        )
    notes.append(
        Note(
            "计划将社区养老服务站与村级互助养老点合计："
            + (
                "按统计用区划代码中各乡镇（街道）的社区数与村数确定其中站的个数范围（一村（社区）"
                "一站（点））"
                if divided
                else "未给区划代码，站与点的比例未知，金额取两端区间"
            ),
            "the plan counts stations and village points together: "
            + (
                "a township's communities and villages in the code list bound how many of them "
                "are stations (one station or point each)"
                if divided
                else "without the code list any split is possible, and the amounts are a range"
            ),
        )
    )
    early = [y for y in built_years if y < start]
    if early:
        notes.append(
            Note(
                f"{start}年以前建成的设施（{early[0]}年起）不计建设补助，只计运营奖补",
                f"facilities built before {start} (from {early[0]}) count no construction "
                "subsidy here, only their operating awards",
            )
        )
    incomplete = by_year[~by_year["complete"].to_numpy(dtype=bool)]
    if len(incomplete):
        unknown = prices[
            prices[["construction_yuan", "bed_subsidy_yuan_per_year"]].isna().any(axis=1)
        ]
        rules = "; ".join(
            sorted(
                {
                    f"{tier}: {rule}"
                    for tier, c, b, rc, rb in zip(
                        unknown["tier"],
                        unknown["construction_yuan"],
                        unknown["bed_subsidy_yuan_per_year"],
                        unknown["construction_rule_en"],
                        unknown["bed_subsidy_rule_en"],
                        strict=True,
                    )
                    for rule in ([rc] if np.isnan(c) else []) + ([rb] if np.isnan(b) else [])
                }
            )
        )
        first = int(incomplete["year"].iloc[0])
        count = int(incomplete["unknown_facilities"].iloc[0])
        notes.append(
            Note(
                f"{len(incomplete)}年的合计不完整（首个：{first}年，{count}个设施的金额无法计算："
                "计划未给建筑面积、收住老人数等），所列金额为下限",
                f"the totals of {len(incomplete)} year(s) leave amounts out (first: {first}, "
                f"{count} facilities; a plan gives no floor areas or residents): they are lower "
                f"bounds. {rules}",
            )
        )
    return notes
