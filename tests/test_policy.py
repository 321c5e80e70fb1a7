from __future__ import annotations

import re

import pytest

from carecircle import policy
from carecircle.errors import PolicyError


def test_builtin_profiles_and_their_circles():
    assert {"chongqing", "yuzhong"} <= set(policy.builtin_names())
    cq = policy.load("chongqing")
    assert cq.circle("eldercare").minutes == {"urban": 15.0, "rural": 15.0}
    assert cq.circle("medical").minutes == {"urban": 15.0, "rural": 25.0}
    assert "万州府办发〔2020〕28号" in cq.circle("medical").source
    assert cq.speed_m_s == 0.9
    yz = policy.load("yuzhong")
    assert yz.circle("eldercare").minutes["urban"] == 10.0
    assert "渝中府办〔2020〕44号" in yz.circle("eldercare").source
    # inherited unchanged
    assert yz.circle("medical").minutes == cq.circle("medical").minutes


def test_user_profile_inherits(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nextends = "chongqing"\n[analysis]\nspeed_m_s = 0.8\n'
        "[circles.eldercare]\nminutes_urban = 12\n",
        encoding="utf-8",
    )
    mine = policy.load(path)
    assert mine.speed_m_s == 0.8
    assert mine.circle("eldercare").minutes == {"urban": 12.0, "rural": 15.0}
    assert mine.grid_spacing_m == 50.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('extends = "chongqing"\nspeed = 1\n', "unknown key 'speed'"),
        (
            'extends = "chongqing"\n[circles.eldercare]\nminutes_urbn = 5\n',
            "circles.eldercare.minutes_urbn",
        ),
        ('extends = "chongqing"\n[circles.eldercare]\nminutes_urban = "ten"\n', "must be float"),
        ('extends = "chongqing"\n[circles.eldercare]\nminutes_rural = -5\n', "must be positive"),
        ('extends = "chongqing"\n[circles.eldercare]\ntiers = ["spa"]\n', "unknown tier"),
        ('extends = "chongqing"\n[status]\ncovered_min_share = 1.5\n', "share from 0 to 1"),
        ('extends = "nowhere"\n', "unknown policy 'nowhere'"),
        ("name = [\n", "not valid TOML"),
    ],
)
def test_wrong_profiles_name_the_key(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")):
        policy.load(path)


def test_unknown_builtin_lists_the_known_ones():
    with pytest.raises(PolicyError, match="chongqing"):
        policy.load("atlantis")


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "+inf", "1e999"])
@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("analysis", "speed_m_s"),
        ("analysis", "max_access_m"),
        ("circles.eldercare", "minutes_urban"),
        ("standards.community_station", "min_area_m2"),
        ("provision.area_per_resident_m2", "value"),
        ("targets.nursing_bed_share", "value"),
        ("money.bed_subsidy_monthly", "disabled"),
    ],
)
def test_numbers_that_are_not_numbers_are_refused(tmp_path, text, table, key):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "yuncheng"\n[{table}]\n{key} = {text}\n', encoding="utf-8")
    found = {"nan": "nan", "-inf": "-inf"}.get(text, "inf")
    with pytest.raises(PolicyError) as info:
        policy.load(path)
    assert str(info.value) == f"{path}: key '{table}.{key}' must be a finite number, found {found}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[analysis]\nspeed_m_s = 9\n",
            "key 'analysis.speed_m_s' must be a walking speed of at most 3 m/s, found 9",
        ),
        (
            "[circles.medical]\nminutes_rural = 600\n",
            "key 'circles.medical.minutes_rural' must be a walk of at most 120 minutes, found 600",
        ),
        (
            '[targets.nursing_bed_share]\nvalue = 0.5\nyear = 20225\nsource = "x"\n',
            "key 'targets.nursing_bed_share.year' must be a calendar year from 1900 to 2100, "
            "found 20225",
        ),
        (
            '[targets.nursing_bed_share]\nvalue = 0.5\nyear = 2022.5\nsource = "x"\n',
            "key 'targets.nursing_bed_share.year' must be a calendar year from 1900 to 2100, "
            "found 2022.5",
        ),
    ],
)
def test_absurd_values_are_refused(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "chongqing"\n{body}', encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        policy.load(path)
    assert str(info.value) == f"{path}: {message}"


def test_the_limits_themselves_are_accepted(tmp_path):
    path = tmp_path / "edge.toml"
    path.write_text(
        'extends = "chongqing"\n[analysis]\nspeed_m_s = 3\n'
        "[circles.medical]\nminutes_rural = 120\n",
        encoding="utf-8",
    )
    edge = policy.load(path)
    assert edge.speed_m_s == 3.0
    assert edge.circle("medical").minutes["rural"] == 120.0


def test_the_walking_table_has_cited_defaults_and_districts_inherit_it(tmp_path):
    cq = policy.load("chongqing").walking
    assert cq == policy.Walking(source=cq.source)  # the file holds every default
    assert "Oh-Park" in cq.source and "Tobler" in cq.source
    assert policy.load("yuzhong").walking == cq
    path = tmp_path / "mine.toml"
    path.write_text(
        'extends = "yuzhong"\n[walking]\nsteps_up_s_per_step = 1.2\nuse_ramps = false\n'
        'slope_model = "none"\nelevator_wait_s = 0\n',
        encoding="utf-8",
    )
    mine = policy.load(path).walking
    assert mine.steps_up_s_per_step == 1.2
    assert mine.use_ramps is False
    assert mine.slope_model == "none"
    assert mine.elevator_wait_s == 0.0  # no wait is a value, not a mistake
    assert mine.steps_down_s_per_step == cq.steps_down_s_per_step  # inherited


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "stairs_factor = 3",
            "unknown key 'walking.stairs_factor'; expected one of: slope_model, max_speed_factor, "
            "dem_spacing_m, steps_up_s_per_step, steps_down_s_per_step, steps_up_factor, "
            "steps_down_factor, use_ramps, elevator_wait_s, elevator_ride_s, conveying_speed_m_s, "
            "source, note",
        ),
        (
            "steps_up_s_per_step = 0",
            "key 'walking.steps_up_s_per_step' must be seconds per step, "
            "more than 0 and at most 60, found 0",
        ),
        (
            "steps_down_s_per_step = -1",
            "key 'walking.steps_down_s_per_step' must be seconds per "
            "step, more than 0 and at most 60, found -1",
        ),
        (
            "steps_up_factor = 0.0",
            "key 'walking.steps_up_factor' must be a factor of more than 0 "
            "and at most 100, found 0.0",
        ),
        (
            "steps_up_factor = inf",
            "key 'walking.steps_up_factor' must be a finite number, found inf",
        ),
        (
            "elevator_ride_s = nan",
            "key 'walking.elevator_ride_s' must be a finite number, found nan",
        ),
        (
            "elevator_wait_s = -5",
            "key 'walking.elevator_wait_s' must be seconds from 0 to 3600, found -5",
        ),
        (
            "conveying_speed_m_s = 0",
            "key 'walking.conveying_speed_m_s' must be a speed of more "
            "than 0 and at most 3 m/s, found 0",
        ),
        (
            "conveying_speed_m_s = 5",
            "key 'walking.conveying_speed_m_s' must be a speed of more "
            "than 0 and at most 3 m/s, found 5",
        ),
        (
            "max_speed_factor = 0.5",
            "key 'walking.max_speed_factor' must be a multiple of the flat "
            "speed from 1 to 3, found 0.5",
        ),
        (
            "dem_spacing_m = 0",
            "key 'walking.dem_spacing_m' must be a spacing of more than 0 and "
            "at most 1000 m, found 0",
        ),
        ('steps_up_factor = "3"', "key 'walking.steps_up_factor' must be float, found '3' (str)"),
        ("use_ramps = 1", "key 'walking.use_ramps' must be bool, found 1 (int)"),
        (
            "steps_up_s_per_step = true",
            "key 'walking.steps_up_s_per_step' must be float, found True (bool)",
        ),
        (
            'slope_model = "flat"',
            "key 'walking.slope_model' must be one of tobler, none, found 'flat'",
        ),
    ],
)
def test_a_wrong_walking_value_is_refused_in_one_line(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "chongqing"\n[walking]\n{body}\n', encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        policy.load(path)
    assert str(info.value) == f"{path}: {message}"


def test_walking_must_be_a_table(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('extends = "chongqing"\nwalking = 3\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"key 'walking' must be dict, found 3 \(int\)"):
        policy.load(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[medical_integration]\nsource = "x"\n',
            "missing key 'medical_integration.max_walk_minutes'",
        ),
        (
            "[medical_integration]\nmax_walk_minutes = 5\n",
            "missing key 'medical_integration.source': every rule names its source",
        ),
        (
            '[medical_integration]\nmax_walk_minutes = 0\nsource = "x"\n',
            "key 'medical_integration.max_walk_minutes' must be a walk of more than 0 and at "
            "most 120 minutes, found 0",
        ),
        (
            '[medical_integration]\nmax_walk_minutes = 5\ntiers = ["clinic"]\nsource = "x"\n',
            "key 'medical_integration.tiers' has unknown tier(s) ['clinic']; expected some of: "
            "street_center, community_station, township_center, village_point",
        ),
        (
            '[medical_integration]\nmax_walk = 5\nsource = "x"\n',
            "unknown key 'medical_integration.max_walk'; expected one of: max_walk_minutes, "
            "tiers, source, note",
        ),
    ],
)
def test_a_wrong_medical_integration_is_refused_in_one_line(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "chongqing"\n{body}', encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        policy.load(path)
    assert str(info.value) == f"{path}: {message}"


def test_medical_integration_defaults_to_the_centres_and_accepts_the_limit(tmp_path):
    # 垫江府办〔2020〕8号 §二(五): 街道养老服务中心 and 乡镇养老服务中心 beside a health centre
    path = tmp_path / "mine.toml"
    path.write_text(
        'extends = "chongqing"\n[medical_integration]\nmax_walk_minutes = 120\nsource = "x"\n',
        encoding="utf-8",
    )
    mine = policy.load(path)
    assert mine.medical_integration is not None
    assert mine.medical_integration.max_walk_minutes == 120.0
    assert mine.medical_integration.tiers == ("street_center", "township_center")


@pytest.mark.parametrize(
    ("entry", "found"),
    [
        ('what = "beds"\nyear = 2020\nnumber = 1\nsource = "s"', "targets.yearly[0].what"),
        ('what = "stations"\nyear = 20.5\nnumber = 1\nsource = "s"', "targets.yearly[0].year"),
        ('what = "stations"\nyear = 2020\nnumber = -1\nsource = "s"', "targets.yearly[0].number"),
        ('what = "stations"\nyear = 2020\nnumber = 1.5\nsource = "s"', "targets.yearly[0].number"),
        ('what = "stations"\nyear = 2020\nnumber = 1', "targets.yearly[0].source"),
        ('what = "stations"\nyear = 2020\nnumber = 1\nsource = "s"\nbasis = "x"', "basis"),
        ('what = "stations"\nyear = 2020\nnumber = 1\nsource = "s"\nscope = "x"', "scope"),
        ('what = "stations"\nyear = 2020\nnumber = 1\nsource = "s"\nextra = 1', "extra"),
    ],
)
def test_bad_yearly_target_is_one_line(tmp_path, entry, found):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "chongqing"\n[[targets.yearly]]\n{entry}\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=re.escape(found)) as info:
        policy.load(path)
    assert "\n" not in str(info.value)


def test_yearly_targets_add_up_along_extends():
    # 万州 adds its own (到2022年…437个农村养老互助点) to chongqing's 千百工程 years
    municipal = policy.load("chongqing").yearly_targets
    wanzhou = policy.load("wanzhou").yearly_targets
    assert wanzhou[: len(municipal)] == municipal
    own = wanzhou[len(municipal) :]
    assert {(t.what, t.year, t.number) for t in own} >= {("rural_points", 2022, 437)}
    assert {t.scope for t in municipal} == {"municipality"}
