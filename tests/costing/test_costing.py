"""Costing: money rules at and around each threshold, worked out by hand.

The profiles here are written in tmp_path with the figures of the source documents:
万州府办发〔2020〕28号 §二(五)13, §二(七)17 (flat construction subsidies), 运〔2021〕—2 §三(二)
(300 yuan/m², cap 2000 m² in municipal districts, 1500 m² elsewhere) and §二(四) (operating
50,000–100,000 yuan a year by grade; bed subsidy 100/200/300 yuan per resident-month),
垫江府办〔2020〕8号 §三(二) (yearly awards 150,000 / 100,000 / 30,000 / 3,000 yuan).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from carecircle import cli, costing, outputs, policy
from carecircle.errors import InputError, PolicyError

NAN = float("nan")

WANZHOU = """
name = "wz_test"
title = "重庆市万州区 (Wanzhou)"
extends = "chongqing"
[money.construction_flat.street_center]
yuan = 2000000
min_area_m2 = 1500
source = "万州府办发〔2020〕28号 §二(五)13"
[money.construction_flat.community_station]
yuan = 200000
source = "万州府办发〔2020〕28号 §二(五)13"
[money.construction_flat.township_center]
yuan = 1000000
min_area_m2 = 800
source = "万州府办发〔2020〕28号 §二(七)17"
note = "with the village points of the township"
"""

YUNCHENG = """
name = "yc_test"
title = "山西省运城市 (Yuncheng)"
extends = "chongqing"
[money.construction_per_m2]
yuan_per_m2 = 300
cap_m2_municipal = 2000
cap_m2_other = 1500
{municipal}
source = "运〔2021〕—2 §三(二)"
[money.operating_by_grade]
min_yuan = 50000
max_yuan = 100000
source = "运〔2021〕—2 §二(四)"
[money.bed_subsidy_monthly]
self_care = 100
semi_disabled = 200
disabled = 300
source = "运〔2021〕—2 §二(四)"
"""

DIANJIANG = """
name = "dj_test"
title = "重庆市垫江县 (Dianjiang)"
extends = "chongqing"
[money.operating_yearly.street_center]
yuan = 150000
source = "垫江府办〔2020〕8号 §三(二)"
[money.operating_yearly.township_center]
yuan = 100000
source = "垫江府办〔2020〕8号 §三(二)"
[money.operating_yearly.community_station]
yuan = 30000
source = "垫江府办〔2020〕8号 §三(二)"
[money.operating_yearly.village_point]
yuan = 3000
source = "垫江府办〔2020〕8号 §三(二)"
"""


def _profile(tmp_path: Path, name: str, text: str) -> policy.Policy:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return policy.load(path)


@pytest.fixture
def wanzhou(tmp_path):
    return _profile(tmp_path, "wz", WANZHOU)


@pytest.fixture
def yuncheng(tmp_path):
    return _profile(tmp_path, "yc", YUNCHENG.format(municipal="municipal = false"))


@pytest.fixture
def yuncheng_municipal(tmp_path):
    return _profile(tmp_path, "ycm", YUNCHENG.format(municipal="municipal = true"))


@pytest.fixture
def dianjiang(tmp_path):
    return _profile(tmp_path, "dj", DIANJIANG)


def _facilities(tiers, area_m2, **others) -> pd.DataFrame:
    """A facility table like read_facilities returns, ids f1, f2, ..."""
    n = len(tiers)
    frame = pd.DataFrame(
        {
            "id": [f"f{i + 1}" for i in range(n)],
            "name": [f"设施{i + 1}" for i in range(n)],
            "tier": list(tiers),
            "area_m2": [float(a) for a in area_m2],
            "beds": np.zeros(n),
            "nursing_beds": np.zeros(n),
        }
    )
    for column, values in others.items():
        frame[column] = list(values)
    return frame


def _by_id(result: costing.Costing) -> pd.DataFrame:
    return result.facilities.set_index("id")


# --- 万州: flat construction subsidies --------------------------------------------------------


def test_wanzhou_street_centre_needs_1500_m2(wanzhou):
    frame = _facilities(["street_center"] * 3, [1499, 1500, 1501], year=[2021] * 3)
    result = _by_id(costing.cost(frame, wanzhou, first_year=2021))
    # "面积达1500平方米以上": 以上 includes 1500 itself
    assert result["construction_yuan"].tolist() == [0.0, 2_000_000.0, 2_000_000.0]
    assert "1,499 m² 未达 1,500 m²" in result.loc["f1", "construction_rule"]
    assert "below 1,500 m²" in result.loc["f1", "construction_rule_en"]
    assert "2,000,000 元" in result.loc["f2", "construction_rule"]
    assert "万州府办发〔2020〕28号 §二(五)13" in result.loc["f2", "construction_rule"]
    # no social_capital column: assumed eligible, and the rule text says so
    assert "按社会力量投资建设计" in result.loc["f2", "construction_rule"]


def test_wanzhou_station_and_township_centre(wanzhou):
    frame = _facilities(
        ["community_station", "community_station", "township_center", "township_center"],
        [300, NAN, 799, 800],
        year=[2021] * 4,
    )
    result = _by_id(costing.cost(frame, wanzhou, first_year=2021))
    # stations: 200,000 with no area threshold, so a missing area does not matter
    assert result.loc["f1", "construction_yuan"] == 200_000.0
    assert result.loc["f2", "construction_yuan"] == 200_000.0
    # township centres: 800 m² or more (§二(七)17)
    assert result.loc["f3", "construction_yuan"] == 0.0
    assert "799 m² 未达 800 m²" in result.loc["f3", "construction_rule"]
    assert result.loc["f4", "construction_yuan"] == 1_000_000.0
    assert "§二(七)17" in result.loc["f4", "construction_rule"]


def test_wanzhou_not_social_capital_gets_nothing(wanzhou):
    frame = _facilities(
        ["street_center"] * 7,
        [2000] * 7,
        year=[2022] * 7,
        social_capital=["否", "false", 0, "是", "TRUE", 1, ""],
    )
    result = _by_id(costing.cost(frame, wanzhou, first_year=2022))
    assert result["construction_yuan"].tolist() == [0.0] * 3 + [2_000_000.0] * 4
    assert "非社会力量投资建设" in result.loc["f1", "construction_rule"]
    assert "not built by social capital" in result.loc["f2", "construction_rule_en"]
    assert "社会资本一栏空白" in result.loc["f7", "construction_rule"]
    assert "社会资本" not in result.loc["f4", "construction_rule"].split("；", 1)[-1]


def test_social_capital_takes_the_words_the_facility_table_takes(wanzhou):
    # the same yes/no words as social_operated in the facility table (社会/公办 too)
    words = ["社会", "公办", "对", "不是", "t", "f"]
    frame = _facilities(["street_center"] * 6, [2000] * 6, year=[2022] * 6, social_capital=words)
    result = _by_id(costing.cost(frame, wanzhou, first_year=2022))
    assert result["construction_yuan"].tolist() == [2_000_000.0, 0.0] * 3


def test_wanzhou_stations_need_inspection_not_social_capital(wanzhou):
    # §二(五)13: "经验收合格的社区养老服务站一次性补助20万元" (stations are 公建民营)
    frame = _facilities(
        ["community_station", "township_center"],
        [300, 900],
        year=[2021, 2021],
        social_capital=["否", "否"],
    )
    result = _by_id(costing.cost(frame, wanzhou, first_year=2021))
    assert result.loc["f1", "construction_yuan"] == 200_000.0
    assert "不限社会力量投资建设" in result.loc["f1", "construction_rule"]
    # §二(七)17: township centres "社会力量投资建设的"
    assert result.loc["f2", "construction_yuan"] == 0.0


def test_wanzhou_village_points_and_health_tiers_get_no_flat_subsidy(wanzhou):
    frame = _facilities(["village_point", "clinic"], [60, 100], year=[2021, 2021])
    result = _by_id(costing.cost(frame, wanzhou, first_year=2021))
    assert result["construction_yuan"].tolist() == [0.0, 0.0]
    assert "乡镇养老服务中心的补助含辖区内互助点" in result.loc["f1", "construction_rule"]
    assert "无一次性建设补助标准" in result.loc["f2", "construction_rule"]


def test_bad_social_capital_value_names_row_column_and_value(wanzhou):
    frame = _facilities(["street_center"] * 2, [1500] * 2, year=[2021] * 2)
    frame["social_capital"] = ["是", "maybe"]
    with pytest.raises(InputError, match=r"row 2 \(id 'f2'\), column 'social_capital'.*'maybe'"):
        costing.cost(frame, wanzhou, first_year=2021)


# --- 运城: per-m² construction, operating range, bed subsidy ---------------------------------


def test_yuncheng_cap_1500_outside_municipal_districts(yuncheng):
    frame = _facilities(["street_center"] * 3, [1499, 1500, 1501], year=[2021] * 3)
    result = costing.cost(frame, yuncheng, first_year=2021)
    # 300 × 1499 = 449,700; 300 × 1500 = 450,000; 300 × min(1501, 1500) = 450,000
    assert result.facilities["construction_yuan"].tolist() == [449_700.0, 450_000.0, 450_000.0]
    assert result.municipal is False
    assert "非市辖区上限 1,500 m²" in result.facilities["construction_rule"].iloc[2]


def test_yuncheng_cap_2000_in_municipal_districts(yuncheng_municipal):
    frame = _facilities(["community_station"] * 3, [1999, 2000, 2001], year=[2021] * 3)
    result = costing.cost(frame, yuncheng_municipal, first_year=2021)
    # 300 × 1999 = 599,700; 300 × 2000 = 600,000; 300 × min(2001, 2000) = 600,000
    assert result.facilities["construction_yuan"].tolist() == [599_700.0, 600_000.0, 600_000.0]
    assert result.municipal is True


def test_municipal_argument_overrides_the_profile(yuncheng, yuncheng_municipal):
    frame = _facilities(["street_center"] * 2, [1501, 2001], year=[2021] * 2)
    up = costing.cost(frame, yuncheng, municipal=True, first_year=2021)
    # cap 2000: 300 × 1501 = 450,300; 300 × 2000 = 600,000
    assert up.facilities["construction_yuan"].tolist() == [450_300.0, 600_000.0]
    assert any("not as the profile says" in note for note in up.notes)
    down = costing.cost(frame, yuncheng_municipal, municipal=False, first_year=2021)
    # cap 1500: 300 × 1500 = 450,000 for both
    assert down.facilities["construction_yuan"].tolist() == [450_000.0, 450_000.0]


def test_the_profiles_municipal_default_is_stated(yuncheng, yuncheng_municipal):
    frame = _facilities(["street_center"], [1800], year=[2021])
    taken = costing.cost(frame, yuncheng_municipal, first_year=2021)
    (note,) = [n for n in taken.notes if n.startswith("neither --municipal")]
    assert "in a municipal district (市辖区)" in note
    assert "capped at 2,000 m²; give --not-municipal (municipal=False) for the 1,500 m² cap" in note
    other = costing.cost(frame, yuncheng, first_year=2021)
    assert any("capped at 1,500 m²; give --municipal" in n for n in other.notes)
    chosen = costing.cost(frame, yuncheng_municipal, municipal=True, first_year=2021)
    assert not any(n.startswith("neither --municipal") for n in chosen.notes)
    assert "capped at 2,000 m²" in outputs.format_costing(taken, lang="en")


def test_per_m2_rule_without_municipal_setting_is_refused(tmp_path):
    profile = _profile(tmp_path, "ycx", YUNCHENG.format(municipal=""))
    frame = _facilities(["street_center"], [1000], year=[2021])
    with pytest.raises(PolicyError, match="municipal"):
        costing.cost(frame, profile, first_year=2021)
    # the argument settles it: 300 × 1000 = 300,000
    result = costing.cost(frame, profile, municipal=False, first_year=2021)
    assert result.facilities["construction_yuan"].iloc[0] == 300_000.0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("cap_m2_other = 1500\n", "", "money.construction_per_m2 has no 'cap_m2_other'"),
        ("disabled = 300\n", "", "money.bed_subsidy_monthly has no 'disabled'"),
        (
            "min_yuan = 50000",
            "min_yuan = 500000",
            "money.operating_by_grade.min_yuan .500000. exceeds",
        ),
    ],
)
def test_money_tables_without_their_amounts_are_refused(tmp_path, old, new, message):
    text = YUNCHENG.format(municipal="municipal = false")
    assert old in text
    profile = _profile(tmp_path, "broken", text.replace(old, new, 1))
    frame = _facilities(["street_center"], [1000], year=[2021])
    with pytest.raises(PolicyError, match=f"broken.toml: {message}"):
        costing.cost(frame, profile, first_year=2021)


def test_yuncheng_rules_are_for_urban_centres_only(yuncheng):
    frame = _facilities(["township_center", "village_point"], [1000, 100], year=[2021, 2021])
    result = costing.cost(frame, yuncheng, first_year=2021).facilities
    assert result["construction_yuan"].tolist() == [0.0, 0.0]
    assert result["operating_yuan_per_year_max"].tolist() == [0.0, 0.0]
    assert result["bed_subsidy_yuan_per_year"].tolist() == [0.0, 0.0]
    assert "只适用于城市社区养老服务中心" in result["construction_rule"].iloc[0]


def test_yuncheng_operating_is_a_range(yuncheng):
    frame = _facilities(["street_center"] * 2, [1000] * 2, grade=["AAA", ""])
    result = costing.cost(frame, yuncheng, first_year=2021, years=2)
    table = result.facilities
    assert table["operating_yuan_per_year"].isna().all()
    assert table["operating_yuan_per_year_min"].tolist() == [50_000.0, 50_000.0]
    assert table["operating_yuan_per_year_max"].tolist() == [100_000.0, 100_000.0]
    assert "评定等级 AAA" in table["operating_rule"].iloc[0]
    assert "未填评定等级" in table["operating_rule"].iloc[1]
    # existing facilities, no construction: 2 × 50,000 and 2 × 100,000 a year
    assert result.per_year["operating_yuan_min"].tolist() == [100_000.0, 100_000.0]
    assert result.per_year["operating_yuan_max"].tolist() == [200_000.0, 200_000.0]
    assert result.per_year["construction_yuan"].tolist() == [0.0, 0.0]


def test_bed_subsidy_is_twelve_months_of_residents_by_need(yuncheng):
    frame = _facilities(
        ["street_center"] * 4,
        [1000] * 4,
        residents_self_care=[3, 4, "", 0],
        residents_semi_disabled=[2, "", "", 0],
        residents_disabled=[1, 2, None, 0],
    )
    result = costing.cost(frame, yuncheng, first_year=2021)
    beds = result.facilities["bed_subsidy_yuan_per_year"].tolist()
    # 12 × (100·3 + 200·2 + 300·1) = 12 × 1,000 = 12,000
    assert beds[0] == 12_000.0
    # semi-disabled blank counts as 0 and the rule says so: 12 × (100·4 + 300·2) = 12,000
    assert beds[1] == 12_000.0
    assert "半失能人数未填，按 0 计" in result.facilities["bed_subsidy_rule"].iloc[1]
    # all blank: unknown, not 0
    assert math.isnan(beds[2])
    assert not result.facilities["complete"].iloc[2]
    # zero residents: a known 0
    assert beds[3] == 0.0
    assert result.per_year["bed_subsidy_yuan"].iloc[0] == 24_000.0
    assert result.per_year["incomplete_facilities"].iloc[0] == 1


def test_no_resident_columns_leaves_the_bed_subsidy_unknown(yuncheng):
    frame = _facilities(["street_center"], [1000])
    result = costing.cost(frame, yuncheng, first_year=2021)
    assert math.isnan(result.facilities["bed_subsidy_yuan_per_year"].iloc[0])
    assert "no resident count columns" in result.facilities["bed_subsidy_rule_en"].iloc[0]
    assert any("no resident counts" in note for note in result.notes)


def test_negative_residents_are_refused(yuncheng):
    frame = _facilities(["street_center"], [1000], residents_disabled=[-1])
    with pytest.raises(InputError, match=r"column 'residents_disabled': found -1"):
        costing.cost(frame, yuncheng, first_year=2021)


# --- missing area --------------------------------------------------------------------------


def test_missing_area_is_reported_not_zeroed(wanzhou, yuncheng):
    frame = _facilities(
        ["street_center", "street_center"], [NAN, 1500], year=[2022, 2022], township=["甲", "甲"]
    )
    wz = costing.cost(frame, wanzhou, first_year=2021, years=2)
    assert math.isnan(wz.facilities["construction_yuan"].iloc[0])
    assert "建筑面积缺失" in wz.facilities["construction_rule"].iloc[0]
    assert "floor area missing" in wz.facilities["construction_rule_en"].iloc[0]
    assert wz.facilities["complete"].tolist() == [False, True]
    # 2022: only the known 2,000,000 is summed, and the table says one facility is left out
    assert wz.per_year["construction_yuan"].tolist() == [0.0, 2_000_000.0]
    assert wz.per_year["incomplete_facilities"].tolist() == [0, 1]
    assert wz.per_township["incomplete_facilities"].tolist() == [1]
    assert any("no floor area" in note for note in wz.notes)
    yc = costing.cost(frame, yuncheng, first_year=2021, years=2)
    assert math.isnan(yc.facilities["construction_yuan"].iloc[0])
    assert "建筑面积缺失" in yc.facilities["construction_rule"].iloc[0]


def test_totals_with_an_unknown_amount_are_never_shown_as_a_plain_number(tmp_path, yuncheng):
    # f1 has no floor area: its construction is unknown, so 2021's construction total is not
    # 0 and the totals including it are lower bounds; no resident counts: bed subsidies unknown
    frame = _facilities(["street_center"] * 2, [NAN, 1600], year=[2021, 2022])
    result = costing.cost(frame, yuncheng, first_year=2021, years=2)
    assert result.per_year["construction_known"].tolist() == [False, True]
    assert result.per_year["bed_subsidy_known"].tolist() == [False, False]
    assert result.per_township["construction_known"].tolist() == [False]
    text = outputs.format_costing(result, lang="en")
    per_year = text.split("per year")[1].split("per township")[0].splitlines()
    year_2021 = next(line for line in per_year if line.strip().startswith("2021"))
    assert year_2021.split()[:3] == ["2021", "?", "50,000–100,000"]  # construction: ?, not 0
    assert year_2021.split()[-3:] == ["≥", "50,000", "1"]  # total: at least the operating
    year_2022 = next(line for line in per_year if line.strip().startswith("2022"))
    assert year_2022.split()[1] == "450,000"  # f2's 1,500 m² × 300, known
    total = next(line for line in per_year if line.strip().startswith("total"))
    assert total.split()[1:3] == ["≥", "450,000"]
    sheets = outputs.write_costing(result, tmp_path, lang="en")
    book = openpyxl.load_workbook(sheets["xlsx"])
    cell = book["per year"]["D2"]  # 2021's construction subsidy
    assert book["per year"]["D1"].value == "construction subsidy (yuan)"
    assert cell.value == 0 and cell.number_format == '"≥ "#,##0;-#,##0;"?"'  # shows '?'
    assert book["per year"]["D3"].number_format == "#,##0"  # 2022: known


# --- 垫江: yearly awards, horizon, townships ------------------------------------------------


def test_dianjiang_awards_by_tier(dianjiang):
    tiers = ["street_center", "township_center", "community_station", "village_point", "hospital"]
    frame = _facilities(tiers, [1500, 800, 300, 50, 5000])
    result = costing.cost(frame, dianjiang, first_year=2021).facilities
    assert result["operating_yuan_per_year"].tolist() == [
        150_000.0,
        100_000.0,
        30_000.0,
        3_000.0,
        0.0,
    ]
    assert "150,000 元/年" in result["operating_rule"].iloc[0]
    assert "垫江府办〔2020〕8号 §三(二)" in result["operating_rule"].iloc[0]
    assert "无运营奖补标准" in result["operating_rule"].iloc[4]
    # no construction rule in this profile, no bed subsidy: known zeros
    assert result["bed_subsidy_yuan_per_year"].tolist() == [0.0] * 5
    assert result["complete"].all()


@pytest.fixture
def dianjiang_plan() -> pd.DataFrame:
    tiers = ["street_center", "community_station", "village_point", "township_center"]
    return _facilities(
        [*tiers, "township_center", "clinic"],
        [1500, 300, 50, 800, 800, 80],
        year=["", 2022, 2023, 2024, 2020, ""],
        township=["甲", "甲", "乙", "乙", "乙", "乙"],
    )


def test_dianjiang_totals_over_three_years(dianjiang, dianjiang_plan):
    result = costing.cost(dianjiang_plan, dianjiang, first_year=2021, years=3)
    per_year = result.per_year.set_index("year")
    assert per_year.index.tolist() == [2021, 2022, 2023]
    # 2021: street centre (existing) 150,000 + township centre opened 2020 100,000 = 250,000
    # 2022: + station opening 2022 30,000 = 280,000
    # 2023: + village point opening 2023 3,000 = 283,000; the 2024 centre is outside
    assert per_year["total_yuan_min"].tolist() == [250_000.0, 280_000.0, 283_000.0]
    assert per_year["total_yuan_max"].tolist() == [250_000.0, 280_000.0, 283_000.0]
    # operating: street centre, 2020 centre and clinic; then the station; then the point
    assert per_year["facilities_operating"].tolist() == [3, 4, 5]
    assert per_year["facilities_opening"].tolist() == [0, 1, 1]
    # 250,000 + 280,000 + 283,000 = 813,000
    assert result.total["total_yuan_min"] == 813_000.0
    table = _by_id(result)
    assert table["horizon_years"].tolist() == [3, 2, 1, 0, 3, 3]
    assert table.loc["f4", "horizon_total_yuan_min"] == 0.0
    assert any("after 2023" in note for note in result.notes)
    assert any("before 2021" in note for note in result.notes)


def test_dianjiang_totals_per_township(dianjiang, dianjiang_plan):
    result = costing.cost(dianjiang_plan, dianjiang, first_year=2021, years=3)
    towns = result.per_township.set_index("township")
    # 甲: 150,000 × 3 + 30,000 × 2 = 510,000
    # 乙: 3,000 × 1 + 100,000 × 3 (opened 2020) + 0 (2024) + 0 (clinic) = 303,000
    assert towns.loc["甲", "total_yuan_min"] == 510_000.0
    assert towns.loc["乙", "total_yuan_min"] == 303_000.0
    assert towns["facilities"].to_dict() == {"甲": 2, "乙": 4}
    # the three views add up to the same grand total
    assert towns["total_yuan_max"].sum() == result.per_year["total_yuan_max"].sum() == 813_000.0


def test_construction_counts_in_the_opening_year_only(wanzhou):
    frame = _facilities(
        ["community_station", "community_station", "community_station", "street_center"],
        [300, 300, 300, 1600],
        year=[2022, 2019, 2026, ""],
        township=["甲", "甲", "乙", "乙"],
    )
    result = costing.cost(frame, wanzhou, first_year=2021, years=3)
    # only the 2022 station's 200,000 falls within 2021-2023
    assert result.per_year["construction_yuan"].tolist() == [0.0, 200_000.0, 0.0]
    table = _by_id(result)
    # the existing centre has no construction subsidy, whatever its area
    assert table.loc["f4", "construction_yuan"] == 0.0
    assert "现有设施" in table.loc["f4", "construction_rule"]
    # the 2019 station's subsidy is its own but falls before the horizon
    assert table.loc["f2", "construction_yuan"] == 200_000.0
    assert table.loc["f2", "horizon_total_yuan_min"] == 0.0
    assert result.per_township.set_index("township")["construction_yuan"].to_dict() == {
        "甲": 200_000.0,
        "乙": 0.0,
    }


# --- which facilities are new: year and status ---------------------------------------------


def test_a_status_says_which_facilities_are_to_be_built(wanzhou):
    # no year: the status decides; 拟建/列入计划/现有 as the words in English
    words = ["proposed", "拟建", "PLANNED", "existing", "现有", ""]
    frame = _facilities(["community_station"] * 6, [300] * 6, status=words)
    result = costing.cost(frame, wanzhou, first_year=2030, years=2)
    table = _by_id(result)
    assert table["status"].tolist() == ["proposed"] * 3 + ["existing"] * 3
    assert table["construction_yuan"].tolist() == [200_000.0] * 3 + [0.0] * 3
    # the three to be built open in the horizon's first year, and say so
    assert result.per_year["construction_yuan"].tolist() == [600_000.0, 0.0]
    assert result.per_year["facilities_opening"].tolist() == [3, 0]
    assert result.facilities["complete"].all()
    said = "to be built (status proposed) have no opening year: taken as opening in 2030, the"
    assert any(note.startswith("3 facilities") and said in note for note in result.notes)
    assert "现有设施（无开业年份）" in table.loc["f4", "construction_rule"]


def test_a_proposed_facility_operates_from_the_first_year(dianjiang):
    frame = _facilities(["community_station"] * 2, [300] * 2, status=["proposed", "existing"])
    result = costing.cost(frame, dianjiang, first_year=2030, years=2)
    assert _by_id(result)["horizon_years"].tolist() == [2, 2]
    assert result.per_year["total_yuan_min"].tolist() == [60_000.0, 60_000.0]


def test_a_year_makes_a_facility_planned_unless_its_status_says_existing(wanzhou, dianjiang):
    frame = _facilities(
        ["community_station"] * 4,
        [300] * 4,
        year=[2031, 2031, 2031, 2018],
        status=["proposed", "", "existing", "existing"],
    )
    result = costing.cost(frame, wanzhou, years=3)
    table = _by_id(result)
    assert table["status"].tolist() == ["planned", "planned", "existing", "existing"]
    assert table["construction_yuan"].tolist() == [200_000.0, 200_000.0, 0.0, 0.0]
    assert "2031年开业，状态为现有" in table.loc["f3", "construction_rule"]
    # the horizon starts at the first year a facility to be built opens, not 2018
    assert result.first_year == 2031
    assert result.per_year["construction_yuan"].tolist() == [400_000.0, 0.0, 0.0]
    assert not any("before 2031" in note for note in result.notes)
    # an existing facility operates from its year when that falls within the horizon
    later = costing.cost(frame, dianjiang, first_year=2030, years=3)
    assert _by_id(later)["horizon_years"].tolist() == [2, 2, 2, 3]


def test_sites_the_plan_leaves_out_count_nothing(dianjiang, wanzhou):
    # as scripts/plan_sites.py writes them: no year, and why not
    status = ["planned", "after_the_horizon", "over_a_year_budget"]
    frame = _facilities(["community_station"] * 3, [300] * 3, year=[2030, "", ""], status=status)
    result = costing.cost(frame, dianjiang, first_year=2030, years=3)
    table = _by_id(result)
    assert table["status"].tolist() == status
    assert table["horizon_years"].tolist() == [3, 0, 0]
    assert table["horizon_total_yuan_max"].tolist() == [90_000.0, 0.0, 0.0]
    assert result.per_year["facilities_operating"].tolist() == [1, 1, 1]
    assert result.total["total_yuan_max"] == 90_000.0
    assert any("2 sites the plan leaves out of its years" in note for note in result.notes)
    built = costing.cost(frame, wanzhou, first_year=2030, years=3)
    # their subsidy is shown, as for a facility opening after the horizon, but not counted
    assert _by_id(built)["construction_yuan"].tolist() == [200_000.0] * 3
    assert built.total["construction_yuan"] == 200_000.0


def test_a_proposal_without_year_or_status_has_unknown_construction(wanzhou, dianjiang):
    # a table of proposed sites (newly_covered) that says neither: not taken as existing
    frame = _facilities(["community_station"] * 2, [300] * 2, newly_covered=[120.0, 80.0])
    result = costing.cost(frame, wanzhou, first_year=2030, years=2)
    table = _by_id(result)
    assert table["status"].tolist() == ["unknown", "unknown"]
    assert table["construction_yuan"].isna().all()
    assert "new or existing is not stated" in table.loc["f1", "construction_rule_en"]
    assert result.per_year["construction_known"].tolist() == [False, True]
    assert result.per_township["construction_known"].tolist() == [False]
    assert not any("no floor area" in note for note in result.notes)
    assert not any("no 'year' or 'status' column" in note for note in result.notes)
    # a profile with no construction rule has nothing unknown to say about construction
    awards = costing.cost(frame, dianjiang, first_year=2030, years=2)
    assert awards.facilities["construction_yuan"].tolist() == [0.0, 0.0]
    assert awards.facilities["complete"].all()
    # a blank status in such a table is as unknown; a status or a year settles it
    frame["status"] = ["", "proposed"]
    frame["year"] = ["2031", ""]
    settled = _by_id(costing.cost(frame, wanzhou, first_year=2030, years=2))
    assert settled["status"].tolist() == ["planned", "proposed"]
    assert settled["construction_yuan"].tolist() == [200_000.0, 200_000.0]


def test_a_facility_table_without_year_or_status_is_existing_and_says_so(wanzhou):
    frame = _facilities(["community_station"], [300])
    result = costing.cost(frame, wanzhou, first_year=2030)
    assert result.facilities["status"].tolist() == ["existing"]
    assert result.facilities["construction_yuan"].tolist() == [0.0]
    assert any("no 'year' or 'status' column" in note for note in result.notes)
    with_status = costing.cost(frame.assign(status=["existing"]), wanzhou, first_year=2030)
    assert not any("no 'year' or 'status' column" in note for note in with_status.notes)


@pytest.mark.parametrize(
    ("year", "status", "expected"),
    [
        (
            "",
            "built",
            "found 'built'; expected one of existing, planned, proposed, after_the_horizon, "
            "over_a_year_budget (or 现有, 已建, 列入计划, 拟建, 规划期内未安排, 超出年度预算), or "
            "blank",
        ),
        (
            "2031",
            "after_the_horizon",
            "found 'after_the_horizon'; expected existing, planned or proposed beside its year "
            "2031 (a site the plan leaves out has no year)",
        ),
    ],
)
def test_a_bad_status_names_the_row_and_what_would_do(tmp_path, capsys, year, status, expected):
    path = tmp_path / "sites.csv"
    path.write_text(
        "id,name,tier,lon,lat,year,status\n"
        "N0,甲,community_station,24.94,60.168,,proposed\n"
        f"N1,乙,community_station,24.94,60.168,{year},{status}\n",
        encoding="utf-8",
    )
    args = ["cost", "--facilities", str(path), "--policy", "wanzhou", "--first-year", "2030"]
    assert cli.main([*args, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: {path}: row 2 (line 3) (id 'N1'), column 'status': {expected}"
    )


def test_the_status_column_takes_the_siting_workbooks_header(wanzhou):
    frame = _facilities(["community_station"], [300])
    frame["安排"] = ["拟建"]
    result = costing.cost(frame, wanzhou, first_year=2030)
    assert result.facilities["status"].tolist() == ["proposed"]


def test_default_first_year_is_the_earliest_opening(dianjiang):
    frame = _facilities(["community_station"] * 2, [300] * 2, year=[2023, 2022])
    result = costing.cost(frame, dianjiang, years=2)
    assert result.first_year == 2022
    # 2022: 30,000; 2023: 2 × 30,000 = 60,000
    assert result.per_year["total_yuan_min"].tolist() == [30_000.0, 60_000.0]


def test_chinese_headers_are_accepted_for_optional_columns(wanzhou):
    frame = _facilities(["street_center"] * 2, [1500] * 2)
    frame["开业年份"] = [2021, 2022]
    frame["社会资本"] = ["否", "是"]
    frame["所属乡镇"] = ["甲", "乙"]
    result = costing.cost(frame, wanzhou, first_year=2021, years=2)
    assert result.facilities["construction_yuan"].tolist() == [0.0, 2_000_000.0]
    assert result.facilities["township"].tolist() == ["甲", "乙"]
    assert result.per_year["construction_yuan"].tolist() == [0.0, 2_000_000.0]


def test_geodataframe_input_is_not_modified(wanzhou):
    frame = _facilities(["street_center"], [1500], year=[2021])
    layer = gpd.GeoDataFrame(frame, geometry=[shapely.Point(108.4, 30.8)], crs=4326)
    before = layer.copy()
    result = costing.cost(layer, wanzhou, first_year=2021)
    assert result.facilities["construction_yuan"].tolist() == [2_000_000.0]
    pd.testing.assert_frame_equal(layer, before)
    assert list(result.facilities.columns) == list(costing.FACILITY_COLUMNS)
    assert list(result.per_year.columns) == list(costing.PER_YEAR_COLUMNS)
    assert list(result.per_township.columns) == list(costing.PER_TOWNSHIP_COLUMNS)


def test_profile_without_money_gives_an_empty_costing_and_says_why(tmp_path):
    plain = _profile(tmp_path, "plain", 'name = "plain"\nextends = "chongqing"\n')
    frame = _facilities(["street_center"], [1500], year=[2021])
    result = costing.cost(frame, plain, first_year=2021)
    assert result.facilities.empty
    assert result.per_year.empty
    assert result.per_township.empty
    assert len(result.notes) == 1
    assert "has no money tables" in result.notes[0]
    assert "plain" in outputs.format_costing(result, lang="en")
    paths = outputs.write_costing(result, tmp_path / "out", lang="en")
    notes = pd.read_excel(paths["xlsx"], sheet_name="notes")
    assert "has no money tables" in notes["note"].iloc[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"year": ["2021年"]}, r"row 1 \(id 'f1'\), column 'year': found '2021年'"),
        ({"year": [2021.5]}, r"column 'year': found 2021.5"),
        ({"tier": ["spa"]}, r"column 'tier': found 'spa'; expected one of street_center"),
        ({"area_m2": ["big"]}, r"column 'area_m2': found 'big'"),
    ],
)
def test_bad_facility_values_name_row_column_and_value(wanzhou, change, message):
    frame = _facilities(["street_center"], [1500], year=[2021])
    for column, values in change.items():
        frame[column] = values
    with pytest.raises(InputError, match=message):
        costing.cost(frame, wanzhou, first_year=2021)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("year", "20x4", "an opening year from 1900 to 2100, or blank for an existing facility"),
        ("social_capital", "maybe", "yes/no (是/否, true/false, 1/0, 社会/公办) or blank"),
        ("residents_disabled", "-2", "a number of residents, 0 or more"),
    ],
)
def test_cost_command_errors_name_the_file(tmp_path, capsys, column, value, expected):
    path = tmp_path / "新设施.csv"
    path.write_text(
        f"id,name,tier,lon,lat,area_m2,{column}\n"
        f"N0,甲,community_station,24.94,60.168,400,\n"
        f"N1,乙,community_station,24.94,60.168,400,{value}\n",
        encoding="utf-8",
    )
    args = ["cost", "--facilities", str(path), "--policy", "wanzhou", "--first-year", "2024"]
    assert cli.main([*args, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: {path}: row 2 (line 3) (id 'N1'), column {column!r}: "
        f"found {value!r}; expected {expected}"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"years": 0}, "years must be a whole number"),
        ({"years": 1.5}, "years must be a whole number"),
        ({"first_year": 20}, "first_year must be a calendar year"),
        ({"first_year": 2090, "years": 12}, r"horizon's last year .* 2100; found 2101$"),
        ({"years": 100_000}, r"horizon's last year .* 2100; found 102020$"),  # from 2021
    ],
)
def test_bad_options_are_refused(wanzhou, options, message):
    frame = _facilities(["street_center"], [1500], year=[2021])
    with pytest.raises(InputError, match=message):
        costing.cost(frame, wanzhou, **options)


def test_missing_required_column_is_named(wanzhou):
    frame = _facilities(["street_center"], [1500]).drop(columns=["tier"])
    with pytest.raises(InputError, match="missing column 'tier'"):
        costing.cost(frame, wanzhou)


# --- output --------------------------------------------------------------------------------


def test_write_csv_and_workbook_in_chinese(tmp_path, dianjiang, dianjiang_plan):
    result = costing.cost(dianjiang_plan, dianjiang, first_year=2021, years=3)
    paths = outputs.write_costing(result, tmp_path / "out")
    assert set(paths) == {"csv", "xlsx"}
    raw = paths["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    csv = pd.read_csv(paths["csv"], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    # the CSV keeps the stable English column names; the workbook speaks Chinese
    assert list(csv.columns) == list(costing.FACILITY_COLUMNS)
    assert csv["tier"].iloc[0] == "street_center"
    assert csv["operating_yuan_per_year"].iloc[0] == "150000"
    sheets = pd.read_excel(paths["xlsx"], sheet_name=None)
    facilities = sheets[costing.SHEETS["zh"][0]]
    assert facilities["设施类型"].iloc[0] == "街道养老服务中心"
    assert facilities["运营补助(元/年)"].iloc[0] == 150_000
    assert list(sheets) == list(costing.SHEETS["zh"])
    per_year = sheets["逐年合计"]
    assert per_year["年份"].astype(str).tolist() == ["2021", "2022", "2023", "合计"]
    assert per_year["合计下限(元)"].tolist() == [250_000, 280_000, 283_000, 813_000]
    towns = sheets["分街道乡镇合计"].set_index("街道(乡镇)")
    assert towns.loc["合计", "合计上限(元)"] == 813_000
    assert not list((tmp_path / "out").glob(".*part*"))  # no temporary files left


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_workbook_headers_stay_in_view_and_filter(tmp_path, dianjiang, dianjiang_plan, lang):
    # as in every other workbook (report.format_sheet): header row frozen, filter on it
    result = costing.cost(dianjiang_plan, dianjiang, first_year=2021, years=3)
    book = openpyxl.load_workbook(outputs.write_costing(result, tmp_path, lang=lang)["xlsx"])
    assert book.sheetnames == list(costing.SHEETS[lang])
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == sheet.dimensions, sheet.title
    facilities = book.worksheets[0]
    assert facilities["A1"].fill.fgColor.rgb.endswith("EEF2F7")  # the others' header shade
    wide = max(len(str(cell.value or "")) for cell in facilities["B"])
    assert facilities.column_dimensions["B"].width >= wide  # names fit


def test_write_in_english(tmp_path, yuncheng):
    frame = _facilities(["street_center"], [1600], year=[2021], residents_disabled=[2])
    result = costing.cost(frame, yuncheng, first_year=2021)
    paths = outputs.write_costing(result, tmp_path, lang="en")
    sheets = pd.read_excel(paths["xlsx"], sheet_name=None)
    assert list(sheets) == list(costing.SHEETS["en"])
    facilities = sheets["facilities"]
    assert facilities["construction subsidy (yuan)"].tolist() == [450_000]
    assert facilities["tier"].tolist() == ["street elderly-care centre"]
    assert "capped at 1,500 m²" in facilities["construction rule"].iloc[0]
    per_year = sheets["per year"]
    # 450,000 + 50,000 + 12 × 300 × 2 = 507,200 low; 450,000 + 100,000 + 7,200 = 557,200 high
    assert per_year["total, low (yuan)"].tolist() == [507_200, 507_200]
    assert per_year["total, high (yuan)"].tolist() == [557_200, 557_200]
    assert not sheets["notes"].empty
    with pytest.raises(InputError, match="is not supported; expected one of"):
        outputs.write_costing(result, tmp_path, lang="fr")


def _english_words(text: str) -> list[str]:
    """English words in ``text``, leaving out names of columns, keys and options (area_m2,
    money.operating_by_grade, --not-municipal, municipal=False) and NaN."""
    names = re.sub(r"[\w.<>-]*[_.=<-][\w.=<>-]*|NaN", " ", text)
    return re.findall(r"[A-Za-z]{3,}", names)


def _yuncheng_with_a_note(tmp_path: Path) -> policy.Policy:
    """运城's rules with a note on the operating subsidy, in English and Chinese."""
    text = YUNCHENG.format(municipal="municipal = true").replace(
        'source = "运〔2021〕—2 §二(四)"\n[money.bed',
        'source = "运〔2021〕—2 §二(四)"\nnote = "by grade"\nnote_zh = "按等级"\n[money.bed',
    )
    return _profile(tmp_path, "ycn", text)


