"""Every rule of every built-in profile at its own threshold, with the profile's own numbers.

The tests in ``test_standards.py`` and ``costing/test_costing.py`` prove each check's logic on
profiles written for the test. These take the built-in profiles as shipped, read each rule's
number from the profile (``test_profiles.py`` ties those numbers to the documents' words), and
put a facility, a community or a district just below, at and just above it. A rule a
document states with 以上 / 不低于 / 达到 ("and more", "not below", "reaching") is met at its
number itself. The README's rule table ("Rules, one by one") names these tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_standards import _communities, _facilities

from carecircle import circles, costing, policy, standards
from carecircle.standards import COUNTED_TIERS

PROFILES = policy.builtin_names()


def _rules(kind: str) -> list[tuple[str, str, object]]:
    """(profile, name, rule object) for every built-in profile's rules of one kind."""
    found: list[tuple[str, str, object]] = []
    for name in PROFILES:
        profile = policy.load(name)
        table = {
            "circle": {c.name: c for c in profile.circles},
            "standard": profile.standards,
            "target": profile.targets,
        }[kind]
        found += [(name, key, rule) for key, rule in table.items()]
    return found


# --- circles: 15分钟养老服务圈, 城市15分钟、农村25分钟医养结合服务圈, 10分钟养老服务圈 ----------


@pytest.mark.parametrize(("name", "circle_name", "circle"), _rules("circle"))
@pytest.mark.parametrize("kind", ["urban", "rural"])
def test_every_circle_is_met_at_its_minutes_and_not_a_second_later(name, circle_name, circle, kind):
    # "15分钟" / "一刻钟" / "10分钟": a walk of exactly the circle's minutes is inside it
    minutes = float(circle.minutes[kind])
    frame = pd.DataFrame(
        {
            "population": [100.0, 100.0],
            "elderly": [20.0, 20.0],
            "kind": [kind, kind],
            "input_status": ["ok", "ok"],
        }
    )
    out = circles.summarize(
        frame,
        np.array([0, 1]),
        np.array([1.0, 1.0]),
        np.array([minutes * 60.0, minutes * 60.0 + 1.0]),
        np.array([0, 0]),
        np.array(["F"], dtype=object),
        circle,
        point_off_network=np.zeros(2, bool),
        covered_min_share=0.95,
        partial_min_share=0.0,
    )
    assert out["minutes"].tolist() == [minutes, minutes]
    assert out["share"].tolist() == [1.0, 0.0]
    assert out["status"].tolist() == ["covered", "uncovered"]


# --- facility standards: 建筑面积不低于…平方米, …张以上床位, 面积…控制在…平方米 -------------------


def _check_one(profile, tier, area, beds, elderly=800.0):
    comm = _communities(elderly=(elderly, 300.0))
    fac = _facilities([("F", tier, 100, 100, area, beds, np.nan)])
    return standards.check(comm, fac, profile).facilities.iloc[0]


@pytest.mark.parametrize(
    ("name", "tier", "std"), [r for r in _rules("standard") if r[2].min_area_m2 is not None]
)
def test_every_minimum_floor_area_is_met_at_its_number(name, tier, std):
    profile = policy.load(name)
    beds = std.min_beds if std.min_beds is not None else np.nan
    below = _check_one(profile, tier, std.min_area_m2 - 0.1, beds)
    at = _check_one(profile, tier, std.min_area_m2, beds)
    assert (below["standard_status"], at["standard_status"]) == ("below", "meets")
    assert at["area_required_m2"] == std.min_area_m2
    assert std.source in below["standard_note"]


