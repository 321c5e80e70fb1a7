"""carecircle batch: three small districts side by side on one street grid, on a Dask cluster.

The cluster is local, two workers as threads of the test process (the same task function a
worker process runs). Each district's results are compared with ``analyze`` run on that
district alone over the same buffered network.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from carecircle import batch, cli, network, pipeline, policy
from carecircle.outputs.export import write_summary

UTM = "EPSG:32648"
OX, OY = 640_000.0, 3_270_000.0
WIDTH_M = 1_000.0  # each district is 1 km wide, the grid 3 km by 1 km

PROFILE = """
name = "batch-test"
extends = "chongqing"
[analysis]
speed_m_s = 1.0
max_access_m = 100.0
grid_spacing_m = 20.0
[circles.eldercare]
minutes_urban = 3
minutes_rural = 3
[circles.medical]
minutes_urban = 4
minutes_rural = 4
"""
# reach: 4 min x 60 s x 1 m/s = 240 m, plus 100 m of access: a 340 m buffer


def _box(x: float, y: float, half: float = 15.0) -> shapely.Polygon:
    return shapely.box(OX + x - half, OY + y - half, OX + x + half, OY + y + half)


@pytest.fixture
def municipality(tmp_path: Path) -> dict[str, Path]:
    """A 100 m street grid, 3 km x 1 km; districts 东 / 中 / 西 of 1 km each; the files."""
    net = network.synthetic_grid(11, 31, spacing_m=100.0, crs=UTM, origin=(OX, OY))
    network.save(net, tmp_path / "grid.npz")
    names = ["西区", "中区", "东区"]
    rows, shapes = [], []
    for d, name in enumerate(names):
        for i, (x, y) in enumerate([(150, 150), (450, 550), (750, 850), (350, 250)]):
            rows.append((f"{d}{i}", f"{name}{i}社区", name, 1000 + 100 * i, 200 + 10 * i))
            shapes.append(_box(d * WIDTH_M + x, y))
    # beside the 西/中 line (x = 1000), 40 m inside 西; its only station is 60 m across the line
    rows.append(("edge", "界边社区", "西区", 900, 300))
    shapes.append(_box(960, 450))
    comm = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["id", "name", "district", "population", "elderly"]),
        geometry=shapes,
        crs=UTM,
    ).to_crs(4326)
    comm.to_file(tmp_path / "communities.gpkg", driver="GPKG")
    spots = [
        ("S0", "community_station", 200, 100),
        ("H0", "clinic", 600, 600),
        ("S1", "community_station", 1_010, 450),  # 中区, across the line from 界边社区
        ("S2", "community_station", 1_700, 700),
        ("H1", "clinic", 1_400, 200),
        ("S3", "community_station", 2_300, 300),
        ("H2", "clinic", 2_800, 800),
    ]
    points = gpd.GeoSeries(
        shapely.points([OX + s[2] for s in spots], [OY + s[3] for s in spots]), crs=UTM
    ).to_crs(4326)
    pd.DataFrame(
        {
            "id": [s[0] for s in spots],
            "name": [f"设施{s[0]}" for s in spots],
            "tier": [s[1] for s in spots],
            "lon": points.x,
            "lat": points.y,
        }
    ).to_csv(tmp_path / "facilities.csv", index=False)
    (tmp_path / "profile.toml").write_text(PROFILE, encoding="utf-8")
    return {
        "network": tmp_path / "grid.npz",
        "communities": tmp_path / "communities.gpkg",
        "facilities": tmp_path / "facilities.csv",
        "policy": tmp_path / "profile.toml",
        "out": tmp_path / "out",
    }


@pytest.fixture(autouse=True)
def _threads(monkeypatch, tmp_path):
    """Two workers as threads of this process; the network cache in the test's folder."""
    monkeypatch.setenv("CARECIRCLE_CACHE_DIR", str(tmp_path / "cache"))
    compute = functools.partial(batch.compute, processes=False, dashboard=False)
    monkeypatch.setattr(batch, "compute", compute)


def _run(files: dict[str, Path], *extra: str) -> int:
    return cli.main(
        [
            "batch",
            "--network",
            str(files["network"]),
            "--communities",
            str(files["communities"]),
            "--facilities",
            str(files["facilities"]),
            "--policy",
            str(files["policy"]),
            "--workers",
            "2",
            "--out",
            str(files["out"]),
            "--no-progress",
            "--lang",
            "en",
            *extra,
        ]
    )


