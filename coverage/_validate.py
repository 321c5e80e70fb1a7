"""Reusable checks of user files (encodings, column names, ids, numbers) and of numbers given.

Every failure is an :class:`~carecircle.errors.InputError` with a one-line message. A file
check names the file, the 1-based data row (and, for CSVs, the file line; for workbooks, the
Excel row), the column, the value found and what would be accepted. :func:`read_table` reads
a CSV or a sheet of an Excel workbook (:mod:`carecircle._excel`) into the same text cells. The
checks of the arrays given to the siting models are in :mod:`carecircle.siting._checks`.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._cells import read_text
from ._excel import EXCEL_SUFFIXES, read_sheet, sheet_rows
from .errors import InputError, MissingColumnError
from .policy import MAX_SPEED_M_S
from .terms import NO_TEXTS as NO_TEXTS
from .terms import YES_NO_EXPECTED as YES_NO_EXPECTED
from .terms import YES_NO_WORDS as YES_NO_WORDS
from .terms import YES_TEXTS as YES_TEXTS

logger = logging.getLogger(__name__)

CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")
"""Encodings tried in turn for CSV files: UTF-8 (with or without BOM), then GB18030 (⊃ GBK)."""

MISSING_MARKERS: frozenset[str] = frozenset({"", "nan", "na", "n/a", "null", "none"})
"""Cell texts read as missing (compared after stripping, case-insensitive)."""

NAN_TEXTS: frozenset[str] = frozenset({"nan", "+nan", "-nan"})
"""Texts of 'not a number', refused in a number column: a blank cell says unknown. (In a text
column ``nan`` is read as blank, as pandas writes a missing value when it turns it into text.)"""

YES_NO_FIELDS: tuple[str, ...] = ("social_operated", "medical_capable")
"""Facility fields holding yes/no values."""


@dataclass(frozen=True)
class Where:
    """Where values come from, for error messages.

    Parameters
    ----------
    path : pathlib.Path
        The user's file.
    csv : bool
        True for a CSV with one header line, so messages can add the file line number.
    sheet_rows : tuple of int
        For a sheet of a workbook, the Excel row of each data row (the header is row 1 unless
        titles stand above it), so messages name the row Excel shows.

    """

    path: Path
    csv: bool = False
    sheet_rows: tuple[int, ...] = ()

    def row(self, position: int) -> str:
        """Describe the data row at 0-based ``position``.

        ``"row 3"``; for a CSV ``"row 3 (line 4)"``; for a workbook ``"row 3 (Excel row 4)"``.
        """
        row = position + 1
        if 0 <= position < len(self.sheet_rows):
            return f"row {row} (Excel row {self.sheet_rows[position]})"
        return f"row {row} (line {row + 1})" if self.csv else f"row {row}"

    @classmethod
    def of(cls, path: Path, frame: pd.DataFrame | None = None) -> Where:
        """Where the rows of ``frame``, read from ``path`` by :func:`read_table`, come from."""
        rows = () if frame is None else tuple(sheet_rows(frame))
        return cls(path, csv=path.suffix.lower() == ".csv", sheet_rows=rows)

    def bad_value(self, position: int, column: str, value: Any, expected: str) -> InputError:
        """Build the error for one bad cell, in the package's one-line message style.

        A cell a layer left empty (NaN, None) is said to be empty; text is quoted as found (a
        CSV's blank cell as ``''``); numbers are shown plainly (``95.0``, not
        ``np.float64(95.0)``).
        """
        if isinstance(value, np.generic):
            value = value.item()
        empty = not isinstance(value, str) and _is_missing(value)
        found = "the cell is empty" if empty else f"found {value!r}"
        msg = f"{self.path}: {self.row(position)}, column {column!r}: {found}; expected {expected}"
        return InputError(msg)


_BIG5_MARKS = re.compile("[\u0370-\u04ff\u2500-\u257f\u3040-\u30ff\u3100-\u312f\ue000-\uf8ff]")
"""Characters Big5 bytes turn into when read as GB18030 and simplified Chinese seldom holds:
Greek, Cyrillic, box drawing, kana, bopomofo and private-use characters."""

_CJK = re.compile("[\u4e00-\u9fff]")


def _rare_in_gb(char: str) -> bool:
    """Whether a character read as GB18030 is unusual in simplified Chinese text."""
    if _BIG5_MARKS.fullmatch(char):
        return True
    if not _CJK.fullmatch(char):
        return False
    try:
        char.encode("gb2312")  # the 6,763 common simplified characters
    except UnicodeEncodeError:
        return True
    return False


def big5_example(raw: bytes, text: str) -> tuple[str, str] | None:
    """A name as Big5 and as GB18030 when bytes read as GB18030 look like Big5, else None.

    Big5 (traditional Chinese) bytes nearly always decode as GB18030, into nonsense: many of
    the characters are rare in simplified Chinese (kana, Greek, private-use characters,
    ideographs outside GB2312). The bytes look like Big5 when at least a quarter of the
    non-ASCII characters (and at least two) are rare so, and the bytes decode as Big5 (cp950)
    into Chinese text.

    Parameters
    ----------
    raw : bytes
        The bytes of the text (of a CSV, or a .dbf's field names and records).
    text : str
        ``raw`` decoded as GB18030.

    Returns
    -------
    tuple of str or None
        The first non-ASCII run as Big5 reads it and as GB18030 reads it, for a message.

    """
    wide = [c for c in text[:200_000] if not c.isascii()]
    rare = sum(_rare_in_gb(c) for c in wide)
    if rare < 2 or rare < len(wide) / 4:
        return None
    try:
        big5 = raw.decode("cp950")
    except UnicodeDecodeError:
        return None
    chinese = [c for c in big5[:200_000] if not c.isascii()]
    if sum(bool(_CJK.fullmatch(c)) for c in chinese) < 0.8 * len(chinese):
        return None
    runs = re.compile("[^\x00-\x7f]+")
    first_big5, first_gb = runs.search(big5), runs.search(text)
    if first_big5 is None or first_gb is None:
        return None
    return first_big5.group()[:20], first_gb.group()[:20]


TABLE_SUFFIXES: tuple[str, ...] = (".csv", *EXCEL_SUFFIXES)
"""File suffixes read as tables by :func:`read_table`: a CSV or an Excel workbook."""


def is_table(path: Path) -> bool:
    """Whether ``path`` names a table :func:`read_table` reads (a CSV or a workbook)."""
    return path.suffix.lower() in TABLE_SUFFIXES


def read_table(
    path: Path, *, sheet: str | None = None, role: str = "table", choose: str = "sheet="
) -> pd.DataFrame:
    """Read a CSV (:func:`read_csv`) or one sheet of an Excel workbook, as text cells.

    Parameters
    ----------
    path : pathlib.Path
        A ``.csv``, or a ``.xlsx``, ``.xlsm`` or ``.xls`` workbook.
    sheet : str, optional
        The workbook's sheet to read (see :func:`carecircle._excel.read_sheet` for the choice
        without it); ignored for a CSV.
    role : str
        What the table holds (``facilities``, ``plan``): a sheet so named is read by default.
    choose : str
        How a user names the sheet, for the message when a workbook has several.

    Returns
    -------
    pandas.DataFrame
        As :func:`read_csv` returns: every cell as the text shown, column names stripped. A
        sheet's frame holds the Excel row of each data row in ``attrs`` (see :meth:`Where.of`).

    """
    if path.suffix.lower() in EXCEL_SUFFIXES:
        frame = read_sheet(path, sheet=sheet, role=role, choose=choose)
        return strip_column_names(frame, path=path)
    return read_csv(path)


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV as text, trying UTF-8 (BOM or not) and then GB18030; refuse Big5.

    Parameters
    ----------
    path : pathlib.Path
        The CSV file; the first line is the header.

    Returns
    -------
    pandas.DataFrame
        Every cell as the text found in the file (blank cells as ``""``), so codes keep their
        leading zeros; column names stripped of surrounding whitespace. A cell that carecircle's
        CSV writers protected from spreadsheets (``'=…``, ``'+…``; see
        :func:`carecircle._cells.read_text`) reads as it was written, without its ``'``.

    Raises
    ------
    InputError
        If no encoding decodes the file, the file appears to be in Big5 (see
        :func:`big5_example`), or the text is not a readable CSV.

    """
    raw = path.read_bytes()
    text, used = None, ""
    for encoding in CSV_ENCODINGS:
        try:
            text, used = raw.decode(encoding), encoding
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        tried = ", ".join(CSV_ENCODINGS)
        msg = f"{path}: cannot decode the file with any of {tried}; save it as UTF-8 and retry"
        raise InputError(msg)
    big5 = None if used.startswith("utf") else big5_example(raw, text)
    if big5 is not None:
        msg = (
            f"{path}: the file appears to be in Big5 (traditional Chinese: {big5[0]!r}), which "
            f"would be read as GB18030 into {big5[1]!r}; save it as UTF-8 and retry"
        )
        raise InputError(msg)
    return strip_column_names(_table(text, path), path=path)


