"""The whole job: from a district's layers and walking network to coverage of every community.

:func:`analyze` takes loaded objects and returns an :class:`Analysis`; :func:`run` reads the files
first. Both leave writing to :mod:`carecircle.outputs.export` and :mod:`carecircle.outputs.maps`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from . import _memory, _progress, demand, isochrones, standards, terrain, travel
from . import care as care_mod
from . import circles as circles_mod
from . import compounds as compounds_mod
from ._parallel import side_by_side
from ._validate import as_text, walking_speed
from ._version import __version__
from .coords import Coords, check_same_crs
from .errors import InputError
from .inputs import readers as inputs
from .inputs.care import CareTable, read_care
from .inputs.compounds import COMPOUND_COLUMNS, read_compounds
from .inputs.frames import communities_from_frame, facilities_from_frame
from .inputs.roads import LAYER_CRS_HINT, RoadOptions, from_layer, read_network
from .network import WalkNetwork, describe_components, kept_parts, main_parts
from .policy import Circle, Policy, Walking, as_policy

logger = logging.getLogger(__name__)

#: Networks with more edges are left off the map's street background (the page stays light).
MAX_MAP_STREETS = 100_000

#: From this many facilities, half of a circle's polygons are drawn in a second process.
MIN_FORKED_POLYGONS = 200

#: Circles with more facilities get merged walking circles (one per tier and time limit, from
#: one search) instead of one polygon per facility, whose cost grows with the facilities.
MAX_FACILITY_CIRCLES = 2_000


@dataclass(frozen=True)
class Analysis:
    """Results of one analysis. Layers are in the network's projected CRS.

    Attributes
    ----------
    communities : geopandas.GeoDataFrame
        The input communities (every row, in input order) with, per circle, ``<circle>_share``,
        ``<circle>_status``, ``<circle>_median_min``, ``<circle>_p90_min``, ``<circle>_nearest``,
        ``<circle>_minutes``, ``<circle>_within`` and ``<circle>_residents``; plus ``basis``
        (``elderly`` or ``population``), ``demand_method``, ``demand_points`` and
        ``off_network_share``: the share of the community's residents at demand points farther
        than the profile's ``max_access_m`` from the walking network that reaches a facility
        (their walk is not measured; they count in ``<circle>_residents`` but never in
        ``<circle>_within``, so a share below 1 may be theirs; NaN without points).
    facilities : geopandas.GeoDataFrame
        The input facilities with ``network_status`` (``ok`` / ``off_network``) and
        ``access_m`` (metres to the nearest walkable way).
    circles : geopandas.GeoDataFrame
        One polygon per facility, circle and time limit: ``facility_id``, ``tier``, ``circle``,
        ``minutes``. A polygon is the area whose residents are counted within that limit of
        that facility, drawn on a raster (:mod:`carecircle.isochrones`, to within
        :data:`carecircle.isochrones.TOLERANCE_CELLS` cells).
    policy : Policy
        The profile used.
    parameters : dict
        Speed, spacing, files and versions, for metadata.
    dissolved : geopandas.GeoDataFrame
        One circle polygon per circle, tier and time limit (see
        :func:`carecircle.isochrones.dissolve`).
    uncovered : geopandas.GeoDataFrame
        The parts of not-covered communities outside their circles (see
        :func:`carecircle.isochrones.uncovered_areas`).
    merged : tuple of str
        The circles of more than :data:`MAX_FACILITY_CIRCLES` facilities, whose walking
        circles are only merged ones (in ``dissolved``; see :func:`merged_circles`), with none
        per facility in ``circles``.
    streets : geopandas.GeoSeries
        The walking network's edges, for the map's offline background; empty for networks
        of more than :data:`MAX_MAP_STREETS` edges.
    proposed : geopandas.GeoDataFrame
        Proposed new sites (see :func:`carecircle.siting.propose`), empty unless siting ran.
    proposed_circles : geopandas.GeoDataFrame
        The proposed sites' walking circles (:attr:`carecircle.siting.Proposal.circles`),
        empty unless siting ran.
    candidates : geopandas.GeoDataFrame
        Every candidate site considered, chosen or not, with its ``order``, ``network_status``,
        ``access_m``, ``reach`` and ``cost_yuan`` (:attr:`carecircle.siting.Proposal.candidates`),
        empty unless siting ran.
    after : pandas.DataFrame
        Each community before and after the proposed sites (``id``, ``share_before``,
        ``share_after``, ``status_before``, ``status_after``; see
        :attr:`carecircle.siting.Proposal.communities`) and the circle sited for (``circle``);
        empty unless siting ran.
    district : pandas.DataFrame
        District targets checked (see :func:`carecircle.standards.check_district`).
    township_checks : pandas.DataFrame
        Centres and stations per township (see :func:`carecircle.standards.check_townships`).
    compounds : geopandas.GeoDataFrame
        Every residential compound (小区) given, checked against the profile's compound rules
        (see :func:`carecircle.compounds.check_compounds`); empty when none were given.
    care : CareMap or None
        The care map (关爱地图, :mod:`carecircle.care`) when a care table was given: counts per
        community and within each circle, small counts already withheld; None without one.
    prepared : Prepared or None
        The prepared district the analysis measured (see :func:`prepare`), which
        :func:`carecircle.siting.propose` starts from; None for a check-only analysis
        (:func:`check_only`).

    The communities also carry the standards checks (``stations``, ``station_status``,
    ``eldercare_area_m2``, ``area_per_resident_m2``, ``area_per_resident_status``) and the
    facilities theirs (``standard_status``, ``area_shortfall_m2``, ``centre_id``, ...).

    """

    communities: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    circles: gpd.GeoDataFrame
    policy: Policy
    parameters: Mapping[str, Any] = field(default_factory=dict)
    district: pd.DataFrame = field(default_factory=pd.DataFrame)
    township_checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    dissolved: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    uncovered: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    streets: gpd.GeoSeries = field(default_factory=gpd.GeoSeries)
    proposed: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    proposed_circles: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    candidates: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    after: pd.DataFrame = field(default_factory=pd.DataFrame)
    merged: tuple[str, ...] = ()
    compounds: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    care: care_mod.CareMap | None = None
    prepared: Prepared | None = field(default=None, repr=False, compare=False)

    @property
    def circles_measured(self) -> tuple[str, ...]:
        """Names of the circles whose coverage was measured (none for ``carecircle check``)."""
        return tuple(c.name for c in self.policy.circles if f"{c.name}_status" in self.communities)

    def circle_areas(self) -> gpd.GeoDataFrame:
        """The circles' areas to draw, per facility where there are polygons per facility.

        That is :attr:`circles`, and for the circles of :attr:`merged` (which have none there)
        their merged areas from :attr:`dissolved`.

        Returns
        -------
        geopandas.GeoDataFrame
            ``facility_id`` (blank for a merged area), ``tier``, ``circle``, ``minutes``.

        """
        if not self.merged or "circle" not in self.dissolved:
            return self.circles
        merged = self.dissolved.loc[self.dissolved["circle"].isin(self.merged)]
        rows = pd.concat(
            [self.circles, merged.drop(columns="facilities").assign(facility_id="")],
            ignore_index=True,
        )
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=self.dissolved.crs)

    def townships(self) -> pd.DataFrame:
        """Per township: coverage of each circle, then centres and stations."""
        table = township_table(self.communities, self.policy)
        if self.township_checks.empty:
            return table
        return table.merge(self.township_checks, on=["township", "communities"], how="outer")


def analyze(
    net: WalkNetwork,
    communities: gpd.GeoDataFrame,
    facilities: pd.DataFrame,
    *,
    policy: Policy | str | os.PathLike[str] = "chongqing",
    population_raster: str | Path | None = None,
    dem: str | Path | None = None,
    speed_m_s: float | None = None,
    circle_polygons: bool = True,
    progress: bool = False,
    prepared: Prepared | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    new_from_year: int | None = None,
    care: CareTable | None = None,
    care_min_count: int | None = None,
) -> Analysis:
    """Measure how much of every community lies within each of the policy's circles.

    Parameters
    ----------
    net : WalkNetwork
        The walking network (projected CRS).
    communities : geopandas.GeoDataFrame
        As returned by :func:`carecircle.inputs.read_communities`, or any GeoDataFrame with
        those columns (checked by :func:`carecircle.inputs.communities_from_frame`).
    facilities : geopandas.GeoDataFrame
        As returned by :func:`carecircle.inputs.read_facilities`, or any frame with those
        columns (checked by :func:`carecircle.inputs.facilities_from_frame`); in the same
        CRS as ``communities``.
    policy : Policy, str or os.PathLike, keyword-only
        Circles, thresholds and defaults: a profile, a built-in profile's name or a ``.toml``
        file (see :func:`carecircle.policy.load`).
    population_raster : path, optional, keyword-only
        Residents per cell (GeoTIFF, any CRS); without it residents are spread evenly.
    dem : path, optional, keyword-only
        A digital elevation model (GeoTIFF, any CRS): walking times then follow the slopes,
        each way (:mod:`carecircle.terrain`), on the edges whose slopes the network's own
        elevations do not give. Steps, elevators and escalators count with or without it
        (:mod:`carecircle.steps`).
    speed_m_s : float, optional, keyword-only
        Walking speed in m/s; the policy's when omitted.
    circle_polygons : bool, keyword-only
        Build the circle polygons (the slowest step on large networks).
    progress : bool, keyword-only
        Show progress bars on standard error.
    prepared : Prepared, optional, keyword-only
        The output of :func:`prepare` for these layers, to reuse (the layers and options
        above are then not read again).
    compounds : geopandas.GeoDataFrame, optional, keyword-only
        Residential compounds (小区) as :func:`carecircle.inputs.read_compounds` returns, to
        check against the profile's compound rules (:mod:`carecircle.compounds`).
    new_from_year : int, optional, keyword-only
        A compound built in or after this year is new under every compound rule; by default
        each rule's document year.
    care : CareTable, optional, keyword-only
        The care table (:func:`carecircle.inputs.read_care`, read against these
        communities): the analysis then carries the care map (:attr:`Analysis.care`). A
        records table's people are counted within each circle from their homes (exact); a
        counts table's are estimated from each community's covered share.
    care_min_count : int, optional, keyword-only
        The smallest count the care map shows; the profile's ``[care_map] min_count`` when
        omitted.

    Returns
    -------
    Analysis
        With :attr:`Analysis.prepared`, for :func:`carecircle.siting.propose`.

    Raises
    ------
    InputError
        For layers that do not hold the columns and values the readers accept (naming the
        layer, the row, the column and the value), layers in different CRSs, or a policy that
        cannot be loaded (:class:`~carecircle.errors.PolicyError`).

    Examples
    --------
    The embedded demo district (streets of Helsinki with made-up communities), held to
    Chongqing's circles:

    >>> import carecircle as cc
    >>> from carecircle.data import demo_files
    >>> files = demo_files()
    >>> net = cc.network.read(files["network"])
    >>> comm = cc.read_communities(files["communities"])
    >>> fac = cc.read_facilities(files["facilities"])
    >>> res = cc.analyze(net, comm, fac, policy="chongqing", population_raster=files["population"])
    >>> res.circles_measured
    ('eldercare', 'medical')
    >>> res.communities[["id", "eldercare_status", "medical_status"]].head(3)
        id eldercare_status medical_status
    0  D01          partial        covered
    1  D02          partial        covered
    2  D03          partial        covered

    Any GeoDataFrame with the readers' columns will do; one without them fails in one line:

    >>> cc.analyze(net, comm.drop(columns="population"), fac)
    Traceback (most recent call last):
    ...
    carecircle.errors.MissingColumnError: communities: missing required column for 'population' ...

    """
    policy = as_policy(policy)
    min_count = _care_min_count(policy, care_min_count)
    with _progress.step("prepare", show=progress and prepared is None):
        prep = prepared or prepare(
            net,
            communities,
            facilities,
            policy=policy,
            population_raster=population_raster,
            dem=dem,
            speed_m_s=speed_m_s,
        )
    net, comm, fac, points, speed = (
        prep.net,
        prep.communities,
        prep.facilities,
        prep.points,
        prep.speed_m_s,
    )
    off_network = prep.off_network

    results = []
    polygons = []
    merged: list[gpd.GeoDataFrame] = []
    raster = (
        circle_raster(net, policy=policy, speed_m_s=speed, elevation=prep.elevation)
        if circle_polygons
        else None
    )
    basis = pd.Series(dtype=object)
    _check_care(care, comm)
    homes = _care_homes(prep, care, policy) if care is not None else None
    care_within: dict[str, np.ndarray] = {}
    with _progress.step("circles", show=progress, live=False):  # the bars show meanwhile
        steps = tqdm(policy.circles, desc="circles", disable=_quiet(progress), unit="circle")
        for circle in steps:
            chosen, sources, time_s, nearest, times = _circle_times(prep, circle)
            if homes is not None:
                care_within[circle.name] = _care_within(prep, homes, circle, sources, times)
            table = circles_mod.summarize(
                comm,
                points.community,
                points.weight,
                time_s,
                nearest,
                fac["id"].to_numpy()[chosen],
                circle,
                point_off_network=off_network,
                covered_min_share=policy.covered_min_share,
                partial_min_share=policy.partial_min_share,
            )
            basis = table.pop("basis")
            if len(chosen) == 0:
                logger.warning(
                    "%s: no facility of its tiers (%s) among the facilities, so no community is "
                    "measured against one: each is 'no_facility', not 'uncovered'",
                    circle.name,
                    ", ".join(circle.tiers),
                )
            results.append(table.add_prefix(f"{circle.name}_"))
            if circle_polygons and len(chosen) > MAX_FACILITY_CIRCLES:
                logger.warning(
                    "%s: %d facilities, over %d: their walking circles are merged, one per tier "
                    "and time limit (circles_dissolved), not drawn one per facility",
                    circle.name,
                    len(chosen),
                    MAX_FACILITY_CIRCLES,
                )
                merged.append(
                    merged_circles(
                        net,
                        fac.iloc[chosen],
                        sources,
                        circle=circle,
                        speed_m_s=speed,
                        max_access_m=policy.max_access_m,
                        raster=raster,
                        progress=progress,
                    )
                )
            elif circle_polygons:
                polygons.append(
                    walking_circles(
                        net,
                        fac.iloc[chosen],
                        sources,
                        circle=circle,
                        speed_m_s=speed,
                        max_access_m=policy.max_access_m,
                        raster=raster,
                        progress=progress,
                    )
                )

    with _progress.step("standards", show=progress):
        checks = standards.check(comm, fac, policy, net=net, speed_m_s=speed)
        compound_table, district = check_compounds(
            compounds, comm, fac, policy, checks.district, new_from_year=new_from_year
        )
    fac = fac.assign(**{str(column): checks.facilities[column] for column in checks.facilities})
    counts = np.bincount(points.community, minlength=len(comm))
    off_share = np.bincount(
        points.community, weights=points.weight * off_network, minlength=len(comm)
    )
    out = comm.assign(
        basis=basis,
        demand_method=points.method.to_numpy(),
        demand_points=counts,
        off_network_share=np.where(counts > 0, off_share, np.nan),
    )
    out = pd.concat([out, *results, checks.communities], axis=1)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=net.crs)
    circles_gdf = (
        pd.concat(polygons, ignore_index=True)
        if polygons
        else gpd.GeoDataFrame(
            {"facility_id": [], "tier": [], "circle": [], "minutes": []},
            geometry=[],
            crs=net.crs,
        )
    )
    parameters = {
        "tool": f"carecircle {__version__}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "policy": policy.name,
        "policy_file": policy.source_file,
        "speed_m_s": speed,
        "grid_spacing_m": policy.grid_spacing_m,
        "max_access_m": policy.max_access_m,
        "min_component_share": policy.min_component_share,
        "network": net.source,
        "network_nodes": net.n_nodes,
        "network_edges": net.n_edges,
        **net.built,
        "population_raster": str(population_raster) if population_raster else "",
        "crs": net.crs.to_string(),
        **_walking_metadata(net, policy),
        **_compound_metadata(compounds, new_from_year),
    }
    circles_gdf = gpd.GeoDataFrame(circles_gdf, crs=net.crs)
    with _progress.step("areas", show=progress):
        dissolved = isochrones.dissolve(circles_gdf)
        if merged:
            dissolved = gpd.GeoDataFrame(
                pd.concat([dissolved, *merged], ignore_index=True)
                .sort_values(["circle", "tier", "minutes"], kind="stable")
                .reset_index(drop=True),
                geometry="geometry",
                crs=net.crs,
            )
        every_circle = (
            pd.concat([circles_gdf, *merged], ignore_index=True) if merged else circles_gdf
        )
        uncovered = isochrones.uncovered_areas(
            out, gpd.GeoDataFrame(every_circle, crs=net.crs), [c.name for c in policy.circles]
        )
    care_map = None
    if care is not None:
        care_map = care_mod.care_map(
            out,
            care,
            circles=[c.name for c in policy.circles],
            min_count=min_count,
            within=care_within if homes is not None else None,
        )
        parameters.update(
            care_file=care.source,
            care_form=care.form,
            care_within=care_map.table["within_basis"].iloc[0] if len(out) else "",
            care_min_count=min_count,
        )
    return Analysis(
        out,
        gpd.GeoDataFrame(fac, geometry="geometry", crs=net.crs),
        circles_gdf,
        policy,
        parameters,
        district=district,
        township_checks=checks.townships,
        dissolved=dissolved,
        uncovered=uncovered,
        streets=gpd.GeoSeries(net.geometry if net.n_edges <= MAX_MAP_STREETS else [], crs=net.crs),
        merged=tuple(str(frame["circle"].iloc[0]) for frame in merged if len(frame)),
        compounds=compound_table,
        care=care_map,
        prepared=prep,
    )


def check_compounds(
    compounds: gpd.GeoDataFrame | None,
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    policy: Policy,
    district: pd.DataFrame,
    *,
    new_from_year: int | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The compounds checked and ``district`` with their counts; nothing when none are given.

    Raises
    ------
    InputError
        For a frame without the columns of :func:`carecircle.inputs.read_compounds`.

    """
    if compounds is None:
        return gpd.GeoDataFrame(), district
    if not isinstance(compounds, gpd.GeoDataFrame) or compounds.crs is None:
        msg = (
            "compounds: expected a GeoDataFrame with a CRS, as carecircle.inputs.read_compounds "
            f"returns; found {type(compounds).__name__}"
            + (" without a CRS" if isinstance(compounds, gpd.GeoDataFrame) else "")
        )
        raise InputError(msg)
    missing = [c for c in COMPOUND_COLUMNS if c not in compounds]
    if missing:
        msg = (
            f"compounds: missing column {missing[0]!r}; expected the columns of "
            f"carecircle.inputs.read_compounds ({', '.join(COMPOUND_COLUMNS)})"
        )
        raise InputError(msg)
    table = compounds_mod.check_compounds(
        compounds, communities, facilities, policy, new_from_year=new_from_year
    )
    rows = compounds_mod.district_rows(table, policy)
    frames = [f for f in (district, rows) if len(f)]
    both = pd.concat(frames, ignore_index=True) if frames else rows
    return table, both.astype({"year": "Int64"})


