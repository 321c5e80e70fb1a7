"""Excel inputs: a workbook's sheet reads as the same text cells as the CSV of the same table.

Every table carecircle reads from a CSV (facilities, candidate sites, the township plan, the
code list, the facilities costed) is written here to a ``.xlsx`` with openpyxl, numbers stored
as numbers, and read back: the results must equal those of the CSV. ``tests/data/tables.xls``
(made by ``tests/data/make_tables_xls.py`` with xlwt) checks the ``.xls`` reader the same way.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from carecircle import _excel, cli, costing, inputs, plan, policy
from carecircle._validate import Where, read_table
from carecircle.inputs.readers import layer_where
from tests.refusals import refusal

DATA = Path(str(resources.files("carecircle.data")))
FACILITIES = DATA / "demo" / "facilities.csv"
PLAN = DATA / plan.BUNDLED_PLAN
DIVISIONS = DATA / plan.BUNDLED_DIVISIONS
XLS = Path(__file__).parent / "data" / "tables.xls"


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _cell(text: str) -> Any:
    """A CSV cell as a spreadsheet would hold it: a number where it is one, else text."""
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


def _xlsx(
    path: Path,
    rows: list[list[Any]],
    *,
    titles: int = 0,
    text_columns: tuple[str, ...] = (),
    sheet: str = "Sheet1",
) -> Path:
    """Write ``rows`` (header first) to a one-sheet workbook, with ``titles`` rows above."""
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for number in range(titles):
        ws.append(["某某县 一览表" if number == 0 else None])
    header = [str(h) for h in rows[0]]
    ws.append(header)
    for row in rows[1:]:
        ws.append(
            [
                v if h in text_columns or not isinstance(v, str) else _cell(v)
                for h, v in zip(header, row, strict=True)
            ]
        )
    book.save(path)
    return path


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))


# --- the same results as the CSV ----------------------------------------------------------


@pytest.mark.parametrize("titles", [0, 2])
def test_facilities_xlsx_reads_as_the_csv(tmp_path: Path, titles: int) -> None:
    book = _xlsx(tmp_path / "设施.xlsx", _rows(FACILITIES), titles=titles)
    want, got = inputs.read_facilities(FACILITIES), inputs.read_facilities(book)
    _same(want.drop(columns="geometry"), got.drop(columns="geometry"))
    assert want.geometry.geom_equals_exact(got.geometry, tolerance=0).all()
    first = titles + 2  # the header is Excel row titles + 1
    assert got.attrs[_excel.SHEET_ROWS] == tuple(range(first, first + len(got)))


def test_facilities_xls_reads_as_the_csv() -> None:
    want = inputs.read_facilities(FACILITIES)
    got = inputs.read_facilities(XLS, layer="facilities")
    _same(want.drop(columns="geometry"), got.drop(columns="geometry"))
    assert want.geometry.geom_equals_exact(got.geometry, tolerance=0).all()
    # a merged title and a blank row above the header: the first facility is Excel row 4
    assert layer_where(got, role="facilities").row(0) == "row 1 (Excel row 4)"


def test_candidates_xlsx_reads_as_the_csv(tmp_path: Path) -> None:
    rows = [
        ["编号", "名称", "建筑面积", "造价", "经度", "纬度"],
        ["C1", "闲置校舍", "860", "1200000", "106.57", "29.56"],
        ["C2", "旧厂房", "1200.5", "", "106.58", "29.565"],
    ]
    table = tmp_path / "候选.csv"
    with table.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    book = _xlsx(tmp_path / "候选.xlsx", rows)
    want = inputs.read_candidates(table, coords="gcj02")
    got = inputs.read_candidates(book, coords="gcj02")
    _same(want.drop(columns="geometry"), got.drop(columns="geometry"))
    assert want.geometry.geom_equals_exact(got.geometry, tolerance=0).all()


def test_plan_and_code_list_xlsx_read_as_the_csv(tmp_path: Path) -> None:
    codes = ("township_code", "code", "county_code")  # codes kept as text, as statisticians do
    book = _xlsx(tmp_path / "plan.xlsx", _rows(PLAN), titles=1, text_columns=codes)
    _same(plan.read_plan(PLAN), plan.read_plan(book))
    book = _xlsx(tmp_path / "divisions.xlsx", _rows(DIVISIONS), text_columns=codes)
    _same(plan.read_divisions(DIVISIONS), plan.read_divisions(book))


def test_plan_xls_reads_as_the_csv() -> None:
    _same(plan.read_plan(PLAN), plan.read_plan(XLS, sheet="plan"))
    _same(plan.read_plan(PLAN), plan.read_plan(XLS))  # the sheet named "plan" is the plan


def test_costing_a_workbook_gives_the_csvs_figures(tmp_path: Path) -> None:
    rows = [
        ["id", "name", "tier", "lon", "lat", "area_m2", "year"],
        ["N0", "甲", "community_station", "24.94", "60.168", "400", ""],
        ["N1", "乙", "street_center", "24.95", "60.169", "1600", "2031"],
    ]
    table = tmp_path / "sites.csv"
    with table.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    book = _xlsx(tmp_path / "sites.xlsx", rows)
    profile = policy.load("wanzhou")
    results = [
        costing.cost(inputs.read_facilities(p), profile, first_year=2030, years=3, source=p)
        for p in (table, book)
    ]
    _same(results[0].facilities, results[1].facilities)
    _same(results[0].per_year, results[1].per_year)


# --- cells --------------------------------------------------------------------------------


def _one_row(tmp_path: Path, values: list[Any], formats: dict[int, str] | None = None) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append([f"c{i}" for i in range(len(values))])
    ws.append(values)
    for column, number_format in (formats or {}).items():
        ws.cell(2, column + 1).number_format = number_format
    path = tmp_path / "cells.xlsx"
    book.save(path)
    return path


def test_cells_read_as_excel_shows_them(tmp_path: Path) -> None:
    values = [
        "001",  # a code stored as text
        1,
        1.0,
        0.1,
        0.1 + 0.2,  # 0.30000000000000004 in the file; Excel shows 0.3
        106.5712345,
        dt.datetime(2024, 3, 1),
        dt.datetime(2024, 3, 1, 8, 30),
        True,
        None,
        42,
        -3.5,
    ]
    path = _one_row(tmp_path, [*values, "tail"], formats={10: "000000"})
    frame = read_table(path)
    assert frame.iloc[0].tolist() == [
        "001",
        "1",
        "1",
        "0.1",
        "0.3",
        "106.5712345",
        "2024-03-01",
        "2024-03-01 08:30:00",
        "TRUE",
        "",
        "000042",
        "-3.5",
        "tail",
    ]


def test_xls_cells_read_as_excel_shows_them() -> None:
    frame = read_table(XLS, sheet="cells")
    assert frame.to_dict("list") == {
        "code": ["001", "002"],
        "one": ["1", ""],
        "tenth": ["0.1", ""],
        "date": ["2024-03-01", ""],
        "flag": ["TRUE", ""],
        "township": ["桂溪街道", "桂溪街道"],  # merged over both rows
        "padded": ["000042", ""],
    }


def test_merged_block_below_the_header_fills_its_cells(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "m.xlsx",
        [["township", "name"], ["桂溪街道", "a"], [None, "b"], ["桂阳街道", "c"]],
        titles=1,
    )
    book = openpyxl.load_workbook(path)
    ws = book.active
    assert ws is not None
    ws.merge_cells("A1:B1")  # the title, above the header: not spread into a header
    ws.merge_cells("A3:A4")  # one township over two rows
    book.save(path)
    frame = read_table(path)
    assert list(frame.columns) == ["township", "name"]
    assert frame["township"].tolist() == ["桂溪街道", "桂溪街道", "桂阳街道"]


def _with_cached_value(path: Path, cell: str, value: str) -> None:
    """Give a formula openpyxl wrote the value Excel would have saved with it."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    name = "xl/worksheets/sheet1.xml"
    xml = parts[name].decode()
    pattern = rf'(<c r="{cell}"[^>]*>\s*<f>[^<]*</f>)\s*(<v\s*/>|<v>\s*</v>)?'
    xml, count = re.subn(pattern, rf"\g<1><v>{value}</v>", xml)
    assert count == 1
    parts[name] = xml.encode()
    with zipfile.ZipFile(path, "w") as target:
        for part, data in parts.items():
            target.writestr(part, data)


