"""Steps, elevators and escalators: what they cost an older resident, per direction.

OpenStreetMap maps the parts of a walk that are not a street (``highway=steps``,
``highway=elevator``, ``conveying=*``) with tags on the ways and nodes of the walking network
(:data:`carecircle.network.EDGE_TAGS`, :data:`~carecircle.network.NODE_TAGS`). This module turns
them into flat-equivalent metres per edge and direction, the unit of
:attr:`WalkNetwork.uv_m <carecircle.network.WalkNetwork.uv_m>`: the metres on flat ground
that take as long, so ``seconds x speed_m_s`` for a fixed time. The rules and their defaults
come from the profile's ``[walking]`` table (:class:`carecircle.policy.Walking`, where each
default names its source):

- **Steps** (``highway=steps``). With ``step_count``: ``step_count x`` seconds per step up or
  down. Without it: the edge's length times a factor, up or down. Which way is up: the
  elevation change (``rise_m``) from the network's own elevations or a DEM where known, else
  the ``incline`` tag (normalised to the edge's ``u`` -> ``v`` direction by the reader), else
  unknown, and then both ways cost the slower of up and down. ``ramp=yes`` (a ramp beside the
  steps) with ``walking.use_ramps``: the resident takes the ramp, so the edge is not costed
  here and is walked like any way (the slope model on its grade with elevations, flat
  without).
  ``handrail=no`` is counted, not penalised: no source found gives a time for it.
- **Elevators.** A way ``highway=elevator`` costs ``elevator_wait_s + elevator_ride_s`` each
  way, whatever its length. A node ``highway=elevator`` (the point where ways of two levels
  meet) costs the same once for every walk through it: it is added to each edge that touches
  it, in the direction leaving the node, so a walk that comes in on one edge and leaves on
  another pays it once. A node at the end of an elevator way is not charged again. (Like
  every edge cost, it is spread along the edge: a home part-way along such an edge pays that
  share of it. Whole edges are exact.)
- **Escalators and moving walkways** (``conveying=*``). The resident stands and rides at
  ``conveying_speed_m_s`` (horizontal speed along the mapped length) in the direction it moves
  (``forward`` = ``u`` -> ``v``, ``backward`` = ``v`` -> ``u``); the other direction is
  impassable (``inf``). ``reversible`` and ``yes`` ride both ways.

Every count goes into :attr:`SpecialCosts.counts` for the run's metadata; tag values that do
not parse are counted and said in one warning line, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .network import WalkNetwork
from .policy import Walking

logger = logging.getLogger(__name__)

MIN_GOING_M = 0.2
"""The shortest plausible horizontal depth of one step, metres. A ``step_count`` that puts
steps closer than this on an edge is taken to be the count of a whole way split into several
edges (or a typing error) and the edge is costed by its length instead (counted)."""

#: ``conveying`` values that move the way's ``u`` -> ``v``, ``v`` -> ``u``, or either way.
_FORWARD = "forward"
_BACKWARD = "backward"
_EITHER = ("yes", "reversible")


@dataclass(frozen=True)
class SpecialCosts:
    """Flat-equivalent metres of the steps, elevators and escalators of a network.

    Attributes
    ----------
    special : numpy.ndarray
        Boolean per edge: the edges costed here (steps, elevator ways, conveyors). Their
        cost replaces the walking cost of the slope model.
    uv_m, vu_m : numpy.ndarray
        Flat-equivalent metres of each edge walked ``u`` -> ``v`` and ``v`` -> ``u``; only the
        ``special`` entries matter (elsewhere they hold ``length_m``). ``inf`` is a direction
        that cannot be walked (against a one-way escalator).
    added_uv_m, added_vu_m : numpy.ndarray
        Flat-equivalent metres added to each edge in each direction, whatever it costs
        otherwise: the elevator of a ``highway=elevator`` node, charged leaving the node.
    counts : mapping of str to int
        How many edges (or nodes) of each kind were found and how they were costed, for the
        run's metadata: ``steps``, ``steps_by_count``, ``steps_by_length``,
        ``steps_direction_dem``, ``steps_direction_incline``, ``steps_direction_unknown``,
        ``steps_ramp``, ``steps_handrail_no``, ``elevator_ways``, ``elevator_nodes``,
        ``elevator_node_edges``, ``conveying``, ``conveying_one_way``, ``bad_step_count``,
        ``implausible_step_count``, ``bad_incline``, ``bad_conveying``.

    """

    special: np.ndarray
    uv_m: np.ndarray
    vu_m: np.ndarray
    added_uv_m: np.ndarray
    added_vu_m: np.ndarray
    counts: Mapping[str, int] = field(default_factory=dict)

    def combine(
        self, base_uv_m: np.ndarray, base_vu_m: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The network's walking metres per direction with these costs put in.

        Parameters
        ----------
        base_uv_m, base_vu_m : numpy.ndarray
            Flat-equivalent metres of every edge per direction from the slope model
            (``length_m`` both ways on flat ground).

        Returns
        -------
        uv_m, vu_m : numpy.ndarray
            ``special`` edges take their own cost, the others keep the base; the elevator
            nodes' ``added`` metres are added to both. New arrays, for
            :attr:`WalkNetwork.walk_uv_m` and :attr:`WalkNetwork.walk_vu_m`.

        """
        uv = np.where(self.special, self.uv_m, base_uv_m) + self.added_uv_m
        vu = np.where(self.special, self.vu_m, base_vu_m) + self.added_vu_m
        return uv, vu


