"""The money rules: each facility's amounts, each with the sentence saying why.

:func:`construction_amount` (flat per tier, per m² up to a cap), :func:`operating_amount` (yearly
per tier, a range by grade) and :func:`bed_subsidy_amount` (per resident-month) give one facility's
:class:`_Amount` under a profile's ``[money]`` tables, in Chinese and English; :func:`check_money`
checks the tables first, :func:`resolve_municipal` settles which per-m² cap applies and
:func:`policy_labels` names the profile in the sentences.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..errors import PolicyError
from ..policy import Policy
from ..terms import TIER_LABELS_EN, TIER_LABELS_ZH
from .rows import Rows
from .schema import RESIDENT_FIELDS, SOCIAL_CAPITAL_TIERS, URBAN_CENTRE_TIERS, Note

logger = logging.getLogger(__name__)

_NEEDS = ("self_care", "semi_disabled", "disabled")  # keys of [money.bed_subsidy_monthly]
_NEEDS_ZH = ("自理", "半失能", "失能")
_NEEDS_EN = ("self-care", "semi-disabled", "disabled")


class _Amount(NamedTuple):
    """An amount (a range when ``low < high``; NaN when unknown) and why, in zh and en."""

    low: float
    high: float
    zh: str
    en: str


def policy_labels(policy: Policy) -> tuple[str, str]:
    """Short zh and en labels of the profile, from a title like ``重庆市万州区 (Wanzhou)``."""
    title = policy.title.strip() or policy.name
    zh, _, rest = title.partition(" (")
    en = rest.rstrip(")").strip() if rest else policy.name
    return zh.strip() or policy.name, en or policy.name


def resolve_municipal(
    per_m2: Mapping[str, Any], municipal: bool | None, policy: Policy, notes: list[Note]
) -> bool:
    """Whether the per-m² award takes the municipal-district cap: ``municipal``, or the profile's.

    Appends a note when ``municipal`` overrides the profile, or when the profile's value is
    assumed; raises :class:`PolicyError` when neither says.
    """
    if municipal is not None:
        if "municipal" in per_m2 and bool(per_m2["municipal"]) != municipal:
            profile = str(per_m2["municipal"]).lower()
            flag_given = "--municipal" if municipal else "--not-municipal"
            notes.append(
                Note(
                    f"按{'市辖区' if municipal else '非市辖区'}计算（{flag_given}），"
                    f"不采用政策配置中的设定（{'是' if profile == 'true' else '不是'}市辖区）",
                    f"taken as {'in' if municipal else 'outside'} a municipal district "
                    f"({flag_given}), not as the profile says (it is "
                    f"{'' if profile == 'true' else 'not '}one)",
                )
            )
        return bool(municipal)
    if "municipal" not in per_m2:
        msg = (
            f"{policy.source_file}: money.construction_per_m2 has no 'municipal' key and no "
            "municipal= was given; expected municipal = true (市辖区, cap_m2_municipal) or "
            "false (cap_m2_other) in the profile, or --municipal / --not-municipal"
        )
        raise PolicyError(msg)
    assumed = bool(per_m2["municipal"])
    cap = per_m2["cap_m2_municipal"] if assumed else per_m2["cap_m2_other"]
    other = per_m2["cap_m2_other"] if assumed else per_m2["cap_m2_municipal"]
    where = "in a municipal district (市辖区)" if assumed else "outside municipal districts"
    flag = "--not-municipal (municipal=False)" if assumed else "--municipal (municipal=True)"
    notes.append(
        Note(
            f"未指定 --municipal 或 --not-municipal：按政策配置的设定，"
            f"设施视为位于{'市辖区' if assumed else '非市辖区'}，"
            f"按面积奖补以 {fmt(cap)} m² 为上限；如按 {fmt(other)} m² 上限计算，请指定 {flag}",
            f"neither --municipal nor --not-municipal given: the facilities are taken to be "
            f"{where}, as the profile says, so the per-m² award is capped at {fmt(cap)} m²; "
            f"give {flag} for the {fmt(other)} m² cap",
        )
    )
    return assumed


_REQUIRED: dict[str, tuple[str, ...]] = {
    "construction_flat": ("yuan",),
    "construction_per_m2": ("yuan_per_m2", "cap_m2_municipal", "cap_m2_other"),
    "operating_yearly": ("yuan",),
    "operating_by_grade": ("min_yuan", "max_yuan"),
    "bed_subsidy_monthly": _NEEDS,
}


def check_money(money: Mapping[str, Any], where: str) -> None:
    """Raise unless every money table has the amounts :func:`cost` needs."""
    for table, keys in _REQUIRED.items():
        spec = money.get(table) or {}
        entries = (
            [(f"{table}.{tier}", entry) for tier, entry in spec.items()]
            if table in ("construction_flat", "operating_yearly")
            else ([(table, spec)] if spec else [])
        )
        for key, entry in entries:
            for name in keys:
                if name not in entry:
                    msg = (
                        f"{where}: money.{key} has no {name!r}; expected a number "
                        f"({'m²' if name.startswith('cap') else 'yuan'})"
                    )
                    raise PolicyError(msg)
    by_grade = money.get("operating_by_grade") or {}
    if by_grade and by_grade["min_yuan"] > by_grade["max_yuan"]:
        msg = (
            f"{where}: money.operating_by_grade.min_yuan ({by_grade['min_yuan']!r}) exceeds "
            f"max_yuan ({by_grade['max_yuan']!r})"
        )
        raise PolicyError(msg)


def fmt(value: float) -> str:
    """``2000000`` → ``"2,000,000"``; ``1499.5`` → ``"1,499.5"``."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _tier_names(tier: str) -> tuple[str, str]:
    return TIER_LABELS_ZH.get(tier, tier), TIER_LABELS_EN.get(tier, tier)