def test_notes_are_in_the_workbooks_language(tmp_path, wanzhou, yuncheng):
    # every note the costing writes itself has a Chinese text, one for one
    wz = _facilities(["street_center", "township_center"], [NAN, 900], year=[2019, 2030])
    yc = _facilities(["street_center"], [1600], year=[2021])
    for result in (
        costing.cost(wz, wanzhou, first_year=2020, years=3),
        costing.cost(_facilities(["community_station"], [300]), wanzhou, first_year=2021),
        costing.cost(yc, yuncheng, municipal=True),
        costing.cost(yc, _yuncheng_with_a_note(tmp_path)),
    ):
        assert len(result.notes_zh) == len(result.notes) > 0
        for zh in result.notes_zh:
            if zh.startswith("一次性建设补助（乡镇养老服务中心）："):
                continue  # the profile's own note, as written (it has no note_zh)
            assert not _english_words(zh), zh
    result = costing.cost(wz, wanzhou, first_year=2020, years=3)
    assert "1 个设施在 2020 年之前开业" in " ".join(result.notes_zh)
    assert "1 facility opens before 2020" in " ".join(result.notes)
    paths = outputs.write_costing(result, tmp_path / "zh")
    notes = pd.read_excel(paths["xlsx"], sheet_name="说明")["说明"].tolist()
    assert notes == list(result.notes_zh)
    assert "一次性建设补助（乡镇养老服务中心）：with the village points" in notes[-2]
    assert "- 1 个设施在 2022 年之后开业：均不计入合计" in outputs.format_costing(result)
    en = outputs.write_costing(result, tmp_path / "en", lang="en")
    assert pd.read_excel(en["xlsx"], sheet_name="notes")["note"].tolist() == list(result.notes)
    assert "- 1 facility opens after 2022" in outputs.format_costing(result, lang="en")