def _compound_metadata(compounds: gpd.GeoDataFrame | None, year: int | None) -> dict[str, Any]:
    """The run's parameters about compounds: how new is decided, how near is inside."""
    if compounds is None:
        return {}
    return {
        "compounds_file": str(compounds.attrs.get("source", "")),
        "compound_new_from": str(year) if year is not None else "each rule's document year",
        "compound_point_radius_m": compounds_mod.POINT_RADIUS_M,
    }


def _care_min_count(policy: Policy, asked: int | None) -> int:
    """The care map's smallest count shown: ``asked``, or the profile's; checked."""
    return check_care_min_count(policy.care_min_count if asked is None else asked)


def check_care_min_count(min_count: Any) -> int:
    """``min_count`` if it is a whole number ≥ 1 (the care map's smallest count shown).

    Raises
    ------
    InputError
        One line naming ``--care-min-count`` (``care_min_count=`` in Python).

    """
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        msg = f"--care-min-count {min_count!r}: expected a whole number ≥ 1 (care_min_count=)"
        raise InputError(msg)
    return min_count


def _check_care(care: CareTable | None, communities: gpd.GeoDataFrame) -> None:
    """Refuse a care table read against other communities."""
    if care is None:
        return
    ids = [str(v) for v in communities["id"].tolist()]
    if care.counts["id"].tolist() != ids:
        msg = (
            f"{care.source or 'care'}: the care table was read against other communities; "
            "expected read_care(path, communities) with the communities analysed"
        )
        raise InputError(msg)


