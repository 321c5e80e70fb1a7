"""Where to build next: proposed sites that bring the left-out older residents into a circle.

:func:`propose` takes an analysis (or the prepared district it keeps), candidate
sites (given, or generated on the network around the communities not covered) and one of the
siting questions, builds the coverage sets with the same compiled shortest paths as the
analysis (:func:`carecircle.siting.candidates.coverage_matrix`) and solves with
:mod:`carecircle.siting`. Existing facilities always stay and keep their coverage.
:func:`phase` spreads the proposed sites over years; :func:`carecircle.outputs.write_siting`
writes the tables and the workbook.
"""

from __future__ import annotations

import datetime
import logging
import math
import os
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import csr_array

from .. import standards, terms, travel
from .._validate import as_number
from ..circles import by_township, pooled_share, share_status
from ..coords import check_crs
from ..costing import costs as costing
from ..errors import InputError
from ..pipeline import (
    Analysis,
    Prepared,
    check_near,
    circle_raster,
    circle_times,
    graded_access,
    walking_circles,
)
from ..policy import Circle, Policy, as_policy
from . import candidates as candidates_mod
from . import models as siting
from ._prefer import prefer

logger = logging.getLogger(__name__)

MODES = ("count", "cover_all", "budget")

_CONSTRUCTION_TABLES = {"construction_flat", "construction_per_m2"}
"""The profile's money tables that price a new site (see :mod:`carecircle.costing`)."""

_PREFERENCE_SHARE = 0.25
"""Most of ``time_limit_s`` the second model (sites beside a health centre) may take, on top
of the first model's limit."""

_PREFERENCE_MIN_S = 1.0
"""The second model may take as long as the first took, and at least this many seconds (within
:data:`_PREFERENCE_SHARE` of the limit)."""

HEALTH_CENTRE_COLUMNS = ("beside_health_centre", "health_centre_id", "health_centre_minutes")
"""The chosen sites' and candidates' columns for 医养结合 (see :func:`propose`)."""


@dataclass(frozen=True)
class Proposal:
    """Proposed sites and what they change.

    Attributes
    ----------
    sites : geopandas.GeoDataFrame
        The chosen candidates in order of choice (largest marginal gain first, so a plan can
        be phased year by year): ``order``, ``id``, ``name``, ``tier``, ``newly_covered``
        (older residents it brings into the circle, in that order), ``cumulative_covered``,
        ``cost_yuan``, ``area_m2``, ``under_1000m2`` (simplified approval under the profile's
        ``provision.simplified_approval_max_area_m2``, 渝中 only; NA elsewhere, see
        :func:`carecircle.siting.candidates.simplified_approval`), ``generated``,
        ``beside_health_centre``, ``health_centre_id`` and ``health_centre_minutes`` (the
        health centre reached fastest on foot over the network and the minutes to it; NA where
        the profile has no ``[medical_integration]`` for ``tier``); in the network's CRS.
    candidates : geopandas.GeoDataFrame
        Every candidate, chosen or not, as read or generated, with ``access_m`` (metres to the
        nearest street), ``network_status`` (``ok``; ``off_network`` when farther than the
        profile's ``max_access_m``, so it cannot be chosen), ``reach`` (residents not yet
        covered it could bring in alone), ``cost_yuan``, ``order`` (its place among the
        chosen; NA when not chosen) and the three health-centre columns of ``sites``; in the
        network's CRS.
    communities : pandas.DataFrame
        Per community: ``id``, ``name``, ``township``, ``residents``, ``within_before``,
        ``within_after``, ``share_before``, ``share_after``, ``status_before``,
        ``status_after``.
    townships : pandas.DataFrame
        The same per township.
    uncoverable : pandas.DataFrame
        Per community, the residents no candidate can bring in, and why.
    solution : siting.Solution
        The solver's answer: status, objective, bound, gap, method, runtime.
    circle : Circle
        The circle filled.
    mode : str
        ``count``, ``cover_all`` or ``budget``; with ``capacity`` noted in :attr:`notes`.
    notes : tuple of str
        Assumptions worth reading (costs from rules, capacity units).
    circles : geopandas.GeoDataFrame
        The area within each of the circle's time limits on foot from each chosen site
        (``facility_id`` is the site's ``id``; see :func:`carecircle.pipeline.walking_circles`),
        in the network's CRS.

    """

    sites: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    communities: pd.DataFrame
    townships: pd.DataFrame
    uncoverable: pd.DataFrame
    solution: siting.Solution
    circle: Circle
    mode: str
    notes: tuple[str, ...] = ()
    circles: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)


def _district(
    analysis: Analysis | Prepared, policy: Policy | str | os.PathLike[str] | None
) -> tuple[Prepared, Policy]:
    """The prepared district and the profile to site with, from an analysis or a Prepared."""
    if isinstance(analysis, Analysis):
        if analysis.prepared is None:
            msg = (
                "the analysis holds no prepared district (a check-only analysis measures no "
                "walking times); site from carecircle.analyze(...)"
            )
            raise InputError(msg)
        return analysis.prepared, as_policy(analysis.policy if policy is None else policy)
    if not isinstance(analysis, Prepared):
        msg = (
            f"found a {type(analysis).__name__}; expected an Analysis (carecircle.analyze) or a "
            "Prepared district (carecircle.pipeline.prepare)"
        )
        raise InputError(msg)
    if policy is None:
        msg = "policy= is needed with a Prepared district: give the profile it was prepared with"
        raise InputError(msg)
    return analysis, as_policy(policy)


def reasons(target: Circle) -> tuple[str, str]:
    """Why residents cannot be brought in: off the walking network, or no candidate in reach."""
    return "off the walking network", f"no candidate within the {target.name} circle's minutes"