@pytest.mark.parametrize(
    ("name", "tier", "std"),
    [r for r in _rules("standard") if r[2].min_area_m2_few_elderly is not None],
)
def test_every_few_elderly_minimum_is_met_at_its_number(name, tier, std):
    # 老年人口较少的社区降低至200平方米: at or below few_elderly_max older residents
    profile = policy.load(name)
    few = std.few_elderly_max
    assert few is not None
    at = _check_one(profile, tier, std.min_area_m2_few_elderly, np.nan, elderly=few)
    below = _check_one(profile, tier, std.min_area_m2_few_elderly - 0.1, np.nan, elderly=few)
    one_more = _check_one(profile, tier, std.min_area_m2_few_elderly, np.nan, elderly=few + 1)
    assert (below["standard_status"], at["standard_status"]) == ("below", "meets")
    assert one_more["standard_status"] == "below"  # one more older resident: the full minimum
    assert one_more["area_required_m2"] == std.min_area_m2


@pytest.mark.parametrize(
    ("name", "tier", "std"), [r for r in _rules("standard") if r[2].min_beds is not None]
)
def test_every_bed_minimum_is_met_at_its_number(name, tier, std):
    # 设置20张床位 / 床位不少于10张: one bed fewer is below
    profile = policy.load(name)
    area = std.min_area_m2 if std.min_area_m2 is not None else 1000.0
    assert _check_one(profile, tier, area, std.min_beds)["standard_status"] == "meets"
    short = _check_one(profile, tier, area, std.min_beds - 1)
    assert short["standard_status"] == "below"
    assert short["beds_shortfall"] == 1.0


@pytest.mark.parametrize(
    ("name", "tier", "std"), [r for r in _rules("standard") if r[2].max_area_m2 is not None]
)
def test_every_maximum_floor_area_is_kept_at_its_number(name, tier, std):
    # 面积原则上控制在500—2000平方米: 2000 is inside, anything more is above
    profile = policy.load(name)
    beds = std.min_beds if std.min_beds is not None else np.nan
    assert _check_one(profile, tier, std.max_area_m2, beds)["standard_status"] == "meets"
    assert _check_one(profile, tier, std.max_area_m2 + 0.1, beds)["standard_status"] == "above_max"


@pytest.mark.parametrize(
    ("name", "tier", "std"),
    [r for r in _rules("standard") if r[2].recommended_nursing_beds is not None],
)
def test_recommended_nursing_beds_are_advice_at_every_number(name, tier, std):
    # 有条件的应设置20张以上护理型床位: "where possible", so one fewer is advice, never "below"
    profile = policy.load(name)
    area = std.min_area_m2 if std.min_area_m2 is not None else 1000.0
    beds = std.min_beds if std.min_beds is not None else 30.0
    comm = _communities()
    fewer = std.recommended_nursing_beds - 1
    fac = _facilities([("F", tier, 100, 100, area, beds, fewer)])
    out = standards.check(comm, fac, profile).facilities.iloc[0]
    assert out["standard_status"] == "meets"
    assert f"{fewer:g} nursing beds" in out["standard_advice"]


# --- provision: 人均不低于0.1平方米, 一乡镇(街道)一中心, 一社区一站 ---------------------------


@pytest.mark.parametrize(
    "name", [n for n in PROFILES if "area_per_resident_m2" in policy.load(n).provision]
)
def test_floor_area_per_resident_is_met_at_its_number(name):
    # 新建社区按人均不低于0.1平方米的标准配建: 3000 residents need 300 m²
    profile = policy.load(name)
    need = profile.provision["area_per_resident_m2"].value * 3000
    comm = _communities(population=(3000.0, 1000.0))
    for area, status in ((need - 0.1, "below"), (need, "meets")):
        fac = _facilities([("S", "community_station", 100, 100, area, np.nan, np.nan)])
        out = standards.check(comm, fac, profile).communities.iloc[0]
        assert out["area_per_resident_status"] == status


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in PROFILES
        if {"one_station_per_community", "station_per_community"} & set(policy.load(n).provision)
    ],
)
def test_one_station_per_community_at_one(name):
    # 一社区一站 / 为每个社区配建: two communities, one station short, then none short
    profile = policy.load(name)
    area = 600.0  # within every profile's station range
    one = _facilities([("S0", "community_station", 100, 100, area, 12.0, np.nan)])
    both = _facilities(
        [
            ("S0", "community_station", 100, 100, area, 12.0, np.nan),
            ("S1", "community_station", 1100, 100, area, 12.0, np.nan),
        ]
    )
    comm = _communities()
    assert standards.check(comm, one, profile).townships.iloc[0]["station_status"] == "below"
    assert standards.check(comm, both, profile).townships.iloc[0]["station_status"] == "meets"