@dataclass(frozen=True)
class _CareHomes:
    """The care records' homes joined to the network (in memory only; never written)."""

    snap: travel.Snap
    off: np.ndarray
    kind: np.ndarray
    community: np.ndarray
    flags: np.ndarray


def _care_homes(prep: Prepared, care: CareTable, policy: Policy) -> _CareHomes | None:
    """Join a records table's homes to the network the way demand points are joined."""
    homes = care.homes
    if homes is None:
        return None
    xy = gpd.GeoSeries(gpd.points_from_xy(homes.lon, homes.lat), crs=4326).to_crs(prep.net.crs)
    x, y = xy.x.to_numpy(), xy.y.to_numpy()
    fac = prep.facilities
    fac_on = (fac["network_status"] == "ok").to_numpy()
    served = travel.served_edges(prep.net, prep.facility_snap.subset(np.flatnonzero(fac_on)))
    snap = graded_access(
        prep.net,
        travel.snap(prep.net, x, y, edges=served),
        x,
        y,
        elevation=prep.elevation,
        walking=policy.walking,
        to_door=False,
    )
    kind = prep.communities["kind"].to_numpy()[homes.community]
    return _CareHomes(
        snap=snap,
        off=snap.access_m > policy.max_access_m,
        kind=np.asarray(kind, dtype=object),
        community=homes.community,
        flags=homes.flags,
    )