def propose(
    analysis: Analysis | Prepared,
    candidates: gpd.GeoDataFrame | None = None,
    *,
    policy: Policy | str | os.PathLike[str] | None = None,
    circle: str = "eldercare",
    tier: str = "community_station",
    count: int | None = None,
    cover_all: bool = False,
    budget: float | None = None,
    years: int = 1,
    capacity: bool = False,
    municipal: bool | None = None,
    spacing_m: float = 100.0,
    time_limit_s: float = 60.0,
    prefer_health_centres: bool = True,
) -> Proposal:
    """Choose new sites for ``tier`` to fill the gaps of ``circle``.

    Exactly one of ``count`` (maximal covering: the k sites covering the most older residents
    not covered today), ``cover_all`` (set covering: the fewest sites covering everyone who can
    be covered at all) or ``budget`` (the most newly covered residents for the money, yuan) is
    given. With ``capacity`` (with ``count``), each site serves at most the residents its floor
    area allows under ``provision.area_per_resident_m2``, and residents are assigned within
    those limits.

    Parameters
    ----------
    analysis : Analysis or Prepared
        The district: an analysis (:func:`carecircle.pipeline.analyze`; its
        :attr:`~carecircle.pipeline.Analysis.prepared` district and its policy are used), or
        the prepared district itself (:func:`carecircle.pipeline.prepare`).
    candidates : geopandas.GeoDataFrame or None
        Candidates as read by :func:`carecircle.inputs.read_candidates` (any CRS); ``None``
        (the default) generates candidates on the network every ``spacing_m`` around the gaps.
    policy : Policy, str or os.PathLike, optional, keyword-only
        The profile (circle minutes, money rules, floor area per resident), or its name or
        file; by default the analysis's. Required with a Prepared district.
    circle, tier : str, keyword-only
        The circle to fill and the tier of the new facilities.
    count, cover_all, budget, capacity : keyword-only
        The question (see above).
    years : int, keyword-only
        With ``budget``: the number of equal yearly budgets it is spent in (see
        :func:`phase`). A site must fit within one year's budget, so dearer candidates are
        left out; and when every candidate left costs the same, each year buys as many sites as
        its own budget pays for, so the sites chosen are the best that many and all can be
        phased within the years. With differing prices the sites are chosen so that each year's
        add up to at most its budget (see :func:`carecircle.siting.budgeted_covering`), and
        :func:`phase` builds each in the year that pays for it.
    municipal : bool, optional, keyword-only
        For costing under 运城's rules (see :func:`carecircle.costing.cost`).
    spacing_m : float, keyword-only
        Spacing of generated candidates, metres.
    time_limit_s : float, keyword-only
        Time limit for the exact model; beyond it the best solution found, or greedy, with its
        gap.
    prefer_health_centres : bool, keyword-only
        医养结合: where the profile has ``[medical_integration]`` and ``tier`` is one of its
        ``tiers``, prefer candidates within its ``max_walk_minutes`` on foot (over the network)
        of a facility of tier ``health_center``, as a second objective that never worsens the
        first: among the site sets as good on the question (the same residents newly covered
        with no more sites, within the budget; for ``cover_all`` everyone coverable covered by
        as few sites), the one with the most such sites: swaps, then an exact model, in as
        long as the first solve took (at least 1 s, at most a quarter of ``time_limit_s``;
        :attr:`Solution.preference <carecircle.siting.Solution>` says what was proved). Not
        with ``capacity`` or yearly budgets (a note says so). True by default.

    Returns
    -------
    Proposal

    Raises
    ------
    InputError
        For a question that is not one of the above (:func:`check_question`), a check-only
        analysis (which has no prepared district), a Prepared district without ``policy``, or
        candidates that cannot be used.

    Examples
    --------
    Up to six stations for the older residents the eldercare circle leaves out, among
    candidate points generated on the network of the embedded demo district:

    >>> import carecircle as cc
    >>> from carecircle.data import demo_files
    >>> files = demo_files()
    >>> res = cc.analyze(
    ...     cc.network.read(files["network"]),
    ...     cc.read_communities(files["communities"]),
    ...     cc.read_facilities(files["facilities"]),
    ...     policy="chongqing",
    ...     population_raster=files["population"],
    ... )
    >>> prop = cc.siting.propose(res, count=6, tier="community_station")
    >>> prop.mode, prop.solution.status
    ('count', 'optimal')
    >>> prop.sites[["order", "tier"]]
       order               tier
    0      1  community_station
    1      2  community_station
    2      3  community_station
    >>> prop.notes[1]
    '3 site(s) proposed, not 6: no other candidate would add anyone'
    >>> sited = cc.siting.attach(res, prop)  # for cc.outputs.write_all and build_map

    """
    prep, policy = _district(analysis, policy)
    mode = check_question(
        policy,
        circle=circle,
        tier=tier,
        count=count,
        cover_all=cover_all,
        budget=budget,
        years=years,
        capacity=capacity,
        spacing_m=spacing_m,
        time_limit_s=time_limit_s,
        candidates_given=candidates is not None,
    )
    tier = terms.tier_name(tier)  # after the check, whose message quotes the name given
    target = policy.circle(circle)
    net = prep.net
    _, _, time_s, _ = circle_times(prep, target)
    limit = prep.point_limits_s(target)
    residents = prep.point_residents()
    covered = (time_s <= limit) | (residents <= 0)
    notes: list[str] = []

    before = _before_after(prep, residents, covered, covered, policy)
    if candidates is None:
        statuses = prep.communities.assign(
            **{f"{circle}_status": before["status_before"].to_numpy()}
        )
        sites = candidates_mod.generate(net, statuses, circle, spacing_m=spacing_m)
        notes.append(
            f"{len(sites)} candidate points generated on the network every {spacing_m:g} m "
            "around the communities not covered"
        )
    else:
        check_crs(candidates.crs, what="the candidate sites")
        sites = candidates.to_crs(net.crs).reset_index(drop=True)
        check_near(net, sites, label="candidate sites")
        # simplified approval is a 渝中 rule, in its profile (渝中府办〔2020〕44号 §二(一)2)
        sites["under_1000m2"] = candidates_mod.simplified_approval(sites["area_m2"], policy)
    if len(sites) == 0:
        if candidates is not None:
            msg = "no candidate sites: the candidate file has no rows"
        elif (before["status_before"].isin((terms.UNCOVERED, terms.PARTIAL))).any():
            msg = (
                f"no candidate points generated every {spacing_m:g} m (--spacing-m) around the "
                "communities not covered; give a smaller spacing, or --candidates"
            )
        else:
            msg = f"no candidate sites needed: every community is covered by the {circle} circle"
        raise InputError(msg)
    snap = graded_access(
        net,
        travel.snap(net, sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()),
        sites.geometry.x.to_numpy(),
        sites.geometry.y.to_numpy(),
        elevation=prep.elevation,
        walking=policy.walking,
        to_door=True,
    )
    on_net = snap.access_m <= policy.max_access_m
    sites = sites.assign(
        access_m=np.round(snap.access_m, 1),
        network_status=np.where(on_net, "ok", "off_network"),
    )
    usable = np.flatnonzero(on_net)
    _note_off_network(sites, policy.max_access_m, notes)
    cover = candidates_mod.coverage_matrix(
        net,
        snap.subset(usable),
        prep.point_snap,
        limit,
        speed_m_s=prep.speed_m_s,
        usable=~prep.off_network,
    )
    open_weight = np.where(covered, 0.0, residents)
    reach = np.zeros(len(sites))
    reach[usable] = cover.T.astype(float) @ open_weight
    sites = sites.assign(reach=np.round(reach, 1))

    costs = _costs(sites, policy, tier=tier, municipal=municipal, notes=notes)
    health = _beside_health_centre(prep, sites, policy, tier=tier)
    spend: tuple[np.ndarray, float] | None = None
    uncoverable = _uncoverable(prep, residents, covered, cover, target)
    if mode == "count":
        if capacity:
            solution = _capacitated(
                prep,
                target,
                sites,
                usable,
                cover,
                residents,
                covered,
                policy=policy,
                k=int(count or 0),
                notes=notes,
                time_limit_s=time_limit_s,
            )
        else:
            solution = siting.maximal_covering(
                cover, residents, int(count or 0), covered=covered, time_limit_s=time_limit_s
            )
    elif mode == "cover_all":
        solution = siting.set_covering(
            cover, covered=covered, weight=residents, time_limit_s=time_limit_s
        )
    else:
        cost = costs[usable]
        if np.isnan(cost).any():
            missing = sites["id"].to_numpy()[usable][np.isnan(cost)]
            building = set(policy.money or ()) & _CONSTRUCTION_TABLES
            if not policy.money:
                rules = "has no money rules"
            elif not building:
                rules = "has no construction rules"
            else:
                rules = f"gives no construction subsidy for a {tier!r} of their size"
            if candidates is None:
                fix = "give --candidates with a 'cost' column (yuan)"
            elif not building:
                fix = "add a 'cost' column (yuan), or use a profile with construction rules"
            else:
                fix = "add a 'cost' column (yuan) or an 'area_m2' column the money rules can use"
            msg = (
                f"{len(missing)} candidate(s) have no cost (first: {missing[0]!r}) and the "
                f"profile {policy.name!r} {rules}; {fix}"
            )
            raise InputError(msg)
        buildable, money = _within_years(
            sites["id"].to_numpy()[usable], cost, float(budget or 0.0), years, notes
        )
        usable, cover = usable[buildable], csr_array(cover[:, buildable])
        spend = (cost[buildable], float(money))
        solution = siting.budgeted_covering(
            cover,
            residents,
            cost[buildable],
            money,
            covered=covered,
            years=years,
            time_limit_s=time_limit_s,
        )

    solution = _with_preference(
        solution,
        cover,
        residents,
        covered,
        health["beside_health_centre"].fillna(False).to_numpy(dtype=bool)[usable],
        policy=policy,
        tier=tier,
        mode=mode,
        spend=spend,
        plain=capacity or years > 1,
        on=prefer_health_centres,
        time_limit_s=time_limit_s,
        notes=notes,
    )
    chosen = usable[np.asarray(solution.chosen, dtype=np.int64)]
    if mode == "count" and len(chosen) < int(count or 0):
        notes.append(
            f"{len(chosen)} site(s) proposed, not {count}: no other candidate would add anyone"
        )
    elif mode == "budget" and not len(chosen) and usable.size:
        cheapest = float(costs[usable].min())
        notes.append(
            f"no site proposed: the cheapest candidate costs {cheapest:,.0f} yuan, more than "
            f"the budget of {float(budget or 0):,.0f} yuan"
            if cheapest > float(budget or 0)
            else "no site proposed: no candidate the budget pays for would add anyone"
        )
    picked = sites.iloc[chosen].copy()
    gains = np.asarray(solution.gains, dtype=float)
    proposed = gpd.GeoDataFrame(
        {
            "order": np.arange(1, len(chosen) + 1),
            "id": picked["id"].to_numpy(),
            "name": picked["name"].to_numpy(),
            "tier": tier,
            "newly_covered": np.round(gains, 1),
            "cumulative_covered": np.round(np.cumsum(gains), 1),
            "cost_yuan": costs[chosen],
            "area_m2": picked["area_m2"].to_numpy(dtype=float),
            "under_1000m2": pd.array(picked["under_1000m2"], dtype="boolean"),
            "generated": picked["generated"].to_numpy() if "generated" in picked else False,
            **{column: health[column].to_numpy()[chosen] for column in HEALTH_CENTRE_COLUMNS},
        },
        geometry=picked.geometry.to_numpy(),
        crs=net.crs,
    )
    newly = (
        np.asarray(cover[:, np.asarray(solution.chosen, dtype=np.int64)].sum(axis=1)).ravel() > 0
        if len(chosen)
        else np.zeros(len(residents), dtype=bool)
    )
    if solution.assignment is not None:
        newly = _served_by_new(solution.assignment, len(chosen))
    after = covered | newly
    communities = _before_after(prep, residents, covered, after, policy)
    if solution.assignment is not None and len(chosen):
        within = float((communities["within_after"] - communities["within_before"]).sum())
        notes.append(
            f"with --capacity a site's 'newly covered' are the residents it newly serves within "
            f"the floor areas ({gains.sum():,.0f} in all): residents within the circle of a "
            f"full facility count too, so the within-circle figures rise by less ({within:,.0f})"
        )
    order = pd.array(np.full(len(sites), pd.NA), dtype="Int64")
    order[chosen] = np.arange(1, len(chosen) + 1)
    return Proposal(
        sites=proposed,
        candidates=_every_candidate(
            sites.assign(
                cost_yuan=costs, order=order, **{c: health[c] for c in HEALTH_CENTRE_COLUMNS}
            )
        ),
        communities=communities,
        townships=_townships(communities),
        uncoverable=uncoverable,
        solution=solution,
        circle=target,
        mode=mode,
        notes=tuple(notes),
        circles=walking_circles(
            net,
            proposed,
            snap.subset(chosen),
            circle=target,
            speed_m_s=prep.speed_m_s,
            max_access_m=policy.max_access_m,
            raster=circle_raster(
                net, policy=policy, speed_m_s=prep.speed_m_s, elevation=prep.elevation
            ),
        ),
    )