@pytest.mark.parametrize(
    "name", [n for n in PROFILES if "one_centre_per_township" in policy.load(n).provision]
)
def test_one_centre_per_township_at_one(name):
    # 一乡镇(街道)一中心: a street without its centre is missing, with one it meets
    profile = policy.load(name)
    comm = _communities()
    none = _facilities([("S0", "community_station", 100, 100, 300.0, np.nan, np.nan)])
    one = _facilities(
        [
            ("S0", "community_station", 100, 100, 300.0, np.nan, np.nan),
            ("Z", "street_center", 100, 200, 1600.0, 25.0, 10.0),
        ]
    )
    assert standards.check(comm, none, profile).townships.iloc[0]["centre_status"] == "missing"
    assert standards.check(comm, one, profile).townships.iloc[0]["centre_status"] == "meets"


# --- district shares: 护理型床位占比达到50%, 社会力量运营…达到90%/60%, 具备医疗服务能力 -------


def _share_facilities(rule: str, share: float, kind: str = "urban") -> pd.DataFrame:
    """Facilities whose district ``rule`` share is exactly ``share`` (of 100 beds or 10)."""
    if rule == "nursing_bed_share":
        nursing = round(share * 100)
        return _facilities([("S", "community_station", 100, 100, 300.0, 100.0, float(nursing))])
    if rule == "social_bed_share":
        social = round(share * 100)
        return _facilities(
            [
                ("A", "community_station", 100, 100, 300.0, float(social), 0.0,
                 {"social_operated": "是"}),
                ("B", "community_station", 150, 100, 300.0, float(100 - social), 0.0,
                 {"social_operated": "否"}),
            ]
        )  # fmt: skip
    column = "medical_capable" if rule == "medical_capable_share" else "social_operated"
    x = 100 if kind == "urban" else 1100
    yes = round(share * 10)
    return _facilities(
        [
            (f"F{i}", "community_station", x + i, 100, 300.0, 10.0, 0.0,
             {column: "是" if i < yes else "否"})
            for i in range(10)
        ]
    )  # fmt: skip


@pytest.mark.parametrize(("name", "rule_name", "rule"), _rules("target"))
def test_every_district_share_target_is_met_at_its_share(name, rule_name, rule):
    profile = policy.load(name)
    kind = "rural" if rule_name.endswith("_rural") else "urban"
    comm = _communities().assign(kind=["urban", "rural"])
    target = float(rule.value)
    step = 0.01 if rule_name.endswith("bed_share") else 0.1
    for share, status in ((target, "meets"), (target - step, "below")):
        fac = _share_facilities(rule_name, share, kind)
        district = standards.check(comm, fac, profile).district.set_index("rule")
        assert district.loc[rule_name, "value"] == pytest.approx(share)
        assert district.loc[rule_name, "status"] == status
        assert district.loc[rule_name, "source"] == rule.source


# --- yearly counts: 到2020年，建成30个养老服务中心、129个社区养老服务站 … 437个农村养老互助点 -----


def _yearly_counts() -> list[tuple[str, object]]:
    return [
        (name, target)
        for name in PROFILES
        for target in policy.load(name).yearly_targets
        if target.basis == "total" and target.scope == "district" and target.what in COUNTED_TIERS
    ]


