"""A township plan costed year by year (`cost --plan`): amounts worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carecircle import cli, costing, plan, policy
from carecircle.errors import InputError
from carecircle.plan_cost import BY_YEAR_COLUMNS, cost_plan


def _bundled():
    with plan._file_or_bundled(None, plan.BUNDLED_PLAN) as path:
        township_plan = plan.read_plan(path)
    with plan._file_or_bundled(None, plan.BUNDLED_DIVISIONS) as path:
        divisions = plan.read_divisions(path)
    return township_plan, divisions


def _small_plan() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A street (3 communities, 1 village) and a town (1 community, 4 villages), 2030–2031."""
    township_plan = pd.DataFrame(
        {
            "township_code": ["500231001", "500231101"],
            "township": ["甲街道", "乙镇"],
            "centers_existing": [1, 0],
            "centers_new_2030": [0, 1],
            "centers_new_2031": [0, 0],
            "communities_and_villages": [4, 5],
            "stations_existing": [2, 1],
            "stations_new_2030": [2, 2],
            "stations_new_2031": [0, 2],
        }
    )
    codes = ["500231001"] * 4 + ["500231101"] * 5
    kinds = ["community"] * 3 + ["village"] + ["community"] + ["village"] * 4
    divisions = pd.DataFrame({"township_code": codes, "kind": kinds})
    return township_plan, divisions


def test_a_small_plan_under_dianjiang_by_hand():
    # operating awards from the year after a facility is built (operating_from="next")
    # 垫江府办〔2020〕8号 §三(二): 150,000 / 100,000 / 30,000 / 3,000 yuan a year for a street
    # centre, township centre, station, village point; no construction subsidy in the profile.
    township_plan, divisions = _small_plan()
    money = cost_plan(
        township_plan,
        policy.load("dianjiang"),
        divisions=divisions,
        years=3,
        operating_from="next",
    )
    years = money.by_year.set_index("year")
    assert list(money.by_year.columns) == list(BY_YEAR_COLUMNS)
    assert years.index.tolist() == [2030, 2031, 2032]
    assert years["construction_yuan_max"].tolist() == [0, 0, 0]
    # 2030: the existing ones only: 甲街道's centre 150,000; its 2 stations or points among 3
    # communities and 1 village: 1 or 2 stations (≥ 2 − 1 villages); 乙镇's 1: 0 or 1 station.
    # least 150,000 + (1×30,000 + 1×3,000) + 3,000 = 186,000; most 150,000 + 60,000 + 30,000
    assert years.loc[2030, "centres_operating"] == 1
    assert years.loc[2030, "stations_operating"] == 3
    assert years.loc[2030, "operating_yuan_min"] == 186_000
    assert years.loc[2030, "operating_yuan_max"] == 240_000
    # 2031: 乙镇's centre of 2030 (100,000) and 2030's stations operate from the year after;
    # 甲街道 has 4: at least 4 − 1 village and at most its 3 communities are stations: 3
    # stations and 1 point, 93,000; 乙镇 has 3 among 1 community and 4 villages: 0 or 1
    # station: 9,000 or 36,000
    assert years.loc[2031, "centres_operating"] == 2
    assert years.loc[2031, "stations_operating"] == 7
    assert years.loc[2031, "operating_yuan_min"] == 150_000 + 100_000 + 93_000 + 9_000
    assert years.loc[2031, "operating_yuan_max"] == 150_000 + 100_000 + 93_000 + 36_000
    # 2032: 乙镇's two of 2031 too: 5 among 1 community and 4 villages: exactly 1 station
    # (≥ 5 − 4, ≤ 1) and 4 points, 42,000
    assert years.loc[2032, "operating_yuan_min"] == 250_000 + 93_000 + 42_000
    assert years.loc[2032, "operating_yuan_max"] == 250_000 + 93_000 + 42_000
    assert years["cumulative_yuan_min"].tolist() == [186_000, 538_000, 923_000]
    assert years["complete"].all()
    assert years.loc[2031, "centres_built"] == 0
    assert years.loc[2030, "stations_built"] == 4