def _care_within(
    prep: Prepared,
    homes: _CareHomes,
    circle: Circle,
    sources: travel.Snap,
    times: travel.NodeTimes | None,
) -> np.ndarray:
    """Per community, how many of each :data:`carecircle.care.WITHIN_FIELDS` live within."""
    n = len(prep.communities)
    fields = len(care_mod.WITHIN_FIELDS)
    if times is None or len(homes.community) == 0:
        return np.zeros((n, fields))
    time_s, _ = travel.point_times(prep.net, times, sources, homes.snap, speed_m_s=prep.speed_m_s)
    inside = ~homes.off & (time_s <= circle.minutes_for(homes.kind) * 60.0)
    return np.column_stack(
        [
            np.bincount(homes.community, weights=homes.flags[:, j] & inside, minlength=n)
            for j in range(fields)
        ]
    )


@dataclass(frozen=True)
class Prepared:
    """The layers projected onto the network, with demand points and facilities joined to it.

    Attributes
    ----------
    net : WalkNetwork
        The network without its small fragments.
    communities, facilities : geopandas.GeoDataFrame
        In ``net.crs``, indexed 0..n-1; facilities with ``access_m`` and ``network_status``.
    facility_snap : Snap
        Where each facility joins the network.
    points : DemandPoints
        The demand points.
    point_snap : Snap
        Where each demand point joins the network: the nearest edge of the parts that hold a
        facility on the network (see :func:`carecircle.travel.served_edges`).
    off_network : numpy.ndarray
        True for demand points farther than ``max_access_m`` from those parts.
    speed_m_s : float
        The walking speed used.
    elevation : terrain.Elevation or None
        The DEM over the network, when one was given (the access walks' grades).

    """

    net: WalkNetwork
    communities: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    facility_snap: travel.Snap
    points: demand.DemandPoints
    point_snap: travel.Snap
    off_network: np.ndarray
    speed_m_s: float
    elevation: terrain.Elevation | None = None

    def point_limits_s(self, circle: Circle) -> np.ndarray:
        """Each demand point's time limit for ``circle``, in seconds (urban or rural)."""
        kind = self.communities["kind"].to_numpy()[self.points.community]
        return circle.minutes_for(kind) * 60.0

    def point_residents(self) -> np.ndarray:
        """Residents counted at each point (:func:`carecircle.demand.community_residents`).

        None in a community whose ``input_status`` is not ``ok``.
        """
        base = demand.community_residents(self.communities)
        usable = (self.communities["input_status"] == "ok").to_numpy()
        return self.points.weight * np.where(usable, base, 0.0)[self.points.community]


def prepare(
    net: WalkNetwork,
    communities: gpd.GeoDataFrame,
    facilities: pd.DataFrame,
    *,
    policy: Policy | str | os.PathLike[str] = "chongqing",
    population_raster: str | Path | None = None,
    dem: str | Path | None = None,
    speed_m_s: float | None = None,
) -> Prepared:
    """Project the layers, place demand points and join points and facilities to the network.

    Parameters are as for :func:`analyze`; the layers are checked as there (a layer the
    readers returned is not checked again).
    """
    policy = as_policy(policy)
    crs = getattr(communities, "crs", None), getattr(facilities, "crs", None)
    if None not in crs:  # a layer without a CRS is refused by its own check, just below
        check_same_crs(*crs, what=("the communities", "the facilities"))
    comm = communities_from_frame(communities)
    fac = facilities_from_frame(facilities)
    speed = walking_speed(speed_m_s, policy.speed_m_s)

    whole = net
    net = main_parts(whole, min_share=policy.min_component_share)
    net, elevation = walking_network(net, policy, speed_m_s=speed, dem=dem)
    comm = comm.to_crs(net.crs).reset_index(drop=True)
    fac = fac.to_crs(net.crs).reset_index(drop=True)
    logger.info(
        "network: %d nodes, %d edges, %s", net.n_nodes, net.n_edges, describe_components(net)
    )
    points = demand.place(comm, spacing_m=policy.grid_spacing_m, raster=population_raster)
    fac_snap = graded_access(
        net,
        travel.snap(net, fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()),
        fac.geometry.x.to_numpy(),
        fac.geometry.y.to_numpy(),
        elevation=elevation,
        walking=policy.walking,
        to_door=True,
    )
    fac_on = fac_snap.access_m <= policy.max_access_m
    fac = fac.assign(
        access_m=np.round(fac_snap.access_m, 1),
        network_status=np.where(fac_on, "ok", "off_network"),
    )
    for row in fac.loc[fac["network_status"] != "ok"].itertuples():
        logger.warning(
            "facility %s (%s) is %.0f m from the nearest walkable way (over %.0f m): left out",
            row.id,
            row.name,
            row.access_m,
            policy.max_access_m,
        )
    served = travel.served_edges(net, fac_snap.subset(fac_on))
    point_snap = graded_access(
        net,
        travel.snap(net, points.x, points.y, edges=served),
        points.x,
        points.y,
        elevation=elevation,
        walking=policy.walking,
        to_door=False,
    )
    _note_fragments(
        whole,
        net,
        served,
        points,
        point_snap,
        min_share=policy.min_component_share,
        max_access_m=policy.max_access_m,
    )
    prep = Prepared(
        net=net,
        communities=comm,
        facilities=fac,
        facility_snap=fac_snap,
        points=points,
        point_snap=point_snap,
        off_network=point_snap.access_m > policy.max_access_m,
        speed_m_s=speed,
        elevation=elevation,
    )
    _note_off_network(prep, policy.max_access_m)
    return prep


