"""The one terminal table carecircle prints: columns that line up with Chinese in them.

A terminal shows an East Asian wide or full-width character (乡, （) in two columns, so a
column's width is counted in display columns (:func:`width`), not in characters. Numbers stand
right-aligned and text left-aligned (:func:`table`); the columns are parted by two spaces and no
line ends in spaces.

>>> print(table([["中区街道", "4"], ["Kamppi", "12"]], header=["township", "communities"]))
township  communities
中区街道            4
Kamppi             12
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_NUMBER = r"[-+−]?\d[\d,]*(?:\.\d+)?%?"
_NUMERIC = re.compile(rf"(?:≥ ?)?{_NUMBER}(?:\s*[–/]\s*{_NUMBER})?")
"""A number as carecircle prints one: ``1,234``, ``-0.5``, ``45%``, ``≥ 600,000``, a range
``50,000–100,000`` or a pair ``1/3``."""

_PLACEHOLDERS = frozenset({"", "—", "?"})
"""What a number column shows when it has no number: nothing, a dash or a question mark."""


def width(text: str) -> int:
    """Return the number of terminal columns ``text`` takes.

    East Asian wide and full-width characters (``unicodedata.east_asian_width`` ``W`` or
    ``F``) count two, every other character one.

    Parameters
    ----------
    text : str
        One line of text.

    Returns
    -------
    int
        Its display width, in columns.

    Examples
    --------
    >>> width("乡镇(街道)")
    10

    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, columns: int, *, right: bool = False) -> str:
    """Return ``text`` padded with spaces to ``columns`` display columns.

    Parameters
    ----------
    text : str
        The cell.
    columns : int
        The width to fill, in display columns (see :func:`width`); a wider ``text`` is returned
        as it is.
    right : bool, keyword-only
        Right-align (spaces before ``text``) instead of left-align.

    Returns
    -------
    str
        The padded text.

    """
    space = " " * max(columns - width(text), 0)
    return space + text if right else text + space


def is_number(text: str) -> bool:
    """Tell whether a cell shows a number (``1,234``, ``45%``, ``≥ 600,000``, ``1/3`` …).

    Parameters
    ----------
    text : str
        The cell.

    Returns
    -------
    bool
        True for a number, a percentage, a range or pair of them or a lower bound.

    """
    return _NUMERIC.fullmatch(text.strip()) is not None


def table(
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str] | None = None,
    align: str | None = None,
    sep: str = "  ",
) -> str:
    """Return rows of cells as lines whose columns line up in a terminal.

    Parameters
    ----------
    rows : sequence of sequence of str
        The body, every row with the same number of cells.
    header : sequence of str or None, keyword-only
        The column headers, one per column, aligned like their column; None for none.
    align : str or None, keyword-only
        One letter per column, ``"l"`` (left) or ``"r"`` (right). None (default): a column
        whose cells all show numbers (:func:`is_number`; blank, ``—`` and ``?`` allowed) is
        right-aligned, every other one left-aligned. Give it when a column of digits is a
        code or a label (a township code), not a quantity.
    sep : str, keyword-only
        What stands between two columns: two spaces by default.

    Returns
    -------
    str
        The header line (when given) and one line per row, joined by newlines; columns parted
        by ``sep``, widths counted by :func:`width`, no trailing spaces. ``""`` for no
        header and no rows.

    Raises
    ------
    ValueError
        When a row or ``align`` does not have one entry per column, or ``align`` holds a letter
        other than ``l`` and ``r``.

    """
    lines = [list(header)] if header is not None else []
    lines += [list(row) for row in rows]
    if not lines:
        return ""
    count = len(lines[0])
    for number, line in enumerate(lines):
        if len(line) != count:
            msg = f"table: line {number} has {len(line)} cells, expected {count} (one per column)"
            raise ValueError(msg)
    body = lines[1:] if header is not None else lines
    if align is None:
        align = "".join(
            "r" if _numbers_only([row[i] for row in body]) else "l" for i in range(count)
        )
    if len(align) != count or set(align) - {"l", "r"}:
        msg = f"table: align={align!r}, expected one letter l or r per column ({count})"
        raise ValueError(msg)
    widths = [max(width(line[i]) for line in lines) for i in range(count)]
    return "\n".join(
        sep.join(
            pad(cell, columns, right=side == "r")
            for cell, columns, side in zip(line, widths, align, strict=True)
        ).rstrip()
        for line in lines
    )


def _numbers_only(cells: Sequence[str]) -> bool:
    """True when at least one cell shows a number and the others a number or a placeholder."""
    shown = [cell for cell in cells if cell.strip() not in _PLACEHOLDERS]
    return bool(shown) and all(is_number(cell) for cell in shown)
