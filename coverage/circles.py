"""Shares and statuses: how much of each community lies inside a service circle.

Works on arrays: the walking time of every demand point to the nearest facility of the circle,
the point's share of its community, and the community table. Returns one row per community,
with no community dropped.

The coverage rules each live here once: :func:`share_status` (a share's status) and the
township roll-up (:func:`by_township`, :func:`pooled_share`); who counts as a resident is
:func:`carecircle.demand.community_residents`, a circle's minutes by community kind
:meth:`carecircle.policy.Circle.minutes_for`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import demand
from .policy import Circle
from .terms import (
    COVERED as COVERED,
)
from .terms import (
    NO_FACILITY as NO_FACILITY,
)
from .terms import (
    OUTSIDE_NETWORK as OUTSIDE_NETWORK,
)
from .terms import (
    PARTIAL as PARTIAL,
)
from .terms import (
    STATUS_LABELS_ZH as STATUS_LABELS_ZH,
)
from .terms import (
    STATUSES as STATUSES,
)
from .terms import (
    UNCOVERED as UNCOVERED,
)

if TYPE_CHECKING:
    from pandas.core.groupby import DataFrameGroupBy


def share_status(
    share: np.ndarray, *, covered_min_share: float, partial_min_share: float
) -> np.ndarray:
    """The status of each share of residents within a circle.

    The one status rule: ``covered`` at or above ``covered_min_share``, ``partial`` above
    ``partial_min_share``, else ``uncovered`` (also for a NaN share). Callers then put the
    statuses that do not come from a share (``no_facility``, ``outside_network``,
    ``no_population``, an ``input_status``) over these.

    Parameters
    ----------
    share : numpy.ndarray
        Shares of residents within the circle, 0 to 1 (NaN where unknown).
    covered_min_share, partial_min_share : float, keyword-only
        The policy's thresholds (``[status]``), shares 0 to 1.

    Returns
    -------
    numpy.ndarray
        Statuses (object strings), shaped like ``share``.

    """
    share = np.asarray(share, dtype=float)
    return np.where(
        share >= covered_min_share,
        COVERED,
        np.where(share > partial_min_share, PARTIAL, UNCOVERED),
    ).astype(object)


def summarize(
    communities: pd.DataFrame,
    point_community: np.ndarray,
    point_weight: np.ndarray,
    time_s: np.ndarray,
    nearest: np.ndarray,
    facility_ids: np.ndarray,
    circle: Circle,
    *,
    point_off_network: np.ndarray,
    covered_min_share: float,
    partial_min_share: float,
) -> pd.DataFrame:
    """Coverage of every community by one circle.

    Parameters
    ----------
    communities : pandas.DataFrame
        One row per community with ``population``, ``elderly`` (NaN when unknown), ``kind``
        (``urban``/``rural``) and ``input_status`` (``ok`` or why it cannot be analysed).
    point_community : numpy.ndarray
        Community position (0-based) of each demand point.
    point_weight : numpy.ndarray
        Share of its community's residents at each point (summing to 1 per community).
    time_s : numpy.ndarray
        Walking time in seconds from each point to the nearest facility of the circle
        (``inf`` when none is reachable or the point is off the network).
    nearest : numpy.ndarray
        Index into ``facility_ids`` of that facility, -1 when none.
    facility_ids : numpy.ndarray
        Ids of the circle's facilities.
    circle : Circle
        The circle (its minutes for urban and rural communities).
    point_off_network : numpy.ndarray, keyword-only
        True for points too far from the walking network that reaches a facility (their
        ``time_s`` is ``inf``): their residents count in ``residents`` but never in
        ``within``; a community all of whose points are is ``outside_network``.
    covered_min_share, partial_min_share : float, keyword-only
        Status thresholds on the share within the circle.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``communities``, columns ``minutes``, ``basis``, ``residents``,
        ``within``, ``share``, ``median_min``, ``p90_min``, ``nearest``, ``status``.

    """
    n = len(communities)
    minutes = circle.minutes_for(communities["kind"].to_numpy())

    people = point_weight * demand.community_residents(communities)[point_community]
    limit_s = minutes[point_community] * 60.0
    inside = time_s <= limit_s
    residents = np.bincount(point_community, weights=people, minlength=n)
    within = np.bincount(point_community, weights=people * inside, minlength=n)
    on_network = np.bincount(point_community, weights=~point_off_network, minlength=n) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(residents > 0, within / residents, np.nan)

    median_s = _weighted_quantile(point_community, time_s, point_weight, 0.5, n)
    p90_s = _weighted_quantile(point_community, time_s, point_weight, 0.9, n)
    nearest_id = _main_facility(point_community, nearest, people, facility_ids, n)

    status = share_status(
        share, covered_min_share=covered_min_share, partial_min_share=partial_min_share
    )
    if len(facility_ids) == 0:
        status[:] = NO_FACILITY
    has_points = np.bincount(point_community, minlength=n) > 0
    status[has_points & ~on_network] = OUTSIDE_NETWORK
    status[has_points & (residents == 0)] = "no_population"
    input_status = communities["input_status"].to_numpy()
    bad_input = input_status != "ok"
    status[bad_input] = input_status[bad_input]
    share[bad_input] = np.nan

    return pd.DataFrame(
        {
            "minutes": minutes,
            "basis": demand.residents_basis(communities),
            "residents": np.where(bad_input, np.nan, residents),
            "within": np.where(bad_input, np.nan, within),
            "share": share,
            "median_min": median_s / 60.0,
            "p90_min": p90_s / 60.0,
            "nearest": nearest_id,
            "status": status,
        },
        index=communities.index,
    )


NO_TOWNSHIP = "—"
"""The township of a community (or facility) whose ``township`` is blank, in every roll-up."""


def township_names(township: pd.Series) -> pd.Series:
    """The township each row is rolled up under: its ``township`` as text, blank as ``—``.

    Parameters
    ----------
    township : pandas.Series
        A ``township`` column (text; blank or NaN where unknown).

    Returns
    -------
    pandas.Series
        Text, indexed like ``township``, :data:`NO_TOWNSHIP` where it was blank.

    """
    return township.fillna("").astype(str).replace("", NO_TOWNSHIP)


def by_township(frame: pd.DataFrame) -> DataFrameGroupBy:
    """The rows of ``frame`` grouped by township (:func:`township_names`), townships sorted.

    The one township roll-up: every per-township table (coverage, siting before and after,
    centres and stations) groups its communities, or facilities, this way.

    Parameters
    ----------
    frame : pandas.DataFrame
        With a ``township`` column.

    Returns
    -------
    pandas.core.groupby.DataFrameGroupBy
        Keyed by ``township``.

    """
    named = frame.assign(township=township_names(frame["township"]))
    return named.groupby("township", sort=True)


def pooled_share(within: pd.Series, residents: pd.Series) -> pd.Series:
    """A group's share within a circle: its residents within over all its residents.

    A township's share pools its communities' residents (a large community weighs more than a
    small one); NaN where the group has none.

    Parameters
    ----------
    within, residents : pandas.Series
        Residents within the circle and residents counted, summed per group, in people.

    Returns
    -------
    pandas.Series
        Shares, 0 to 1, indexed like ``residents``.

    """
    return within / residents.where(residents > 0)


def _weighted_quantile(
    group: np.ndarray, value: np.ndarray, weight: np.ndarray, q: float, n: int
) -> np.ndarray:
    """Per-group weighted quantile (the lowest value whose cumulative weight reaches ``q``).

    ``inf`` values count (a point that reaches no facility); the result is NaN for groups
    without points or whose quantile is unreachable.
    """
    out = np.full(n, np.nan)
    if group.size == 0:
        return out
    order = np.lexsort((value, group))
    g, v, w = group[order], value[order], weight[order]
    totals = np.bincount(g, weights=w, minlength=n)
    cumulative = np.cumsum(w)
    starts = np.searchsorted(g, np.arange(n))
    before = np.concatenate([[0.0], cumulative])[starts]
    within_group = cumulative - before[g]
    reached = within_group >= q * totals[g] - 1e-12
    # first reached position of each group
    idx = np.flatnonzero(reached)
    first = pd.Series(idx).groupby(g[idx]).min()
    values = v[first.to_numpy()]
    out[first.index.to_numpy()] = np.where(np.isfinite(values), values, np.nan)
    return out


def _main_facility(
    group: np.ndarray, source: np.ndarray, people: np.ndarray, facility_ids: np.ndarray, n: int
) -> np.ndarray:
    """Id of the facility nearest to the most residents of each community ("" when none)."""
    out = np.full(n, "", dtype=object)
    valid = source >= 0
    if not valid.any():
        return out
    frame = pd.DataFrame({"g": group[valid], "s": source[valid], "p": people[valid] + 1e-12})
    sums = frame.groupby(["g", "s"], sort=False)["p"].sum().reset_index()
    top = sums.sort_values(["g", "p", "s"], ascending=[True, False, True]).drop_duplicates("g")
    out[top["g"].to_numpy()] = np.asarray(facility_ids, dtype=object)[top["s"].to_numpy()]
    return out
