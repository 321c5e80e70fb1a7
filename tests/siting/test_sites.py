"""Siting end to end on a hand-made street: which sites, in which order, and what they change."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from carecircle import cli, outputs, pipeline, policy
from carecircle.errors import InputError
from carecircle.inputs import readers as inputs
from carecircle.outputs import maps, qgis
from carecircle.siting import models as siting
from carecircle.siting import sites

UTM = "EPSG:32648"
OX, OY = 600_000.0, 3_300_000.0
PROFILE = """
name = "street-sites"
extends = "chongqing"
[circles.eldercare]
minutes_urban = 3
minutes_rural = 3
[provision.area_per_resident_m2]
value = 0.1
source = "test"
"""


def _box(cx: float, cy: float) -> shapely.Polygon:
    return shapely.box(OX + cx - 5, OY + cy - 5, OX + cx + 5, OY + cy + 5)


@pytest.fixture
def district(tmp_path, street):
    """A covered at x=100; B (x=300) and C (x=380, across the street) not; D far away."""
    comm = gpd.GeoDataFrame(
        {
            "id": ["A", "B", "C", "D"],
            "name": ["甲社区", "乙社区", "丙社区", "丁社区"],
            "population": [1000, 800, 600, 500],
            "elderly": [200, 160, 120, 100],
            "township": ["一街道", "一街道", "二街道", "二街道"],
        },
        geometry=[_box(100, 17), _box(300, 17), _box(380, -17), _box(100, 5_017)],
        crs=UTM,
    ).to_crs(4326)
    comm_path = tmp_path / "communities.gpkg"
    comm.to_file(comm_path, driver="GPKG")
    fac = gpd.GeoSeries(shapely.points([OX], [OY]), crs=UTM).to_crs(4326)
    fac_path = tmp_path / "facilities.csv"
    pd.DataFrame(
        {
            "id": ["S0"],
            "name": ["站"],
            "tier": ["community_station"],
            "lon": fac.x,
            "lat": fac.y,
            "area_m2": [300],
        }
    ).to_csv(fac_path, index=False)
    cands = gpd.GeoSeries(
        shapely.points(OX + np.array([320.0, 200.0, 50.0]), np.full(3, OY)), crs=UTM
    ).to_crs(4326)
    cand_path = tmp_path / "candidates.csv"
    pd.DataFrame(
        {
            "id": ["K1", "K2", "K3"],
            "name": ["一号", "二号", "三号"],
            "area_m2": [400, 900, 300],
            "cost": [500_000, 100_000, 50_000],
            "lon": cands.x,
            "lat": cands.y,
        }
    ).to_csv(cand_path, index=False)
    profile_path = tmp_path / "p.toml"
    profile_path.write_text(PROFILE, encoding="utf-8")
    profile = policy.load(profile_path)
    c = inputs.read_communities(comm_path)
    f = inputs.read_facilities(fac_path)
    prep = pipeline.prepare(street, c, f, policy=profile, speed_m_s=1.0)
    return (
        prep,
        inputs.read_candidates(cand_path),
        profile,
        (comm_path, fac_path, cand_path, profile_path),
    )


def test_count_one_picks_the_site_covering_both_gaps(district):
    prep, cands, profile, _ = district
    result = sites.propose(prep, cands, policy=profile, count=1)
    # K1 at x=320 reaches B (20 + 17 s) and C (60 + 17 s); K2 reaches only B
    assert result.sites["id"].tolist() == ["K1"]
    assert result.sites["newly_covered"].tolist() == [pytest.approx(280.0)]
    comm = result.communities.set_index("id")
    assert comm.loc["B", "status_before"] == "uncovered"
    assert comm.loc["B", "status_after"] == "covered"
    assert comm.loc["C", "status_after"] == "covered"
    assert comm.loc["A", "status_before"] == "covered"  # existing coverage kept
    assert result.solution.status == "optimal"


@pytest.mark.parametrize(("area", "simplified"), [(1000.0, True), (1000.1, False)])
def test_simplified_approval_comes_from_the_yuzhong_rule(district, tmp_path, area, simplified):
    # 渝中府办〔2020〕44号 §二(一)2 "1000平方米以下" (1000 included) is a 渝中 rule: the chosen
    # site's under_1000m2 is set only under a profile that holds it
    prep, cands, profile, _ = district
    sized = cands.assign(area_m2=[area, 2000.0, 2000.0])  # K1, the one chosen
    plain = sites.propose(prep, sized, policy=profile, count=1).sites
    assert plain["id"].tolist() == ["K1"]
    assert plain["under_1000m2"].isna().all()
    path = tmp_path / "yz.toml"
    path.write_text(
        PROFILE + '[provision.simplified_approval_max_area_m2]\nvalue = 1000\nsource = "渝中"\n',
        encoding="utf-8",
    )
    chosen = sites.propose(prep, sized, policy=policy.load(path), count=1).sites
    assert chosen["under_1000m2"].tolist() == [simplified]


def test_the_chosen_sites_walking_circles_follow_the_street(district):
    prep, cands, profile, _ = district
    result = sites.propose(prep, cands, policy=profile, count=1)
    circles = result.circles
    assert circles["facility_id"].tolist() == ["K1"]
    assert circles["circle"].tolist() == ["eldercare"]
    assert circles["minutes"].tolist() == [3.0]  # urban and rural limits are the same
    assert circles.crs == prep.net.crs
    shape = circles.geometry.iloc[0]
    # 180 m of walk from x = 320 (the street ends at 400): along the street, then straight
    # off it, so the band is 180 m wide at the site and narrows to nothing 180 m along
    assert shape.contains(shapely.Point(OX + 150, OY))
    assert shape.contains(shapely.Point(OX + 380, OY - 17))  # C, newly covered
    assert not shape.contains(shapely.Point(OX + 100, OY))  # A, 220 m away
    assert shape.contains(shapely.Point(OX + 320, OY + 160))  # 160 m off the street
    assert not shape.contains(shapely.Point(OX + 320, OY + 195))  # 195 m off it
    assert shape.contains(shapely.Point(OX + 220, OY - 60))  # 100 + 60 m
    assert not shape.contains(shapely.Point(OX + 220, OY - 95))  # 100 + 95 m


def test_order_of_marginal_gain(district):
    prep, cands, profile, _ = district
    result = sites.propose(prep, cands, policy=profile, count=3)
    # K1 first (280), then nothing left to gain: K2 and K3 add 0
    assert result.sites["id"].iloc[0] == "K1"
    assert result.sites["cumulative_covered"].iloc[-1] == pytest.approx(280.0)


def test_cover_all_and_the_uncoverable(district):
    prep, cands, profile, _ = district
    result = sites.propose(prep, cands, policy=profile, cover_all=True)
    assert result.sites["id"].tolist() == ["K1"]
    gone = result.uncoverable.set_index("community_id")
    assert gone.loc["D", "residents"] == pytest.approx(100.0)
    assert gone.loc["D", "reason"] == "off the walking network"


def test_budget_buys_what_it_can(district):
    prep, cands, profile, _ = district
    cheap = sites.propose(prep, cands, policy=profile, budget=200_000)
    assert cheap.sites["id"].tolist() == ["K2"]  # K1 costs 500,000
    assert cheap.sites["cost_yuan"].tolist() == [100_000]
    rich = sites.propose(prep, cands, policy=profile, budget=500_000)
    assert rich.sites["id"].tolist() == ["K1"]
    none = sites.propose(prep, cands, policy=profile, budget=99_999)
    assert len(none.sites) == 0


def test_a_budget_over_years_leaves_out_what_no_year_affords(district):
    prep, cands, profile, _ = district
    whole = sites.propose(prep, cands, policy=profile, budget=600_000)
    assert whole.sites["id"].tolist() == ["K1"]  # 500,000: both gaps at once
    yearly = sites.propose(prep, cands, policy=profile, budget=600_000, years=2)
    assert yearly.sites["id"].tolist() == ["K2"]  # K1 costs more than a year's 300,000
    assert yearly.solution.year.tolist() == [0] and whole.solution.year is None
    assert "1 candidate(s) cost more than a year's budget (300,000 yuan) and are left out " in (
        " ".join(yearly.notes)
    )
    # what no year affords is still listed with every candidate, and never chosen
    listed = yearly.candidates.set_index("id")
    assert pd.isna(listed.loc["K1", "order"]) and listed.loc["K2", "order"] == 1
    # no year affords any candidate: nothing is proposed, and the note says why
    poor = sites.propose(prep, cands, policy=profile, budget=40_000, years=2)
    assert poor.sites.empty and poor.solution.objective == 0
    assert "3 candidate(s) cost more than a year's budget (20,000 yuan)" in " ".join(poor.notes)
    with pytest.raises(InputError, match="years must be a whole number of years ≥ 1; got 0"):
        sites.propose(prep, cands, policy=profile, budget=600_000, years=0)
    with pytest.raises(InputError, match="it goes with --budget YUAN"):
        sites.propose(prep, cands, policy=profile, count=1, years=2)


@pytest.mark.parametrize(
    ("cost", "budget", "years", "buildable", "money", "said"),
    [
        ([200, 200, 200], 900, 1, [1, 1, 1], 900, ""),  # one year: all of it
        ([200, 200, 200], 900, 3, [1, 1, 1], 600, "a year's 300 yuan builds 1: 3 site(s)"),
        ([200, 200, 200], 1200, 3, [1, 1, 1], 1200, ""),  # 400 a year: 2 a year, the same
        ([200, 500, 200], 900, 3, [1, 0, 1], 600, "1 candidate(s) cost more"),
        ([100, 250, 100], 900, 3, [1, 1, 1], 900, ""),  # differing prices: the whole budget
        ([0, 0], 10, 2, [1, 1], 10, ""),  # free sites
    ],
)
def test_yearly_budgets_decide_what_the_years_can_spend(
    cost, budget, years, buildable, money, said
):
    notes: list[str] = []
    ids = np.array([f"K{i}" for i in range(len(cost))])
    got, spend = sites._within_years(ids, np.asarray(cost, dtype=float), budget, years, notes)
    assert got.tolist() == [bool(b) for b in buildable]
    assert spend == money
    assert (said in " ".join(notes)) and (bool(notes) == bool(said))


def test_candidates_without_a_cost_are_costed_as_new_stations(district, street, tmp_path):
    _, cands, _, (comm_path, fac_path, _, _) = district
    path = tmp_path / "wanzhou-street.toml"
    text = PROFILE.replace('extends = "chongqing"', 'extends = "wanzhou"')
    path.write_text(text.replace("street-sites", "street-wanzhou"), encoding="utf-8")
    profile = policy.load(path)
    communities, facilities = inputs.read_communities(comm_path), inputs.read_facilities(fac_path)
    prep = pipeline.prepare(street, communities, facilities, policy=profile, speed_m_s=1.0)
    uncosted = cands.assign(cost=np.nan)
    # 万州府办发〔2020〕28号 §二(五)13: a new community station receives 200,000 yuan once
    result = sites.propose(prep, uncosted, policy=profile, count=1)
    assert result.sites["cost_yuan"].tolist() == [200_000.0]
    assert any("costed by the profile's construction rules" in note for note in result.notes)
    one = sites.propose(prep, uncosted, policy=profile, budget=399_999)
    assert one.sites["id"].tolist() == ["K1"]
    assert sites.propose(prep, uncosted, policy=profile, budget=199_999).sites.empty


def test_generated_candidates_fill_the_gap(district):
    prep, _, profile, _ = district
    result = sites.propose(prep, None, policy=profile, count=1, spacing_m=20.0)
    assert len(result.sites) == 1
    assert bool(result.sites["generated"].iloc[0])
    comm = result.communities.set_index("id")
    assert comm.loc["B", "status_after"] == "covered"
    assert comm.loc["C", "status_after"] == "covered"


def _candidates_at(path: Path, xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    """Candidates K4, K5, … at street coordinates ``xy`` (metres from the street's start)."""
    points = gpd.GeoSeries(
        shapely.points([OX + x for x, _ in xy], [OY + y for _, y in xy]), crs=UTM
    ).to_crs(4326)
    pd.DataFrame(
        {"id": [f"K{4 + i}" for i in range(len(xy))], "lon": points.x, "lat": points.y}
    ).to_csv(path, index=False)
    return inputs.read_candidates(path)


def test_candidates_off_the_street_are_listed_not_chosen(district, tmp_path):
    prep, cands, profile, _ = district
    far = _candidates_at(tmp_path / "far.csv", [(200.0, 2_000.0)])  # 2 km from the street
    both = pd.concat([cands, far], ignore_index=True)
    result = sites.propose(prep, both, policy=profile, count=1)
    assert result.sites["id"].tolist() == ["K1"]
    every = result.candidates.set_index("id")
    assert every.loc["K4", "network_status"] == "off_network"
    assert every.loc["K4", "access_m"] == pytest.approx(2_000.0, abs=1.0)
    assert every.loc["K4", "reach"] == 0.0
    assert every.loc["K1", "order"] == 1
    assert pd.isna(every.loc["K2", "order"])
    assert every.loc["K2", "cost_yuan"] == 100_000.0
    [note] = [n for n in result.notes if "from the walking network" in n]
    assert "1 of 4 candidate(s)" in note
    assert "'K4', 2,000 m" in note
    outputs.write_siting(result, tmp_path / "out", lang="en")
    book = openpyxl.load_workbook(tmp_path / "out" / "siting.xlsx")
    header = next(book["candidates"].iter_rows(values_only=True))
    assert header[:5] == ("order", "id", "name", "network status", "distance to the network (m)")
    assert book["candidates"].cell(row=5, column=4).value == "off the walking network"  # K4
    table = pd.read_csv(tmp_path / "out" / "candidates.csv", encoding="utf-8-sig")
    assert table["id"].tolist() == ["K1", "K2", "K3", "K4"]
    assert table["network_status"].tolist() == ["ok", "ok", "ok", "off_network"]
    assert table["order"].tolist()[0] == 1
    assert table["order"].isna().tolist() == [False, True, True, True]
    assert table["lat"].iloc[3] > table["lat"].iloc[0]  # in degrees, 2 km north


def test_candidates_nowhere_near_the_street_are_refused(district, tmp_path):
    prep, _, profile, _ = district
    elsewhere = _candidates_at(tmp_path / "elsewhere.csv", [(50_000.0, 0.0)])
    with pytest.raises(
        InputError, match=r"^elsewhere.csv: the candidate sites \(lon .* lie outside"
    ):
        sites.propose(prep, elsewhere, policy=profile, count=1)
    beside = _candidates_at(tmp_path / "beside.csv", [(200.0, 2_000.0), (300.0, -1_500.0)])
    message = (
        r"^beside.csv: none of the 2 candidate sites lies within 300 m .*nearest, 'K5', is 1,500"
    )
    with pytest.raises(InputError, match=message):
        sites.propose(prep, beside, policy=profile, count=1)


def test_questions_are_checked(district):
    prep, cands, profile, _ = district
    with pytest.raises(InputError, match="ask one question"):
        sites.propose(prep, cands, policy=profile, count=1, cover_all=True)
    with pytest.raises(InputError, match="--capacity goes with --count"):
        sites.propose(prep, cands, policy=profile, cover_all=True, capacity=True)
    with pytest.raises(InputError, match="does not count for circle"):
        sites.propose(prep, cands, policy=profile, count=1, tier="clinic")


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ({"count": 0}, r"^--count must be 1 or more, found 0$"),
        ({"budget": math.inf}, r"^--budget must be a finite number of yuan, 0 or more, found inf$"),
        ({"budget": -1.0}, r"^--budget must be a finite number of yuan, 0 or more, found -1.0$"),
        ({"count": 1, "years": 2}, r"^years splits a budget into yearly budgets"),
        ({"count": 1, "circle": "dental"}, r"has no circle 'dental'"),
        ({"count": 1, "spacing_m": 0.0}, r"^--spacing-m is 0.0; expected a number of metres > 0$"),
        (
            {"count": 1, "spacing_m": math.nan},
            r"^--spacing-m is nan; expected a number of metres > 0$",
        ),
        (
            {"count": 1, "time_limit_s": -1},
            r"^--time-limit-s is -1; expected a number of seconds > 0$",
        ),
        (
            {"count": 1, "capacity": True, "candidates_given": False},
            r"candidates generated on the network have none; give --candidates with floor areas$",
        ),
    ],
)
def test_a_question_is_refused_before_any_data_is_read(district, question, message):
    _, _, profile, _ = district
    with pytest.raises(InputError, match=message):
        sites.check_question(profile, **question)


