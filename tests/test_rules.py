"""Each domain rule at its one home, and its users following it.

Who counts as a resident (:func:`carecircle.demand.community_residents`), a circle's minutes by
community kind (:meth:`carecircle.policy.Circle.minutes_for`), a share's status
(:func:`carecircle.circles.share_status`), the township roll-up
(:func:`carecircle.circles.by_township`, :func:`carecircle.circles.pooled_share`), the CRS check
(:func:`carecircle.coords.check_crs`, :func:`carecircle.coords.check_same_crs`) and the output
files of each command (:data:`carecircle.outputs._files.FILES`). The numbers are small enough to
work out by hand.
"""

from __future__ import annotations

import warnings
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from carecircle import circles, cli, coords, demand, pipeline, policy, standards, terrain
from carecircle.errors import InputError
from carecircle.inputs import readers
from carecircle.outputs import _files
from carecircle.policy import Circle

DEMO = Path(str(resources.files("carecircle.data") / "demo"))
UTM = "EPSG:32648"  # UTM 48N, Chongqing
X0, Y0 = 600_000.0, 3_300_000.0

CARE = Circle(
    name="care",
    tiers=("clinic",),
    minutes={"urban": 15.0, "rural": 30.0},
    label_zh="服务圈",
    label_en="care",
    source="test",
)


def _summarize(communities: pd.DataFrame, time_min: list[float]) -> pd.DataFrame:
    """One demand point per community, at ``time_min`` from facility F1."""
    n = len(communities)
    return circles.summarize(
        communities,
        np.arange(n),
        np.ones(n),
        np.asarray(time_min, dtype=float) * 60.0,
        np.zeros(n, dtype=int),
        np.array(["F1"], dtype=object),
        CARE,
        point_off_network=np.zeros(n, dtype=bool),
        covered_min_share=0.95,
        partial_min_share=0.0,
    )


def _communities(**columns: list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "population": [100.0, 200.0, 50.0],
            "elderly": [20.0, np.nan, 0.0],
            "kind": ["urban", "urban", "rural"],
            "input_status": ["ok", "ok", "ok"],
        }
    )
    return frame.assign(**columns)


# --- who counts as a resident --------------------------------------------------------------


def test_residents_are_the_older_ones_where_known_else_everyone() -> None:
    frame = pd.DataFrame(
        {"population": [100.0, 200.0, 50.0, np.nan], "elderly": [20.0, np.nan, 0.0, np.nan]}
    )
    # 20 older residents; 200 (older ones unknown); 0 known older residents; nobody known
    assert demand.community_residents(frame).tolist() == [20.0, 200.0, 0.0, 0.0]
    assert demand.residents_basis(frame).tolist() == [
        demand.ELDERLY,
        demand.POPULATION,
        demand.ELDERLY,
        demand.POPULATION,
    ]


def test_the_shares_count_the_residents_the_rule_counts() -> None:
    frame = _communities()
    out = _summarize(frame, [0.0, 0.0, 0.0])
    assert out["residents"].tolist() == demand.community_residents(frame).tolist()
    assert out["basis"].tolist() == demand.residents_basis(frame).tolist()


# --- the urban/rural limit -----------------------------------------------------------------


def test_a_rural_community_gets_the_rural_minutes() -> None:
    assert CARE.minutes_for(["urban", "rural", "urban"]).tolist() == [15.0, 30.0, 15.0]
    assert float(CARE.minutes_for("rural")) == 30.0
    assert float(CARE.minutes_for("urban")) == 15.0


def test_limits_are_the_distinct_minutes_shortest_first() -> None:
    backwards = Circle("c", ("clinic",), {"urban": 30.0, "rural": 15.0}, "", "", "")
    same = Circle("c", ("clinic",), {"urban": 10.0, "rural": 10.0}, "", "", "")
    assert backwards.limits == (15.0, 30.0)
    assert same.limits == (10.0,)