def _join(parts: Sequence[_Amount]) -> _Amount:
    """Sum the amounts (NaN when any is unknown) and join the reasons."""
    return _Amount(
        low=float(sum(p.low for p in parts)),
        high=float(sum(p.high for p in parts)),
        zh="；".join(p.zh for p in parts),
        en="; ".join(p.en for p in parts),
    )


def _exact(value: float, zh: str, en: str) -> _Amount:
    return _Amount(value, value, zh, en)


def _construction_flat(
    tier: str,
    area: float,
    social: bool | None,
    flat: Mapping[str, Any],
    *,
    label: tuple[str, str],
    social_column: bool,
) -> _Amount:
    tier_zh, tier_en = _tier_names(tier)
    lzh, len_ = label
    spec = flat.get(tier)
    if spec is None:
        if tier == "village_point" and "township_center" in flat:
            source = flat["township_center"].get("source", "")
            return _exact(
                0.0,
                f"{lzh}: {tier_zh}无单独建设补助；乡镇养老服务中心的补助含辖区内互助点 ({source})",
                f"{len_}: no separate construction subsidy for a {tier_en}; the township "
                f"centre's subsidy covers the points of its township ({source})",
            )
        return _exact(
            0.0,
            f"{lzh}: {tier_zh}无一次性建设补助标准",
            f"{len_}: no one-off construction subsidy for a {tier_en}",
        )
    yuan = float(spec["yuan"])
    source = spec.get("source", "")
    needs_social = tier in SOCIAL_CAPITAL_TIERS
    if social is False and needs_social:
        return _exact(
            0.0,
            f"{lzh}: 非社会力量投资建设，不享受{tier_zh} {fmt(yuan)} 元建设补助 ({source})",
            f"{len_}: not built by social capital, so no {fmt(yuan)} yuan construction "
            f"subsidy for a {tier_en} ({source})",
        )
    min_area = spec.get("min_area_m2")
    area_zh = area_en = ""
    if min_area is not None:
        if math.isnan(area):
            return _exact(
                math.nan,
                f"{lzh}: 建筑面积缺失，无法判断是否达到 {fmt(min_area)} m²，"
                f"{tier_zh}建设补助 {fmt(yuan)} 元未计 ({source})",
                f"{len_}: floor area missing, so whether it reaches {fmt(min_area)} m² is "
                f"unknown; the {fmt(yuan)} yuan subsidy for a {tier_en} is not counted "
                f"({source})",
            )
        if area < min_area:
            return _exact(
                0.0,
                f"{lzh}: 建筑面积 {fmt(area)} m² 未达 {fmt(min_area)} m²，无{tier_zh}建设补助 "
                f"({source})",
                f"{len_}: floor area {fmt(area)} m² is below {fmt(min_area)} m², so no "
                f"construction subsidy for a {tier_en} ({source})",
            )
        area_zh = f"（建筑面积 {fmt(area)} m² ≥ {fmt(min_area)} m²）"
        area_en = f" (floor area {fmt(area)} m² ≥ {fmt(min_area)} m²)"
    zh = f"{lzh}: {tier_zh} {fmt(yuan)} 元{area_zh} ({source})"
    en = f"{len_}: {tier_en} {fmt(yuan)} yuan{area_en} ({source})"
    if social is False:
        zh += "；不限社会力量投资建设，验收合格即可"
        en += "; not limited to social capital: passing inspection suffices"
    elif social is None and needs_social:
        why_zh = "无社会资本一栏" if not social_column else "社会资本一栏空白"
        why_en = "no social_capital column" if not social_column else "social_capital blank"
        zh += f"；{why_zh}，按社会力量投资建设计"
        en += f"; {why_en}: assumed built by social capital"
    return _exact(yuan, zh, en)