@pytest.mark.parametrize(("name", "target"), _yearly_counts())
def test_every_yearly_count_is_met_at_its_number(name, target):
    profile = policy.load(name)
    comm = _communities()
    tier = COUNTED_TIERS[target.what][-1]
    for count, status in ((target.number, "meets"), (target.number - 1, "below")):
        rows = [
            (f"F{i}", tier, 100 + i % 800, 100 + i // 800, 900.0, 30.0, 20.0) for i in range(count)
        ]
        fac = _facilities(rows)
        district = standards.check(comm, fac, profile).district
        row = district[(district["rule"] == target.what) & (district["year"] == target.year)].iloc[
            0
        ]
        assert (row["value"], row["status"]) == (count, status)
        assert row["source"] == target.source


# --- money: 面积达1500平方米以上, 每平方米300元…上限, 运营奖补 -----------------------------------


def _money_facilities(tiers, areas, **others) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "id": [f"f{i + 1}" for i in range(len(tiers))],
            "name": [f"设施{i + 1}" for i in range(len(tiers))],
            "tier": list(tiers),
            "area_m2": [float(a) for a in areas],
            "beds": np.zeros(len(tiers)),
            "nursing_beds": np.zeros(len(tiers)),
            "year": [2021] * len(tiers),
        }
    )
    return frame.assign(**others)


def _flat_rules() -> list[tuple[str, str, dict]]:
    return [
        (name, tier, spec)
        for name in PROFILES
        for tier, spec in policy.load(name).money.get("construction_flat", {}).items()
    ]


@pytest.mark.parametrize(("name", "tier", "spec"), _flat_rules())
def test_every_flat_construction_subsidy_at_its_floor_area(name, tier, spec):
    # 面积达1500平方米以上的…一次性补助200万元: 以上 includes the number itself
    profile = policy.load(name)
    floor = float(spec.get("min_area_m2", 0.0))
    areas = [floor - 1, floor] if floor else [1.0, 300.0]
    frame = _money_facilities([tier, tier], areas)
    paid = costing.cost(frame, profile, first_year=2021).facilities["construction_yuan"]
    expected = [0.0, spec["yuan"]] if floor else [spec["yuan"], spec["yuan"]]
    assert paid.tolist() == expected


@pytest.mark.parametrize(
    "name", [n for n in PROFILES if "construction_per_m2" in policy.load(n).money]
)
def test_per_m2_construction_subsidy_at_its_cap(name):
    # 每平方米300元…市辖区最高不超过2000平方米: the cap's own area is paid in full, more is not
    profile = policy.load(name)
    rule = profile.money["construction_per_m2"]
    cap = rule["cap_m2_municipal"] if rule.get("municipal") else rule["cap_m2_other"]
    frame = _money_facilities(["community_station"] * 3, [cap - 1, cap, cap + 1])
    paid = costing.cost(frame, profile, first_year=2021).facilities["construction_yuan"]
    per_m2 = rule["yuan_per_m2"]
    assert paid.tolist() == [per_m2 * (cap - 1), per_m2 * cap, per_m2 * cap]


@pytest.mark.parametrize(
    "name", [n for n in PROFILES if "operating_yearly" in policy.load(n).money]
)
def test_every_yearly_operating_award_by_tier(name):
    # 垫江府办〔2020〕8号 §三(二): 街道 15万, 乡镇 10万, 社区 3万, 村 3000元 a year each
    profile = policy.load(name)
    awards = profile.money["operating_yearly"]
    tiers = [*awards, "hospital"]
    frame = _money_facilities(tiers, [1600.0] * len(tiers))
    paid = costing.cost(frame, profile, first_year=2021).facilities["operating_yuan_per_year"]
    assert paid.tolist() == [float(awards[t]["yuan"]) for t in awards] + [0.0]


@pytest.mark.parametrize(
    "name", [n for n in PROFILES if "village_point" in policy.load(n).standards]
)
def test_a_standard_without_a_number_checks_nothing_and_says_so(name):
    # 村级互助养老点: 单独配置一定面积的专用养老服务用房 — no floor area, no beds: never "meets"
    profile = policy.load(name)
    out = _check_one(profile, "village_point", 1.0, 0.0)
    assert out["standard_status"] == "no_standard"
    assert "sets no floor area or beds" in out["standard_note"]
    assert profile.standards["village_point"].source in out["standard_note"]