def test_a_walk_of_20_minutes_counts_in_the_village_only() -> None:
    # urban (15 min), urban, rural (30 min): a point 20 minutes away is within for the last
    out = _summarize(_communities(elderly=[20.0, np.nan, 10.0]), [20.0, 20.0, 20.0])
    assert out["minutes"].tolist() == [15.0, 15.0, 30.0]
    assert out["within"].tolist() == [0.0, 0.0, 10.0]


def test_each_demand_point_gets_its_communitys_limit_and_residents() -> None:
    # community 1 cannot be analysed (its input_status): its point counts nobody
    comm = _communities(elderly=[20.0, np.nan, 10.0], input_status=["ok", "invalid_geometry", "ok"])
    points = demand.DemandPoints(
        community=np.array([0, 1, 2, 2]),
        x=np.zeros(4),
        y=np.zeros(4),
        weight=np.array([1.0, 1.0, 0.5, 0.5]),
        method=pd.Series(["grid"] * 3),
    )
    prep = pipeline.Prepared(
        net=None,  # type: ignore[arg-type]  # not used for limits and residents
        communities=comm,
        facilities=None,  # type: ignore[arg-type]
        facility_snap=None,  # type: ignore[arg-type]
        points=points,
        point_snap=None,  # type: ignore[arg-type]
        off_network=np.zeros(4, dtype=bool),
        speed_m_s=1.0,
    )
    assert prep.point_limits_s(CARE).tolist() == [15.0 * 60, 15.0 * 60, 30.0 * 60, 30.0 * 60]
    assert prep.point_residents().tolist() == [20.0, 0.0, 5.0, 5.0]


# --- the status rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "status"),
    [
        (1.0, "covered"),
        (0.95, "covered"),  # exactly at covered_min_share
        (0.9499, "partial"),
        (0.5001, "partial"),
        (0.5, "uncovered"),  # exactly at partial_min_share: not above it
        (0.0, "uncovered"),
        (np.nan, "uncovered"),
    ],
)
def test_status_at_and_around_the_thresholds(share: float, status: str) -> None:
    found = circles.share_status(np.array([share]), covered_min_share=0.95, partial_min_share=0.5)
    assert found.tolist() == [status]


def test_the_communities_statuses_follow_the_rule() -> None:
    # one community 95 % within (covered), one 10 % (partial above 0), one none (uncovered)
    frame = _communities(elderly=[20.0, 10.0, 10.0])
    n = 3
    community = np.repeat(np.arange(n), 20)
    inside = np.concatenate([np.arange(20) < 19, np.arange(20) < 2, np.zeros(20, dtype=bool)])
    out = circles.summarize(
        frame,
        community,
        np.full(60, 1 / 20),
        np.where(inside, 60.0, 3600.0),
        np.zeros(60, dtype=int),
        np.array(["F1"], dtype=object),
        CARE,
        point_off_network=np.zeros(60, dtype=bool),
        covered_min_share=0.95,
        partial_min_share=0.0,
    )
    rule = circles.share_status(
        out["share"].to_numpy(), covered_min_share=0.95, partial_min_share=0.0
    )
    assert out["status"].tolist() == rule.tolist() == ["covered", "partial", "uncovered"]


# --- the township roll-up ------------------------------------------------------------------


def test_a_blank_or_missing_township_is_one_group_after_the_named_ones() -> None:
    frame = pd.DataFrame({"township": ["B", "", "A", None, "B"], "n": [1, 2, 3, 4, 5]})
    sums = circles.by_township(frame)["n"].sum()
    assert sums.index.tolist() == ["A", "B", circles.NO_TOWNSHIP]
    assert sums.tolist() == [3, 1 + 5, 2 + 4]


def test_a_township_pools_its_communities_residents() -> None:
    # 50 of 100 and 270 of 300 within: 320 of 400 = 0.8 (not the mean of 0.5 and 0.9)
    within = pd.Series([50.0 + 270.0, 0.0])
    residents = pd.Series([100.0 + 300.0, 0.0])
    shares = circles.pooled_share(within, residents)
    assert shares.iloc[0] == pytest.approx(0.8)
    assert np.isnan(shares.iloc[1])  # no residents: no share


