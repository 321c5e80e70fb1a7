"""Read one sheet of an Excel workbook (.xlsx, .xlsm, .xls) as the text cells a CSV gives.

Officials keep their tables in Excel. :func:`read_sheet` turns a sheet into what
:func:`carecircle._validate.read_csv` makes of a CSV (a header, then one row of text per data
row), so every check of a table works unchanged. What a cell shows is what is read:

- numbers exactly as typed: ``1`` (not ``1.0``), ``0.1`` (not ``0.1000000000000000055``),
  at most 15 significant digits as Excel shows them; a whole number formatted with zeros
  (``000000000``) keeps them (``001``);
- text as it is, so codes stored as text keep their leading zeros;
- dates as ISO text (``2024-03-01``, ``2024-03-01 08:30:00``); ``TRUE``/``FALSE``; an error
  value as Excel shows it (``#N/A``);
- a formula as the value Excel saved with it; a merged block below the header as its
  top-left value in every cell of the block (a township merged over its communities).

The header is the first row, unless title rows stand above it (common in government tables):
the header is then the first of the top :data:`HEADER_SEARCH_ROWS` rows that fills more than
half the widest of them. Empty rows are skipped; each data row keeps its Excel row number in
``frame.attrs[SHEET_ROWS]`` for messages. ``.xls`` needs ``xlrd``; ``.xlsx`` and ``.xlsm``
need ``openpyxl`` (both dependencies of carecircle, imported only here and only when a
workbook is read).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._cells import read_text
from .errors import InputError

logger = logging.getLogger(__name__)

EXCEL_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm", ".xls")
"""File suffixes read as Excel workbooks."""

SHEET_ROWS = "sheet_rows"
"""The ``attrs`` key of a sheet's frame holding each data row's Excel row number (1-based)."""

HEADER_SEARCH_ROWS = 10
"""How many rows at the top of a sheet may hold the header (title rows above it are skipped)."""

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound document: .xls, or an encrypted .xlsx
_ZEROS = re.compile(r"^0+$")  # a number format that pads whole numbers with zeros


@dataclass(frozen=True)
class _Sheet:
    """One sheet's cells: rows of values (``None`` for empty), merged blocks, number formats."""

    name: str
    rows: list[list[Any]]
    merged: list[tuple[int, int, int, int]]  # 0-based rows and columns, upper bounds excluded
    number_format: Callable[[int, int], str]  # of the cell at 0-based row and column

    def text(self, row: int, column: int, value: Any) -> str:
        """The cell's text (its number format looked up only for a number)."""
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return cell_text(value, self.number_format(row, column) if number else "")


@dataclass(frozen=True)
class _Book:
    """The sheets of a workbook in order, with which are visible, and how to read one."""

    names: list[str]
    visible: list[bool]
    load: Callable[[str], _Sheet]
    filled: Callable[[str], bool]


def read_sheet(
    path: Path,
    *,
    sheet: str | None = None,
    role: str = "table",
    choose: str = "sheet=",
) -> pd.DataFrame:
    """Read one sheet of a workbook as text cells under its header.

    Parameters
    ----------
    path : pathlib.Path
        The workbook (.xlsx, .xlsm or .xls; what it holds decides how it is read).
    sheet : str, optional
        The sheet to read. Without it: the sheet named ``role`` if there is one, else the only
        visible sheet holding cells (Excel's empty ``Sheet2``/``Sheet3`` do not count).
    role : str
        What the table holds (``facilities``, ``plan``), for the sheet choice and messages.
    choose : str
        How a user names the sheet (e.g. ``"--plan-sheet (sheet= in Python)"``), for messages.

    Returns
    -------
    pandas.DataFrame
        Every cell as text (blank cells as ``""``), columns named by the header;
        ``attrs[SHEET_ROWS]`` holds the Excel row of each data row.

    Raises
    ------
    InputError
        In one line: for a file that is not a workbook (a CSV renamed, a web page), a
        password-protected one, one whose formulas have no saved values, no such sheet,
        several sheets and none chosen, an empty sheet, a sheet whose top rows are empty, or
        a value right of the header's last column.

    """
    book = _open(path)
    name = _choose(book, path, sheet=sheet, role=role, choose=choose)
    data = book.load(name)
    return _frame(data, path, role=role)


