"""The built-in policy profiles: values, sources, inheritance and rejection of wrong profiles."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from carecircle import policy
from carecircle.errors import PolicyError

CQ = "渝府办发〔2018〕99号"
YZ = "渝中府办〔2020〕44号"
DJ = "垫江府办〔2020〕8号"
WZ = "万州府办发〔2020〕28号"
YC = "运〔2021〕—2"
ANNEX1 = f"{DJ} 附件1 重庆市社区居家养老服务设施建设标准"
DOCUMENTS = (CQ, YZ, DJ, WZ, YC)
PROFILES = ("chongqing", "dianjiang", "wanzhou", "yuncheng", "yuzhong")
# The documents that ask for meal assistance (助餐): 垫江 §二(四) (“中央厨房+社区配送+集中就餐”
# 助餐服务), 万州 §二(三)9 and §二(五)13 (stations with a 助餐 area), 运城 §一(二) (六助服务).
# 渝府办发〔2018〕99号 (chongqing) does not; 渝中 §二(二)5 names 助餐助行 only as a service to run,
# and yuzhong is the demo's profile: its comment shows the circle to add.
MEAL_PROFILES = ("dianjiang", "wanzhou", "yuncheng")


def _pick(profile: policy.Policy, path: str) -> tuple[Any, str]:
    """The value at ``path`` (``table.name.key``) and the source of its rule."""
    table, *rest = path.split(".")
    if table == "circles":
        name, key = rest
        circle = profile.circle(name)
        kind = key.removeprefix("minutes_")
        return circle.minutes[kind], circle.source
    if table == "standards":
        tier, key = rest
        standard = profile.standards[tier]
        return getattr(standard, key), standard.source
    if table in ("provision", "targets"):
        name, key = rest
        rule = getattr(profile, table)[name]
        return getattr(rule, key), rule.source
    spec: Any = profile.money
    for key in rest[:-1]:
        spec = spec[key]
    return spec[rest[-1]], spec["source"]


def _sources(profile: policy.Policy) -> dict[str, str]:
    """Every rule of a profile -> its source."""
    out = {f"circles.{c.name}": c.source for c in profile.circles}
    out |= {f"standards.{t}": s.source for t, s in profile.standards.items()}
    out |= {f"provision.{n}": r.source for n, r in profile.provision.items()}
    out |= {f"targets.{n}": r.source for n, r in profile.targets.items()}
    for kind, spec in profile.money.items():
        if "source" in spec:
            out[f"money.{kind}"] = spec["source"]
        else:
            out |= {f"money.{kind}.{tier}": s.get("source") for tier, s in spec.items()}
    return out


def _raw(name: str) -> dict[str, Any]:
    folder = resources.files("carecircle.data") / "policies"
    return tomllib.loads((folder / f"{name}.toml").read_text(encoding="utf-8"))


# (profile, table.name.key, value, text the rule's source must contain)
KEY_VALUES = [
    # chongqing: 渝府办发〔2018〕99号 and the municipal standard (annex 1 of 垫江府办〔2020〕8号)
    ("chongqing", "provision.area_per_resident_m2.value", 0.1, f"{CQ} §二(一)"),
    ("chongqing", "provision.new_community_min_area_m2.value", 750, f"{CQ} §二(一)"),
    ("chongqing", "standards.street_center.min_area_m2", 1500, ANNEX1),
    ("chongqing", "standards.street_center.min_beds", 20, ANNEX1),
    ("chongqing", "standards.community_station.min_area_m2", 300, ANNEX1),
    ("chongqing", "standards.community_station.min_area_m2_few_elderly", 200, ANNEX1),
    ("chongqing", "standards.community_station.few_elderly_max", 400, ANNEX1),
    ("chongqing", "standards.township_center.min_area_m2", 800, ANNEX1),
    ("chongqing", "standards.township_center.recommended_nursing_beds", 20, ANNEX1),
    ("chongqing", "standards.township_center.min_beds", None, ANNEX1),
    ("chongqing", "standards.village_point.min_area_m2", None, ANNEX1),
    # yuzhong: 渝中府办〔2020〕44号
    ("yuzhong", "circles.eldercare.minutes_urban", 10, f"{YZ} §二(一)3"),
    ("yuzhong", "circles.eldercare.minutes_rural", 10, f"{YZ} §二(一)3"),
    ("yuzhong", "targets.nursing_bed_share.value", 0.5, f"{YZ} §一"),
    ("yuzhong", "targets.nursing_bed_share.year", 2022, f"{YZ} §一"),
    ("yuzhong", "targets.social_bed_share.value", 0.6, f"{YZ} §一"),
    # wanzhou: 万州府办发〔2020〕28号
    ("wanzhou", "circles.eldercare.minutes_urban", 15, f"{WZ} §一"),
    ("wanzhou", "circles.medical.minutes_urban", 15, f"{WZ} §二(九)25"),
    ("wanzhou", "circles.medical.minutes_rural", 25, f"{WZ} §二(九)25"),
    ("wanzhou", "standards.street_center.min_area_m2", 1500, ANNEX1),
    ("wanzhou", "standards.street_center.min_beds", 20, f"{WZ} §二(五)13"),
    ("wanzhou", "standards.community_station.min_area_m2", 300, f"{WZ} §二(五)13"),
    ("wanzhou", "standards.community_station.min_area_m2_few_elderly", 200, f"{WZ} §二(五)13"),
    ("wanzhou", "standards.township_center.min_beds", 20, f"{WZ} §二(五)13"),
    ("wanzhou", "provision.stations_per_centre.value", 10, f"{WZ} §二(三)9"),
    ("wanzhou", "provision.area_per_100_households_m2.value", 20, f"{WZ} §二(五)12"),
    ("wanzhou", "provision.area_per_resident_m2.value", 0.1, f"{CQ} §二(一)"),
    ("wanzhou", "targets.medical_capable_share.value", 1.0, f"{WZ} §一"),
    ("wanzhou", "targets.medical_capable_share.year", 2021, f"{WZ} §一"),
    ("wanzhou", "money.construction_flat.street_center.yuan", 2_000_000, f"{WZ} §二(五)13"),
    ("wanzhou", "money.construction_flat.street_center.min_area_m2", 1500, f"{WZ} §二(五)13"),
    ("wanzhou", "money.construction_flat.community_station.yuan", 200_000, f"{WZ} §二(五)13"),
    ("wanzhou", "money.construction_flat.township_center.yuan", 1_000_000, f"{WZ} §二(七)17"),
    ("wanzhou", "money.construction_flat.township_center.min_area_m2", 800, f"{WZ} §二(七)17"),
    # dianjiang: 垫江府办〔2020〕8号
    ("dianjiang", "circles.eldercare.minutes_urban", 15, f"{DJ} §二(四)"),
    ("dianjiang", "provision.land_per_resident_m2.value", 0.2, f"{DJ} §二(一)"),
    ("dianjiang", "provision.one_centre_per_township.value", True, f"{DJ} §二(一)"),
    ("dianjiang", "provision.one_station_per_community.value", True, f"{DJ} §二(一)"),
    ("dianjiang", "standards.community_station.min_area_m2_few_elderly", 200, ANNEX1),
    ("dianjiang", "targets.nursing_bed_share.value", 0.5, f"{DJ} §二(五)"),
    ("dianjiang", "targets.social_facility_share_urban.value", 0.9, f"{DJ} §一"),
    ("dianjiang", "targets.social_facility_share_rural.value", 0.6, f"{DJ} §一"),
    ("dianjiang", "targets.medical_capable_share.value", 1.0, f"{DJ} §一"),
    ("dianjiang", "targets.medical_capable_share.year", 2022, f"{DJ} §一"),
    ("dianjiang", "money.operating_yearly.street_center.yuan", 150_000, f"{DJ} §三(二)"),
    ("dianjiang", "money.operating_yearly.township_center.yuan", 100_000, f"{DJ} §三(二)"),
    ("dianjiang", "money.operating_yearly.community_station.yuan", 30_000, f"{DJ} §三(二)"),
    ("dianjiang", "money.operating_yearly.village_point.yuan", 3000, f"{DJ} §三(二)"),
    # yuncheng: 运〔2021〕—2
    ("yuncheng", "standards.community_station.min_area_m2", 500, f"{YC} §二(一)"),
    ("yuncheng", "standards.community_station.max_area_m2", 2000, f"{YC} §二(一)"),
    ("yuncheng", "standards.community_station.min_beds", 10, f"{YC} §二(一)"),
    ("yuncheng", "provision.station_per_community.value", True, f"{YC} §二(一)"),
    ("yuncheng", "provision.old_compound_floor_area_m2.value", 200_000, f"{YC} §二(一)"),
    ("yuncheng", "provision.area_per_100_households_m2.value", 20, f"{YC} §三(四)"),
    ("yuncheng", "money.construction_per_m2.yuan_per_m2", 300, f"{YC} §三(二)"),
    ("yuncheng", "money.construction_per_m2.cap_m2_municipal", 2000, f"{YC} §三(二)"),
    ("yuncheng", "money.construction_per_m2.cap_m2_other", 1500, f"{YC} §三(二)"),
    ("yuncheng", "money.operating_by_grade.min_yuan", 50_000, f"{YC} §二(四)"),
    ("yuncheng", "money.operating_by_grade.max_yuan", 100_000, f"{YC} §二(四)"),
    ("yuncheng", "money.bed_subsidy_monthly.self_care", 100, f"{YC} §二(四)"),
    ("yuncheng", "money.bed_subsidy_monthly.semi_disabled", 200, f"{YC} §二(四)"),
    ("yuncheng", "money.bed_subsidy_monthly.disabled", 300, f"{YC} §二(四)"),
]


def test_every_builtin_profile_loads():
    assert set(PROFILES) <= set(policy.builtin_names())
    for name in policy.builtin_names():
        profile = policy.load(name)
        assert profile.name == name
        assert profile.title
        # a meal circle (助餐) only where the profile's document asks for meal assistance
        meal = {"meal"} if name in MEAL_PROFILES else set()
        assert {c.name for c in profile.circles} == {"eldercare", "medical", *meal}


@pytest.mark.parametrize(
    ("name", "path", "value", "source"),
    KEY_VALUES,
    ids=[f"{name}:{path}" for name, path, *_ in KEY_VALUES],
)
def test_key_values_and_their_sources(name, path, value, source):
    found, cited = _pick(policy.load(name), path)
    if value is None or isinstance(value, bool):
        assert found is value
    else:
        assert found == pytest.approx(value)
    assert source in cited


@pytest.mark.parametrize("name", PROFILES)
def test_every_rule_names_a_source_document(name):
    sources = _sources(policy.load(name))
    assert sources
    for key, source in sources.items():
        assert isinstance(source, str)
        assert source.strip(), key
        assert any(doc in source for doc in DOCUMENTS), f"{name} {key}: {source}"
        # a section is named after the document number
        assert re.search(r"(§[一二三四五六七八九十]|附件1)", source), f"{name} {key}: {source}"


@pytest.mark.parametrize("name", PROFILES)
def test_every_table_in_the_file_has_a_source(name):
    """Also the raw file: no table with values lacks its own or an inherited source."""
    raw = _raw(name)

    def walk(table: dict[str, Any], where: str) -> None:
        leaves = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if where.count(".") >= 1 and leaves and where.split(".")[0] != "circles":
            assert str(leaves.get("source", "")).strip(), where
        for key, value in table.items():
            if isinstance(value, dict):
                walk(value, f"{where}.{key}" if where else key)

    for table in ("standards", "provision", "targets", "money", "circles"):
        walk(raw.get(table, {}), table)
    for key, circle in raw.get("circles", {}).items():
        assert circle.get("source", "").strip(), f"{name} circles.{key}"


@pytest.mark.parametrize("name", PROFILES)
def test_standard_sources_are_in_chinese(name):
    # shown as they are in the Chinese workbook and map (标准依据): no English words in them
    profile = policy.load(name)
    for tier, standard in profile.standards.items():
        assert not re.search(r"[A-Za-z]{3,}", standard.source), (name, tier, standard.source)


@pytest.mark.parametrize("name", PROFILES)
def test_every_money_note_has_its_chinese(name):
    # costing.xlsx (zh) shows note_zh in its notes sheet; the note itself is mostly English
    for kind, spec in policy.load(name).money.items():
        entries = [spec] if "source" in spec else list(spec.values())
        for entry in entries:
            if entry.get("note"):
                assert entry.get("note_zh"), (name, kind, entry["note"])
                assert not re.search(r"[A-Za-z]{3,}", entry["note_zh"]), entry["note_zh"]


def test_yuncheng_is_not_chongqing():
    yc = policy.load("yuncheng")
    assert "extends" not in _raw("yuncheng")
    # Chongqing's tier standards, provision and targets do not apply in Shanxi
    assert set(yc.standards) == {"community_station"}
    assert "area_per_resident_m2" not in yc.provision
    assert "new_community_min_area_m2" not in yc.provision
    assert not yc.targets
    for key, source in _sources(yc).items():
        if key.startswith("circles."):
            # no walking time in the document: a labelled default
            assert source.startswith("DEFAULT"), key
            assert f"{YC} sets no walking time" in source
        else:
            assert source.startswith(YC), key
            for doc in (CQ, YZ, DJ, WZ):
                assert doc not in source, key
    assert yc.money["construction_per_m2"]["municipal"] is True


def test_districts_inherit_the_municipal_rules():
    cq = policy.load("chongqing")
    for name in ("yuzhong", "wanzhou", "dianjiang"):
        district = policy.load(name)
        assert district.provision["area_per_resident_m2"] == cq.provision["area_per_resident_m2"]
        assert set(district.standards) == set(cq.standards)
        assert district.speed_m_s == cq.speed_m_s
        assert district.covered_min_share == cq.covered_min_share
    assert policy.load("dianjiang").standards == cq.standards
    assert policy.load("yuzhong").standards == cq.standards
    # yuzhong sets no medical circle of its own
    assert policy.load("yuzhong").circle("medical") == cq.circle("medical")
    # the 20-bed rule for township centres is 万州's, not the municipal standard's
    assert cq.standards["township_center"].min_beds is None
    assert policy.load("wanzhou").standards["township_center"].min_beds == 20
    # targets and money are the districts' own
    assert not cq.targets
    assert not cq.money
    assert "social_bed_share" not in policy.load("dianjiang").targets
    assert "nursing_bed_share" not in policy.load("wanzhou").targets


def test_few_elderly_threshold_is_a_documented_default():
    station = _raw("chongqing")["standards"]["community_station"]
    assert station["few_elderly_max"] == 400
    assert "few_elderly_max" in station["note"]
    assert "NOT in any document" in station["note"]


def test_user_profile_extends_dianjiang(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nextends = "dianjiang"\n'
        "[standards.community_station]\nfew_elderly_max = 150\n",
        encoding="utf-8",
    )
    mine = policy.load(path)
    dj = policy.load("dianjiang")
    station = mine.standards["community_station"]
    assert station.few_elderly_max == 150
    assert dj.standards["community_station"].few_elderly_max == 400
    assert station.min_area_m2 == 300
    assert station.min_area_m2_few_elderly == 200
    assert station.source == dj.standards["community_station"].source
    assert mine.standards["street_center"] == dj.standards["street_center"]
    assert mine.provision == dj.provision
    assert mine.targets == dj.targets
    assert mine.money == dj.money
    assert mine.circle("eldercare") == dj.circle("eldercare")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'extends = "chongqing"\n[standards.street_center]\nmin_area = 1000\n',
            "unknown key 'standards.street_center.min_area'",
        ),
        (
            'extends = "chongqing"\n[standards.street_center]\nmin_area_m2 = -1500\n',
            "'standards.street_center.min_area_m2' must be 0 or more",
        ),
        (
            'extends = "chongqing"\n[standards.street_center]\nmin_area_m2 = "1500"\n',
            "'standards.street_center.min_area_m2' must be float",
        ),
        (
            'extends = "chongqing"\n[standards.clinic]\nmin_area_m2 = 100\n',
            "'standards.clinic.source'",
        ),
        (
            'extends = "chongqing"\n[standards.spa]\nmin_area_m2 = 100\nsource = "x"\n',
            "unknown key 'standards.spa'",
        ),
        (
            'extends = "chongqing"\n[provision.stations_per_centre]\nvalue = 8\n',
            "'provision.stations_per_centre.source'",
        ),
        (
            'extends = "chongqing"\n[provision.stations_per_centre]\nvalue = 8\nsource = ""\n',
            "'provision.stations_per_centre.source'",
        ),
        (
            'extends = "chongqing"\n[provision.one_centre_per_township]\nvalue = 1\nsource = "x"\n',
            "'provision.one_centre_per_township.value' must be bool",
        ),
        (
            'extends = "chongqing"\n[targets.nursing_bed_share]\nvalue = 0.5\n',
            "'targets.nursing_bed_share.source'",
        ),
        (
            'extends = "chongqing"\n[targets.nursing_bed_share]\nvalue = 50\nsource = "x"\n',
            "'targets.nursing_bed_share.value' must be a share",
        ),
        (
            'extends = "chongqing"\n[money.operating_yearly.village_point]\nyuan = 3000\n',
            "'money.operating_yearly.village_point.source'",
        ),
        (
            'extends = "yuncheng"\n[money.bed_subsidy_monthly]\ndisabled = -300\n',
            "'money.bed_subsidy_monthly.disabled' must be 0 or more",
        ),
        (
            'extends = "dianjiang"\n[standards.community_station]\nmin_area_m2_few_elderly = -1\n',
            "'standards.community_station.min_area_m2_few_elderly' must be 0 or more",
        ),
    ],
)
def test_wrong_profiles_name_the_key(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(PolicyError, match=re.escape(message)):
        policy.load(path)


def test_compound_rules_are_checked_per_compound():
    # issue 23: the four rules once "read, not yet checked" are checked per residential
    # compound (carecircle.compounds); no profile or README says otherwise any more
    from carecircle import compounds

    root = Path(__file__).resolve().parents[1]
    checked = {rule.key for rule in compounds.COMPOUND_RULES}
    for key in (
        "new_community_min_area_m2",
        "land_per_resident_m2",
        "area_per_100_households_m2",
        "old_compound_floor_area_m2",
    ):
        assert key in checked
        holders = [n for n in PROFILES if key in _raw(n).get("provision", {})]
        assert holders, key
        for name in holders:
            assert compounds.rules_of(policy.load(name))
    for name in PROFILES:
        text = (root / "data" / "policies" / f"{name}.toml").read_text("utf-8")
        assert "NOT YET CHECKED" not in text, name
    assert "not yet checked" not in (root / "README.md").read_text(encoding="utf-8").lower()


@pytest.mark.parametrize("name", MEAL_PROFILES)
def test_meal_circle_is_a_labelled_default_of_meal_points(name):
    # no document gives a walking time to a meal point (助餐点, 老年食堂): the minutes are a
    # labelled default, the profile's own elderly-care circle, and the source says so
    profile = policy.load(name)
    meal = profile.circle("meal")
    assert meal.tiers == ("meal_point",)
    assert meal.source.startswith("DEFAULT")
    assert "sets no walking time" in meal.source
    assert meal.minutes == profile.circle("eldercare").minutes
    raw = _raw(name)["circles"]["meal"]
    assert raw["minutes_urban"] == profile.circle("eldercare").minutes["urban"]


@pytest.mark.parametrize("name", ["chongqing", "yuzhong"])
def test_no_meal_circle_in_the_municipal_and_yuzhong_profiles(name):
    # 渝府办发〔2018〕99号 says nothing of meal assistance; 渝中 §二(二)5 only of the service
    names = [c.name for c in policy.load(name).circles]
    assert "meal" not in names


@pytest.mark.parametrize(
    ("name", "tiers"),
    [
        ("dianjiang", ("street_center", "township_center")),
        ("yuncheng", ("community_station",)),
    ],
)
def test_medical_integration_walk_is_a_labelled_default(name, tiers):
    # 垫江 §二(五) 一体或邻近规划设置 and 运城 §三(三) 融合发展 give no distance: the walk is
    # the profile's reading, labelled DEFAULT, citing the document's section
    rule = policy.load(name).medical_integration
    assert rule is not None
    assert rule.max_walk_minutes == 5
    assert rule.tiers == tiers
    assert rule.source.startswith("DEFAULT")
    section = {"dianjiang": f"{DJ} §二(五)", "yuncheng": f"{YC} §三(三)"}[name]
    assert section in rule.source


@pytest.mark.parametrize("name", ["chongqing", "wanzhou", "yuzhong"])
def test_no_medical_integration_where_not_asked(name):
    assert policy.load(name).medical_integration is None


def test_dianjiang_counts_five_medical_integrated_facilities():
    # 垫江府办〔2020〕8号 §二(五): 全县至少建设 5 个社区医养结合型机构 (a count, not a share)
    found = [t for t in policy.load("dianjiang").yearly_targets if t.what == "medical_integrated"]
    assert len(found) == 1
    target = found[0]
    assert (target.number, target.year, target.basis, target.scope) == (
        5,
        2022,
        "total",
        "district",
    )
    assert f"{DJ} §二(五)" in target.source
