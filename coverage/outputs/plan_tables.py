"""The plan audit for people: headers and labels in a language, the files, the terminal table.

:func:`_localised` gives a table of :class:`~carecircle.plan.PlanAudit` with its headers, states
(:func:`_state_label`) and issues in Chinese or English; :func:`write` saves the audit as
``plan_audit.csv`` and ``plan_audit.xlsx`` (:func:`_write_xlsx`, with the look of every
carecircle workbook: :func:`carecircle.outputs._sheets.format_sheet`) and
:func:`format_table` lines it up for a terminal (:func:`carecircle.outputs.text.table`, where
CJK characters count as two columns).

Reading and the audit are in :mod:`carecircle.plan`; :mod:`carecircle.outputs` exports
:func:`write` as ``write_plan_audit`` and :func:`format_table` as ``format_plan_audit``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .._cells import to_csv, to_sheet
from ..plan import EXISTING
from ..terms import YES_NO_WORDS, Lang, check_lang
from . import text
from ._files import AUDIT_FILES, atomic
from ._sheets import PERCENT, format_sheet

if TYPE_CHECKING:
    from ..plan import PlanAudit

logger = logging.getLogger(__name__)


# --- labels --------------------------------------------------------------------------------

_HEADERS: dict[str, dict[str, str]] = {
    "zh": {
        "township_code": "乡镇(街道)代码",
        "township": "乡镇(街道)",
        "communities_and_villages": "村(社区)数",
        "code_list_count": "统计代码表村(社区)数",
        "count_matches": "村(社区)数一致",
        "centre_year": "建成中心年份",
        "full_coverage_year": "实现全覆盖年份",
        "surplus_stations": "多于村(社区)数的站(点)",
        "county_code": "县(区)代码",
        "county": "县(区)",
        "state": "时点",
        "townships": "乡镇(街道)数",
        "centers": "中心",
        "stations": "站(点)",
        "station_coverage": "站(点)覆盖率",
        "townships_with_centre": "有中心的乡镇(街道)数",
        "townships_fully_covered": "实现全覆盖的乡镇(街道)数",
        "issue": "问题",
        "plan_township": "计划表乡镇(街道)",
        "code_list_township": "统计代码表乡镇(街道)",
        "plan_count": "计划表村(社区)数",
    },
    "en": {
        "township_code": "township code",
        "township": "township",
        "communities_and_villages": "communities and villages",
        "code_list_count": "code list count",
        "count_matches": "count matches",
        "centre_year": "centre year",
        "full_coverage_year": "full coverage year",
        "surplus_stations": "stations beyond communities and villages",
        "county_code": "county code",
        "county": "county",
        "state": "state",
        "townships": "townships",
        "centers": "centres",
        "stations": "stations",
        "station_coverage": "station coverage",
        "townships_with_centre": "townships with a centre",
        "townships_fully_covered": "townships fully covered",
        "issue": "issue",
        "plan_township": "plan township",
        "code_list_township": "code list township",
        "plan_count": "plan count",
    },
}

_ISSUE_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "count_differs": "村(社区)数不一致",
        "name_differs": "名称不一致",
        "not_in_code_list": "统计代码表中没有",
        "missing_from_plan": "计划表中没有",
    },
    "en": {
        "count_differs": "count differs",
        "name_differs": "name differs",
        "not_in_code_list": "not in code list",
        "missing_from_plan": "missing from plan",
    },
}

_SHEETS: dict[str, tuple[str, str, str]] = {
    "zh": ("乡镇(街道)", "全县合计", "与统计代码表的差异"),
    "en": ("townships", "county totals", "mismatches"),
}


def _state_label(state: str, lang: str) -> str:
    if state == EXISTING:
        return "既有" if lang == "zh" else "existing"
    return f"{state}年" if lang == "zh" else state


def _header(column: str, lang: str) -> str:
    if column in _HEADERS[lang]:
        return _HEADERS[lang][column]
    for prefix, zh, en in (
        ("station_coverage_", "站(点)覆盖率", "station coverage"),
        ("centers_", "中心", "centres"),
        ("stations_", "站(点)", "stations"),
    ):
        if column.startswith(prefix):
            state = column[len(prefix) :]
            if lang == "en":
                return f"{en} {'existing' if state == EXISTING else f'by {state}'}"
            if state == EXISTING or prefix == "station_coverage_":
                return f"{_state_label(state, lang)}{zh}"
            return f"{state}年累计{zh}"
    return column


def _localised(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Return a copy with headers, states and issues in ``lang``."""
    out = frame.copy()
    for column in ("centre_year", "full_coverage_year", "state"):
        if column in out.columns:
            out[column] = [_state_label(s, lang) if s else "" for s in out[column]]
    if "issue" in out.columns:
        out["issue"] = [_ISSUE_LABELS[lang][issue] for issue in out["issue"]]
    if "count_matches" in out.columns:  # yes/no in words, not the spreadsheet's TRUE/FALSE
        words = YES_NO_WORDS[lang]
        out["count_matches"] = [
            words.get(bool(v), "") if pd.notna(v) else "" for v in out["count_matches"]
        ]
    out.columns = pd.Index([_header(str(c), lang) for c in out.columns])
    return out


