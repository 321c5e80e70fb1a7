"""Steps, elevators and escalators, costed by hand per direction (coverage/steps.py)."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from carecircle import network, policy, steps, travel

CRS = "EPSG:32648"
SPEED = 0.9
# Distinct numbers up and down, so that a direction swapped anywhere shows.
RULES = policy.Walking(
    steps_up_s_per_step=1.5,
    steps_down_s_per_step=1.0,
    steps_up_factor=4.0,
    steps_down_factor=2.0,
    elevator_wait_s=60.0,
    elevator_ride_s=40.0,
    conveying_speed_m_s=0.45,
)


def _chain(lengths: list[float], edge_tags: dict[str, list[str]], node_tags=None):
    """Nodes 0..n along x joined in order; edge i runs from node i to node i + 1."""
    x = np.concatenate([[0.0], np.cumsum(lengths)]) + 600_000.0
    y = np.full(x.size, 3_300_000.0)
    net = network.from_arrays(
        x, y, np.arange(len(lengths)), np.arange(1, len(lengths) + 1), crs=CRS
    )
    tags = {k: np.array(v, dtype=object) for k, v in edge_tags.items()}
    nodes = {k: np.array(v, dtype=object) for k, v in (node_tags or {}).items()}
    return dataclasses.replace(net, edge_tags=tags, node_tags=nodes)


def _one(tags: dict[str, str], length: float = 10.0, **kwargs):
    net = _chain([length], {k: [v] for k, v in tags.items()})
    return steps.special_costs(net, RULES, speed_m_s=SPEED, **kwargs)


def test_a_flight_with_its_step_count_costs_seconds_per_step_up_and_down():
    # 20 steps climbing from u to v: up 20 x 1.5 s = 30 s, down 20 x 1.0 s = 20 s, at 0.9 m/s
    costs = _one({"highway": "steps", "step_count": "20", "incline": "up"})
    assert costs.special.tolist() == [True]
    assert costs.uv_m[0] == pytest.approx(30 * SPEED)
    assert costs.vu_m[0] == pytest.approx(20 * SPEED)
    assert costs.counts["steps_by_count"] == 1
    assert costs.counts["steps_direction_incline"] == 1


def test_a_flight_without_step_count_costs_its_length_times_a_factor():
    # 10 m descending from u to v: down 10 x 2 = 20 m, up (v to u) 10 x 4 = 40 m
    costs = _one({"highway": "steps", "incline": "down"})
    assert costs.uv_m[0] == pytest.approx(20.0)
    assert costs.vu_m[0] == pytest.approx(40.0)
    assert costs.counts["steps_by_length"] == 1


@pytest.mark.parametrize(("incline", "climbs"), [("12%", True), ("-30%", False), ("-8°", False)])
def test_a_numeric_incline_gives_the_direction_by_its_sign(incline, climbs):
    costs = _one({"highway": "steps", "incline": incline})
    up, down = 40.0, 20.0
    assert (costs.uv_m[0], costs.vu_m[0]) == ((up, down) if climbs else (down, up))


def test_a_dem_rise_overrides_the_incline_tag():
    # tagged up, but the DEM says v lies 3 m below u: the flight descends from u to v
    costs = _one({"highway": "steps", "incline": "up"}, rise_m=np.array([-3.0]))
    assert (costs.uv_m[0], costs.vu_m[0]) == (20.0, 40.0)
    assert costs.counts["steps_direction_dem"] == 1
    assert costs.counts["steps_direction_incline"] == 0
    # no DEM value there (NaN) or a level reading: the tag decides
    for rise in (np.nan, 0.0):
        costs = _one({"highway": "steps", "incline": "up"}, rise_m=np.array([rise]))
        assert (costs.uv_m[0], costs.vu_m[0]) == (40.0, 20.0)


def test_a_dem_rise_alone_gives_the_direction():
    costs = _one({"highway": "steps", "step_count": "20"}, rise_m=np.array([2.5]))
    assert (costs.uv_m[0], costs.vu_m[0]) == pytest.approx((30 * SPEED, 20 * SPEED))


def test_steps_of_unknown_direction_cost_the_slower_way_both_ways(caplog):
    net = _chain([10.0, 10.0, 10.0], {"highway": ["steps", "steps", "footway"]})
    with caplog.at_level(logging.WARNING, logger="carecircle.steps"):
        costs = steps.special_costs(net, RULES, speed_m_s=SPEED)
    assert costs.uv_m[:2].tolist() == [40.0, 40.0]
    assert costs.vu_m[:2].tolist() == [40.0, 40.0]
    assert costs.counts["steps_direction_unknown"] == 2
    [line] = caplog.messages
    assert line.startswith("2 flight(s) of steps have no direction")
    # descending slower than climbing (per step, as older adults do): descending both ways
    slow_down = dataclasses.replace(RULES, steps_down_s_per_step=2.0)
    net = _chain([10.0], {"highway": ["steps"], "step_count": ["20"]})
    costs = steps.special_costs(net, slow_down, speed_m_s=SPEED)
    assert (costs.uv_m[0], costs.vu_m[0]) == pytest.approx((40 * SPEED, 40 * SPEED))


def test_the_default_rules_on_a_flight_of_20_steps():
    # Oh-Park et al. 2011: 2.78 s and 2.83 s for 3 steps, rounded to 0.93 and 0.94 s per step
    net = _chain([6.0], {"highway": ["steps"], "step_count": ["20"], "incline": ["up"]})
    costs = steps.special_costs(net, policy.load("yuzhong").walking, speed_m_s=SPEED)
    assert costs.uv_m[0] == pytest.approx(20 * 0.93 * SPEED)
    assert costs.vu_m[0] == pytest.approx(20 * 0.94 * SPEED)
    # without the count: OpenTripPlanner's factor 3 on the length, both ways
    net = _chain([6.0], {"highway": ["steps"], "incline": ["up"]})
    costs = steps.special_costs(net, policy.Walking(), speed_m_s=SPEED)
    assert (costs.uv_m[0], costs.vu_m[0]) == (18.0, 18.0)


def test_steps_with_a_ramp_are_walked_as_the_ramp_unless_the_profile_says_not():
    net = _chain([10.0], {"highway": ["steps"], "ramp": ["yes"], "incline": ["up"]})
    costs = steps.special_costs(net, RULES, speed_m_s=SPEED)
    assert costs.special.tolist() == [False]
    assert costs.counts["steps_ramp"] == 1
    assert costs.combine(np.array([12.0]), np.array([9.0])) == (12.0, 9.0)  # the slope's cost
    no_ramps = dataclasses.replace(RULES, use_ramps=False)
    costs = steps.special_costs(net, no_ramps, speed_m_s=SPEED)
    assert costs.special.tolist() == [True]
    assert (costs.uv_m[0], costs.vu_m[0]) == (40.0, 20.0)


def test_handrail_no_is_counted_but_costs_nothing_more():
    with_rail = _one({"highway": "steps", "incline": "up"})
    without = _one({"highway": "steps", "incline": "up", "handrail": "no"})
    assert without.counts["steps_handrail_no"] == 1
    assert (without.uv_m[0], without.vu_m[0]) == (with_rail.uv_m[0], with_rail.vu_m[0])


def test_an_elevator_way_costs_its_wait_and_ride_each_way_whatever_its_length():
    for length in (1.0, 30.0):
        costs = _one({"highway": "elevator"}, length=length)
        assert costs.special.tolist() == [True]
        assert (costs.uv_m[0], costs.vu_m[0]) == pytest.approx((100 * SPEED, 100 * SPEED))
        assert costs.counts["elevator_ways"] == 1


def test_an_elevator_node_is_paid_once_by_a_walk_through_it():
    # a -(50 m)- E -(50 m)- b, E tagged highway=elevator: 100 s (90 m) once either way
    net = _chain(
        [50.0, 50.0], {"highway": ["footway", "footway"]}, {"highway": ["", "elevator", ""]}
    )
    costs = steps.special_costs(net, RULES, speed_m_s=SPEED)
    assert not costs.special.any()
    assert costs.added_uv_m.tolist() == [0.0, 90.0]  # leaving E towards b
    assert costs.added_vu_m.tolist() == [90.0, 0.0]  # leaving E towards a
    uv, vu = costs.combine(net.length_m, net.length_m)
    assert uv.sum() == vu.sum() == 190.0
    assert costs.counts["elevator_nodes"] == 1
    assert costs.counts["elevator_node_edges"] == 2


def test_the_node_at_the_end_of_an_elevator_way_is_not_charged_again():
    net = _chain(
        [50.0, 2.0, 50.0],
        {"highway": ["footway", "elevator", "footway"]},
        {"highway": ["", "elevator", "elevator", ""]},
    )
    costs = steps.special_costs(net, RULES, speed_m_s=SPEED)
    uv, vu = costs.combine(net.length_m, net.length_m)
    assert uv.tolist() == vu.tolist() == [50.0, 90.0, 50.0]
    assert costs.counts["elevator_nodes"] == 0


@pytest.mark.parametrize(
    ("value", "uv", "vu"),
    [("forward", 20.0, np.inf), ("backward", np.inf, 20.0), ("reversible", 20.0, 20.0)],
)
def test_an_escalator_rides_its_way_and_refuses_the_other(value, uv, vu):
    # 10 m at 0.45 m/s = 22.2 s = 20 flat metres at 0.9 m/s; an escalator is steps too
    costs = _one({"highway": "steps", "conveying": value})
    assert costs.special.tolist() == [True]
    assert (costs.uv_m[0], costs.vu_m[0]) == pytest.approx((uv, vu))
    assert costs.counts["steps"] == 0
    assert costs.counts["conveying"] == 1
    assert costs.counts["conveying_one_way"] == int(value != "reversible")


def test_a_moving_walkway_yes_rides_both_ways_and_conveying_no_is_a_footway():
    costs = _one({"highway": "footway", "conveying": "yes"})
    assert (costs.uv_m[0], costs.vu_m[0]) == pytest.approx((20.0, 20.0))
    costs = _one({"highway": "footway", "conveying": "no"})
    assert costs.special.tolist() == [False]


def test_bad_tag_values_are_counted_in_one_line_and_costed_without_them(caplog):
    net = _chain(
        [10.0] * 6,
        {
            "highway": ["steps", "steps", "steps", "steps", "footway", "steps"],
            "step_count": ["many", "0", "-5", "100", "", "12"],
            "incline": ["", "", "", "", "", "steep"],
            "conveying": ["", "", "", "", "moving", ""],
        },
    )
    with caplog.at_level(logging.WARNING, logger="carecircle.steps"):
        costs = steps.special_costs(net, RULES, speed_m_s=SPEED)
    assert costs.counts["bad_step_count"] == 3
    assert costs.counts["implausible_step_count"] == 1  # 100 steps on 10 m
    assert costs.counts["bad_incline"] == 1
    assert costs.counts["bad_conveying"] == 1
    # steps without a usable count by length, unknown direction: 10 x 4 both ways
    assert costs.uv_m[:4].tolist() == [40.0] * 4
    assert costs.uv_m[5] == pytest.approx(12 * 1.5 * SPEED)  # 12 steps, direction unknown
    assert (costs.uv_m[4], costs.vu_m[4]) == pytest.approx((20.0, 20.0))  # rides both ways
    [line] = [m for m in caplog.messages if "not understood" in m]
    assert "step_count on 3 edge(s)" in line
    assert "step_count (more steps than fit on the edge) on 1 edge(s)" in line
    assert "incline on 1 edge(s)" in line
    assert "conveying on 1 edge(s)" in line


def test_a_network_without_tags_has_nothing_special(street, caplog):
    with caplog.at_level(logging.WARNING, logger="carecircle.steps"):
        costs = steps.special_costs(street, RULES, speed_m_s=SPEED)
    assert not costs.special.any()
    assert not costs.added_uv_m.any() and not costs.added_vu_m.any()
    assert costs.combine(street.length_m, street.length_m)[0].tolist() == [100.0] * 4
    assert not caplog.messages


def test_a_rise_of_the_wrong_length_is_refused():
    net = _chain([10.0], {"highway": ["steps"]})
    with pytest.raises(ValueError, match=r"one value per edge \(1\)"):
        steps.special_costs(net, RULES, speed_m_s=SPEED, rise_m=np.zeros(2))


# --- end to end: the walk from home to the facility --------------------------------------------


def _times(net, costs, home: int, facility: int) -> float:
    uv, vu = costs.combine(net.length_m, net.length_m)
    costed = dataclasses.replace(net, walk_uv_m=uv, walk_vu_m=vu)
    to = travel.snap(costed, costed.x[[facility]], costed.y[[facility]])
    frm = travel.snap(costed, costed.x[[home]], costed.y[[home]])
    time_s, _ = travel.nearest_times(costed, to, frm, speed_m_s=SPEED)
    return float(time_s[0])


def test_a_home_below_the_steps_climbs_them_and_a_home_above_descends():
    # 0 -(90 m street)- 1 -(20 steps climbing 1 -> 2, 6 m)- 2 -(90 m street)- 3
    net = _chain(
        [90.0, 6.0, 90.0],
        {"highway": ["residential", "steps", "residential"], "step_count": ["", "20", ""]},
    )
    costs = steps.special_costs(net, RULES, speed_m_s=SPEED, rise_m=np.array([0.0, 3.0, 0.0]))
    # home at 0, facility at 3: 100 s + 20 x 1.5 s + 100 s
    assert _times(net, costs, home=0, facility=3) == pytest.approx(230.0)
    # home at 3, facility at 0: 100 s + 20 x 1.0 s + 100 s
    assert _times(net, costs, home=3, facility=0) == pytest.approx(220.0)


def test_a_one_way_escalator_is_ridden_one_way_and_refused_the_other():
    # the escalator moves 1 -> 2 (10 m at 0.45 m/s = 22.2 s); a long street joins 0 and 3 too
    x = np.array([0.0, 90.0, 100.0, 190.0]) + 600_000.0
    y = np.full(4, 3_300_000.0)
    net = network.from_arrays(
        x,
        y,
        np.array([0, 1, 2, 0]),
        np.array([1, 2, 3, 3]),
        crs=CRS,
        length_m=np.array([90.0, 10.0, 90.0, 900.0]),
    )
    tags = {
        "highway": np.array(["footway", "steps", "footway", "footway"], dtype=object),
        "conveying": np.array(["", "forward", "", ""], dtype=object),
    }
    net = dataclasses.replace(net, edge_tags=tags)
    costs = steps.special_costs(net, RULES, speed_m_s=SPEED)
    assert _times(net, costs, home=0, facility=3) == pytest.approx(200.0 + 10 / 0.45)
    # against the escalator: round by the 900 m street, 1000 s
    assert _times(net, costs, home=3, facility=0) == pytest.approx(1000.0)


def test_an_elevator_node_between_home_and_facility_is_paid_once_either_way():
    net = _chain(
        [45.0, 45.0], {"highway": ["footway", "footway"]}, {"highway": ["", "elevator", ""]}
    )
    costs = steps.special_costs(net, RULES, speed_m_s=SPEED)
    assert _times(net, costs, home=0, facility=2) == pytest.approx(200.0)
    assert _times(net, costs, home=2, facility=0) == pytest.approx(200.0)
