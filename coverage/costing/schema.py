"""The constants of :mod:`carecircle.costing`: money tables, tiers, input fields, columns, headers.

The ``[money.*]`` tables the costing applies, the tiers its rules single out, the optional facility
fields it reads, the columns of its tables and the headers, sheet names and languages of its output.
They are public through :mod:`carecircle.costing`, which imports them from here so that the private
modules doing its work (:mod:`carecircle.costing.rows`, :mod:`carecircle.costing.rules`,
:mod:`carecircle.costing.tables`, :mod:`carecircle.outputs.costing_tables`) can use them without
importing it. In the docstrings below, :func:`cost`, :func:`write`, :func:`format_table` and
:class:`Costing` are those of :mod:`carecircle.costing`.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from ..errors import InputError

logger = logging.getLogger(__name__)


class Note(NamedTuple):
    """One note of a costing, in Chinese and in English (:attr:`Costing.notes_zh`, ``.notes``)."""

    zh: str
    en: str


OPERATING_FROM: tuple[str, ...] = ("opening", "next")
"""When a new facility's yearly operating award and bed subsidy start: its opening year (in
full), or the year after (a first full year of service, assessed). No document says which
(垫江府办〔2020〕8号 §三(二) pays 每年 against a yearly assessment): a reading, said in the
notes."""


def operating_note(operating_from: str) -> Note:
    """The note saying when a new facility's yearly amounts start (see :data:`OPERATING_FROM`).

    Raises
    ------
    InputError
        For a value not in :data:`OPERATING_FROM`.

    """
    if operating_from not in OPERATING_FROM:
        msg = (
            f"--operating-from {operating_from!r}: expected one of {', '.join(OPERATING_FROM)}"
            " (operating_from=)"
        )
        raise InputError(msg)
    if operating_from == "next":
        return Note(
            "新建设施的运营奖补和床位补贴自建成后的下一年起计（一个完整服务年度考核后兑现；"
            "文件未明确首年，此为测算口径）",
            "a new facility's operating award and bed subsidy count from the year after it "
            "opens (a first full year of service, assessed; no document says: a reading)",
        )
    return Note(
        "新建设施的运营奖补和床位补贴自建成当年起全年计（文件未明确首年，此为测算口径；"
        "亦可改为自下一年起计）",
        "a new facility's operating award and bed subsidy count in full from the year it "
        "opens (no document says: a reading; --operating-from next counts from the year after)",
    )


MONEY_TABLES: tuple[str, ...] = (
    "construction_flat",
    "construction_per_m2",
    "operating_yearly",
    "operating_by_grade",
    "bed_subsidy_monthly",
)
"""The ``[money.*]`` tables :func:`cost` applies."""

URBAN_CENTRE_TIERS: tuple[str, ...] = ("street_center", "community_station")
"""Tiers that count as an urban community centre (城市社区养老服务中心).

运城's per-m² construction award, operating subsidy by grade and bed subsidy are for urban
community centres only (运〔2021〕—2 §二(四), §三(二)); other tiers get none of them.
"""

SOCIAL_CAPITAL_TIERS: tuple[str, ...] = ("street_center", "township_center")
"""Tiers whose flat construction subsidy is only for facilities built by social capital.