def _note_fragments(
    whole: WalkNetwork,
    net: WalkNetwork,
    served: np.ndarray,
    points: demand.DemandPoints,
    point_snap: travel.Snap,
    *,
    min_share: float,
    max_access_m: float,
) -> None:
    """Count, in one line, the demand points nearer a part that reaches no facility.

    Those parts are the fragments :func:`main_parts` left out of ``whole`` and the parts of
    ``net`` outside ``served``; the points joined the served network instead. Each point is
    looked up within its own access distance only (a nearest search over a sparse index of
    fragments costs ten times more), except the few beyond ``max_access_m``.
    """
    dropped = ~kept_parts(whole, min_share=min_share)[whole.component[whole.u]]
    unserved = np.ones(net.n_edges, dtype=bool)
    unserved[served] = False
    elsewhere = np.concatenate([whole.geometry[dropped], net.geometry[unserved]])
    if elsewhere.size == 0 or len(points) == 0:
        return
    tree = shapely.STRtree(elsewhere)
    spot = shapely.points(points.x, points.y)
    access_m = point_snap.access_m
    near = np.flatnonzero(access_m <= max_access_m)
    which, edge = tree.query(spot[near], predicate="dwithin", distance=access_m[near])
    closer = shapely.distance(spot[near][which], elsewhere[edge]) < access_m[near][which]
    nearer = [near[np.unique(which[closer])]]
    far = np.flatnonzero(access_m > max_access_m)
    if far.size:
        (found, _), distance = tree.query_nearest(
            spot[far],
            max_distance=float(access_m[far].max()),
            return_distance=True,
            all_matches=False,
        )
        nearer.append(far[found[distance < access_m[far][found]]])
    count = sum(int(part.size) for part in nearer)
    if count:
        logger.warning(
            "%d demand points lie nearer a part of the network that reaches no facility; "
            "joined to the nearest part that does",
            count,
        )


def _note_off_network(prep: Prepared, max_access_m: float) -> None:
    """Count, in one line, the demand points beyond ``max_access_m`` and their residents."""
    off = prep.off_network
    if not off.any():
        return
    residents = prep.point_residents()
    total = residents.sum()
    share = f"{residents[off].sum() / total:.1%}" if total > 0 else "no"
    logger.warning(
        "%d of %d demand points (%s of residents) lie more than %.0f m from the walking network "
        "that reaches a facility: off_network, their walk not measured (communities' "
        "off_network_share)",
        int(off.sum()),
        off.size,
        share,
        max_access_m,
    )


def circle_times(
    prep: Prepared, circle: Circle
) -> tuple[np.ndarray, travel.Snap, np.ndarray, np.ndarray]:
    """Walking time from every demand point to the nearest facility of the circle's tiers.

    Returns
    -------
    tuple
        ``(facility positions used, their snaps, seconds per point, nearest facility per
        point as an index into the positions)``; points off the network get ``inf`` and -1.

    """
    chosen, sources, time_s, nearest, _ = _circle_times(prep, circle)
    return chosen, sources, time_s, nearest


def _circle_times(
    prep: Prepared, circle: Circle
) -> tuple[np.ndarray, travel.Snap, np.ndarray, np.ndarray, travel.NodeTimes]:
    """:func:`circle_times`, and the walking times to the network's nodes it used."""
    fac = prep.facilities
    chosen = np.flatnonzero(
        fac["tier"].isin(circle.tiers).to_numpy() & (fac["network_status"] == "ok").to_numpy()
    )
    sources = prep.facility_snap.subset(chosen)
    times = travel.node_times(prep.net, sources, speed_m_s=prep.speed_m_s)
    time_s, nearest = travel.point_times(
        prep.net, times, sources, prep.point_snap, speed_m_s=prep.speed_m_s
    )
    time_s = np.where(prep.off_network, np.inf, time_s)
    nearest = np.where(prep.off_network, -1, nearest)
    return chosen, sources, time_s, nearest, times


def run(
    network: str | Path | Sequence[str | Path] | WalkNetwork,
    communities: str | Path,
    facilities: str | Path,
    *,
    policy: Policy,
    population_raster: str | Path | None = None,
    dem: str | Path | None = None,
    speed_m_s: float | None = None,
    facility_coords: Coords = "wgs84",
    community_coords: Coords = "wgs84",
    columns: Mapping[str, Mapping[str, str]] | None = None,
    layers: Mapping[str, str | None] | None = None,
    road_options: RoadOptions | None = None,
    progress: bool = False,
    compounds: str | Path | None = None,
    compound_coords: Coords = "wgs84",
    new_from_year: int | None = None,
    care: str | Path | None = None,
    care_coords: Coords = "wgs84",
    care_crs: str | None = None,
    care_min_count: int | None = None,
) -> Analysis:
    """Read the files, then :func:`analyze`.

    Parameters
    ----------
    network : path, sequence of paths, or WalkNetwork
        An OSM file, a road layer, or one of each (see
        :func:`carecircle.inputs.read_network`), or a loaded network.
    communities, facilities : path
        The input layers (see :mod:`carecircle.inputs`).
    policy : Policy, keyword-only
        The profile.
    population_raster, dem, speed_m_s, progress : keyword-only
        As in :func:`analyze`.
    facility_coords, community_coords : {"wgs84", "gcj02", "bd09"}, keyword-only
        ``wgs84``, ``gcj02`` or ``bd09``: the coordinate system of the input coordinates.
    columns : mapping, optional, keyword-only
        ``{"communities": {field: column}, "facilities": {field: column}}`` for users' own
        column names.
    layers : mapping, optional, keyword-only
        ``{"communities": name, "facilities": name}``: layers to read from multi-layer files.
    road_options : RoadOptions, optional, keyword-only
        How to read a road layer given as ``network`` (its layer, coordinates, columns,
        classes, snap tolerance; see :func:`carecircle.inputs.read_roads`).
    compounds : path, optional, keyword-only
        Residential compounds (小区) to check (see :func:`carecircle.inputs.read_compounds`;
        ``columns["compounds"]`` and ``layers["compounds"]`` apply).
    compound_coords : {"wgs84", "gcj02", "bd09"}, keyword-only
        The coordinate system of the compounds' coordinates.
    new_from_year : int, optional, keyword-only
        As in :func:`analyze`.
    care : path, optional, keyword-only
        The care table (:func:`carecircle.inputs.read_care`): counts per community or one
        record per person; ``columns["care"]`` and ``layers["care"]`` as for the layers.
    care_coords, care_crs : keyword-only
        The system of a records table's ``lon``/``lat``; the CRS of its ``x``/``y``.
    care_min_count : int, optional, keyword-only
        As in :func:`analyze`.

    """
    with _progress.step("read_layers", show=progress):
        comm, fac = _read_layers(
            communities, facilities, facility_coords, community_coords, columns or {}, layers or {}
        )
        comp = _read_compounds(compounds, compound_coords, columns or {}, layers or {})
        table = (
            read_care(
                care,
                comm,
                columns=(columns or {}).get("care"),
                coords=care_coords,
                crs=care_crs,
                layer=(layers or {}).get("care"),
            )
            if care is not None
            else None
        )
    if dem is not None:
        terrain.check_dem(dem)
    if isinstance(network, WalkNetwork):
        net = network
    else:
        with _progress.step("read_network", show=progress):
            net = read_network(network, options=road_options)
    _check_overlap(net, comm, fac)
    result = analyze(
        net,
        comm,
        fac,
        policy=policy,
        population_raster=population_raster,
        dem=dem,
        speed_m_s=speed_m_s,
        progress=progress,
        compounds=comp,
        new_from_year=new_from_year,
        care=table,
        care_min_count=care_min_count,
    )
    params = dict(result.parameters)
    params.update(
        communities_file=str(communities),
        facilities_file=str(facilities),
        facility_coords=facility_coords,
        community_coords=community_coords,
    )
    return dataclasses.replace(result, parameters=params)


