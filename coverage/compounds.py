"""Provision rules of residential compounds (小区): rooms, land and centres they must give.

The profiles hold five rules that are about compounds, each read as its document words it:

``new_community_min_area_m2`` (渝府办发〔2018〕99号 §二(一), 750 m²)
    每个社区养老服务中心（站）面积应达到750平方米以上, for new communities (新建社区): a new
    compound's elderly-care rooms (``care_room_area_m2``) are read as the facility it gives;
    750 m² included (以上 includes the number). Old compounds: ``not_applicable`` (老社区应参照新建
    社区标准 asks them to take the standard as a reference, by purchase, swap, lease or
    conversion, not to meet it as built).
``area_per_resident_m2`` (渝府办发〔2018〕99号 §二(一), 0.1 m²)
    新建社区按人均不低于0.1平方米的标准配建: the same sentence, so also per new compound, rooms
    against ``residents``. (:func:`carecircle.standards.check_communities` checks it per
    community, from the facilities' floor areas.)
``area_per_100_households_m2`` (万州府办发〔2020〕28号 §二(五)12, 20–30 m²; 运〔2021〕—2 §三(四))
    新建住宅小区按照每百户20至30平方米 / 每百户20平方米的标准设置养老服务设施: new compounds
    only; rooms against ``households``; the lower end of a range is the minimum.
``land_per_resident_m2`` (垫江府办〔2020〕8号 §二(一), 0.2 m²)
    按照人均不低于0.2平方米的养老用地标准: land (``care_land_area_m2``), not floor area, against
    ``residents``, for every compound: the document limits it to none (its old compounds
    养老服务设施未达标 are to get rooms by purchase, lease or state assets).
``old_compound_floor_area_m2`` (运〔2021〕—2 §二(一), 200,000 m²)
    对无养老服务设施的老旧小区，特别是建筑面积在20万平方米以上的住宅小区，要…解决: every old
    compound without an elderly-care facility ``needs_centre``; those of 200,000 m² floor area
    and more (included) are named first (``old_compound_priority``). It has one when an
    elderly-care facility lies inside its polygon (within ``point_radius_m`` of a point) or
    its ``care_room_area_m2`` is above 0; ``old_compound_basis`` says which.

New or old: the ``new`` column where filled, else ``build_year`` against each rule's document
year (the 〔YYYY〕 of its source: a compound built in or after that year is new under that
rule), or against ``new_from_year`` for every rule when given. A rule is ``not_applicable`` to a
compound in a community of a kind the profile's ``applies_to`` leaves out (运城: urban only); a
compound outside every community is checked as an urban one, as a facility outside is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .coords import check_same_crs
from .policy import Policy, Rule
from .terms import ELDERCARE_TIERS

MEETS = "meets"
BELOW = "below"
NEEDS_CENTRE = "needs_centre"
NOT_APPLICABLE = "not_applicable"
UNKNOWN = "unknown"
STATUSES: tuple[str, ...] = (NEEDS_CENTRE, BELOW, UNKNOWN, MEETS, NOT_APPLICABLE)
"""A rule's statuses, worst first: a compound's ``status`` is the worst of its rules'."""

STATUS_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        NEEDS_CENTRE: "需配建养老设施",
        BELOW: "未达标",
        UNKNOWN: "数据不全",
        MEETS: "达标",
        NOT_APPLICABLE: "不适用",
    },
    "en": {
        NEEDS_CENTRE: "needs a facility",
        BELOW: "below",
        UNKNOWN: "data missing",
        MEETS: "meets",
        NOT_APPLICABLE: "not applicable",
    },
}
"""A compound rule's status in words."""

OUTSIDE = "outside every community"
POINT_RADIUS_M = 50.0
"""How near an elderly-care facility must be to a compound given as a point to count as its
own, metres: a DEFAULT (no document gives one)."""


@dataclass(frozen=True)
class CompoundRule:
    """How a compound rule is checked: its column prefix, what it compares, who it is for."""

    key: str
    prefix: str
    new_only: bool
    label_en: str
    label_zh: str


