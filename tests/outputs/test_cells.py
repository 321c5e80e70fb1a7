"""Names that look like formulas or hold control characters, through every table written.

Every CSV gets a leading ``'`` on a formula-like text cell and reads back unchanged with the
tool's own reader; every workbook holds such a name as text; a control character no writer can
refuse. LibreOffice, where installed, opens the files to show that no cell evaluates.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecircle import cli, outputs, pipeline, plan
from carecircle._cells import FORMULA_STARTS, REPLACEMENT, csv_text, read_text, to_csv, to_sheet
from carecircle._validate import read_csv
from carecircle.inputs import readers as inputs
from carecircle.outputs import maps

FORMULAS = ('=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "'=1+1")
"""Names a spreadsheet would evaluate (the last once its own ``'`` is taken off)."""
SPACED = ("\tname", "\rcr")
"""Formula-like too; the readers of input files strip such surrounding whitespace."""
CONTROL = ("a\x00b", "v\x0bt", "c\x1fd", "e\x08f")
"""Control characters a workbook cannot hold."""
NAMES = (*FORMULAS, *SPACED, *CONTROL)


def _in_workbook(name: str) -> str:
    """A name as a workbook gives it back: a carriage return reads as a line feed (XML)."""
    shown = "".join(REPLACEMENT if ch in "\x00\x0b\x1f\x08" else ch for ch in name)
    return shown.replace("\r", "\n")


def _raw_cells(path: Path, column: str) -> list[str]:
    """A CSV column as stored, without the tool's reader undoing anything."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        return [row[column] for row in csv.DictReader(file)]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unquoted(folder: Path) -> dict[str, list[str]]:
    """Each CSV of ``folder`` with the stored cells a spreadsheet would take for formulas."""
    found = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as file:
            cells = [cell for row in csv.reader(file) for cell in row]
        found[path.name] = [c for c in cells if c.startswith(FORMULA_STARTS) and not _number(c)]
    return found


def _formula_cells(path: Path) -> list[str]:
    """The cells of a workbook that are formulas, or would become one when edited in Excel."""
    book = openpyxl.load_workbook(path)
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in book
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
        or (
            isinstance(cell.value, str)
            and cell.value.startswith(FORMULA_STARTS)
            and not _number(cell.value)
            and not cell.quotePrefix
        )
    ]


def _text_cells(path: Path) -> dict[str, str]:
    """Every text cell of a workbook by its value: its data type."""
    book = openpyxl.load_workbook(path)
    return {
        c.value: c.data_type
        for s in book
        for r in s.iter_rows()
        for c in r
        if isinstance(c.value, str)
    }


# --- the cell rules ----------------------------------------------------------------------------


def test_formula_like_text_is_quoted_and_numbers_are_not() -> None:
    assert csv_text("=1+1") == "'=1+1"
    assert csv_text("+1+1") == "'+1+1"
    assert csv_text("-2+3") == "'-2+3"
    assert csv_text("@SUM(A1)") == "'@SUM(A1)"
    assert csv_text("\tname") == "'\tname"
    assert csv_text("\rcr") == "'\rcr"
    assert csv_text("'=1+1") == "''=1+1"  # quoted again, so that it reads back with its quote
    for kept in ("-3.5", "+7", "-1e5", "中区街道", "a-b", "'quoted", "", -3.5, 2, None):
        assert csv_text(kept) == kept
    assert read_text("'=1+1") == "=1+1"
    assert read_text("''=1+1") == "'=1+1"
    for kept in ("'quoted", "'-3.5", "-3.5", "'", ""):
        assert read_text(kept) == kept  # a quote before anything else is the user's own


TEXT = st.text(alphabet=st.sampled_from(list("'=+-@\t\r\n\x00\x0b,\"a1.e 中")), max_size=8)


@given(TEXT)
def test_a_text_reads_back_as_it_was(text: str) -> None:
    assert read_text(csv_text(text)) == text


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=5))
def test_a_csv_written_reads_back_with_the_same_cells(tmp_path_factory, texts) -> None:
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "name": texts})
    frame["share"] = -3.5
    to_csv(frame, path)
    back = read_csv(path)
    assert back["name"].tolist() == texts
    assert back["share"].tolist() == ["-3.5"] * len(texts)  # a number is never quoted


def test_a_sheet_holds_formula_like_names_as_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": list(NAMES), "share": np.linspace(-3.5, 3.5, len(NAMES))})
    path = tmp_path / "t.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        to_sheet(writer, frame, "t")
    sheet = openpyxl.load_workbook(path)["t"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == [_in_workbook(n) for n in NAMES]
    assert [c.data_type for c in cells] == ["s"] * len(NAMES)
    # marked as typed with a leading quote, so that editing the cell keeps it text
    assert [c.quotePrefix for c in cells[:7]] == [True] * 7
    assert not cells[7].quotePrefix
    assert [row[1].data_type for row in sheet.iter_rows(min_row=2)] == ["n"] * len(NAMES)


# --- analyze: every output --------------------------------------------------------------------


@pytest.fixture(scope="module")
def named(demo_analysis: pipeline.Analysis) -> pipeline.Analysis:
    """The demo with its first communities, their townships and facilities renamed to NAMES."""
    communities = demo_analysis.communities.copy()
    facilities = demo_analysis.facilities.copy()
    n, m = min(len(communities), len(NAMES)), min(len(facilities), len(NAMES))
    assert n == len(NAMES) and m >= 8
    communities.loc[communities.index[:n], "name"] = list(NAMES)
    communities.loc[communities.index[:n], "township"] = list(NAMES)
    facilities.loc[facilities.index[:m], "name"] = list(NAMES[:m])
    return dataclasses.replace(demo_analysis, communities=communities, facilities=facilities)


@pytest.fixture(scope="module")
def written(named: pipeline.Analysis, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("named")
    outputs.write_all(named, out)
    maps.build(named).save(str(out / "map.html"))
    return out


def test_every_csv_of_analyze_reads_back_the_same_names(named, written: Path) -> None:
    m = min(len(named.facilities), len(NAMES))
    assert read_csv(written / "summary.csv")["name"].tolist()[: len(NAMES)] == list(NAMES)
    assert read_csv(written / "facilities.csv")["name"].tolist()[:m] == list(NAMES[:m])
    assert set(NAMES) <= set(read_csv(written / "townships.csv")["township"])
    stored = _raw_cells(written / "summary.csv", "name")[: len(NAMES)]
    assert stored[: len(FORMULAS) + len(SPACED)] == ["'" + n for n in (*FORMULAS, *SPACED)]
    assert stored[len(FORMULAS) + len(SPACED) :] == list(CONTROL)  # kept as they are
    unquoted = _unquoted(written)
    assert set(unquoted) == {"summary.csv", "townships.csv", "facilities.csv", "district.csv"}
    assert all(cells == [] for cells in unquoted.values()), unquoted
    # numbers are never quoted, negative ones neither
    shares = _raw_cells(written / "summary.csv", "eldercare_share")
    assert not any(s.startswith("'") for s in shares)


def test_the_workbook_of_analyze_holds_the_names_as_text(written: Path) -> None:
    assert _formula_cells(written / "coverage.xlsx") == []
    cells = _text_cells(written / "coverage.xlsx")
    for name in NAMES:
        assert cells[_in_workbook(name)] == "s"


def test_the_geopackage_keeps_the_names_and_shows_a_nul(named, written: Path) -> None:
    for layer, rows in (("communities", len(NAMES)), ("facilities", len(named.facilities))):
        got = pyogrio.read_dataframe(written / "coverage.gpkg", layer=layer)["name"].tolist()
        expected = [n.replace("\x00", REPLACEMENT) for n in NAMES][: min(rows, len(NAMES))]
        assert got[: len(expected)] == expected  # GDAL would end "a\x00b" at "a"
    assert (written / "overview.png").stat().st_size > 0


def test_the_map_carries_the_names_as_escaped_data(written: Path) -> None:
    page = (written / "map.html").read_text(encoding="utf-8")
    assert not any(chr(c) in page for c in (0, 0x0B, 0x1F, 0x08))
    assert r"a\u0000b" in page and r"v\u000bt" in page


# --- site, then cost from its proposed_sites.csv -------------------------------------------


def test_site_and_cost_keep_formula_like_names(
    demo_analysis: pipeline.Analysis, tmp_path: Path
) -> None:
    spots = demo_analysis.communities.to_crs(4326).geometry.representative_point()
    names = [*FORMULAS[:4], "普通"]  # as a planner's file has them: no quote of carecircle's
    candidates = pd.DataFrame(
        {
            "id": [f"C{i}" for i in range(len(names))],
            "name": names,
            "lon": spots.x.to_numpy()[: len(names)],
            "lat": spots.y.to_numpy()[: len(names)],
        }
    )
    given = tmp_path / "候选.csv"
    candidates.to_csv(given, index=False, encoding="utf-8")
    out = tmp_path / "site"
    args = ["site", "--demo", "--policy", "wanzhou", "--candidates", str(given)]
    assert cli.main([*args, "--count", str(len(names)), "--out", str(out), "--no-progress"]) == 0
    by_id = dict(zip(candidates["id"], candidates["name"], strict=True))
    back = read_csv(out / "candidates.csv")
    assert [by_id[i] for i in back["id"]] == back["name"].tolist()
    assert set(back["name"]) == set(names)
    proposed = inputs.read_facilities(out / "proposed_sites.csv")
    assert any(name.startswith(FORMULA_STARTS) for name in proposed["name"])
    assert proposed["name"].tolist() == [by_id[i] for i in proposed["id"]]
    assert _formula_cells(out / "siting.xlsx") == []
    unquoted = _unquoted(out)
    assert {"proposed_sites.csv", "candidates.csv", "summary.csv"} <= set(unquoted)
    assert all(cells == [] for cells in unquoted.values()), unquoted
    assert set(names) <= set(_text_cells(out / "siting.xlsx"))

    costed = tmp_path / "cost"
    facilities = ["--facilities", str(out / "proposed_sites.csv")]
    assert cli.main(["cost", *facilities, "--policy", "wanzhou", "--out", str(costed)]) == 0
    assert read_csv(costed / "costing.csv")["name"].tolist() == proposed["name"].tolist()
    assert _formula_cells(costed / "costing.xlsx") == []
    assert _unquoted(costed) == {"costing.csv": []}


def test_the_plan_audit_keeps_formula_like_township_names(tmp_path: Path) -> None:
    with resources.as_file(resources.files("carecircle.data")) as data:
        audit = plan.audit(
            plan.read_plan(data / "plans" / "dianjiang_2020_2022.csv"),
            plan.read_divisions(data / "divisions" / "communities_villages.csv"),
        )
    townships = audit.townships.copy()
    townships.loc[townships.index[: len(NAMES)], "township"] = list(NAMES)
    paths = outputs.write_plan_audit(dataclasses.replace(audit, townships=townships), tmp_path)
    assert read_csv(paths["csv"])["township"].tolist()[: len(NAMES)] == list(NAMES)
    assert _formula_cells(paths["xlsx"]) == []
    assert _unquoted(tmp_path) == {"plan_audit.csv": []}


# --- LibreOffice: no cell evaluates ------------------------------------------------------------


def _libreoffice() -> str:
    for name in ("libreoffice", "soffice"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    raise AssertionError  # unreachable


def _as_shown(office: str, path: Path, out: Path) -> dict[str, list[list[str]]]:
    """Every sheet of ``path`` as LibreOffice shows it (formulas as their results), by name."""
    out.mkdir()
    # UTF-8, every sheet into its own file (LibreOffice 7.2 and later)
    filter_ = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    command = [office, f"-env:UserInstallation={(out / 'profile').as_uri()}", "--headless"]
    subprocess.run(
        [*command, "--convert-to", filter_, "--outdir", str(out), str(path)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    shown = {}
    for sheet in sorted(out.glob("*.csv")):
        with sheet.open(encoding="utf-8-sig", newline="") as file:
            shown[sheet.stem] = list(csv.reader(file))
    return shown


def test_libreoffice_evaluates_none_of_the_names(written: Path, tmp_path: Path) -> None:
    office = _libreoffice()
    control = tmp_path / "control.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = '=HYPERLINK("http://x","y")'  # a formula, as openpyxl writes one
    book.save(control)
    evaluated = _as_shown(office, control, tmp_path / "control")
    assert [rows[0][0] for rows in evaluated.values()] == ["y"]  # the check can see one

    shown = _as_shown(office, written / "coverage.xlsx", tmp_path / "xlsx")
    communities = next(rows for sheet, rows in shown.items() if sheet.endswith("社区"))
    assert [row[1] for row in communities[1 : len(FORMULAS) + 1]] == list(FORMULAS)
    table = _as_shown(office, written / "summary.csv", tmp_path / "csv")
    names = [row[1] for rows in table.values() for row in rows[1 : len(FORMULAS) + 1]]
    assert names == ["'" + name for name in FORMULAS]  # shown with the quote, as text
