"""The one look of every workbook carecircle writes.

Header row frozen and filtered, numbers formatted, columns as wide as what they show (East
Asian characters counting twice, as in :func:`carecircle.outputs.text.width`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import text

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

PERCENT = "0.0%"
"""The number format of a share."""


def format_sheet(
    sheet: Worksheet,
    shown: pd.DataFrame,
    number_formats: Sequence[str | None],
    *,
    frozen: str = "A2",
) -> None:
    """Freeze and filter the header row, format numbers and fit column widths, as in Excel.

    Parameters
    ----------
    sheet : openpyxl.worksheet.worksheet.Worksheet
        A sheet ``shown`` was just written to (header in row 1, no index).
    shown : pandas.DataFrame
        The table as written, for the column widths.
    number_formats : sequence of str or None
        One Excel number format per column (for example ``"0.0%"``), None to leave it.
    frozen : str, keyword-only
        The top-left cell that stays in view when scrolling (``"A2"``: the header row).

    """
    from openpyxl.styles import Alignment, PatternFill
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = frozen
    if sheet.max_row >= 1 and sheet.max_column >= 1:
        sheet.auto_filter.ref = sheet.dimensions
    fill = PatternFill("solid", fgColor="EEF2F7")
    for cell in sheet[1]:
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.fill = fill
    for position, number_format in enumerate(number_formats, start=1):
        letter = get_column_letter(position)
        if number_format:
            for (cell,) in sheet.iter_rows(
                min_row=2, min_col=position, max_col=position, max_row=sheet.max_row
            ):
                cell.number_format = number_format
        values = shown.iloc[:, position - 1]
        widths = [text.width(_shown_text(v, number_format)) for v in values]
        header = min(text.width(str(shown.columns[position - 1])), 28)
        best = max([header, *widths]) if widths else header
        sheet.column_dimensions[letter].width = float(min(max(best + 2, 6), 60))


def _shown_text(value: Any, number_format: str | None) -> str:
    """Roughly the text Excel shows for a cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        if number_format == PERCENT:
            return f"{number:.1%}"
        if number_format and "." in number_format:
            digits = len(number_format.split(".")[1])
            return f"{number:,.{digits}f}"
        return f"{number:,.0f}" if number_format else f"{number:g}"
    return str(value)