def _beside_health_centre(
    prep: Prepared, sites: gpd.GeoDataFrame, policy: Policy, *, tier: str
) -> pd.DataFrame:
    """Each candidate's nearest health centre on foot and whether it is beside it (医养结合).

    The rule is :func:`carecircle.standards.health_centres`'s, applied to the candidates as
    facilities of ``tier`` among the district's health centres (the profile's
    ``[medical_integration]``; within ``max_walk_minutes`` over the network, the limit
    included; out of the profile's ``applies_to``, not checked). Indexed like ``sites``:
    :data:`HEALTH_CENTRE_COLUMNS`, NA where not checked.
    """
    out = pd.DataFrame(
        {
            "beside_health_centre": pd.array([pd.NA] * len(sites), dtype="boolean"),
            "health_centre_id": pd.array([pd.NA] * len(sites), dtype="string"),
            "health_centre_minutes": np.full(len(sites), np.nan),
        },
        index=sites.index,
    )
    rule = policy.medical_integration
    if rule is None or tier not in rule.tiers or not len(sites):
        return out
    facilities = prep.facilities
    health = facilities[facilities["tier"].eq("health_center").to_numpy()]
    points = gpd.GeoDataFrame(
        {"id": sites["id"].astype(str).to_numpy(), "tier": tier},
        geometry=sites.geometry.to_numpy(),
        crs=sites.crs,
    )
    beside = gpd.GeoDataFrame(
        {"id": health["id"].astype(str).to_numpy(), "tier": "health_center"},
        geometry=health.geometry.to_numpy(),
        crs=facilities.crs,
    ).to_crs(sites.crs)
    frame = gpd.GeoDataFrame(pd.concat([points, beside], ignore_index=True), crs=sites.crs)
    placed = standards.locate(frame, prep.communities.to_crs(sites.crs))
    found = standards.health_centres(
        placed, prep.communities, policy, net=prep.net, speed_m_s=prep.speed_m_s
    ).iloc[: len(sites)]
    checked = found["beside_health_centre"].notna().to_numpy()
    out.loc[checked, "beside_health_centre"] = found["beside_health_centre"].to_numpy()[checked]
    ids = found["health_centre_id"].astype(str).to_numpy()
    out.loc[checked & (ids != ""), "health_centre_id"] = ids[checked & (ids != "")]
    out["health_centre_minutes"] = found["health_centre_minutes"].to_numpy(dtype=float)
    return out


