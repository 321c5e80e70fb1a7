"""Write ``tables.xls``, the Excel 97-2003 workbook the tests read with xlrd.

Run once by hand with xlwt 1.3.0 (BSD), which is not a carecircle dependency::

    pip install --target /tmp/xlwt xlwt==1.3.0
    PYTHONPATH=/tmp/xlwt python tests/data/make_tables_xls.py

Sheets: ``facilities`` (the demo's facilities.csv under a merged title and a blank row, numbers
stored as numbers), ``plan`` (the bundled 垫江 plan, codes as text, counts as numbers),
``cells`` (one cell of each kind the reader turns into text) and an empty ``Sheet3``, as Excel
and WPS leave in a new workbook.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import xlwt  # type: ignore[import-not-found]

HERE = Path(__file__).parent
DATA = HERE.parents[1] / "coverage" / "data"


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _number(text: str, *, keep: bool) -> object:
    """``text`` as a number where it is one, unless ``keep`` (a code stays text)."""
    if keep:
        return text
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text else value


def main() -> None:
    """Write the workbook beside this script."""
    book = xlwt.Workbook(encoding="utf-8")
    facilities = book.add_sheet("facilities")
    rows = _rows(DATA / "demo" / "facilities.csv")
    facilities.write_merge(0, 0, 0, len(rows[0]) - 1, "演示区 养老和医疗设施一览表")
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            facilities.write(r + 2, c, text if r == 0 else _number(text, keep=c < 3))
    plan = book.add_sheet("plan")
    rows = _rows(DATA / "plans" / "dianjiang_2020_2022.csv")
    codes = {"township_code", "township"}
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            keep = r == 0 or rows[0][c] in codes
            plan.write(r, c, _number(text, keep=keep))
    cells = book.add_sheet("cells")
    header = ["code", "one", "tenth", "date", "flag", "township", "padded"]
    for c, text in enumerate(header):
        cells.write(0, c, text)
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    zeros = xlwt.easyxf(num_format_str="000000")
    cells.write(1, 0, "001")
    cells.write(1, 1, 1.0)
    cells.write(1, 2, 0.1)
    cells.write(1, 3, dt.date(2024, 3, 1), dates)
    cells.write(1, 4, True)
    cells.write_merge(1, 2, 5, 5, "桂溪街道")
    cells.write(1, 6, 42, zeros)
    cells.write(2, 0, "002")
    book.add_sheet("Sheet3")
    book.save(str(HERE / "tables.xls"))


if __name__ == "__main__":
    main()