def _construction_per_m2(
    tier: str, area: float, per_m2: Mapping[str, Any], *, municipal: bool, label: tuple[str, str]
) -> _Amount:
    tier_zh, tier_en = _tier_names(tier)
    lzh, len_ = label
    source = per_m2.get("source", "")
    if tier not in URBAN_CENTRE_TIERS:
        return _exact(
            0.0,
            f"{lzh}: 按面积奖补只适用于城市社区养老服务中心，{tier_zh}不适用 ({source})",
            f"{len_}: the per-m² award is for urban community centres only, not a {tier_en} "
            f"({source})",
        )
    rate = float(per_m2["yuan_per_m2"])
    cap_key = "cap_m2_municipal" if municipal else "cap_m2_other"
    cap = float(per_m2[cap_key])
    where_zh, where_en = (
        ("市辖区", "in a municipal district")
        if municipal
        else ("非市辖区", "outside municipal districts")
    )
    if math.isnan(area):
        return _exact(
            math.nan,
            f"{lzh}: 建筑面积缺失，无法按 {fmt(rate)} 元/m² 计算建设奖补 ({source})",
            f"{len_}: floor area missing, so the {fmt(rate)} yuan/m² award cannot be worked "
            f"out ({source})",
        )
    counted = min(area, cap)
    amount = rate * counted
    capped_zh = (
        f"，{where_zh}上限 {fmt(cap)} m²" if area > cap else f"，未超{where_zh}上限 {fmt(cap)} m²"
    )
    capped_en = (
        f", capped at {fmt(cap)} m² {where_en}"
        if area > cap
        else f", within the {fmt(cap)} m² cap {where_en}"
    )
    return _exact(
        amount,
        f"{lzh}: {fmt(rate)} 元/m² × {fmt(counted)} m²（建筑面积 {fmt(area)} m²{capped_zh}）"
        f"= {fmt(amount)} 元 ({source})",
        f"{len_}: {fmt(rate)} yuan/m² × {fmt(counted)} m² (floor area {fmt(area)} m²"
        f"{capped_en}) = {fmt(amount)} yuan ({source})",
    )


