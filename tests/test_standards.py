"""Each standards rule at and around its threshold, on hand-made layers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from carecircle import network, policy, standards
from carecircle.errors import InputError
from carecircle.outputs import export

UTM = "EPSG:32648"
OX, OY = 600_000.0, 3_300_000.0

PROFILE = """
name = "rules-test"
extends = "chongqing"
[standards.street_center]
min_area_m2 = 1500
min_beds = 20
source = "test §1"
[standards.community_station]
min_area_m2 = 300
min_area_m2_few_elderly = 200
few_elderly_max = 500
source = "test §2"
[standards.township_center]
min_area_m2 = 800
recommended_nursing_beds = 20
source = "test §3"
[provision.one_centre_per_township]
value = true
source = "test §4"
[provision.one_station_per_community]
value = true
source = "test §4"
[provision.area_per_resident_m2]
value = 0.1
source = "test §5"
[provision.stations_per_centre]
value = 10
source = "test §6"
[targets.nursing_bed_share]
value = 0.5
year = 2022
source = "test §7"
[targets.social_facility_share_urban]
value = 0.9
year = 2022
source = "test §8"
[targets.medical_capable_share]
value = 1.0
year = 2022
source = "test §9"
"""


@pytest.fixture
def profile(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(PROFILE, encoding="utf-8")
    return policy.load(path)


def _communities(
    n=2, elderly=(800.0, 300.0), population=(3000.0, 1000.0), township=("甲街道", "甲街道")
):
    boxes = [shapely.box(OX + i * 1000, OY, OX + i * 1000 + 900, OY + 900) for i in range(n)]
    return gpd.GeoDataFrame(
        {
            "id": [f"C{i}" for i in range(n)],
            "name": [f"社区{i}" for i in range(n)],
            "population": list(population)[:n],
            "elderly": list(elderly)[:n],
            "kind": ["urban"] * n,
            "township": list(township)[:n],
            "input_status": ["ok"] * n,
        },
        geometry=boxes,
        crs=UTM,
    )


def _facilities(rows):
    """rows: (id, tier, x, y, area_m2, beds, nursing_beds, extra dict)."""
    frame = pd.DataFrame(
        [
            {
                "id": r[0],
                "name": r[0],
                "tier": r[1],
                "area_m2": r[4],
                "beds": r[5],
                "nursing_beds": r[6],
                **(r[7] if len(r) > 7 else {}),
            }
            for r in rows
        ]
    )
    geometry = [shapely.Point(OX + r[2], OY + r[3]) for r in rows]
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=UTM)


@pytest.mark.parametrize(
    ("area", "status", "shortfall"),
    [(299.0, "below", 1.0), (300.0, "meets", 0.0), (301.0, "meets", 0.0)],
)
def test_station_area_at_the_300_threshold(profile, area, status, shortfall):
    comm = _communities()
    fac = _facilities([("S", "community_station", 100, 100, area, np.nan, np.nan)])
    out = standards.check(comm, fac, profile).facilities.iloc[0]
    assert out["standard_status"] == status
    assert out["area_required_m2"] == 300
    assert out["area_shortfall_m2"] == pytest.approx(shortfall)
    assert out["community_id"] == "C0"
    if status == "below":
        assert "299 m² is below the 300 m²" in out["standard_note"]
        assert "test §2" in out["standard_note"]


@pytest.mark.parametrize(("area", "status"), [(199.0, "below"), (200.0, "meets"), (240.0, "meets")])
def test_few_elderly_exception_lowers_the_minimum(profile, area, status):
    comm = _communities()  # C1 has 300 older residents, at most 500: "few"
    fac = _facilities([("S", "community_station", 1100, 100, area, np.nan, np.nan)])
    out = standards.check(comm, fac, profile).facilities.iloc[0]
    assert out["community_id"] == "C1"
    assert out["area_required_m2"] == 200
    assert out["standard_status"] == status


def test_few_elderly_threshold_is_inclusive_and_configurable(profile, tmp_path):
    comm = _communities(elderly=(800.0, 500.0))
    fac = _facilities([("S", "community_station", 1100, 100, 240.0, np.nan, np.nan)])
    assert standards.check(comm, fac, profile).facilities.iloc[0]["standard_status"] == "meets"
    stricter = tmp_path / "stricter.toml"
    stricter.write_text(
        f'extends = "{tmp_path / "rules.toml"}"\n'
        "[standards.community_station]\nfew_elderly_max = 499\n",
        encoding="utf-8",
    )
    out = standards.check(comm, fac, policy.load(stricter)).facilities.iloc[0]
    assert out["standard_status"] == "below"
    assert out["area_required_m2"] == 300


@pytest.mark.parametrize(
    ("area", "beds", "status"),
    [
        (1499.0, 20.0, "below"),
        (1500.0, 20.0, "meets"),
        (1500.0, 19.0, "below"),
        (1500.0, np.nan, "unknown"),
    ],
)
def test_street_centre_area_and_beds(profile, area, beds, status):
    comm = _communities()
    fac = _facilities([("Z", "street_center", 100, 100, area, beds, np.nan)])
    out = standards.check(comm, fac, profile).facilities.iloc[0]
    assert out["standard_status"] == status
    if beds == 19.0:
        assert out["beds_shortfall"] == 1.0


def test_recommended_nursing_beds_are_advice_not_failure(profile):
    comm = _communities()
    fac = _facilities([("T", "township_center", 100, 100, 900.0, 30.0, 12.0)])
    out = standards.check(comm, fac, profile).facilities.iloc[0]
    assert out["standard_status"] == "meets"
    assert "12 nursing beds; 20 where possible" in out["standard_advice"]


def test_missing_area_is_unknown_not_zero(profile):
    comm = _communities()
    fac = _facilities([("S", "community_station", 100, 100, np.nan, np.nan, np.nan)])
    out = standards.check(comm, fac, profile).facilities.iloc[0]
    assert out["standard_status"] == "unknown"
    assert "floor area not given" in out["standard_note"]


def test_sentences_are_also_in_chinese(profile):
    comm = _communities()  # C0 has 800 older residents, C1 300 (few)
    fac = _facilities(
        [
            ("S", "community_station", 100, 100, 299.0, np.nan, np.nan),
            ("F", "community_station", 1100, 100, 199.0, np.nan, np.nan),
            ("T", "township_center", 100, 100, np.nan, 30.0, 12.0),
            ("H", "health_center", 100, 100, 500.0, np.nan, np.nan),
        ]
    )
    out = standards.check(comm, fac, profile).facilities.set_axis(fac["id"])
    assert out.loc["S", "standard_note_zh"] == "建筑面积299 m²，低于300 m²的要求（test §2）"
    assert out.loc["S", "standard_note"] == "299 m² is below the 300 m² (test §2)"
    assert out.loc["F", "standard_note_zh"] == (
        "建筑面积199 m²，低于200 m²的要求（60岁以上老人不超过500人的社区可为200 m²）（test §2）"
    )
    assert out.loc["T", "standard_note_zh"].startswith(
        "未填建筑面积（test §3）；建筑面积（未知）全部计入"
    )
    assert out.loc["T", "standard_advice_zh"] == "护理型床位12张；有条件的应设置20张"
    assert out.loc["H", "standard_note_zh"] == "本政策未规定该等级设施的标准"
    assert out.loc["H", "standard_note"] == "no standard for this tier"
    # the Chinese texts are for the workbook and the map; facilities.csv keeps English
    assert not set(standards.STANDARD_TEXT_ZH_COLUMNS) & set(export.FACILITY_COLUMNS)


@pytest.mark.parametrize(
    ("rule", "basis", "zh"),
    [
        ("nursing_bed_share", "24 of 58", "床位58张，其中护理型床位24张"),
        ("medical_capable_share", "3 of 4", "养老服务设施4个，其中具备医养服务能力3个"),
        ("social_bed_share", "no data", "无数据"),
        ("nursing_bed_share", "not computed", "未计算"),
    ],
)
def test_district_basis_in_chinese(rule, basis, zh):
    assert standards.district_basis(rule, basis, lang="zh") == zh
    assert standards.district_basis(rule, basis, lang="en") == basis


def test_community_station_shared_and_area_per_resident(profile):
    comm = _communities(
        n=3,
        elderly=(800, 300, 100),
        population=(3000, 1000, 500),
        township=("甲街道", "甲街道", "乙镇"),
    )
    comm["shared_station"] = ["", "", "S0"]
    fac = _facilities(
        [
            ("S0", "community_station", 100, 100, 300.0, np.nan, np.nan),  # 300 / 3000 = 0.1
            ("S1", "community_station", 1100, 100, 99.0, np.nan, np.nan),  # 99 / 1000 < 0.1
        ]
    )
    out = standards.check(comm, fac, profile).communities
    assert out["station_status"].tolist() == ["has_station", "has_station", "shared"]
    assert out["area_per_resident_m2"].tolist()[:2] == pytest.approx([0.1, 0.099])
    assert out["area_per_resident_status"].tolist() == ["meets", "below", "below"]


def test_floor_area_per_resident_when_some_areas_are_unknown(profile):
    comm = _communities(n=4, elderly=(100,) * 4, population=(1000,) * 4, township=("甲",) * 4)
    fac = _facilities(
        [
            ("U", "community_station", 1100, 100, np.nan, np.nan, np.nan),  # C1: unknown
            ("K", "community_station", 2100, 100, 150.0, np.nan, np.nan),  # C2: 150 known ...
            ("V", "community_station", 2200, 100, np.nan, np.nan, np.nan),  # ... and one unknown
            ("L", "community_station", 3100, 50, 50.0, np.nan, np.nan),  # C3: 50 known ...
            ("W", "community_station", 3200, 50, np.nan, np.nan, np.nan),  # ... and one unknown
        ]
    )
    out = standards.check(comm, fac, profile).communities
    area = out["eldercare_area_m2"].tolist()
    assert area[0] == 0.0  # no facility at all: none, not unknown
    assert np.isnan(area[1])
    assert area[2:] == [150.0, 50.0]  # the known part
    # 0.1 m² per resident: C0 has none; C2's known 0.15 meets; C1 and C3 might, with the rest
    assert out["area_per_resident_status"].tolist() == ["below", "unknown", "meets", "unknown"]


def test_shared_station_must_name_a_facility(profile):
    comm = _communities()
    comm["shared_station"] = ["", "NOPE"]
    fac = _facilities([("S0", "community_station", 100, 100, 300.0, np.nan, np.nan)])
    with pytest.raises(InputError, match="'NOPE'"):
        standards.check(comm, fac, profile)


def test_townships_need_a_centre_and_every_community_a_station(profile):
    comm = _communities(
        n=3,
        elderly=(800, 300, 600),
        population=(3000, 1000, 2000),
        township=("甲街道", "甲街道", "乙镇"),
    )
    fac = _facilities(
        [
            ("Z", "street_center", 100, 100, 1600.0, 25.0, 10.0),
            ("S1", "community_station", 1100, 100, 300.0, np.nan, np.nan),
            ("S2", "community_station", 2100, 100, 300.0, np.nan, np.nan),
        ]
    )
    towns = standards.check(comm, fac, profile).townships.set_index("township")
    assert towns.loc["甲街道", "centre_status"] == "meets"
    assert towns.loc["乙镇", "centre_status"] == "missing"
    assert towns.loc["甲街道", "station_coverage"] == 1.0
    assert towns.loc["乙镇", "station_status"] == "meets"


def test_declared_community_wins_over_position(profile):
    comm = _communities()
    fac = _facilities(
        [("S", "community_station", 100, 100, 300.0, np.nan, np.nan, {"community_id": "C1"})]
    )
    assert standards.check(comm, fac, profile).facilities.iloc[0]["community_id"] == "C1"


@pytest.mark.parametrize("stations", [10, 11, 15])
def test_centre_runs_all_stations_of_its_own_street(profile, stations):
    # 万州府办发〔2020〕28号 §二(三)9 中心带站: "由街道养老服务中心整合运营辖区所有社区养老服务站":
    # a street centre may run ALL the stations of its own street, however many; the limit of
    # about 10 is not for them
    comm = _communities(n=1, elderly=(800,), population=(3000,), township=("甲街道",))
    rows = [("Z", "street_center", 450, 450, 1600.0, 25.0, 10.0)]
    rows += [
        (f"S{i}", "community_station", 50 + 50 * i, 100, 300.0, np.nan, np.nan)
        for i in range(stations)
    ]
    fac = _facilities(rows)
    out = standards.check(comm, fac, profile).facilities.set_axis(fac["id"])
    assert out.loc["Z", "stations_assigned"] == stations
    assert bool(out.loc["Z", "stations_over_limit"]) is False
    assert (out.loc[[f"S{i}" for i in range(stations)], "centre_id"] == "Z").all()
    assert out.loc["S0", "centre_method"] == "straight_line"
    assert "outside its own street" not in out.loc["Z", "standard_note"]


@pytest.mark.parametrize(("elsewhere", "over"), [(9, False), (10, False), (11, True)])
def test_centre_takes_about_10_stations_from_other_streets(profile, elsewhere, over):
    # 中心带站's other arrangement: "或根据辐射范围，托管运营周边10个左右社区养老服务站": the
    # limit (provision.stations_per_centre = 10) counts only stations outside the centre's own
    # street; 12 stations of its own street beside them change nothing
    comm = _communities(township=("甲街道", "乙街道"))  # C0 at x 0-900, C1 at x 1000-1900
    rows = [("Z", "street_center", 450, 450, 1600.0, 25.0, 10.0)]
    rows += [
        (f"O{i}", "community_station", 50 + 60 * i, 100, 300.0, np.nan, np.nan) for i in range(12)
    ]
    rows += [
        (f"S{i}", "community_station", 1050 + 60 * i, 100, 300.0, np.nan, np.nan)
        for i in range(elsewhere)
    ]
    fac = _facilities(rows)
    out = standards.check(comm, fac, profile).facilities.set_axis(fac["id"])
    assert out.loc["Z", "stations_assigned"] == 12 + elsewhere
    assert bool(out.loc["Z", "stations_over_limit"]) is over
    counted = standards.stations_from_other_streets(
        out.assign(id=fac["id"].to_numpy(), tier=fac["tier"].to_numpy())
    )
    assert counted["Z"] == elsewhere
    assert ("outside its own street" in out.loc["Z", "standard_note"]) is over
    if over:
        assert "runs 11 stations outside its own street" in out.loc["Z", "standard_note"]
        assert "托管本街道（乡镇）以外的养老服务站11个" in out.loc["Z", "standard_note_zh"]


def test_a_station_goes_to_its_own_streets_centre_even_when_another_is_nearer(profile):
    # 中心带站 by street: S (in 乙街道) is 50 m from 甲's centre Z1 but runs with its own
    # street's centre Z2, 850 m away
    comm = _communities(township=("甲街道", "乙街道"))
    fac = _facilities(
        [
            ("Z1", "street_center", 850, 100, 1600.0, 25.0, 10.0),
            ("Z2", "street_center", 1850, 100, 1600.0, 25.0, 10.0),
            ("S", "community_station", 1000 + 0.5, 100, 300.0, np.nan, np.nan),
            ("T", "community_station", 1000 + 0.5, 300, 300.0, np.nan, np.nan, {"township": ""}),
        ]
    )
    out = standards.check(comm, fac, profile).facilities.set_axis(fac["id"])
    assert out.loc["S", "township"] == "乙街道"
    assert out.loc["S", "centre_id"] == "Z2"
    assert out.loc["S", "centre_minutes"] == pytest.approx(849.5 / 0.9 / 60, abs=0.01)
    # T's township comes from its community too (a blank township column is no township)
    assert out.loc["T", "centre_id"] == "Z2"


def test_a_centre_note_says_its_floor_area_counts_for_its_host_community(profile):
    # the floor area of a centre counts in full for the community it stands in
    comm = _communities(township=("甲街道", "甲街道"))
    fac = _facilities(
        [
            ("Z", "street_center", 450, 450, 1600.0, 25.0, 10.0),
            ("S", "community_station", 1100, 100, 300.0, np.nan, np.nan),
        ]
    )
    checks = standards.check(comm, fac, profile)
    out = checks.facilities.set_axis(fac["id"])
    assert out.loc["Z", "standard_status"] == "meets"
    assert out.loc["Z", "standard_note"].startswith(
        "floor area (1600 m²) counts in full for community C0, where the centre stands"
    )
    assert out.loc["Z", "standard_note_zh"].startswith("建筑面积（1600 m²）全部计入所在社区C0")
    assert out.loc["S", "centre_id"] == "Z"
    assert checks.communities["eldercare_area_m2"].tolist() == [1600.0, 300.0]


def test_stations_go_to_the_centre_reached_fastest_on_foot(profile):
    # a street along y = 0 from x = 0 to 2000; a second, unconnected street at y = 300
    x = np.array([0.0, 1000.0, 2000.0, 0.0, 2000.0]) + OX
    y = np.array([0.0, 0.0, 0.0, 300.0, 300.0]) + OY
    net = network.from_arrays(x, y, np.array([0, 1, 3]), np.array([1, 2, 4]), crs=UTM)
    comm = _communities(n=1, elderly=(800,), population=(3000,), township=("甲街道",))
    fac = _facilities(
        [
            ("Z1", "street_center", 0, 0, 1600.0, 25.0, 10.0),  # on the first street
            ("Z2", "street_center", 1000, 300, 1600.0, 25.0, 10.0),  # straight above the station
            ("S", "community_station", 1000, 10, 300.0, np.nan, np.nan),
        ]
    )
    by_line = standards.check(comm, fac, profile).facilities.set_axis(fac["id"])
    assert by_line.loc["S", "centre_id"] == "Z2"
    on_foot = standards.check(comm, fac, profile, net=net, speed_m_s=1.0).facilities
    on_foot = on_foot.set_axis(fac["id"])
    assert on_foot.loc["S", "centre_id"] == "Z1"  # Z2 cannot be reached on foot
    assert on_foot.loc["S", "centre_minutes"] == pytest.approx(1010 / 60, abs=0.01)
    assert bool(on_foot.loc["S", "within_centre_circle"]) is False  # 16.8 min > 15
    for speed in (0.0, -1.0, float("nan")):
        with pytest.raises(
            InputError, match=r"^walking speed is .*; expected a number of m/s > 0$"
        ):
            standards.check(comm, fac, profile, net=net, speed_m_s=speed)


def test_a_station_by_a_small_fragment_of_street_still_reaches_its_centre(profile):
    # a 3 km street of 300 nodes, and 10 m of footway nobody can leave, 5 m from the station
    x = np.concatenate([np.arange(300) * 10.0, [995.0, 1005.0]]) + OX
    y = np.concatenate([np.zeros(300), [30.0, 30.0]]) + OY
    u = np.concatenate([np.arange(299), [300]])
    v = np.concatenate([np.arange(1, 300), [301]])
    net = network.from_arrays(x, y, u, v, crs=UTM)
    assert profile.min_component_share * net.n_nodes > 2  # the footway is left out
    comm = _communities(n=1, elderly=(800,), population=(3000,), township=("甲街道",))
    fac = _facilities(
        [
            ("Z", "street_center", 0, 0, 1600.0, 25.0, 10.0),
            ("S", "community_station", 1000, 25, 300.0, np.nan, np.nan),
        ]
    )
    out = standards.check(comm, fac, profile, net=net, speed_m_s=1.0).facilities
    out = out.set_axis(fac["id"])
    assert out.loc["S", "centre_id"] == "Z"
    assert out.loc["S", "centre_minutes"] == pytest.approx(1025 / 60, abs=0.01)
    assert out.loc["Z", "stations_assigned"] == 1


def test_district_shares_where_the_columns_exist(profile):
    comm = _communities()
    fac = _facilities(
        [
            (
                "Z",
                "street_center",
                100,
                100,
                1600.0,
                30.0,
                15.0,
                {"social_operated": "是", "medical_capable": "true"},
            ),
            (
                "S",
                "community_station",
                1100,
                100,
                300.0,
                10.0,
                4.0,
                {"social_operated": "否", "medical_capable": "false"},
            ),
        ]
    )
    district = standards.check(comm, fac, profile).district.set_index("rule")
    assert district.loc["nursing_bed_share", "value"] == pytest.approx(19 / 40)
    assert district.loc["nursing_bed_share", "status"] == "below"
    assert district.loc["social_facility_share_urban", "value"] == pytest.approx(0.5)
    assert district.loc["medical_capable_share", "value"] == pytest.approx(0.5)
    assert district.loc["medical_capable_share", "source"] == "test §9"


def test_district_without_columns_is_unknown(profile):
    comm = _communities()
    fac = _facilities([("S", "community_station", 100, 100, 300.0, np.nan, np.nan)])
    district = standards.check(comm, fac, profile).district.set_index("rule")
    assert set(district["status"]) == {"unknown"}


def test_bad_yes_no_value_names_row_and_column(profile):
    comm = _communities()
    fac = _facilities(
        [("S", "community_station", 100, 100, 300.0, 5.0, 1.0, {"social_operated": "maybe"})]
    )
    with pytest.raises(InputError, match="row 1, column 'social_operated'"):
        standards.check(comm, fac, profile)


def test_shared_station_must_be_an_eldercare_facility(profile):
    comm = _communities()
    comm["shared_station"] = ["", "H"]
    fac = _facilities([("H", "health_center", 100, 100, 300.0, np.nan, np.nan)])
    with pytest.raises(InputError, match=r"found 'H', a health_center in the facilities"):
        standards.check(comm, fac, profile)


def test_bad_yes_no_value_counts_rows_of_every_facility(profile):
    comm = _communities()
    fac = _facilities(
        [
            ("H", "health_center", 100, 100, 300.0, np.nan, np.nan),
            ("S", "community_station", 100, 100, 300.0, 5.0, 1.0, {"social_operated": "maybe"}),
        ]
    )
    fac.attrs["source"] = "f.csv"
    with pytest.raises(InputError, match=r"^f.csv: row 2 \(line 3\), column 'social_operated'"):
        standards.check(comm, fac, profile)


def test_many_centres_by_straight_line_without_a_dense_matrix(profile):
    # 4,000 centres and 4,000 stations: a distance matrix alone would take 128 MB
    import tracemalloc

    rng = np.random.default_rng(7)
    n = 4_000
    xy = rng.uniform(0, 20_000, size=(2 * n, 2))
    fac = gpd.GeoDataFrame(
        {
            "id": [f"Z{i}" for i in range(n)] + [f"S{i}" for i in range(n)],
            "tier": ["street_center"] * n + ["community_station"] * n,
        },
        geometry=shapely.points(OX + xy[:, 0], OY + xy[:, 1]),
        crs=UTM,
    )
    tracemalloc.start()
    try:
        out = standards.centre_stations(fac, profile, speed_m_s=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20
    sample = rng.choice(n, 300, replace=False)
    d = np.hypot(
        xy[n + sample, 0, None] - xy[None, :n, 0], xy[n + sample, 1, None] - xy[None, :n, 1]
    )
    stations = out.iloc[n:]
    assert (stations["centre_id"].to_numpy()[sample] == [f"Z{i}" for i in d.argmin(axis=1)]).all()
    np.testing.assert_allclose(
        stations["centre_minutes"].to_numpy()[sample], np.round(d.min(axis=1) / 60.0, 2)
    )


def _urban_and_village():
    """C0 an urban community (城市社区), C1 a village, both in 甲街道."""
    return _communities(township=("甲街道", "甲街道")).assign(kind=["urban", "rural"])


@pytest.mark.parametrize(
    ("community", "area", "status"),
    [
        ("urban", 499.0, "below"),  # 面积原则上控制在500—2000平方米: 499 is below
        ("urban", 500.0, "meets"),  # 500 itself meets
        ("rural", 499.0, "no_standard"),  # a village: 运〔2021〕—2 is for 城市社区 only
    ],
)
def test_yuncheng_500_m2_is_for_urban_communities_only(community, area, status):
    # 运〔2021〕—2 (运城市加快城市社区居家养老服务发展的实施方案) §二(一): "为每个社区配建养老
    # 服务中心，面积原则上控制在500—2000平方米" — for urban communities (城市社区) only
    yuncheng = policy.load("yuncheng")
    x = 100 if community == "urban" else 1100
    fac = _facilities([("S", "community_station", x, 100, area, 12.0, np.nan)])
    out = standards.check(_urban_and_village(), fac, yuncheng).facilities.iloc[0]
    assert out["standard_status"] == status
    if status == "no_standard":
        assert "below" not in out["standard_note"]
        assert "for urban communities only" in out["standard_note"]
        assert "运〔2021〕—2 §二(一)" in out["standard_note"]
        assert "仅适用于城市社区" in out["standard_note_zh"]
        assert np.isnan(out["area_required_m2"])
    else:
        assert out["area_required_m2"] == 500


def test_yuncheng_station_per_community_leaves_villages_out():
    # 运〔2021〕—2 §二(一) 为每个社区配建: every URBAN community; a village without one is no gap
    yuncheng = policy.load("yuncheng")
    fac = _facilities([("S", "community_station", 100, 100, 600.0, 12.0, np.nan)])
    towns = standards.check(_urban_and_village(), fac, yuncheng).townships.iloc[0]
    assert towns["communities"] == 2
    assert towns["communities_with_station"] == 1
    assert towns["station_status"] == "meets"
    assert towns["source"] == "运〔2021〕—2 §二(一) (urban communities only)"
    # the same layers under a profile for town and country: the village lacks one
    chongqing = policy.load("dianjiang")
    towns = standards.check(_urban_and_village(), fac, chongqing).townships.iloc[0]
    assert towns["station_status"] == "below"
    # a township of villages only is not held to the urban rule at all
    villages = _urban_and_village().assign(kind=["rural", "rural"])
    towns = standards.check(villages, fac, yuncheng).townships.iloc[0]
    assert towns["station_status"] == "no_standard"


def test_applies_to_leaves_rural_facilities_out_of_the_targets(profile, tmp_path):
    # a profile for urban communities only counts only their facilities against its targets
    path = tmp_path / "urban.toml"
    path.write_text(
        PROFILE.replace('extends = "chongqing"', 'extends = "chongqing"\napplies_to = ["urban"]'),
        encoding="utf-8",
    )
    urban_only = policy.load(path)
    fac = _facilities(
        [
            ("A", "community_station", 100, 100, 300.0, 10.0, 5.0),
            ("B", "community_station", 1100, 100, 300.0, 10.0, 0.0),  # in the village
        ]
    )
    both = standards.check(_urban_and_village(), fac, profile).district.set_index("rule")
    assert both.loc["nursing_bed_share", "value"] == pytest.approx(0.25)
    urban = standards.check(_urban_and_village(), fac, urban_only).district.set_index("rule")
    assert urban.loc["nursing_bed_share", "value"] == pytest.approx(0.5)
    comm = standards.check(_urban_and_village(), fac, urban_only).communities
    assert comm["area_per_resident_status"].tolist() == ["meets", "no_standard"]


# --- 医养结合 (medical-elderly integration) ----------------------------------------------------

INTEGRATION = """
[medical_integration]
max_walk_minutes = 5
source = "test §10"
[[targets.yearly]]
what = "medical_integrated"
year = 2022
number = 5
source = "test §11"
"""


@pytest.fixture
def integration(tmp_path):
    path = tmp_path / "integration.toml"
    path.write_text(PROFILE + INTEGRATION, encoding="utf-8")
    return policy.load(path)


@pytest.mark.parametrize(("metres", "beside"), [(299.0, True), (300.0, True), (301.0, False)])
def test_centre_beside_a_health_centre_at_the_5_minute_walk_on_foot(integration, metres, beside):
    # 垫江府办〔2020〕8号 §二(五): 街道养老服务中心与社区卫生服务中心…一体或邻近规划设置; the
    # profile reads 邻近 as a walk of at most 5 minutes, the 5 minutes themselves included
    x = np.array([0.0, metres, 2000.0]) + OX
    y = np.zeros(3) + OY
    net = network.from_arrays(x, y, np.array([0, 1]), np.array([1, 2]), crs=UTM)
    comm = _communities(n=1, elderly=(800,), population=(3000,), township=("甲街道",))
    fac = _facilities(
        [
            ("Z", "street_center", 0, 0, 1600.0, 25.0, 10.0),
            ("H", "health_center", metres, 0, np.nan, np.nan, np.nan),
            ("H2", "health_center", 2000, 0, np.nan, np.nan, np.nan),
            ("S", "community_station", 100, 0, 300.0, np.nan, np.nan),
        ]
    )
    out = standards.check(comm, fac, integration, net=net, speed_m_s=1.0).facilities
    out = out.set_axis(fac["id"])
    assert out.loc["Z", "health_centre_id"] == "H"
    assert out.loc["Z", "health_centre_minutes"] == pytest.approx(metres / 60, abs=0.01)
    assert out.loc["Z", "health_centre_method"] == "walk"
    assert bool(out.loc["Z", "beside_health_centre"]) is beside
    # only the centres are checked: a station is left blank
    assert pd.isna(out.loc["S", "beside_health_centre"])
    assert out.loc["S", "health_centre_method"] == ""


def test_a_health_centre_across_a_gap_is_not_beside_on_foot(integration):
    # 100 m away in a straight line but on a street the centre cannot walk to
    x = np.array([0.0, 1000.0, 0.0, 1000.0]) + OX
    y = np.array([0.0, 0.0, 100.0, 100.0]) + OY
    net = network.from_arrays(x, y, np.array([0, 2]), np.array([1, 3]), crs=UTM)
    comm = _communities(n=1, elderly=(800,), population=(3000,), township=("甲街道",))
    fac = _facilities(
        [
            ("Z", "township_center", 0, 0, 900.0, 25.0, 20.0),
            ("H", "health_center", 0, 100, np.nan, np.nan, np.nan),
        ]
    )
    by_line = standards.check(comm, fac, integration, speed_m_s=1.0).facilities.iloc[0]
    assert by_line["health_centre_method"] == "straight_line"
    assert by_line["health_centre_minutes"] == pytest.approx(100 / 60, abs=0.01)
    assert bool(by_line["beside_health_centre"]) is True
    on_foot = standards.check(comm, fac, integration, net=net, speed_m_s=1.0).facilities
    assert on_foot.iloc[0]["health_centre_id"] == ""
    assert bool(on_foot.iloc[0]["beside_health_centre"]) is False


@pytest.mark.parametrize(("metres", "beside"), [(299.0, True), (301.0, False)])
def test_centre_beside_a_health_centre_in_a_straight_line(integration, metres, beside):
    comm = _communities(n=1, elderly=(800,), population=(3000,), township=("甲街道",))
    fac = _facilities(
        [
            ("Z", "street_center", 100, 100, 1600.0, 25.0, 10.0),
            ("H", "health_center", 100 + metres, 100, np.nan, np.nan, np.nan),
            ("C", "clinic", 110, 100, np.nan, np.nan, np.nan),  # a clinic is no health centre
        ]
    )
    out = standards.check(comm, fac, integration, speed_m_s=1.0).facilities.iloc[0]
    assert out["health_centre_id"] == "H"
    assert out["health_centre_method"] == "straight_line"
    assert bool(out["beside_health_centre"]) is beside


def test_no_health_centre_and_no_rule(profile, integration):
    comm = _communities(n=1, elderly=(800,), population=(3000,), township=("甲街道",))
    fac = _facilities([("Z", "street_center", 100, 100, 1600.0, 25.0, 10.0)])
    out = standards.check(comm, fac, integration).facilities.iloc[0]
    assert out["health_centre_id"] == ""
    assert bool(out["beside_health_centre"]) is False
    # a profile that does not ask it leaves every column blank
    plain = standards.check(comm, fac, profile).facilities.iloc[0]
    assert pd.isna(plain["beside_health_centre"])
    assert plain["health_centre_method"] == ""
    assert list(standards.HEALTH_CENTRE_COLUMNS) == [
        c for c in plain.index if c in standards.HEALTH_CENTRE_COLUMNS
    ]
    assert set(standards.HEALTH_CENTRE_COLUMNS) <= set(export.FACILITY_COLUMNS)


def test_a_village_is_not_checked_where_the_profile_is_urban_only(tmp_path):
    # 运〔2021〕—2 is about urban communities (城市社区): its centres in villages are not checked
    path = tmp_path / "yc.toml"
    path.write_text(
        'extends = "yuncheng"\n[medical_integration]\nmax_walk_minutes = 5\n'
        'tiers = ["community_station"]\nsource = "x"\n',
        encoding="utf-8",
    )
    comm = _communities().assign(kind=["urban", "rural"])
    fac = _facilities(
        [
            ("U", "community_station", 100, 100, 600.0, 12.0, 0.0),
            ("R", "community_station", 1100, 100, 600.0, 12.0, 0.0),
            ("H", "health_center", 1150, 100, np.nan, np.nan, np.nan),
        ]
    )
    out = standards.check(comm, fac, policy.load(path), speed_m_s=1.0).facilities
    out = out.set_axis(fac["id"])
    assert bool(out.loc["U", "beside_health_centre"]) is False  # 1050 m: 17.5 min
    assert pd.isna(out.loc["R", "beside_health_centre"])


@pytest.mark.parametrize(("marked", "status"), [(4, "below"), (5, "meets"), (6, "meets")])
def test_dianjiang_at_least_5_medical_integrated_facilities(integration, marked, status):
    # 垫江府办〔2020〕8号 §二(五): 全县至少建设 5 个社区医养结合型机构 (至少: 5 meets)
    comm = _communities()
    rows = [
        (f"F{i}", "community_station" if i % 2 else "health_center", 100 + i, 100, 300.0, 0, 0)
        for i in range(8)
    ]
    fac = _facilities(rows).assign(medical_integrated=["是"] * marked + ["否"] * (8 - marked))
    district = standards.check(comm, fac, integration).district.set_index("rule")
    row = district.loc["medical_integrated"]
    assert row["value"] == marked
    assert row["target"] == 5
    assert row["year"] == 2022
    assert row["status"] == status
    assert row["basis"] == f"{marked} counted (total by 2022)"
    assert standards.district_basis("medical_integrated", row["basis"], lang="zh") == (
        f"现有{marked}个（2022年累计目标）"
    )


def test_medical_integrated_count_unknown_without_the_column(integration):
    comm = _communities()
    fac = _facilities([("S", "community_station", 100, 100, 300.0, 0, 0)])
    district = standards.check(comm, fac, integration).district.set_index("rule")
    row = district.loc["medical_integrated"]
    assert row["status"] == "unknown"
    assert "no medical_integrated column" in row["basis"]
    assert standards.district_basis("medical_integrated", row["basis"], lang="zh").startswith(
        "设施表未填写"
    )
    bad = fac.assign(medical_integrated=["maybe"])
    with pytest.raises(InputError, match="medical_integrated"):
        standards.check(comm, bad, integration)


# --- [[targets.yearly]]: counts by a year (万州府办发〔2020〕28号 §二(五)12, §二(七)17) ----------

YEARLY = """
name = "yearly-test"
extends = "chongqing"
[[targets.yearly]]
what = "stations"
year = 2020
number = {stations}
source = "到2020年，建成…129个社区养老服务站"
[[targets.yearly]]
what = "streets_covered"
year = 2020
number = 1
source = "基本实现11个街道…养老服务设施全覆盖"
[[targets.yearly]]
what = "towns_covered"
year = 2022
number = 1
source = "基本实现41个镇乡养老服务设施全覆盖"
[[targets.yearly]]
what = "communities_covered"
year = 2020
number = 2
source = "基本实现…197个社区养老服务设施全覆盖"
[[targets.yearly]]
what = "rural_points"
basis = "new"
year = 2021
number = 80
source = "每年新建农村养老互助点80个"
"""


def _yearly_profile(tmp_path, stations):
    path = tmp_path / "yearly.toml"
    path.write_text(YEARLY.format(stations=stations), encoding="utf-8")
    return policy.load(path)


@pytest.mark.parametrize(("stations", "status"), [(1, "meets"), (2, "meets"), (3, "below")])
def test_yearly_station_count_at_the_target_jiancheng_129_stations(tmp_path, stations, status):
    # 到2020年，建成…129个社区养老服务站: two stations meet a target of 2, not one of 3
    profile = _yearly_profile(tmp_path, stations)
    comm = _communities()
    fac = _facilities(
        [
            ("S0", "community_station", 100, 100, 300.0, np.nan, np.nan),
            ("S1", "community_station", 1100, 100, 300.0, np.nan, np.nan),
        ]
    )
    district = standards.check(comm, fac, profile).district
    row = district[(district["rule"] == "stations") & (district["year"] == 2020)].iloc[0]
    assert row["value"] == 2
    assert row["target"] == stations
    assert row["status"] == status
    assert row["source"] == "到2020年，建成…129个社区养老服务站"


def test_yearly_streets_and_communities_covered_quanfugai(tmp_path):
    # 基本实现11个街道197个社区养老服务设施全覆盖: a street counts when it has a centre and
    # every community a station; one community without a station leaves it uncovered
    profile = _yearly_profile(tmp_path, 2)
    comm = _communities()
    both = _facilities(
        [
            ("Z", "street_center", 100, 200, 1600.0, 20.0, 10.0),
            ("S0", "community_station", 100, 100, 300.0, np.nan, np.nan),
            ("S1", "community_station", 1100, 100, 300.0, np.nan, np.nan),
        ]
    )
    rows = standards.check(comm, both, profile).district.set_index("rule")
    assert rows.loc["streets_covered", "value"] == 1
    assert rows.loc["streets_covered", "status"] == "meets"
    assert rows.loc["communities_covered", "value"] == 2
    assert rows.loc["communities_covered", "status"] == "meets"
    # no 镇/乡 in the data: the towns target cannot be checked, and says why
    assert rows.loc["towns_covered", "status"] == "unknown"
    assert "镇" in rows.loc["towns_covered", "basis"]
    one_short = both[both["id"] != "S1"]
    rows = standards.check(comm, one_short, profile).district.set_index("rule")
    assert rows.loc["streets_covered", "value"] == 0
    assert rows.loc["streets_covered", "status"] == "below"
    assert rows.loc["communities_covered", "value"] == 1
    assert rows.loc["communities_covered", "status"] == "below"


def test_yearly_new_and_municipal_targets_are_unknown_with_the_reason(tmp_path):
    # 每年新建…80个 needs a year built; 千百工程's 2019年新建社区养老服务站400个 is 全市
    profile = _yearly_profile(tmp_path, 2)
    comm = _communities()
    fac = _facilities([("S0", "community_station", 100, 100, 300.0, np.nan, np.nan)])
    district = standards.check(comm, fac, profile).district
    new = district[district["rule"].isin(["rural_points_new", "stations_new"])]
    assert len(new) == 4  # 80 a year here, and the three 千百工程 years inherited
    assert set(new["status"]) == {"unknown"}
    assert new["value"].isna().all()
    assert new["basis"].str.contains("year built|whole municipality").all()
    municipal = district[district["source"].str.contains("渝府办发〔2018〕99号")]
    assert len(municipal) == 6
    assert municipal["basis"].str.contains("whole municipality|year built").all()


def test_township_kinds_from_the_name():
    kinds = standards.township_kinds(["桂溪街道", "澄溪镇", "永安乡", "", None])
    assert kinds.tolist() == ["street", "town", "town", "", ""]
