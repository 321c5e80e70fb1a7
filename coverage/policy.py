"""Policy profiles: the service circles and thresholds a district is held to.

A profile is a TOML file. The built-in ones live in the repository's ``data/policies/``
(installed as ``carecircle.data``); a user's own file may ``extends = "chongqing"`` (a built-in
name or a path) and override any value. Every rule names its source document and section.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PolicyError
from .terms import ELDERCARE_TIERS
from .terms import KINDS as KINDS

MAX_SPEED_M_S = 3.0
"""Fastest accepted walking speed, m/s: a brisk run. Older people walk at 0.8-1.2 m/s."""

MAX_MINUTES = 120.0
"""Longest accepted circle, minutes: two hours' walk. The standards set 5 to 30 minutes."""

YEARS = (1900, 2100)
"""Accepted range of a target's year."""

# The schema: key -> (type, required). Nested tables are described separately.
_TOP: dict[str, type] = {
    "name": str,
    "title": str,
    "extends": str,
    "applies_to": list,
    "analysis": dict,
    "status": dict,
    "circles": dict,
    "standards": dict,
    "provision": dict,
    "targets": dict,
    "money": dict,
    "walking": dict,
    "medical_integration": dict,
    "care_map": dict,
}
_ANALYSIS: dict[str, type] = {
    "speed_m_s": float,
    "grid_spacing_m": float,
    "max_access_m": float,
    "min_component_share": float,
}
# [walking]: slopes, steps, elevators, escalators (see Walking). Each number's accepted range,
# (low, high, whether low itself is accepted); the one text key's accepted values.
_WALKING: dict[str, type] = {
    "slope_model": str,
    "max_speed_factor": float,
    "dem_spacing_m": float,
    "steps_up_s_per_step": float,
    "steps_down_s_per_step": float,
    "steps_up_factor": float,
    "steps_down_factor": float,
    "use_ramps": bool,
    "elevator_wait_s": float,
    "elevator_ride_s": float,
    "conveying_speed_m_s": float,
    "source": str,
    "note": str,
}
SLOPE_MODELS = ("tobler", "none")
_WALKING_RANGES: dict[str, tuple[float, float, bool, str]] = {
    "max_speed_factor": (1.0, 3.0, True, "a multiple of the flat speed from 1 to 3"),
    "dem_spacing_m": (0.0, 1000.0, False, "a spacing of more than 0 and at most 1000 m"),
    "steps_up_s_per_step": (0.0, 60.0, False, "seconds per step, more than 0 and at most 60"),
    "steps_down_s_per_step": (0.0, 60.0, False, "seconds per step, more than 0 and at most 60"),
    "steps_up_factor": (0.0, 100.0, False, "a factor of more than 0 and at most 100"),
    "steps_down_factor": (0.0, 100.0, False, "a factor of more than 0 and at most 100"),
    "elevator_wait_s": (0.0, 3600.0, True, "seconds from 0 to 3600"),
    "elevator_ride_s": (0.0, 3600.0, True, "seconds from 0 to 3600"),
    "conveying_speed_m_s": (
        0.0,
        MAX_SPEED_M_S,
        False,
        f"a speed of more than 0 and at most {MAX_SPEED_M_S:g} m/s",
    ),
}
_STATUS: dict[str, type] = {"covered_min_share": float, "partial_min_share": float}
_CARE_MAP: dict[str, type] = {"min_count": int, "source": str, "note": str}
CARE_MIN_COUNT = 5
"""The smallest count the care map (关爱地图) publishes unless ``[care_map] min_count`` says."""
_CIRCLE: dict[str, type] = {
    "label_zh": str,
    "label_en": str,
    "tiers": list,
    "minutes_urban": float,
    "minutes_rural": float,
    "source": str,
    "note": str,
}