def test_the_township_table_rolls_up_two_communities_by_hand() -> None:
    communities = pd.DataFrame(
        {
            "township": ["T", "T", ""],
            "eldercare_residents": [100.0, 300.0, 40.0],
            "eldercare_within": [50.0, 270.0, 40.0],
            "eldercare_status": ["partial", "partial", "covered"],
        }
    )
    table = pipeline.township_table(communities, policy.load("yuzhong")).set_index("township")
    assert table.loc["T", "communities"] == 2
    assert table.loc["T", "eldercare_residents"] == 400.0
    assert table.loc["T", "eldercare_share"] == pytest.approx(0.8)
    assert table.loc["T", "eldercare_not_covered"] == 2
    assert table.loc[circles.NO_TOWNSHIP, "eldercare_not_covered"] == 0
    assert "medical_share" not in table  # a circle not measured is left out


def test_centres_and_stations_roll_up_under_the_same_townships() -> None:
    communities = pd.DataFrame({"township": ["", "A", None]})
    checks = pd.DataFrame({"station_status": ["has_station", "missing", "shared"]})
    facilities = pd.DataFrame(
        {"township": ["", "A", None], "tier": ["township_center", "clinic", "street_center"]}
    )
    table = standards.check_townships(
        communities, facilities, checks, policy.load("yuzhong")
    ).set_index("township")
    assert table.index.tolist() == ["A", circles.NO_TOWNSHIP]
    assert table.loc[circles.NO_TOWNSHIP, "communities"] == 2
    assert table.loc[circles.NO_TOWNSHIP, "communities_with_station"] == 2
    assert table.loc[circles.NO_TOWNSHIP, "centres"] == 2
    assert table.loc["A", "centres"] == 0


# --- the CRS check -------------------------------------------------------------------------


def _tail(message: str, what: str) -> str:
    assert message.startswith(what), message
    return message.removeprefix(what)


def _error(call: object) -> str:
    with pytest.raises(InputError) as caught:
        call()  # type: ignore[operator]
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_layer_a_raster_and_a_dem_without_crs_get_one_message(tmp_path: Path) -> None:
    one = _tail(_error(lambda: coords.check_crs(None, what="X")), "X")
    assert "no coordinate reference system (CRS)" in one

    layer = tmp_path / "communities.gpkg"
    square = shapely.box(0.0, 0.0, 1.0, 1.0)
    with pytest.warns(UserWarning, match="crs"):  # pyogrio warns of a layer without a CRS
        gpd.GeoDataFrame({"id": ["C1"]}, geometry=[square]).to_file(layer, driver="GPKG")
    found = _error(lambda: readers.read_communities(layer))
    assert _tail(found, f"{layer}: layer 'communities'") == one

    dem = terrain.write_synthetic_dem(
        tmp_path / "dem.tif",
        lambda x, y: np.zeros_like(x),
        bounds=(X0, Y0, X0 + 100.0, Y0 + 100.0),
        cell=10.0,
        crs=None,
    )
    assert _tail(_error(lambda: terrain.check_dem(dem)), f"{dem}: the DEM") == one
    assert (
        _tail(
            _error(lambda: terrain.read_dem(dem, net_crs=UTM, bounds=(X0, Y0, X0 + 1, Y0 + 1))),
            f"{dem}: the DEM",
        )
        == one
    )

    raster = tmp_path / "population.tif"
    with warnings.catch_warnings():  # GDAL warns of a raster written without a CRS
        warnings.simplefilter("ignore")
        with rasterio.open(
            raster,
            "w",
            driver="GTiff",
            width=2,
            height=2,
            count=1,
            dtype="float32",
            transform=from_origin(X0, Y0 + 100.0, 50.0, 50.0),
        ) as dst:
            dst.write(np.ones((1, 2, 2), dtype="float32"))
    communities = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 100.0, Y0 + 100.0)], crs=UTM)
    placed = _error(lambda: demand.place(communities, spacing_m=10.0, raster=raster))
    assert _tail(placed, f"{raster}: the raster") == one


