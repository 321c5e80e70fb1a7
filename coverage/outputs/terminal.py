"""What the command line prints after a run, in the run's language, headline first.

:func:`format_analysis` gives the headline (:func:`carecircle.outputs.headline.headline`: the
place, the policy and each circle's share and community counts), then the township table, the
facilities below their tier's standard, the district targets and how the walking times were
made. :func:`format_proposal` gives the sites a ``site`` run proposes. Every table goes through
:func:`carecircle.outputs.text.table`, so Chinese columns line up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import terms
from ..pipeline import Analysis
from ..terms import TIER_LABELS_EN, TIER_LABELS_ZH, Lang, check_lang
from . import text
from ._files import SITING_FILES
from .headline import headline
from .maps import TEXT, walking_note
from .workbook import CIRCLE_HEADERS, HEADERS, VALUES

if TYPE_CHECKING:
    from ..siting.sites import Proposal

_PROBLEMS = ("below", "above_max", "unknown")
"""The standard statuses worth a line: below, above the maximum, data missing."""

_SOLVER_ZH = {
    "optimal": "最优解",
    "time_limit": "达到求解时限",
    "heuristic": "近似解",
    "milp": "整数规划",
    "greedy": "贪心算法",
    "count": "选定数量",
    "cover_all": "全部覆盖",
    "budget": "预算内",
}
"""The solver's words (:class:`carecircle.siting.Solution`, the question asked) in Chinese."""


def format_analysis(analysis: Analysis, *, lang: Lang = "zh") -> str:
    """Return the terminal text of an analysis: headline, townships, standards, targets.

    Parameters
    ----------
    analysis : Analysis
        The results (of ``analyze``, ``check`` or ``site``).
    lang : {"zh", "en"}, keyword-only
        The language of every heading, header and line.

    Returns
    -------
    str
        The blocks, parted by blank lines, no trailing newline.

    Raises
    ------
    InputError
        For an unknown ``lang``.

    """
    check_lang(lang)
    blocks = [_headline(analysis, lang), _townships(analysis, lang)]
    blocks += [b for b in (_standards(analysis, lang), _targets(analysis, lang)) if b]
    note = walking_note(analysis.parameters, lang)
    if note:
        blocks.append(note + ("。" if lang == "zh" else "."))
    return "\n\n".join(blocks)


def _headline(analysis: Analysis, lang: str) -> str:
    figures = headline(analysis)
    rows = [[label, value] for label, value in figures.rows(lang)]
    return text.table(rows, align="ll")


def _townships(analysis: Analysis, lang: str) -> str:
    zh = lang == "zh"
    words, circle_words = HEADERS[lang], CIRCLE_HEADERS[lang]
    circles = [c for c in analysis.policy.circles if c.name in analysis.circles_measured]
    header = [words["township"], words["communities"]]
    for circle in circles:
        label = circle.label_zh if zh else circle.label_en
        minutes = "/".join(f"{m:g}" for m in circle.limits)
        limit = f"（{minutes} 分钟）" if zh else f" ({minutes} min)"
        header.append(
            f"{label}{limit}{circle_words['share'] if zh else ' ' + circle_words['share']}"
        )
        header.append(
            f"{label}{circle_words['not_covered']}"
            if zh
            else f"{label}: {circle_words['not_covered']}"
        )
    header += [words["centres"], words["communities_with_station"]]
    rows = []
    for record in analysis.townships().to_dict("records"):
        row = [_cell(record["township"]), _cell(record["communities"])]
        for circle in circles:
            share = record[f"{circle.name}_share"]
            row.append("—" if share != share else f"{share:.0%}")
            row.append(_cell(record[f"{circle.name}_not_covered"]))
        row += [_cell(record.get("centres")), _cell(record.get("communities_with_station"))]
        rows.append(row)
    title = "分街道(乡镇)" if zh else "By township"
    table = text.table(rows, header=header, align="l" + "r" * (len(header) - 1))
    return f"{title}：\n{table}" if zh else f"{title}:\n{table}"