# [standards.<tier>]: the floor area and beds a facility of the tier must have.
_STANDARD: dict[str, type] = {
    "min_area_m2": float,
    "max_area_m2": float,
    "min_area_m2_few_elderly": float,
    "few_elderly_max": float,
    "min_beds": float,
    "recommended_beds": float,
    "recommended_nursing_beds": float,
    "source": str,
    "note": str,
}
# [provision.<rule>]: what a community, township or district must have. Each rule's value type.
PROVISION_RULES: dict[str, type] = {
    "one_centre_per_township": bool,
    "one_station_per_community": bool,
    "station_per_community": bool,
    "area_per_resident_m2": float,
    "new_community_min_area_m2": float,
    "land_per_resident_m2": float,
    "area_per_100_households_m2": float,
    "stations_per_centre": float,
    "old_compound_floor_area_m2": float,
    "simplified_approval_max_area_m2": float,
}
_RULE: dict[str, type] = {"value": object, "max_value": float, "source": str, "note": str}
# [targets.<rule>]: district-wide shares to reach by a year.
TARGET_RULES = (
    "nursing_bed_share",
    "social_bed_share",
    "medical_capable_share",
    "social_facility_share_urban",
    "social_facility_share_rural",
)
_TARGET: dict[str, type] = {"value": float, "year": float, "source": str, "note": str}
# [medical_integration]: 医养结合, a centre sits beside (within a walk of) a health centre.
_MEDICAL_INTEGRATION: dict[str, type] = {
    "max_walk_minutes": float,
    "tiers": list,
    "source": str,
    "note": str,
}
MEDICAL_INTEGRATION_TIERS: tuple[str, ...] = ("street_center", "township_center")
"""The tiers checked for 医养结合 unless ``[medical_integration] tiers`` says otherwise."""
# [[targets.yearly]]: counts of facilities or of places covered to reach by a year.
COUNTED: tuple[str, ...] = (
    "centres",
    "street_centres",
    "township_centres",
    "stations",
    "rural_points",
    "demonstration_centres",
    "communities_covered",
    "streets_covered",
    "towns_covered",
    "medical_integrated",
)
"""What a yearly target counts (``[[targets.yearly]]``'s ``what``).

``centres`` are street and township centres (养老服务中心), ``street_centres`` and
``township_centres`` each tier, ``stations`` community stations (社区养老服务站), ``rural_points``
village points (农村养老互助点), ``demonstration_centres`` municipal demonstration centres
(市级示范社区养老服务中心, a designation no input table holds). ``communities_covered`` counts
urban communities with a station or centre of their own, ``streets_covered`` and
``towns_covered`` streets (街道) and towns (镇/乡) with a centre and a station or point for every
community and village (一乡镇(街道)一中心，一村(社区)一站(点)). ``medical_integrated`` counts
facilities of any tier marked yes in the facilities' ``medical_integrated`` column
(医养结合型机构, 垫江府办〔2020〕8号 §二(五)).
"""
BASES: tuple[str, ...] = ("total", "new")
"""A yearly target's ``basis``: the ``total`` reached by the end of its year (到2022年建成), or the
number ``new`` in its year alone (2019年新建)."""
SCOPES: tuple[str, ...] = ("district", "municipality")
"""A yearly target's ``scope``: the area the data covers (``district``), or a whole municipality
(e.g. 全市 in 渝府办发〔2018〕99号), which one district's data cannot check."""
_YEARLY_TARGET: dict[str, type] = {
    "what": str,
    "year": float,
    "number": float,
    "basis": str,
    "scope": str,
    "source": str,
    "note": str,
}
# [money.*]: subsidies and awards, to cost a set of facilities. A table's ``note`` is shown in
# the costing's notes; ``note_zh``, its Chinese, is shown instead in the Chinese outputs.
_MONEY: dict[str, type] = {
    "construction_flat": dict,
    "construction_per_m2": dict,
    "operating_yearly": dict,
    "operating_by_grade": dict,
    "bed_subsidy_monthly": dict,
}
_FLAT: dict[str, type] = {
    "yuan": float,
    "min_area_m2": float,
    "source": str,
    "note": str,
    "note_zh": str,
}
_PER_M2: dict[str, type] = {
    "yuan_per_m2": float,
    "cap_m2_municipal": float,
    "cap_m2_other": float,
    "municipal": bool,
    "source": str,
    "note": str,
    "note_zh": str,
}
_YEARLY: dict[str, type] = {"yuan": float, "source": str, "note": str, "note_zh": str}
_BY_GRADE: dict[str, type] = {
    "min_yuan": float,
    "max_yuan": float,
    "grades": list,
    "grade_yuan": list,
    "source": str,
    "note": str,
    "note_zh": str,
}
_BED_MONTHLY: dict[str, type] = {
    "self_care": float,
    "semi_disabled": float,
    "disabled": float,
    "source": str,
    "note": str,
    "note_zh": str,
}


@dataclass(frozen=True)
class Standard:
    """The floor area and beds a facility tier must have.

    Attributes
    ----------
    tier : str
        The facility tier.
    min_area_m2, max_area_m2 : float or None
        Floor area range in m² (None: no bound).
    min_area_m2_few_elderly : float or None
        The lower minimum for a community with few older residents.
    few_elderly_max : float or None
        Older residents at or below which a community has "few".
    min_beds : float or None
        Beds required.
    recommended_beds, recommended_nursing_beds : float or None
        Beds asked for "where possible": a shortfall is advisory.
    source : str
        Document and section.
    note : str
        Scope or wording worth knowing (e.g. where a default is not in any document).

    """

    tier: str
    min_area_m2: float | None
    max_area_m2: float | None
    min_area_m2_few_elderly: float | None
    few_elderly_max: float | None
    min_beds: float | None
    recommended_beds: float | None
    recommended_nursing_beds: float | None
    source: str
    note: str = ""


@dataclass(frozen=True)
class Rule:
    """One rule with its value and source.

    Attributes
    ----------
    value : float or bool
        The figure (a share, m², a count) or whether the rule applies.
    source : str
        Document and section.
    year : float or None
        The year a target is due, for targets.
    max_value : float or None
        The upper end where the document gives a range (e.g. 20–30 m² per 100 households).
    note : str
        Scope or wording worth knowing.

    """

    value: float | bool
    source: str
    year: float | None = None
    note: str = ""
    max_value: float | None = None


@dataclass(frozen=True)
class MedicalIntegration:
    """医养结合: care centres sited beside (一体或邻近) a health centre.

    Attributes
    ----------
    max_walk_minutes : float
        The longest walk, minutes, from a centre to the nearest health centre
        (``health_center`` tier: 社区卫生服务中心, 乡镇卫生院) for the centre to count as beside it.
    tiers : tuple of str
        The facility tiers checked (street and township centres unless the profile says).
    source : str
        Document and section, or ``DEFAULT ...`` where the document gives no walk.
    note : str
        The document's words and how the profile reads them.

    """

    max_walk_minutes: float
    tiers: tuple[str, ...]
    source: str
    note: str = ""