def test_formulas_read_as_their_saved_values(tmp_path: Path) -> None:
    path = _one_row(tmp_path, [2, "=A2*2"])
    _with_cached_value(path, "B2", "4")
    assert read_table(path).iloc[0].tolist() == ["2", "4"]


def test_formulas_saved_without_values_are_refused(tmp_path: Path) -> None:
    path = _one_row(tmp_path, [2, "=A2*2"])  # openpyxl saves no values
    assert refusal(read_table, path) == (
        f"{path}: sheet 'Sheet' holds formulas (e.g. in B2) saved without their values (the "
        "program that wrote it does not calculate them); open it in Excel or WPS, save it, and "
        "retry"
    )


# --- rows as Excel shows them -------------------------------------------------------------


def test_a_bad_cell_names_the_excel_row(tmp_path: Path) -> None:
    rows: list[list[Any]] = _rows(FACILITIES)
    rows[3][6] = "many"  # the third facility's beds
    path = _xlsx(tmp_path / "f.xlsx", rows, titles=2)
    message = refusal(inputs.read_facilities, path)
    assert message.startswith(f"{path}: row 3 (Excel row 6), column 'beds': found 'many'")


def test_a_bad_count_in_a_plan_workbook_names_the_excel_row(tmp_path: Path) -> None:
    rows: list[list[Any]] = _rows(PLAN)
    rows[2][rows[0].index("centers_existing")] = "两"
    path = _xlsx(tmp_path / "plan.xlsx", rows, text_columns=("township_code",))
    message = refusal(plan.read_plan, path)
    assert f"{path}: row 2 (Excel row 3)" in message
    assert "'centers_existing'" in message and "'两'" in message


