"""The one look of every workbook carecircle writes.

Header row frozen and filtered, numbers formatted, columns as wide as what they show (East
Asian characters counting twice, as in :func:`carecircle.outputs.text.width`).

:func:`format_sheet` formats a sheet pandas wrote; :func:`write_sheet` writes tables
(:class:`Block`) row by row into a write-only workbook (:func:`new_book`), with the same look,
statuses coloured by conditional formats and the page set up for printing: the way of a
large workbook (``coverage.xlsx`` of 10,000 communities), where styling cell by cell is slow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._cells import formula_like, workbook_text
from . import text

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
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


# --- write-only sheets: the look of coverage.xlsx, written row by row -------------------------

HEADER_STYLE = "carecircle header"
"""Named style of a table's header row (the same fill and alignment as :func:`format_sheet`)."""
TITLE_STYLE = "carecircle title"
"""Named style of a sheet's title line."""
HEADING_STYLE = "carecircle heading"
WRAP_STYLE = "carecircle wrapped"
"""Named style of a section's heading on a sheet of several tables."""
A4 = 9
"""openpyxl's (and Excel's) paper size code of A4."""


@dataclass(frozen=True)
class Block:
    """One table of a sheet, as shown: headers and values already in the reader's language.

    Attributes
    ----------
    frame : pandas.DataFrame
        The table; its column names are the headers.
    number_formats : sequence of str or None
        One Excel number format per column, None to leave it.
    colours : sequence of mapping or None
        Per column, the colour (``"#rrggbb"``) of each value shown (a status in words); cells
        with such a value are filled by a conditional format over the column. None: no colours.
    heading : str or None
        A line above the table (a section of a summary sheet).
    header : bool
        Write the column names as a header row.

    """

    frame: pd.DataFrame
    number_formats: Sequence[str | None]
    colours: Sequence[Mapping[str, str] | None] | None = None
    heading: str | None = None
    header: bool = True