def test_a_question_names_its_mode(district):
    _, _, profile, _ = district
    assert sites.check_question(profile, count=2) == "count"
    assert sites.check_question(profile, cover_all=True) == "cover_all"
    assert sites.check_question(profile, budget=0.0, years=3) == "budget"
    bare = replace(profile, provision={})
    with pytest.raises(InputError, match=r"needs provision\.area_per_resident_m2 in the profile"):
        sites.check_question(bare, count=1, capacity=True)


def test_a_tier_may_be_named_in_chinese(district):
    prep, cands, profile, _ = district
    assert sites.check_question(profile, count=1, tier="社区养老服务站") == "count"
    result = sites.propose(prep, cands, policy=profile, count=1, tier="社区养老服务站")
    assert set(result.sites["tier"]) == {"community_station"}
    medical = r"^--tier 'community_station' \(the default\) does not count for circle 'medical'"
    with pytest.raises(InputError, match=medical + r"; expected one of 'health_center'"):
        sites.check_question(profile, count=1, circle="medical")
    named = r"^--tier '社区养老服务站' does not count for circle 'medical'; expected one of"
    with pytest.raises(InputError, match=named):
        sites.propose(prep, cands, policy=profile, count=1, circle="medical", tier="社区养老服务站")


def test_generated_candidates_at_no_spacing_are_refused(district):
    prep, _, profile, _ = district
    with pytest.raises(InputError, match=r"^--spacing-m is 0.0; expected a number of metres > 0$"):
        sites.propose(prep, None, policy=profile, count=1, spacing_m=0.0)


