"""Document outputs on the demo: the overview PNG and the Excel workbook."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from matplotlib import image as mpimg

from carecircle import circles
from carecircle.errors import InputError
from carecircle.outputs import export
from carecircle.outputs import overview as _overview
from carecircle.outputs import workbook as report
from carecircle.outputs.maps import STATUS_COLOURS
from carecircle.terms import STATUS_LABELS_EN

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _blend(hex_colour: str, alpha: float) -> np.ndarray:
    """A colour drawn with ``alpha`` over white, as 0-1 RGB."""
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255.0
    return alpha * rgb + (1 - alpha)


def _pixels_near(image: np.ndarray, colour: np.ndarray, tol: float = 0.02) -> int:
    return int((np.abs(image[..., :3] - colour).max(axis=-1) < tol).sum())


def test_overview_png_is_a_map_of_the_statuses(demo_analysis, tmp_path):
    path = tmp_path / "overview.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        written = _overview.overview_png(demo_analysis, path)
    assert written == path
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000
    image = mpimg.imread(path)
    height, width = image.shape[:2]
    assert width > 900
    assert height > 900
    # communities are filled with the map's status colours (60 % over white)
    statuses = set(demo_analysis.communities["eldercare_status"])
    assert {"covered", "uncovered"} <= statuses
    for status in ("covered", "uncovered"):
        assert _pixels_near(image, _blend(STATUS_COLOURS[status], 0.6)) > 2_000, status
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_overview_of_another_circle_in_english(demo_analysis, tmp_path):
    before = demo_analysis.communities.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = _overview.overview_png(
            demo_analysis, tmp_path / "medical.png", circle="medical", lang="en", dpi=80
        )
    image = mpimg.imread(path)
    assert image.shape[1] < 900  # lower dpi, smaller image
    # the medical circle leaves no community uncovered in the demo
    assert "uncovered" not in set(demo_analysis.communities["medical_status"])
    # (a few anti-aliased pixels of the red circle outline come close to it)
    assert _pixels_near(image, _blend(STATUS_COLOURS["uncovered"], 0.6)) < 200
    pd.testing.assert_frame_equal(demo_analysis.communities, before)


def test_chinese_labels_have_a_font():
    font = _overview.cjk_font()
    if font is None:
        pytest.skip("no font with Chinese glyphs on this machine")
    assert font.is_file()
    assert _overview._covers(font, "养老服务圈已覆盖未覆盖部分覆盖街道养老服务中心")
    assert not _overview._covers(font, "\U0001fae8")  # a character no font here has


def test_without_a_chinese_font_the_map_falls_back_to_english(
    demo_analysis, tmp_path, monkeypatch, caplog
):
    # overview_png looks cjk_font up in _overview, where both are defined
    monkeypatch.setattr(_overview, "cjk_font", lambda: None)
    with (
        caplog.at_level(logging.WARNING, logger="carecircle.outputs.overview"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error")  # no empty boxes: DejaVu would warn of missing glyphs
        path = _overview.overview_png(demo_analysis, tmp_path / "en.png", dpi=60)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert "no font with Chinese glyphs" in caplog.text


def test_overview_replaces_an_existing_file(demo_analysis, tmp_path):
    path = tmp_path / "overview.png"
    path.write_bytes(b"old")
    _overview.overview_png(demo_analysis, path, dpi=50)
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_overview_bad_arguments(demo_analysis, tmp_path):
    with pytest.raises(InputError, match=r"'walking'.*eldercare, medical"):
        _overview.overview_png(demo_analysis, tmp_path / "x.png", circle="walking")
    with pytest.raises(InputError, match="is not supported; expected one of"):
        _overview.overview_png(demo_analysis, tmp_path / "x.png", lang="fr")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("span_m", "expected_m"),
    [(1185.0, 200.0), (4000.0, 1000.0), (12_000.0, 2000.0), (30_000.0, 5000.0), (7.0, 1.0)],
)
def test_scale_bar_length_is_round_and_within_a_quarter(span_m, expected_m):
    assert _overview.nice_length_m(span_m) == expected_m
    assert expected_m <= span_m / 4


def test_scale_bar_length_needs_a_span():
    with pytest.raises(ValueError, match="positive"):
        _overview.nice_length_m(0.0)


def test_workbook_in_chinese(demo_analysis, tmp_path):
    path = report.workbook(demo_analysis, tmp_path / "coverage.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["汇总", "社区", "街道(乡镇)", "设施", "全区指标", "运行参数", "列说明"]
    settings = dict(zip(sheets["运行参数"]["参数"], sheets["运行参数"]["值"], strict=True))
    assert settings["walking_slope_model"] == "none (no DEM)"  # the demo has no DEM
    assert float(settings["walking_steps_up_s_per_step"]) == 0.93
    assert int(settings["walking_edges_steps"]) > 0  # Helsinki's flights of steps

    summary = export.summary_table(demo_analysis)
    communities = sheets["社区"]
    assert len(communities) == len(demo_analysis.communities) == 12
    assert list(communities.columns[:6]) == [
        "编号",
        "名称",
        "类型",
        "街道(乡镇)",
        "人口",
        "60岁以上人口",
    ]
    assert len(communities.columns) == len(summary.columns)
    assert communities["编号"].tolist() == summary["id"].tolist()
    assert communities["人口"].tolist() == summary["population"].tolist()
    # the circle's own label names its columns; statuses are in Chinese, row by row
    expected = summary["eldercare_status"].map(circles.STATUS_LABELS_ZH)
    assert communities["养老服务圈状态"].tolist() == expected.tolist()
    assert "未覆盖" in set(communities["养老服务圈状态"])
    assert "医养结合服务圈覆盖比例" in communities.columns
    assert set(communities["类型"]) <= {"城市社区", "农村"}

    assert "街道养老服务中心" in set(sheets["设施"]["设施等级"])
    assert len(sheets["街道(乡镇)"]) == len(demo_analysis.townships())
    assert sheets["全区指标"]["状态"].tolist()[0] == "未达标"


def test_workbook_formats(demo_analysis, tmp_path):
    path = report.workbook(demo_analysis, tmp_path / "coverage.xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book["社区"]
    assert sheet.freeze_panes == "C2"  # header row and id, name stay in view
    headers = [cell.value for cell in sheet[1]]
    share = headers.index("养老服务圈覆盖比例") + 1
    assert sheet.cell(row=2, column=share).number_format == "0.0%"
    assert 0.0 <= sheet.cell(row=2, column=share).value <= 1.0  # a share, shown as %
    widths = {c: sheet.column_dimensions[c].width for c in ("A", "B")}
    assert widths["B"] > widths["A"] >= 6  # names are wider than ids
    district = book["全区指标"]
    assert district.cell(row=2, column=2).number_format == "0.0%"
    for name in book.sheetnames:
        assert book[name].freeze_panes.endswith("2")


def test_workbook_in_english(demo_analysis, tmp_path):
    path = report.workbook(demo_analysis, tmp_path / "coverage.xlsx", lang="en")
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == [
        "summary",
        "communities",
        "townships",
        "facilities",
        "district",
        "parameters",
        "column guide",
    ]
    communities = sheets["communities"]
    assert list(communities.columns[:3]) == ["ID", "Name", "Kind"]
    assert "Elderly-care circle share" in communities.columns
    summary = export.summary_table(demo_analysis)
    expected = summary["eldercare_status"].map(STATUS_LABELS_EN)
    assert communities["Elderly-care circle status"].tolist() == expected.tolist()
    assert list(tmp_path.iterdir()) == [Path(path)]


def test_workbook_sentences_in_the_readers_language(demo_analysis, tmp_path):
    zh = pd.read_excel(report.workbook(demo_analysis, tmp_path / "zh.xlsx"), sheet_name=None)
    notes = zh["设施"].set_index("编号")["标准说明"]
    assert notes["F03"].startswith("建筑面积240 m²，低于300 m²的要求（")
    assert notes["F05"] == "本政策未规定该等级设施的标准"  # a health centre
    basis = zh["全区指标"]["计算依据"].tolist()
    assert basis[0] == "床位58张，其中护理型床位24张"
    assert "无数据" in basis
    words = re.compile(r"[A-Za-z]{3,}")  # an English word; m² and 附件1 are not
    for sheet, column in (("设施", "标准说明"), ("设施", "建议"), ("全区指标", "计算依据")):
        texts = zh[sheet][column].dropna().astype(str)
        assert not [t for t in texts if words.search(t)], (sheet, column)

    en = pd.read_excel(
        report.workbook(demo_analysis, tmp_path / "en.xlsx", lang="en"), sheet_name=None
    )
    notes = en["facilities"].set_index("ID")["Standard note"]
    assert notes["F03"].startswith("240 m² is below the 300 m² (")
    assert en["district"]["Computed from"].tolist()[0] == "24 of 58"
    # the CSVs, for scripts, keep their columns and English sentences
    written = pd.read_csv(export.write_facilities(demo_analysis, tmp_path / "f.csv"))
    assert list(written.columns) == [
        c for c in export.FACILITY_COLUMNS if c in demo_analysis.facilities
    ]
    assert written.set_index("id").loc["F03", "standard_note"].startswith("240 m² is below")


def test_a_communitys_data_note_in_the_readers_language(demo_analysis, tmp_path):
    from carecircle.outputs import maps

    communities = demo_analysis.communities.copy()
    notes = [
        "population missing; kind inferred as rural from '村' in the name",
        "geometry repaired (Self-intersection[1 2]); kind not given and not evident from the "
        "name; assumed urban",
    ]
    communities["input_note"] = notes + [""] * (len(communities) - 2)
    noted = dataclasses.replace(demo_analysis, communities=communities)
    zh = pd.read_excel(report.workbook(noted, tmp_path / "zh.xlsx"), sheet_name="社区")
    assert zh["数据说明"].tolist()[:2] == [
        "人口缺失；名称含“村”，按农村计",
        "边界已修复（Self-intersection[1 2]）；未给出类型，名称也看不出，按城市计",
    ]
    en = pd.read_excel(
        report.workbook(noted, tmp_path / "en.xlsx", lang="en"), sheet_name="communities"
    )
    assert en["Data note"].tolist()[:2] == notes
    page = maps.build(noted).get_root().render()
    assert "人口缺失；名称含“村”，按农村计" in page  # the popup, in zh (UTF-8, not escaped)
    assert export.summary_table(noted)["input_note"].tolist()[:2] == notes  # the CSV: as is


def test_workbook_bad_language(demo_analysis, tmp_path):
    with pytest.raises(InputError, match="is not supported; expected one of"):
        report.workbook(demo_analysis, tmp_path / "x.xlsx", lang="fr")


def test_the_map_credits_the_network_it_ran_on_as_text(demo_analysis):
    from carecircle.outputs import maps

    page = maps.build(demo_analysis).get_root().render()
    assert json.dumps("walking network © OpenStreetMap contributors") in page  # by default
    hostile = "<img src=x onerror=alert(1)>.shp"
    layer = dataclasses.replace(
        demo_analysis,
        parameters={**demo_analysis.parameters, "network": hostile, "network_kind": "road layer"},
    )
    page = maps.build(layer).get_root().render()
    assert "OpenStreetMap contributors" not in page
    assert "<img src=x" not in page
    assert json.dumps("walking network: &lt;img src=x onerror=alert(1)&gt;.shp") in page
    both = dataclasses.replace(
        demo_analysis,
        parameters={
            **demo_analysis.parameters,
            "network": "town.osm.pbf + 道路.shp",
            "network_kind": "OpenStreetMap + road layer",
        },
    )
    page = maps.build(both).get_root().render()
    assert json.dumps("walking network © OpenStreetMap contributors, and 道路.shp") in page
