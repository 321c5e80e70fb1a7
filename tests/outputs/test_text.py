"""The one terminal table: Chinese and ASCII rows line up, numbers right and text left."""

from __future__ import annotations

import doctest
import re
import unicodedata

import pytest

from carecircle.outputs import text


def _columns(line: str) -> int:
    """Display width, counted here without carecircle: wide and full-width characters as two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _ends(line: str) -> list[int]:
    """The display column where each run of non-spaces ends (cells hold single spaces)."""
    ends, column = [], 0
    for i, ch in enumerate(line):
        column += _columns(ch)
        if ch != " " and (i + 1 == len(line) or line[i + 1] == " "):
            ends.append(column)
    return ends


def _starts(line: str) -> list[int]:
    """The display column where each run of non-spaces starts."""
    starts, column = [], 0
    for i, ch in enumerate(line):
        if ch != " " and (i == 0 or line[i - 1] == " "):
            starts.append(column)
        column += _columns(ch)
    return starts


HEADER = ["township", "communities", "share"]
ROWS = [["解放碑街道", "4", "77%"], ["Kamppi", "12", "100%"], ["七星岗街道", "1,234", "—"]]


def test_a_chinese_row_and_an_ascii_row_line_up() -> None:
    lines = text.table(ROWS, header=HEADER).splitlines()
    assert len(lines) == 4
    # the last column is a number column: every line ends at the same display column
    assert len({_columns(line) for line in lines}) == 1
    assert _columns(lines[1]) == _columns(lines[2])  # 解放碑街道 (5 wide characters), Kamppi
    # the second column's numbers end at the same display column on every row
    assert len({_ends(line)[1] for line in lines}) == 1


def test_numbers_right_and_text_left() -> None:
    lines = text.table(ROWS, header=HEADER).splitlines()
    assert {_starts(line)[0] for line in lines} == {0}  # text: left
    counts = [line.split()[1] for line in lines[1:]]
    assert counts == ["4", "12", "1,234"]
    ends = {_ends(line)[1] for line in lines[1:]}
    starts = {_starts(line)[1] for line in lines[1:]}
    assert len(ends) == 1 and len(starts) == 3  # numbers: right, so their starts differ
    assert lines[3].endswith("—")  # a dash in a number column, right-aligned with them


def test_columns_are_parted_by_two_spaces_and_lines_end_without_one() -> None:
    lines = text.table([["甲", "x"], ["乙乙乙", "y"]]).splitlines()
    assert lines == ["甲      x", "乙乙乙  y"]  # widths 2 and 6: the text column is 6 wide
    assert text.table([["a", ""], ["bb", ""]]) == "a\nbb"
    listed = text.table([["map:", "甲/map.html"], ["summary:", "s.csv"]], align="ll", sep=" ")
    assert listed == "map:     甲/map.html\nsummary: s.csv"  # as the command lists its files


def test_align_given_overrides_what_the_cells_look_like() -> None:
    lines = text.table([["500231001", "2"], ["5", "10"]], align="ll").splitlines()
    assert lines == ["500231001  2", "5          10"]


@pytest.mark.parametrize(
    ("cell", "number"),
    [
        ("1,234", True),
        ("-0.5", True),
        ("45%", True),
        ("≥ 600,000", True),
        ("50,000–100,000", True),
        ("1/3", True),
        ("2021", True),
        ("total", False),
        ("2021年", False),
        ("F03", False),
        ("", False),
    ],
)
def test_is_number(cell: str, number: bool) -> None:
    assert text.is_number(cell) is number


def test_a_column_of_placeholders_only_is_text() -> None:
    lines = text.table([["a", "?"], ["b", "—"]], header=["name", "note"]).splitlines()
    assert lines == ["name  note", "a     ?", "b     —"]
    assert text.table([["a", "1"], ["b", "xyz"]]).splitlines() == ["a  1", "b  xyz"]


def test_width_counts_wide_characters_twice() -> None:
    for sample in ("乡镇(街道)代码", "（一村）", "Kamppi", "≥ 5–6 m²", "ｶ"):
        assert text.width(sample) == _columns(sample)
    assert text.width("中") == 2 and text.width("—") == 1


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="line 1 has 1 cells, expected 2"):
        text.table([["a"]], header=["x", "y"])
    with pytest.raises(ValueError, match="align='lx'"):
        text.table([["a", "b"]], align="lx")
    assert text.table([]) == ""


def test_the_example_in_the_docstring_runs() -> None:
    assert doctest.testmod(text).failed == 0


def test_the_costing_tables_line_up_in_chinese() -> None:
    from carecircle import costing, outputs, policy
    from carecircle.data import demo_files
    from carecircle.inputs import readers

    facilities = readers.read_facilities(demo_files()["facilities"])
    result = costing.cost(facilities, policy.load("dianjiang"), first_year=2020, years=2)
    blocks = outputs.format_costing(result, lang="zh").split("\n\n")
    # per facility; per year and per township under their titles (逐年合计, 分街道乡镇合计)
    tables = [blocks[1].splitlines(), blocks[2].splitlines()[1:], blocks[3].splitlines()[1:]]
    assert [len(lines) for lines in tables] == [9, 4, 3]  # a header and the rows
    assert tables[0][1].split()[:2] == ["F01", "中区街道养老服务中心"]
    for lines in tables:
        # the last column holds numbers: every line ends at the same display column
        assert len({_columns(line) for line in lines}) == 1


@pytest.fixture(scope="module")
def demo_texts(demo_analysis):
    """What the command line prints after the demo, in Chinese and in English."""
    from carecircle.outputs import terminal

    return {lang: terminal.format_analysis(demo_analysis, lang=lang) for lang in ("zh", "en")}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_headline_comes_first_and_its_values_line_up(demo_analysis, demo_texts, lang) -> None:
    from carecircle.outputs.headline import headline

    rows = headline(demo_analysis).rows(lang)
    lines = demo_texts[lang].splitlines()[: len(rows)]
    assert [line.split()[0] for line in lines[:2]] == [rows[0][0], rows[1][0]]
    for (label, value), line in zip(rows, lines, strict=True):
        assert line.lstrip().startswith(label.strip()) and line.endswith(value)
    # every value starts at the same display column, whatever its label's width
    starts = {
        _columns(line) - _columns(value) for (_, value), line in zip(rows, lines, strict=True)
    }
    assert len(starts) == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_printed_table_lines_up(demo_analysis, demo_texts, lang) -> None:
    blocks = demo_texts[lang].split("\n\n")
    townships = blocks[1].splitlines()[1:]  # under its title
    assert len(townships) == 1 + demo_analysis.communities["township"].nunique()
    # all numbers, right-aligned: each line ends at the same display column, and so does
    # every cell of every row (the header's cells hold single spaces, so compare the rows)
    assert len({_columns(line) for line in townships}) == 1
    assert len({tuple(_ends(line)) for line in townships[1:]}) == 1
    assert any(_columns(line) != len(line) for line in townships)  # Chinese names among them
    targets = next(b for b in blocks if b.startswith(("全区目标", "District targets")))
    lines = targets.splitlines()[1:]
    assert len(lines) == 1 + len(demo_analysis.district)
    # the target and year columns, right-aligned after a Chinese or English rule (a share's
    # target a percentage, a count's a whole number): the year ends at one display column
    ends = {_columns(line[: re.search(r"\s\d{4}\s", line).end() - 1]) for line in lines[1:]}
    assert len(ends) == 1
    counts = demo_analysis.district.loc[~demo_analysis.district["rule"].str.contains("_share")]
    for target in counts["target"]:  # a count's number as a whole number, never a percentage
        assert re.search(rf"\s{int(target)}\s", targets)
    assert not re.search(r"\d{4,}%", targets)


def test_the_language_changes_every_heading(demo_texts) -> None:
    zh, en = demo_texts["zh"], demo_texts["en"]
    for words in ("分街道(乡镇)", "未达到所属类型标准的设施", "全区目标", "步行时间"):
        assert words in zh and words not in en
    for words in ("By township", "Facilities not meeting", "District targets", "Walking times"):
        assert words in en and words not in zh
    assert "未达标" in zh and "nursing beds share" in en  # statuses and rules in words
    assert "nursing_bed_share" not in zh + en  # never a code name