万州府办发〔2020〕28号 §二(五)13 pays street (community) centres "社会力量投资建设的" and §二(七)17
township centres likewise, but asks of a community station only that it pass inspection
("经验收合格的社区养老服务站一次性补助20万元"): stations there are publicly built and privately
run (公建民营). The document's task table (annex) words the station subsidy with the social
capital condition too; the costing follows the operative text.
"""

RESIDENT_FIELDS: tuple[str, ...] = (
    "residents_self_care",
    "residents_semi_disabled",
    "residents_disabled",
)
"""Optional facility columns: residents (people) by care need, for the bed subsidy."""

OPTIONAL_ALIASES: dict[str, tuple[str, ...]] = {
    "year": ("开业年份", "投用年份", "建成年份", "年份"),
    "status": ("建设状态", "安排"),
    "township": ("街道", "乡镇", "街道(乡镇)", "乡镇(街道)", "所属街道", "所属乡镇"),
    "social_capital": ("社会资本", "社会力量投资", "社会资本投资", "社会力量"),
    "grade": ("评定等级", "评估等级", "运营等级"),
    "kind": ("城乡", "城乡类型", "社区类型"),
    "residents_self_care": ("自理老人", "自理人数"),
    "residents_semi_disabled": ("半失能老人", "半失能人数"),
    "residents_disabled": ("失能老人", "失能人数"),
}
"""Optional field → accepted headers besides the field name itself."""

STATUSES: tuple[str, ...] = (
    "existing",
    "planned",
    "proposed",
    "after_the_horizon",
    "over_a_year_budget",
    "unknown",
)
"""Values of the per-facility ``status``: how :func:`cost` took each facility.

``existing``: already built, so no construction subsidy (its ``year``, if any, is when it
opened). ``planned``: to be built, opening in its ``year``. ``proposed``: to be built, its
year not given, so taken as opening in the horizon's first year. ``after_the_horizon``,
``over_a_year_budget``: to be built, but not within the plan's years (the statuses of
:func:`carecircle.siting.phase`), so nothing of theirs is in the totals. ``unknown``: a row of a
proposed-sites table (one with ``newly_covered``, as ``carecircle site`` writes) that says
neither a year nor a status, so whether it is new, and its construction, are unknown.
"""

STATUS_LABELS_ZH: dict[str, str] = {
    "existing": "现有",
    "planned": "列入计划",
    "proposed": "拟建(未定年份)",
    "after_the_horizon": "规划期内未安排",
    "over_a_year_budget": "超出年度预算",
    "unknown": "未注明新建或现有",
}
""":data:`STATUSES` in Chinese, for the workbook and the terminal."""

STATUS_LABELS_EN: dict[str, str] = {
    "existing": "existing",
    "planned": "planned",
    "proposed": "proposed (no year)",
    "after_the_horizon": "not in the plan's years",
    "over_a_year_budget": "over a year's budget",
    "unknown": "new or existing not stated",
}
""":data:`STATUSES` in English, for the workbook and the terminal."""

STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "existing": ("existing", "现有", "已建"),
    "planned": ("planned", "列入计划"),
    "proposed": ("proposed", "拟建"),
    "after_the_horizon": ("after_the_horizon", "规划期内未安排"),
    "over_a_year_budget": ("over_a_year_budget", "超出年度预算"),
}
"""The input ``status`` words (any case) → the status they give; blank says nothing.

