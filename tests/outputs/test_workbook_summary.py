"""coverage.xlsx read back: its summary sheet against the CSVs, print settings, colours, guide."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from carecircle.outputs import export
from carecircle.outputs import workbook as report
from carecircle.outputs.maps import STATUS_COLOURS
from carecircle.terms import STATUS_LABELS_ZH


@pytest.fixture(scope="module")
def written(demo_analysis, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("book")
    return {
        "zh": report.workbook(demo_analysis, out / "coverage.xlsx"),
        "en": report.workbook(demo_analysis, out / "en.xlsx", lang="en"),
        "summary": export.write_summary(demo_analysis, out / "summary.csv"),
        "townships": export.write_townships(demo_analysis, out / "townships.csv"),
        "facilities": export.write_facilities(demo_analysis, out / "facilities.csv"),
        "district": export.write_district(demo_analysis, out / "district.csv"),
    }


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig")


def _section(sheet, heading: str) -> list[tuple]:
    """The rows of the summary sheet's table under ``heading`` (header row first)."""
    rows = list(sheet.iter_rows(values_only=True))
    start = 1 + next(
        i for i, row in enumerate(rows) if row[0] == heading and all(v is None for v in row[1:])
    )
    found = []
    for row in rows[start:]:
        if all(v is None for v in row):
            break
        found.append(row)
    return found


def test_the_workbook_opens_on_the_summary(written):
    book = openpyxl.load_workbook(written["zh"])
    assert book.sheetnames[0] == "汇总"
    assert book.active.title == "汇总"
    assert openpyxl.load_workbook(written["en"]).active.title == "summary"


def test_the_summary_figures_are_the_sums_of_summary_csv(demo_analysis, written):
    summary = _csv(written["summary"])
    sheet = openpyxl.load_workbook(written["zh"])["汇总"]
    header, *circles = _section(sheet, "各服务圈")
    assert header[:5] == ("服务圈", "时限(分钟)", "计算人数", "圈内人数", "覆盖比例")
    assert len(circles) == len(demo_analysis.circles_measured) == 2
    for row, name in zip(circles, demo_analysis.circles_measured, strict=True):
        residents = summary[f"{name}_residents"].sum()
        within = summary[f"{name}_within"].sum()
        assert row[2] == pytest.approx(residents, abs=1.0)  # the CSV rounds to 0.1
        assert row[3] == pytest.approx(within, abs=1.0)
        assert row[4] == pytest.approx(within / residents, abs=1e-4)
        status = summary[f"{name}_status"]
        assert row[5:8] == (
            (status == "covered").sum(),
            (status == "partial").sum(),
            status.isin(["uncovered", "no_facility"]).sum(),
        )
    eldercare = circles[0][4]
    assert 0.5 < eldercare < 0.7  # the demo's 60 %
    headline = dict(r[:2] for r in _section(sheet, "主要指标"))
    assert headline["养老服务圈"].startswith(f"{eldercare:.0%}")
    assert headline["社区数"] == str(len(summary))
    below = (_csv(written["facilities"])["standard_status"] == "below").sum()
    assert headline["未达标设施"] == str(below)


def test_the_summary_lists_the_townships_and_the_findings(demo_analysis, written):
    sheet = openpyxl.load_workbook(written["zh"])["汇总"]
    townships = _csv(written["townships"])
    header, *rows = _section(sheet, "各街道(乡镇)")
    assert header[0] == "街道(乡镇)"
    assert [r[0] for r in rows] == townships["township"].tolist()
    share = header.index("养老服务圈覆盖比例")
    assert [r[share] for r in rows] == pytest.approx(townships["eldercare_share"].tolist())

    facilities = _csv(written["facilities"])
    header, *rows = _section(sheet, "未达标设施")
    below = facilities.loc[facilities["standard_status"] == "below", "id"].tolist()
    assert below  # the demo's 240 m² station
    assert [r[0] for r in rows] == below
    assert {r[header.index("设施标准")] for r in rows} == {"未达标"}
    assert rows[0][header.index("标准说明")].startswith("建筑面积240 m²")

    header, *rows = _section(sheet, "全区指标")
    assert header[:2] == ("指标", "现状")
    assert len(rows) == len(demo_analysis.district)
    assert rows[0][header.index("状态")] == "未达标"  # the nursing-bed share
    header, *rows = _section(sheet, "街道养老服务中心与站点")
    outside = facilities.loc[facilities["within_centre_circle"] == False, "id"]  # noqa: E712
    assert {r[0] for r in rows} >= set(outside)