@dataclass(frozen=True)
class YearlyTarget:
    """A count to reach by a year: ``[[targets.yearly]]``.

    Attributes
    ----------
    what : str
        What is counted (:data:`COUNTED`).
    year : int
        The calendar year it is due (by its end).
    number : int
        The count to reach; a count equal to it meets it.
    basis : str
        ``"total"`` (reached by the year) or ``"new"`` (built in that year), :data:`BASES`.
    scope : str
        ``"district"`` or ``"municipality"`` (:data:`SCOPES`).
    source : str
        Document and section, with its words.
    note : str
        Scope or wording worth knowing.

    """

    what: str
    year: int
    number: int
    basis: str
    scope: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class Circle:
    """A walking-time service circle.

    Attributes
    ----------
    name : str
        Key used in output columns (``eldercare``, ``medical``).
    tiers : tuple of str
        Facility tiers that count for this circle.
    minutes : dict
        Minutes allowed for ``urban`` and ``rural`` communities.
    label_zh, label_en : str
        Names shown on maps and tables.
    source : str
        The document and section that set it.

    """

    name: str
    tiers: tuple[str, ...]
    minutes: Mapping[str, float]
    label_zh: str
    label_en: str
    source: str
    note: str = ""

    @property
    def max_minutes(self) -> float:
        """The largest limit over community kinds."""
        return max(self.minutes.values())

    @property
    def limits(self) -> tuple[float, ...]:
        """The distinct limits over community kinds, in minutes, shortest first."""
        return tuple(sorted(set(self.minutes.values())))

    def minutes_for(self, kind: Any) -> np.ndarray:
        """The minutes allowed to a community of each ``kind``.

        The one urban/rural rule: a ``"rural"`` community gets the rural limit, any other
        the urban one.

        Parameters
        ----------
        kind : str or array-like of str
            Community kinds (``"urban"`` or ``"rural"``).

        Returns
        -------
        numpy.ndarray
            Minutes, shaped like ``kind`` (0-d for one kind).

        Examples
        --------
        >>> circle = Circle("care", ("clinic",), {"urban": 15.0, "rural": 30.0}, "", "", "")
        >>> circle.minutes_for(["urban", "rural"]).tolist()
        [15.0, 30.0]

        """
        rural = np.asarray(kind, dtype=object) == "rural"
        return np.where(rural, self.minutes["rural"], self.minutes["urban"])


@dataclass(frozen=True)
class Walking:
    """How slopes, steps, elevators and escalators change walking times: ``[walking]``.

    Every time here is an older resident's; :mod:`carecircle.terrain` (slopes) and
    :mod:`carecircle.steps` (steps, elevators, escalators) turn them into flat-equivalent
    metres per edge and direction. The defaults and their sources are in the ``chongqing``
    profile's ``[walking]`` table and the README ("Steps, elevators and escalators").

    Attributes
    ----------
    slope_model : str
        ``"tobler"`` (Tobler's hiking function, Tobler 1993, NCGIA Technical Report 93-1,
        normalised so that flat ground gives the profile's speed) or ``"none"`` (slopes
        ignored even with a DEM).
    max_speed_factor : float
        The fastest a slope may make a walk, as a multiple of the flat speed (1 = never faster
        than on flat ground, for older residents walking downhill). At least 1.
    dem_spacing_m : float
        Spacing of the elevation samples along each edge, metres.
    steps_up_s_per_step, steps_down_s_per_step : float
        Seconds per step climbing and descending a flight whose ``step_count`` is mapped
        (Oh-Park et al. 2011: adults aged 70+, 2.78 s and 2.83 s for 3 steps).
    steps_up_factor, steps_down_factor : float
        A flight without a usable ``step_count`` takes this many times as long as a flat walk
        of its length, climbing and descending (OpenTripPlanner's ``stairsTimeFactor`` 3.0,
        after Fujiyama & Tyler 2010).
    use_ramps : bool
        Steps tagged ``ramp=yes`` (a ramp beside them) are walked as the ramp: like any way,
        with the slope model, not as steps.
    elevator_wait_s, elevator_ride_s : float
        Seconds waiting for an elevator and riding it (OpenTripPlanner's
        ``elevatorBoardTime`` 90 s and ``elevatorHopTime`` 20 s); one elevator costs their sum
        in each direction.
    conveying_speed_m_s : float
        Horizontal speed of a resident standing on an escalator or moving walkway, m/s
        (OpenTripPlanner: 0.5 m/s along a 30 degree escalator, 0.45 m/s horizontally).
    source : str
        Where the values come from, for the run's metadata.

    """

    slope_model: str = "tobler"
    max_speed_factor: float = 1.0
    dem_spacing_m: float = 10.0
    steps_up_s_per_step: float = 0.93
    steps_down_s_per_step: float = 0.94
    steps_up_factor: float = 3.0
    steps_down_factor: float = 3.0
    use_ramps: bool = True
    elevator_wait_s: float = 90.0
    elevator_ride_s: float = 20.0
    conveying_speed_m_s: float = 0.45
    source: str = "carecircle's defaults (README, 'Steps, elevators and escalators')"