def test_layers_in_two_crs_get_one_message_wherever_they_meet() -> None:
    comm = gpd.GeoDataFrame(
        {"id": ["C1"], "township": [""]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326
    )
    fac = gpd.GeoDataFrame({"id": ["F1"]}, geometry=[shapely.Point(0.5, 0.5)], crs=4326)
    fac = fac.to_crs(3857)
    expected = _error(
        lambda: coords.check_same_crs(comm.crs, fac.crs, what=("the communities", "the facilities"))
    )
    assert "'WGS 84'" in expected
    assert "'WGS 84 / Pseudo-Mercator'" in expected
    assert "reproject" in expected
    profile = policy.load("yuzhong")
    assert _error(lambda: pipeline.prepare(None, comm, fac, policy=profile)) == expected  # type: ignore[arg-type]
    assert _error(lambda: standards.check(comm, fac, profile)) == expected
    same = coords.check_same_crs(comm.crs, fac.to_crs(4326).crs, what=("a", "b"))
    assert same.to_epsg() == 4326


def test_metric_work_refuses_a_geographic_crs() -> None:
    assert coords.check_crs(UTM, what="the communities", projected=True).to_epsg() == 32648
    expected = _error(
        lambda: coords.check_crs(
            "EPSG:4326", what="the communities (to place demand points)", projected=True
        )
    )
    assert "not projected" in expected
    lonlat = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    assert _error(lambda: demand.place(lonlat, spacing_m=10.0)) == expected


# --- the output files ----------------------------------------------------------------------


def test_each_command_has_one_list_of_distinct_file_names() -> None:
    for command, files in _files.FILES.items():
        assert len(set(files.values())) == len(files), command
        assert _files.output_names(command) == frozenset(files.values())
    # what the run-folder checks take is that list
    sets = {
        "check": _files.CHECK_OUTPUTS,
        "analyze": _files.ANALYSIS_OUTPUTS,
        "demo": _files.ANALYSIS_OUTPUTS,
        "site": _files.SITE_OUTPUTS,
        "plan_sites": _files.PLAN_OUTPUTS,
        "cost": _files.COST_OUTPUTS,
        "cost-plan": _files.PLAN_COST_OUTPUTS,
        "plan-audit": _files.AUDIT_OUTPUTS,
        "batch": _files.BATCH_OUTPUTS,
    }
    assert set(sets) == set(_files.FILES)
    for command, names in sets.items():
        assert names == frozenset(_files.FILES[command].values()), command
    # a site writes what an analysis does, and the plan what a site does
    assert _files.ANALYSIS_OUTPUTS < _files.SITE_OUTPUTS < _files.PLAN_OUTPUTS


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        (
            "check",
            [
                "--communities",
                str(DEMO / "communities.gpkg"),
                "--facilities",
                str(DEMO / "facilities.csv"),
                "--compounds",  # compounds.csv is written only when compounds are given
                str(DEMO / "compounds.csv"),
            ],
        ),
        ("demo", ["--no-progress"]),
        ("site", ["--demo", "--count", "1", "--no-progress"]),
        ("cost", ["--facilities", str(DEMO / "facilities.csv")]),
        ("plan-audit", []),
    ],
)
def test_each_command_writes_the_files_its_list_names(
    tmp_path: Path, command: str, arguments: list[str]
) -> None:
    out = tmp_path / "out"
    assert cli.main([command, *arguments, "--out", str(out)]) == 0
    written = {path.name for path in out.iterdir()}
    expected = _files.output_names(command) | {_files.RECORD}
    if command == "site":  # site takes no --compounds, so writes no compounds.csv
        expected -= {_files.ANALYSIS_FILES["compounds"]}
    assert written == expected


def test_cost_plan_writes_the_files_its_list_names(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan_file = tmp_path / "plan.csv"
    plan_file.write_text(
        "township_code,township,centers_existing,centers_new_2030,communities_and_villages,"
        "stations_existing,stations_new_2030\n500231001,甲街道,1,0,2,1,1\n",
        encoding="utf-8",
    )
    assert (
        cli.main(["cost", "--plan", str(plan_file), "--policy", "dianjiang", "--out", str(out)])
        == 0
    )
    written = {path.name for path in out.iterdir()}
    assert written == _files.output_names("cost-plan") | {_files.RECORD}
