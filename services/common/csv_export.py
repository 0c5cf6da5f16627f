"""CSV exports that are safe to open in a spreadsheet: a text cell that Excel or WPS would run
as a formula (CSV injection, e.g. `=HYPERLINK(...)` in a name or an answer) is written with a
leading apostrophe, which makes it plain text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from starlette.responses import Response

# What a spreadsheet reads as the start of a formula (OWASP's list): = + - @, tab and CR.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Excel opens a CSV as UTF-8 (Chinese text intact) only with a byte order mark.
BOM = "\ufeff"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

Cell = str | int | float | Decimal | None
Row = Sequence[Cell]


def safe_cell(value: Cell) -> str:
    """The text of one cell, prefixed with `'` when it starts like a formula. Numbers we
    computed are data, not text someone typed: they stay as they are (`-3` is a number to a
    spreadsheet); every string is checked, whoever wrote it."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def iter_csv(header: Row, rows: Iterable[Row], *, bom: bool = True) -> Iterator[str]:
    """The export line by line (for a StreamingResponse): the BOM, the header, then each row,
    every cell through `safe_cell`, quoted as RFC 4180 wants (CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: Row) -> str:
        writer.writerow([safe_cell(cell) for cell in row])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    first = line(header)
    yield (BOM + first) if bom else first
    for row in rows:
        yield line(row)


def csv_text(header: Row, rows: Iterable[Row], *, bom: bool = True) -> str:
    """The whole export as one string (see `iter_csv`)."""
    return "".join(iter_csv(header, rows, bom=bom))


def csv_response(filename: str, header: Row, rows: Iterable[Row]) -> Response:
    """An export as a download: the safe CSV text, its media type and an attachment name.
    `filename` is ours (ids, ASCII), never user text."""
    return Response(
        csv_text(header, rows),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
