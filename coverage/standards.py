"""Facility standards and provision rules: floor areas, beds, one centre and one station each.

Every check reads its figures from the policy profile (:class:`carecircle.policy.Standard` and
:class:`carecircle.policy.Rule`) and reports the rule's source with the result, so a report can
say "240 m² is below the 300 m² of 垫江府办〔2020〕8号 附件1". The checks work on the layers as
read by :mod:`carecircle.inputs` and need no network, except that :func:`centre_stations`
walks the network when one is given.

The sentences are English in the columns that ``facilities.csv`` and ``district.csv`` keep
(``standard_note``, ``standard_advice``, ``basis``), for scripts; the workbook and the map show
them in the reader's language: :func:`check_facilities` also gives them in Chinese
(:data:`STANDARD_TEXT_ZH_COLUMNS`) and :func:`district_basis` words a ``basis`` in Chinese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import KDTree

from . import travel
from ._validate import walking_speed
from .circles import by_township
from .coords import check_same_crs
from .inputs.readers import check_community_ids, check_shared_stations, layer_where
from .network import WalkNetwork, main_parts
from .policy import Policy, YearlyTarget
from .terms import ELDERCARE_TIERS, NO_TEXTS, YES_NO_EXPECTED, YES_TEXTS

CENTRE_TIERS = ("street_center", "township_center")
STATION_TIERS = ("community_station", "village_point")

MEETS = "meets"
BELOW = "below"
ABOVE = "above_max"
UNKNOWN = "unknown"
NO_STANDARD = "no_standard"

#: Columns of :func:`check_facilities`, in order.
STANDARD_COLUMNS = (
    "standard_status",
    "area_required_m2",
    "area_shortfall_m2",
    "beds_required",
    "beds_shortfall",
    "standard_advice",
    "standard_note",
    "standard_source",
)
#: The Chinese texts of :data:`STANDARD_COLUMNS`'s sentences, after them in
#: :func:`check_facilities` (not in ``facilities.csv``, whose sentences are English).
STANDARD_TEXT_ZH_COLUMNS = ("standard_advice_zh", "standard_note_zh")
#: Columns of :func:`centre_stations`, in order.
CENTRE_COLUMNS = (
    "centre_id",
    "centre_minutes",
    "centre_method",
    "within_centre_circle",
    "stations_assigned",
    "stations_over_limit",
)
#: Columns of :func:`health_centres` (医养结合), in order.
HEALTH_CENTRE_COLUMNS = (
    "health_centre_id",
    "health_centre_minutes",
    "health_centre_method",
    "beside_health_centre",
)
#: Columns of :func:`check_communities`, in order.
COMMUNITY_CHECK_COLUMNS = (
    "stations",
    "station_status",
    "eldercare_area_m2",
    "area_per_resident_m2",
    "area_per_resident_required_m2",
    "area_per_resident_status",
)


@dataclass(frozen=True)
class Checks:
    """Results of every standards check.

    Attributes
    ----------
    facilities : pandas.DataFrame
        One row per facility (indexed like the input): ``community_id`` and ``township``
        (see :func:`locate`),
        ``standard_status``, ``area_required_m2``, ``area_shortfall_m2``, ``beds_required``,
        ``beds_shortfall``, ``standard_advice``, ``standard_source``, ``standard_note``,
        ``standard_advice_zh``, ``standard_note_zh`` (the advice and note in Chinese), and for
        stations and centres ``centre_id``, ``centre_minutes``, ``centre_method``,
        ``within_centre_circle``, ``stations_assigned``, ``stations_over_limit``, and for the
        centres the profile's ``[medical_integration]`` checks ``health_centre_id``,
        ``health_centre_minutes``, ``health_centre_method``, ``beside_health_centre`` (see
        :func:`health_centres`).
    communities : pandas.DataFrame
        One row per community: ``stations``, ``station_status``, ``eldercare_area_m2``,
        ``area_per_resident_m2``, ``area_per_resident_required_m2``,
        ``area_per_resident_status``.
    townships : pandas.DataFrame
        One row per township: ``communities``, ``centres``, ``centre_status``,
        ``communities_with_station``, ``station_coverage``, ``station_status``.
    district : pandas.DataFrame
        One row per district target: ``rule``, ``value``, ``target``, ``year``, ``status``,
        ``basis`` (``"24 of 58"``; see :func:`district_basis` for Chinese), ``source``.

    """

    facilities: pd.DataFrame
    communities: pd.DataFrame
    townships: pd.DataFrame
    district: pd.DataFrame


def check(
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    policy: Policy,
    *,
    net: WalkNetwork | None = None,
    speed_m_s: float | None = None,
) -> Checks:
    """Run every check of the profile.

    Parameters
    ----------
    communities, facilities : geopandas.GeoDataFrame
        As read by :mod:`carecircle.inputs`, in the same CRS.
    policy : Policy
        The profile with its standards, provision rules and targets.
    net : WalkNetwork, optional, keyword-only
        Walking network for assigning stations to centres; straight lines when omitted.
    speed_m_s : float, optional, keyword-only
        Walking speed, m/s; the profile's when omitted.

    Returns
    -------
    Checks

    """
    check_same_crs(communities.crs, facilities.crs, what=("the communities", "the facilities"))
    placed = locate(facilities, communities)
    fac = check_facilities(placed, communities, policy)
    links = centre_stations(placed, policy, net=net, speed_m_s=speed_m_s)
    health = health_centres(placed, communities, policy, net=net, speed_m_s=speed_m_s)
    fac = pd.concat([placed[["community_id", "township"]], fac, links, health], axis=1)
    fac = _with_centre_notes(fac, placed, policy)
    comm = check_communities(communities, placed, policy)
    towns = check_townships(communities, placed, comm, policy)
    district = check_district(communities, placed, policy)
    yearly = check_yearly(communities, placed, comm, towns, policy)
    if len(yearly):
        district = pd.concat([district, yearly], ignore_index=True).astype({"year": "Int64"})
    return Checks(fac, comm, towns, district)


def locate(facilities: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give each facility its ``community_id`` and ``township``.

    A ``community_id`` column in the facilities (a facility declared to belong to a community)
    wins; otherwise the community polygon containing the facility. A facility outside every
    community gets ``""``. A ``township`` column in the facilities wins over the community's.
    """
    check_same_crs(communities.crs, facilities.crs, what=("the communities", "the facilities"))
    out = facilities.copy()
    comm_ids = communities["id"].astype(str).to_numpy()
    check_community_ids(out, communities)
    declared = (
        out["community_id"].fillna("").astype(str).str.strip().to_numpy()
        if "community_id" in out
        else np.full(len(out), "", dtype=object)
    )
    tree = shapely.STRtree(communities.geometry.to_numpy())
    which, hit = tree.query(out.geometry.to_numpy(), predicate="within")
    found = np.full(len(out), "", dtype=object)
    first = ~pd.Series(which).duplicated().to_numpy()
    found[which[first]] = comm_ids[hit[first]]
    community_id = np.where(declared != "", declared, found)
    township_of = dict(zip(comm_ids, communities["township"].astype(str), strict=True))
    from_community = np.array([township_of.get(c, "") for c in community_id], dtype=object)
    if "township" in out:
        given = out["township"].fillna("").astype(str).to_numpy()
        township = np.where(given != "", given, from_community)
    else:
        township = from_community
    return out.assign(community_id=community_id, township=township)