def test_a_budget_without_costs_says_what_to_add(district):
    prep, cands, profile, _ = district
    assert not profile.money  # the street's profile extends chongqing, which has no money rules
    generated = r"candidate\(s\) have no cost .* has no money rules; give --candidates with a"
    with pytest.raises(InputError, match=generated):
        sites.propose(prep, None, policy=profile, budget=100_000, spacing_m=20.0)
    uncosted = cands.assign(cost=[np.nan, 1.0, np.nan])
    given = r"^2 candidate\(s\) have no cost \(first: 'K1'\) .* a profile with construction rules$"
    with pytest.raises(InputError, match=given):
        sites.propose(prep, uncosted, policy=profile, budget=100_000)


def test_a_rule_that_pays_nothing_gives_no_price(district):
    prep, cands, profile, _ = district
    uncosted = cands.drop(columns="cost")
    operating_only = replace(profile, money=policy.load("dianjiang").money)
    none = r"^3 candidate\(s\) have no cost \(first: 'K1'\) and the profile .* has no construction "
    with pytest.raises(
        InputError, match=none + r"rules; .* use a profile with construction rules$"
    ):
        sites.propose(prep, uncosted, policy=operating_only, budget=10_000_000)
    flat = replace(profile, money=policy.load("wanzhou").money)
    # 万州 pays a street centre 2,000,000 yuan from 1500 m² up, nothing below: K1 to K3 are smaller
    small = r"gives no construction subsidy for a 'street_center' of their size"
    with pytest.raises(InputError, match=small):
        sites.propose(prep, uncosted, policy=flat, budget=10_000_000, tier="street_center")
    large = uncosted.assign(area_m2=[1500.0, 400.0, 2000.0])
    with pytest.raises(InputError, match=r"^1 candidate\(s\) have no cost \(first: 'K2'\)"):
        sites.propose(prep, large, policy=flat, budget=10_000_000, tier="street_center")
    priced = sites.propose(prep, uncosted, policy=flat, budget=10_000_000)
    assert set(priced.candidates["cost_yuan"]) == {200_000.0}  # a station, at any size
    per_m2 = replace(profile, money=policy.load("yuncheng").money)
    costed = sites.propose(prep, uncosted, policy=per_m2, budget=1e7, tier="street_center")
    assert costed.candidates["cost_yuan"].tolist() == [120_000.0, 270_000.0, 90_000.0]  # 300/m²
    [cap] = [n for n in costed.notes if n.startswith("neither --municipal nor --not-municipal")]
    assert "capped at 2,000 m²" in cap
    told = sites.propose(
        prep, uncosted, policy=per_m2, budget=1e7, tier="street_center", municipal=False
    )
    assert not [n for n in told.notes if n.startswith("neither --municipal")]