def special_costs(
    net: WalkNetwork,
    walking: Walking,
    *,
    speed_m_s: float,
    rise_m: np.ndarray | None = None,
) -> SpecialCosts:
    """Cost the steps, elevators and escalators of ``net`` per direction, for older residents.

    Parameters
    ----------
    net : WalkNetwork
        The network, with its OpenStreetMap tags (:attr:`WalkNetwork.edge_tags`,
        :attr:`WalkNetwork.node_tags`); a network without tags has nothing special.
    walking : Walking
        The profile's ``[walking]`` rules (seconds per step, factors, elevator and escalator
        times).
    speed_m_s : float, keyword-only
        The flat walking speed, metres per second: a fixed time of ``t`` seconds (an elevator,
        a step) is ``t x speed_m_s`` flat-equivalent metres.
    rise_m : numpy.ndarray, optional, keyword-only
        Elevation change of each edge from ``u`` to ``v`` in metres, from the network's own
        vertex elevations or a DEM; ``NaN`` (or omitted) where unknown. Where finite and not
        zero it says which way a flight of steps climbs, over the ``incline`` tag.

    Returns
    -------
    SpecialCosts

    """
    if not (np.isfinite(speed_m_s) and speed_m_s > 0):
        msg = f"walking speed must be positive, got {speed_m_s!r} m/s"
        raise ValueError(msg)
    n = net.n_edges
    length = np.asarray(net.length_m, dtype=float)
    highway = _text(net.edge_tag("highway"))
    conveying = _text(net.edge_tag("conveying"))
    counts: dict[str, int] = {}

    uv = length.copy()
    vu = length.copy()
    special = np.zeros(n, dtype=bool)

    # Elevator ways: a fixed time each way.
    elevator_m = (walking.elevator_wait_s + walking.elevator_ride_s) * speed_m_s
    is_elevator = highway == "elevator"
    uv[is_elevator] = elevator_m
    vu[is_elevator] = elevator_m
    special |= is_elevator
    counts["elevator_ways"] = int(is_elevator.sum())

    # Conveyors: ride in their direction; the other way is impassable unless reversible.
    is_conveying = ~is_elevator & (conveying != "") & (conveying != "no")
    known = np.isin(conveying, (_FORWARD, _BACKWARD, *_EITHER))
    bad_conveying = is_conveying & ~known
    ride_m = length / walking.conveying_speed_m_s * speed_m_s
    forward = is_conveying & (conveying == _FORWARD)
    backward = is_conveying & (conveying == _BACKWARD)
    uv = np.where(is_conveying, np.where(backward, np.inf, ride_m), uv)
    vu = np.where(is_conveying, np.where(forward, np.inf, ride_m), vu)
    special |= is_conveying
    counts["conveying"] = int(is_conveying.sum())
    counts["conveying_one_way"] = int((forward | backward).sum())
    counts["bad_conveying"] = int(bad_conveying.sum())

    # Steps (not escalators): per step, or by length, up and down.
    steps = (highway == "steps") & ~is_conveying
    counts["steps"] = int(steps.sum())
    ramp = steps & (_text(net.edge_tag("ramp")) == "yes")
    counts["steps_ramp"] = int(ramp.sum())
    if walking.use_ramps:
        steps &= ~ramp
    counts["steps_handrail_no"] = int((steps & (_text(net.edge_tag("handrail")) == "no")).sum())
    up_m, down_m, by_count, step_counts = _steps_m(net, steps, length, walking, speed_m_s)
    counts.update(step_counts)
    direction, direction_counts = _climbs(net, steps, rise_m)
    counts.update(direction_counts)
    slower_m = np.maximum(up_m, down_m)
    uv = np.where(steps, np.select([direction > 0, direction < 0], [up_m, down_m], slower_m), uv)
    vu = np.where(steps, np.select([direction > 0, direction < 0], [down_m, up_m], slower_m), vu)
    special |= steps
    counts["steps_by_count"] = int((steps & by_count).sum())
    counts["steps_by_length"] = int((steps & ~by_count).sum())

    added_uv, added_vu, node_counts = _elevator_nodes(net, is_elevator, elevator_m)
    counts.update(node_counts)
    _warn(counts)
    return SpecialCosts(
        special=special,
        uv_m=uv,
        vu_m=vu,
        added_uv_m=added_uv,
        added_vu_m=added_vu,
        counts=counts,
    )


def _text(values: np.ndarray) -> np.ndarray:
    """Tag values as lower-case stripped text (``""`` for missing).

    A tag holds few distinct values over many edges: each distinct value is cleaned once.
    """
    codes, distinct = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    clean = pd.Index(distinct).astype(str).str.strip().str.lower().to_numpy(dtype=object)
    return np.append(clean, "")[codes]  # code -1 (missing) takes the last entry, ""