def new_book() -> Workbook:
    """A write-only workbook with the named styles of :func:`write_sheet`."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill

    book = Workbook(write_only=True)
    header = NamedStyle(HEADER_STYLE)
    header.fill = PatternFill("solid", fgColor="EEF2F7")
    header.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    header.font = Font(bold=True)
    wrapped = NamedStyle(WRAP_STYLE)
    wrapped.alignment = Alignment(wrap_text=True, vertical="top")
    title = NamedStyle(TITLE_STYLE)
    title.font = Font(bold=True, size=14)
    heading = NamedStyle(HEADING_STYLE)
    heading.font = Font(bold=True, size=12)
    for style in (header, wrapped, title, heading):
        book.add_named_style(style)
    return book


def write_sheet(
    book: Workbook,
    name: str,
    blocks: Sequence[Block],
    *,
    page_header: str = "",
    title: str | None = None,
    frozen: str = "A2",
    autofilter: bool = True,
    max_width: float = 60,
) -> WriteOnlyWorksheet:
    """Write ``blocks`` to a new sheet of the write-only ``book``, in the one look.

    Widths fit the contents (East Asian characters counting twice), the header row (or the
    title line) stays in view and is printed on every page; pages are A4 landscape, one page
    wide, with ``page_header`` at the top left, the sheet's name in the middle, and the page
    number (of how many) in the footer. Status cells are coloured by conditional formats over
    their columns (see :class:`Block`), so that no cell is styled one by one. Text cells stay
    text (see :mod:`carecircle._cells`).

    Parameters
    ----------
    book : openpyxl.Workbook
        From :func:`new_book`.
    name : str
        The sheet's name.
    blocks : sequence of Block
        The tables, one under another, parted by an empty row.
    page_header : str, keyword-only
        The printed page's header (the place and the run's date).
    title : str, optional, keyword-only
        A title line above the tables (then printed on every page instead of the header row).
    frozen : str, keyword-only
        The top-left cell that stays in view when scrolling.
    autofilter : bool, keyword-only
        Filter buttons on the header row of a sheet of one table.
    max_width : float, keyword-only
        The widest a column may be, in characters; longer texts wrap within it (a sheet meant
        to be printed, such as the summary, takes a narrow one, so its page stays legible).

    Returns
    -------
    openpyxl.worksheet._write_only.WriteOnlyWorksheet
        The sheet (closed for writing once ``book`` is saved).

    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(name)
    n_columns = max((b.frame.shape[1] for b in blocks), default=1)
    # a narrow sheet's headers wrap onto two lines rather than widen their columns
    widths = _widths(blocks, n_columns, title=title, header_cap=min(28, max_width // 2 + 2))
    for position, columns_width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = min(columns_width, max_width)
    # a column narrower than its widest text wraps its text cells (one cell reused, as numbers)
    wraps = [width > max_width for width in widths]
    # a table without a header (label and value) overflows into the empty cells to its right
    # rather than wrap
    sheet.freeze_panes = frozen
    _print_setup(sheet, page_header=page_header, title_rows="1:1")

    def styled(value: Any, style: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        cell.style = style
        return cell

    row = 0
    if title is not None:
        sheet.append([styled(title, TITLE_STYLE)])
        row += 1
    for index, block in enumerate(blocks):
        if index or title is not None:
            sheet.append([])
            row += 1
        if block.heading is not None:
            sheet.append([styled(block.heading, HEADING_STYLE)])
            row += 1
        if block.header:
            sheet.append([styled(str(c), HEADER_STYLE) for c in block.frame.columns])
            row += 1
        first = row + 1
        templates = []
        for position, number_format in enumerate(block.number_formats):
            template = None
            if number_format:
                template = WriteOnlyCell(sheet)
                template.number_format = number_format
            elif wraps[position] and block.header:
                template = WriteOnlyCell(sheet)
                template.style = WRAP_STYLE
            templates.append(template)
        for values in _rows(block.frame, sheet):
            sheet.append(
                [_in(template, value) for template, value in zip(templates, values, strict=True)]
            )
        row += len(block.frame)
        if len(block.frame):
            _colour(sheet, block, first, row)
        if autofilter and len(blocks) == 1 and block.header and title is None:
            last = get_column_letter(max(block.frame.shape[1], 1))
            sheet.auto_filter.ref = f"A{first - 1}:{last}{max(row, first - 1)}"
    return sheet


def _in(template: Any, value: Any) -> Any:
    """``value`` in the column's formatted cell (reused row after row), or as it is.

    A number takes a number format's cell; text takes a wrapping column's cell.
    """
    if template is None or value is None:
        return value
    wrapping = template.style == WRAP_STYLE
    if isinstance(value, str) != wrapping or (not wrapping and not isinstance(value, int | float)):
        return value
    template.value = value
    return template


def _rows(frame: pd.DataFrame, sheet: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of ``frame`` as Python values: missing as None, text kept text."""
    from openpyxl.cell import WriteOnlyCell

    columns = []
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        values = series.astype(object).where(series.notna(), None).tolist()
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            for i, value in enumerate(values):
                if isinstance(value, str):
                    value = workbook_text(value)
                    if formula_like(value):  # a text cell, kept text when edited
                        cell = WriteOnlyCell(sheet, value=value)
                        cell.data_type = "s"
                        cell.quotePrefix = True
                        value = cell
                    values[i] = value
                elif isinstance(value, np.bool_ | np.integer | np.floating):
                    values[i] = value.item()
        columns.append(values)
    return zip(*columns, strict=True) if columns else iter(())


def _colour(sheet: Any, block: Block, first: int, last: int) -> None:
    """Conditional formats filling each status cell of ``block`` with its colour."""
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    for position, colours in enumerate(block.colours or (), start=1):
        if not colours:
            continue
        letter = get_column_letter(position)
        for word, colour in colours.items():
            rgb = colour.lstrip("#").upper()
            quoted = word.replace('"', '""')
            sheet.conditional_formatting.add(
                f"{letter}{first}:{letter}{last}",
                CellIsRule(
                    operator="equal",
                    formula=[f'"{quoted}"'],
                    fill=PatternFill("solid", fgColor=rgb, bgColor=rgb),
                    font=Font(color="FFFFFF" if _dark(rgb) else "000000"),
                ),
            )


def _dark(rgb: str) -> bool:
    """True for a colour on which black text is hard to read (relative luminance < 0.4)."""
    red, green, blue = (int(rgb[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.4


def _print_setup(sheet: Any, *, page_header: str, title_rows: str) -> None:
    """A4 landscape, one page wide, ``title_rows`` on every page, header and page numbers."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.gridLines = True
    sheet.print_title_rows = title_rows
    sheet.oddHeader.left.text = page_header.replace("&", "&&")
    sheet.oddHeader.center.text = "&A"
    sheet.oddFooter.center.text = "&P / &N"


def _widths(
    blocks: Sequence[Block], n_columns: int, *, title: str | None, header_cap: float = 28
) -> list[float]:
    """Each column's width, from the widest text it shows (headers capped at ``header_cap``).

    A block without a header row (label and value) does not widen its columns: its texts
    overflow into the empty cells to their right.
    """
    best = [0.0] * n_columns
    for block in blocks:
        for position in range(block.frame.shape[1]):
            series = block.frame.iloc[:, position]
            number_format = block.number_formats[position]
            if not block.header and position == block.frame.shape[1] - 1:
                continue
            found = float(_widest(series, number_format))
            if block.header:
                found = max(found, min(text.width(str(block.frame.columns[position])), header_cap))
            best[position] = max(best[position], found)
    return [float(min(max(b + 2, 6), 60)) for b in best]


def _widest(series: pd.Series, number_format: str | None) -> int:
    """The widest text among ``series``'s values as Excel shows them (numbers: their extremes)."""
    values = series.dropna()
    if values.empty:
        return 0
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float)
        numbers = numbers[np.isfinite(numbers)]
        if numbers.size == 0:
            return 0
        extremes = (numbers.min(), numbers.max(), numbers[np.argmax(np.abs(numbers % 1))])
        return max(text.width(_shown_text(float(v), number_format)) for v in extremes)
    shown = pd.unique(values.astype(str))
    longest = sorted(shown, key=len)[-50:]  # the widest is among the longest
    return max(text.width(_shown_text(v, number_format)) for v in longest)
