"""CSV exports: a cell that a spreadsheet would run as a formula comes out as plain text."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from services.common.csv_export import (
    BOM,
    CSV_MEDIA_TYPE,
    csv_response,
    csv_text,
    iter_csv,
    safe_cell,
)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://evil.example","点我")', '\'=HYPERLINK("http://evil.example","点我")'),
        ("+86 138", "'+86 138"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("=", "'="),
        ("李明", "李明"),
        ("1栋101", "1栋101"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("'=1", "'=1"),
        ("", ""),
        (None, ""),
        (-3, "-3"),
        (89.5, "89.5"),
        (Decimal("-0.50"), "-0.50"),
        (12, "12"),
    ],
)
def test_a_cell_that_starts_like_a_formula_is_prefixed(value, cell) -> None:
    assert safe_cell(value) == cell


def _parse(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM):], newline="")))


def test_the_export_reads_back_cell_for_cell_with_every_formula_neutralised() -> None:
    header = ["房屋", "投票人", "答案"]
    rows = [
        ["1栋101", "李明", "同意"],
        ["1栋102", '=cmd|" /C calc"!A0', "+1\n第二行, 含逗号"],
        ["1栋103", None, "@x"],
    ]
    text = csv_text(header, rows)
    assert _parse(text) == [
        ["房屋", "投票人", "答案"],
        ["1栋101", "李明", "同意"],
        ["1栋102", '\'=cmd|" /C calc"!A0', "'+1\n第二行, 含逗号"],
        ["1栋103", "", "'@x"],
    ]
    assert text.endswith("\r\n")


def test_a_hostile_header_cell_is_neutralised_too() -> None:
    assert _parse(csv_text(["=题目"], []))[0] == ["'=题目"]


def test_the_streamed_export_is_the_same_text_line_by_line() -> None:
    rows = [[str(i), f"=A{i}"] for i in range(3)]
    lines = list(iter_csv(["n", "f"], iter(rows)))
    assert len(lines) == 4 and lines[0] == BOM + "n,f\r\n" and lines[1] == "0,'=A0\r\n"
    assert "".join(lines) == csv_text(["n", "f"], rows)
    assert not csv_text(["n"], [], bom=False).startswith(BOM)


def test_the_download_response_carries_the_safe_text() -> None:
    response = csv_response("vote-1-ballots.csv", ["投票人"], [["=1"]])
    assert response.media_type == CSV_MEDIA_TYPE
    assert response.headers["content-disposition"] == 'attachment; filename="vote-1-ballots.csv"'
    assert response.body.decode() == BOM + "投票人\r\n'=1\r\n"


def test_no_other_module_writes_csv() -> None:
    """Every export goes through csv_export (the formula guard): a module writing CSV by
    itself would ship unguarded cells, so it fails here."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    writers = [
        str(path.relative_to(root))
        for package in ("services", "console", "gateway")
        for path in (root / package).rglob("*.py")
        if path.name != "csv_export.py"
        and any(needle in path.read_text(encoding="utf-8") for needle in ("csv.writer", "DictWriter", "writerow"))
    ]
    assert writers == []
