from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecircle import circles
from carecircle.policy import Circle

CIRCLE = Circle(
    name="medical",
    tiers=("clinic",),
    minutes={"urban": 15.0, "rural": 25.0},
    label_zh="医养结合服务圈",
    label_en="medical",
    source="test",
)


def _communities(**overrides):
    frame = pd.DataFrame(
        {
            "population": [100.0, 200.0, 50.0],
            "elderly": [20.0, np.nan, 10.0],
            "kind": ["urban", "urban", "rural"],
            "input_status": ["ok", "ok", "ok"],
        }
    )
    return frame.assign(**overrides)


def _run(frame, community, weight, time_min, nearest, *, off=None, ids=("F1", "F2")):
    time_s = np.asarray(time_min, dtype=float) * 60.0
    return circles.summarize(
        frame,
        np.asarray(community),
        np.asarray(weight, dtype=float),
        time_s,
        np.asarray(nearest),
        np.asarray(ids, dtype=object),
        CIRCLE,
        point_off_network=np.zeros(len(time_s), bool) if off is None else np.asarray(off),
        covered_min_share=0.95,
        partial_min_share=0.0,
    )


def test_shares_minutes_and_status_by_hand():
    frame = _communities()
    # community 0: 4 equal points at 5, 10, 20, 30 min -> half within 15 min
    # community 1: 2 points at 14 and 16 min, weights 0.75 / 0.25
    # community 2 (rural, 25 min): 1 point at 20 min
    out = _run(
        frame,
        [0, 0, 0, 0, 1, 1, 2],
        [0.25, 0.25, 0.25, 0.25, 0.75, 0.25, 1.0],
        [5, 10, 20, 30, 14, 16, 20],
        [0, 0, 1, 1, 1, 0, 1],
    )
    assert out["share"].tolist() == pytest.approx([0.5, 0.75, 1.0])
    assert out["status"].tolist() == ["partial", "partial", "covered"]
    assert out["minutes"].tolist() == [15.0, 15.0, 25.0]
    assert out["basis"].tolist() == ["elderly", "population", "elderly"]
    assert out["residents"].tolist() == pytest.approx([20.0, 200.0, 10.0])
    assert out["within"].tolist() == pytest.approx([10.0, 150.0, 10.0])
    assert out["median_min"].tolist() == pytest.approx([10.0, 14.0, 20.0])
    assert out["p90_min"].tolist() == pytest.approx([30.0, 16.0, 20.0])
    assert out["nearest"].tolist() == ["F1", "F2", "F2"]


def test_uncovered_and_outside_network_and_bad_input_stay():
    frame = _communities(input_status=["ok", "ok", "invalid_geometry"])
    out = _run(
        frame,
        [0, 1, 2],
        [1.0, 1.0, 1.0],
        [40, np.inf, 3],
        [0, -1, 0],
        off=[False, True, False],
    )
    assert out["status"].tolist() == ["uncovered", "outside_network", "invalid_geometry"]
    assert out["share"].iloc[0] == 0.0
    assert np.isnan(out["share"].iloc[2])
    assert len(out) == 3


def test_no_facility_of_the_circle():
    frame = _communities()
    out = _run(frame, [0, 1, 2], [1.0] * 3, [np.inf] * 3, [-1] * 3, ids=())
    assert set(out["status"]) == {"no_facility"}
    assert out["nearest"].tolist() == ["", "", ""]


def test_community_without_points_is_not_dropped():
    frame = _communities(input_status=["ok", "empty_geometry", "ok"])
    out = _run(frame, [0, 2], [1.0, 1.0], [1, 1], [0, 0])
    assert out["status"].tolist() == ["covered", "empty_geometry", "covered"]


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.floats(0, 60), min_size=1, max_size=30),
    extra=st.floats(0, 30),
)
def test_coverage_never_falls_when_minutes_grow(times, extra):
    n = len(times)
    frame = pd.DataFrame(
        {"population": [100.0], "elderly": [30.0], "kind": ["urban"], "input_status": ["ok"]}
    )
    weight = np.full(n, 1.0 / n)
    base = _run(frame, np.zeros(n, int), weight, times, np.zeros(n, int))
    wider = Circle(
        name="medical",
        tiers=("clinic",),
        minutes={"urban": 15.0 + extra, "rural": 25.0 + extra},
        label_zh="",
        label_en="",
        source="",
    )
    more = circles.summarize(
        frame,
        np.zeros(n, int),
        weight,
        np.asarray(times) * 60.0,
        np.zeros(n, int),
        np.array(["F1"], dtype=object),
        wider,
        point_off_network=np.zeros(n, bool),
        covered_min_share=0.95,
        partial_min_share=0.0,
    )
    assert more["share"].iloc[0] >= base["share"].iloc[0] - 1e-12
    assert more["within"].iloc[0] <= more["residents"].iloc[0] + 1e-9