def _with_preference(
    solution: siting.Solution,
    cover: Any,
    residents: np.ndarray,
    covered: np.ndarray,
    beside: np.ndarray,
    *,
    policy: Policy,
    tier: str,
    mode: str,
    spend: tuple[np.ndarray, float] | None,
    plain: bool,
    on: bool,
    time_limit_s: float,
    notes: list[str],
) -> siting.Solution:
    """The solution with the most sites beside a health centre among those as good (医养结合).

    ``beside`` is over ``cover``'s columns. Adds a note saying what was preferred and proved.
    """
    rule = policy.medical_integration
    if rule is None or tier not in rule.tiers:
        return solution
    where = f"within {rule.max_walk_minutes:g} minutes' walk of a health centre"
    if not on:
        notes.append(f"sites {where} not preferred (--no-health-centre-preference)")
        return solution
    if plain:
        notes.append(
            f"sites {where} not preferred with --capacity or yearly budgets: "
            f"{int(beside[np.asarray(solution.chosen, dtype=np.int64)].sum())} of the chosen are"
        )
        return solution
    if not beside.any():
        notes.append(f"no candidate is {where} (tier health_center): none could be preferred")
        return solution
    out = prefer(
        solution,
        csr_array(cover),
        residents,
        beside,
        covered=covered,
        cost=None if spend is None else spend[0],
        budget=None if spend is None else spend[1],
        cover_all=mode == "cover_all",
        time_limit_s=min(
            _PREFERENCE_SHARE * time_limit_s, max(_PREFERENCE_MIN_S, solution.runtime_s)
        ),
    )
    found = out.preference
    assert found is not None  # prefer always sets it
    same = (
        "as few sites covering everyone coverable"
        if mode == "cover_all"
        else "the same residents newly covered with no more sites"
    )
    proved = (
        "none has more (proved)"
        if found.status == siting.OPTIMAL
        else f"not proved: at most {found.bound} could be"
    )
    notes.append(
        f"{found.count} of {len(out.chosen)} chosen site(s) {where} (医养结合, preferred among "
        f"the site sets with {same}; {proved})"
    )
    return out


