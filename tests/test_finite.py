"""Numbers that are not numbers (inf, -inf, nan written out, 1e999) are refused in every table.

Each table is made in ``tmp_path``; each refusal is one line naming the file, the row, the
column and the text found. A blank cell stays the way to say a number is unknown.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from refusals import refusal

from carecircle import costing, plan, policy
from carecircle.inputs import readers as inputs

NOT_NUMBERS = ("inf", "-inf", "Infinity", "nan", "NaN", "-nan", "1e999")


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text", NOT_NUMBERS)
@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("beds", "expected a number of beds ≥ 0"),
        ("area_m2", "expected an area in m² ≥ 0"),
        ("nursing_beds", "expected a number of beds ≥ 0"),
    ],
)
def test_facilities_refuse_a_number_that_is_not_one(
    tmp_path: Path, text: str, column: str, expected: str
) -> None:
    body = "id,name,tier,lon,lat,beds,area_m2,nursing_beds\nF1,甲,clinic,106.5,29.5,3,100,1\n"
    body += f"F2,乙,clinic,106.6,29.5,{text if column == 'beds' else 3},"
    body += f"{text if column == 'area_m2' else 100},{text if column == 'nursing_beds' else 1}\n"
    path = _csv(tmp_path / "f.csv", body)
    message = refusal(inputs.read_facilities, path)
    assert message.startswith(f"{path}: row 2 (line 3), column {column!r}: found {text!r}; ")
    assert expected in message


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_facility_locations_refuse_a_number_that_is_not_one(tmp_path: Path, text: str) -> None:
    path = _csv(tmp_path / "f.csv", f"id,name,tier,lon,lat\nF1,甲,clinic,106.5,{text}\n")
    assert refusal(inputs.read_facilities, path) == (
        f"{path}: row 1 (line 2), column 'lat': found {text!r}; expected a latitude in degrees"
    )


def test_nan_written_out_is_refused_but_a_blank_cell_is_unknown(tmp_path: Path) -> None:
    blank = _csv(tmp_path / "blank.csv", "id,name,tier,lon,lat,beds\nF1,甲,clinic,106.5,29.5,\n")
    assert np.isnan(inputs.read_facilities(blank)["beds"].iloc[0])
    nan = _csv(tmp_path / "nan.csv", "id,name,tier,lon,lat,beds\nF1,甲,clinic,106.5,29.5,nan\n")
    assert refusal(inputs.read_facilities, nan) == (
        f"{nan}: row 1 (line 2), column 'beds': found 'nan'; expected a number of beds ≥ 0 "
        "(a blank cell where it is unknown)"
    )


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_candidates_refuse_a_cost_that_is_not_a_number(tmp_path: Path, text: str) -> None:
    path = _csv(tmp_path / "c.csv", f"id,lon,lat,cost\nC1,106.5,29.5,1000\nC2,106.6,29.5,{text}\n")
    message = refusal(inputs.read_candidates, path)
    assert message.startswith(f"{path}: row 2 (line 3), column 'cost': found {text!r}; ")


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (np.inf, "found inf; expected a number of people ≥ 0"),
        (-np.inf, "found -inf; expected a number of people ≥ 0"),
        ("1e999", "found '1e999'; expected a number of people ≥ 0"),
        ("nan", "found 'nan'; expected a number of people ≥ 0 (a blank cell where it is unknown)"),
    ],
)
def test_communities_refuse_a_population_that_is_not_a_number(
    tmp_path: Path, value: object, found: str
) -> None:
    path = tmp_path / "c.gpkg"
    population = [10, value] if isinstance(value, float) else ["10", value]
    gpd.GeoDataFrame(
        {"id": ["1", "2"], "name": ["甲社区", "乙社区"], "population": population},
        geometry=[shapely.box(106.5, 29.5, 106.51, 29.51), shapely.box(106.6, 29.5, 106.61, 29.51)],
        crs=4326,
    ).to_file(path)
    assert refusal(inputs.read_communities, path) == f"{path}: row 2, column 'population': {found}"


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_costing_refuses_residents_that_are_not_a_number(tmp_path: Path, text: str) -> None:
    path = _csv(
        tmp_path / "f.csv",
        "id,name,tier,lon,lat,area_m2,失能老人\n"
        f"F1,甲,street_center,106.5,29.5,1000,2\nF2,乙,street_center,106.6,29.5,1000,{text}\n",
    )
    facilities = inputs.read_facilities(path)
    message = refusal(costing.cost, facilities, policy.load("yuncheng"), source=path)
    assert message.startswith(
        f"{path}: row 2 (line 3) (id 'F2'), column '失能老人': found {text!r}"
    )


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_plans_refuse_a_count_that_is_not_a_number(tmp_path: Path, text: str) -> None:
    header = (
        "township_code,township,communities_and_villages,centers_existing,centers_new_2021,"
        "stations_existing,stations_new_2021"
    )
    path = _csv(tmp_path / "p.csv", f"{header}\n500231100,桂溪街道,12,1,0,3,{text}\n")
    assert refusal(plan.read_plan, path) == (
        f"{path}: row 1 (line 2), column 'stations_new_2021': found {text!r}; expected a whole "
        "number from 0 to 10,000 (a blank cell means 0)"
    )