def test_a_profile_note_zh_is_the_chinese_note(tmp_path):
    result = costing.cost(
        _facilities(["street_center"], [1600], year=[2021]),
        _yuncheng_with_a_note(tmp_path),
    )
    assert "按等级运营补贴：按等级" in result.notes_zh  # the profile's table in words
    assert "Operating subsidy by grade: by grade" in result.notes


def test_format_table_shows_ranges_and_totals(yuncheng):
    frame = _facilities(["street_center"], [1600], year=[2021], residents_disabled=[2])
    result = costing.cost(frame, yuncheng, first_year=2021, years=2)
    text = outputs.format_costing(result, lang="zh")
    assert "50,000–100,000" in text
    # 2 years: 450,000 + 2 × 50,000 + 2 × 7,200 = 564,400; high 450,000 + 200,000 + 14,400
    assert "564,400–664,400" in text
    assert "合计" in text
    assert "horizon 2021–2022" in outputs.format_costing(result, lang="en")


# --- 运城: the operating subsidy by grade, and urban communities only --------------------------


def test_yuncheng_operating_subsidy_by_the_centres_grade():
    # 运〔2021〕—2 §二(四): "按照社区养老服务机构等级评定级别 ... 给予5—10万元运营补贴", graded
    # by the 3A级综合评估; the built-in profile pays A 50,000, AA 75,000, AAA 100,000 (its reading:
    # the document pairs no grade with an amount)
    yuncheng = policy.load("yuncheng")
    grades = ["A", "2A", "aaa", "3A", "B", ""]
    frame = _facilities(["community_station"] * 6, [600] * 6, grade=grades)
    table = _by_id(costing.cost(frame, yuncheng, first_year=2021, years=2))
    by_hand = [50_000.0, 75_000.0, 100_000.0, 100_000.0]
    assert table["operating_yuan_per_year"].tolist()[:4] == by_hand
    assert "评定等级 AA，75,000 元/年" in table.loc["f2", "operating_rule"]
    assert "grade AAA, 100,000 yuan a year" in table.loc["f3", "operating_rule_en"]
    # an unknown grade, and no grade: the document's range
    for ident in ("f5", "f6"):
        assert math.isnan(table.loc[ident, "operating_yuan_per_year"])
        assert table.loc[ident, "operating_yuan_per_year_min"] == 50_000.0
        assert table.loc[ident, "operating_yuan_per_year_max"] == 100_000.0
    assert "grade 'B' is not one of A, AA, AAA" in table.loc["f5", "operating_rule_en"]
    assert "no grade given" in table.loc["f6", "operating_rule_en"]
    # two years of existing stations: 2 × (50,000 + 75,000 + 2 × 100,000) + 2 × 2 × 50,000
    totals = costing.cost(frame, yuncheng, first_year=2021, years=2).per_year
    assert totals["operating_yuan_min"].tolist() == [425_000.0, 425_000.0]
    assert totals["operating_yuan_max"].tolist() == [525_000.0, 525_000.0]