def check_only(
    communities: str | Path,
    facilities: str | Path,
    *,
    policy: Policy,
    network: str | Path | Sequence[str | Path] | WalkNetwork | None = None,
    dem: str | Path | None = None,
    speed_m_s: float | None = None,
    facility_coords: Coords = "wgs84",
    community_coords: Coords = "wgs84",
    columns: Mapping[str, Mapping[str, str]] | None = None,
    layers: Mapping[str, str | None] | None = None,
    road_options: RoadOptions | None = None,
    progress: bool = False,
    compounds: str | Path | None = None,
    compound_coords: Coords = "wgs84",
    new_from_year: int | None = None,
) -> Analysis:
    """Read the files and run the standards checks only (``carecircle check``).

    Without a network, stations are assigned to centres by straight-line distance; with one
    (read as :func:`run` reads it), by walking time, over the slopes of ``dem`` when given,
    and always over the steps. With ``progress``, each step's time is said on standard error.
    ``compounds`` are checked as :func:`run` checks them.
    """
    with _progress.step("read_layers", show=progress):
        comm, fac = _read_layers(
            communities, facilities, facility_coords, community_coords, columns or {}, layers or {}
        )
        comp = _read_compounds(compounds, compound_coords, columns or {}, layers or {})
    check_placed(comm, fac)
    if dem is not None and network is None:
        msg = f"{dem}: a DEM (--dem) needs a network (--network) to walk on; give both"
        raise InputError(msg)
    if dem is not None:
        terrain.check_dem(dem)
    net = network
    if net is not None and not isinstance(net, WalkNetwork):
        with _progress.step("read_network", show=progress):
            net = read_network(net, options=road_options)
    if net is not None:
        net, _ = walking_network(
            net, policy, speed_m_s=walking_speed(speed_m_s, policy.speed_m_s), dem=dem
        )
    with _progress.step("standards", show=progress):
        checks = standards.check(comm, fac, policy, net=net, speed_m_s=speed_m_s)
        compound_table, district = check_compounds(
            comp, comm, fac, policy, checks.district, new_from_year=new_from_year
        )
    parameters = {
        "tool": f"carecircle {__version__}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "policy": policy.name,
        "policy_file": policy.source_file,
        "communities_file": str(communities),
        "facilities_file": str(facilities),
        "network": net.source if net is not None else "",
        **(_walking_metadata(net, policy) if net is not None else {}),
        **_compound_metadata(comp, new_from_year),
    }
    fac = fac.assign(**{str(column): checks.facilities[column] for column in checks.facilities})
    return Analysis(
        gpd.GeoDataFrame(pd.concat([comm, checks.communities], axis=1), crs=comm.crs),
        fac,
        gpd.GeoDataFrame(
            {"facility_id": [], "tier": [], "circle": [], "minutes": []}, geometry=[], crs=comm.crs
        ),
        policy,
        parameters,
        district=district,
        township_checks=checks.townships,
        compounds=compound_table,
    )


def check_placed(communities: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame) -> None:
    """Say which facilities lie in no community; refuse when none lies in any.

    A facility lies in a community when its polygon contains it or its ``community_id`` names
    it. Facilities in none are counted in no community or township; when that is all of them,
    the coordinates are wrong (another coordinate system, swapped columns, another district).

    Raises
    ------
    InputError
        When no facility lies in any community, naming both files and extents, and saying so
        when lon/lat swapped would place them.

    """
    polygons = communities.geometry.to_numpy()
    points = facilities.to_crs(communities.crs).geometry.to_numpy()
    declared = (
        np.array(as_text(facilities["community_id"]), dtype=object)
        if "community_id" in facilities
        else np.full(len(facilities), "", dtype=object)
    )
    outside = (declared == "") & ~_inside_any(polygons, points)
    if not outside.any():
        return
    where = inputs.layer_where(facilities, role="facilities")
    comm = communities.attrs.get("source") or "the communities"
    first = int(np.flatnonzero(outside)[0])
    first_id = facilities["id"].iloc[first]
    if outside.all():
        lon0, lat0, lon1, lat1 = facilities.to_crs(4326).total_bounds
        clon0, clat0, clon1, clat1 = communities.to_crs(4326).total_bounds
        swapped = _inside_any(polygons, shapely.transform(points, lambda xy: xy[:, ::-1]))
        hint = (
            "their lon and lat look swapped: swap the columns"
            if communities.crs.is_geographic and swapped.mean() > 0.5
            else "check --facility-coords (wgs84, gcj02, bd09), that lon/lat are not swapped, "
            "and that both files are of the same district"
        )
        msg = (
            f"{where.path}: none of the {len(facilities)} facilities lies in a community of "
            f"{comm} (facilities lon {lon0:.4f}..{lon1:.4f}, lat {lat0:.4f}..{lat1:.4f}; "
            f"communities lon {clon0:.4f}..{clon1:.4f}, lat {clat0:.4f}..{clat1:.4f}); {hint}"
        )
        raise InputError(msg)
    logger.warning(
        "%s: %d of %d facilities lie in no community of %s (first: %s, id %r); they count "
        "for no community or township (give them a community_id column if they belong to one)",
        where.path,
        int(outside.sum()),
        len(facilities),
        comm,
        where.row(first),
        first_id,
    )