def check_facilities(
    facilities: gpd.GeoDataFrame, communities: pd.DataFrame, policy: Policy
) -> pd.DataFrame:
    """Floor area and beds of every facility against its tier's standard.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        With ``community_id`` (see :func:`locate`).
    communities : pandas.DataFrame
        For the older residents of each facility's community (the few-elderly exception).
    policy : Policy
        The profile.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``facilities``: :data:`STANDARD_COLUMNS` (sentences in English), then
        :data:`STANDARD_TEXT_ZH_COLUMNS` (the advice and note in Chinese). A facility in a
        community of a kind the profile's ``applies_to`` leaves out (a village under 运城's
        urban-only 运〔2021〕—2) is ``no_standard``, with a note saying why.

    """
    ids = communities["id"].astype(str)
    elderly_of = dict(zip(ids, communities["elderly"].astype(float), strict=True))
    in_scope = _in_scope(facilities, communities, policy)
    rows = []
    for row, applies in zip(facilities.itertuples(index=False), in_scope, strict=True):
        elderly = elderly_of.get(str(row.community_id), np.nan)
        rows.append(_facility_row(row, policy, elderly, applies=bool(applies)))
    columns = [*STANDARD_COLUMNS, *STANDARD_TEXT_ZH_COLUMNS]
    return pd.DataFrame(rows, columns=columns, index=facilities.index)


def _in_scope(facilities: pd.DataFrame, communities: pd.DataFrame, policy: Policy) -> np.ndarray:
    """Whether the profile's rules apply where each facility stands (its community's kind).

    A facility outside every community, or in one without a kind, counts as urban.
    """
    kind_of = dict(zip(communities["id"].astype(str), _community_kinds(communities), strict=True))
    kinds = facilities["community_id"].astype(str).map(kind_of).fillna("urban")
    return policy.applies(kinds.to_numpy())


def _community_kinds(communities: pd.DataFrame) -> np.ndarray:
    """The communities' ``kind``; all ``"urban"`` for a table without the column."""
    if "kind" not in communities:
        return np.full(len(communities), "urban", dtype=object)
    return communities["kind"].to_numpy(dtype=object)


