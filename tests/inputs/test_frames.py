"""Tests for carecircle.inputs.frames: a user's own frames checked as the readers check files.

Also the face they serve: ``carecircle.analyze`` on frames and a profile's name, and
``carecircle.siting.propose`` from an analysis.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import carecircle as cc
from carecircle import pipeline, policy
from carecircle.data import demo_files
from carecircle.errors import InputError, MissingColumnError
from carecircle.inputs import frames, readers

SQUARE = shapely.box(106.50, 29.55, 106.51, 29.56)  # Chongqing, longitude/latitude
UTM = "EPSG:32648"


def _communities(**columns: list[Any]) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    data: dict[str, list[Any]] = {
        "id": [f"c{i}" for i in range(n)],
        "name": [f"幸福社区{i}" for i in range(n)],
    }
    data.update(columns)
    boxes = [shapely.affinity.translate(SQUARE, 0.01 * i) for i in range(n)]
    return gpd.GeoDataFrame(data, geometry=boxes, crs=4326)


def _facilities(**columns: list[Any]) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    data: dict[str, list[Any]] = {"id": [f"f{i}" for i in range(n)], "name": ["站"] * n}
    data.update(columns)
    points = shapely.points(106.505 + 0.01 * np.arange(n), np.full(n, 29.555))
    return gpd.GeoDataFrame(data, geometry=points, crs=4326)


def _error(func: Any, *args: Any, **kwargs: Any) -> InputError:
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    assert "\n" not in str(info.value)
    return info.value


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy as a user would build it: no trace of the readers in ``attrs``."""
    out = frame.copy()
    out.attrs = {}
    return out


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    files = demo_files()
    return {
        "files": files,
        "net": cc.network.read(files["network"]),
        "communities": cc.read_communities(files["communities"]),
        "facilities": cc.read_facilities(files["facilities"]),
    }


def test_a_frame_without_a_required_column_fails_as_a_file_does(tmp_path) -> None:
    frame = _communities(elderly=[100])  # no population
    error = _error(cc.communities_from_frame, frame)
    assert isinstance(error, MissingColumnError)
    assert str(error).startswith("communities: missing required column for 'population'")
    assert "columns found: 'id', 'name', 'elderly'" in str(error)
    assert "map it with columns={'population': '<your column>'}" in str(error)
    path = tmp_path / "c.gpkg"
    frame.to_file(path)
    from_file = _error(cc.read_communities, path)
    assert isinstance(from_file, MissingColumnError)
    assert (
        str(from_file).replace(str(path), "communities").split("; rename")[0]
        == (str(error).split("; rename")[0])
    )
    fac = _error(cc.facilities_from_frame, _facilities(area_m2=[10.0]), name="我的设施")
    assert isinstance(fac, MissingColumnError)
    assert str(fac).startswith("我的设施: missing required column for 'tier'")


def test_a_frame_without_elderly_is_read_as_a_file_without_it(demo) -> None:
    comm = _plain(demo["communities"]).drop(columns="elderly")
    checked = cc.communities_from_frame(comm)
    assert checked["elderly"].isna().all()
    res = cc.analyze(demo["net"], comm, demo["facilities"], policy="yuzhong")
    assert set(res.communities["basis"]) == {"population"}


def test_text_in_a_number_column_names_the_row_and_value() -> None:
    frame = _communities(population=["1200", "many"])
    message = str(_error(cc.communities_from_frame, frame))
    assert message == (
        "communities: row 2, column 'population': found 'many'; expected a number of people ≥ 0"
    )
    readable = cc.communities_from_frame(_communities(population=["1200", "800"]))
    assert readable["population"].tolist() == [1200.0, 800.0]
    assert readable["population"].dtype == np.float64


def test_a_frame_without_crs_is_refused_in_one_line() -> None:
    frame = _communities(population=[10]).set_crs(None, allow_override=True)
    message = str(_error(cc.communities_from_frame, frame))
    assert message.startswith("communities: the GeoDataFrame has no coordinate reference system")
    assert ".set_crs(" in message
    points = _facilities(tier=["community_station"]).set_crs(None, allow_override=True)
    assert "no coordinate reference system" in str(_error(cc.facilities_from_frame, points))