def test_a_short_answer_says_why(district):
    prep, cands, profile, _ = district
    few = sites.propose(prep, cands, policy=profile, count=3)
    assert len(few.sites) < 3  # B and C are reached from one site
    assert f"{len(few.sites)} site(s) proposed, not 3: no other candidate would add anyone" in (
        few.notes
    )
    poor = sites.propose(prep, cands, policy=profile, budget=10_000)
    assert len(poor.sites) == 0
    assert (
        "no site proposed: the cheapest candidate costs 50,000 yuan, more than the budget of "
        "10,000 yuan" in poor.notes
    )
    enough = sites.propose(prep, cands, policy=profile, count=1)
    assert not [n for n in enough.notes if "proposed" in n]


def test_no_generated_candidate_says_which_spacing(district):
    prep, _, profile, _ = district
    with pytest.raises(InputError, match=r"^no candidate points generated every 1e\+06 m"):
        sites.propose(prep, None, policy=profile, count=1, spacing_m=1e6)


def test_capacity_limits_what_a_small_site_serves(district):
    prep, cands, profile, _ = district
    small = cands.assign(area_m2=[10.0, 900.0, 300.0])
    result = sites.propose(prep, small, policy=profile, count=1, capacity=True)
    assert result.solution.assignment is not None
    # a 10 m² K1 serves at most 10 / 0.1 x (older share) residents: less than B and C's 280
    assert result.sites["newly_covered"].iloc[0] < 280.0