def _facility_row(
    row: Any, policy: Policy, elderly: float, *, applies: bool = True
) -> tuple[object, ...]:
    """The values of :data:`STANDARD_COLUMNS`, then of :data:`STANDARD_TEXT_ZH_COLUMNS`.

    Each sentence is written twice, in English and in Chinese (as ``(en, zh)`` pairs).
    ``applies`` is False for a facility in a community the profile's ``applies_to`` leaves out.
    """
    tier = str(row.tier)
    std = policy.standards.get(tier)
    if std is None:
        note = ("no standard for this tier", "本政策未规定该等级设施的标准")
        return (NO_STANDARD, np.nan, np.nan, np.nan, np.nan, "", note[0], "", "", note[1])
    if not applies:
        note = (
            f"no standard: the profile's standards are for {policy.scope_en} and this facility "
            f"is in a rural community (village) ({std.source})",
            f"本政策的设施标准{policy.scope_zh}，该设施位于农村（村），不适用（{std.source}）",
        )
        return (NO_STANDARD, np.nan, np.nan, np.nan, np.nan, "", note[0], "", "", note[1])
    if all(
        bound is None
        for bound in (
            std.min_area_m2,
            std.max_area_m2,
            std.min_beds,
            std.recommended_beds,
            std.recommended_nursing_beds,
        )
    ):
        # a standard with no number (村级互助养老点: "a dedicated room"): nothing to check, so
        # nothing is said to be met
        note = (
            f"the standard sets no floor area or beds for this tier: nothing to check "
            f"({std.source})",
            f"该等级设施的标准未规定面积或床位，无可核对（{std.source}）",
        )
        return (NO_STANDARD, np.nan, np.nan, np.nan, np.nan, "", note[0], std.source, "", note[1])
    area = float(row.area_m2)
    beds = float(row.beds)
    nursing = float(row.nursing_beds)
    required = std.min_area_m2
    few = (
        std.few_elderly_max is not None
        and np.isfinite(elderly)
        and elderly <= std.few_elderly_max
        and std.min_area_m2_few_elderly is not None
    )
    if few:
        required = std.min_area_m2_few_elderly
    notes: list[tuple[str, str]] = []
    status = MEETS
    area_short = np.nan
    if required is not None or std.max_area_m2 is not None:
        if not np.isfinite(area):
            status = UNKNOWN
            notes.append(("floor area not given", "未填建筑面积"))
        else:
            area_short = max(0.0, (required or 0.0) - area)
            if required is not None and area < required:
                status = BELOW
                exception = (
                    (
                        f" (the {std.min_area_m2_few_elderly:g} m² allowed where a community has "
                        f"at most {std.few_elderly_max:g} older residents)",
                        f"（60岁以上老人不超过{std.few_elderly_max:g}人的社区可为"
                        f"{std.min_area_m2_few_elderly:g} m²）",
                    )
                    if few
                    else ("", "")
                )
                notes.append(
                    (
                        f"{area:g} m² is below the {required:g} m²{exception[0]}",
                        f"建筑面积{area:g} m²，低于{required:g} m²的要求{exception[1]}",
                    )
                )
            elif std.max_area_m2 is not None and area > std.max_area_m2:
                status = ABOVE
                notes.append(
                    (
                        f"{area:g} m² is above the {std.max_area_m2:g} m² maximum",
                        f"建筑面积{area:g} m²，超过{std.max_area_m2:g} m²的上限",
                    )
                )
    beds_short = np.nan
    if std.min_beds is not None:
        if not np.isfinite(beds):
            status = UNKNOWN if status == MEETS else status
            notes.append(("beds not given", "未填床位数"))
        else:
            beds_short = max(0.0, std.min_beds - beds)
            if beds < std.min_beds:
                status = BELOW
                notes.append(
                    (
                        f"{beds:g} beds is below the {std.min_beds:g} required",
                        f"床位{beds:g}张，低于要求的{std.min_beds:g}张",
                    )
                )
    advice: list[tuple[str, str]] = []
    if std.recommended_beds is not None and np.isfinite(beds) and beds < std.recommended_beds:
        advice.append(
            (
                f"{beds:g} beds; {std.recommended_beds:g} where possible",
                f"床位{beds:g}张；有条件的应设置{std.recommended_beds:g}张",
            )
        )
    if (
        std.recommended_nursing_beds is not None
        and np.isfinite(nursing)
        and nursing < std.recommended_nursing_beds
    ):
        advice.append(
            (
                f"{nursing:g} nursing beds; {std.recommended_nursing_beds:g} where possible",
                f"护理型床位{nursing:g}张；有条件的应设置{std.recommended_nursing_beds:g}张",
            )
        )
    note_en = "; ".join(en for en, _ in notes) + (f" ({std.source})" if notes else "")
    note_zh = "；".join(zh for _, zh in notes) + (f"（{std.source}）" if notes else "")
    return (
        status,
        np.nan if required is None else required,
        area_short,
        np.nan if std.min_beds is None else std.min_beds,
        beds_short,
        "; ".join(en for en, _ in advice),
        note_en,
        std.source,
        "；".join(zh for _, zh in advice),
        note_zh,
    )


