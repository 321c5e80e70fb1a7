"""The shared words: facility tiers, community kinds, statuses, languages, yes and no.

Every module that reads, checks or writes one of these words takes it from here, with its
Chinese and English labels, so a tier or a status is spelled once. Nothing here imports
anything but the errors.
"""

from __future__ import annotations

from typing import Any, Literal

from .errors import InputError

Lang = Literal["zh", "en"]
"""A language for headers, labels and notes: Chinese or English."""

LANGS: tuple[str, ...] = ("zh", "en")
"""Every accepted ``lang`` value."""


def check_lang(lang: str) -> None:
    """Raise :class:`~carecircle.errors.InputError` unless ``lang`` is ``"zh"`` or ``"en"``."""
    if lang not in LANGS:
        accepted = ", ".join(repr(x) for x in LANGS)
        msg = f"lang={lang!r} is not supported; expected one of {accepted}"
        raise InputError(msg)


ELDERCARE_TIERS: tuple[str, ...] = (
    "street_center",
    "community_station",
    "township_center",
    "village_point",
)
"""Elderly-care facility tiers, from the street (街道) level down to the village."""

HEALTH_TIERS: tuple[str, ...] = ("health_center", "clinic", "hospital")
"""Medical facility tiers."""

MEAL_TIERS: tuple[str, ...] = ("meal_point",)
"""Meal-assistance (助餐) facility tiers: an elderly canteen or meal point (老年食堂, 助餐点),
counted for a profile's meal circle (``[circles.meal]``), not as an elderly-care facility."""

TIERS: tuple[str, ...] = ELDERCARE_TIERS + HEALTH_TIERS + MEAL_TIERS
"""Every accepted ``tier`` value."""

TIER_LABELS_ZH: dict[str, str] = {
    "street_center": "街道养老服务中心",
    "community_station": "社区养老服务站",
    "township_center": "乡镇养老服务中心",
    "village_point": "村级互助养老点",
    "health_center": "社区卫生服务中心/乡镇卫生院",
    "clinic": "诊所/卫生室",
    "hospital": "医院",
    "meal_point": "老年食堂/助餐点",
}
"""Chinese display label of each tier."""

TIER_LABELS_EN: dict[str, str] = {
    "street_center": "street elderly-care centre",
    "community_station": "community elderly-care station",
    "township_center": "township elderly-care centre",
    "village_point": "village mutual-aid point",
    "health_center": "community health centre",
    "clinic": "clinic",
    "hospital": "hospital",
    "meal_point": "meal point (elderly canteen)",
}
"""English display label of each tier."""

TIER_NAMES: dict[str, str] = {
    **{tier: tier for tier in TIERS},
    "街道养老服务中心": "street_center",
    "社区养老服务站": "community_station",
    "乡镇养老服务中心": "township_center",
    "村级互助养老点": "village_point",
    "社区卫生服务中心": "health_center",
    "乡镇卫生院": "health_center",
    "卫生院": "health_center",
    "诊所": "clinic",
    "卫生室": "clinic",
    "村卫生室": "clinic",
    "医院": "hospital",
    "老年食堂": "meal_point",
    "长者食堂": "meal_point",
    "社区食堂": "meal_point",
    "助餐点": "meal_point",
    "老年助餐点": "meal_point",
    "助餐服务点": "meal_point",
    "老年食堂/助餐点": "meal_point",
}
"""Tier of each name a table may give (a tier itself, or its usual Chinese name)."""


def tier_name(text: str) -> str:
    """The tier a name stands for (``社区养老服务站`` → ``community_station``), else ``text``."""
    return TIER_NAMES.get("".join(text.split()).lower(), text)


KINDS: tuple[str, ...] = ("urban", "rural")
"""Accepted community ``kind`` values."""

KIND_NAMES: dict[str, str] = {
    "urban": "urban",
    "城市": "urban",
    "城镇": "urban",
    "社区": "urban",
    "rural": "rural",
    "农村": "rural",
    "村": "rural",
}
"""Kind of each word a table may give for a community's ``kind`` (English or Chinese)."""

INPUT_STATUSES: tuple[str, ...] = ("ok", "invalid_geometry", "empty_geometry", "no_population")
"""Values of the community ``input_status`` column."""


# Statuses a community can have for a circle.
COVERED = "covered"
PARTIAL = "partial"
UNCOVERED = "uncovered"
NO_FACILITY = "no_facility"
OUTSIDE_NETWORK = "outside_network"
# plus the input statuses (invalid_geometry, empty_geometry, no_population) carried through

#: Every status, in legend order.
STATUSES = (
    COVERED,
    PARTIAL,
    UNCOVERED,
    NO_FACILITY,
    OUTSIDE_NETWORK,
    "no_population",
    "invalid_geometry",
    "empty_geometry",
)

NOT_COVERED: tuple[str, ...] = (PARTIAL, UNCOVERED, NO_FACILITY)
"""The statuses of a community with residents left outside the circle that a new facility
could bring in: the gaps the uncovered areas show and the generated candidates surround."""

