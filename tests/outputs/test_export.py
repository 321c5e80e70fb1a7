"""coverage.gpkg in the CRS asked for (--crs), and the checks of that CRS."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3

import numpy as np
import pyogrio
import pyproj
import pytest

from carecircle import cli
from carecircle.errors import InputError
from carecircle.outputs import export

# a transverse Mercator centred on the demo district, as a city's local grid would be
LOCAL = "+proj=tmerc +lat_0=0 +lon_0=24.94 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"
LAYERS = ("communities", "facilities", "circles", "circles_dissolved", "uncovered")


@pytest.fixture(scope="module")
def written(demo_analysis, tmp_path_factory):
    """The demo's GeoPackage in WGS 84 (the default), CGCS2000 and the local grid."""
    folder = tmp_path_factory.mktemp("crs")
    return {
        crs: export.write_geopackage(demo_analysis, folder / f"{n}.gpkg", crs=crs)
        for n, crs in enumerate((None, "EPSG:4490", LOCAL))
    }


def _metadata(path, layer: str) -> dict[str, str]:
    return json.loads(pyogrio.read_info(path, layer=layer)["layer_metadata"]["carecircle"])


@pytest.mark.parametrize("crs", [None, "EPSG:4490", LOCAL])
def test_every_layer_is_written_and_recorded_in_the_crs(written, crs):
    path = written[crs]
    wanted = pyproj.CRS.from_user_input(crs or "EPSG:4326")
    for layer in LAYERS:
        found = pyproj.CRS.from_user_input(pyogrio.read_info(path, layer=layer)["crs"])
        assert found.equals(wanted, ignore_axis_order=True), layer
        metadata = _metadata(path, layer)
        assert pyproj.CRS.from_user_input(metadata["output_crs"]).equals(wanted), layer
        assert metadata["output_crs_name"] == wanted.name
        assert metadata["crs"] == "EPSG:32635"  # the analysis's own, still recorded


def test_cgcs2000_is_registered_by_its_code(written):
    with contextlib.closing(sqlite3.connect(written["EPSG:4490"])) as con:
        rows = con.execute(
            "SELECT DISTINCT s.organization, s.organization_coordsys_id FROM gpkg_contents c "
            "JOIN gpkg_spatial_ref_sys s USING (srs_id) WHERE c.data_type = 'features'"
        ).fetchall()
    assert rows == [("EPSG", 4490)]


@pytest.mark.parametrize("crs", ["EPSG:4490", LOCAL])
def test_the_features_are_the_same_places_in_any_crs(written, crs):
    wgs84 = pyogrio.read_dataframe(written[None], layer="communities")
    other = pyogrio.read_dataframe(written[crs], layer="communities")
    assert other.crs.equals(pyproj.CRS.from_user_input(crs), ignore_axis_order=True)
    back = other.to_crs("EPSG:4326")
    shift = np.abs(np.asarray(back.total_bounds) - np.asarray(wgs84.total_bounds))
    assert shift.max() < 1e-6  # degrees: well under a metre
    assert (back["id"] == wgs84["id"]).all()
    if pyproj.CRS.from_user_input(crs).is_projected:  # metres: the areas as in the analysis
        utm = wgs84.to_crs("EPSG:32635").area
        assert np.allclose(other.area, utm, rtol=2e-3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("EPSG:999999", "--crs 'EPSG:999999': not a coordinate reference system"),
        ("CGCS2000 please", "--crs 'CGCS2000 please': not a coordinate reference system"),
        ("EPSG:4978", "--crs 'EPSG:4978': WGS 84 is Geocentric CRS, not a geographic or"),
        ("EPSG:5773", "not a geographic or projected CRS"),
    ],
)
def test_a_bad_crs_is_one_line(value, expected):
    with pytest.raises(InputError) as caught:
        export.output_crs(value)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert "EPSG:4490 (CGCS2000)" in message  # what would do


def test_the_default_and_codes(demo_analysis):
    assert export.output_crs().to_epsg() == 4326
    assert export.output_crs(4490).to_epsg() == 4490
    assert export.crs_text(export.output_crs("epsg:4545")) == "EPSG:4545"
    assert export.output_crs("EPSG:4979").to_epsg() == 4326  # 3-D: its horizontal part


def test_a_bad_crs_writes_nothing(demo_analysis, tmp_path):
    path = tmp_path / "coverage.gpkg"
    with pytest.raises(InputError, match="crs 'nowhere'"):
        export.write_geopackage(demo_analysis, path, crs="nowhere")
    assert list(tmp_path.iterdir()) == []


def test_a_zone_far_from_the_district_is_written_with_a_warning(
    demo_analysis, tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(logging.getLogger("carecircle"), "propagate", True)  # after cli.main
    with caplog.at_level(logging.WARNING, logger="carecircle"):
        export.write_geopackage(demo_analysis, tmp_path / "gk.gpkg", crs="EPSG:4545")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("EPSG:4545" in m and "lies outside it" in m for m in warned), warned
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="carecircle"):
        export.write_geopackage(demo_analysis, tmp_path / "local.gpkg", crs=LOCAL)
    assert not [r for r in caplog.records if "lies outside" in r.getMessage()]


def test_the_command_line_refuses_a_bad_crs_before_the_analysis(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["demo", "--out", str(out), "--no-progress", "--crs", "EPSG:0"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("carecircle: error: --crs 'EPSG:0': not a coordinate reference system")
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