``planned`` and ``proposed`` mean the same in the input, a facility to be built: it is
``planned`` in the costing when it has a ``year``, ``proposed`` when not.
"""

PROPOSAL_COLUMN = "newly_covered"
"""A column only a table of proposed sites has (``proposed_sites.csv``, ``Proposal.sites``)."""

FACILITY_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "tier",
    "township",
    "year",
    "status",
    "area_m2",
    "construction_yuan",
    "construction_rule",
    "operating_yuan_per_year",
    "operating_yuan_per_year_min",
    "operating_yuan_per_year_max",
    "operating_rule",
    "bed_subsidy_yuan_per_year",
    "bed_subsidy_rule",
    "horizon_years",
    "horizon_total_yuan_min",
    "horizon_total_yuan_max",
    "complete",
    "construction_rule_en",
    "operating_rule_en",
    "bed_subsidy_rule_en",
)
"""Columns of :attr:`Costing.facilities`, in order."""

MONEY_COLUMNS: tuple[str, ...] = (
    "construction_yuan",
    "operating_yuan_min",
    "operating_yuan_max",
    "bed_subsidy_yuan",
    "total_yuan_min",
    "total_yuan_max",
    "incomplete_facilities",
)

KNOWN_COLUMNS: tuple[str, ...] = ("construction_known", "bed_subsidy_known")
"""Whether a total's construction (bed subsidy) sums only known amounts: False when it leaves
out a facility whose amount is unknown, so that the sum is a lower bound (and so are the
``total_yuan_*`` of the row)."""

PER_YEAR_COLUMNS: tuple[str, ...] = (
    "year",
    "facilities_operating",
    "facilities_opening",
    *MONEY_COLUMNS,
    *KNOWN_COLUMNS,
)
"""Columns of :attr:`Costing.per_year`, in order."""

PER_TOWNSHIP_COLUMNS: tuple[str, ...] = (
    "township",
    "facilities",
    *MONEY_COLUMNS,
    *KNOWN_COLUMNS,
)
"""Columns of :attr:`Costing.per_township`, in order."""

HEADERS_ZH: dict[str, str] = {
    "id": "编号",
    "name": "名称",
    "tier": "设施类型",
    "township": "街道(乡镇)",
    "year": "开业年份",
    "status": "建设状态",
    "area_m2": "建筑面积(m²)",
    "construction_yuan": "一次性建设补助(元)",
    "construction_rule": "建设补助依据",
    "operating_yuan_per_year": "运营补助(元/年)",
    "operating_yuan_per_year_min": "运营补助下限(元/年)",
    "operating_yuan_per_year_max": "运营补助上限(元/年)",
    "operating_rule": "运营补助依据",
    "bed_subsidy_yuan_per_year": "床位补贴(元/年)",
    "bed_subsidy_rule": "床位补贴依据",
    "horizon_years": "测算期内运营年数",
    "horizon_total_yuan_min": "测算期合计下限(元)",
    "horizon_total_yuan_max": "测算期合计上限(元)",
    "complete": "金额齐全",
    "facilities_operating": "运营设施数",
    "facilities_opening": "新开设施数",
    "facilities": "设施数",
    "operating_yuan_min": "运营补助下限(元)",
    "operating_yuan_max": "运营补助上限(元)",
    "bed_subsidy_yuan": "床位补贴(元)",
    "total_yuan_min": "合计下限(元)",
    "total_yuan_max": "合计上限(元)",
    "incomplete_facilities": "金额不全的设施数",
}
"""Chinese headers for :func:`write` and :func:`format_table`."""

HEADERS_EN: dict[str, str] = {
    "id": "id",
    "name": "name",
    "tier": "tier",
    "township": "township",
    "year": "opening year",
    "status": "status",
    "area_m2": "floor area (m²)",
    "construction_yuan": "construction subsidy (yuan)",
    "construction_rule": "construction rule",
    "operating_yuan_per_year": "operating subsidy (yuan/year)",
    "operating_yuan_per_year_min": "operating subsidy, low (yuan/year)",
    "operating_yuan_per_year_max": "operating subsidy, high (yuan/year)",
    "operating_rule": "operating rule",
    "bed_subsidy_yuan_per_year": "bed subsidy (yuan/year)",
    "bed_subsidy_rule": "bed subsidy rule",
    "horizon_years": "years operating in horizon",
    "horizon_total_yuan_min": "horizon total, low (yuan)",
    "horizon_total_yuan_max": "horizon total, high (yuan)",
    "complete": "all amounts known",
    "facilities_operating": "facilities operating",
    "facilities_opening": "facilities opening",
    "facilities": "facilities",
    "operating_yuan_min": "operating, low (yuan)",
    "operating_yuan_max": "operating, high (yuan)",
    "bed_subsidy_yuan": "bed subsidy (yuan)",
    "total_yuan_min": "total, low (yuan)",
    "total_yuan_max": "total, high (yuan)",
    "incomplete_facilities": "facilities with unknown amounts",
}
"""English headers for :func:`write` and :func:`format_table`."""

SHEETS: dict[str, tuple[str, str, str, str]] = {
    "zh": ("设施", "逐年合计", "分街道乡镇合计", "说明"),
    "en": ("facilities", "per year", "per township", "notes"),
}
"""Sheet names of ``costing.xlsx`` by language: facilities, per year, per township, notes."""

LANGS: tuple[str, ...] = ("zh", "en")
"""Languages accepted by :func:`write` and :func:`format_table`."""