def test_every_sheet_prints_on_a4_landscape_one_page_wide(written):
    for lang in ("zh", "en"):
        book = openpyxl.load_workbook(written[lang])
        for sheet in book:
            setup = sheet.page_setup
            assert setup.orientation == "landscape", sheet.title
            assert int(setup.paperSize) == 9  # A4
            assert int(setup.fitToWidth) == 1
            assert int(setup.fitToHeight) == 0  # as many pages down as it takes
            assert sheet.sheet_properties.pageSetUpPr.fitToPage
            assert sheet.print_title_rows == "$1:$1"
            assert sheet.freeze_panes is not None
            assert sheet.freeze_panes.endswith("2")
            assert "communities" in sheet.oddHeader.left.text  # the place (the file's name)
            assert sheet.oddHeader.center.text == "&A"  # the sheet's name
            assert "&P" in sheet.oddFooter.center.text


def test_the_page_header_names_the_place_and_the_run_date(demo_analysis, written):
    from carecircle.outputs.headline import headline

    top = headline(demo_analysis)
    sheet = openpyxl.load_workbook(written["zh"])["社区"]
    assert top.place in sheet.oddHeader.left.text
    assert top.run_date in sheet.oddHeader.left.text


def _rules(sheet, column: int) -> dict[str, str]:
    """The fill colour (``#rrggbb``) of each value the column's conditional formats colour."""
    letter = openpyxl.utils.get_column_letter(column)
    found = {}
    for formatting in sheet.conditional_formatting:
        if not str(formatting.sqref).startswith(f"{letter}2:"):
            continue
        for rule in formatting.rules:
            assert rule.operator == "equal"
            word = rule.formula[0].strip('"')
            found[word] = "#" + rule.dxf.fill.bgColor.rgb[-6:].lower()
    return found


def test_status_cells_are_coloured_as_on_the_map(written):
    book = openpyxl.load_workbook(written["zh"])
    sheet = book["社区"]
    headers = [c.value for c in sheet[1]]
    for circle in ("养老服务圈", "医养结合服务圈"):
        column = headers.index(f"{circle}状态") + 1
        rules = _rules(sheet, column)
        for code, colour in STATUS_COLOURS.items():
            assert rules[STATUS_LABELS_ZH[code]] == colour
        # the range covers every community
        values = {row[0] for row in sheet.iter_cols(column, column, 2, values_only=True)}
        assert values <= set(rules)
    facilities = book["设施"]
    column = [c.value for c in facilities[1]].index("设施标准") + 1
    rules = _rules(facilities, column)
    assert rules["未达标"] == STATUS_COLOURS["uncovered"]
    assert rules["达标"] == STATUS_COLOURS["covered"]
    # no cell is filled one by one
    assert all(cell.fill.fill_type is None for row in sheet.iter_rows(min_row=2) for cell in row)


def test_the_column_guide_explains_every_column(written):
    book = openpyxl.load_workbook(written["zh"])
    guide = pd.read_excel(written["zh"], sheet_name="列说明")
    assert list(guide.columns) == ["工作表", "列", "含义"]
    for name in ("社区", "街道(乡镇)", "设施", "全区指标", "运行参数"):
        headers = [c.value for c in book[name][1]]
        listed = guide.loc[guide["工作表"] == name]
        assert listed["列"].tolist() == headers
        assert listed["含义"].notna().all(), listed.loc[listed["含义"].isna(), "列"].tolist()
    english = pd.read_excel(written["en"], sheet_name="column guide")
    share = english.loc[english["Column"] == "Elderly-care circle share", "Meaning"].iloc[0]
    assert "share of residents within" in share


def test_district_csv_leads_with_the_headline(demo_analysis, written):
    summary = _csv(written["summary"])
    district = _csv(written["district"])
    n = len(demo_analysis.circles_measured)
    rows = district.iloc[:n].set_index("rule")
    for name in demo_analysis.circles_measured:
        within, residents = summary[f"{name}_within"].sum(), summary[f"{name}_residents"].sum()
        assert rows.loc[f"{name}_share", "value"] == pytest.approx(within / residents, abs=1e-4)
        part, whole = rows.loc[f"{name}_share", "basis"].split(" of ")
        assert float(part) == pytest.approx(within, abs=1.0)
        assert float(whole) == pytest.approx(residents, abs=1.0)
        assert np.isnan(rows.loc[f"{name}_share", "target"])
    # then the targets, as before
    targets = district.iloc[n:].reset_index(drop=True)
    assert targets["rule"].tolist() == demo_analysis.district["rule"].tolist()
    assert list(district.columns) == list(demo_analysis.district.columns)


def test_the_summary_prints_legibly_its_columns_narrow_and_long_texts_wrapped(written):
    from carecircle.outputs import workbook

    sheet = openpyxl.load_workbook(written["zh"])["汇总"]
    widths = [d.width for d in sheet.column_dimensions.values() if d.width]
    assert widths and max(widths) <= workbook._SUMMARY_WIDTH
    # the whole page: A4 landscape holds about 150 characters legibly, one page wide
    assert sum(widths) <= 200
    wrapped = [
        c
        for row in sheet.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.alignment.wrap_text and not c.font.b
    ]
    assert any(c.value.startswith("建筑面积240 m²") for c in wrapped)  # the note, wrapped