def test_a_small_plan_by_default_pays_from_the_year_built_as_cost_does():
    # the default reading, the one `cost --facilities` uses: a facility built in a year is paid
    # its operating award that year, in full. 2030: 甲街道's centre 150,000 and 乙镇's new one
    # 100,000; 甲街道's 4 stations or points: 3 stations and 1 point, 93,000; 乙镇's 3 among 1
    # community and 4 villages: 0 or 1 station, 9,000 or 36,000. 2031 and 2032: 乙镇's 5,
    # exactly 1 station and 4 points, 42,000
    township_plan, divisions = _small_plan()
    money = cost_plan(township_plan, policy.load("dianjiang"), divisions=divisions, years=3)
    years = money.by_year.set_index("year")
    assert years["centres_operating"].tolist() == [2, 2, 2]
    assert years["stations_operating"].tolist() == [7, 9, 9]
    assert years["operating_yuan_min"].tolist() == [352_000, 385_000, 385_000]
    assert years["operating_yuan_max"].tolist() == [379_000, 385_000, 385_000]
    assert years["cumulative_yuan_min"].tolist() == [352_000, 737_000, 1_122_000]
    said = [n for n in money.notes if "count in full from the year it opens" in n]
    assert len(said) == 1
    # the same facilities through `cost --facilities` are paid the same in 2030
    one = pd.DataFrame(
        {
            "id": ["z", "t"],
            "name": ["甲街道中心", "乙镇中心"],
            "tier": ["street_center", "township_center"],
            "area_m2": [1600.0, 900.0],
            "year": [pd.NA, 2030],
        }
    )
    same = costing.cost(one, policy.load("dianjiang"), first_year=2030, years=1)
    assert same.per_year["operating_yuan_min"].tolist() == [250_000]
    later = costing.cost(
        one, policy.load("dianjiang"), first_year=2030, years=1, operating_from="next"
    )
    assert later.per_year["operating_yuan_min"].tolist() == [150_000]


def test_operating_from_takes_opening_or_next_only():
    township_plan, _ = _small_plan()
    with pytest.raises(
        InputError, match=r"^--operating-from 'first': expected one of opening, next"
    ):
        cost_plan(township_plan, policy.load("dianjiang"), operating_from="first")


def test_a_small_plan_under_wanzhou_construction_in_its_year():
    # 万州府办发〔2020〕28号 §二(五)13: a station 200,000 once; a village point nothing of its
    # own (§二(七)17); a township centre 1,000,000 only at 800 m² or more: the plan gives no
    # area, so 乙镇's centre of 2030 is unknown and 2030's total a lower bound
    township_plan, divisions = _small_plan()
    money = cost_plan(township_plan, policy.load("wanzhou"), divisions=divisions)
    years = money.by_year.set_index("year")
    assert years.index.tolist() == [2030, 2031]  # to the plan's last year by default
    # 2030: 甲街道's 2 new: 1 or 2 stations; 乙镇's 2: 0 or 1 station
    assert years.loc[2030, "construction_yuan_min"] == 200_000
    assert years.loc[2030, "construction_yuan_max"] == 600_000
    assert years.loc[2030, "unknown_facilities"] == 1
    assert not years.loc[2030, "complete"]
    # 2031: 乙镇's 2: 0 or 1 station
    assert years.loc[2031, "construction_yuan_min"] == 0
    assert years.loc[2031, "construction_yuan_max"] == 200_000
    assert years.loc[2031, "complete"]
    assert not years.loc[2031, "cumulative_complete"]  # 2030 is left out of it
    assert years["operating_yuan_max"].tolist() == [0, 0]
    assert any("lower bounds" in note and "800 m²" in note for note in money.notes)


def test_the_dianjiang_plan_under_dianjiang_for_2_years():
    township_plan, divisions = _bundled()
    money = cost_plan(
        township_plan,
        policy.load("dianjiang"),
        divisions=divisions,
        years=2,
        operating_from="next",
    )
    years = money.by_year.set_index("year")
    # 2020: the existing 5 centres (桂阳街道's street centre, 4 township centres):
    # 150,000 + 4 × 100,000 = 550,000. The 151 stations or points: by the code list at least
    # 16 are stations (桂阳街道 6 − 4 villages = 2, 桂溪街道 13 − 1 = 12, 澄溪镇 8 − 7 = 1,
    # 永平镇 7 − 6 = 1) and at most 68 (each township's min(stations, communities)):
    # 16 × 30,000 + 135 × 3,000 = 885,000 to 68 × 30,000 + 83 × 3,000 = 2,289,000.
    assert years.loc[2020, "centres_operating"] == 5
    assert years.loc[2020, "total_yuan_min"] == 550_000 + 885_000
    assert years.loc[2020, "total_yuan_max"] == 550_000 + 2_289_000
    # 2021: 2020's 8 new centres too (桂溪街道 a street; 普顺, 永安, 五洞, 太平, 澄溪, 包家,
    # 永平 towns): 550,000 + 150,000 + 7 × 100,000 = 1,400,000; the 229 stations or points
    # bounded township by township as above
    both = township_plan["stations_existing"] + township_plan["stations_new_2020"]
    kinds = divisions.groupby(["township_code", "kind"]).size().unstack(fill_value=0)
    c = township_plan["township_code"].map(kinds["community"]).to_numpy()
    v = township_plan["township_code"].map(kinds["village"]).to_numpy()
    least = np.maximum(0, both - v).sum()
    most = np.minimum(both, c).sum()
    assert years.loc[2021, "centres_operating"] == 13
    assert years.loc[2021, "stations_operating"] == 229
    assert years.loc[2021, "total_yuan_min"] == 1_400_000 + least * 30_000 + (229 - least) * 3_000
    assert years.loc[2021, "total_yuan_max"] == 1_400_000 + most * 30_000 + (229 - most) * 3_000
    assert years.loc[2021, "cumulative_yuan_min"] == (
        years.loc[2020, "total_yuan_min"] + years.loc[2021, "total_yuan_min"]
    )
    assert years["construction_yuan_max"].sum() == 0
    assert years["complete"].all()