def test_other_kinds_of_object_are_refused() -> None:
    table = pd.DataFrame(_communities(population=[10]).drop(columns="geometry"))
    message = str(_error(cc.communities_from_frame, table))
    assert message == (
        "communities: found a DataFrame; expected a GeoDataFrame of polygons with a CRS"
    )
    assert "found a list" in str(_error(cc.facilities_from_frame, [1, 2]))
    empty = _communities(population=[10]).iloc[:0]
    assert "no data rows" in str(_error(cc.communities_from_frame, empty))


def test_a_projected_frame_is_converted_to_lonlat() -> None:
    lonlat = _communities(population=[10, 20])
    projected = lonlat.to_crs(UTM)
    checked = cc.communities_from_frame(projected)
    assert checked.crs.equals("EPSG:4326")
    assert shapely.equals_exact(
        checked.geometry.to_numpy(), lonlat.geometry.to_numpy(), tolerance=1e-7
    ).all()
    points = _facilities(tier=["community_station", "clinic"])
    moved = cc.facilities_from_frame(points.to_crs(UTM))
    assert moved.crs.equals("EPSG:4326")
    np.testing.assert_allclose(moved.geometry.x, points.geometry.x, atol=1e-7)
    assert projected.crs.equals(UTM)  # the caller's frame is left as it was


def test_chinese_headers_are_read_as_by_the_readers() -> None:
    frame = gpd.GeoDataFrame(
        {
            "编号": ["A"],
            "名称": ["丙村委会"],
            "常住人口": [500],
            "60岁以上人口": [120],
            "乡镇": ["二镇"],
        },
        geometry=[SQUARE],
        crs=4326,
    )
    checked = cc.communities_from_frame(frame)
    row = checked.iloc[0]
    assert (row["id"], row["name"], row["population"], row["elderly"]) == (
        "A",
        "丙村委会",
        500,
        120,
    )
    assert (row["kind"], row["township"]) == ("rural", "二镇")
    table = pd.DataFrame(
        {
            "编号": ["S1"],
            "名称": ["一号站"],
            "等级": ["社区养老服务站"],
            "经度": [106.5],
            "纬度": [29.5],
        }
    )
    fac = cc.facilities_from_frame(table)
    assert fac["tier"].tolist() == ["community_station"]
    assert (fac.geometry.x.iloc[0], fac.geometry.y.iloc[0]) == (106.5, 29.5)