def test_capacity_says_how_served_and_within_the_circle_differ(district):
    prep, cands, profile, _ = district
    result = sites.propose(prep, cands, policy=profile, count=2, capacity=True)
    [note] = [n for n in result.notes if n.startswith("with --capacity")]
    served = result.sites["newly_covered"].sum()
    comm = result.communities
    within = (comm["within_after"] - comm["within_before"]).sum()
    assert f"({served:,.0f} in all)" in note
    assert f"rise by less ({within:,.0f})" in note
    plain = sites.propose(prep, cands, policy=profile, count=2)
    assert not [n for n in plain.notes if n.startswith("with --capacity")]


def test_capacity_says_which_candidates_have_no_floor_area(district):
    prep, cands, profile, _ = district
    with pytest.raises(InputError, match=r"2 candidate\(s\) have none, the first K2"):
        sites.propose(
            prep,
            cands.assign(area_m2=[400.0, np.nan, np.nan]),
            policy=profile,
            count=1,
            capacity=True,
        )
    with pytest.raises(InputError, match="generated on the network have none"):
        sites.propose(prep, None, policy=profile, count=1, capacity=True, spacing_m=20.0)


def test_site_command_writes_proposals_and_map_layer(district, tmp_path, street, monkeypatch):
    _, _, _, (comm_path, fac_path, cand_path, profile_path) = district
    from carecircle import network

    net_path = tmp_path / "street.npz"
    network.save(street, net_path)
    out = tmp_path / "out"
    code = cli.main(
        [
            "site",
            "--network",
            str(net_path),
            "--communities",
            str(comm_path),
            "--facilities",
            str(fac_path),
            "--candidates",
            str(cand_path),
            "--count",
            "1",
            "--policy",
            str(profile_path),
            "--speed-m-s",
            "1.0",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    proposed = pd.read_csv(out / "proposed_sites.csv", encoding="utf-8-sig")
    assert proposed["id"].tolist() == ["K1"]
    layer = gpd.read_file(out / "coverage.gpkg", layer="proposed_sites")
    assert layer["id"].tolist() == ["K1"]
    reach = gpd.read_file(out / "coverage.gpkg", layer="proposed_circles")
    assert reach["facility_id"].tolist() == ["K1"]
    assert reach.crs.to_epsg() == 4326
    with sqlite3.connect(out / "coverage.gpkg") as db:
        styled = dict(db.execute("SELECT f_table_name, styleQML FROM layer_styles"))
    layers = {name for name, _ in pyogrio.list_layers(out / "coverage.gpkg")}
    assert set(styled) == layers - {"layer_styles"}  # every layer opens styled in QGIS
    for name, qml in styled.items():  # and every field a style reads is in its layer
        used = set(re.findall(r'(?:attr|fieldName)="([^"]+)"', qml))
        assert used <= set(pyogrio.read_info(out / "coverage.gpkg", layer=name)["fields"]), name
    assert 'fieldName="order"' in styled["proposed_sites"]  # numbered, as on the map
    assert qgis._rgba(maps.PROPOSED_COLOUR) in styled["proposed_circles"]  # outlined so
    assert '<prop k="outline_style" v="dash" />' in styled["proposed_circles"]  # dashed
    every = gpd.read_file(out / "coverage.gpkg", layer="candidates")
    assert every["id"].tolist() == ["K1", "K2", "K3"]
    assert every["order"].tolist()[0] == 1 and every["order"].isna().tolist()[1:] == [True] * 2
    assert set(every.geom_type) == {"Point"}
    assert "network_status" in styled["candidates"]  # coloured by whether it can be chosen
    listed = pd.read_csv(out / "candidates.csv", encoding="utf-8-sig")
    assert listed["id"].tolist() == ["K1", "K2", "K3"]
    assert "cost" not in listed  # the cost used is cost_yuan
    assert listed["cost_yuan"].tolist() == [500_000, 100_000, 50_000]
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "carecircle-proposed" in page
    # the layer of the communities as the sites would leave them (layer names are JSON-escaped)
    assert json.dumps("养老服务圈: 建成建议选址后的社区覆盖")[1:-1] in page
    assert json.dumps("养老服务圈: 建议选址的步行圈")[1:-1] in page
    book = openpyxl.load_workbook(out / "siting.xlsx")
    rows = list(book["社区前后对比"].iter_rows(values_only=True))
    header, by_id = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert header[-2:] == ("建设前状态", "建设后状态")
    assert (by_id["B"]["建设前状态"], by_id["B"]["建设后状态"]) == ("未覆盖", "已覆盖")
    share = book["社区前后对比"].cell(row=2, column=header.index("建设后覆盖率") + 1)
    assert share.number_format == "0.0%"
    listed = list(book["全部候选点"].iter_rows(values_only=True))
    assert [row[3] for row in listed[1:]] == ["正常"] * 3  # 路网状态
    assert book["建议选址"].freeze_panes == "A2"


def test_the_map_colours_communities_as_the_proposed_sites_leave_them(district):
    from carecircle.outputs import maps

    prep, cands, profile, _ = district
    result = sites.propose(prep, cands, policy=profile, count=1)
    shown = prep.communities.to_crs(4326)
    features = maps._after_features(shown, result.communities, maps.TEXT["en"], "en")
    by_id = {
        str(i): feature["properties"]
        for i, feature in zip(shown["id"], features["features"], strict=True)
    }
    assert by_id["B"]["status"] == "covered"  # uncovered today, reached from K1
    assert "0% → 100%" in by_id["B"]["popup"]
    assert by_id["A"]["status"] == "covered"
    assert by_id["D"]["status"] == result.communities.set_index("id").loc["D", "status_after"]


def test_the_map_shows_the_candidates_passed_over_in_a_layer_off_at_first(district, tmp_path):
    prep, cands, profile, _ = district
    far = _candidates_at(tmp_path / "far.csv", [(200.0, 2_000.0)])
    both = pd.concat([cands, far], ignore_index=True)
    analysis = pipeline.analyze(
        prep.net, prep.communities, prep.facilities, policy=profile, prepared=prep
    )
    proposal = sites.propose(prep, both, policy=profile, count=1)
    fmap = maps.build(sites.attach(analysis, proposal), lang="en")
    [layer] = [
        child
        for child in fmap._children.values()
        if getattr(child, "layer_name", None) == "candidate sites not chosen"
    ]
    assert layer.show is False
    [points] = layer._children.values()
    data = points.data
    features = (json.loads(data) if isinstance(data, str) else data)["features"]
    popups = {f["properties"]["tooltip"]: f["properties"]["popup"] for f in features}
    assert set(popups) == {"K4", "二号", "三号"}  # K1 (一号) is chosen, numbered elsewhere
    assert "network status: off the walking network" in popups["K4"]
    assert "distance to the walking network (m): 2,000" in popups["K4"]
    assert "network status: ok" in popups["二号"]
    assert "cost (yuan): 100,000" in popups["二号"]
    page = fmap.get_root().render()
    assert "candidate site not chosen (red: off the walking network)" in page  # the legend
    legend = set(re.findall(r'data-entry="([^"]+)"', page))
    assert {"proposed", "proposed_circle", "candidates", "circle:eldercare"} <= legend
    tiers = {f"tier:{t}" for t in analysis.facilities["tier"]}
    assert {e for e in legend if e.startswith("tier:")} == tiers  # each tier's marker


def test_the_map_builds_when_every_candidate_is_chosen(district):
    prep, cands, profile, _ = district
    analysis = pipeline.analyze(
        prep.net, prep.communities, prep.facilities, policy=profile, prepared=prep
    )
    first = sites.propose(prep, cands, policy=profile, count=1)
    only = cands[cands["id"].isin(first.sites["id"])]
    proposal = sites.propose(prep, only, policy=profile, count=1)
    assert proposal.candidates["order"].notna().all()  # nothing passed over
    fmap = maps.build(sites.attach(analysis, proposal), lang="en")
    names = {getattr(child, "layer_name", None) for child in fmap._children.values()}
    assert "candidate sites not chosen" not in names
    page = fmap.get_root().render()
    assert "candidate site not chosen" not in page  # no legend entry for an empty layer
    assert "proposed site" in page
    legend = set(re.findall(r'data-entry="([^"]+)"', page))
    assert {"proposed", "proposed_circle"} <= legend
    assert "candidates" not in legend


def test_the_map_says_when_each_site_is_built_or_why_not():
    from carecircle.outputs import maps

    phased = gpd.GeoDataFrame(
        {
            "year": pd.array([2027, pd.NA, pd.NA], dtype="Int64"),
            "status": ["planned", "after_the_horizon", "over_a_year_budget"],
        },
        geometry=shapely.points([0, 1, 2], [0, 0, 0]),
    )
    assert maps._build_years(phased, maps.TEXT["en"]) == [
        "year to build: 2027",
        "not planned: the years run out first",
        "not planned: it costs more than a year&#x27;s budget",
    ]
    assert maps._build_years(phased.drop(columns="year"), maps.TEXT["en"]) == [""] * 3


def _proposal(costs, gains, *, residents=1000.0, within_before=500.0, year=None):
    """A proposal of len(costs) sites, in order, for phasing (``year``: the solver's years)."""
    n = len(costs)
    chosen = gpd.GeoDataFrame(
        {
            "order": np.arange(1, n + 1),
            "id": [f"S{i + 1}" for i in range(n)],
            "name": [f"{i + 1}号" for i in range(n)],
            "cost_yuan": np.asarray(costs, dtype=float),
            "newly_covered": np.asarray(gains, dtype=float),
        },
        geometry=shapely.points(np.arange(n), np.zeros(n)),
        crs=UTM,
    )
    communities = pd.DataFrame({"residents": [residents], "within_before": [within_before]})
    solution = siting.Solution(
        np.arange(n), np.asarray(gains, dtype=float), float(np.sum(gains)), float(np.sum(gains)),
        0.0, "optimal", "milp", np.zeros(0, dtype=np.int64), 0.0,
        year=None if year is None else np.asarray(year, dtype=np.int64),
    )  # fmt: skip
    return sites.Proposal(
        chosen, chosen, communities, pd.DataFrame(), pd.DataFrame(), solution, None, "count"
    )


def test_phasing_by_sites_per_year_keeps_the_order():
    plan = sites.phase(
        _proposal([1] * 5, [100, 80, 60, 40, 20]), first_year=2027, years=2, per_year=2
    )
    assert plan["year"].tolist() == [2027, 2027, 2028, 2028, pd.NA]
    assert plan["status"].tolist() == ["planned"] * 4 + ["after_the_horizon"]
    # 500 of 1,000 within today; 180 more after 2027, 100 more after 2028
    assert plan["share_after"].tolist()[:4] == [0.68, 0.68, 0.78, 0.78]
    assert np.isnan(plan["share_after"].iloc[4])


def test_phasing_by_budget_waits_for_room_and_skips_what_no_year_affords():
    costs = [200, 200, 500, 100, 100]
    plan = sites.phase(_proposal(costs, [50] * 5), first_year=2030, years=3, budget_per_year=300)
    assert plan["year"].tolist() == [2030, 2031, pd.NA, 2031, 2032]
    assert plan["status"].iloc[2] == "over_a_year_budget"
    assert plan["year_cost_yuan"].tolist()[:2] == [200, 300]
    short = sites.phase(_proposal(costs, [50] * 5), first_year=2030, years=2, budget_per_year=300)
    assert short["status"].iloc[4] == "after_the_horizon"


def test_phasing_builds_each_site_in_the_year_that_pays_for_it():
    # chosen for yearly budgets of 300: 150 + 150 in the first year, 100 + 200 in the second;
    # taken in order, 150 + 100 would fill the first year and 150 would wait for a third
    costs, gains = [150, 150, 100, 200], [60, 40, 30, 20]
    plan = sites.phase(
        _proposal(costs, gains, year=[0, 0, 1, 1]), first_year=2030, years=2, budget_per_year=300
    )
    assert plan["year"].tolist() == [2030, 2030, 2031, 2031]
    assert plan["status"].tolist() == ["planned"] * 4
    assert plan["year_cost_yuan"].tolist() == [300, 300, 300, 300]
    assert plan["share_after"].tolist() == [0.6, 0.6, 0.65, 0.65]
    # years that do not fit the phasing's own budget: the order is followed instead
    tight = sites.phase(
        _proposal(costs, gains, year=[0, 0, 1, 1]), first_year=2030, years=2, budget_per_year=250
    )
    assert tight["year"].tolist() == [2030, 2031, 2031, pd.NA]
    assert tight["status"].tolist()[3] == "after_the_horizon"


def test_phasing_asks_for_one_yearly_limit_and_costs():
    proposal = _proposal([np.nan, 1], [10, 5])
    with pytest.raises(InputError, match="give one of the two"):
        sites.phase(proposal, first_year=2030, years=2)
    with pytest.raises(InputError, match="give one of the two"):
        sites.phase(proposal, first_year=2030, years=2, per_year=1, budget_per_year=10)
    with pytest.raises(InputError, match=r"1 proposed site\(s\) have no cost \(first: S1\)"):
        sites.phase(proposal, first_year=2030, years=2, budget_per_year=10)
    with pytest.raises(InputError, match="at least 1"):
        sites.phase(proposal, first_year=2030, years=0, per_year=1)


@pytest.fixture
def planner(district, street, tmp_path):
    """``scripts/plan_sites.py`` loaded as a module, and its district arguments."""
    import importlib.util

    from carecircle import network

    _, _, _, (comm_path, fac_path, cand_path, profile_path) = district
    spec = importlib.util.spec_from_file_location(
        "plan_sites", Path(__file__).resolve().parents[2] / "scripts" / "plan_sites.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    net_path = tmp_path / "street.npz"
    network.save(street, net_path)
    args = ["--network", str(net_path), "--communities", str(comm_path)]
    args += ["--facilities", str(fac_path), "--candidates", str(cand_path)]
    return script, [*args, "--policy", str(profile_path)]


def test_the_planners_script_phases_the_district(planner, tmp_path, capsys):
    script, district_args = planner
    profile_path = district_args[-1]
    out = tmp_path / "plan"
    args = [*district_args, "--per-year", "1", "--years", "2"]
    code = script.main([*args, "--first-year", "2030", "--out", str(out)])
    assert code == 0
    plan = pd.read_csv(out / "plan_by_year.csv", encoding="utf-8-sig")
    assert plan["id"].iloc[0] == "K1"  # the site reaching both gaps first
    assert plan["year"].iloc[0] == 2030
    assert (out / "proposed_sites.csv").exists()
    # the map and the GeoPackage, as `site` writes them, with each site's year
    layer = gpd.read_file(out / "coverage.gpkg", layer="proposed_sites").set_index("id")
    assert layer.loc["K1", "year"] == 2030
    assert layer.loc["K1", "status"] == "planned"
    page = (out / "map.html").read_text(encoding="utf-8")
    # the popups' data is written as UTF-8 (the map's compact layers), markers' as escapes
    assert "建设年份: 2030" in page or json.dumps("建设年份: 2030")[1:-1] in page
    assert "建议选址 1 (2030)" in page or json.dumps("建议选址 1 (2030)")[1:-1] in page
    rows = list(openpyxl.load_workbook(out / "siting.xlsx")["建议选址"].iter_rows(values_only=True))
    header = list(rows[0])
    assert rows[1][header.index("建设年份")] == 2030
    assert rows[1][header.index("安排")] == "列入计划"  # the plan's status in words
    capsys.readouterr()
    assert script.main(["--policy", str(profile_path), "--per-year", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("plan_sites: error: give --network, --communities, --facilities")
    assert script.main([*args[:-4], "--budget-per-year", "-5"]) == 2  # instead of --per-year 1
    assert capsys.readouterr().err.strip() == (
        "plan_sites: error: --budget-per-year must be more than 0 yuan; got -5"
    )
    assert script.main([*args, "--time-limit-s", "0", "--out", str(out / "never")]) == 2
    assert capsys.readouterr().err.strip() == (
        "plan_sites: error: --time-limit-s is 0.0; expected a number of seconds > 0"
    )
    assert not (out / "never").exists()


def test_the_planners_script_refuses_years_cost_would_refuse(planner, tmp_path, capsys):
    script, district_args = planner
    out = tmp_path / "never"
    args = [*district_args, "--per-year", "1", "--out", str(out)]
    assert script.main([*args, "--first-year", "1800"]) == 2
    assert capsys.readouterr().err.strip() == (
        "plan_sites: error: --first-year must be a calendar year from 1900 to 2100; found 1800"
    )
    assert script.main([*args, "--first-year", "2099", "--years", "5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "plan_sites: error: --first-year + --years - 1 must be a calendar year from 1900 to 2100;"
        " found 2103"
    )
    assert not out.exists()  # refused before the district is read


def test_the_planners_script_never_overwrites_its_inputs(planner, capsys):
    script, district_args = planner
    fac, cands = (
        Path(district_args[district_args.index(o) + 1]) for o in ("--facilities", "--candidates")
    )
    assert (fac.name, cands.name) == ("facilities.csv", "candidates.csv")  # outputs' names too
    before = fac.read_bytes(), cands.read_bytes()
    args = [*district_args, "--per-year", "1", "--out", str(cands.parent)]
    assert script.main(args) == 2
    assert capsys.readouterr().err.strip() == (
        f"plan_sites: error: --facilities {str(fac)!r} is in the --out folder, where the "
        "results' facilities.csv would overwrite it; choose another --out folder"
    )
    assert (fac.read_bytes(), cands.read_bytes()) == before


def test_the_planners_script_says_when_nothing_is_planned(planner, tmp_path, capsys):
    script, district_args = planner
    args = [*district_args, "--first-year", "2030", "--out", str(tmp_path / "p")]
    # 40,000 a year: every candidate (500,000, 100,000, 50,000) costs more than a year's budget
    assert script.main([*args, "--budget-per-year", "40000", "--years", "2"]) == 0
    out = capsys.readouterr().out
    assert "Empty DataFrame" not in out
    assert "cost more than a year's budget (40,000 yuan) and are left out" in out  # the note
    assert "no site planned: no candidate was kept (see the notes above); try a larger " in out


def test_the_planners_proposed_sites_can_be_costed(planner, tmp_path, capsys):
    script, district_args = planner
    out = tmp_path / "plan"
    args = [*district_args, "--per-year", "1", "--years", "2", "--first-year", "2030"]
    assert script.main([*args, "--out", str(out)]) == 0
    proposed = pd.read_csv(out / "proposed_sites.csv", encoding="utf-8-sig")
    plan = pd.read_csv(out / "plan_by_year.csv", encoding="utf-8-sig")
    assert proposed.set_index("id")["year"].to_dict() == plan.set_index("id")["year"].to_dict()
    assert set(proposed["status"]) == {"planned"}
    # the next step: cost the proposal; 万州 pays a station 200,000 in the year it opens
    costed = tmp_path / "cost"
    facilities = ["--facilities", str(out / "proposed_sites.csv")]
    options = ["--policy", "wanzhou", "--years", "2", "--out", str(costed)]
    assert cli.main(["cost", *facilities, *options]) == 0
    capsys.readouterr()
    table = pd.read_csv(costed / "costing.csv", encoding="utf-8-sig").set_index("id")
    assert len(table) == len(plan) >= 1
    assert table["year"].to_dict() == plan.set_index("id")["year"].to_dict()
    assert (table["construction_yuan"] == 200_000).all()
    assert (table["horizon_total_yuan_min"] > 0).all()  # within the horizon: not existing


def test_the_planners_script_leaves_out_what_no_year_affords(planner, tmp_path, capsys):
    script, district_args = planner
    args = [*district_args, "--first-year", "2030", "--out", str(tmp_path / "p")]
    # 300,000 a year for 2 years: K1 (500,000) fits no year and is left out, K2 is built
    assert script.main([*args, "--budget-per-year", "300000", "--years", "2"]) == 0
    out = capsys.readouterr().out
    assert "cost more than a year's budget (300,000 yuan) and are left out" in out
    assert "wait for after" not in out
    plan = pd.read_csv(tmp_path / "p" / "plan_by_year.csv", encoding="utf-8-sig")
    assert plan["id"].tolist() == ["K2"] and plan["status"].tolist() == ["planned"]


def test_the_planners_script_can_drop_the_health_centre_preference(planner, tmp_path, monkeypatch):
    script, district_args = planner
    asked = []
    propose = script.sites.propose

    def recorded(*args, **kwargs):
        asked.append(kwargs.get("prefer_health_centres"))
        return propose(*args, **kwargs)

    monkeypatch.setattr(script.sites, "propose", recorded)
    args = [*district_args, "--per-year", "1", "--years", "1", "--first-year", "2030"]
    assert script.main([*args, "--out", str(tmp_path / "on")]) == 0
    off = [*args, "--no-health-centre-preference", "--out", str(tmp_path / "off")]
    assert script.main(off) == 0
    assert asked == [True, False]  # as `carecircle site --no-health-centre-preference`
    assert (tmp_path / "off" / "plan_by_year.csv").is_file()
