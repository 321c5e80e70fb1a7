"""医养结合 in siting: candidates beside a health centre are preferred, never at coverage's cost."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from carecircle import network, pipeline, policy
from carecircle.inputs import readers as inputs
from carecircle.siting import sites

UTM = "EPSG:32648"
OX, OY = 600_000.0, 3_300_000.0
PROFILE = """
name = "beside-health"
extends = "chongqing"
[circles.eldercare]
minutes_urban = 3
minutes_rural = 3
[medical_integration]
max_walk_minutes = 5
tiers = ["community_station"]
source = "test"
"""


def _street() -> network.WalkNetwork:
    """One straight street along x, nodes every 500 m from 0 to 3000 m."""
    x = np.arange(7) * 500.0 + OX
    return network.from_arrays(x, np.full(7, OY), np.arange(6), np.arange(1, 7), crs=UTM)


def _box(cx: float) -> shapely.Polygon:
    return shapely.box(OX + cx - 5, OY + 12, OX + cx + 5, OY + 22)


def _district(tmp_path, candidates_x, *, health_x, communities_x=(1000.0,), elderly=(100,)):
    """Communities (not covered: no care facility), a health centre and the candidates."""
    comm = gpd.GeoDataFrame(
        {
            "id": [f"C{i}" for i in range(len(communities_x))],
            "name": [f"社区{i}" for i in range(len(communities_x))],
            "population": [5 * e for e in elderly],
            "elderly": list(elderly),
            "township": "一街道",
        },
        geometry=[_box(x) for x in communities_x],
        crs=UTM,
    ).to_crs(4326)
    comm_path = tmp_path / "communities.gpkg"
    comm.to_file(comm_path, driver="GPKG")
    far = gpd.GeoSeries(shapely.points([OX + 3000.0, OX + health_x], [OY, OY]), crs=UTM)
    far = far.to_crs(4326)
    fac_path = tmp_path / "facilities.csv"
    pd.DataFrame(
        {
            "id": ["S0", "H"],
            "name": ["远站", "卫生院"],
            "tier": ["community_station", "health_center"],
            "lon": far.x,
            "lat": far.y,
            "area_m2": [300, np.nan],
        }
    ).to_csv(fac_path, index=False)
    points = gpd.GeoSeries(
        shapely.points(OX + np.asarray(candidates_x, dtype=float), np.full(len(candidates_x), OY)),
        crs=UTM,
    ).to_crs(4326)
    cand_path = tmp_path / "candidates.csv"
    pd.DataFrame(
        {
            "id": [f"K{i + 1}" for i in range(len(candidates_x))],
            "area_m2": 400,
            "cost": 100_000,
            "lon": points.x,
            "lat": points.y,
        }
    ).to_csv(cand_path, index=False)
    profile_path = tmp_path / "p.toml"
    profile_path.write_text(PROFILE, encoding="utf-8")
    profile = policy.load(profile_path)
    prep = pipeline.prepare(
        _street(),
        inputs.read_communities(comm_path),
        inputs.read_facilities(fac_path),
        policy=profile,
        speed_m_s=1.0,
    )
    # the points exactly where they were put (a round trip through degrees moves them by
    # nanometres, enough to tip a walk of 300 m over 5 minutes)
    exact = shapely.points([OX + 3000.0, OX + health_x], [OY, OY])
    prep = replace(prep, facilities=prep.facilities.set_geometry(exact, crs=UTM))
    cands = inputs.read_candidates(cand_path).to_crs(UTM)
    cands = cands.set_geometry(
        shapely.points(OX + np.asarray(candidates_x, dtype=float), np.full(len(cands), OY)),
        crs=UTM,
    )
    return prep, cands, profile


QUESTIONS = [{"count": 1}, {"cover_all": True}, {"budget": 150_000.0}]


@pytest.mark.parametrize("question", QUESTIONS)
def test_of_two_sites_covering_the_same_residents_the_one_beside_a_health_centre(
    tmp_path, question
):
    # K1 (x=920) and K2 (x=1080) each reach the one community at x=1000 (80 m + 17 m, within
    # 3 minutes) and nothing else; the health centre at x=1380 is 300 m (5 minutes) from K2 and
    # 460 m from K1. Without the preference the solver keeps the first of two equal candidates
    # (K1); with it, K2.
    prep, cands, profile = _district(tmp_path, [920.0, 1080.0], health_x=1380.0)
    off = sites.propose(prep, cands, policy=profile, prefer_health_centres=False, **question)
    on = sites.propose(prep, cands, policy=profile, **question)
    assert off.sites["id"].tolist() == ["K1"]
    assert on.sites["id"].tolist() == ["K2"]
    assert on.sites["newly_covered"].sum() == pytest.approx(off.sites["newly_covered"].sum())
    assert on.solution.objective == pytest.approx(off.solution.objective)
    row = on.sites.iloc[0]
    assert bool(row["beside_health_centre"]) is True
    assert row["health_centre_id"] == "H"
    assert row["health_centre_minutes"] == pytest.approx(5.0)
    assert bool(off.sites.iloc[0]["beside_health_centre"]) is False
    assert off.sites.iloc[0]["health_centre_minutes"] == pytest.approx(460 / 60, abs=0.01)
    found = on.solution.preference
    assert found is not None
    assert (found.count, found.bound, found.status) == (1, 1, "optimal")
    assert off.solution.preference is None
    assert any("1 of 1 chosen site(s)" in note and "(proved)" in note for note in on.notes)
    assert any("not preferred" in note for note in off.notes)
    # every candidate has its nearest health centre too
    assert on.candidates.set_index("id").loc["K1", "health_centre_id"] == "H"


def test_a_site_beside_a_health_centre_that_covers_less_is_not_chosen(tmp_path):
    # K1 (x=920) reaches both communities (x=1000: 80 m; x=850: 70 m, +17 m each); K2 (x=1080),
    # beside the health centre at x=1380, reaches only the one at x=1000. The first objective is
    # never worsened for the second: K1 is chosen, and none of the sites is beside.
    prep, cands, profile = _district(
        tmp_path,
        [920.0, 1080.0],
        health_x=1380.0,
        communities_x=(1000.0, 850.0),
        elderly=(100, 10),
    )
    result = sites.propose(prep, cands, policy=profile, count=1)
    assert result.sites["id"].tolist() == ["K1"]
    assert result.solution.objective == pytest.approx(110.0)
    assert result.solution.status == "optimal"
    found = result.solution.preference
    assert found is not None
    assert (found.count, found.bound, found.status) == (0, 0, "optimal")
    assert bool(result.sites.iloc[0]["beside_health_centre"]) is False
    # nor added when a second site is allowed: a site that adds no one is never proposed
    both = sites.propose(prep, cands, policy=profile, count=2)
    assert both.sites["id"].tolist() == ["K1"]


@pytest.mark.parametrize(("metres", "beside"), [(299.0, True), (300.0, True), (301.0, False)])
def test_beside_a_health_centre_at_the_5_minute_walk(tmp_path, metres, beside):
    # 5 minutes at 1 m/s is 300 m over the network, the 5 minutes themselves included
    prep, cands, profile = _district(tmp_path, [1080.0], health_x=1080.0 + metres)
    result = sites.propose(prep, cands, policy=profile, count=1)
    row = result.sites.iloc[0]
    assert row["health_centre_minutes"] == pytest.approx(metres / 60, abs=0.005)
    assert bool(row["beside_health_centre"]) is beside


def test_no_preference_where_the_tier_is_not_checked(tmp_path):
    # 垫江's default tiers are the street and township centres: a station is not checked
    prep, cands, profile = _district(tmp_path, [920.0, 1080.0], health_x=1380.0)
    result = sites.propose(prep, cands, policy=profile, count=1, tier="street_center")
    assert result.sites["id"].tolist() == ["K1"]
    assert result.solution.preference is None
    assert result.sites["beside_health_centre"].isna().all()
    assert result.sites["health_centre_minutes"].isna().all()
