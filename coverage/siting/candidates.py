"""Candidate sites and their coverage sets, from the same compiled shortest paths as the analysis.

:func:`coverage_matrix` walks from every candidate (bounded, compiled Dijkstra in batches, see
:func:`carecircle.travel.reach`) and reads off, vectorised, which demand points it reaches
within their circle's minutes: the sparse matrix the siting models in
:mod:`carecircle.siting` solve on. :func:`generate` proposes candidate points on the walking
network in and around the communities a circle does not cover.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_array

from ..network import WalkNetwork
from ..policy import Policy
from ..terms import NOT_COVERED as NOT_COVERED
from ..travel import Snap, along_m, reach, snap, to_ends_m

logger = logging.getLogger(__name__)


def simplified_approval(area_m2: pd.Series | np.ndarray, policy: Policy) -> pd.arrays.BooleanArray:
    """Whether each candidate building qualifies for simplified approval, under the profile.

    渝中府办〔2020〕44号 §二(一)2: a building of "1000平方米以下" converted to care use needs fewer
    papers; "以下" includes the figure, so 1000 m² itself qualifies. The rule is 渝中's, held in
    its profile as ``provision.simplified_approval_max_area_m2``: under a profile without it,
    and for a candidate without a floor area, the answer is unknown (NA).

    Parameters
    ----------
    area_m2 : array-like of float
        Floor areas, m² (NaN where unknown).
    policy : Policy
        The profile.

    Returns
    -------
    pandas.arrays.BooleanArray
        True, False or NA for each candidate (the ``under_1000m2`` column).

    Examples
    --------
    >>> from carecircle import policy
    >>> simplified_approval([1000.0, 1000.1], policy.load("yuzhong")).tolist()
    [True, False]
    >>> simplified_approval([1000.0], policy.load("chongqing")).tolist()
    [<NA>]

    """
    area = np.asarray(area_m2, dtype=float)
    out = pd.array(np.full(area.shape, pd.NA), dtype="boolean")
    rule = policy.provision.get("simplified_approval_max_area_m2")
    if rule is None:
        return out
    known = np.isfinite(area)
    out[known] = area[known] <= float(rule.value)
    return out


def coverage_matrix(
    net: WalkNetwork,
    candidates: Snap,
    targets: Snap,
    limit_s: np.ndarray,
    *,
    speed_m_s: float,
    usable: np.ndarray | None = None,
) -> csr_array:
    """Which demand points each candidate reaches on foot within their limit.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    candidates : Snap
        Candidate sites joined to the network.
    targets : Snap
        Demand points joined to the network.
    limit_s : numpy.ndarray
        Each demand point's time limit in seconds (its community's circle minutes × 60).
    speed_m_s : float, keyword-only
        Walking speed, metres per second.
    usable : numpy.ndarray, optional, keyword-only
        False for demand points that no site can serve (off the network); their rows stay
        empty.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean, shape ``(len(targets), len(candidates))``.

    """
    n_targets, n_cands = len(targets), len(candidates)
    limit_s = np.asarray(limit_s, dtype=float)
    keep = np.ones(n_targets, dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    if n_targets == 0 or n_cands == 0:
        return csr_array((n_targets, n_cands), dtype=bool)
    by_node = _targets_by_node(net, targets, speed_m_s=speed_m_s)
    by_edge = _targets_by_edge(targets)
    access_s = targets.walk_m / speed_m_s
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    horizon = float(limit_s[keep].max()) if keep.any() else 0.0
    for j, nodes, seconds in reach(net, candidates, speed_m_s=speed_m_s, limit_s=horizon):
        hit = _reached_targets(by_node, nodes, seconds, access_s)
        own = _own_edge_targets(net, by_edge, candidates, j, targets, speed_m_s)
        found = np.concatenate([hit[0], own[0]])
        time = np.concatenate([hit[1], own[1]])
        ok = keep[found] & (time <= limit_s[found])
        found = np.unique(found[ok])
        rows.append(found)
        cols.append(np.full(found.size, j, dtype=np.int64))
    r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    data = np.ones(r.size, dtype=bool)
    return csr_array((data, (r, c)), shape=(n_targets, n_cands))


def generate(
    net: WalkNetwork,
    communities: gpd.GeoDataFrame,
    circle: str,
    *,
    spacing_m: float = 100.0,
    margin_m: float = 300.0,
    max_sites: int = 5000,
) -> gpd.GeoDataFrame:
    """Candidate points on the walking network in and around the communities not covered.

    A regular grid of spacing ``spacing_m`` is laid over the communities whose
    ``<circle>_status`` is partial, uncovered or no_facility (grown by ``margin_m``), and each
    grid point is moved onto the nearest walkable way (points farther than ``spacing_m`` from
    any way are dropped; points landing on the same spot are merged). When that gives more
    than ``max_sites`` points the spacing is widened (and a warning says so).

    Parameters
    ----------
    net : WalkNetwork
        The network.
    communities : geopandas.GeoDataFrame
        Analysed communities, in ``net.crs``.
    circle : str
        The circle whose gaps to fill.
    spacing_m, margin_m : float, keyword-only
        Spacing along the edges and the distance around the communities, metres.
    max_sites : int, keyword-only
        Largest number of candidates.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id`` (``G00001`` …), ``name``, ``area_m2`` and ``cost`` (NaN), ``under_1000m2``
        (NA), ``generated`` (True); points in ``net.crs``.

    """
    status = communities[f"{circle}_status"]
    gaps = communities.geometry[status.isin(NOT_COVERED).to_numpy()].to_numpy()
    gaps = gaps[~(shapely.is_empty(gaps) | shapely.is_missing(gaps))]
    empty = gpd.GeoDataFrame(
        {"id": [], "name": [], "area_m2": [], "cost": [], "under_1000m2": [], "generated": []},
        geometry=[],
        crs=net.crs,
    )
    if gaps.size == 0:
        return empty
    area = shapely.buffer(shapely.union_all(gaps), margin_m)
    while True:
        # a regular grid over the gaps, each point moved onto the nearest walkable way
        minx, miny, maxx, maxy = shapely.bounds(area)
        xs = np.arange(minx + spacing_m / 2, maxx, spacing_m)
        ys = np.arange(miny + spacing_m / 2, maxy, spacing_m)
        gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
        inside = shapely.contains_xy(area, gx, gy)
        if int(inside.sum()) <= max_sites:
            break
        spacing_m *= 1.5
        logger.warning("too many candidate points; spacing widened to %.0f m", spacing_m)
    joined = snap(net, gx[inside], gy[inside])
    near = joined.access_m <= spacing_m
    points = shapely.line_interpolate_point(
        net.geometry[joined.edge[near]], joined.fraction[near], normalized=True
    )
    # one candidate per spot: grid points that land on the same place are merged
    keys = np.round(shapely.get_coordinates(points) / (spacing_m / 4)).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    points = points[np.sort(first)]
    n = points.size
    return gpd.GeoDataFrame(
        {
            "id": [f"G{i + 1:05d}" for i in range(n)],
            "name": [f"G{i + 1:05d}" for i in range(n)],
            "area_m2": np.full(n, np.nan),
            "cost": np.full(n, np.nan),
            "under_1000m2": pd.array([pd.NA] * n, dtype="boolean"),
            "generated": np.ones(n, dtype=bool),
        },
        geometry=points,
        crs=net.crs,
    )


def _targets_by_node(
    net: WalkNetwork, targets: Snap, *, speed_m_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of node -> (target, seconds from the node to the target's joining point)."""
    to_u_m, to_v_m = to_ends_m(net, targets)
    ends = np.concatenate([net.u[targets.edge], net.v[targets.edge]])
    which = np.concatenate([np.arange(len(targets)), np.arange(len(targets))])
    offset = np.concatenate([to_u_m, to_v_m])
    order = np.argsort(ends, kind="stable")
    indptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=net.n_nodes), out=indptr[1:])
    return indptr, which[order], offset[order] / speed_m_s