def _table(text: str, path: Path) -> pd.DataFrame:
    """The CSV's rows under its header, every cell as text.

    Empty lines are skipped; a short row is padded with blank cells; blank cells past the
    header's are dropped (some exports end every row with commas). A row with more values than
    the header is refused: read as pandas reads it, it would shift into the wrong columns.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        rows = [(fields, reader.line_num) for fields in reader if fields]
    except csv.Error as exc:
        msg = f"{path}: not a readable CSV ({exc}); expected a header line and comma-separated rows"
        raise InputError(msg) from exc
    if not rows:
        msg = f"{path}: the file is empty; expected a header line and comma-separated rows"
        raise InputError(msg)
    rows = [([read_text(field) for field in fields], line) for fields, line in rows]
    header, body = rows[0][0], rows[1:]
    width = len(header)
    cells = []
    for number, (fields, line) in enumerate(body, start=1):
        if len(fields) > width and any(f.strip() for f in fields[width:]):
            msg = (
                f"{path}: row {number} (line {line}) has {len(fields)} fields; expected at most "
                f"{width}, as in the header (a comma inside a value needs quotes)"
            )
            raise InputError(msg)
        cells.append(fields[:width] + [""] * (width - len(fields)))
    return pd.DataFrame(cells, columns=pd.Index(header), dtype=object).astype(str)


def strip_column_names(frame: pd.DataFrame, *, path: Path) -> pd.DataFrame:
    """Return a copy of ``frame`` with whitespace stripped from its column names.

    Raises
    ------
    InputError
        If two columns have the same name once stripped.

    """
    names = [str(c).strip() for c in frame.columns]
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            msg = (
                f"{path}: column {name!r} appears more than once (columns {seen[name]} and "
                f"{position} of the header); expected each column once"
            )
            raise InputError(msg)
        seen[name] = position
    out = frame.copy()
    out.columns = pd.Index(names)
    return out


def _norm(name: str) -> str:
    return name.strip().lower().replace("（", "(").replace("）", ")")


FIELD_MEANINGS: dict[str, str] = {
    "id": "an id",
    "name": "a name",
    "population": "the residents count",
    "elderly": "the older residents count",
    "kind": "urban or rural",
    "township": "the street or township",
    "shared_station": "the shared station's id",
    "tier": "the facility tier",
    "area_m2": "the floor area",
    "beds": "the beds count",
    "nursing_beds": "the nursing beds count",
    "community_id": "the community's id",
    "social_operated": "socially operated or not",
    "medical_capable": "able to give medical care or not",
    "cost": "the cost",
    "lon": "the longitude",
    "lat": "the latitude",
}
"""What each field holds, for the warnings about columns that look like one."""

_IF_UNREAD: dict[str, str] = {
    "elderly": "without it the shares are of all residents, not of the older ones",
    "kind": "without it urban or rural comes from the names",
}
"""What the results use instead of a field whose column is not read, where it matters."""

_UNIT = re.compile(r"[(\[【][^()\[\]【】]*[)\]】]$")
_FILLERS = re.compile(r"[\s_\-.·]")


def _compact(name: str) -> str:
    """A header without case, spaces, ``_``, ``-`` or ``.``: ``Elderly Pop`` → ``elderlypop``."""
    return _FILLERS.sub("", _norm(name))


def _looks(column: str) -> set[str]:
    """The forms of a header compared with the look-alike names: as is, and without a unit."""
    compact = _compact(column)
    return {compact, _UNIT.sub("", compact)}


def _lookalike_fields(
    unused: Sequence[str],
    *,
    aliases: Mapping[str, Sequence[str]],
    lookalikes: Mapping[str, Sequence[str]],
) -> dict[str, list[str]]:
    """Field → the unused columns that look like it (by its name, aliases or look-alikes).

    A header is compared without case, spaces, ``_``, ``-``, ``.`` and a trailing unit in
    brackets (``建筑面积（㎡）`` looks like ``建筑面积``); a column goes to the first field it
    looks like.
    """
    out: dict[str, list[str]] = {}
    taken: set[str] = set()
    for field, names in aliases.items():
        forms = {_compact(n) for n in (field, *names, *lookalikes.get(field, ()))}
        hits = [c for c in unused if c not in taken and _looks(c) & forms]
        if hits:
            out[field] = hits
            taken |= set(hits)
    return out


def _warn_lookalikes(
    looks: Mapping[str, Sequence[str]],
    resolved: Mapping[str, str],
    *,
    path: Path,
    layer: str | None,
    meanings: Mapping[str, str],
) -> None:
    """Warn about each column that looks like a field but is not read."""
    for field, hits in looks.items():
        meaning = meanings.get(field, field)
        for column in hits:
            hint = _map_hint(layer, field, column)
            if field in resolved:
                logger.warning(
                    "%s: column %r also looks like %s (%s), which is read from %r; map it "
                    "with %s to read it instead",
                    path,
                    column,
                    meaning,
                    field,
                    resolved[field],
                    hint,
                )
            else:
                # what stands in for a community's or facility's field unread
                instead = _IF_UNREAD.get(field) if meanings is FIELD_MEANINGS else None
                unread = f"; {instead}" if instead else ""
                logger.warning(
                    "%s: column %r looks like %s (%s) but is not read; map it with %s%s",
                    path,
                    column,
                    meaning,
                    field,
                    hint,
                    unread,
                )


def _map_hint(layer: str | None, field: str, column: str) -> str:
    """How to say which column holds ``field``: on the command line and in Python."""
    python = f"columns={{{field!r}: {column!r}}}"
    return f"--column {layer}.{field}={column} ({python} in Python)" if layer else python


def resolve_columns(
    found: Sequence[str],
    *,
    aliases: Mapping[str, Sequence[str]],
    required: Sequence[str],
    columns: Mapping[str, str] | None,
    path: Path,
    layer: str | None = None,
    lookalikes: Mapping[str, Sequence[str]] | None = None,
    meanings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Decide which of the file's columns holds each field.

    A ``columns`` entry wins; otherwise a column named like the field itself; otherwise one of
    the field's aliases (compared case-insensitively, full-width brackets as ASCII). A column
    no field reads that looks like one (its name, an alias or a look-alike, see
    :func:`_lookalike_fields`) is named in a warning with how to map it, or in the error when
    the field is required and missing.

    Parameters
    ----------
    found : sequence of str
        The file's column names (already stripped).
    aliases : mapping of str to sequence of str
        Field name to accepted headers, in output order.
    required : sequence of str
        Fields that must be found.
    columns : mapping of str to str or None
        The user's field → column overrides.
    path : pathlib.Path
        The file, for messages.
    layer : str, optional
        ``communities`` or ``facilities``: the layer the command line's ``--column`` maps, for
        the hints in messages (None: the file has no ``--column`` mapping).
    lookalikes : mapping of str to sequence of str, optional
        Field → headers that suggest the field but are not read as it unmapped (e.g.
        ``老年人数`` for ``elderly``): warned about, never read silently.
    meanings : mapping of str to str, optional
        What each field holds, for the messages, where a layer's fields are not those of
        :data:`FIELD_MEANINGS` (a road layer's ``kind`` is its road class, not urban or rural).

    Returns
    -------
    dict of str to str
        Field → column name for every field found.

    Raises
    ------
    InputError
        For an unknown field in ``columns``, a column given to two fields, or several columns
        matching one field.
    MissingColumnError
        For a missing required field, or a column in ``columns`` that is not there.

    """
    listed = ", ".join(repr(c) for c in found)
    mapping = "the column mapping (--column, --columns; columns= in Python)"
    meanings = FIELD_MEANINGS if meanings is None else meanings
    resolved: dict[str, str] = {}
    for field, column in (columns or {}).items():
        if field not in aliases:
            fields = ", ".join(repr(f) for f in aliases)
            msg = f"{path}: {mapping} names unknown field {field!r}; expected one of {fields}"
            raise InputError(msg)
        name = str(column).strip()
        if name not in found:
            msg = (
                f"{path}: {mapping} maps {field!r} to {column!r}, which is not in the file; "
                f"columns found: {listed}"
            )
            raise MissingColumnError(msg)
        if name in resolved.values():
            msg = f"{path}: {mapping} maps two fields to the column {name!r}; expected one each"
            raise InputError(msg)
        resolved[field] = name
    warned: set[str] = set()
    for field, names in aliases.items():
        if field in resolved:
            continue
        free = [c for c in found if c not in resolved.values()]
        hits = [c for c in free if _norm(c) == field]
        wanted = {_norm(a) for a in names}
        others = [c for c in free if _norm(c) in wanted]
        if hits and others:  # the field's own name wins, but say which column is not used
            warned |= set(others)
            logger.warning(
                "%s: %r is read from the column %r; %s left unused (map it with %s instead)",
                path,
                field,
                hits[0],
                ", ".join(repr(c) for c in others),
                _map_hint(layer, field, others[0]),
            )
        if not hits:
            hits = others
        if len(hits) > 1:
            options = ", ".join(repr(c) for c in hits)
            msg = (
                f"{path}: several columns could hold {field!r} ({options}); "
                f"choose one with {_map_hint(layer, field, hits[0])}"
            )
            raise InputError(msg)
        if hits:
            resolved[field] = hits[0]
    unused = [c for c in found if c not in resolved.values() and c not in warned]
    looks = _lookalike_fields(unused, aliases=aliases, lookalikes=lookalikes or {})
    for field in required:
        if field not in resolved:
            accepted = ", ".join(repr(a) for a in (field, *aliases[field]))
            wanted = {_norm(a) for a in (field, *aliases[field])}
            taken = [(f, c) for f, c in resolved.items() if _norm(c) in wanted]
            if taken:  # the column is there, but mapped to another field
                other, column = taken[0]
                msg = (
                    f"{path}: no column left for {field!r}: the column {column!r} is mapped to "
                    f"{other!r}; expected a column of its own for each"
                )
                raise MissingColumnError(msg)
            like = looks.get(field, [])
            if like:  # a column looks like it: name it in the hint
                meaning = meanings.get(field, field)
                msg = (
                    f"{path}: missing required column for {field!r} (accepted headers: "
                    f"{accepted}); the column {like[0]!r} looks like {meaning}: map it with "
                    f"{_map_hint(layer, field, like[0])}"
                )
                raise MissingColumnError(msg)
            msg = (
                f"{path}: missing required column for {field!r} (accepted headers: {accepted}); "
                f"columns found: {listed}; rename the column, or map it with "
                f"{_map_hint(layer, field, '<your column>')}"
            )
            raise MissingColumnError(msg)
    _warn_lookalikes(looks, resolved, path=path, layer=layer, meanings=meanings)
    return resolved


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower() in MISSING_MARKERS