def _note_off_network(sites: gpd.GeoDataFrame, max_access_m: float, notes: list[str]) -> None:
    """Say which candidates lie too far from a street to be chosen; raise when all do.

    ``sites`` has ``id``, ``access_m`` and ``network_status``. Such candidates stay in
    :attr:`Proposal.candidates` (and ``candidates.csv``) with the status ``off_network``.
    """
    off = np.flatnonzero((sites["network_status"] == "off_network").to_numpy())
    if off.size == 0:
        return
    ids = sites["id"].to_numpy()
    access = sites["access_m"].to_numpy(dtype=float)
    if off.size == len(sites):
        nearest = int(np.argmin(access))
        source = sites.attrs.get("source")
        msg = (
            f"{source + ': ' if source else ''}"
            f"none of the {len(sites)} candidate sites lies within {max_access_m:g} m of the "
            f"walking network (the nearest, {ids[nearest]!r}, is {access[nearest]:,.0f} m "
            "away); expected sites beside a street of the district (check the file and "
            "--candidate-coords)"
        )
        raise InputError(msg)
    first = off[0]
    notes.append(
        f"{off.size} of {len(sites)} candidate(s) lie more than {max_access_m:g} m from the "
        f"walking network and cannot be chosen (first: {ids[first]!r}, {access[first]:,.0f} m); "
        "candidates.csv lists them as off_network"
    )


def _within_years(
    ids: np.ndarray, cost: np.ndarray, budget: float, years: int, notes: list[str]
) -> tuple[np.ndarray, float]:
    """Which candidates one year's budget can pay for, and what the years can spend on them.

    ``budget`` is spread over ``years`` equal yearly budgets. A candidate dearer than a year's
    budget is never built. At one price for all the others, each year buys as many sites as
    its own budget pays for, so the years spend that many times the price, which may be less
    than ``budget`` (3 years of 300,000 yuan at 200,000 a site build 3 sites, not 4). One year:
    every candidate, and the whole budget.
    """
    if years == 1:
        return np.ones(cost.size, dtype=bool), budget
    yearly = budget / years
    buildable = cost <= yearly
    if not buildable.all():
        first = int(np.flatnonzero(~buildable)[0])
        notes.append(
            f"{int((~buildable).sum())} candidate(s) cost more than a year's budget "
            f"({yearly:,.0f} yuan) and are left out (first: {ids[first]!r}, "
            f"{cost[first]:,.0f} yuan)"
        )
    prices = np.unique(cost[buildable])
    if prices.size != 1 or prices[0] <= 0:
        return buildable, budget
    price = float(prices[0])
    each_year = siting.affordable(yearly, price)
    money = (years * each_year) * price
    if siting.affordable(budget, price) > years * each_year:  # the whole would buy more
        notes.append(
            f"at {price:,.0f} yuan a site, a year's {yearly:,.0f} yuan builds {each_year}: "
            f"{years * each_year} site(s) in {years} years"
        )
    return buildable, money


def check_question(
    policy: Policy,
    *,
    circle: str = "eldercare",
    tier: str = "community_station",
    count: int | None = None,
    cover_all: bool = False,
    budget: float | None = None,
    years: int = 1,
    capacity: bool = False,
    spacing_m: float = 100.0,
    time_limit_s: float = 60.0,
    candidates_given: bool = True,
) -> str:
    """Check a siting question against ``policy`` before any data is read; return its mode.

    The arguments are :func:`propose`'s (``candidates_given``: whether candidate sites are
    given rather than generated), checked as :func:`propose` checks them first, so a command or
    a script can refuse a wrong question at once instead of after the analysis. Returns one of
    :data:`MODES`.

    Raises
    ------
    InputError
        In one line, naming the option: not exactly one question; ``count`` below 1; a budget
        below 0 or not finite; ``years`` below 1, or above 1 without a budget; ``capacity``
        without ``count``, without candidates (generated ones have no floor area) or without
        ``provision.area_per_resident_m2`` in the profile; a circle the profile lacks; a tier
        that does not count for the circle; a spacing or time limit not a finite number > 0.

    """
    mode = _mode(count, cover_all, budget, capacity)
    if isinstance(years, bool) or not isinstance(years, int) or years < 1:
        msg = f"years must be a whole number of years ≥ 1; got {years!r}"
        raise InputError(msg)
    if years > 1 and mode != "budget":
        msg = "years splits a budget into yearly budgets; it goes with --budget YUAN"
        raise InputError(msg)
    target = policy.circle(circle)
    if terms.tier_name(tier) not in target.tiers:
        default = " (the default)" if tier == "community_station" else ""
        msg = (
            f"--tier {tier!r}{default} does not count for circle {circle!r}; "
            f"expected one of {', '.join(map(repr, target.tiers))}"
        )
        raise InputError(msg)
    as_number(spacing_m, "--spacing-m", "a number of metres > 0", positive=True)
    as_number(time_limit_s, "--time-limit-s", "a number of seconds > 0", positive=True)
    if capacity and "area_per_resident_m2" not in policy.provision:
        msg = f"--capacity needs provision.area_per_resident_m2 in the profile {policy.name!r}"
        raise InputError(msg)
    if capacity and not candidates_given:
        msg = (
            "--capacity needs every candidate's 'area_m2' (floor area, m²): candidates "
            "generated on the network have none; give --candidates with floor areas"
        )
        raise InputError(msg)
    return mode