def _inside_any(polygons: np.ndarray, points: np.ndarray) -> np.ndarray:
    """True for each point within one of the polygons."""
    which, _ = shapely.STRtree(polygons).query(points, predicate="within")
    inside = np.zeros(len(points), dtype=bool)
    inside[which] = True
    return inside


def _read_layers(
    communities: str | Path,
    facilities: str | Path,
    facility_coords: Coords,
    community_coords: Coords,
    columns: Mapping[str, Mapping[str, str]],
    layers: Mapping[str, str | None],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    comm = inputs.read_communities(
        communities,
        columns=columns.get("communities"),
        coords=community_coords,
        layer=layers.get("communities"),
    )
    fac = inputs.read_facilities(
        facilities,
        columns=columns.get("facilities"),
        coords=facility_coords,
        layer=layers.get("facilities"),
    )
    _memory.require(
        _memory.BASE_BYTES + _memory.BYTES_PER_FACILITY * len(fac),
        what=f"{Path(facilities).name}: {len(fac):,} facilities",
        advice="free some (close other programs) or run on a machine with more",
    )
    return comm, fac


def _read_compounds(
    compounds: str | Path | None,
    coords: Coords,
    columns: Mapping[str, Mapping[str, str]],
    layers: Mapping[str, str | None],
) -> gpd.GeoDataFrame | None:
    """The compounds file read (None without one)."""
    if compounds is None:
        return None
    return read_compounds(
        compounds, columns=columns.get("compounds"), coords=coords, layer=layers.get("compounds")
    )


def township_table(communities: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Per township: number of communities, residents counted, and each circle's share.

    Parameters
    ----------
    communities : pandas.DataFrame
        :attr:`Analysis.communities`.
    policy : Policy
        The profile (for the circle names).

    """
    groups = circles_mod.by_township(communities)
    table = pd.DataFrame({"communities": groups.size()})
    for circle in policy.circles:
        if f"{circle.name}_status" not in communities:
            continue
        residents = groups[f"{circle.name}_residents"].sum()
        within = groups[f"{circle.name}_within"].sum()
        table[f"{circle.name}_residents"] = residents.round(0)
        table[f"{circle.name}_share"] = circles_mod.pooled_share(within, residents).round(3)
        table[f"{circle.name}_not_covered"] = groups[f"{circle.name}_status"].apply(
            lambda s: int((s != circles_mod.COVERED).sum())
        )
    return table.reset_index()


def walking_circles(
    net: WalkNetwork,
    places: gpd.GeoDataFrame,
    sources: travel.Snap,
    *,
    circle: Circle,
    speed_m_s: float,
    max_access_m: float,
    raster: isochrones.EdgeRaster | None = None,
    progress: bool = False,
) -> gpd.GeoDataFrame:
    """The area counted within each of ``circle``'s time limits from each place.

    A point lies in a place's polygon when a resident there would be counted as within the
    limit of that place (:mod:`carecircle.isochrones`: the same rule as the shares, drawn on a
    raster of :func:`circle_raster`'s cells).

    Parameters
    ----------
    net : WalkNetwork
        The walking network (projected CRS; the polygons are in the same CRS).
    places : geopandas.GeoDataFrame
        Facilities or proposed sites with ``id`` and ``tier``, one row per source.
    sources : travel.Snap
        The same places joined to the network, in the same order.
    circle : Circle, keyword-only
        The circle; one polygon per place and distinct limit in ``circle.minutes``.
    speed_m_s : float, keyword-only
        Walking speed, metres per second.
    max_access_m : float, keyword-only
        The longest straight walk from a home to the network that counts (the policy's
        ``max_access_m``), metres.
    raster : isochrones.EdgeRaster, optional, keyword-only
        The network's nearest-edge raster (:func:`circle_raster`), built once per analysis;
        a default one is built when omitted.
    progress : bool, keyword-only
        Show a progress bar.

    Returns
    -------
    geopandas.GeoDataFrame
        ``facility_id``, ``tier``, ``circle``, ``minutes`` and the polygon.

    """
    rows = []
    ids, tiers = places["id"].to_numpy(), places["tier"].to_numpy()
    for minutes in circle.limits:

        def drawn(part: np.ndarray, *, shown: bool, minutes: float = minutes) -> list[Any]:
            found = isochrones.polygons(
                net,
                sources.subset(part),
                speed_m_s=speed_m_s,
                limit_s=minutes * 60.0,
                max_access_m=max_access_m,
                raster=raster,
            )
            bar = tqdm(
                found,
                total=part.size,
                disable=_quiet(progress) if shown else True,
                desc=f"{circle.name} {minutes:g} min polygons",
                unit="facility",
            )
            return [(int(part[index]), geom) for index, geom in bar]

        everyone = np.arange(len(sources))
        if len(sources) < MIN_FORKED_POLYGONS:
            found = drawn(everyone, shown=True)
        else:  # half the facilities in a second process, on the second core
            first, second = np.array_split(everyone, 2)
            parts = side_by_side(
                {"second": partial(drawn, second, shown=False)},
                {"first": partial(drawn, first, shown=True)},
            )
            found = [*parts["first"], *parts["second"]]
        for index, geom in found:
            rows.append((ids[index], tiers[index], circle.name, minutes, geom))
    frame = pd.DataFrame(rows, columns=["facility_id", "tier", "circle", "minutes", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=net.crs)


def circle_raster(
    net: WalkNetwork,
    *,
    policy: Policy,
    speed_m_s: float,
    elevation: terrain.Elevation | None = None,
) -> isochrones.EdgeRaster:
    """The nearest-edge raster every circle polygon of an analysis is drawn on, built once.

    Its cell is 0.15 of the policy's ``grid_spacing_m`` (coarser on a very large network,
    :func:`carecircle.isochrones.cell_size_m`); it reaches beyond the network as far as the
    widest band of any circle: the longest limit's walk, capped at ``max_access_m``.

    Parameters
    ----------
    net : WalkNetwork
        The network the polygons are drawn for (projected CRS).
    policy : Policy, keyword-only
        Its circles' limits, ``grid_spacing_m`` and ``max_access_m``.
    speed_m_s : float, keyword-only
        Walking speed, metres per second.
    elevation : terrain.Elevation, optional, keyword-only
        The DEM the homes' access walks climb (:attr:`Prepared.elevation`), so that the
        polygons count them as the shares do.

    Returns
    -------
    isochrones.EdgeRaster

    """
    longest_s = max((c.max_minutes for c in policy.circles), default=0.0) * 60.0
    margin_m = min(longest_s * speed_m_s, policy.max_access_m)
    cell_m = isochrones.cell_size_m(net, spacing_m=policy.grid_spacing_m, margin_m=margin_m)
    return isochrones.edge_raster(
        net, cell_m=cell_m, margin_m=margin_m, elevation=elevation, walking=policy.walking
    )


def merged_circles(
    net: WalkNetwork,
    places: gpd.GeoDataFrame,
    sources: travel.Snap,
    *,
    circle: Circle,
    speed_m_s: float,
    max_access_m: float,
    raster: isochrones.EdgeRaster | None = None,
    progress: bool = False,
) -> gpd.GeoDataFrame:
    """The area counted within each of ``circle``'s time limits from any place of each tier.

    The union of :func:`walking_circles` per tier and limit (as
    :func:`carecircle.isochrones.dissolve` gives it), built by one search per tier and limit
    (:func:`carecircle.isochrones.merged_polygon`), whatever the number of places.

    Parameters are as for :func:`walking_circles`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``circle``, ``tier``, ``minutes``, ``facilities`` and the polygon.

    """
    tiers = places["tier"].astype(str).to_numpy()
    steps = [(t, m) for t in sorted(set(tiers)) for m in circle.limits]
    rows = []
    bar = tqdm(steps, disable=_quiet(progress), desc=f"{circle.name} merged circles", unit="circle")
    for tier, minutes in bar:
        mine = np.flatnonzero(tiers == tier)
        shape = isochrones.merged_polygon(
            net,
            sources.subset(mine),
            speed_m_s=speed_m_s,
            limit_s=minutes * 60.0,
            max_access_m=max_access_m,
            raster=raster,
        )
        rows.append((circle.name, tier, minutes, int(mine.size), shape))
    frame = pd.DataFrame(rows, columns=["circle", "tier", "minutes", "facilities", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=net.crs)


def _check_overlap(net: WalkNetwork, comm: gpd.GeoDataFrame, fac: gpd.GeoDataFrame) -> None:
    """Fail clearly when the layers lie nowhere near the network (wrong file, swapped axes)."""
    for label, layer in (("communities", comm), ("facilities", fac)):
        check_near(net, layer, label=label)


def check_near(net: WalkNetwork, layer: gpd.GeoDataFrame, *, label: str) -> None:
    """Raise :class:`InputError` when ``layer`` lies wholly outside the network's extent.

    The extent is the network's bounding box widened by 5 km; rows without a geometry are left
    out. Catches a file of another district, a wrong coordinate system and swapped lon/lat.
    ``label`` names the layer in the message (for example ``"candidate sites"``), after its
    file's name when the readers of :mod:`carecircle.inputs` left one in ``attrs["source"]``.
    """
    minx, miny, maxx, maxy = net.bounds()
    shown = layer[has_shape(layer)]
    if shown.empty:
        return
    bx0, by0, bx1, by1 = shown.to_crs(net.crs).total_bounds
    margin = 5_000.0
    if bx1 < minx - margin or bx0 > maxx + margin or by1 < miny - margin or by0 > maxy + margin:
        lon0, lat0, lon1, lat1 = shown.to_crs(4326).total_bounds
        source = layer.attrs.get("source")
        check = (
            f"check the files; {LAYER_CRS_HINT}"
            if from_layer(net)
            else "check the files, the coordinate system, and that lon/lat are not swapped"
        )
        msg = (
            f"{source + ': ' if source else ''}"
            f"the {label} (lon {lon0:.4f}..{lon1:.4f}, lat {lat0:.4f}..{lat1:.4f}) lie outside "
            f"the walking network {net.source!r}; expected the same district ({check})"
        )
        raise InputError(msg)


def has_shape(layer: gpd.GeoDataFrame) -> np.ndarray:
    """True for rows whose geometry is neither missing nor empty."""
    geoms = layer.geometry.to_numpy()
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _quiet(progress: bool) -> bool | None:
    """Return the progress bars' ``disable``: True when not asked, None (automatic) otherwise."""
    return None if progress else True


def walking_network(
    net: WalkNetwork, policy: Policy, *, speed_m_s: float, dem: str | Path | None = None
) -> tuple[WalkNetwork, terrain.Elevation | None]:
    """``net`` with the walking metres of its slopes and steps, per direction.

    Slopes come from the network's own vertex elevations (:attr:`WalkNetwork.z_m`) where
    complete and from ``dem`` elsewhere (:func:`carecircle.terrain.apply`); flat without
    either. A network already costed (:attr:`WalkNetwork.walking` set) keeps its metres.

    Returns
    -------
    tuple
        ``(network, elevation)``: the costed network, and the DEM read over it (``None``
        without ``dem``), for the access walks' grades.

    """
    elevation = (
        terrain.read_dem(dem, net_crs=net.crs, bounds=net.bounds()) if dem is not None else None
    )
    if not net.walking:
        net = terrain.apply(net, policy.walking, speed_m_s=speed_m_s, elevation=elevation)
    return net, elevation


def _walking_metadata(net: WalkNetwork, policy: Policy) -> dict[str, Any]:
    """How walking times were made, as ``walking_<key>`` entries.

    The profile's ``[walking]`` rules and sources, then what :func:`carecircle.terrain.apply`
    did and counted (DEM, samples, steps).
    """
    walking = policy.walking
    rules = {
        key: value
        for key, value in dataclasses.asdict(walking).items()
        if isinstance(value, int | float | str | bool)
    }
    # what was done (a slope model without a DEM is none) over what the profile asks
    return {f"walking_{key}": value for key, value in {**rules, **net.walking}.items()}


def graded_access(
    net: WalkNetwork,
    snap: travel.Snap,
    x: np.ndarray,
    y: np.ndarray,
    *,
    elevation: terrain.Elevation | None,
    walking: Walking,
    to_door: bool,
) -> travel.Snap:
    """``snap`` with its access walks costed on the DEM's grade (unchanged without a DEM).

    Only a DEM grades them: a network with elevations of its own (:attr:`WalkNetwork.z_m`)
    but no DEM has its edges' slopes costed and these walks flat.

    Parameters
    ----------
    net : WalkNetwork
        The network the points joined.
    snap : travel.Snap
        Where the points at ``x``, ``y`` join it.
    x, y : numpy.ndarray
        The points (homes, facilities, sites) in ``net.crs``.
    elevation : terrain.Elevation or None, keyword-only
        The DEM over the network.
    walking : Walking, keyword-only
        The profile's ``[walking]`` rules.
    to_door : bool, keyword-only
        The walk that counts: from the way to the door (a facility, a site) when true, from the
        door to the way (a home) when false.

    """
    if elevation is None or len(snap) == 0:
        return snap
    joined = terrain.joining_points(net, snap.edge, snap.fraction)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if to_door:
        walk = terrain.access_walk_m(elevation, walking, joined[:, 0], joined[:, 1], x, y)
    else:
        walk = terrain.access_walk_m(elevation, walking, x, y, joined[:, 0], joined[:, 1])
    return dataclasses.replace(snap, access_walk_m=walk)