def _number(text: np.ndarray, *, units: str = "") -> np.ndarray:
    """Cleaned tag text as numbers (``NaN`` where it is not one), each distinct value once.

    ``units`` are characters stripped from the end first (``"%°"`` for an incline).
    """
    codes, distinct = pd.factorize(pd.Series(text, dtype=object))
    values = pd.Series(distinct, dtype=object).astype(str)
    if units:
        values = values.str.rstrip(units).str.strip()
    number = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return np.append(number, np.nan)[codes]


def _steps_m(
    net: WalkNetwork,
    steps: np.ndarray,
    length: np.ndarray,
    walking: Walking,
    speed_m_s: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Flat-equivalent metres of each flight up and down, and whether ``step_count`` set it."""
    raw = _text(net.edge_tag("step_count"))
    given = steps & (raw != "")
    number = _number(raw)
    valid = np.isfinite(number) & (number > 0)
    bad = given & ~valid
    # More steps than fit on the edge: the way's whole count on one of its edges, or a typo.
    implausible = given & valid & (number * MIN_GOING_M > np.maximum(length, MIN_GOING_M))
    by_count = given & valid & ~implausible
    count = np.where(by_count, number, 0.0)
    up_m = np.where(
        by_count, count * walking.steps_up_s_per_step * speed_m_s, length * walking.steps_up_factor
    )
    down_m = np.where(
        by_count,
        count * walking.steps_down_s_per_step * speed_m_s,
        length * walking.steps_down_factor,
    )
    return (
        up_m,
        down_m,
        by_count,
        {"bad_step_count": int(bad.sum()), "implausible_step_count": int(implausible.sum())},
    )


def _climbs(
    net: WalkNetwork, steps: np.ndarray, rise_m: np.ndarray | None
) -> tuple[np.ndarray, dict[str, int]]:
    """+1 where an edge climbs from ``u`` to ``v``, -1 where it descends, 0 where unknown."""
    n = net.n_edges
    if rise_m is None:
        rise = np.full(n, np.nan)
    else:
        rise = np.asarray(rise_m, dtype=float)
        if rise.shape != (n,):
            msg = f"rise_m must hold one value per edge ({n}), got shape {rise.shape}"
            raise ValueError(msg)
    from_dem = steps & np.isfinite(rise) & (rise != 0)
    incline = _text(net.edge_tag("incline"))
    tagged = np.select([incline == "up", incline == "down"], [1.0, -1.0], np.nan)
    numeric = _number(incline, units="%°")
    tagged = np.where(np.isnan(tagged), np.sign(numeric), tagged)
    # "yes" (sloped, no direction) and "no" (level) say nothing about direction; other text
    # that does not parse is a mistake, counted.
    unparsed = (incline != "") & ~np.isin(incline, ("yes", "no")) & np.isnan(tagged)
    from_tag = steps & ~from_dem & np.isfinite(tagged) & (tagged != 0)
    direction = np.where(from_dem, np.sign(rise), np.where(from_tag, tagged, 0.0))
    direction = np.where(steps, direction, 0.0)
    counts = {
        "steps_direction_dem": int(from_dem.sum()),
        "steps_direction_incline": int(from_tag.sum()),
        "steps_direction_unknown": int((steps & ~from_dem & ~from_tag).sum()),
        "bad_incline": int((steps & unparsed).sum()),
    }
    return direction, counts


def _elevator_nodes(
    net: WalkNetwork, is_elevator_way: np.ndarray, elevator_m: float
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Elevator metres added leaving each ``highway=elevator`` node not on an elevator way."""
    node = _text(net.node_tag("highway")) == "elevator"
    on_way = np.zeros(net.n_nodes, dtype=bool)
    on_way[net.u[is_elevator_way]] = True
    on_way[net.v[is_elevator_way]] = True
    charged = node & ~on_way
    leave_u = charged[net.u]
    leave_v = charged[net.v]
    added_uv = np.where(leave_u, elevator_m, 0.0)
    added_vu = np.where(leave_v, elevator_m, 0.0)
    counts = {
        "elevator_nodes": int(charged.sum()),
        "elevator_node_edges": int((leave_u | leave_v).sum()),
    }
    return added_uv, added_vu, counts


def _warn(counts: Mapping[str, int]) -> None:
    """One line for steps of unknown direction, one for tag values that did not parse."""
    unknown = counts["steps_direction_unknown"]
    if unknown:
        logger.warning(
            "%d flight(s) of steps have no direction (no DEM rise, no incline tag): each is "
            "costed both ways as the slower of climbing and descending",
            unknown,
        )
    bad = {
        "step_count": counts["bad_step_count"],
        "step_count (more steps than fit on the edge)": counts["implausible_step_count"],
        "incline": counts["bad_incline"],
        "conveying": counts["bad_conveying"],
    }
    found = [f"{name} on {k} edge(s)" for name, k in bad.items() if k]
    if found:
        logger.warning(
            "OpenStreetMap tag values not understood, costed without them: %s "
            "(steps by their length, conveyors as riding both ways)",
            "; ".join(found),
        )