def is_nan_text(value: Any) -> bool:
    """Whether ``value`` is text spelling 'not a number' (``nan``, ``NaN``, ``-nan``)."""
    return isinstance(value, str) and value.strip().lower() in NAN_TEXTS


def as_text(values: pd.Series) -> list[str]:
    """Return the values as stripped strings: missing as ``""``, ``12.0`` as ``"12"``."""
    out = []
    for value in values.tolist():
        if _is_missing(value):
            out.append("")
        elif isinstance(value, float | np.floating) and float(value).is_integer():
            out.append(str(int(value)))
        else:
            out.append(str(value).strip())
    return out


def required_text(values: pd.Series, *, where: Where, column: str, expected: str) -> list[str]:
    """Return :func:`as_text` of ``values``, raising on the first blank cell."""
    texts = as_text(values)
    for position, text in enumerate(texts):
        if not text:
            raise where.bad_value(position, column, values.iloc[position], expected)
    return texts


def unique_ids(ids: Sequence[str], *, where: Where, column: str) -> None:
    """Raise if an id appears twice, naming both rows.

    Raises
    ------
    InputError
        On the first repeated id.

    """
    first: dict[str, int] = {}
    for position, value in enumerate(ids):
        if value in first:
            rows = f"{where.row(first[value])} and {where.row(position)}"
            msg = (
                f"{where.path}: {rows}, column {column!r}: found {value!r} twice; "
                "expected a unique id on every row"
            )
            raise InputError(msg)
        first[value] = position