def _open(path: Path) -> _Book:
    """Open a workbook by what the file holds, whatever its suffix says."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(_ZIP):
        return _open_xlsx(path)
    if head.startswith(_OLE):
        if _encrypted_package(path):
            msg = (
                f"{path}: the workbook is password-protected (encrypted); save a copy without "
                "a password (File > Info > Protect Workbook) and retry"
            )
            raise InputError(msg)
        return _open_xls(path)
    if not head:
        msg = f"{path}: the file is empty; expected an Excel workbook"
        raise InputError(msg)
    what = "a web page or XML" if head.lstrip().startswith(b"<") else "text (a CSV renamed?)"
    msg = (
        f"{path}: not an Excel workbook: the file holds {what}; save it from Excel or WPS as "
        ".xlsx, or give a text table a .csv name"
    )
    raise InputError(msg)


def _encrypted_package(path: Path) -> bool:
    """Whether a compound document holds an encrypted Office package (a password .xlsx)."""
    return "EncryptedPackage".encode("utf-16-le") in path.read_bytes()[:1_000_000]


def _open_xlsx(path: Path) -> _Book:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    def open_book(*, data_only: bool) -> Any:
        with warnings.catch_warnings():  # about parts not read here (data validation, styles)
            warnings.simplefilter("ignore", UserWarning)
            return openpyxl.load_workbook(path, data_only=data_only)

    try:
        formulas = open_book(data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        msg = f"{path}: cannot be read as an Excel workbook ({exc}); expected a .xlsx file"
        raise InputError(msg) from exc
    values: list[Any] = []  # the cached values, loaded once, if any formula needs them

    def load(name: str) -> _Sheet:
        ws = formulas[name]
        grid = list(ws.iter_rows())
        rows = [[c.value for c in row] for row in grid]
        cells = [
            (r, c) for r, row in enumerate(grid) for c, x in enumerate(row) if x.data_type == "f"
        ]
        if cells:
            if not values:
                values.append(open_book(data_only=True))
            cached = values[0][name]
            saved = [cached.cell(r + 1, c + 1).value for r, c in cells]
            if all(v is None for v in saved):
                first = grid[cells[0][0]][cells[0][1]].coordinate
                msg = (
                    f"{path}: sheet {name!r} holds formulas (e.g. in {first}) saved without "
                    "their values (the program that wrote it does not calculate them); open it "
                    "in Excel or WPS, save it, and retry"
                )
                raise InputError(msg)
            for (r, c), value in zip(cells, saved, strict=True):
                rows[r][c] = value
        merged = [
            (b.min_row - 1, b.max_row, b.min_col - 1, b.max_col) for b in ws.merged_cells.ranges
        ]
        return _Sheet(name, rows, merged, lambda r, c: str(grid[r][c].number_format or ""))

    def filled(name: str) -> bool:
        return any(v is not None for row in formulas[name].iter_rows(values_only=True) for v in row)

    sheets = formulas.worksheets
    return _Book(
        [ws.title for ws in sheets],
        [ws.sheet_state == "visible" for ws in sheets],
        load,
        filled,
    )


def _open_xls(path: Path) -> _Book:
    try:
        import xlrd
    except ImportError as exc:  # a dependency; missing only from a hand-made environment
        msg = f"{path}: reading .xls needs the xlrd package (pip install xlrd); or save as .xlsx"
        raise InputError(msg) from exc
    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    except Exception as exc:  # xlrd's parser fails on a damaged file in many ways, all one here
        if "encrypted" in str(exc).lower():
            msg = (
                f"{path}: the workbook is password-protected (encrypted); save a copy without "
                "a password and retry"
            )
        else:
            msg = f"{path}: cannot be read as an Excel workbook ({exc}); expected a .xls file"
        raise InputError(msg) from exc

    def load(name: str) -> _Sheet:
        ws = book.sheet_by_name(name)
        rows = [[_xls_value(cell, book, xlrd) for cell in ws.row(r)] for r in range(ws.nrows)]

        def number_format(r: int, c: int) -> str:
            index = ws.cell_xf_index(r, c)
            found = book.format_map.get(book.xf_list[index].format_key)
            return str(found.format_str) if found is not None else ""

        return _Sheet(name, rows, [tuple(m) for m in ws.merged_cells], number_format)

    def filled(name: str) -> bool:
        ws = book.sheet_by_name(name)
        empty = (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK)
        return any(t not in empty for r in range(ws.nrows) for t in ws.row_types(r))

    names = book.sheet_names()
    visible = [book.sheet_by_name(n).visibility == 0 for n in names]
    return _Book(names, visible, load, filled)


def _xls_value(cell: Any, book: Any, xlrd: Any) -> Any:
    """An xlrd cell's value as openpyxl gives it: None, str, float, bool, datetime."""
    kind = cell.ctype
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERROR")
    if kind == xlrd.XL_CELL_DATE:
        return xlrd.xldate_as_datetime(cell.value, book.datemode)
    return cell.value


def _choose(book: _Book, path: Path, *, sheet: str | None, role: str, choose: str) -> str:
    """The sheet to read: ``sheet``, the one named ``role``, or the only one holding cells."""
    listed = ", ".join(repr(n) for n in book.names)
    if sheet is not None:
        if sheet not in book.names:
            msg = f"{path}: no sheet {sheet!r}; sheets found: {listed}"
            raise InputError(msg)
        return sheet
    if role in book.names:
        return role
    shown = [n for n, v in zip(book.names, book.visible, strict=True) if v]
    if len(shown) > 1:
        shown = [n for n in shown if book.filled(n)] or shown[:1]
    if len(shown) > 1:
        msg = (
            f"{path}: holds {len(shown)} sheets with cells ({', '.join(map(repr, shown))}); "
            f"choose one with {choose}"
        )
        raise InputError(msg)
    return shown[0] if shown else book.names[0]


