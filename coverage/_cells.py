"""Text cells that cannot be turned against the people who open the tables.

A spreadsheet program takes a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return for a formula: a community named ``=HYPERLINK("http://…","点击")`` would
become a link, and worse formulas can run commands or send the sheet away (CSV or formula
injection). Names come from the data, so every table carecircle writes keeps them text:

- in a CSV, such a text cell gets one leading ``'`` (OWASP's rule), which Excel and WPS show
  as text; :func:`read_text`, used by the tool's own CSV reader, takes it off again, so a
  ``proposed_sites.csv`` read back by ``cost`` has the same names;
- in a workbook, every text cell is stored as text (openpyxl would store a text starting with
  ``=`` as a formula) and marked with Excel's quote prefix, so editing it keeps it text; the
  control characters a workbook cannot hold (NUL, vertical tab, ...) are shown as ``�``.

Numbers are never touched: ``-3.5`` stays a number, in a numeric column or as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""

REPLACEMENT = "\ufffd"
"""What a character a file cannot hold is shown as (U+FFFD REPLACEMENT CHARACTER)."""

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NOT_IN_WORKBOOKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # C0 but tab, LF and CR


def _formula_like(text: str) -> bool:
    """True for a text a spreadsheet would read as a formula, after any leading quotes.

    The quotes count so that a text that itself starts with ``'=`` is quoted again and reads
    back unchanged.
    """
    return text.lstrip("'").startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text)


def formula_like(text: str) -> bool:
    """True for a text a spreadsheet would read as a formula (see :func:`csv_text`).

    ``"=1+1"``, ``"@SUM(A1)"`` and ``"'=1"`` are; ``"-3.5"`` and ``"abc"`` are not.
    """
    return _formula_like(text)


def csv_text(value: Any) -> Any:
    """A cell as a CSV should hold it: a formula-like text with one leading ``'``.

    Parameters
    ----------
    value : object
        A table cell. Only text (``str``) is changed; numbers, booleans and missing values
        are returned as they are, and so is text that is a plain number (``"-3.5"``).

    Returns
    -------
    object
        ``"'" + value`` for a text such as ``"=1+1"`` or ``"@SUM(A1)"``; ``value`` otherwise.

    """
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def _each_text(frame: pd.DataFrame, change: Callable[[Any], Any]) -> pd.DataFrame:
    """A copy of ``frame`` with ``change`` applied to the cells of its text columns and names."""
    out = frame.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            out.isetitem(position, [change(value) for value in column.tolist()])
    out.columns = pd.Index([change(name) for name in out.columns], dtype=object)
    return out


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`csv_text` applied to every text cell and column name."""
    return _each_text(frame, csv_text)


def to_csv(frame: pd.DataFrame, path: Any, *, float_format: Any = None) -> None:
    """Write ``frame`` as carecircle writes every CSV: UTF-8 with BOM, no index, cells safe.

    Lines end in CR LF, as RFC 4180 and Excel have them: a text holding a carriage return or a
    line feed is then quoted (with lines ending in LF alone, Python's CSV writer leaves a
    carriage return unquoted, and the row breaks in two for every reader).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; not modified.
    path : path or file
        Where to write (callers pass the temporary name of
        :func:`carecircle.outputs._files.atomic`).
    float_format : str or callable, optional, keyword-only
        As pandas' ``to_csv``.

    """
    csv_frame(frame).to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\r\n", float_format=float_format
    )


def read_text(text: str) -> str:
    """A CSV cell as it was before :func:`csv_text`: one ``'`` off a quoted formula-like text.

    ``"'=1+1"`` reads as ``"=1+1"``; ``"'abc"`` and ``"-3.5"`` read as they are.
    """
    if text.startswith("'") and _formula_like(text[1:]):
        return text[1:]
    return text


def workbook_text(value: Any) -> Any:
    """A cell as a workbook can hold it: control characters other than tab and newlines as ``�``.

    Excel's file format cannot store them (openpyxl refuses them); anything that is not text
    is returned as it is.
    """
    if isinstance(value, str):
        return _NOT_IN_WORKBOOKS.sub(REPLACEMENT, value)
    return value


def to_sheet(writer: pd.ExcelWriter, frame: pd.DataFrame, sheet_name: str) -> Worksheet:
    """Write ``frame`` to a new sheet of an openpyxl ``writer``, every text cell as text.

    Parameters
    ----------
    writer : pandas.ExcelWriter
        Opened with ``engine="openpyxl"``.
    frame : pandas.DataFrame
        The table; written without its index, header in row 1. Not modified.
    sheet_name : str
        The new sheet's name.

    Returns
    -------
    openpyxl.worksheet.worksheet.Worksheet
        The sheet, for formatting. No cell in it is a formula: a text that openpyxl took for
        one (it starts with ``=``) is stored as text again, and every formula-like text is
        marked with the quote prefix, so that Excel keeps it text when it is edited.

    """
    _each_text(frame, workbook_text).to_excel(writer, sheet_name=sheet_name, index=False)
    sheet = writer.sheets[sheet_name]
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
            if cell.data_type == "s" and _formula_like(str(cell.value)):
                cell.quotePrefix = True
    return sheet