def construction_amount(
    rows: Rows, i: int, money: Mapping[str, Any], *, municipal: bool | None, label: tuple[str, str]
) -> _Amount:
    """The one-off construction subsidy of facility ``i``, yuan, with its rule in zh and en."""
    status, year = rows.status[i], rows.years[i]
    if status == "existing":
        why_zh, why_en = (
            ("无开业年份", "no opening year")
            if year is None
            else (f"{year}年开业，状态为现有", f"opened {year}, status existing")
        )
        return _exact(
            0.0,
            f"现有设施（{why_zh}），不计建设补助",
            f"existing facility ({why_en}): no construction subsidy counted",
        )
    has_rules = money.get("construction_flat") or money.get("construction_per_m2")
    if status == "unknown" and has_rules:
        return _exact(
            math.nan,
            "拟建选址表中的一行，未填开业年份或建设状态：不知是新建还是现有，建设补助未计",
            "a row of a proposed-sites table with neither an opening year nor a status: new or "
            "existing is not stated, so construction is not costed",
        )
    parts = []
    if money.get("construction_flat"):
        parts.append(
            _construction_flat(
                rows.tiers[i],
                float(rows.area_m2[i]),
                rows.social[i],
                money["construction_flat"],
                label=label,
                social_column="social_capital" in rows.found,
            )
        )
    if money.get("construction_per_m2"):
        assert municipal is not None  # set by cost() whenever the table exists
        parts.append(
            _construction_per_m2(
                rows.tiers[i],
                float(rows.area_m2[i]),
                money["construction_per_m2"],
                municipal=municipal,
                label=label,
            )
        )
    if not parts:
        return _exact(0.0, "本政策无建设补助", "the profile has no construction subsidy")
    return _join(parts)


def operating_amount(
    rows: Rows, i: int, money: Mapping[str, Any], *, label: tuple[str, str]
) -> _Amount:
    """The yearly operating award of facility ``i``, yuan (a range), with its rule in zh and en."""
    tier = rows.tiers[i]
    tier_zh, tier_en = _tier_names(tier)
    lzh, len_ = label
    parts = []
    yearly = money.get("operating_yearly") or {}
    if yearly:
        spec = yearly.get(tier)
        if spec is None:
            parts.append(
                _exact(
                    0.0,
                    f"{lzh}: {tier_zh}无运营奖补标准",
                    f"{len_}: no operating award for a {tier_en}",
                )
            )
        else:
            yuan = float(spec["yuan"])
            source = spec.get("source", "")
            parts.append(
                _exact(
                    yuan,
                    f"{lzh}: {tier_zh} {fmt(yuan)} 元/年 ({source})",
                    f"{len_}: {tier_en} {fmt(yuan)} yuan a year ({source})",
                )
            )
    by_grade = money.get("operating_by_grade") or {}
    if by_grade:
        source = by_grade.get("source", "")
        if tier not in URBAN_CENTRE_TIERS:
            parts.append(
                _exact(
                    0.0,
                    f"{lzh}: 按等级运营补贴只适用于城市社区养老服务中心，"
                    f"{tier_zh}不适用 ({source})",
                    f"{len_}: the operating subsidy by grade is for urban community centres only, "
                    f"not a {tier_en} ({source})",
                )
            )
        else:
            parts.append(_by_grade(rows.grades[i], by_grade, label=label))
    if not parts:
        return _exact(0.0, "本政策无运营补助", "the profile has no operating subsidy")
    return _join(parts)


def grade_name(text: str, grades: Sequence[str]) -> str:
    """The profile's name for a grade as written (``3A`` → ``AAA`` on a scale of A's), else ``""``.

    Examples
    --------
    >>> grade_name("3a", ["A", "AA", "AAA"]), grade_name(" AA ", ["A", "AA", "AAA"])
    ('AAA', 'AA')
    >>> grade_name("B", ["A", "AA", "AAA"])
    ''

    """
    key = "".join(text.split()).upper()
    if key[:-1].isdigit() and key.endswith("A"):
        key = "A" * int(key[:-1])
    by_key = {"".join(g.split()).upper(): g for g in grades}
    return by_key.get(key, "")