def yes_no_column(values: pd.Series, *, where: Where, column: str) -> None:
    """Raise on the first cell that is neither blank nor in :data:`YES_TEXTS`/:data:`NO_TEXTS`.

    Raises
    ------
    InputError
        Naming the row, the column and the value found.

    """
    for position, text in enumerate(as_text(values)):
        if text and text.lower() not in YES_TEXTS | NO_TEXTS:
            raise where.bad_value(position, column, values.iloc[position], YES_NO_EXPECTED)


def numeric_column(
    values: pd.Series,
    *,
    where: Where,
    column: str,
    what: str,
    allow_missing: bool = True,
    minimum: float | None = 0.0,
) -> np.ndarray:
    """Convert a column to floats, raising on the first bad cell.

    Parameters
    ----------
    values : pandas.Series
        The column, as text (CSV) or as read from a layer.
    where : Where
        File and row numbering, for messages.
    column : str
        The user's column name, for messages.
    what : str
        What a value means, e.g. ``"a number of people"``, for messages.
    allow_missing : bool
        Whether blank cells (see :data:`MISSING_MARKERS`) are allowed; they become NaN.
    minimum : float or None
        Smallest accepted value; None for no lower bound.

    Returns
    -------
    numpy.ndarray
        float64 values, NaN where missing.

    Raises
    ------
    InputError
        For a non-numeric, infinite or not-a-number (``inf``, ``1e999``, ``nan`` written as
        text), missing (when not allowed) or too-small value.

    """
    expected = what if minimum is None else f"{what} ≥ {minimum:g}"
    out = np.full(len(values), np.nan)
    for position, value in enumerate(values.tolist()):
        if is_nan_text(value):
            blank = " (a blank cell where it is unknown)" if allow_missing else ""
            raise where.bad_value(position, column, value, f"{expected}{blank}")
        if _is_missing(value):
            if not allow_missing:
                raise where.bad_value(position, column, value, expected)
            continue
        try:
            number = float(value.strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise where.bad_value(position, column, value, expected) from None
        if not math.isfinite(number) or (minimum is not None and number < minimum):
            raise where.bad_value(position, column, value, expected)
        out[position] = number
    return out


def as_number(value: Any, name: str, expected: str, *, positive: bool = False) -> float:
    """A finite real number ≥ 0 (> 0 when ``positive``)."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
    number = float(value) if ok else math.nan
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        msg = f"{name} is {value!r}; expected {expected}"
        raise InputError(msg)
    return number


def walking_speed(speed_m_s: Any, default_m_s: float, name: str = "walking speed") -> float:
    """The walking speed to use, m/s: ``speed_m_s``, or the profile's ``default_m_s`` if None.

    A finite number above 0; otherwise one line naming ``name`` (a command names its flag).
    """
    speed = default_m_s if speed_m_s is None else speed_m_s
    value = as_number(speed, name, "a number of m/s > 0", positive=True)
    if value > MAX_SPEED_M_S:  # the profiles' own limit, so a flag cannot pass what they refuse
        msg = (
            f"{name} is {value:g}; expected a number of m/s > 0 and at most {MAX_SPEED_M_S:g} m/s "
            "(a brisk run; older people walk at 0.8-1.2 m/s)"
        )
        raise InputError(msg)
    return value
