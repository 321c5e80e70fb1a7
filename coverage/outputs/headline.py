"""The headline of a run: where, when, under which policy, and the figures an official quotes.

Every output that speaks to an official (the map's title block, the terminal, the workbook's
summary sheet, ``district.csv``) takes its place name and figures from :func:`headline`, so
they always agree.

The place is named, in this order, by the run's ``title`` parameter (``--title``), by a
``district`` column of the communities holding one name, by the county whose townships the
communities' townships are (the bundled 2023 division code list, where at least half of them
match one county), and last by the communities file's name. The profile's title names the
policy, never the place: a profile serves every district of its city.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..standards import BELOW
from ..terms import COVERED, NOT_COVERED, PARTIAL

if TYPE_CHECKING:
    from ..pipeline import Analysis

#: Where the place name came from (:attr:`Headline.place_from`).
FROM_TITLE = "title"
FROM_DISTRICT_COLUMN = "district column"
FROM_DIVISIONS = "division codes"
FROM_FILE = "communities file"


@dataclass(frozen=True)
class CircleFigures:
    """One circle's headline figures over the whole district.

    Attributes
    ----------
    circle, label_zh, label_en : str
        The circle's name and labels.
    minutes_urban, minutes_rural : float
        Its limits, minutes.
    residents, within : float
        Residents counted (older residents where the data give them, see ``basis``) and those
        within the circle, summed over the communities measured.
    share : float
        ``within / residents``; NaN where no resident was counted.
    basis : str
        ``elderly`` when every community was weighed by its older residents, ``population``
        when every one by its population, ``mixed`` otherwise.
    covered, partly, not_covered, not_analysed : int
        Communities by status: covered; partly covered; not covered (no facility within reach
        included); not analysed (no population, outside the network, a bad boundary).

    """

    circle: str
    label_zh: str
    label_en: str
    minutes_urban: float
    minutes_rural: float
    residents: float
    within: float
    share: float
    basis: str
    covered: int
    partly: int
    not_covered: int
    not_analysed: int


@dataclass(frozen=True)
class Headline:
    """The figures and names every official-facing output leads with.

    Attributes
    ----------
    place : str
        The district's name (see the module's order).
    place_from : str
        Where it came from: :data:`FROM_TITLE`, :data:`FROM_DISTRICT_COLUMN`,
        :data:`FROM_DIVISIONS` or :data:`FROM_FILE`.
    policy : str
        The profile's title (the policy cited).
    data_date : str
        The date (``YYYY-MM-DD``) the newest input file was last changed; ``""`` when the
        inputs were not files.
    run_date : str
        The date of the run, ``YYYY-MM-DD`` (from the run's ``date`` parameter).
    communities, facilities : int
        Communities and facilities in the run.
    below_standard : int
        Facilities below their tier's standard.
    circles : tuple of CircleFigures
        One per circle measured, in the profile's order.

    """

    place: str
    place_from: str
    policy: str
    data_date: str
    run_date: str
    communities: int
    facilities: int
    below_standard: int
    circles: tuple[CircleFigures, ...]

    def rows(self, lang: str = "zh") -> list[tuple[str, str]]:
        """The headline as (label, value) text pairs, for a table or a sheet."""
        zh = lang == "zh"
        rows = [
            ("地区" if zh else "District", self.place),
            ("政策依据" if zh else "Policy", self.policy),
            ("数据日期" if zh else "Data as of", self.data_date or "—"),
            ("分析日期" if zh else "Run on", self.run_date),
            ("社区数" if zh else "Communities", f"{self.communities}"),
            ("设施数" if zh else "Facilities", f"{self.facilities}"),
            ("未达标设施" if zh else "Facilities below standard", f"{self.below_standard}"),
        ]
        for c in self.circles:
            rows.append((c.label_zh if zh else c.label_en, share_text(c, lang)))
            rows.append(("  社区" if zh else "  communities", counts_text(c, lang)))
        return rows


def counts_text(figures: CircleFigures, lang: str = "zh") -> str:
    """The circle's communities by status in words, e.g. ``覆盖 3，部分 8，未覆盖 1``."""
    c = figures
    if lang == "zh":
        return f"覆盖 {c.covered}，部分 {c.partly}，未覆盖 {c.not_covered}" + (
            f"，未分析 {c.not_analysed}" if c.not_analysed else ""
        )
    return f"covered {c.covered}, partly {c.partly}, not covered {c.not_covered}" + (
        f", not analysed {c.not_analysed}" if c.not_analysed else ""
    )


def share_text(figures: CircleFigures, lang: str = "zh") -> str:
    """The circle's headline share in words, e.g. ``60%（步行 15 分钟内的老年人）``."""
    if not np.isfinite(figures.share):
        return "无数据" if lang == "zh" else "no data"
    who = {
        "elderly": ("老年人", "older residents"),
        "population": ("常住人口（无老年人口数）", "residents (no older-resident counts)"),
        "mixed": ("老年人或常住人口", "older residents or residents"),
    }[figures.basis]
    limit = _minutes(figures, lang)
    if lang == "zh":
        return f"{figures.share:.0%}（{limit}内的{who[0]}）"
    return f"{figures.share:.0%} ({who[1]} within {limit})"


def _minutes(figures: CircleFigures, lang: str) -> str:
    urban, rural = figures.minutes_urban, figures.minutes_rural
    if urban == rural:
        return f"步行 {urban:g} 分钟" if lang == "zh" else f"a {urban:g}-minute walk"
    if lang == "zh":
        return f"步行 {urban:g} 分钟（农村 {rural:g} 分钟）"
    return f"a {urban:g}-minute walk ({rural:g} in villages)"


def headline(analysis: Analysis) -> Headline:
    """The headline figures of ``analysis`` (see :class:`Headline`)."""
    comm = analysis.communities
    params = analysis.parameters
    place, place_from = place_name(analysis)
    status = analysis.facilities.get("standard_status", pd.Series(dtype=object)).astype(str)
    return Headline(
        place=place,
        place_from=place_from,
        policy=str(analysis.policy.title or analysis.policy.name),
        data_date=_data_date(params),
        run_date=str(params.get("date", ""))[:10] or datetime.now(UTC).date().isoformat(),
        communities=len(comm),
        facilities=len(analysis.facilities),
        below_standard=int((status == BELOW).sum()),
        circles=tuple(_circle(analysis, name) for name in analysis.circles_measured),
    )


def _circle(analysis: Analysis, name: str) -> CircleFigures:
    comm = analysis.communities
    spec = next(c for c in analysis.policy.circles if c.name == name)
    residents = float(np.nansum(comm[f"{name}_residents"].to_numpy(dtype=float)))
    within = float(np.nansum(comm[f"{name}_within"].to_numpy(dtype=float)))
    basis_values = set(comm["basis"].astype(str)) if "basis" in comm else set()
    basis = basis_values.pop() if len(basis_values) == 1 else "mixed"
    if basis not in ("elderly", "population"):
        basis = "mixed"
    status = comm[f"{name}_status"].astype(str)
    covered = int((status == COVERED).sum())
    partly = int((status == PARTIAL).sum())
    not_covered = int(status.isin(NOT_COVERED).sum()) - partly
    return CircleFigures(
        circle=name,
        label_zh=str(spec.label_zh),
        label_en=str(spec.label_en),
        minutes_urban=float(spec.minutes["urban"]),
        minutes_rural=float(spec.minutes["rural"]),
        residents=residents,
        within=within,
        share=within / residents if residents > 0 else float("nan"),
        basis=basis,
        covered=covered,
        partly=partly,
        not_covered=not_covered,
        not_analysed=len(status) - covered - partly - not_covered,
    )


def place_name(analysis: Analysis) -> tuple[str, str]:
    """The district's name and where it came from (see the module's order)."""
    title = str(analysis.parameters.get("title") or "").strip()
    if title:
        return title, FROM_TITLE
    comm = analysis.communities
    if "district" in comm:
        names = comm["district"].dropna().astype(str).str.strip()
        names = names[names != ""].unique()
        if names.size == 1:
            return str(names[0]), FROM_DISTRICT_COLUMN
    if "township" in comm:
        county = _county_of(tuple(sorted(set(comm["township"].dropna().astype(str)))))
        if county:
            return county, FROM_DIVISIONS
    source = str(analysis.parameters.get("communities_file") or "")
    return (Path(source).stem if source else "—"), FROM_FILE


@cache
def _county_of(townships: tuple[str, ...]) -> str:
    """The county at least half of whose townships are these (by name), or ``""``."""
    if not townships:
        return ""
    table = _divisions()
    found = table.loc[table["name"].isin(townships)]
    if found.empty:
        return ""
    county, count = Counter(found["county"]).most_common(1)[0]
    return str(county) if count * 2 >= len(townships) else ""


@cache
def _divisions() -> pd.DataFrame:
    path = resources.files("carecircle.data") / "divisions" / "townships.csv"
    with resources.as_file(path) as file:
        return pd.read_csv(file, dtype=str, usecols=["name", "county"])


def _data_date(params: Any) -> str:
    """The last-changed date of the newest input file named in the run's parameters."""
    stamps = []
    for key in ("communities_file", "facilities_file", "population_raster"):
        value = str(params.get(key) or "")
        for part in value.split(" + "):
            path = Path(part)
            if part and path.exists():
                stamps.append(path.stat().st_mtime)
    if not stamps:
        return ""
    return datetime.fromtimestamp(max(stamps), UTC).date().isoformat()