def _standards(analysis: Analysis, lang: str) -> str:
    zh = lang == "zh"
    fac = analysis.facilities
    blocks = []
    if "standard_status" in fac:
        problems = fac[fac["standard_status"].isin(_PROBLEMS)]
        if len(problems):
            tiers = TIER_LABELS_ZH if zh else TIER_LABELS_EN
            notes = problems.get("standard_note_zh" if zh else "standard_note")
            if notes is None:
                notes = problems["standard_note"]
            rows = [
                [
                    _cell(row["id"]),
                    _cell(row["name"]),
                    tiers.get(str(row["tier"]), str(row["tier"])),
                    TEXT[lang].get(str(row["standard_status"]), str(row["standard_status"])),
                    _cell(note),
                ]
                for row, note in zip(problems.to_dict("records"), notes, strict=True)
            ]
            words = HEADERS[lang]
            header = [
                words["id"],
                words["name"],
                words["tier"],
                words["standard_status"],
                words["standard_note"],
            ]
            title = (
                "未达到所属类型标准的设施："
                if zh
                else "Facilities not meeting their tier's standard:"
            )
            blocks.append(f"{title}\n{text.table(rows, header=header, align='lllll')}")
    if "stations_over_limit" in fac:
        over = fac[fac["stations_over_limit"].fillna(False).astype(bool)]
        limit = analysis.policy.provision.get("stations_per_centre")
        value = limit.value if limit else "?"
        source = limit.source if limit else ""
        lines = [
            f"中心 {row.id} {row.name} 下辖 {row.stations_assigned} 个站点，"
            f"超过 {source} 规定的 {value} 个"
            if zh
            else f"centre {row.id} {row.name} runs {row.stations_assigned} stations, over the "
            f"{value} of {source}"
            for row in over.itertuples()
        ]
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _targets(analysis: Analysis, lang: str) -> str:
    if not len(analysis.district):
        return ""
    zh = lang == "zh"
    statuses = VALUES[lang]["status"]
    words = HEADERS[lang]
    rows = []
    for record in analysis.district.to_dict("records"):
        rule = str(record["rule"])
        value = terms.target_text(rule, record["value"])
        rows.append(
            [
                terms.target_label(rule, lang),
                value or ("无数据" if zh else "no data"),
                terms.target_text(rule, record["target"]),
                _year(record.get("year")),
                statuses.get(str(record["status"]), str(record["status"])),
                _cell(record["source"]),
            ]
        )
    header = [
        words["rule"],
        words["value"],
        words["target"],
        "年份" if zh else "year",
        words["status"],
        words["source"],
    ]
    title = "全区目标：" if zh else "District targets:"
    return f"{title}\n{text.table(rows, header=header, align='lrrrll')}"


def _year(value: object) -> str:
    """A target's year as text, "" when it has none."""
    try:
        year = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return f"{year:.0f}" if year == year else ""


def format_proposal(proposal: Proposal, *, lang: Lang = "zh") -> str:
    """Return the terminal text of a ``site`` run's proposal, in ``lang``.

    Parameters
    ----------
    proposal : Proposal
        As :func:`carecircle.siting.propose` returns it.
    lang : {"zh", "en"}, keyword-only
        The language.

    Returns
    -------
    str
        What was asked and how it was solved, the sites in order, the share before and after,
        the residents no candidate can bring in, and the notes; no trailing newline.

    """
    check_lang(lang)
    zh = lang == "zh"
    solution = proposal.solution
    circle = proposal.circle
    label = circle.label_zh if zh else circle.label_en

    def said(word: str) -> str:
        return _SOLVER_ZH.get(word, word) if zh else word.replace("_", " ")

    how = (
        f"{said(proposal.mode)}；{said(solution.method)}，{said(solution.status)}，"
        f"差距 {solution.gap:.2%}，{solution.runtime_s:.1f} 秒"
        if zh
        else f"{said(proposal.mode)}; {solution.method}, {said(solution.status)}, "
        f"gap {solution.gap:.2%}, {solution.runtime_s:.1f} s"
    )
    count = len(proposal.sites)
    lines = [
        f"为{label}建议 {count} 处新址（{how}）："
        if zh
        else f"Proposed {count} site(s) for {circle.name} ({how}):"
    ]
    rows = [
        [
            str(r.order),
            _cell(r.id),
            _cell(r.name),
            f"{r.newly_covered:,.0f}",
            f"{r.cumulative_covered:,.0f}",
            "" if r.cost_yuan != r.cost_yuan else f"{r.cost_yuan:,.0f}",
        ]
        for r in proposal.sites.itertuples()
    ]
    if rows:
        header = (
            ["顺序", "编号", "名称", "新增覆盖人数", "累计覆盖人数", "费用(元)"]
            if zh
            else ["order", "id", "name", "newly covered", "cumulative", "cost (yuan)"]
        )
        lines += [text.table(rows, header=header, align="rllrrr"), ""]
    comm = proposal.communities
    residents = max(float(comm["residents"].sum()), 1e-9)
    before = comm["within_before"].sum() / residents
    after = comm["within_after"].sum() / residents
    lines.append(
        f"步行圈内的居民：建设前 {before:.1%}，建设后 {after:.1%}。"
        if zh
        else f"Residents within the circle: {before:.1%} before, {after:.1%} after."
    )
    if len(proposal.uncoverable):
        total = proposal.uncoverable["residents"].sum()
        seen = SITING_FILES["uncoverable"]
        lines.append(
            f"{total:,.0f} 名居民任何候选址都无法覆盖（见 {seen}）。"
            if zh
            else f"{total:,.0f} residents cannot be covered by any candidate (see {seen})."
        )
    lines += [("说明：" if zh else "note: ") + note for note in proposal.notes]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    """A value as a table shows it: blank when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)