def check_communities(
    communities: pd.DataFrame, facilities: pd.DataFrame, policy: Policy
) -> pd.DataFrame:
    """Stations and elderly-care floor area of every community.

    A community has a station when an elderly-care facility lies in it (or is declared in it
    with ``community_id``); ``shared_station`` in the communities names a facility elsewhere
    that serves it (a community with few older people may share, 垫江府办〔2020〕8号 §二(一)).

    ``eldercare_area_m2`` counts each facility's whole floor area for the community it stands
    in (or is declared in): a centre's area all goes to its host community, none to the
    communities whose stations it runs or whose residents it serves.
    """
    ids = communities["id"].astype(str).to_numpy()
    care = facilities[facilities["tier"].isin(ELDERCARE_TIERS)]
    counts = care.groupby("community_id").size()
    area = care.groupby("community_id")["area_m2"].sum(min_count=1)
    stations = counts.reindex(ids).fillna(0).astype(int).to_numpy()
    shared = (
        communities["shared_station"].fillna("").astype(str).str.strip().to_numpy()
        if "shared_station" in communities
        else np.full(len(ids), "", dtype=object)
    )
    check_shared_stations(communities, facilities)
    status = np.where(stations > 0, "has_station", np.where(shared != "", "shared", "missing"))
    # no elderly-care facility: 0 m²; facilities of unknown floor area: the known part, or NaN
    eldercare_area = area.reindex(ids).to_numpy(dtype=float, copy=True)
    eldercare_area[stations == 0] = 0.0
    unknown_area = care["area_m2"].isna().groupby(care["community_id"]).any()
    some_unknown = unknown_area.reindex(ids).fillna(False).to_numpy(dtype=bool)
    population = communities["population"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_resident = np.where(population > 0, eldercare_area / population, np.nan)
    rule = policy.provision.get("area_per_resident_m2")
    required = float(rule.value) if rule is not None else np.nan
    if rule is None:
        area_status = np.full(len(ids), NO_STANDARD, dtype=object)
    else:
        meets = np.isfinite(per_resident) & (per_resident >= required - 1e-12)
        # below only when every floor area is known: an unknown one might make up the rest
        below = np.isfinite(per_resident) & ~meets & ~some_unknown
        area_status = np.where(meets, MEETS, np.where(below, BELOW, UNKNOWN)).astype(object)
        # a community of a kind the profile's applies_to leaves out is not held to the rule
        area_status[~policy.applies(_community_kinds(communities))] = NO_STANDARD
    return pd.DataFrame(
        {
            "stations": stations,
            "station_status": status,
            "eldercare_area_m2": eldercare_area,
            "area_per_resident_m2": per_resident,
            "area_per_resident_required_m2": required,
            "area_per_resident_status": area_status,
        },
        index=communities.index,
    )


def check_townships(
    communities: pd.DataFrame,
    facilities: pd.DataFrame,
    community_checks: pd.DataFrame,
    policy: Policy,
) -> pd.DataFrame:
    """One centre per township and a station or point for every community and village.

    Under a profile whose ``applies_to`` leaves a kind of community out (运城: urban only),
    ``station_status`` asks a station only of the communities it applies to, a township with
    none of them is ``no_standard``, and ``source`` says so; the counts are of every community.
    """
    served = (community_checks["station_status"] != "missing").to_numpy()
    in_scope = policy.applies(_community_kinds(communities))
    frame = pd.DataFrame(
        {
            "township": communities["township"],
            "served": served,
            "in_scope": in_scope,
            "unserved_in_scope": in_scope & ~served,
        },
        index=communities.index,
    )
    groups = by_township(frame)
    table = pd.DataFrame(
        {"communities": groups.size(), "communities_with_station": groups["served"].sum()}
    )
    # the rules hold only for the kinds of community the profile applies to
    scoped = groups["in_scope"].sum().to_numpy() > 0
    all_served = groups["unserved_in_scope"].sum().to_numpy() == 0
    centres = by_township(facilities.loc[facilities["tier"].isin(CENTRE_TIERS)]).size()
    table["centres"] = centres.reindex(table.index).fillna(0).astype(int)
    table["station_coverage"] = (table["communities_with_station"] / table["communities"]).round(3)
    centre_rule = policy.provision.get("one_centre_per_township")
    station_rule = policy.provision.get("one_station_per_community") or policy.provision.get(
        "station_per_community"
    )
    table["centre_status"] = (
        np.where(scoped, np.where(table["centres"] >= 1, MEETS, "missing"), NO_STANDARD)
        if centre_rule
        else NO_STANDARD
    )
    table["station_status"] = (
        np.where(scoped, np.where(all_served, MEETS, BELOW), NO_STANDARD)
        if station_rule
        else NO_STANDARD
    )
    source = "; ".join(sorted({r.source for r in (centre_rule, station_rule) if r is not None}))
    if source and policy.scope_en:
        source += f" ({policy.scope_en})"
    table["source"] = source
    return table.reset_index()


def check_district(
    communities: pd.DataFrame, facilities: pd.DataFrame, policy: Policy
) -> pd.DataFrame:
    """District-wide shares against the profile's targets, where the data has the columns.

    Nursing-bed share needs ``beds`` and ``nursing_beds``; socially operated shares need a
    ``social_operated`` column (是/否, true/false, 社会/公办); the medical-care share needs a
    ``medical_capable`` column. A target without data is reported as ``unknown``.
    """
    care = facilities[facilities["tier"].isin(ELDERCARE_TIERS)]
    kind_of = dict(zip(communities["id"].astype(str), communities["kind"], strict=True))
    kinds = care["community_id"].map(kind_of).fillna("urban")
    # only the facilities of the kinds of community the profile's targets apply to
    care = care[policy.applies(kinds.to_numpy())]
    kinds = kinds[care.index]
    social = _flag(care, "social_operated", facilities)
    capable = _flag(care, "medical_capable", facilities)
    beds = care["beds"].astype(float)
    nursing = care["nursing_beds"].astype(float)
    has_beds = beds.notna() & nursing.notna() & (beds > 0)
    values = {
        "nursing_bed_share": _ratio(
            nursing[has_beds].sum(), beds[has_beds].sum(), bool(has_beds.any())
        ),
        "social_bed_share": _ratio(
            beds[social.fillna(False).astype(bool) & beds.notna()].sum(),
            beds[social.notna() & beds.notna()].sum(),
            bool((social.notna() & beds.notna()).any()),
        ),
        "medical_capable_share": _ratio(
            capable.fillna(False).astype(bool).sum(),
            capable.notna().sum(),
            bool(capable.notna().any()),
        ),
    }
    for kind in ("urban", "rural"):
        known = social.notna() & (kinds == kind)
        values[f"social_facility_share_{kind}"] = _ratio(
            (social[known].astype(bool)).sum(), known.sum(), bool(known.any())
        )
    rows = []
    for name, rule in policy.targets.items():
        value, basis = values.get(name, (np.nan, "not computed"))
        status = (
            UNKNOWN if not np.isfinite(value) else (MEETS if value >= float(rule.value) else BELOW)
        )
        rows.append((name, value, float(rule.value), rule.year, status, basis, rule.source))
    table = pd.DataFrame(
        rows, columns=["rule", "value", "target", "year", "status", "basis", "source"]
    )
    return table.astype({"year": "Int64"})  # a whole year, blank where a rule has none


#: The tiers each :data:`carecircle.policy.COUNTED` facility count counts.
COUNTED_TIERS: dict[str, tuple[str, ...]] = {
    "centres": CENTRE_TIERS,
    "street_centres": ("street_center",),
    "township_centres": ("township_center",),
    "stations": ("community_station",),
    "rural_points": ("village_point",),
}
_NO_YEAR_BUILT = (
    "the facilities table has no year built: the facilities new in one year cannot be counted"
)
_MUNICIPAL = "a target for the whole municipality (全市): one district's data cannot check it"
_NO_DEMONSTRATION = "no input table marks 市级示范 (municipal demonstration) centres"
_NO_INTEGRATED = (
    "the facilities table has no medical_integrated column (医养结合型机构, yes/no) filled in"
)
STREET_SUFFIX = "街道"
TOWN_SUFFIXES = ("镇", "乡")
"""How a township's name says a street (街道) from a town (镇, 乡) for ``streets_covered`` and
``towns_covered``."""


def township_kinds(names: Any) -> np.ndarray:
    """``"street"``, ``"town"`` or ``""`` for each township name, from its last characters.

    Examples
    --------
    >>> township_kinds(["桂溪街道", "澄溪镇", "永安乡", "开发区"]).tolist()
    ['street', 'town', 'town', '']

    """
    text = pd.Series(np.asarray(names, dtype=object)).fillna("").astype(str).str.strip()
    street = text.str.endswith(STREET_SUFFIX).to_numpy()
    town = text.str.endswith(TOWN_SUFFIXES).to_numpy()
    return np.where(street, "street", np.where(town, "town", ""))


def yearly_row(
    target: YearlyTarget, count: float, reason: str = ""
) -> tuple[str, float, float, int, str, str, str]:
    """A ``district`` row for one yearly target: ``count`` against ``target.number``.

    A count equal to the target meets it. With a ``reason`` (or a count that is not a number)
    the status is ``unknown`` and ``basis`` gives the reason, never a silent pass.
    """
    rule = target.what if target.basis == "total" else f"{target.what}_new"
    if target.scope == "municipality":
        reason = reason or (_MUNICIPAL)
    known = not reason and np.isfinite(count)
    status = UNKNOWN if not known else (MEETS if count >= target.number else BELOW)
    basis = reason if not known else f"{count:g} counted ({target.basis} by {target.year})"
    value = float(count) if known else np.nan
    return (rule, value, float(target.number), target.year, status, basis, target.source)


def check_yearly(
    communities: pd.DataFrame,
    facilities: pd.DataFrame,
    community_checks: pd.DataFrame,
    township_checks: pd.DataFrame,
    policy: Policy,
) -> pd.DataFrame:
    """The profile's yearly count targets (``[[targets.yearly]]``) against the data today.

    The facilities table is the state of things now and holds no year built: a ``total`` target
    (万州府办发〔2020〕28号 §二(五)12 到2020年，建成30个养老服务中心) is met when today's count
    is at least its number; a ``new`` target (渝府办发〔2018〕99号 2019年新建社区养老服务站400个),
    a ``municipality`` target and ``demonstration_centres`` are ``unknown``, with the reason.
    Facilities count only in communities of the kinds the profile applies to.

    Returns
    -------
    pandas.DataFrame
        Rows like :func:`check_district`'s: ``rule`` (what is counted, ``_new`` for a count of
        one year), ``value`` (the count), ``target`` (the number), ``year``, ``status``,
        ``basis`` (how it was counted, or why it cannot be) and ``source``.

    """
    community_kinds = _community_kinds(communities)
    kind_of = dict(zip(communities["id"].astype(str), community_kinds, strict=True))
    kinds = facilities["community_id"].astype(str).map(kind_of).fillna("urban")
    every = facilities
    facilities = facilities[policy.applies(kinds.to_numpy())]
    urban = (community_kinds != "rural") & policy.applies(community_kinds)
    covered_communities = urban & (community_checks["station_status"] != "missing").to_numpy()
    towns = township_checks
    full = (towns["centres"] >= 1) & (towns["communities_with_station"] >= towns["communities"])
    town_kind = township_kinds(towns["township"]) if len(towns) else np.array([], dtype=str)
    rows = []
    for target in policy.yearly_targets:
        reason = ""
        count = np.nan
        if target.basis == "new":
            reason = _NO_YEAR_BUILT
        elif target.what in COUNTED_TIERS:
            count = float(facilities["tier"].isin(COUNTED_TIERS[target.what]).sum())
        elif target.what == "medical_integrated":
            flags = _flag(facilities, "medical_integrated", every)
            if flags.notna().any():
                count = float(flags.fillna(False).astype(bool).sum())
            else:
                reason = _NO_INTEGRATED
        elif target.what == "communities_covered":
            count = float(covered_communities.sum())
        elif target.what in ("streets_covered", "towns_covered"):
            wanted = "street" if target.what == "streets_covered" else "town"
            if not (town_kind == wanted).any():
                reason = (
                    f"no township named as a {wanted} "
                    f"({STREET_SUFFIX if wanted == 'street' else ' or '.join(TOWN_SUFFIXES)}) "
                    "in the communities' township column"
                )
            else:
                count = float((full.to_numpy() & (town_kind == wanted)).sum())
        else:
            reason = _NO_DEMONSTRATION
        rows.append(yearly_row(target, count, reason))
    table = pd.DataFrame(
        rows, columns=["rule", "value", "target", "year", "status", "basis", "source"]
    )
    return table.astype({"year": "Int64"})


def centre_stations(
    facilities: gpd.GeoDataFrame,
    policy: Policy,
    *,
    net: WalkNetwork | None = None,
    speed_m_s: float | None = None,
    circle: str = "eldercare",
) -> pd.DataFrame:
    """中心带站: assign each station to a centre, its own street's when there is one.

    万州府办发〔2020〕28号 §二(三)9 gives two arrangements: a street centre runs all the stations
    of its own street (整合运营辖区所有社区养老服务站), however many; or, by its service radius,
    about 10 stations around it (托管运营周边10个左右). So a station with a centre in its own
    street or township (the facilities' ``township``, see :func:`locate`) goes to the one of
    them it reaches fastest on foot; any other station to the centre it reaches fastest
    anywhere. Only the stations a centre takes from outside its own street count against
    ``provision.stations_per_centre``. Stations farther from their centre than the circle's
    (urban) minutes are flagged. Without a network the straight-line distance is walked at the
    same speed, and ``centre_method`` says so.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``facilities``: ``centre_id``, ``centre_minutes``, ``centre_method``,
        ``within_centre_circle`` (stations), ``stations_assigned`` (all its stations),
        ``stations_over_limit`` (more stations from other streets than the limit; centres).

    """
    speed = walking_speed(speed_m_s, policy.speed_m_s)
    out = pd.DataFrame(
        {
            "centre_id": "",
            "centre_minutes": np.nan,
            "centre_method": "",
            "within_centre_circle": pd.Series(pd.NA, index=facilities.index, dtype="boolean"),
            "stations_assigned": pd.Series(pd.NA, index=facilities.index, dtype="Int64"),
            "stations_over_limit": pd.Series(pd.NA, index=facilities.index, dtype="boolean"),
        },
        index=facilities.index,
    )
    is_centre = facilities["tier"].isin(CENTRE_TIERS).to_numpy()
    is_station = facilities["tier"].isin(STATION_TIERS).to_numpy()
    if not is_centre.any() or not is_station.any():
        return out
    centres = facilities[is_centre]
    stations = facilities[is_station]
    if net is not None:
        # as in the analysis: a centre or station snapped to a fragment would reach nothing
        net = main_parts(net, min_share=policy.min_component_share)
    seconds, nearest = _nearest_centre(centres, stations, net=net, speed_m_s=speed)
    # the first arrangement: a station with a centre in its own street goes to it
    centre_town = _township_of(centres)
    station_town = _township_of(stations)
    own_street = np.zeros(len(stations), dtype=bool)
    for town in np.intersect1d(centre_town[centre_town != ""], station_town):
        c_in, s_in = np.flatnonzero(centre_town == town), np.flatnonzero(station_town == town)
        sec, near = _nearest_centre(
            centres.iloc[c_in], stations.iloc[s_in], net=net, speed_m_s=speed
        )
        reached = near >= 0
        seconds[s_in[reached]] = sec[reached]
        nearest[s_in[reached]] = c_in[near[reached]]
        own_street[s_in[reached]] = True
    method = "straight_line" if net is None else "walk"
    minutes = seconds / 60.0
    limit = (
        float(policy.circle(circle).minutes_for("urban"))
        if any(c.name == circle for c in policy.circles)
        else np.inf
    )
    centre_ids = centres["id"].astype(str).to_numpy()
    assigned = np.where(nearest >= 0, centre_ids[np.maximum(nearest, 0)], "")
    out.loc[stations.index, "centre_id"] = assigned
    out.loc[stations.index, "centre_minutes"] = np.round(minutes, 2)
    out.loc[stations.index, "centre_method"] = method
    out.loc[stations.index, "within_centre_circle"] = np.isfinite(minutes) & (minutes <= limit)
    n_centres = len(centres)
    placed = nearest >= 0
    per_centre = np.bincount(nearest[placed], minlength=n_centres)
    from_elsewhere = np.bincount(nearest[placed & ~own_street], minlength=n_centres)
    out.loc[centres.index, "stations_assigned"] = per_centre
    rule = policy.provision.get("stations_per_centre")
    if rule is not None:
        out.loc[centres.index, "stations_over_limit"] = from_elsewhere > float(rule.value)
    return out


def health_centres(
    facilities: gpd.GeoDataFrame,
    communities: pd.DataFrame,
    policy: Policy,
    *,
    net: WalkNetwork | None = None,
    speed_m_s: float | None = None,
) -> pd.DataFrame:
    """医养结合: whether each centre sits beside a health centre, as the profile asks.

    垫江府办〔2020〕8号 §二(五) asks street centres to sit with or beside (一体或邻近) a
    社区卫生服务中心 and township centres beside a 乡镇卫生院 (tier ``health_center``). The
    profile's ``[medical_integration]`` gives the longest walk (``max_walk_minutes``) and the
    tiers checked (street and township centres by default). Each checked facility gets the
    health centre it reaches fastest on foot over ``net`` or, without a network, in a straight
    line walked at the same speed; ``health_centre_method`` says which. A walk of exactly
    ``max_walk_minutes`` is beside. A facility in a community of a kind the profile's
    ``applies_to`` leaves out is not checked.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        With ``id``, ``tier`` and ``community_id`` (see :func:`locate`).
    communities : pandas.DataFrame
        For each facility's community kind (``applies_to``).
    policy : Policy
        The profile; nothing is checked when it has no ``[medical_integration]``.
    net : WalkNetwork, optional, keyword-only
        Walking network; straight lines when omitted.
    speed_m_s : float, optional, keyword-only
        Walking speed, m/s; the profile's when omitted.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``facilities``: :data:`HEALTH_CENTRE_COLUMNS`; ``health_centre_id`` is
        ``""`` and ``beside_health_centre`` False for a checked facility that reaches no health
        centre, and all are blank for facilities not checked.

    """
    out = pd.DataFrame(
        {
            "health_centre_id": "",
            "health_centre_minutes": np.nan,
            "health_centre_method": "",
            "beside_health_centre": pd.Series(pd.NA, index=facilities.index, dtype="boolean"),
        },
        index=facilities.index,
    )
    rule = policy.medical_integration
    if rule is None:
        return out
    checked = facilities["tier"].isin(rule.tiers).to_numpy() & _in_scope(
        facilities, communities, policy
    )
    if not checked.any():
        return out
    centres = facilities[checked]
    health = facilities[facilities["tier"].eq("health_center").to_numpy()]
    out.loc[centres.index, "health_centre_method"] = "straight_line" if net is None else "walk"
    out.loc[centres.index, "beside_health_centre"] = False
    if health.empty:
        return out
    speed = walking_speed(speed_m_s, policy.speed_m_s)
    if net is not None:
        net = main_parts(net, min_share=policy.min_component_share)
    seconds, nearest = _nearest_centre(health, centres, net=net, speed_m_s=speed)
    minutes = seconds / 60.0
    health_ids = health["id"].astype(str).to_numpy()
    out.loc[centres.index, "health_centre_id"] = np.where(
        nearest >= 0, health_ids[np.maximum(nearest, 0)], ""
    )
    out.loc[centres.index, "health_centre_minutes"] = np.round(minutes, 2)
    out.loc[centres.index, "beside_health_centre"] = np.isfinite(minutes) & (
        minutes <= rule.max_walk_minutes
    )
    return out


def stations_from_other_streets(facilities: pd.DataFrame) -> pd.Series:
    """For each centre, the stations it runs from outside its own street (中心带站's second way).

    Parameters
    ----------
    facilities : pandas.DataFrame
        As :attr:`Checks.facilities`: ``id``, ``tier``, ``township``, ``centre_id``.

    Returns
    -------
    pandas.Series
        Indexed like ``facilities``: a count for each centre, ``<NA>`` for other facilities.

    """
    ids = facilities["id"].astype(str)
    town_of = dict(zip(ids, _township_of(facilities), strict=True))
    is_station = facilities["tier"].isin(STATION_TIERS)
    runs = facilities["centre_id"].astype(str).where(is_station, "")
    elsewhere = (
        is_station
        & (runs != "")
        & (runs.map(town_of).fillna("").to_numpy() != _township_of(facilities))
    )
    counts = runs[elsewhere].value_counts()
    out = pd.Series(pd.NA, index=facilities.index, dtype="Int64")
    is_centre = facilities["tier"].isin(CENTRE_TIERS)
    out[is_centre] = ids[is_centre].map(counts).fillna(0).astype(int).to_numpy()
    return out


def _township_of(facilities: pd.DataFrame) -> np.ndarray:
    """Each facility's township as text, ``""`` where none is known."""
    if "township" not in facilities:
        return np.full(len(facilities), "", dtype=object)
    return facilities["township"].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _nearest_centre(
    centres: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    *,
    net: WalkNetwork | None,
    speed_m_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from each station to the centre it reaches fastest, and that centre (-1: none).

    On foot over ``net`` (already cut to its main parts), else in a straight line.
    """
    if net is None:
        return _straight_line_s(centres, stations, speed_m_s=speed_m_s)
    projected_c = centres.geometry.to_crs(net.crs)
    projected_s = stations.geometry.to_crs(net.crs)
    sources = travel.snap(net, projected_c.x.to_numpy(), projected_c.y.to_numpy())
    targets = travel.snap(net, projected_s.x.to_numpy(), projected_s.y.to_numpy())
    seconds, nearest = travel.nearest_times(net, sources, targets, speed_m_s=speed_m_s)
    return np.asarray(seconds, dtype=float).copy(), np.asarray(nearest, dtype=np.int64).copy()


def _with_centre_notes(
    facilities: pd.DataFrame, placed: pd.DataFrame, policy: Policy
) -> pd.DataFrame:
    """Each centre's note says how its floor area counts, and any stations over the limit.

    ``eldercare_area_m2`` (:func:`check_communities`) gives a centre's whole floor area to the
    community it stands in; the note says so, so that nobody reads it as shared out among the
    communities the centre serves.
    """
    out = facilities.copy()
    is_centre = placed["tier"].isin(CENTRE_TIERS).to_numpy()
    if not is_centre.any():
        return out
    frame = out.assign(id=placed["id"].astype(str), tier=placed["tier"])
    elsewhere = stations_from_other_streets(frame)
    rule = policy.provision.get("stations_per_centre")
    areas = placed["area_m2"].to_numpy(dtype=float)
    hosts = out["community_id"].fillna("").astype(str).to_numpy()
    over_limit = out["stations_over_limit"].fillna(False).to_numpy(dtype=bool)
    counts = elsewhere.fillna(0).to_numpy(dtype=int)
    for position in np.flatnonzero(is_centre).tolist():
        label = out.index[position]
        area, host = areas[position], hosts[position]
        shown = f"{area:g} m²" if np.isfinite(area) else "unknown"
        shown_zh = f"{area:g} m²" if np.isfinite(area) else "未知"
        en = (
            [
                f"floor area ({shown}) counts in full for community {host}, where the centre "
                "stands (eldercare_area_m2, area per resident); none of it for the communities "
                "whose stations it runs or whose residents it serves"
            ]
            if host
            else [f"floor area ({shown}) counts for no community: the centre lies in none"]
        )
        zh = (
            [
                f"建筑面积（{shown_zh}）全部计入所在社区{host}（养老服务设施面积、人均面积），"
                "不计入其带站或服务的其他社区"
            ]
            if host
            else [f"建筑面积（{shown_zh}）不计入任何社区：该中心不在任何社区范围内"]
        )
        if rule is not None and over_limit[position]:
            k = int(counts[position])
            en.append(
                f"runs {k} stations outside its own street, over the about {float(rule.value):g} "
                f"a centre may take around it ({rule.source}); all stations of its own street "
                "may be run"
            )
            zh.append(
                f"托管本街道（乡镇）以外的养老服务站{k}个，超过周边{float(rule.value):g}个左右"
                f"（{rule.source}）；本街道所有养老服务站可由其整合运营"
            )
        for column, parts, sep in (
            ("standard_note", en, "; "),
            ("standard_note_zh", zh, "；"),
        ):
            before = str(out.at[label, column] or "")
            out.at[label, column] = sep.join([before, *parts] if before else parts)
    return out


def _straight_line_s(
    centres: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, *, speed_m_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from each station to its nearest centre in a straight line, and that centre.

    A k-d tree finds the nearest centre, so memory grows with the number of centres plus
    stations, not with their product. A station without a location gets ``nan`` and -1.
    """
    crs = centres.estimate_utm_crs()
    c = centres.geometry.to_crs(crs)
    s = stations.geometry.to_crs(crs)
    c_xy = np.column_stack([c.x.to_numpy(), c.y.to_numpy()])
    s_xy = np.column_stack([s.x.to_numpy(), s.y.to_numpy()])
    placed = np.flatnonzero(np.isfinite(c_xy).all(axis=1))
    known = np.isfinite(s_xy).all(axis=1)
    seconds = np.full(len(s_xy), np.nan)
    nearest = np.full(len(s_xy), -1, dtype=np.int64)
    if placed.size and known.any():
        distance_m, found = KDTree(c_xy[placed]).query(s_xy[known])
        seconds[known] = distance_m / speed_m_s
        nearest[known] = placed[found]
    return seconds, nearest


def _flag(frame: pd.DataFrame, column: str, facilities: pd.DataFrame) -> pd.Series:
    """A yes/no column of ``frame`` as a nullable boolean Series (NA where absent or blank).

    ``frame`` holds some rows of ``facilities``, which numbers the rows in messages.
    """
    if column not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="boolean")
    text = frame[column].astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    out[text.isin(YES_TEXTS).fillna(False)] = True
    out[text.isin(NO_TEXTS).fillna(False)] = False
    bad = text.notna() & (text != "") & out.isna()
    if bad.any():
        first = bad.to_numpy().nonzero()[0][0]
        position = list(facilities.index).index(frame.index[first])
        value = frame[column].iloc[first]
        raise layer_where(facilities, role="facilities").bad_value(
            position, column, value, YES_NO_EXPECTED
        )
    return out


#: How :func:`district_basis` says "``part`` of ``whole``" in Chinese, per district target.
BASIS_ZH = {
    "nursing_bed_share": "床位{whole}张，其中护理型床位{part}张",
    "social_bed_share": "床位{whole}张，其中社会力量运营{part}张",
    "medical_capable_share": "养老服务设施{whole}个，其中具备医养服务能力{part}个",
    "social_facility_share_urban": "城市养老服务设施{whole}个，其中社会力量运营{part}个",
    "social_facility_share_rural": "农村养老服务设施{whole}个，其中社会力量运营{part}个",
}
_BASIS_WORDS_ZH = {
    "no data": "无数据",
    "not computed": "未计算",
    _NO_YEAR_BUILT: "设施表没有建成年份，无法统计某一年新建的设施",
    _MUNICIPAL: "全市目标：一个区县的数据无法核对",
    _NO_DEMONSTRATION: "输入表未标明市级示范社区养老服务中心",
    _NO_INTEGRATED: "设施表未填写是否为医养结合型机构（medical_integrated）",
}
_COUNTED = re.compile(r"(?P<n>\S+) counted \((?P<basis>total|new) by (?P<year>\d{4})\)")
_RATIO = re.compile(r"(?P<part>\S+) of (?P<whole>\S+)")


def district_basis(rule: str, basis: str, *, lang: str) -> str:
    """The ``basis`` of a :func:`check_district` row, for people reading ``lang``.

    ``basis`` is ``"24 of 58"``, ``"no data"`` or ``"not computed"`` (the English of
    ``district.csv``); in Chinese, ``"床位58张，其中护理型床位24张"``, ``"无数据"`` or ``"未计算"``.
    A text of another form is returned unchanged.
    """
    if lang != "zh":
        return basis
    if basis in _BASIS_WORDS_ZH:
        return _BASIS_WORDS_ZH[basis]
    counted = _COUNTED.fullmatch(basis)
    if counted is not None:
        done = "累计" if counted["basis"] == "total" else "当年新建"
        return f"现有{counted['n']}个（{counted['year']}年{done}目标）"
    if basis.startswith("no township named as a "):
        return "乡镇（街道）名称中没有" + ("街道" if "street" in basis else "镇或乡")
    found = _RATIO.fullmatch(basis)
    if found is None:
        return basis
    template = BASIS_ZH.get(rule, "{whole}中的{part}")
    return template.format(part=found["part"], whole=found["whole"])


def _ratio(part: float, whole: float, known: bool) -> tuple[float, str]:
    """A share and its basis, ``"<part> of <whole>"`` (see :func:`district_basis`)."""
    if not known or whole <= 0:
        return np.nan, "no data"
    return float(part) / float(whole), f"{part:g} of {whole:g}"