# --- writing -------------------------------------------------------------------------------


def _write_xlsx(path: Path, sheets: Sequence[tuple[str, pd.DataFrame]]) -> None:
    """Write the sheets with the look of every carecircle workbook, ratios as percentages."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets:
            formats = [PERCENT if dtype.kind == "f" else None for dtype in frame.dtypes]
            format_sheet(to_sheet(writer, frame, name), frame, formats)


def write(
    audit: PlanAudit, out_dir: str | os.PathLike[str], *, lang: Lang = "zh"
) -> dict[str, Path]:
    """Write the audit as ``plan_audit.csv`` and ``plan_audit.xlsx``.

    Each file is written to a temporary file in ``out_dir`` and moved into place only when both
    are complete, so a failed run never leaves a half-written file.

    Parameters
    ----------
    audit : PlanAudit
        As returned by :func:`audit`. Not modified.
    out_dir : str or os.PathLike
        Output folder, created when missing.
    lang : str
        The workbook's headers and labels: ``"zh"`` (default) for Chinese ones (既有, 2020年,
        乡镇(街道)代码 …), ``"en"`` for English ones. The CSV does not depend on it.

    Returns
    -------
    dict of str to pathlib.Path
        ``{"csv": .../plan_audit.csv, "xlsx": .../plan_audit.xlsx}``. The CSV (UTF-8 with BOM,
        so Excel opens it correctly) holds the township table of :attr:`PlanAudit.townships`
        as it is, whatever ``lang``: its stable English column names (``township_code``,
        ``centers_2021``, ``full_coverage_year`` …), states as ``existing`` or the year
        (``2021``), ``""`` when never reached, coverage ratios to 4 decimals, like every CSV
        carecircle writes, for scripts and GIS joins. The workbook, for people, holds three
        sheets (townships, county totals, differences from the code list) with headers and
        labels in ``lang``, the header row frozen, column widths set and ratios shown as
        percentages.

    Raises
    ------
    InputError
        For an unsupported ``lang``.
    ImportError
        If openpyxl is not installed.

    """
    check_lang(lang)
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        msg = "writing plan_audit.xlsx needs openpyxl; install it with: pip install openpyxl"
        raise ImportError(msg) from exc
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    townships = _localised(audit.townships, lang)
    names = _SHEETS[lang]
    sheets = [
        (names[0], townships),
        (names[1], _localised(audit.county_totals, lang)),
        (names[2], _localised(audit.mismatches, lang)),
    ]
    paths = {label: out / name for label, name in AUDIT_FILES.items()}
    with ExitStack() as stack:
        tmp_csv = stack.enter_context(atomic(paths["csv"]))
        tmp_xlsx = stack.enter_context(atomic(paths["xlsx"]))
        to_csv(audit.townships, tmp_csv, float_format="%.4f")
        _write_xlsx(tmp_xlsx, sheets)
    return paths


# --- printing ------------------------------------------------------------------------------


def format_table(audit: PlanAudit, *, lang: Lang = "zh") -> str:
    """Return the audit as a plain-text table for a terminal.

    One line per township: code, name, communities and villages (plan, code list), centres /
    stations at each state, the year the centre exists and the year of full coverage; then the
    county totals per state and the differences from the code list. CJK characters count as two
    columns so the columns line up.

    Parameters
    ----------
    audit : PlanAudit
        As returned by :func:`audit`.
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The table, lines joined by newlines, no trailing newline.

    Raises
    ------
    InputError
        For an unsupported ``lang``.

    """
    check_lang(lang)
    zh = lang == "zh"
    h = _HEADERS[lang]
    states = audit.states
    slash = "中心/站(点)" if zh else "centres/stations"
    header = [
        h["township_code"],
        h["township"],
        h["communities_and_villages"],
        "代码表" if zh else "code list",
        *(f"{_state_label(s, lang)} {slash}" for s in states),
        h["centre_year"],
        h["full_coverage_year"],
    ]
    rows: list[list[str]] = []
    for record in audit.townships.to_dict("records"):
        listed = record["code_list_count"]
        rows.append(
            [
                str(record["township_code"]),
                str(record["township"]),
                str(record["communities_and_villages"]),
                "—" if pd.isna(listed) else str(listed),
                *(f"{record[f'centers_{s}']}/{record[f'stations_{s}']}" for s in states),
                _state_label(record["centre_year"], lang) if record["centre_year"] else "—",
                _state_label(record["full_coverage_year"], lang)
                if record["full_coverage_year"]
                else "—",
            ]
        )
    title = "计划表核对（一乡镇(街道)一中心，一村(社区)一站(点)）" if zh else "Plan audit"
    lines = [title, text.table(rows, header=header, align=_align(len(header))), ""]

    totals_header = [
        h["county"],
        h["state"],
        h["townships"],
        h["communities_and_villages"],
        h["centers"],
        h["stations"],
        h["station_coverage"],
        h["townships_with_centre"],
        h["townships_fully_covered"],
    ]
    totals: list[list[str]] = []
    for record in audit.county_totals.to_dict("records"):
        ratio = record["station_coverage"]
        totals.append(
            [
                str(record["county"] or record["county_code"]),
                _state_label(record["state"], lang),
                str(record["townships"]),
                str(record["communities_and_villages"]),
                str(record["centers"]),
                str(record["stations"]),
                "—" if pd.isna(ratio) else f"{ratio:.1%}",
                str(record["townships_with_centre"]),
                str(record["townships_fully_covered"]),
            ]
        )
    lines.append(text.table(totals, header=totals_header, align=_align(len(totals_header))))
    lines.append("")

    surplus = audit.townships[audit.townships["surplus_stations"] > 0]
    if len(surplus):
        lines.append(
            "站(点)多于村(社区)数（一村(社区)一站(点)），覆盖率按每村(社区)至多一站计："
            f"{len(surplus)} 处"
            if zh
            else f"More stations than communities and villages (the rule asks one each; "
            f"coverage counts at most one each): {len(surplus)}"
        )
        for record in surplus.to_dict("records"):
            lines.append(
                f"  {record['township_code']} {record['township']}: "
                + (
                    f"多 {record['surplus_stations']} 个"
                    if zh
                    else f"{record['surplus_stations']} more"
                )
            )
        lines.append("")

    mismatches = audit.mismatches
    if len(mismatches) == 0:
        lines.append(
            "村(社区)数与统计代码表逐乡镇一致。"
            if zh
            else "Counts of communities and villages match the code list for every township."
        )
    else:
        lines.append(
            f"与统计代码表的差异：{len(mismatches)} 处"
            if zh
            else f"Differences from the code list: {len(mismatches)}"
        )
        for record in mismatches.to_dict("records"):
            name = record["plan_township"] or record["code_list_township"]
            plan_n = "—" if pd.isna(record["plan_count"]) else str(record["plan_count"])
            list_n = "—" if pd.isna(record["code_list_count"]) else str(record["code_list_count"])
            what = _ISSUE_LABELS[lang][record["issue"]]
            if record["issue"] == "name_differs":
                detail = f"{record['plan_township']} ≠ {record['code_list_township']}"
            else:
                detail = (
                    f"计划表 {plan_n}，统计代码表 {list_n}"
                    if zh
                    else f"plan {plan_n}, code list {list_n}"
                )
            lines.append(f"  {record['township_code']} {name}: {what} ({detail})")
    return "\n".join(lines)


def _align(columns: int) -> str:
    """A code (or county) and a name on the left, the counts, states and years on the right."""
    return "ll" + "r" * (columns - 2)


TARGETS_FILE = "plan_targets.csv"
"""The file :func:`write_targets` writes: :func:`carecircle.plan.progress`'s table."""


def write_targets(targets: pd.DataFrame, out_dir: str | os.PathLike[str]) -> Path:
    """Write the plan's progress against the profile's yearly targets as ``plan_targets.csv``.

    Parameters
    ----------
    targets : pandas.DataFrame
        As returned by :func:`carecircle.plan.progress`. Not modified.
    out_dir : str or os.PathLike
        Folder to write into (created if missing).

    Returns
    -------
    pathlib.Path
        The file written.

    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / TARGETS_FILE
    with atomic(path) as tmp:
        to_csv(targets, tmp)
    return path
