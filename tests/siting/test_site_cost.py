"""From `site` to `cost`: the proposed sites are costed as sites to be built, never as existing.

`carecircle site` writes proposed_sites.csv with a blank `year` and `status = proposed`;
`carecircle cost` takes those sites as opening in the horizon's first year. 万州 pays a new
community station 200,000 yuan once (万州府办发〔2020〕28号 §二(五)13).
"""

from __future__ import annotations

import pandas as pd
import pytest

from carecircle import cli, costing, outputs, policy


@pytest.fixture(scope="module")
def demo_sites(tmp_path_factory):
    """`site` on the demo district under 万州: two proposed stations."""
    out = tmp_path_factory.mktemp("site") / "sites"
    args = ["site", "--demo", "--policy", "wanzhou", "--count", "2", "--out", str(out)]
    assert cli.main([*args, "--no-progress"]) == 0
    return out / "proposed_sites.csv"


def _cost(facilities, out, *options: str) -> pd.DataFrame:
    args = ["cost", "--facilities", str(facilities), "--policy", "wanzhou", "--out", str(out)]
    assert cli.main([*args, *options]) == 0
    return pd.read_csv(out / "costing.csv", encoding="utf-8-sig").set_index("id")


def test_site_says_its_sites_are_to_be_built(demo_sites):
    sites = pd.read_csv(demo_sites, encoding="utf-8-sig")
    assert len(sites) == 2
    assert sites["status"].tolist() == ["proposed", "proposed"]
    assert sites["year"].isna().all()  # not phased: no year to build yet
    assert list(sites.columns[-4:]) == ["year", "status", "lon", "lat"]
    sheet = pd.read_excel(demo_sites.parent / "siting.xlsx", sheet_name="建议选址")
    assert sheet["安排"].tolist() == ["拟建", "拟建"]  # in words, as the plan's statuses are


def test_the_proposed_sites_are_costed_as_new(demo_sites, tmp_path, capsys):
    capsys.readouterr()
    table = _cost(demo_sites, tmp_path / "cost", "--first-year", "2030", "--years", "3")
    text = capsys.readouterr().out
    assert table["status"].tolist() == ["proposed", "proposed"]
    assert (table["construction_yuan"] == 200_000).all()
    assert (table["horizon_total_yuan_min"] == 200_000).all()  # counted, in 2030
    assert table["complete"].all()
    workbook = pd.read_excel(tmp_path / "cost" / "costing.xlsx", sheet_name=None)
    per_year = workbook[costing.SHEETS["zh"][1]]
    assert per_year["一次性建设补助(元)"].tolist() == [400_000, 0, 0, 400_000]  # with the total
    assert "2 个拟建设施（status=proposed）未填开业年份：按测算期首年（2030年）开业计" in text
    assert "拟建(未定年份)" in text  # the status, in words


def test_an_older_proposal_without_status_is_not_costed_as_existing(demo_sites, tmp_path):
    # proposed_sites.csv as `site` wrote it before it said the sites are to be built
    old = pd.read_csv(demo_sites, encoding="utf-8-sig").drop(columns=["year", "status"])
    path = tmp_path / "proposed_sites.csv"
    old.to_csv(path, index=False, encoding="utf-8-sig")
    result = costing.cost(old, policy.load("wanzhou"), first_year=2030, years=2, source=path)
    assert result.facilities["status"].tolist() == ["unknown", "unknown"]
    assert result.facilities["construction_yuan"].isna().all()  # not 0
    assert not result.facilities["complete"].any()
    assert result.per_year["construction_known"].tolist() == [False, True]
    assert result.total["incomplete_facilities"] == 2
    assert any("neither an opening year nor a status" in note for note in result.notes)
    text = outputs.format_costing(result, lang="en")
    total = next(line for line in text.splitlines() if line.startswith("total"))
    assert total.split()[1] == "?"  # construction: unknown, not 0
    table = _cost(path, tmp_path / "cost", "--first-year", "2030")
    assert table["construction_yuan"].isna().all()


def test_after_the_plan_a_site_is_added_to_be_costed_with_its_year(demo_sites, tmp_path):
    # the planner gives the second site its year: it opens then, the first in the first year
    sites = pd.read_csv(demo_sites, encoding="utf-8-sig")
    sites.loc[1, "year"] = 2031
    path = tmp_path / "phased.csv"
    sites.to_csv(path, index=False, encoding="utf-8-sig")
    table = _cost(path, tmp_path / "cost", "--years", "3")
    first, second = sites["id"].tolist()
    assert table.loc[first, "status"] == "proposed"
    assert table.loc[second, "status"] == "planned"
    assert table.loc[second, "year"] == 2031
    per_year = pd.read_excel(tmp_path / "cost" / "costing.xlsx", sheet_name="逐年合计")
    # the horizon starts at the one opening year given, 2031, where the first site opens too
    assert per_year["年份"].tolist()[:3] == [2031, 2032, 2033]
    assert per_year["一次性建设补助(元)"].tolist()[:3] == [400_000, 0, 0]