def test_reader_output_passes_unchanged_and_unchecked(demo, monkeypatch) -> None:
    comm, fac = demo["communities"], demo["facilities"]
    assert cc.communities_from_frame(comm) is comm
    assert cc.facilities_from_frame(fac) is fac
    moved = cc.communities_from_frame(comm.to_crs(UTM))  # reprojected, not checked again
    assert moved.crs.equals("EPSG:4326")
    assert shapely.equals_exact(moved.geometry.to_numpy(), comm.geometry.to_numpy(), 1e-7).all()
    calls: list[str] = []
    for name in ("check_communities", "check_facilities"):
        real = getattr(frames, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(frames, name, counted)
    pipeline.prepare(demo["net"], comm, fac, policy="yuzhong")
    assert calls == []  # read once by the readers, not checked again
    pipeline.prepare(demo["net"], _plain(comm), _plain(fac), policy="yuzhong")
    assert calls == ["check_communities", "check_facilities"]


def test_a_users_copy_of_reader_output_checks_to_the_same_frame(demo) -> None:
    comm, fac = demo["communities"], demo["facilities"]
    again = cc.communities_from_frame(_plain(comm))
    assert again is not comm
    pd.testing.assert_frame_equal(again, comm)
    pd.testing.assert_frame_equal(cc.facilities_from_frame(_plain(fac)), fac)
    table = pd.DataFrame(_plain(fac).drop(columns="geometry")).assign(
        lon=fac.geometry.x, lat=fac.geometry.y
    )
    pd.testing.assert_frame_equal(cc.facilities_from_frame(table), fac)


def test_reader_output_changed_since_is_checked_again(demo) -> None:
    comm = demo["communities"]
    as_text = comm.assign(population=comm["population"].astype(str))
    assert as_text.attrs.get("scheme") == "communities"  # pandas kept the readers' mark
    pd.testing.assert_frame_equal(cc.communities_from_frame(as_text), comm)
    bad = comm.assign(population=["many"] * len(comm))
    assert "column 'population': found 'many'" in str(_error(cc.communities_from_frame, bad))


def test_analyze_takes_a_profile_by_name(demo) -> None:
    net, comm, fac = demo["net"], demo["communities"], demo["facilities"]
    by_name = cc.analyze(net, comm, fac, policy="yuzhong")
    loaded = cc.analyze(net, comm, fac, policy=policy.load("yuzhong"))
    assert by_name.policy.name == "yuzhong"
    columns = [c for c in loaded.communities if c.endswith(("_status", "_share"))]
    assert columns
    pd.testing.assert_frame_equal(by_name.communities[columns], loaded.communities[columns])
    assert cc.analyze(net, comm, fac).policy.name == "chongqing"
    assert "unknown policy 'nowhere'" in str(_error(cc.analyze, net, comm, fac, policy="nowhere"))


def test_analyze_refuses_a_users_frame_in_one_line(demo) -> None:
    comm = _plain(demo["communities"]).rename(columns={"population": "people"})
    error = _error(cc.analyze, demo["net"], comm, demo["facilities"])
    assert isinstance(error, MissingColumnError)
    assert str(error).startswith("communities: missing required column for 'population'")


def test_the_analysis_keeps_what_it_measured(demo_analysis) -> None:
    prep = demo_analysis.prepared
    assert isinstance(prep, pipeline.Prepared)
    assert prep.communities["id"].tolist() == demo_analysis.communities["id"].tolist()
    assert (
        pipeline.check_only(
            demo_files()["communities"], demo_files()["facilities"], policy=demo_analysis.policy
        ).prepared
        is None
    )


def test_propose_from_an_analysis_equals_propose_from_its_prepared(demo_analysis) -> None:
    prep = demo_analysis.prepared
    question = {"count": 2, "tier": "community_station", "spacing_m": 150.0}
    from_analysis = cc.siting.propose(demo_analysis, **question)
    from_prepared = cc.siting.propose(prep, None, policy=demo_analysis.policy, **question)
    assert len(from_analysis.sites)
    pd.testing.assert_frame_equal(from_analysis.sites, from_prepared.sites)
    pd.testing.assert_frame_equal(from_analysis.communities, from_prepared.communities)
    sited = cc.siting.attach(demo_analysis, from_analysis)
    assert sited.prepared is prep


def test_propose_uses_the_analysis_policy_unless_given_another(demo_analysis) -> None:
    question = {"budget": 400_000.0, "tier": "community_station", "spacing_m": 150.0}
    own = _error(cc.siting.propose, demo_analysis, **question)
    assert "the profile 'yuzhong' has no money rules" in str(own)
    priced = cc.siting.propose(demo_analysis, policy="wanzhou", **question)
    assert priced.sites["cost_yuan"].tolist() == [200_000.0] * len(priced.sites)
    assert len(priced.sites) == 2


def test_propose_needs_a_district_it_can_site_in(demo_analysis) -> None:
    prep = demo_analysis.prepared
    assert "policy= is needed" in str(_error(cc.siting.propose, prep, count=1))
    checked = pipeline.check_only(
        demo_files()["communities"], demo_files()["facilities"], policy=demo_analysis.policy
    )
    assert "holds no prepared district" in str(_error(cc.siting.propose, checked, count=1))
    assert "found a GeoDataFrame" in str(_error(cc.siting.propose, demo_analysis.communities))


def test_the_readers_mark_what_they_checked(tmp_path) -> None:
    path = tmp_path / "c.gpkg"
    _communities(population=[10]).to_file(path)
    assert readers.read_communities(path).attrs["scheme"] == "communities"