def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "districts.csv", encoding="utf-8-sig").set_index("district")


def test_every_district_equals_analyze_on_its_own(municipality, tmp_path):
    assert _run(municipality) == 0
    out = municipality["out"]
    table = _table(out)
    assert sorted(table.index) == ["东区", "中区", "西区"]
    assert set(table["run"]) == {batch.COMPUTED}
    profile = policy.load(municipality["policy"])
    net = network.load(municipality["network"])
    comm = pipeline._read_layers(
        municipality["communities"], municipality["facilities"], "wgs84", "wgs84", {}, {}
    )
    communities, facilities = comm
    reach = batch.buffer_m(profile)
    assert reach == pytest.approx(340.0)
    for name in table.index:
        members = communities.loc[communities["district"] == name].reset_index(drop=True)
        area = shapely.union_all(members.to_crs(UTM).geometry.to_numpy())
        alone = pipeline.analyze(
            batch.clip(net, area, buffer_m=reach + profile.max_access_m),
            members,
            facilities,  # every facility: those beyond reach must change nothing
            policy=profile,
        )
        write_summary(alone, tmp_path / "expected.csv")  # the same writer, read back alike
        folder = out / table.loc[name, "folder"]
        found = pd.read_csv(folder / "summary.csv", encoding="utf-8-sig", dtype={"id": str})
        expected = pd.read_csv(tmp_path / "expected.csv", encoding="utf-8-sig", dtype={"id": str})
        assert len(found) == len(members)
        pd.testing.assert_frame_equal(found, expected)  # every column, every community
        facilities_found = pd.read_csv(folder / "facilities.csv", encoding="utf-8-sig")
        assert set(facilities_found["id"]) <= set(facilities["id"])
        for circle in ("eldercare", "medical"):
            figures = {c.circle: c for c in batch.headline_mod.headline(alone).circles}[circle]
            assert table.loc[name, f"{circle}_share"] == pytest.approx(figures.share)
    # the rank follows the share
    ranked = table.sort_values("eldercare_rank")
    assert ranked["eldercare_share"].is_monotonic_decreasing
    # the municipal outputs
    layers = gpd.list_layers(out / "municipality.gpkg")["name"].tolist()
    assert {"districts", "communities", "circles", "facilities"} <= set(layers)
    every = gpd.read_file(out / "municipality.gpkg", layer="communities")
    assert len(every) == len(communities)
    facilities_layer = gpd.read_file(out / "municipality.gpkg", layer="facilities")
    assert sorted(facilities_layer["id"]) == sorted(facilities["id"])  # each facility once
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "$(`" not in page  # no jQuery: the page is offline
    for folder in table["folder"]:  # each district's popup links to its map, relatively
        assert f'href=\\"{urllib.parse.quote(folder)}/map.html\\"' in page
        assert (out / folder / "map.html").is_file()


def test_a_resident_beside_the_line_reaches_a_facility_across_it(municipality):
    assert _run(municipality) == 0
    folder = municipality["out"] / _table(municipality["out"]).loc["西区", "folder"]
    summary = pd.read_csv(folder / "summary.csv", encoding="utf-8-sig").set_index("id")
    # 界边社区 at x = 945..975 reaches S1 at x = 1010 (中区) within 3 minutes (about 60 m:
    # to the street at x = 1000, then 10 m to the station); alone, 西区 holds none within reach
    assert summary.loc["edge", "eldercare_status"] == "covered"
    assert summary.loc["edge", "eldercare_nearest"] == "S1"
    # the district cut at its line, with its own facilities only: not covered
    communities, facilities = pipeline._read_layers(
        municipality["communities"], municipality["facilities"], "wgs84", "wgs84", {}, {}
    )
    west = communities.loc[communities["district"] == "西区"].reset_index(drop=True)
    line = shapely.box(OX - 1_000, OY - 1_000, OX + WIDTH_M, OY + 2_000)
    cut = batch.clip(network.load(municipality["network"]), line, buffer_m=0.0)
    own = facilities.loc[facilities.to_crs(UTM).geometry.x < OX + WIDTH_M]
    alone = pipeline.analyze(cut, west, own, policy=policy.load(municipality["policy"]))
    assert alone.communities.set_index("id").loc["edge", "eldercare_status"] != "covered"


