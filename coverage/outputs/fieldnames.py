"""Field names that survive an export to Shapefile: ten ASCII characters, unique, not reserved.

A Shapefile keeps its attributes in a dBase table, whose field names hold at most 10 bytes;
GDAL and QGIS cut longer names, so ``eldercare_share`` and ``eldercare_status`` both become
``eldercare_`` and one is renamed by number. :func:`shapefile_names` gives every column a
short name instead, the same on every run, by these steps (the first that fits wins):

1. the name in lower case, every character other than ``a-z``, ``0-9`` and ``_`` taken out
   (a name left empty is ``field_<n>``, its position; one starting with a digit gets ``f``);
2. the phrases of :data:`PHRASES` replaced (``area_per_resident`` → ``apr``);
3. the words of :data:`WORDS` shortened one at a time, left to right
   (``eldercare_share`` → ``elc_share``, ``eldercare_nearest`` → ``elc_near``);
4. the last underscores dropped, right to left (``elc_mdn_min`` → ``elc_mdnmin``);
5. the first ten characters.

A reserved word (:data:`RESERVED`, e.g. ``order``) gets a trailing ``_``; a name already taken
(compared without case) ends in ``_2``, ``_3`` … instead. ``carecircle analyze
--shapefile-safe`` writes ``coverage.gpkg`` with these names and the table ``field_names``
that maps them back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

#: The most characters (bytes) a dBase field name holds.
MAX_LENGTH = 10

PHRASES: Mapping[str, str] = MappingProxyType(
    {
        "area_per_resident": "apr",
        "off_network": "offnet",
        "median_min": "mdn_min",
        "over_limit": "over",
    }
)
"""Runs of words replaced as a whole (step 2)."""

WORDS: Mapping[str, str] = MappingProxyType(
    {
        "eldercare": "elc",
        "medical": "med",
        "population": "pop",
        "elderly": "eld",
        "township": "twp",
        "community": "comm",
        "communities": "comms",
        "facility": "fac",
        "facilities": "facs",
        "station": "stn",
        "stations": "stns",
        "standard": "std",
        "status": "st",
        "residents": "res",
        "resident": "res",
        "required": "req",
        "shortfall": "gap",
        "minutes": "min",
        "median": "mdn",
        "nearest": "near",
        "network": "net",
        "demand": "dmd",
        "method": "mth",
        "points": "pts",
        "input": "in",
        "share": "shr",
        "nursing": "nurs",
        "access": "acc",
        "advice": "adv",
        "source": "src",
        "centre": "ctr",
        "circle": "circ",
        "within": "in",
        "over": "ovr",
        "limit": "lim",
        "assigned": "asg",
        "newly": "new",
        "covered": "cov",
        "cumulative": "cum",
        "candidate": "cand",
        "proposed": "prop",
        "generated": "gen",
        "uncovered": "unc",
        "capacity": "cap",
        "under": "lt",
    }
)
"""Words shortened one at a time (step 3)."""

RESERVED: frozenset[str] = frozenset(
    {
        "add",
        "all",
        "alter",
        "and",
        "any",
        "as",
        "asc",
        "between",
        "by",
        "column",
        "create",
        "date",
        "delete",
        "desc",
        "distinct",
        "drop",
        "exists",
        "fid",
        "for",
        "from",
        "geom",
        "geometry",
        "group",
        "having",
        "in",
        "insert",
        "into",
        "is",
        "join",
        "like",
        "not",
        "null",
        "objectid",
        "oid",
        "on",
        "or",
        "order",
        "select",
        "set",
        "shape",
        "table",
        "update",
        "values",
        "where",
        "with",
    }
)
"""SQL words and the fields GIS programs add themselves (``fid``, ``shape``, ``objectid``): a
field of that name breaks queries in ArcGIS and QGIS's expression builder."""

_NOT_ALLOWED = re.compile(r"[^a-z0-9_]+")


def shapefile_names(columns: Iterable[str]) -> dict[str, str]:
    """A short, unique, ASCII name of at most 10 characters for each column.

    The same columns in the same order give the same names on every run (no hashing, no
    randomness); see the module's description for the steps.

    Parameters
    ----------
    columns : iterable of str
        A layer's attribute columns (not its geometry column), in order.

    Returns
    -------
    dict
        Column -> its Shapefile-safe name, in the order given.

    Raises
    ------
    ValueError
        When a column is given twice.

    Examples
    --------
    >>> shapefile_names(["id", "eldercare_share", "eldercare_median_min", "order", "人口"])
    {'id': 'id', 'eldercare_share': 'elc_share', 'eldercare_median_min': 'elc_mdnmin',
     'order': 'order_', '人口': 'field_5'}

    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for position, column in enumerate(columns, start=1):
        if column in names:
            msg = f"column {column!r} is given twice"
            raise ValueError(msg)
        name = _short(column, position)
        if name in RESERVED:
            name = (name + "_")[:MAX_LENGTH]
        number = 1
        base = name
        while name in taken:
            number += 1
            suffix = f"_{number}"
            name = base[: MAX_LENGTH - len(suffix)].rstrip("_") + suffix
        names[column] = name
        taken.add(name)
    return names


def _short(column: str, position: int) -> str:
    """Steps 1 to 5 for one column (without the reserved words and clashes)."""
    name = _NOT_ALLOWED.sub("_", column.lower())
    name = re.sub("_+", "_", name).strip("_")
    if not name:
        return f"field_{position}"[:MAX_LENGTH]
    if name[0].isdigit():
        name = "f" + name
    if len(name) <= MAX_LENGTH:
        return name
    for phrase, short in PHRASES.items():
        name = re.sub(rf"(?<![a-z0-9]){phrase}(?![a-z0-9])", short, name)
    words = name.split("_")
    for number, word in enumerate(words):
        if len("_".join(words)) <= MAX_LENGTH:
            break
        words[number] = WORDS.get(word, word)
    while len(words) > 1 and len("_".join(words)) > MAX_LENGTH:
        words[-2:] = [words[-2] + words[-1]]
    return "_".join(words)[:MAX_LENGTH]