def test_a_profile_without_grade_amounts_keeps_the_range(yuncheng):
    frame = _facilities(["street_center"], [1000], grade=["AA"])
    table = costing.cost(frame, yuncheng, first_year=2021).facilities
    assert table["operating_yuan_per_year_min"].tolist() == [50_000.0]
    assert table["operating_yuan_per_year_max"].tolist() == [100_000.0]
    assert "the profile does not say which grade gets how much" in table["operating_rule_en"][0]


@pytest.mark.parametrize(
    ("grades", "amounts", "message"),
    [
        ('["A", "AA"]', "[50000]", "one amount for each"),
        ('["A", "AA"]', "[50000, 120000]", "from 50000 to 100000 yuan"),
        ('["A", "A"]', "[50000, 60000]", "each once"),
    ],
)
def test_grade_amounts_are_checked(tmp_path, grades, amounts, message):
    body = YUNCHENG.format(municipal="").replace(
        "max_yuan = 100000", f"max_yuan = 100000\ngrades = {grades}\ngrade_yuan = {amounts}"
    )
    path = tmp_path / "g.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        policy.load(path)


def test_yuncheng_money_is_for_urban_communities_only():
    # 运〔2021〕—2 is about 城市社区 only: a station in a village gets none of its money
    yuncheng = policy.load("yuncheng")
    frame = _facilities(
        ["community_station"] * 3,
        [600] * 3,
        year=[2021] * 3,
        grade=["AAA"] * 3,
        residents_disabled=[2] * 3,
        kind=["urban", "农村", ""],
    )
    table = _by_id(costing.cost(frame, yuncheng, first_year=2021))
    # urban (and blank, taken as urban): 300 × 600; 100,000; 12 × 300 × 2
    for ident in ("f1", "f3"):
        assert table.loc[ident, "construction_yuan"] == 180_000.0
        assert table.loc[ident, "operating_yuan_per_year"] == 100_000.0
        assert table.loc[ident, "bed_subsidy_yuan_per_year"] == 7_200.0
    assert table.loc["f2", "construction_yuan"] == 0.0
    assert table.loc["f2", "operating_yuan_per_year"] == 0.0
    assert table.loc["f2", "bed_subsidy_yuan_per_year"] == 0.0
    assert "for urban communities only" in table.loc["f2", "operating_rule_en"]
    assert "仅适用于城市社区" in table.loc["f2", "construction_rule"]
    # without a kind column every facility is taken as urban, and a note says so
    plain = costing.cost(frame.drop(columns="kind"), yuncheng, first_year=2021)
    assert plain.facilities["construction_yuan"].tolist() == [180_000.0] * 3
    assert any("no 'kind' column" in note for note in plain.notes)
    with pytest.raises(InputError, match=r"column 'kind': found 'town'"):
        costing.cost(frame.assign(kind=["town", "", ""]), yuncheng, first_year=2021)