def _by_grade(grade: str, by_grade: Mapping[str, Any], *, label: tuple[str, str]) -> _Amount:
    """The operating subsidy by grade: the amount of the grade where given, else the range.

    运〔2021〕—2 §二(四) pays 50,000–100,000 yuan a year by the centre's grade (3A级综合评估); the
    profile's ``grades`` (lowest first) and ``grade_yuan`` say what each grade gets.
    """
    lzh, len_ = label
    source = by_grade.get("source", "")
    low, high = float(by_grade["min_yuan"]), float(by_grade["max_yuan"])
    grades = list(by_grade.get("grades") or [])
    amounts = list(by_grade.get("grade_yuan") or [])
    named = grade_name(grade, grades) if grade and grades else ""
    if named and amounts:
        yuan = float(amounts[grades.index(named)])
        return _exact(
            yuan,
            f"{lzh}: 评定等级 {named}，{fmt(yuan)} 元/年（按等级 {fmt(low)}–{fmt(high)} 元；"
            f"各等级金额见政策配置 grade_yuan） ({source})",
            f"{len_}: grade {named}, {fmt(yuan)} yuan a year (by grade, {fmt(low)}–{fmt(high)} "
            f"yuan; each grade's amount from the profile's grade_yuan) ({source})",
        )
    if grade and grades and not named:
        grade_zh = f"评定等级 {grade} 不是 {'、'.join(grades)} 之一"
        grade_en = f"grade {grade!r} is not one of {', '.join(grades)}"
    elif grade:
        grade_zh, grade_en = (
            f"评定等级 {grade}；政策配置未规定各等级的金额",
            (f"grade {grade}; the profile does not say which grade gets how much"),
        )
    else:
        grade_zh, grade_en = "未填评定等级", "no grade given"
    return _Amount(
        low,
        high,
        f"{lzh}: 按等级 {fmt(low)}–{fmt(high)} 元/年（{grade_zh}） ({source})",
        f"{len_}: {fmt(low)}–{fmt(high)} yuan a year by grade ({grade_en}) ({source})",
    )


def out_of_scope(scope: tuple[str, str], *, label: tuple[str, str]) -> _Amount:
    """No money for a facility in a rural community under a profile for urban ones only."""
    lzh, len_ = label
    scope_en, scope_zh = scope
    return _exact(
        0.0,
        f"{lzh}: 本政策的资金规定{scope_zh}，该设施位于农村（村），不适用",
        f"{len_}: the profile's money rules are for {scope_en}; this facility is in a rural "
        "community (village), so none applies",
    )


def bed_subsidy_amount(
    rows: Rows, i: int, money: Mapping[str, Any], *, label: tuple[str, str]
) -> _Amount:
    """The yearly bed subsidy of facility ``i``, yuan, with its rule in zh and en."""
    spec = money.get("bed_subsidy_monthly") or {}
    if not spec:
        return _exact(0.0, "本政策无床位补贴", "the profile has no bed subsidy")
    tier_zh, tier_en = _tier_names(rows.tiers[i])
    lzh, len_ = label
    source = spec.get("source", "")
    if rows.tiers[i] not in URBAN_CENTRE_TIERS:
        return _exact(
            0.0,
            f"{lzh}: 床位补贴只适用于城市社区养老服务中心，{tier_zh}不适用 ({source})",
            f"{len_}: the bed subsidy is for urban community centres only, not a {tier_en} "
            f"({source})",
        )
    rates = [float(spec[need]) for need in _NEEDS]
    present = [f in rows.found for f in RESIDENT_FIELDS]
    counts = rows.residents[i]
    if not any(present) or bool(np.isnan(counts).all()):
        why_zh = "无收住老人人数" if any(present) else "无收住老人人数一栏"
        why_en = "resident counts blank" if any(present) else "no resident count columns"
        fields = ", ".join(RESIDENT_FIELDS)
        return _exact(
            math.nan,
            f"{lzh}: {why_zh}（{fields}），床位补贴未计 ({source})",
            f"{len_}: {why_en} ({fields}); bed subsidy not counted ({source})",
        )
    known = np.nan_to_num(counts, nan=0.0)
    amount = 12.0 * float(np.dot(rates, known))
    terms = " + ".join(f"{fmt(r)}×{fmt(c)}" for r, c in zip(rates, known, strict=True))
    zh = f"{lzh}: 12 个月 × ({terms}) = {fmt(amount)} 元/年 ({source})"
    en = f"{len_}: 12 months × ({terms}) = {fmt(amount)} yuan a year ({source})"
    blank = [k for k in range(3) if np.isnan(counts[k])]
    if blank:
        zh += "；" + "、".join(_NEEDS_ZH[k] for k in blank) + "人数未填，按 0 计"
        en += "; " + ", ".join(_NEEDS_EN[k] for k in blank) + " count not given, taken as 0"
    return _exact(amount, zh, en)