def test_the_dianjiang_plan_under_wanzhou_leaves_the_centres_out():
    # 2020: 78 new stations or points, of which at least 9 (桂阳街道 6 − 4, 桂溪街道 6 − 1,
    # 黄沙镇 3 − 1) and at most 54 are stations at 200,000 each; the 8 new centres have no floor
    # area, so their subsidies are unknown and the year's total is a lower bound
    township_plan, divisions = _bundled()
    money = cost_plan(township_plan, policy.load("wanzhou"), divisions=divisions, years=1)
    year = money.by_year.iloc[0]
    assert year["construction_yuan_min"] == 9 * 200_000
    assert year["construction_yuan_max"] == 54 * 200_000
    assert year["unknown_facilities"] == 8
    assert not year["complete"]


def test_without_the_code_list_any_split_is_possible():
    township_plan, _ = _small_plan()
    money = cost_plan(township_plan, policy.load("dianjiang"), years=1, operating_from="next")
    # 2030: 150,000 + 3 stations or points, all points (9,000) to all stations (90,000)
    assert money.by_year["operating_yuan_min"].tolist() == [159_000]
    assert money.by_year["operating_yuan_max"].tolist() == [240_000]


def test_a_plan_without_a_year_column_is_refused():
    township_plan, _ = _small_plan()
    undated = township_plan.drop(columns=[c for c in township_plan if "_new_" in c])
    with pytest.raises(InputError, match=r"^plan\.csv: no planned-year columns; expected"):
        cost_plan(undated, policy.load("dianjiang"), source="plan.csv")
    with pytest.raises(InputError, match=r"^plan\.csv: missing column 'stations_existing'"):
        cost_plan(
            township_plan.drop(columns="stations_existing"),
            policy.load("dianjiang"),
            source="plan.csv",
        )


def test_cost_plan_command(tmp_path, capsys):
    out = tmp_path / "cost"
    path = tmp_path / "plan.csv"
    township_plan, _ = _bundled()
    township_plan.to_csv(path, index=False)
    args = ["cost", "--plan", str(path), "--policy", "dianjiang", "--lang", "en"]
    args += ["--operating-from", "next"]
    assert cli.main([*args, "--years", "2", "--out", str(out)]) == 0
    table = pd.read_csv(out / "cost_by_year.csv", encoding="utf-8-sig")
    assert table["year"].tolist() == [2020, 2021]
    assert table["total_yuan_min"].iloc[0] == 1_435_000
    assert (out / "cost_by_year.xlsx").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "1,435,000–2,839,000" in printed
    # one line for a plan without a year column
    undated = tmp_path / "undated.csv"
    township_plan.drop(columns=[c for c in township_plan if "_new_" in c]).to_csv(
        undated, index=False
    )
    assert cli.main(["cost", "--plan", str(undated), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"carecircle: error: {undated}: no planned-year columns")
    assert "\n" not in err
    # the plan's options without --plan
    facilities = str(tmp_path / "f.csv")
    assert cli.main(["cost", "--facilities", facilities, "--divisions", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "carecircle: error: --divisions goes with --plan, not --facilities"
    )


def test_the_terminal_shows_what_is_known_and_what_is_left_out():
    from carecircle import outputs

    township_plan, divisions = _small_plan()
    money = cost_plan(township_plan, policy.load("wanzhou"), divisions=divisions)
    assert not money.by_year["construction_complete"].iloc[0]
    assert money.by_year["operating_complete"].all()
    text = outputs.format_plan_costing(money, lang="en")
    line = next(row for row in text.splitlines() if row.startswith("2030"))
    assert "200,000–600,000 + ?" in line  # 乙镇's centre has no floor area
    line = next(row for row in text.splitlines() if row.startswith("2031"))
    assert "0–200,000 " in line
    assert "+ ?" in line  # the cumulative sum still leaves 2030's centre out