COMPOUND_RULES: tuple[CompoundRule, ...] = (
    CompoundRule("new_community_min_area_m2", "min_area", True, "750 m² per facility", "每处面积"),
    CompoundRule("area_per_resident_m2", "per_resident", True, "m² per resident", "人均面积"),
    CompoundRule(
        "area_per_100_households_m2",
        "per_100_households",
        True,
        "m² per 100 households",
        "每百户面积",
    ),
    CompoundRule(
        "land_per_resident_m2", "land_per_resident", False, "land per resident", "人均用地"
    ),
    CompoundRule(
        "old_compound_floor_area_m2",
        "old_compound",
        False,
        "old compound's facility",
        "老旧小区设施",
    ),
)
"""The provision rules checked per compound, in the order of their columns."""

RULE_COLUMNS: tuple[str, ...] = ("status", "required", "actual", "reason", "source")
"""Each rule's columns, after its prefix (``min_area_status``...)."""

LEADING_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "community_id",
    "community_name",
    "township",
    "kind",
    "location",
    "shape",
    "households",
    "residents",
    "build_year",
    "new",
    "care_room_area_m2",
    "care_land_area_m2",
    "floor_area_m2",
    "eldercare_facilities",
    "status",
)
"""The first columns of :func:`check_compounds`; each rule's follow, then the other input
columns and ``geometry``."""

_YEAR = re.compile(r"〔(\d{4})〕")


def rules_of(policy: Policy) -> tuple[CompoundRule, ...]:
    """The compound rules the profile holds, in :data:`COMPOUND_RULES` order."""
    return tuple(r for r in COMPOUND_RULES if r.key in policy.provision)


def document_year(rule: Rule) -> int | None:
    """The year of a rule's document, from the 〔YYYY〕 of its source; None without one.

    >>> from carecircle import policy
    >>> document_year(policy.load("yuncheng").provision["old_compound_floor_area_m2"])
    2021

    """
    found = _YEAR.search(rule.source)
    return int(found[1]) if found else None


def check_compounds(
    compounds: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    policy: Policy,
    *,
    new_from_year: int | None = None,
    point_radius_m: float = POINT_RADIUS_M,
) -> gpd.GeoDataFrame:
    """Check every compound against the profile's compound rules.

    Parameters
    ----------
    compounds : geopandas.GeoDataFrame
        As :func:`carecircle.inputs.read_compounds` returns (any CRS).
    communities, facilities : geopandas.GeoDataFrame
        As read by :mod:`carecircle.inputs`, in one CRS; the compounds are given it.
    policy : Policy
        The profile and its ``[provision]`` rules.
    new_from_year : int, optional, keyword-only
        A compound built in or after this year is new, under every rule; by default each
        rule's document year.
    point_radius_m : float, keyword-only
        For a compound given as a point: how near an elderly-care facility counts as its own,
        metres (a DEFAULT, :data:`POINT_RADIUS_M`).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per compound, in input order, in the communities' CRS: :data:`LEADING_COLUMNS`,
        then per rule the profile holds ``<prefix>_status`` (one of :data:`STATUSES`),
        ``_required`` and ``_actual`` (m²), ``_reason``, ``_source``; for the old-compound rule
        also ``old_compound_priority`` (200,000 m² and more) and ``old_compound_basis``; then
        the other input columns and ``geometry``.

    """
    check_same_crs(communities.crs, facilities.crs, what=("the communities", "the facilities"))
    crs = communities.crs
    comp = compounds.to_crs(crs)
    given = set(compounds.attrs.get("columns", {})) or {
        c for c in compounds.columns if compounds[c].notna().any()
    }
    metric = crs if crs.is_projected else comp.estimate_utm_crs()
    geoms = comp.to_crs(metric).geometry.to_numpy()
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    where = _community_of(geoms, is_point, communities.to_crs(metric).geometry.to_numpy())
    inside = _facilities_inside(geoms, is_point, facilities.to_crs(metric), radius_m=point_radius_m)
    comm_ids = communities["id"].astype(str).to_numpy()
    found = where >= 0
    pick = np.maximum(where, 0)

    def of_community(column: str) -> np.ndarray:
        values = communities[column].fillna("").astype(str).to_numpy()
        return np.where(found, values[pick], "")

    kind = of_community("kind")
    table = pd.DataFrame(
        {
            "id": comp["id"].astype(str).to_numpy(),
            "name": comp["name"].astype(str).to_numpy(),
            "community_id": np.where(found, comm_ids[pick], ""),
            "community_name": of_community("name"),
            "township": of_community("township"),
            "kind": kind,
            "location": np.where(found, "inside a community", OUTSIDE),
            "shape": np.where(is_point, "point", "polygon"),
        },
        index=comp.index,
    )
    for column in ("households", "residents", "build_year", "new"):
        table[column] = comp[column].to_numpy()
    for column in ("care_room_area_m2", "care_land_area_m2", "floor_area_m2"):
        table[column] = comp[column].to_numpy(dtype=float)
    table["eldercare_facilities"] = inside
    table["status"] = NOT_APPLICABLE
    facts = _Facts(table, given, policy.applies(kind), new_from_year)
    checked = []
    for rule in rules_of(policy):
        columns = _check_rule(rule, policy.provision[rule.key], facts, policy)
        checked.append(columns[f"{rule.prefix}_status"])
        for name, values in columns.items():
            table[name] = values
    if checked:
        rank = {s: i for i, s in enumerate(STATUSES)}
        worst = np.min(np.vstack([pd.Series(c).map(rank).to_numpy() for c in checked]), axis=0)
        table["status"] = np.asarray(STATUSES, dtype=object)[worst]
    read = {"id", "name", "households", "residents", "build_year", "new", comp.geometry.name}
    read |= {"care_room_area_m2", "care_land_area_m2", "floor_area_m2"}
    others = comp.drop(columns=[c for c in comp.columns if c in read])
    # a user's own column named like one of ours (status, community_id...) is kept, renamed
    others = others.rename(columns={c: f"{c}_input" for c in others.columns if c in table})
    out = pd.concat([table, pd.DataFrame(others)], axis=1)
    return gpd.GeoDataFrame(out, geometry=comp.geometry.to_numpy(), crs=crs)