def _mode(count: int | None, cover_all: bool, budget: float | None, capacity: bool) -> str:
    asked = [
        name
        for name, on in (
            ("count", count is not None),
            ("cover_all", cover_all),
            ("budget", budget is not None),
        )
        if on
    ]
    if len(asked) != 1:
        msg = "ask one question: --count K, --cover-all or --budget YUAN"
        raise InputError(msg)
    if count is not None and count < 1:
        msg = f"--count must be 1 or more, found {count!r}"
        raise InputError(msg)
    if budget is not None and not (budget >= 0 and math.isfinite(budget)):
        msg = f"--budget must be a finite number of yuan, 0 or more, found {budget!r}"
        raise InputError(msg)
    if capacity and asked[0] != "count":
        msg = "--capacity goes with --count K"
        raise InputError(msg)
    return asked[0]


def _costs(
    sites: gpd.GeoDataFrame, policy: Policy, *, tier: str, municipal: bool | None, notes: list[str]
) -> np.ndarray:
    """Each candidate's cost: its own ``cost`` column, else the profile's construction rules.

    A candidate is a facility still to be built: the rules cost it as one opening this year
    (a facility without an opening year counts as existing, which gets no construction
    subsidy).
    """
    given = sites["cost"].to_numpy(dtype=float) if "cost" in sites else np.full(len(sites), np.nan)
    if not np.isnan(given).any() or not policy.money:
        return given
    frame = pd.DataFrame(
        {
            "id": sites["id"],
            "name": sites["name"],
            "tier": tier,
            "area_m2": sites["area_m2"].to_numpy(dtype=float),
            "year": datetime.date.today().year,
        }
    )
    try:
        ruled = costing.cost(frame, policy, municipal=municipal)
    except InputError as exc:
        notes.append(f"candidates without a cost: the profile's rules could not cost them ({exc})")
        return given
    # which of 运城's per-m² caps was assumed, when neither --municipal nor --not-municipal
    notes += [n for n in ruled.notes if n.startswith("neither --municipal nor --not-municipal")]
    rule = ruled.facilities["construction_yuan"].to_numpy(dtype=float)
    # No rule for the tier, or a site below a rule's floor area, gets 0 yuan of subsidy: that
    # is no price for a site, which a budget would otherwise take as free.
    rule = np.where(rule > 0, rule, np.nan)
    filled = np.where(np.isnan(given), rule, given)
    used = int((np.isnan(given) & np.isfinite(rule)).sum())
    if used:
        notes.append(
            f"{used} candidate(s) costed by the profile's construction rules "
            f"({policy.name}): the subsidy a {tier} of its size receives"
        )
    return filled


def _capacitated(
    prep: Prepared,
    target: Circle,
    sites: gpd.GeoDataFrame,
    usable: np.ndarray,
    cover: csr_array,
    residents: np.ndarray,
    covered: np.ndarray,
    *,
    policy: Policy,
    k: int,
    notes: list[str],
    time_limit_s: float,
) -> siting.Solution:
    rule = policy.provision["area_per_resident_m2"]  # present: check_question made sure
    per_resident = float(rule.value)
    population = prep.communities["population"].to_numpy(dtype=float)
    share = float(np.nansum(residents) / max(np.nansum(population), 1e-9))
    area = sites["area_m2"].to_numpy(dtype=float)[usable]
    if np.isnan(area).any():
        missing = sites["id"].to_numpy()[usable][np.isnan(area)]
        msg = (
            "--capacity needs every candidate's 'area_m2' (floor area, m²): "
            f"{missing.size} candidate(s) have none, the first {missing[0]!s}"
        )
        raise InputError(msg)
    capacity = area / per_resident * share
    fac = prep.facilities
    existing = np.flatnonzero(
        fac["tier"].isin(target.tiers).to_numpy() & (fac["network_status"] == "ok").to_numpy()
    )
    existing_cover = candidates_mod.coverage_matrix(
        prep.net,
        prep.facility_snap.subset(existing),
        prep.point_snap,
        prep.point_limits_s(target),
        speed_m_s=prep.speed_m_s,
        usable=~prep.off_network,
    )
    existing_area = fac["area_m2"].to_numpy(dtype=float)[existing]
    existing_capacity = (
        np.where(np.isnan(existing_area), np.inf, existing_area) / per_resident * share
    )
    notes.append(
        f"capacity: floor area / {per_resident:g} m² per resident ({rule.source}), counted in "
        f"the residents the shares are of (× {share:.3f}, their share of the population); "
        "existing facilities without a floor area are taken as unlimited"
    )
    return siting.capacitated_covering(
        cover,
        residents,
        capacity,
        k,
        covered_capacity=existing_capacity,
        existing_cover=existing_cover,
        time_limit_s=time_limit_s,
    )