def test_a_failing_district_leaves_the_others_whole(municipality, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text(
        'name = "broken"\nextends = "chongqing"\n[analysis]\nspeed_m_s = "fast"\n', "utf-8"
    )
    manifest = tmp_path / "policies.csv"
    pd.DataFrame({"district": ["东区"], "policy": [str(broken)]}).to_csv(manifest, index=False)
    assert _run(municipality, "--policies", str(manifest)) == 0
    table = _table(municipality["out"])
    assert table.loc["东区", "run"] == batch.FAILED
    error = table.loc["东区", "error"]
    assert "broken.toml" in error and "\n" not in error
    assert pd.isna(table.loc["东区", "folder"])  # no folder of this run
    assert pd.isna(table.loc["东区", "communities"])  # blank, not 0
    for name in ("西区", "中区"):
        assert table.loc[name, "run"] == batch.COMPUTED
        assert np.isfinite(table.loc[name, "eldercare_share"])
        assert (municipality["out"] / table.loc[name, "folder"] / "coverage.gpkg").is_file()


def test_a_failing_task_is_one_line_and_the_batch_goes_on(municipality, monkeypatch):
    original = pipeline.analyze

    def analyze(net, communities, *args, **kwargs):
        if (communities["district"] == "中区").any():
            msg = "bad data\nin two lines"
            raise ValueError(msg)
        return original(net, communities, *args, **kwargs)

    monkeypatch.setattr(pipeline, "analyze", analyze)
    assert _run(municipality) == 0
    table = _table(municipality["out"])
    assert table.loc["中区", "run"] == batch.FAILED
    assert table.loc["中区", "error"] == "ValueError: bad data in two lines"
    assert set(table.drop(index="中区")["run"]) == {batch.COMPUTED}


def test_a_rerun_recomputes_nothing_and_a_change_recomputes_its_district(municipality):
    assert _run(municipality) == 0
    out = municipality["out"]
    first = _table(out)
    records = {
        name: json.loads((out / first.loc[name, "folder"] / "carecircle-run.json").read_text())
        for name in first.index
    }
    assert _run(municipality) == 0
    second = _table(out)
    assert set(second["run"]) == {batch.SKIPPED}
    pd.testing.assert_series_equal(first["eldercare_share"], second["eldercare_share"])
    for name in first.index:  # the folders are the first run's
        again = json.loads((out / first.loc[name, "folder"] / "carecircle-run.json").read_text())
        assert again["finished"] == records[name]["finished"]
    # one facility more in 东区: that district alone is computed again
    facilities = pd.read_csv(municipality["facilities"])
    spot = gpd.GeoSeries(shapely.points([OX + 2_500], [OY + 500]), crs=UTM).to_crs(4326)
    extra = {"id": "S9", "name": "新站", "tier": "community_station"}
    extra |= {"lon": spot.x[0], "lat": spot.y[0]}
    pd.concat([facilities, pd.DataFrame([extra])]).to_csv(municipality["facilities"], index=False)
    assert _run(municipality) == 0
    third = _table(out)
    assert third["run"].to_dict() == {
        "西区": batch.SKIPPED,
        "中区": batch.SKIPPED,
        "东区": batch.COMPUTED,
    }


def test_districts_from_a_polygon_layer(municipality, tmp_path):
    polygons = gpd.GeoDataFrame(
        {"名称": ["西区", "中区", "东区"]},
        geometry=[
            shapely.box(OX + d * WIDTH_M - 50, OY - 50, OX + (d + 1) * WIDTH_M + 50, OY + 1_050)
            for d in range(3)  # overlapping by 100 m: the first polygon wins
        ],
        crs=UTM,
    )
    polygons.to_file(tmp_path / "districts.gpkg", driver="GPKG")
    comm = gpd.read_file(municipality["communities"]).drop(columns="district")
    comm.to_file(municipality["communities"], driver="GPKG")
    extra = ("--districts", str(tmp_path / "districts.gpkg"), "--district-column", "名称")
    assert _run(municipality, *extra) == 0
    table = _table(municipality["out"])
    assert set(table["run"]) == {batch.COMPUTED}
    assert table["communities"].to_dict() == {"西区": 5, "中区": 4, "东区": 4}
    every = gpd.read_file(municipality["out"] / "municipality.gpkg", layer="communities")
    assert every.set_index("id").loc["edge", "district"] == "西区"


def test_clip_keeps_the_edges_within_the_buffer():
    net = network.synthetic_grid(5, 5, spacing_m=100.0, crs=UTM, origin=(OX, OY))
    part = batch.clip(net, shapely.Point(OX, OY), buffer_m=150.0)
    # nodes within 150 m of the corner: (0,0), (100,0), (0,100), (100,100); edges with an end
    # there reach one node further along each street
    inside = {(0, 0), (100, 0), (0, 100), (100, 100)}
    ends = {(round(x - OX), round(y - OY)) for x, y in zip(part.x, part.y, strict=True)}
    assert inside < ends
    assert ends == inside | {(200, 0), (0, 200), (200, 100), (100, 200)}
    assert part.n_edges == 4 + 4


def test_another_commands_folder_is_not_taken(municipality, capsys):
    out = municipality["out"]
    out.mkdir()
    (out / "summary.csv").write_text("id\n", encoding="utf-8")
    record = {"command": "analyze", "files": ["summary.csv"]}
    (out / "carecircle-run.json").write_text(json.dumps(record), encoding="utf-8")
    assert _run(municipality) == 2
    assert "earlier run" in capsys.readouterr().err


def test_an_existing_cluster_by_its_scheduler(municipality, capsys):
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        assert _run(municipality, "--scheduler", cluster.scheduler_address) == 0
    assert set(_table(municipality["out"])["run"]) == {batch.COMPUTED}
    assert "[3/3]" in capsys.readouterr().out


def test_an_unreachable_scheduler_is_one_line(municipality, capsys, monkeypatch):
    monkeypatch.setattr(batch, "CONNECT_TIMEOUT_S", 2)
    assert _run(municipality, "--scheduler", "tcp://127.0.0.1:9") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("carecircle: error: --scheduler")


def test_the_terminal_speaks_the_runs_language(municipality, capsys):
    assert _run(municipality, "--lang", "zh") == 0  # the later --lang wins
    out = capsys.readouterr().out
    assert "共 3 个区：待计算 3" in out
    assert "[3/3]" in out and "完成（" in out
    assert "计算 3，跳过 0，失败 0" in out


def test_worker_processes_say_their_district(municipality, monkeypatch, capfd):
    """One worker process (as the command runs by default): its warnings name the district."""
    compute = functools.partial(batch.compute.func, processes=True, dashboard=False)
    monkeypatch.setattr(batch, "compute", compute)
    facilities = pd.read_csv(municipality["facilities"])
    spot = gpd.GeoSeries(shapely.points([OX + 1_750], [OY + 1_150]), crs=UTM).to_crs(4326)
    far = {"id": "S8", "name": "远站", "tier": "community_station"}  # 150 m off the grid
    far |= {"lon": spot.x[0], "lat": spot.y[0]}
    pd.concat([facilities, pd.DataFrame([far])]).to_csv(municipality["facilities"], index=False)
    assert _run(municipality, "--workers", "1") == 0
    assert set(_table(municipality["out"])["run"]) == {batch.COMPUTED}
    err = capfd.readouterr().err
    assert "carecircle: 中区: facility S8" in err


def test_every_step_the_commands_time_has_a_name():
    # a step without a name in _progress.STEPS fails only when its line is shown (a terminal)
    from carecircle import _progress

    source = "".join(
        (Path(cli.__file__).parent / name).read_text(encoding="utf-8")
        for name in ("cli.py", "batch.py", "pipeline.py")
    )
    steps = set(re.findall(r'_progress\.step\(\s*"(\w+)"', source))
    assert steps
    assert steps <= set(_progress.STEPS)


# --- compounds and the care map ----------------------------------------------------------------

# the compounds: points in communities of each district, and one (C9) in no community, beside
# 中区's east edge but nearest 东区's first community (at x = 2135..2165, y = 135..165)
COMPOUNDS = [
    ("C0", 155, 148),
    ("C1", 452, 553),
    ("C2", 1_152, 147),
    ("C3", 1_748, 855),
    ("C4", 2_453, 548),
    ("C9", 1_990, 150),
]


def _compounds_and_care(files: dict[str, Path], seed: int = 3) -> tuple[Path, Path, np.ndarray]:
    """A compounds table and a records care table; the records' UTM x/y (two in no community)."""
    folder = files["out"].parent
    spots = gpd.GeoSeries(
        shapely.points([OX + c[1] for c in COMPOUNDS], [OY + c[2] for c in COMPOUNDS]), crs=UTM
    ).to_crs(4326)
    pd.DataFrame(
        {
            "id": [c[0] for c in COMPOUNDS],
            "name": [f"小区{c[0]}" for c in COMPOUNDS],
            "households": 300,
            "build_year": [2010, 2021, 2015, 2022, 2008, 2019],
            "lon": spots.x,
            "lat": spots.y,
        }
    ).to_csv(folder / "compounds.csv", index=False)
    rng = np.random.default_rng(seed)
    centres = np.array(
        [(d * WIDTH_M + x, y) for d in range(3) for x, y in [(150, 150), (450, 550), (750, 850)]]
    )
    homes = np.repeat(centres, 4, axis=0) + rng.uniform(-12.0, 12.0, (len(centres) * 4, 2))
    homes = np.vstack([homes, [[500.37, 960.41], [2_600.83, 40.29]]])  # in no community
    where = gpd.GeoSeries(shapely.points(OX + homes[:, 0], OY + homes[:, 1]), crs=UTM).to_crs(4326)
    kinds = ["空巢", "独居、高龄", "失能", "高龄"]
    pd.DataFrame(
        {
            "lon": where.x,
            "lat": where.y,
            "category": [kinds[i % 4] for i in range(len(homes))],
        }
    ).to_csv(folder / "care.csv", index=False)
    return folder / "compounds.csv", folder / "care.csv", homes


def _placed(files: dict[str, Path]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return pipeline._read_layers(
        files["communities"], files["facilities"], "wgs84", "wgs84", {}, {}
    )


def test_compounds_and_care_map_equal_analyze_on_each_district(municipality, tmp_path):
    from carecircle.inputs import read_care, read_compounds
    from carecircle.outputs.write import write_all

    compounds_file, care_file, _ = _compounds_and_care(municipality)
    extra = ("--compounds", str(compounds_file), "--care", str(care_file))
    assert _run(municipality, *extra) == 0
    out = municipality["out"]
    table = pd.read_csv(out / "districts.csv", encoding="utf-8-sig")
    # the two records in no community: said in a row of their own, their number withheld (< 5)
    apart = table.loc[table["district"].isna()]
    assert len(apart) == 1
    assert "fewer than 5 care records lie in no community" in apart["error"].iloc[0]
    table = table.dropna(subset=["district"]).set_index("district")
    assert set(table["run"]) == {batch.COMPUTED}
    assert table["compounds"].to_dict() == {"西区": 2, "中区": 2, "东区": 2}
    assert table["compounds_by_nearness"].to_dict() == {"西区": 0, "中区": 0, "东区": 1}
    profile = policy.load(municipality["policy"])
    net = network.load(municipality["network"])
    communities, facilities = _placed(municipality)
    every = read_compounds(compounds_file)
    mine = {"西区": ["C0", "C1"], "中区": ["C2", "C3"], "东区": ["C4", "C9"]}
    reach = batch.buffer_m(profile) + profile.max_access_m
    for name in table.index:
        members = communities.loc[communities["district"] == name].reset_index(drop=True)
        area = shapely.union_all(members.to_crs(UTM).geometry.to_numpy())
        own = every.loc[every["id"].isin(mine[name])].reset_index(drop=True)
        alone = pipeline.analyze(
            batch.clip(net, area, buffer_m=reach),
            members,
            facilities,
            policy=profile,
            compounds=own,
            care=read_care(care_file, members),  # read against the district alone
        )
        expected = tmp_path / f"expected-{members['id'].iloc[0]}"
        write_all(alone, expected, lang="en")
        folder = out / table.loc[name, "folder"]
        for written in ("compounds.csv", "care_map.csv"):
            found = pd.read_csv(folder / written, encoding="utf-8-sig", dtype=str)
            wanted = pd.read_csv(expected / written, encoding="utf-8-sig", dtype=str)
            pd.testing.assert_frame_equal(found, wanted)
        care_map = pd.read_csv(folder / "care_map.csv", encoding="utf-8-sig")
        assert care_map["within_basis"].str.startswith("exact").all()
        assert care_map["people"].fillna(0).sum() + care_map["suppressed"].notna().sum() > 0


def test_a_changed_care_table_recomputes_its_district_only(municipality):
    compounds_file, care_file, homes = _compounds_and_care(municipality)
    extra = ("--compounds", str(compounds_file), "--care", str(care_file))
    assert _run(municipality, *extra) == 0
    assert _run(municipality, *extra) == 0
    table = _table(municipality["out"])
    assert set(table.loc[table.index.notna(), "run"]) == {batch.SKIPPED}
    # one record of 东区 now disabled too: 东区 alone is computed again
    care = pd.read_csv(care_file)
    east = int(np.flatnonzero(homes[:, 0] > 2 * WIDTH_M)[0])
    care.loc[east, "category"] = "空巢、失能"
    care.to_csv(care_file, index=False)
    assert _run(municipality, *extra) == 0
    table = _table(municipality["out"])
    assert table.loc[table.index.notna(), "run"].to_dict() == {
        "西区": batch.SKIPPED,
        "中区": batch.SKIPPED,
        "东区": batch.COMPUTED,
    }
    # without the care table every district is computed again (its care map gone)
    assert _run(municipality, "--compounds", str(compounds_file)) == 0
    table = _table(municipality["out"])
    assert set(table.loc[table.index.notna(), "run"]) == {batch.COMPUTED}
    assert not any((municipality["out"] / f / "care_map.csv").exists() for f in table["folder"])


def _holds(blob: bytes, lon: float, lat: float, x: float, y: float) -> bool:
    """Whether a file's bytes hold a location: its doubles, or its figures written near."""
    for values in ((lon, lat), (x, y)):
        if any(np.float64(v).tobytes() in blob for v in values):
            return True
    text = blob.decode("latin-1")
    for first, second in ((f"{lon:.6f}", f"{lat:.6f}"), (f"{x:.1f}", f"{y:.1f}")):
        for hit in re.finditer(re.escape(first), text):
            if second in text[max(0, hit.start() - 80) : hit.end() + 80]:
                return True
    return False


def test_no_file_of_the_batch_holds_a_care_record_location(municipality, tmp_path):
    compounds_file, care_file, homes = _compounds_and_care(municipality)
    extra = ("--compounds", str(compounds_file), "--care", str(care_file))
    assert _run(municipality, *extra) == 0
    records = pd.read_csv(care_file)
    places = list(
        zip(records["lon"], records["lat"], OX + homes[:, 0], OY + homes[:, 1], strict=True)
    )
    # the check finds a location written as an output would write it
    probe = f'{{"lon": {places[0][0]:.6f}, "lat": {places[0][1]:.6f}}}'.encode()
    assert _holds(probe, *places[0])
    assert _holds(np.array([places[0][2], places[0][3]]).tobytes(), *places[0])
    written = [
        path
        for root in (municipality["out"], tmp_path / "cache")
        for path in root.rglob("*")
        if path.is_file()
    ]
    suffixes = {path.suffix for path in written}
    assert {".csv", ".json", ".html", ".gpkg", ".npz"} <= suffixes
    for path in written:
        blob = path.read_bytes()
        assert not any(_holds(blob, *place) for place in places), path


def test_compound_and_care_errors_are_one_line(municipality, capsys):
    assert _run(municipality, "--new-from", "2020") == 2
    said = capsys.readouterr().err.strip()
    assert said == "carecircle: error: --new-from applies to compounds given with --compounds"
    missing = municipality["out"].parent / "no-care.csv"
    assert _run(municipality, "--care", str(missing)) == 2
    said = capsys.readouterr().err.strip()
    assert said == f"carecircle: error: {missing}: care table not found"
    assert _run(municipality, "--care", str(missing), "--care-min-count", "0") == 2
    assert "--care-min-count 0" in capsys.readouterr().err
    assert not (municipality["out"] / "districts.csv").exists()