@dataclass(frozen=True)
class _Facts:
    """What every rule reads: the table so far, the columns the file gave, the scope."""

    table: pd.DataFrame
    given: set[str]
    applies: np.ndarray
    new_from_year: int | None


def _number(table: pd.DataFrame, column: str) -> np.ndarray:
    return table[column].to_numpy(dtype=float)


def _text(values: np.ndarray) -> np.ndarray:
    """Numbers as text, ``1,234.5``; "" for NaN."""
    return np.asarray(
        pd.Series(values, dtype=float).map(lambda v: "" if v != v else f"{v:,.6g}"), dtype=object
    )


def _newness(facts: _Facts, rule: Rule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(new, known, why) of every compound under ``rule``: the column, else the year built."""
    table = facts.table
    year = facts.new_from_year if facts.new_from_year is not None else document_year(rule)
    told = pd.array(table["new"].to_numpy(), dtype="boolean")
    stated = ~np.asarray(told.isna(), dtype=bool)
    built = _number(table, "build_year")
    dated = ~stated & np.isfinite(built) & (year is not None)
    new = np.where(stated, np.asarray(told.fillna(False), dtype=bool), False)
    if year is not None:
        new = np.where(dated, built >= year, new)
    known = stated | dated
    since = (
        f"{year} (--new-from)"
        if facts.new_from_year is not None
        else f"{year} (the document's year)"
    )
    built_text = np.asarray(
        pd.Series(built).map(lambda v: "" if v != v else f"{v:.0f}"), dtype=object
    )
    why = np.where(
        stated,
        np.where(new, "new (its new column)", "old (its new column)"),
        np.where(
            dated,
            np.where(new, "new: built ", "old: built ")
            + built_text
            + np.where(new, ", in or after ", ", before ")
            + since,
            "new or old unknown: "
            + (
                "no build_year or new column"
                if not ({"build_year", "new"} & facts.given)
                else "build_year and new blank"
                if year is not None
                else "the rule's source names no year (give --new-from)"
            ),
        ),
    )
    return new, known, why.astype(object)


def _check_rule(rule: CompoundRule, spec: Rule, facts: _Facts, policy: Policy) -> dict[str, Any]:
    """The columns of one rule for every compound."""
    table = facts.table
    n = len(table)
    new, known, why = _newness(facts, spec)
    status = np.full(n, UNKNOWN, dtype=object)
    reason = np.full(n, "", dtype=object)
    value = float(spec.value)
    extra: dict[str, Any] = {}
    if rule.key == "old_compound_floor_area_m2":
        required = np.full(n, value)
        actual = _number(table, "floor_area_m2")
        status, reason, extra = _old_compound(table, facts, new, known, why, value, actual)
    else:
        actual_column, basis_column, per = {
            "new_community_min_area_m2": ("care_room_area_m2", None, 1.0),
            "area_per_resident_m2": ("care_room_area_m2", "residents", 1.0),
            "area_per_100_households_m2": ("care_room_area_m2", "households", 100.0),
            "land_per_resident_m2": ("care_land_area_m2", "residents", 1.0),
        }[rule.key]
        actual = _number(table, actual_column)
        if basis_column is None:
            required = np.full(n, value)
        else:
            required = np.round(value * _number(table, basis_column) / per, 6)
        lacking = [c for c in (actual_column, basis_column) if c and c not in facts.given]
        blank = ~np.isfinite(actual) | ~np.isfinite(required)
        meets = ~blank & (actual >= required - 1e-9)
        status = np.where(meets, MEETS, BELOW).astype(object)
        ask = _text(required)
        upper = np.full(n, "", dtype=object)
        if spec.max_value is not None and basis_column is not None:
            top = np.round(float(spec.max_value) * _number(table, basis_column) / per, 6)
            upper = "–" + _text(top)
        what = "land" if actual_column == "care_land_area_m2" else "care rooms"
        compared = (
            what
            + " "
            + _text(actual)
            + " m² "
            + np.where(meets, "≥", "<")
            + " "
            + ask
            + upper
            + " m²"
        )
        if basis_column is not None:
            compared = compared + " (" + _text(_number(table, basis_column)) + f" {basis_column})"
        reason = compared.astype(object)
        status[blank] = UNKNOWN
        missing_text = (
            f"no {' or '.join(lacking)} column"
            if lacking
            else f"{actual_column}" + (f" or {basis_column}" if basis_column else "") + " blank"
        )
        reason[blank] = missing_text
        if rule.new_only:
            young = known & new
            reason[young] = why[young] + "; " + reason[young]
            status[~known] = UNKNOWN
            reason[~known] = why[~known]
            old = known & ~new
            status[old] = NOT_APPLICABLE
            reason[old] = why[old] + "; the rule is for new compounds"
            if rule.key in ("new_community_min_area_m2", "area_per_resident_m2"):
                reason[old] = why[old] + "; 老社区应参照新建社区标准: a reference, not checked"
        else:
            old_below = (status == BELOW) & known & ~new
            reason[old_below] = (
                reason[old_below] + "; an old compound 未达标: rooms by purchase or lease"
            )
    status[~facts.applies] = NOT_APPLICABLE
    reason[~facts.applies] = f"a rural community: the profile is for {policy.scope_en}"
    prefix = rule.prefix
    return {
        f"{prefix}_status": status,
        f"{prefix}_required": required,
        f"{prefix}_actual": actual,
        f"{prefix}_reason": reason,
        f"{prefix}_source": spec.source,
        **extra,
    }


def _old_compound(
    table: pd.DataFrame,
    facts: _Facts,
    new: np.ndarray,
    known: np.ndarray,
    why: np.ndarray,
    threshold: float,
    floor_area: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """运〔2021〕—2 §二(一): an old compound without an elderly-care facility needs one."""
    inside = table["eldercare_facilities"].to_numpy(dtype=object) != ""
    rooms = _number(table, "care_room_area_m2")
    has_rooms = np.isfinite(rooms) & (rooms > 0)
    has = inside | has_rooms
    basis = np.where(
        inside,
        "facility " + table["eldercare_facilities"].astype(str).to_numpy(dtype=object) + " inside",
        np.where(
            has_rooms, "care rooms " + _text(rooms) + " m²", "no elderly-care facility inside"
        ),
    ).astype(object)
    no_rooms = "care_room_area_m2" not in facts.given
    if no_rooms:
        basis[~has] = basis[~has] + " (no care_room_area_m2 column)"
    big = np.isfinite(floor_area) & (floor_area >= threshold)
    priority = pd.array(np.where(np.isfinite(floor_area), big, False), dtype="boolean")
    priority[~np.isfinite(floor_area)] = pd.NA
    status = np.where(has, MEETS, NEEDS_CENTRE).astype(object)
    size = np.where(
        big,
        "; 建筑面积 " + _text(floor_area) + f" m² ≥ {threshold:,.0f}: named first (特别是)",
        np.where(
            np.isfinite(floor_area),
            "; 建筑面积 " + _text(floor_area) + f" m² < {threshold:,.0f}",
            "; floor area unknown",
        ),
    )
    reason = (why + "; " + basis + size).astype(object)
    status[~known] = UNKNOWN
    reason[~known] = why[~known]
    young = known & new
    status[young] = NOT_APPLICABLE
    reason[young] = why[young] + "; the rule is for old compounds"
    priority[~(known & ~new)] = pd.NA
    return status, reason, {"old_compound_priority": priority, "old_compound_basis": basis}


def _community_of(geoms: np.ndarray, is_point: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """The community each compound lies in: its point's, or its polygon's largest overlap; -1."""
    out = np.full(len(geoms), -1, dtype=np.int64)
    if not len(polygons) or not len(geoms):
        return out
    tree = shapely.STRtree(polygons)
    which, hit = tree.query(geoms, predicate="intersects")
    if not len(which):
        return out
    area = shapely.area(shapely.intersection(geoms[which], polygons[hit]))
    # points: area 0, so the first community hit; polygons: the largest overlap
    order = np.lexsort((-area, which))
    which, hit, area = which[order], hit[order], area[order]
    first = np.r_[True, which[1:] != which[:-1]]
    keep = first & (is_point[which] | (area > 0))
    out[which[keep]] = hit[keep]
    return out


def _facilities_inside(
    geoms: np.ndarray, is_point: np.ndarray, facilities: gpd.GeoDataFrame, *, radius_m: float
) -> np.ndarray:
    """The ids of the elderly-care facilities inside each compound ("; "), "" for none."""
    care = facilities[facilities["tier"].isin(ELDERCARE_TIERS)]
    out = np.full(len(geoms), "", dtype=object)
    if not len(care) or not len(geoms):
        return out
    tree = shapely.STRtree(care.geometry.to_numpy())
    poly = np.flatnonzero(~is_point)
    pts = np.flatnonzero(is_point)
    a, b = tree.query(geoms[poly], predicate="intersects")
    c, d = tree.query(geoms[pts], predicate="dwithin", distance=radius_m)
    which = np.concatenate([poly[a], pts[c]])
    hit = np.concatenate([b, d])
    if not len(which):
        return out
    ids = care["id"].astype(str).to_numpy()
    joined = pd.Series(ids[hit]).groupby(which).agg("; ".join)
    out[joined.index.to_numpy()] = joined.to_numpy()
    return out


def district_rows(table: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Rows for ``district.csv``: compounds checked, below a rule, needing a centre, unknown.

    Each row is a count (``value``), with no target; ``basis`` gives the counts per rule.
    """
    rules = rules_of(policy)
    n = len(table)
    outside = int((table["location"] == OUTSIDE).sum()) if n else 0

    def per_rule(status: str) -> str:
        parts = [
            f"{r.key} {int((table[f'{r.prefix}_status'] == status).sum())}"
            for r in rules
            if f"{r.prefix}_status" in table
        ]
        return ", ".join(parts)

    priority = (
        int(table["old_compound_priority"].fillna(False).astype(bool).sum())
        if "old_compound_priority" in table
        else 0
    )
    needing = (
        int((table["old_compound_status"] == NEEDS_CENTRE).sum())
        if "old_compound_status" in table
        else 0
    )
    rows = [
        ("compounds", n, f"{n} compounds, {outside} {OUTSIDE}"),
        ("compounds_below", int((table["status"] == BELOW).sum()), per_rule(BELOW)),
        (
            "compounds_needing_centre",
            needing,
            f"{priority} of 200,000 m² floor area and more"
            if "old_compound_status" in table
            else "the profile holds no old-compound rule",
        ),
        ("compounds_unknown", int((table["status"] == UNKNOWN).sum()), per_rule(UNKNOWN)),
    ]
    frame = pd.DataFrame(rows, columns=["rule", "value", "basis"])
    frame["value"] = frame["value"].astype(float)
    frame["target"] = np.nan
    frame["year"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame["status"] = ""
    frame["source"] = "compounds.csv: " + ", ".join(
        sorted({policy.provision[r.key].source for r in rules})
    )
    return frame[["rule", "value", "target", "year", "status", "basis", "source"]]
