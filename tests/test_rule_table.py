"""The README's rule table ("Rules, one by one") lists every built-in rule and real tests.

Each built-in profile's rules are read from its TOML file (a table with a ``source``, and
``applies_to``); each must be in a row that names the profile, and each row must name tests
that exist.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carecircle import policy

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "data" / "policies"
NOT_A_RULE = {"walking"}  # the walking model: see "Slopes and a DEM"


def _rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("#### Rules, one by one", 1)[1]
    lines = section.split("\n\n| rule |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in lines]


def _own_keys(data: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[str]:
    """The dotted keys of the rules in one profile file (not those it extends)."""
    if not path and "applies_to" in data:
        yield "applies_to"
    for key, value in data.items():
        if path == ("targets",) and key == "yearly":
            yield from (f"targets.yearly.{entry['what']}" for entry in value)
        elif isinstance(value, dict):
            if "source" in value:
                yield ".".join((*path, key))
            yield from _own_keys(value, (*path, key))


def _keys(name: str) -> set[str]:
    """The rules a built-in profile holds, its own and those of the profiles it extends."""
    data = tomllib.loads((POLICIES / f"{name}.toml").read_text(encoding="utf-8"))
    parent = data.get("extends")
    inherited = _keys(parent) if parent else set()
    return {k for k in _own_keys(data) if k.split(".")[0] not in NOT_A_RULE} | inherited


def _listed() -> dict[str, set[str]]:
    """profile -> the keys the table lists for it."""
    listed: dict[str, set[str]] = {}
    for row in _rows():
        for part in row[2].split(";"):
            if ":" not in part:
                continue
            names, keys = part.split(":", 1)
            names = re.sub(r"\(.*?\)", "", names)
            for name in (n.strip() for n in names.split(",")):
                listed.setdefault(name, set()).update(re.findall(r"`([^`]+)`", keys))
    return listed


def test_the_table_has_its_rows():
    rows = _rows()
    assert len(rows) >= 30
    assert all(len(row) == 5 for row in rows), [row[0] for row in rows if len(row) != 5]


@pytest.mark.parametrize("name", policy.builtin_names())
def test_every_rule_of_every_profile_is_in_the_table(name):
    listed = _listed().get(name, set())
    # a profile extending chongqing is covered by chongqing's rows for what it inherits
    parent = tomllib.loads((POLICIES / f"{name}.toml").read_text(encoding="utf-8")).get("extends")
    inherited = _listed().get(parent, set()) if parent else set()
    missing = _keys(name) - listed - inherited
    assert not missing, f"{name}: not in the README's rule table: {sorted(missing)}"
    unknown = listed - _keys(name)
    assert not unknown, f"{name}: the table lists rules the profile does not hold: {unknown}"


def test_every_row_names_tests_that_exist():
    for row in _rows():
        named = re.findall(r"`([^`]*::[^`]+)`", row[4])
        assert named, f"no test for: {row[0]}"
        path = None
        for item in named:
            file, test = item.split("::")
            path = ROOT / file if file else path
            assert path is not None and path.is_file(), item
            assert re.search(rf"^def {test}\(", path.read_text(encoding="utf-8"), re.M), item
