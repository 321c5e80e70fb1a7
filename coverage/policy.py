"""Policy profiles: the service circles and thresholds a district is held to.

A profile is a TOML file. The built-in ones live in the repository's ``data/policies/``
(installed as ``carecircle.data``); a user's own file may ``extends = "chongqing"`` (a built-in
name or a path) and override any value. Every rule names its source document and section.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ._errors import PolicyError

KINDS = ("urban", "rural")

# The schema: key -> (type, required). Nested tables are described separately.
_TOP = {
    "name": str,
    "title": str,
    "extends": str,
    "analysis": dict,
    "status": dict,
    "circles": dict,
}
_ANALYSIS = {
    "speed_m_s": float,
    "grid_spacing_m": float,
    "max_access_m": float,
    "min_component_share": float,
}
_STATUS = {"covered_min_share": float, "partial_min_share": float}
_CIRCLE = {
    "label_zh": str,
    "label_en": str,
    "tiers": list,
    "minutes_urban": float,
    "minutes_rural": float,
    "source": str,
}


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

    @property
    def max_minutes(self) -> float:
        """The largest limit over community kinds."""
        return max(self.minutes.values())


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
        return path.read_text(encoding="utf-8"), str(path)
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
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _check_keys(raw: Mapping[str, Any], where: str) -> None:
    _check_table(raw, _TOP, where, "")
    for table, schema in (("analysis", _ANALYSIS), ("status", _STATUS)):
        if table in raw:
            _check_table(raw[table], schema, where, f"{table}.")
    for name, circle in raw.get("circles", {}).items():
        if not isinstance(circle, dict):
            msg = f"{where}: key 'circles.{name}' must be a table, found {circle!r}"
            raise PolicyError(msg)
        _check_table(circle, _CIRCLE, where, f"circles.{name}.")


def _check_table(
    table: Mapping[str, Any], schema: Mapping[str, type], where: str, prefix: str
) -> None:
    for key, value in table.items():
        if key not in schema:
            msg = f"{where}: unknown key '{prefix}{key}'; expected one of: {', '.join(schema)}"
            raise PolicyError(msg)
        expected = schema[key]
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
    from .inputs import TIERS

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
        for key in _CIRCLE:
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
            )
        )
    if not circles:
        msg = f"{where}: the profile defines no circles"
        raise PolicyError(msg)
    return Policy(
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
    )