def _targets_by_edge(targets: Snap) -> pd.Series:
    """Edge -> positions of the targets on it."""
    return pd.Series(np.arange(len(targets))).groupby(targets.edge).apply(np.asarray)


def _reached_targets(
    by_node: tuple[np.ndarray, np.ndarray, np.ndarray],
    nodes: np.ndarray,
    seconds: np.ndarray,
    access_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Targets on edges touching the reached nodes, with their time through those nodes."""
    indptr, which, offset = by_node
    counts = indptr[nodes + 1] - indptr[nodes]
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    start = np.repeat(indptr[nodes] - np.cumsum(counts) + counts, counts)
    pos = start + np.arange(total)
    found = which[pos]
    time = np.repeat(seconds, counts) + offset[pos] + access_s[found]
    return found, time


def _own_edge_targets(
    net: WalkNetwork,
    by_edge: pd.Series,
    candidates: Snap,
    j: int,
    targets: Snap,
    speed_m_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Targets on the candidate's own edge, walked to straight along it."""
    edge = int(candidates.edge[j])
    if edge not in by_edge.index:
        return np.empty(0, dtype=np.int64), np.empty(0)
    found = by_edge.loc[edge]
    walk = along_m(net, np.full(found.size, edge), targets.fraction[found], candidates.fraction[j])
    time = (candidates.walk_m[j] + walk + targets.walk_m[found]) / speed_m_s
    return found, time