@dataclass(frozen=True)
class Policy:
    """A loaded, checked policy profile.

    Attributes
    ----------
    name, title : str
        Profile name and display title.
    circles : tuple of Circle
        The service circles, in file order.
    speed_m_s : float
        Walking speed, metres per second.
    grid_spacing_m : float
        Spacing of demand points inside a community without a population raster, metres.
    max_access_m : float
        Points farther than this from any walkable way are outside the network, metres.
    min_component_share : float
        Disconnected parts of the network holding a smaller share of its nodes are left out
        as mapping fragments.
    covered_min_share, partial_min_share : float
        Status thresholds on the share of (older) residents within a circle.
    source_file : str
        Where the profile was read from.
    standards : mapping
        Tier -> :class:`Standard`.
    provision : mapping
        Rule name (see :data:`PROVISION_RULES`) -> :class:`Rule`.
    targets : mapping
        Rule name (see :data:`TARGET_RULES`) -> :class:`Rule` with its year.
    yearly_targets : tuple of YearlyTarget
        Counts to reach by a year (``[[targets.yearly]]``), the parent profile's first.
    money : mapping
        The checked ``[money]`` tables as plain dictionaries (see :mod:`carecircle.costing`).
    walking : Walking
        Slopes and steps (``[walking]``).
    medical_integration : MedicalIntegration or None
        医养结合 (``[medical_integration]``); None when the profile does not ask it.
    applies_to : tuple of str
        The community kinds (:data:`KINDS`) the profile's standards, provision rules, targets
        and money rules apply to (``applies_to``; both kinds when not given). 运〔2021〕—2, for
        instance, is about urban communities (城市社区) only: ``applies_to = ["urban"]``.

    """

    name: str
    title: str
    circles: tuple[Circle, ...]
    speed_m_s: float
    grid_spacing_m: float
    max_access_m: float
    min_component_share: float
    covered_min_share: float
    partial_min_share: float
    source_file: str
    standards: Mapping[str, Standard] = field(default_factory=dict)
    provision: Mapping[str, Rule] = field(default_factory=dict)
    targets: Mapping[str, Rule] = field(default_factory=dict)
    yearly_targets: tuple[YearlyTarget, ...] = ()
    money: Mapping[str, Any] = field(default_factory=dict)
    walking: Walking = field(default_factory=Walking)
    applies_to: tuple[str, ...] = KINDS
    medical_integration: MedicalIntegration | None = None
    care_min_count: int = CARE_MIN_COUNT

    def applies(self, kind: Any) -> np.ndarray:
        """Whether the profile's rules apply to a community of each ``kind``.

        Parameters
        ----------
        kind : str or array-like of str
            Community kinds (``"urban"`` or ``"rural"``); a blank or unknown kind counts as
            urban, as in :meth:`Circle.minutes_for`.

        Returns
        -------
        numpy.ndarray
            Booleans, shaped like ``kind``.

        Examples
        --------
        >>> load("yuncheng").applies(["urban", "rural"]).tolist()
        [True, False]
        >>> load("chongqing").applies(["urban", "rural"]).tolist()
        [True, True]

        """
        kinds = np.asarray(kind, dtype=object)
        taken = np.where(kinds == "rural", "rural", "urban")
        return np.isin(taken, list(self.applies_to))

    @property
    def scope_en(self) -> str:
        """``""``, or the words saying which community kinds the rules are for (English)."""
        if set(self.applies_to) >= set(KINDS):
            return ""
        return " and ".join(self.applies_to) + " communities only"

    @property
    def scope_zh(self) -> str:
        """``""``, or the words saying which community kinds the rules are for (Chinese)."""
        if set(self.applies_to) >= set(KINDS):
            return ""
        words = {"urban": "城市社区", "rural": "农村（村）"}
        return "仅适用于" + "、".join(words[k] for k in self.applies_to)

    def circle(self, name: str) -> Circle:
        """Return the circle called ``name``."""
        for circle in self.circles:
            if circle.name == name:
                return circle
        known = ", ".join(c.name for c in self.circles)
        msg = f"policy {self.name!r} has no circle {name!r}; it has: {known}"
        raise PolicyError(msg)


def builtin_names() -> list[str]:
    """Names of the profiles shipped with carecircle."""
    folder = resources.files("carecircle.data") / "policies"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load(name_or_path: str | Path = "chongqing") -> Policy:
    """Load a profile by built-in name or from a TOML file, resolving ``extends``.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A built-in name (see :func:`builtin_names`) or a path to a ``.toml`` file.

    Raises
    ------
    PolicyError
        For an unknown profile, unreadable TOML, an unknown key, a value of the wrong type or
        out of range; the message names the file and the key.

    """
    raw, where = _resolve(name_or_path, seen=())
    return _build(raw, where)


def as_policy(policy: Policy | str | os.PathLike[str]) -> Policy:
    """``policy`` itself when it is a :class:`Policy`, else the profile :func:`load` finds.

    Parameters
    ----------
    policy : Policy, str or os.PathLike
        A loaded profile, a built-in name (``"chongqing"``) or a path to a ``.toml`` file.

    Raises
    ------
    PolicyError
        As :func:`load`, or for anything else than the above.

    Examples
    --------
    >>> as_policy("yuzhong").name
    'yuzhong'
    >>> as_policy(as_policy("yuzhong")).name
    'yuzhong'

    """
    if isinstance(policy, Policy):
        return policy
    if not isinstance(policy, str | os.PathLike):
        msg = (
            f"policy={policy!r}: expected a Policy, a built-in profile name "
            f"({', '.join(builtin_names())}) or a path to a .toml file"
        )
        raise PolicyError(msg)
    return load(Path(policy) if isinstance(policy, os.PathLike) else policy)


