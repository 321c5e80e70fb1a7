"""Shapefile-safe field names: short, ASCII, unique, not reserved, the same on every run."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET

import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import carecircle as cc
from carecircle.outputs import export
from carecircle.outputs.fieldnames import MAX_LENGTH, RESERVED, WORDS, shapefile_names

SAFE = re.compile(r"[a-z][a-z0-9_]*")


def _check_safe(names: dict[str, str]) -> None:
    """Every name a dBase field may have, and no two the same, case aside."""
    fields = list(names.values())
    for field in fields:
        assert SAFE.fullmatch(field), field
        assert len(field.encode("ascii")) <= MAX_LENGTH, field
        assert field not in RESERVED, field
    assert len({f.lower() for f in fields}) == len(fields), fields


@pytest.fixture(scope="module")
def sited(demo_analysis):
    """The demo with two proposed sites: every layer coverage.gpkg can hold."""
    question = {"count": 2, "tier": "community_station", "spacing_m": 150.0}
    return cc.siting.attach(demo_analysis, cc.siting.propose(demo_analysis, **question))


@pytest.fixture(scope="module")
def gpkgs(sited, tmp_path_factory):
    """The sited demo's GeoPackage with its own names and with Shapefile-safe ones."""
    folder = tmp_path_factory.mktemp("names")
    plain = export.write_geopackage(sited, folder / "plain.gpkg")
    safe = export.write_geopackage(sited, folder / "safe.gpkg", shapefile_safe=True)
    return plain, safe


def _layers(path) -> dict[str, list[str]]:
    return {
        str(name): list(pyogrio.read_info(path, layer=name)["fields"])
        for name, kind in pyogrio.list_layers(path)
        if kind
    }


def test_every_layer_of_the_geopackage_gets_safe_names(gpkgs):
    plain, safe = gpkgs
    layers = _layers(plain)
    assert {"communities", "facilities", "proposed_sites", "candidates"} <= set(layers)
    assert _layers(safe).keys() == layers.keys()
    for name, columns in layers.items():
        names = shapefile_names(columns)
        _check_safe(names)
        assert _layers(safe)[name] == list(names.values()), name
    # the long names really are shortened, and the known words as the table says
    communities = shapefile_names(layers["communities"])
    assert any(len(c) > MAX_LENGTH for c in layers["communities"])
    assert communities["eldercare_share"] == "elc_share"
    assert communities["medical_status"].startswith(WORDS["medical"])
    assert shapefile_names(layers["proposed_sites"])["order"] != "order"  # a reserved word


def test_the_field_names_table_maps_every_field_back(gpkgs):
    plain, safe = gpkgs
    table = pyogrio.read_dataframe(safe, layer=export.FIELD_NAMES_TABLE)
    for name, columns in _layers(plain).items():
        rows = table[table["layer"] == name]
        assert rows["column"].tolist() == columns, name
        assert rows["field"].tolist() == _layers(safe)[name], name
    metadata = json.loads(
        pyogrio.read_info(safe, layer="communities")["layer_metadata"]["carecircle"]
    )
    assert metadata["shapefile_safe"] == "true"


def test_the_safe_layers_export_to_shapefile_unchanged(gpkgs, tmp_path):
    _, safe = gpkgs
    for name, fields in _layers(safe).items():
        frame = pyogrio.read_dataframe(safe, layer=name)
        shp = tmp_path / f"{name}.shp"
        pyogrio.write_dataframe(frame, shp, driver="ESRI Shapefile", encoding="UTF-8")
        assert list(pyogrio.read_info(shp)["fields"]) == fields, name


def test_the_styles_read_the_short_names(gpkgs):
    _, safe = gpkgs
    fields = _layers(safe)
    with sqlite3.connect(safe) as con:
        rows = con.execute("SELECT f_table_name, styleQML FROM layer_styles").fetchall()
    for layer, qml in rows:
        root = ET.fromstring(qml)
        used = {e.get("attr") for e in root.iter("renderer-v2") if e.get("attr")}
        used |= {e.get("fieldName") for e in root.iter("text-style")}
        assert used <= set(fields[layer]), (layer, used)


def test_names_are_the_same_in_every_process():
    columns = [
        "eldercare_share",
        "eldercare_status",
        "eldercare_median_min",
        "area_per_resident_required_m2",
        "老年人口",
        "order",
        "x" * 30,
        "x" * 31,
    ]
    here = shapefile_names(columns)
    code = (
        "import json, sys; from carecircle.outputs.fieldnames import shapefile_names; "
        "print(json.dumps(shapefile_names(json.loads(sys.argv[1]))))"
    )
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", code, json.dumps(columns)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert json.loads(result.stdout) == here
    _check_safe(here)
    assert here["x" * 30] != here["x" * 31]  # cut to the same ten letters, then numbered


def test_clashes_are_numbered_in_order():
    columns = [f"population_counted_in_{year}" for year in (2020, 2021, 2022)]
    names = shapefile_names(columns)
    _check_safe(names)
    first = names[columns[0]]
    assert len(first) == MAX_LENGTH
    assert [names[c] for c in columns[1:]] == [first[:8].rstrip("_") + f"_{n}" for n in (2, 3)]


def test_a_column_given_twice_is_refused():
    with pytest.raises(ValueError, match="'id' is given twice"):
        shapefile_names(["id", "name", "id"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), unique=True, max_size=60))
def test_any_columns_get_safe_distinct_names(columns):
    names = shapefile_names(columns)
    assert list(names) == columns
    _check_safe(names)
    assert shapefile_names(columns) == names