STATUS_LABELS_ZH = {
    COVERED: "已覆盖",
    PARTIAL: "部分覆盖",
    UNCOVERED: "未覆盖",
    NO_FACILITY: "无此类设施",
    OUTSIDE_NETWORK: "不在步行网络内",
    "invalid_geometry": "边界无效",
    "empty_geometry": "无边界",
    "no_population": "无人口数据",
}
"""Chinese label of each status."""

STATUS_LABELS_EN = {
    COVERED: "covered",
    PARTIAL: "partly covered",
    UNCOVERED: "not covered",
    NO_FACILITY: "no facility of this kind",
    OUTSIDE_NETWORK: "outside the walking network",
    "invalid_geometry": "invalid boundary",
    "empty_geometry": "no boundary",
    "no_population": "no population",
}
"""English label of each status."""

TARGET_LABELS_ZH = {
    "nursing_bed_share": "护理型床位占比",
    "social_bed_share": "社会力量运营床位占比",
    "medical_capable_share": "具备医养服务能力的设施比例",
    "social_facility_share_urban": "城市养老服务设施社会化运营率",
    "social_facility_share_rural": "农村养老服务设施社会化运营率",
    "compounds": "核查的小区数",
    "compounds_below": "未达标的小区数",
    "compounds_needing_centre": "需配建养老设施的老旧小区数",
    "compounds_unknown": "数据不全的小区数",
}
"""Chinese label of each district target (``[targets.<rule>]`` of a profile), and of the
compound counts (``compounds``...; see :func:`carecircle.compounds.district_rows`)."""

TARGET_LABELS_EN = {
    "nursing_bed_share": "nursing beds share",
    "social_bed_share": "socially operated beds share",
    "medical_capable_share": "facilities able to give medical care",
    "social_facility_share_urban": "urban facilities socially operated",
    "social_facility_share_rural": "rural facilities socially operated",
    "compounds": "compounds checked",
    "compounds_below": "compounds below a rule",
    "compounds_needing_centre": "old compounds needing a facility",
    "compounds_unknown": "compounds with data missing",
}
"""English label of each district target, and of the compound counts."""

#: Labels of what a yearly count target counts (``[[targets.yearly]]``'s ``what``), Chinese and
#: English; its rule is the name, with ``_new`` for a count of one year's new ones.
COUNT_LABELS: dict[str, tuple[str, str]] = {
    "centres": ("养老服务中心数", "centres"),
    "street_centres": ("街道养老服务中心数", "street centres"),
    "township_centres": ("乡镇养老服务中心数", "township centres"),
    "stations": ("社区养老服务站数", "stations"),
    "rural_points": ("农村互助养老点数", "rural mutual-aid points"),
    "demonstration_centres": ("示范养老服务中心数", "demonstration centres"),
    "communities_covered": ("服务全覆盖的社区数", "communities covered"),
    "streets_covered": ("服务全覆盖的街道数", "streets covered"),
    "towns_covered": ("服务全覆盖的乡镇数", "towns covered"),
    "medical_integrated": ("社区医养结合型机构数", "medical-and-care (医养结合) facilities"),
}


def is_share_target(rule: str) -> bool:
    """Whether a district target's ``rule`` is a share (shown as a percentage), not a count.

    Examples
    --------
    >>> is_share_target("nursing_bed_share"), is_share_target("stations_new")
    (True, False)

    """
    return "_share" in rule


def target_label(rule: str, lang: str) -> str:
    """A district target's name in ``lang``: a share's label, or what a count counts.

    Examples
    --------
    >>> target_label("stations_new", "zh"), target_label("towns_covered", "en")
    ('社区养老服务站数（当年新建）', 'towns covered')

    """
    labels = TARGET_LABELS_ZH if lang == "zh" else TARGET_LABELS_EN
    if rule in labels:
        return labels[rule]
    what, new = (rule[: -len("_new")], True) if rule.endswith("_new") else (rule, False)
    if what not in COUNT_LABELS:
        return rule
    zh, en = COUNT_LABELS[what]
    if lang == "zh":
        return zh + ("（当年新建）" if new else "")
    return en + (" (new that year)" if new else "")


def target_text(rule: str, value: Any) -> str:
    """A target's value or number as shown: a share as a percentage, a count as a whole number.

    Examples
    --------
    >>> target_text("nursing_bed_share", 0.414), target_text("stations", 129.0)
    ('41%', '129')

    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if number != number:
        return ""
    return f"{number:.0%}" if is_share_target(rule) else f"{number:,.0f}"


YES_TEXTS: frozenset[str] = frozenset(
    {"1", "true", "t", "yes", "y", "是", "对", "社会", "社会运营", "social"}
)
"""Cell texts read as yes in a yes/no column (compared stripped and lower-case)."""

NO_TEXTS: frozenset[str] = frozenset(
    {"0", "false", "f", "no", "n", "否", "不是", "公办", "公建公营", "public"}
)
"""Cell texts read as no in a yes/no column (compared stripped and lower-case)."""

YES_NO_EXPECTED = "yes/no (是/否, true/false, 1/0, 社会/公办) or blank"

YES_NO_WORDS: dict[str, dict[bool, str]] = {
    "zh": {True: "是", False: "否"},
    "en": {True: "yes", False: "no"},
}
"""A yes/no cell in words for people (workbooks, popups), per language."""