def test_blank_rows_are_skipped_and_the_rows_after_keep_their_numbers(tmp_path: Path) -> None:
    rows: list[list[Any]] = _rows(FACILITIES)[:3]
    rows.insert(2, [None] * len(rows[0]))  # an empty row between the two facilities
    rows[3][6] = "-1"
    path = _xlsx(tmp_path / "f.xlsx", rows)
    message = refusal(inputs.read_facilities, path)
    assert message.startswith(f"{path}: row 2 (Excel row 4), column 'beds'")


def test_the_cost_command_names_the_excel_row(tmp_path: Path, capsys: Any) -> None:
    rows = [
        ["id", "name", "tier", "lon", "lat", "year", "status"],
        ["N0", "甲", "community_station", 24.94, 60.168, None, "proposed"],
        ["N1", "乙", "community_station", 24.94, 60.168, 2031, "maybe"],
    ]
    path = _xlsx(tmp_path / "sites.xlsx", rows)
    args = ["cost", "--facilities", str(path), "--policy", "wanzhou", "--first-year", "2030"]
    assert cli.main([*args, "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(
        f"carecircle: error: {path}: row 2 (Excel row 3) (id 'N1'), column 'status': found 'maybe'"
    )


def test_where_words_each_kind_of_row() -> None:
    assert Where(Path("a.gpkg")).row(0) == "row 1"
    assert Where(Path("a.csv"), csv=True).row(0) == "row 1 (line 2)"
    assert Where(Path("a.xlsx"), sheet_rows=(5, 7)).row(1) == "row 2 (Excel row 7)"


# --- sheets -------------------------------------------------------------------------------


def test_empty_and_hidden_sheets_do_not_count(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "f.xlsx", _rows(FACILITIES), sheet="设施")
    book = openpyxl.load_workbook(path)
    book.create_sheet("Sheet2")  # empty, as Excel and WPS leave them
    book.create_sheet("旧表").append(["id"])
    book["旧表"].sheet_state = "hidden"
    book.save(path)
    assert len(inputs.read_facilities(path)) == len(_rows(FACILITIES)) - 1


def test_several_sheets_need_a_choice_and_the_choice_must_exist(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "f.xlsx", _rows(FACILITIES), sheet="设施")
    book = openpyxl.load_workbook(path)
    book.create_sheet("说明").append(["填表说明"])
    book.save(path)
    assert refusal(inputs.read_facilities, path) == (
        f"{path}: holds 2 sheets with cells ('设施', '说明'); choose one with "
        "--facilities-layer (layer= in Python)"
    )
    assert refusal(inputs.read_facilities, path, layer="设施表") == (
        f"{path}: no sheet '设施表'; sheets found: '设施', '说明'"
    )
    assert len(inputs.read_facilities(path, layer="设施")) == len(_rows(FACILITIES)) - 1
    assert "--divisions-sheet (sheet= in Python)" in refusal(plan.read_divisions, XLS)


# --- files that are not what they say -----------------------------------------------------


def test_communities_in_a_workbook_are_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "c.xlsx", [["id", "name", "population"], ["D1", "a", 5]])
    assert refusal(inputs.read_communities, path) == (
        f"{path}: communities must be a polygon layer (.gpkg .geojson .json .shp); an Excel "
        "table has no boundaries"
    )


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "f.xlsx",
            b"id,name,tier,lon,lat\n",
            "not an Excel workbook: the file holds text (a CSV renamed?); save it from Excel "
            "or WPS as .xlsx, or give a text table a .csv name",
        ),
        (
            "f.xls",
            b"<html><table><tr><td>id</td></tr></table></html>",
            "not an Excel workbook: the file holds a web page or XML; save it from Excel or "
            "WPS as .xlsx, or give a text table a .csv name",
        ),
        ("f.xlsx", b"", "the file is empty; expected an Excel workbook"),
        (
            # what Office writes for a password: a compound document holding the encrypted
            # package (its stream names in UTF-16)
            "f.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
            + b"\0" * 504
            + "EncryptedPackage".encode("utf-16-le"),
            "the workbook is password-protected (encrypted); save a copy without a password "
            "(File > Info > Protect Workbook) and retry",
        ),
        (
            "f.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504,
            "cannot be read as an Excel workbook",
        ),
    ],
)
def test_files_that_are_not_workbooks_are_refused(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert refusal(inputs.read_facilities, path).startswith(f"{path}: {expected}")


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("facilities.csv", "id\n")
    assert refusal(read_table, path).startswith(f"{path}: cannot be read as an Excel workbook")


def test_an_empty_sheet_and_empty_top_rows_are_refused(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    path = tmp_path / "f.xlsx"
    book.save(path)
    assert refusal(inputs.read_facilities, path) == (
        f"{path}: sheet 'Sheet' is empty; expected a header row and one row per facility under it"
    )
    ws = book.active
    assert ws is not None
    ws["A12"], ws["B12"] = "id", "name"
    book.save(path)
    assert refusal(plan.read_plan, path) == (
        f"{path}: sheet 'Sheet': Excel rows 1-10 are empty (the first cells are in row 12); "
        "expected the header row at the top (titles above it are fine)"
    )


def test_a_header_only_sheet_has_no_data_rows(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "f.xlsx", [["id", "name", "tier", "lon", "lat"]])
    assert refusal(inputs.read_facilities, path) == (
        f"{path}: no data rows; expected one row per facility"
    )


def test_a_value_right_of_the_header_is_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "f.xlsx", _rows(FACILITIES))
    book = openpyxl.load_workbook(path)
    ws = book.active
    assert ws is not None
    ws["J3"] = "备注"
    book.save(path)
    assert refusal(inputs.read_facilities, path) == (
        f"{path}: sheet 'Sheet1': Excel row 3 has a value in column J, right of the header's "
        "last column H; expected every value under a header"
    )


def test_xls_fixture_is_what_its_script_says() -> None:
    """The committed .xls holds the sheets its script writes, the empty Sheet3 among them."""
    import xlrd

    book = xlrd.open_workbook(str(XLS))
    assert book.sheet_names() == ["facilities", "plan", "cells", "Sheet3"]
    assert book.sheet_by_name("Sheet3").nrows == 0