def cell_text(value: Any, number_format: str = "") -> str:
    """A cell's value as the text Excel shows for it (see the module's notes).

    Parameters
    ----------
    value : object
        As openpyxl reads it: None, str, bool, int, float, datetime, date or time.
    number_format : str
        The cell's number format; a whole number under a format of zeros (``000000``) is
        padded to its width.

    Examples
    --------
    >>> cell_text(1.0), cell_text(0.1), cell_text(0.1 + 0.2), cell_text(None)
    ('1', '0.1', '0.3', '')
    >>> cell_text(7, "000"), cell_text(dt.datetime(2024, 3, 1)), cell_text(True)
    ('007', '2024-03-01', 'TRUE')

    """
    if value is None:
        return ""
    if isinstance(value, str):
        return read_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, int | float):
        number = float(value)
        if isinstance(value, int) or (math.isfinite(number) and number.is_integer()):
            whole = str(int(value))
            if _ZEROS.match(number_format) and number >= 0:
                return whole.zfill(len(number_format))
            return whole
        return f"{number:.15g}"
    return str(value)


def _frame(data: _Sheet, path: Path, *, role: str) -> pd.DataFrame:
    """The sheet's data rows under its header, every cell as text."""
    where = f"{path}: sheet {data.name!r}"
    filled = [i for i, row in enumerate(data.rows) if any(_has(v) for v in row)]
    if not filled:
        msg = f"{where} is empty; expected a header row and one row per {_noun(role)} under it"
        raise InputError(msg)
    top = [i for i in filled if i < HEADER_SEARCH_ROWS]
    if not top:
        msg = (
            f"{where}: Excel rows 1-{HEADER_SEARCH_ROWS} are empty (the first cells are in row "
            f"{filled[0] + 1}); expected the header row at the top (titles above it are fine)"
        )
        raise InputError(msg)
    counts = {i: sum(_has(v) for v in data.rows[i]) for i in top}
    widest = max(counts.values())
    head = next(i for i in top if counts[i] * 2 > widest)
    if head != 0:
        logger.debug("%s: the header is Excel row %d (rows above: titles)", where, head + 1)
    rows = _fill_merged(data, below=head)
    header_cells = rows[head]
    width = max(c + 1 for c, v in enumerate(header_cells) if _has(v))
    header = [data.text(head, c, v) for c, v in enumerate(header_cells)]
    header = (header + [""] * width)[:width]
    cells, numbers = [], []
    for i in range(head + 1, len(rows)):
        row = rows[i]
        if not any(_has(v) for v in row):
            continue
        extra = [c for c in range(width, len(row)) if _has(row[c])]
        if extra:
            msg = (
                f"{where}: Excel row {i + 1} has a value in column {_column_letter(extra[0])}, "
                f"right of the header's last column {_column_letter(width - 1)}; expected every "
                "value under a header"
            )
            raise InputError(msg)
        texts = [data.text(i, c, v) for c, v in enumerate(row[:width])]
        cells.append(texts + [""] * (width - len(texts)))
        numbers.append(i + 1)
    frame = pd.DataFrame(cells, columns=pd.Index(header), dtype=object).astype(str)
    if not cells:
        frame = pd.DataFrame(columns=pd.Index(header), dtype=str)
    frame.attrs[SHEET_ROWS] = tuple(numbers)
    return frame


def _fill_merged(data: _Sheet, *, below: int) -> list[list[Any]]:
    """The rows with each merged block below row ``below`` filled with its top-left value."""
    rows = [list(row) for row in data.rows]
    for r0, r1, c0, c1 in data.merged:
        if r0 <= below or r0 >= len(rows):
            continue
        value = rows[r0][c0] if c0 < len(rows[r0]) else None
        for r in range(r0, min(r1, len(rows))):
            rows[r] += [None] * (c1 - len(rows[r]))  # .xls rows end at their last cell
            rows[r][c0:c1] = [value] * (c1 - c0)
    return rows


def _has(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _column_letter(index: int) -> str:
    """Excel's letters of the 0-based column ``index``: 0 → ``A``, 26 → ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _noun(role: str) -> str:
    return {
        "facilities": "facility",
        "candidates": "candidate site",
        "plan": "township",
        "divisions": "community or village",
    }.get(role, "record")


def sheet_rows(frame: pd.DataFrame) -> Sequence[int]:
    """The Excel row of each data row of a frame read by :func:`read_sheet` (else empty)."""
    return tuple(frame.attrs.get(SHEET_ROWS, ()))