def _resolve(name_or_path: str | Path, *, seen: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    text, where = _read(name_or_path)
    if where in seen:
        msg = f"{where}: 'extends' makes a loop ({' -> '.join((*seen, where))})"
        raise PolicyError(msg)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{where}: not valid TOML ({exc})"
        raise PolicyError(msg) from exc
    _check_keys(raw, where)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw, where
    base_dir = Path(where).parent if Path(where).is_file() else None
    parent_ref: str | Path = parent
    if base_dir is not None and parent.endswith(".toml"):
        parent_ref = base_dir / parent
    base, _ = _resolve(parent_ref, seen=(*seen, where))
    return _merge(base, raw), where


def _read(name_or_path: str | Path) -> tuple[str, str]:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            msg = f"{path}: policy file not found"
            raise PolicyError(msg)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except UnicodeDecodeError as exc:
            found = exc.object[exc.start : exc.start + 1]
            msg = (
                f"{path}: not UTF-8 text (byte {exc.start}: {found!r}); "
                "save the profile as UTF-8 (TOML files are UTF-8)"
            )
            raise PolicyError(msg) from None
        except OSError as exc:
            msg = f"{path}: cannot read the policy file ({exc.strerror})"
            raise PolicyError(msg) from None
    name = str(name_or_path)
    resource = resources.files("carecircle.data") / "policies" / f"{name}.toml"
    if not resource.is_file():
        msg = (
            f"unknown policy {name!r}; expected a built-in name "
            f"({', '.join(builtin_names())}) or a path to a .toml file"
        )
        raise PolicyError(msg)
    return resource.read_text(encoding="utf-8"), f"{name} (built-in)"


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if key == "yearly" and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = [*out[key], *value]  # [[targets.yearly]] add up along `extends`
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _check_keys(raw: Mapping[str, Any], where: str) -> None:
    _check_table(raw, _TOP, where, "")
    for table, schema in (
        ("analysis", _ANALYSIS),
        ("status", _STATUS),
        ("walking", _WALKING),
        ("care_map", _CARE_MAP),
    ):
        if table in raw:
            _check_table(raw[table], schema, where, f"{table}.")
    for name, circle in raw.get("circles", {}).items():
        _check_table(_table(circle, where, f"circles.{name}"), _CIRCLE, where, f"circles.{name}.")
    for tier, spec in raw.get("standards", {}).items():
        _check_name(tier, _tiers(), where, "standards")
        _check_table(
            _table(spec, where, f"standards.{tier}"), _STANDARD, where, f"standards.{tier}."
        )
    for name, spec in raw.get("provision", {}).items():
        _check_name(name, tuple(PROVISION_RULES), where, "provision")
        spec = _table(spec, where, f"provision.{name}")
        _check_table(spec, {**_RULE, "value": PROVISION_RULES[name]}, where, f"provision.{name}.")
    for name, spec in raw.get("targets", {}).items():
        if name == "yearly":
            _check_yearly_keys(spec, where)
            continue
        _check_name(name, (*TARGET_RULES, "yearly"), where, "targets")
        _check_table(_table(spec, where, f"targets.{name}"), _TARGET, where, f"targets.{name}.")
    if "medical_integration" in raw:
        spec = _table(raw["medical_integration"], where, "medical_integration")
        _check_table(spec, _MEDICAL_INTEGRATION, where, "medical_integration.")
    money = raw.get("money", {})
    _check_table(money, _MONEY, where, "money.")
    for kind, schema in (("construction_flat", _FLAT), ("operating_yearly", _YEARLY)):
        for tier, spec in money.get(kind, {}).items():
            _check_name(tier, _tiers(), where, f"money.{kind}")
            _check_table(
                _table(spec, where, f"money.{kind}.{tier}"), schema, where, f"money.{kind}.{tier}."
            )
    for kind, schema in (
        ("construction_per_m2", _PER_M2),
        ("operating_by_grade", _BY_GRADE),
        ("bed_subsidy_monthly", _BED_MONTHLY),
    ):
        if kind in money:
            _check_table(money[kind], schema, where, f"money.{kind}.")


def _tiers() -> tuple[str, ...]:
    from .terms import TIERS

    return TIERS


def _table(value: Any, where: str, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        msg = f"{where}: key '{key}' must be a table, found {value!r}"
        raise PolicyError(msg)
    return value


def _check_name(name: str, known: tuple[str, ...], where: str, table: str) -> None:
    if name not in known:
        msg = f"{where}: unknown key '{table}.{name}'; expected one of: {', '.join(known)}"
        raise PolicyError(msg)


def _check_table(
    table: Mapping[str, Any], schema: Mapping[str, type], where: str, prefix: str
) -> None:
    for key, value in table.items():
        if key not in schema:
            msg = f"{where}: unknown key '{prefix}{key}'; expected one of: {', '.join(schema)}"
            raise PolicyError(msg)
        expected = schema[key]
        if isinstance(value, float) and not math.isfinite(value):  # TOML has nan and inf
            msg = f"{where}: key '{prefix}{key}' must be a finite number, found {value!r}"
            raise PolicyError(msg)
        if expected is object:
            continue
        ok = (
            isinstance(value, int | float) and not isinstance(value, bool)
            if expected is float
            else isinstance(value, expected)
        )
        if not ok:
            msg = (
                f"{where}: key '{prefix}{key}' must be {expected.__name__}, "
                f"found {value!r} ({type(value).__name__})"
            )
            raise PolicyError(msg)


def _build(raw: Mapping[str, Any], where: str) -> Policy:
    from .terms import TIERS

    analysis = raw.get("analysis", {})
    status = raw.get("status", {})
    for key in _ANALYSIS:
        if key not in analysis:
            msg = f"{where}: missing key 'analysis.{key}'"
            raise PolicyError(msg)
        if key == "min_component_share":
            if not 0 <= analysis[key] < 1:
                msg = (
                    f"{where}: key 'analysis.{key}' must be a share from 0 to 1, "
                    f"found {analysis[key]!r}"
                )
                raise PolicyError(msg)
        elif analysis[key] <= 0:
            msg = f"{where}: key 'analysis.{key}' must be positive, found {analysis[key]!r}"
            raise PolicyError(msg)
    if analysis["speed_m_s"] > MAX_SPEED_M_S:
        msg = (
            f"{where}: key 'analysis.speed_m_s' must be a walking speed of at most "
            f"{MAX_SPEED_M_S:g} m/s, found {analysis['speed_m_s']!r}"
        )
        raise PolicyError(msg)
    for key in _STATUS:
        value = status.get(key)
        if value is None or not 0 <= value <= 1:
            msg = f"{where}: key 'status.{key}' must be a share from 0 to 1, found {value!r}"
            raise PolicyError(msg)
    if status["partial_min_share"] > status["covered_min_share"]:
        msg = f"{where}: 'status.partial_min_share' exceeds 'status.covered_min_share'"
        raise PolicyError(msg)
    circles = []
    for name, spec in raw.get("circles", {}).items():
        for key in (k for k in _CIRCLE if k != "note"):
            if key not in spec:
                msg = f"{where}: missing key 'circles.{name}.{key}'"
                raise PolicyError(msg)
        for kind in KINDS:
            minutes = spec[f"minutes_{kind}"]
            if minutes <= 0:
                msg = (
                    f"{where}: key 'circles.{name}.minutes_{kind}' must be positive, "
                    f"found {minutes!r}"
                )
                raise PolicyError(msg)
            if minutes > MAX_MINUTES:
                msg = (
                    f"{where}: key 'circles.{name}.minutes_{kind}' must be a walk of at most "
                    f"{MAX_MINUTES:g} minutes, found {minutes!r}"
                )
                raise PolicyError(msg)
        unknown = [t for t in spec["tiers"] if t not in TIERS]
        if unknown or not spec["tiers"]:
            msg = (
                f"{where}: key 'circles.{name}.tiers' has unknown tier(s) {unknown!r}; "
                f"expected some of: {', '.join(TIERS)}"
            )
            raise PolicyError(msg)
        circles.append(
            Circle(
                name=name,
                tiers=tuple(spec["tiers"]),
                minutes={kind: float(spec[f"minutes_{kind}"]) for kind in KINDS},
                label_zh=spec["label_zh"],
                label_en=spec["label_en"],
                source=spec["source"],
                note=spec.get("note", ""),
            )
        )
    if not circles:
        msg = f"{where}: the profile defines no circles"
        raise PolicyError(msg)
    standards = {
        tier: _standard(tier, spec, where) for tier, spec in raw.get("standards", {}).items()
    }
    provision = {
        name: Rule(
            value=spec["value"],
            source=spec.get("source", ""),
            note=spec.get("note", ""),
            max_value=float(spec["max_value"]) if "max_value" in spec else None,
        )
        for name, spec in raw.get("provision", {}).items()
        if _has_value(spec, where, f"provision.{name}")
    }
    targets = {
        name: Rule(
            value=float(spec["value"]),
            source=spec.get("source", ""),
            year=float(spec["year"]) if "year" in spec else None,
            note=spec.get("note", ""),
        )
        for name, spec in raw.get("targets", {}).items()
        if name != "yearly"
        and _has_value(spec, where, f"targets.{name}")
        and _share(spec, where, f"targets.{name}")
    }
    yearly = tuple(
        _yearly_target(spec, where, f"targets.yearly[{i}]")
        for i, spec in enumerate(raw.get("targets", {}).get("yearly", []))
    )
    _check_money(raw.get("money", {}), where)
    return Policy(
        medical_integration=_medical_integration(raw.get("medical_integration"), where),
        name=raw.get("name", Path(where).stem),
        title=raw.get("title", raw.get("name", "")),
        circles=tuple(circles),
        speed_m_s=float(analysis["speed_m_s"]),
        grid_spacing_m=float(analysis["grid_spacing_m"]),
        max_access_m=float(analysis["max_access_m"]),
        min_component_share=float(analysis["min_component_share"]),
        covered_min_share=float(status["covered_min_share"]),
        partial_min_share=float(status["partial_min_share"]),
        source_file=where,
        standards=standards,
        provision=provision,
        targets=targets,
        yearly_targets=yearly,
        money=raw.get("money", {}),
        walking=_walking(raw.get("walking", {}), where),
        applies_to=_applies_to(raw.get("applies_to", list(KINDS)), where),
        care_min_count=_care_min_count(raw.get("care_map", {}), where),
    )


def _care_min_count(spec: Mapping[str, Any], where: str) -> int:
    """The checked ``[care_map] min_count``: a whole number of at least 1 (5 when not given)."""
    value = spec.get("min_count", CARE_MIN_COUNT)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{where}: key 'care_map.min_count' must be a whole number ≥ 1, found {value!r}"
        raise PolicyError(msg)
    return int(value)


def _applies_to(value: list[Any], where: str) -> tuple[str, ...]:
    """The checked ``applies_to``: some of :data:`KINDS`, at least one, each once."""
    bad = [k for k in value if k not in KINDS]
    if bad or not value or len(set(value)) != len(value):
        msg = (
            f"{where}: key 'applies_to' must list community kinds, each once, found {value!r}; "
            f"expected some of: {', '.join(KINDS)}"
        )
        raise PolicyError(msg)
    return tuple(k for k in KINDS if k in value)


def _walking(spec: Mapping[str, Any], where: str) -> Walking:
    """The checked ``[walking]`` table; keys not given keep :class:`Walking`'s defaults."""
    model = spec.get("slope_model", Walking.slope_model)
    if model not in SLOPE_MODELS:
        msg = (
            f"{where}: key 'walking.slope_model' must be one of {', '.join(SLOPE_MODELS)}, "
            f"found {model!r}"
        )
        raise PolicyError(msg)
    for key, (low, high, low_ok, expected) in _WALKING_RANGES.items():
        if key not in spec:
            continue
        value = spec[key]
        if not ((value >= low if low_ok else value > low) and value <= high):
            msg = f"{where}: key 'walking.{key}' must be {expected}, found {value!r}"
            raise PolicyError(msg)
    numbers: dict[str, Any] = {k: float(spec[k]) for k in _WALKING_RANGES if k in spec}
    chosen = Walking(
        slope_model=model,
        use_ramps=bool(spec.get("use_ramps", Walking.use_ramps)),
        source=spec.get("source", Walking.source),
    )
    return replace(chosen, **numbers)


def _standard(tier: str, spec: Mapping[str, Any], where: str) -> Standard:
    if not spec.get("source"):
        msg = f"{where}: key 'standards.{tier}.source' is missing: every rule names its source"
        raise PolicyError(msg)
    numbers = {k: float(v) for k, v in spec.items() if k not in ("source", "note")}
    for key, value in numbers.items():
        if value < 0:
            msg = f"{where}: key 'standards.{tier}.{key}' must be 0 or more, found {value!r}"
            raise PolicyError(msg)
    low, high = numbers.get("min_area_m2"), numbers.get("max_area_m2")
    if low is not None and high is not None and low > high:
        msg = f"{where}: 'standards.{tier}.min_area_m2' ({low:g}) exceeds max_area_m2 ({high:g})"
        raise PolicyError(msg)
    if ("min_area_m2_few_elderly" in numbers) != ("few_elderly_max" in numbers):
        msg = (
            f"{where}: 'standards.{tier}' needs both min_area_m2_few_elderly and "
            "few_elderly_max, or neither"
        )
        raise PolicyError(msg)
    return Standard(
        tier=tier,
        min_area_m2=numbers.get("min_area_m2"),
        max_area_m2=numbers.get("max_area_m2"),
        min_area_m2_few_elderly=numbers.get("min_area_m2_few_elderly"),
        few_elderly_max=numbers.get("few_elderly_max"),
        min_beds=numbers.get("min_beds"),
        recommended_beds=numbers.get("recommended_beds"),
        recommended_nursing_beds=numbers.get("recommended_nursing_beds"),
        source=spec["source"],
        note=spec.get("note", ""),
    )


def _has_value(spec: Mapping[str, Any], where: str, key: str) -> bool:
    if "value" not in spec:
        msg = f"{where}: missing key '{key}.value'"
        raise PolicyError(msg)
    if not spec.get("source"):
        msg = f"{where}: missing key '{key}.source': every rule names its source"
        raise PolicyError(msg)
    value = spec["value"]
    if not isinstance(value, bool) and isinstance(value, int | float) and value < 0:
        msg = f"{where}: key '{key}.value' must be 0 or more, found {value!r}"
        raise PolicyError(msg)
    return True


def _medical_integration(spec: Mapping[str, Any] | None, where: str) -> MedicalIntegration | None:
    """The ``[medical_integration]`` table, checked, or None."""
    if spec is None:
        return None
    key = "medical_integration"
    if "max_walk_minutes" not in spec:
        msg = f"{where}: missing key '{key}.max_walk_minutes'"
        raise PolicyError(msg)
    if not spec.get("source"):
        msg = f"{where}: missing key '{key}.source': every rule names its source"
        raise PolicyError(msg)
    minutes = spec["max_walk_minutes"]
    if not 0 < minutes <= MAX_MINUTES:
        msg = (
            f"{where}: key '{key}.max_walk_minutes' must be a walk of more than 0 and at most "
            f"{MAX_MINUTES:g} minutes, found {minutes!r}"
        )
        raise PolicyError(msg)
    tiers = tuple(spec.get("tiers", MEDICAL_INTEGRATION_TIERS))
    unknown = [t for t in tiers if t not in ELDERCARE_TIERS]
    if unknown or not tiers:
        msg = (
            f"{where}: key '{key}.tiers' has unknown tier(s) {unknown!r}; "
            f"expected some of: {', '.join(ELDERCARE_TIERS)}"
        )
        raise PolicyError(msg)
    return MedicalIntegration(
        max_walk_minutes=float(minutes),
        tiers=tiers,
        source=spec["source"],
        note=spec.get("note", ""),
    )


def _share(spec: Mapping[str, Any], where: str, key: str) -> bool:
    if not 0 <= spec["value"] <= 1:
        msg = f"{where}: key '{key}.value' must be a share from 0 to 1, found {spec['value']!r}"
        raise PolicyError(msg)
    year = spec.get("year")
    low, high = YEARS
    if year is not None and not (float(year).is_integer() and low <= year <= high):
        msg = (
            f"{where}: key '{key}.year' must be a calendar year from {low} to {high}, "
            f"found {year!r}"
        )
        raise PolicyError(msg)
    return True


def _check_yearly_keys(value: Any, where: str) -> None:
    if not isinstance(value, list):
        msg = (
            f"{where}: key 'targets.yearly' must be an array of tables ([[targets.yearly]]), "
            f"found {value!r}"
        )
        raise PolicyError(msg)
    for i, spec in enumerate(value):
        key = f"targets.yearly[{i}]"
        _check_table(_table(spec, where, key), _YEARLY_TARGET, where, f"{key}.")
        _yearly_target(spec, where, key)  # checked in its own file, numbered as there


def _yearly_target(spec: Mapping[str, Any], where: str, key: str) -> YearlyTarget:
    """The checked entry ``key`` of ``[[targets.yearly]]``."""
    for name in ("what", "year", "number", "source"):
        if name not in spec or spec[name] == "":
            msg = f"{where}: missing key '{key}.{name}'" + (
                ": every rule names its source" if name == "source" else ""
            )
            raise PolicyError(msg)
    for name, known in (("what", COUNTED), ("basis", BASES), ("scope", SCOPES)):
        if name in spec and spec[name] not in known:
            msg = (
                f"{where}: key '{key}.{name}' is {spec[name]!r}; expected one of: "
                f"{', '.join(known)}"
            )
            raise PolicyError(msg)
    year, number = spec["year"], spec["number"]
    low, high = YEARS
    if not (float(year).is_integer() and low <= year <= high):
        msg = (
            f"{where}: key '{key}.year' must be a calendar year from {low} to {high}, "
            f"found {year!r}"
        )
        raise PolicyError(msg)
    if not (float(number).is_integer() and number >= 0):
        msg = f"{where}: key '{key}.number' must be a whole number, 0 or more, found {number!r}"
        raise PolicyError(msg)
    return YearlyTarget(
        what=spec["what"],
        year=int(year),
        number=int(number),
        basis=spec.get("basis", "total"),
        scope=spec.get("scope", "district"),
        source=spec["source"],
        note=spec.get("note", ""),
    )


def _check_money(money: Mapping[str, Any], where: str) -> None:
    """Amounts are 0 or more and every money rule names its source."""
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for kind in ("construction_flat", "operating_yearly"):
        tables += [(f"money.{kind}.{tier}", spec) for tier, spec in money.get(kind, {}).items()]
    for kind in ("construction_per_m2", "operating_by_grade", "bed_subsidy_monthly"):
        if kind in money:
            tables.append((f"money.{kind}", money[kind]))
    for key, spec in tables:
        if not spec.get("source"):
            msg = f"{where}: missing key '{key}.source': every rule names its source"
            raise PolicyError(msg)
        for name, value in spec.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                msg = f"{where}: key '{key}.{name}' must be 0 or more, found {value!r}"
                raise PolicyError(msg)
    if "operating_by_grade" in money:
        _check_grades(money["operating_by_grade"], where)


def _check_grades(spec: Mapping[str, Any], where: str) -> None:
    """``grades`` names each grade once; ``grade_yuan`` pays each of them, within the range."""
    key = "money.operating_by_grade"
    grades = spec.get("grades")
    if grades is not None and (
        not grades
        or not all(isinstance(g, str) and g.strip() for g in grades)
        or len(set(grades)) != len(grades)
    ):
        msg = (
            f"{where}: key '{key}.grades' must list the grade names, lowest first, each once, "
            f"found {grades!r}"
        )
        raise PolicyError(msg)
    amounts = spec.get("grade_yuan")
    if amounts is None:
        return
    if grades is None or len(amounts) != len(grades):
        msg = (
            f"{where}: key '{key}.grade_yuan' must give one amount for each of '{key}.grades' "
            f"({len(grades or [])}), found {amounts!r}"
        )
        raise PolicyError(msg)
    low, high = spec.get("min_yuan", 0.0), spec.get("max_yuan", math.inf)
    for grade, yuan in zip(grades, amounts, strict=True):
        ok = isinstance(yuan, int | float) and not isinstance(yuan, bool) and math.isfinite(yuan)
        if not ok or not low <= yuan <= high:
            msg = (
                f"{where}: key '{key}.grade_yuan' gives grade {grade!r} {yuan!r}; expected an "
                f"amount from {low:g} to {high:g} yuan (min_yuan to max_yuan)"
            )
            raise PolicyError(msg)