def _served_by_new(assignment: Any, n_new: int) -> np.ndarray:
    """Points at least half of whose residents the new sites serve (capacitated solution)."""
    if n_new == 0:
        return np.zeros(assignment.shape[0], dtype=bool)
    new = assignment[:, assignment.shape[1] - n_new :]
    return np.asarray(new.sum(axis=1)).ravel() >= 0.5 - 1e-9


def _before_after(
    prep: Prepared, residents: np.ndarray, before: np.ndarray, after: np.ndarray, policy: Policy
) -> pd.DataFrame:
    comm = prep.communities
    n = len(comm)
    group = prep.points.community
    total = np.bincount(group, weights=residents, minlength=n)
    within_before = np.bincount(group, weights=residents * before, minlength=n)
    within_after = np.bincount(group, weights=residents * after, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_before = np.where(total > 0, within_before / total, np.nan)
        share_after = np.where(total > 0, within_after / total, np.nan)

    def status(share: np.ndarray) -> np.ndarray:
        out = share_status(
            share,
            covered_min_share=policy.covered_min_share,
            partial_min_share=policy.partial_min_share,
        )
        bad = (comm["input_status"] != "ok").to_numpy()
        out[bad] = comm["input_status"].to_numpy()[bad]
        out[~bad & (total <= 0)] = "no_population"
        return out

    return pd.DataFrame(
        {
            "id": comm["id"].to_numpy(),
            "name": comm["name"].to_numpy(),
            "township": comm["township"].to_numpy(),
            "residents": np.round(total, 1),
            "within_before": np.round(within_before, 1),
            "within_after": np.round(within_after, 1),
            "share_before": np.round(share_before, 4),
            "share_after": np.round(share_after, 4),
            "status_before": status(share_before),
            "status_after": status(share_after),
        }
    )


def _townships(communities: pd.DataFrame) -> pd.DataFrame:
    groups = by_township(communities)
    table = groups[["residents", "within_before", "within_after"]].sum()
    table["share_before"] = pooled_share(table["within_before"], table["residents"]).round(4)
    table["share_after"] = pooled_share(table["within_after"], table["residents"]).round(4)
    table["communities_covered_before"] = groups["status_before"].apply(
        lambda s: int((s == terms.COVERED).sum())
    )
    table["communities_covered_after"] = groups["status_after"].apply(
        lambda s: int((s == terms.COVERED).sum())
    )
    return table.reset_index()


def _uncoverable(
    prep: Prepared, residents: np.ndarray, covered: np.ndarray, cover: csr_array, target: Circle
) -> pd.DataFrame:
    """Residents no candidate can bring in, per community, with the reason."""
    reachable = np.asarray(cover.sum(axis=1)).ravel() > 0
    left = ~covered & ~reachable & (residents > 0)
    rows = []
    comm = prep.communities
    group = prep.points.community
    off_network, out_of_reach = reasons(target)
    for reason, mask in (
        (off_network, left & prep.off_network),
        (out_of_reach, left & ~prep.off_network),
    ):
        amount = np.bincount(group[mask], weights=residents[mask], minlength=len(comm))
        for i in np.flatnonzero(amount > 0):
            rows.append(
                (comm["id"].iloc[i], comm["name"].iloc[i], round(float(amount[i]), 1), reason)
            )
    return pd.DataFrame(rows, columns=["community_id", "name", "residents", "reason"])


PLANNED = "planned"
"""Phase status: the site is built in the year given."""

LATER = "after_the_horizon"
"""Phase status: the years ran out before the site's turn."""

TOO_DEAR = "over_a_year_budget"
"""Phase status: the site costs more than one year's budget, so no year can build it."""


def check_phasing(*, years: int, per_year: int | None, budget_per_year: float | None) -> None:
    """Raise :class:`InputError` unless the yearly limits can phase a plan (see :func:`phase`).

    One of ``per_year`` (at least 1) and ``budget_per_year`` (yuan, more than 0) is given, and
    ``years`` is at least 1. A script can check them before it solves anything.
    """
    if (per_year is None) == (budget_per_year is None):
        msg = "phase by --per-year (sites) or --budget-per-year (yuan): give one of the two"
        raise InputError(msg)
    if years < 1 or (per_year is not None and per_year < 1):
        msg = f"--years and --per-year must be at least 1; got {years} and {per_year}"
        raise InputError(msg)
    if budget_per_year is not None and not budget_per_year > 0:
        msg = f"--budget-per-year must be more than 0 yuan; got {budget_per_year:g}"
        raise InputError(msg)


def attach(
    analysis: Analysis, proposal: Proposal, *, proposed: gpd.GeoDataFrame | None = None
) -> Analysis:
    """The analysis with the proposal on it, for :func:`carecircle.outputs.maps.build` and export.

    Parameters
    ----------
    analysis : Analysis
        The district analysed (see :func:`carecircle.pipeline.analyze`).
    proposal : Proposal
        The proposed sites (see :func:`propose`).
    proposed : geopandas.GeoDataFrame, optional, keyword-only
        The sites to show instead of ``proposal.sites`` (the same rows with more columns, such
        as the ``year`` and ``status`` of :func:`phase`).

    Returns
    -------
    Analysis
        A copy with ``proposed``, ``proposed_circles``, ``candidates`` and ``after`` filled
        in.

    """
    return replace(
        analysis,
        proposed=proposal.sites if proposed is None else proposed,
        proposed_circles=proposal.circles,
        candidates=proposal.candidates,
        after=proposal.communities.assign(circle=proposal.circle.name),
    )


def phase(
    proposal: Proposal,
    *,
    first_year: int,
    years: int,
    per_year: int | None = None,
    budget_per_year: float | None = None,
) -> pd.DataFrame:
    """The proposed sites phased year by year, in their order of choice.

    The sites are taken in the order of :attr:`Proposal.sites` (largest marginal gain first),
    each year building the next ones while it has room: at most ``per_year`` sites, or sites
    whose costs add up to at most ``budget_per_year`` yuan (give one of the two). A site that
    does not fit waits for the next year, and so do the ones after it, so every year's sites
    follow on from the previous year's and the coverage after each year is the cumulative
    coverage of the order. A site dearer than a whole year's budget is left out of the years
    (``over_a_year_budget``) and the order goes on without it. When the proposal was chosen for
    yearly budgets (``propose(..., budget=, years=)``, whose solution says which year pays for
    each site) and those years fit within ``years`` and ``budget_per_year``, each site is built
    in its own year instead: the sites then run year by year already.

    Returns one row per proposed site: ``year`` (blank when not built in ``first_year ..
    first_year + years - 1``), ``status`` (:data:`PLANNED`, :data:`LATER`, :data:`TOO_DEAR`),
    ``order``, ``id``, ``name``, ``cost_yuan``, ``newly_covered`` (older residents the site
    brings into the circle, in the order built), ``year_cost_yuan`` (what its year spends in
    all), and ``share_after``: the district's share of older residents within the circle once
    the site's year is built.

    Raises
    ------
    InputError
        As :func:`check_phasing`, or when a budget is asked for while a site has no cost.

    """
    check_phasing(years=years, per_year=per_year, budget_per_year=budget_per_year)
    table = pd.DataFrame(proposal.sites.drop(columns="geometry"))
    cost = table["cost_yuan"].to_numpy(dtype=float)
    if budget_per_year is not None and np.isnan(cost).any():
        missing = table["id"].to_numpy()[np.isnan(cost)]
        msg = f"{missing.size} proposed site(s) have no cost (first: {missing[0]!s})"
        raise InputError(msg)
    paid_in = _paid_in(proposal.solution.year, cost, years=years, budget=budget_per_year)
    if paid_in is None:
        year, status = _in_order(cost, years=years, per_year=per_year, budget=budget_per_year)
    else:
        year, status = paid_in, np.full(len(table), PLANNED, dtype=object)
    year = np.where(year >= 0, first_year + year, -1)
    residents = float(proposal.communities["residents"].sum())
    before = float(proposal.communities["within_before"].sum())
    gains = np.where(status == PLANNED, table["newly_covered"].to_numpy(dtype=float), 0.0)
    planned = pd.Series(gains).groupby(year).sum()
    reached = before + planned[planned.index >= 0].cumsum()
    share = reached / residents if residents > 0 else reached * np.nan
    spent_by_year = pd.Series(np.where(status == PLANNED, cost, 0.0)).groupby(year).sum()
    return pd.DataFrame(
        {
            "year": pd.array([int(y) if y >= 0 else None for y in year], dtype="Int64"),
            "status": status,
            "order": table["order"].to_numpy(),
            "id": table["id"].to_numpy(),
            "name": table["name"].to_numpy(),
            "cost_yuan": cost,
            "newly_covered": table["newly_covered"].to_numpy(dtype=float),
            "year_cost_yuan": [spent_by_year.get(y, np.nan) if y >= 0 else np.nan for y in year],
            "share_after": [round(float(share[y]), 4) if y >= 0 else np.nan for y in year],
        }
    )


def _in_order(
    cost: np.ndarray, *, years: int, per_year: int | None, budget: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Year (0 for the first; -1: none) and status of each site, filling the years in order.

    Each year takes the next sites while it has room (``per_year`` sites, or ``budget`` yuan);
    a site dearer than a whole year's budget is skipped as :data:`TOO_DEAR`.
    """
    year = np.full(cost.size, -1, dtype=np.int64)
    status = np.full(cost.size, LATER, dtype=object)
    current, built, spent = 0, 0, 0.0
    for i in range(cost.size):
        if budget is not None and cost[i] > budget:
            status[i] = TOO_DEAR
            continue
        fits = built < per_year if per_year is not None else spent + cost[i] <= budget
        if not fits:
            current, built, spent = current + 1, 0, 0.0
        if current >= years:
            break
        year[i], status[i] = current, PLANNED
        built, spent = built + 1, spent + float(np.nan_to_num(cost[i]))
    return year, status


def _paid_in(
    given: np.ndarray | None, cost: np.ndarray, *, years: int, budget: float | None
) -> np.ndarray | None:
    """The solver's year for each site (0 for the first) when they fit the yearly budgets.

    None when there is no budget, no year from the solver, or its years do not fit ``years``
    budgets of ``budget`` yuan (a proposal chosen under other limits than the phasing's).
    """
    if budget is None or given is None or len(given) != cost.size:
        return None
    if cost.size == 0:
        return np.asarray(given, dtype=np.int64)
    spent = np.bincount(given, weights=np.nan_to_num(cost), minlength=years)
    if int(given.max()) >= years or bool(np.any(spent > budget * (1.0 + 1e-9))):
        return None
    return np.asarray(given, dtype=np.int64)


def _every_candidate(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The candidates with what decides their choice first, then their other columns.

    The input ``cost`` is left out: ``cost_yuan`` holds it, or the profile's cost where blank.
    """
    first = ["order", "id", "name", "network_status", "access_m", "reach", "cost_yuan"]
    rest = [c for c in sites.columns if c not in first and c != "cost"]
    return sites[first + rest]
