"""The roster CSV format: decoding (UTF-8 or GB18030), header aliases, and the parse of its
lines into rooms and owners, every bad line reported. Plain functions, no I/O."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.identity.errors import (
    RosterBadDelimiter,
    RosterBadHeader,
    RosterEmpty,
    RosterNotCsv,
    RosterTooManyRows,
)
from services.identity.rules import (
    derived_owner_key,
    is_valid_phone,
    normalize_building,
    normalize_name,
    normalize_phone,
    normalize_unit,
)

MAX_ROSTER_ROWS = 100_000

_HEADER_ALIASES: dict[str, str] = {
    "building": "building", "楼栋": "building", "楼号": "building", "栋": "building", "楼": "building",
    "unit": "unit", "单元": "unit",
    "room": "room", "room_no": "room", "房号": "room", "房间号": "room", "房间": "room",
    "area": "area", "面积": "area", "专有部分面积": "area", "建筑面积": "area",
    "state": "state", "状态": "state", "房屋状态": "state",
    "owner_name": "owner_name", "业主姓名": "owner_name", "姓名": "owner_name",
    "owner_phone": "owner_phone", "手机号": "owner_phone", "手机": "owner_phone",
    "电话": "owner_phone", "手机号码": "owner_phone", "联系电话": "owner_phone",
    "owner_key": "owner_key", "业主标识": "owner_key",
}
_REQUIRED_COLUMNS = ("building", "room", "area", "state", "owner_name", "owner_phone")
_COLUMN_NAMES_ZH = {
    "building": "楼栋", "unit": "单元", "room": "房号", "area": "面积", "state": "状态",
    "owner_name": "业主姓名", "owner_phone": "手机号", "owner_key": "业主标识",
}
_STATE_ALIASES = {
    "unsold": "unsold", "未售": "unsold",
    "sold": "sold", "已售": "sold", "已售未交付": "sold",
    "delivered": "delivered", "已交付": "delivered",
}
_AREA_RE = re.compile(r"^\d{1,10}(\.\d{1,2})?$")


@dataclass(frozen=True)
class RosterOwner:
    name: str
    phone: str
    owner_key: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "phone": self.phone, "owner_key": self.owner_key}


@dataclass
class RosterRoom:
    """One room as the file describes it (several lines when it has several owners)."""

    line: int
    building: str
    unit: str
    room_no: str
    area: Decimal
    state: str
    owners: list[RosterOwner] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.building, self.unit, self.room_no)

    @property
    def owner_key(self) -> str | None:
        return self.owners[0].owner_key if self.owners else None

    def owners_json(self) -> list[dict[str, str]]:
        return [o.as_json() for o in self.owners]


@dataclass
class RosterParse:
    rooms: list[RosterRoom]
    errors: list[dict[str, Any]]

    @property
    def owner_count(self) -> int:
        return len({o.owner_key for r in self.rooms for o in r.owners})


def decode_roster(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK, Excel's Chinese export)."""
    if not data.strip():
        raise RosterEmpty()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:65536]:
        raise RosterNotCsv("文件不是 CSV 文本，请在 Excel 中另存为 CSV（逗号分隔）")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        return text
    raise RosterNotCsv("无法识别文件内容，请保存为 UTF-8 或 GBK 编码的 CSV 文件")


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return controls > 0


def _header_key(raw: str) -> str:
    key = raw.strip().lower().replace(" ", "")
    # A trailing note in brackets goes: "面积(m²)", "面积（平方米）", "手机号(必填)". Plain string
    # scans, no regex: a header cell is anyone's input and must cost linear time (the lazy
    # pattern this replaces was quadratic on a cell of opening brackets).
    if key.endswith((")", "）")):
        opened = [i for i in (key.find("("), key.find("（")) if i >= 0]
        if opened:
            key = key[: min(opened)]
    return _HEADER_ALIASES.get(key, "")


def read_roster(data: bytes) -> RosterParse:
    """Decodes and parses an uploaded roster: the CPU-bound part of an import, in one call so
    it can run in a worker thread, off the event loop."""
    return parse_roster(decode_roster(data))


def parse_roster(text: str) -> RosterParse:
    """Reads and checks a whole roster; every bad line is reported as `{line, reason}` with
    `line` counting file lines, the header being line 1."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RosterEmpty() from None
    except csv.Error as exc:
        raise RosterNotCsv() from exc
    columns = _read_header(header)

    rooms: dict[tuple[str, str, str], RosterRoom] = {}
    owner_lines: dict[tuple[tuple[str, str, str], str, str], int] = {}
    errors: list[dict[str, Any]] = []
    data_rows = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            errors.append({"line": reader.line_num, "reason": "CSV 格式错误（引号不匹配）"})
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        data_rows += 1
        if data_rows > MAX_ROSTER_ROWS:
            raise RosterTooManyRows(f"文件行数过多，单次最多导入 {MAX_ROSTER_ROWS} 行")
        problems, room = _read_row(cells, columns, len(header), line)
        if room is not None:
            problems += _merge_room(room, rooms, owner_lines)
        if problems:
            errors.append({"line": line, "reason": "；".join(problems)})
    if data_rows == 0 and not errors:
        raise RosterEmpty("文件没有数据行")
    return RosterParse(rooms=list(rooms.values()), errors=errors)


def _read_header(header: list[str]) -> dict[str, int]:
    if len(header) == 1 and any(sep in header[0] for sep in (";", "\t", "|", "，")):
        raise RosterBadDelimiter(line=1)
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        key = _header_key(raw)
        if not key:
            continue
        if key in columns:
            raise RosterBadHeader(f"表头第 1 行“{_COLUMN_NAMES_ZH[key]}”列重复", line=1)
        columns[key] = index
    missing = [_COLUMN_NAMES_ZH[c] for c in _REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise RosterBadHeader("表头（第 1 行）缺少必需的列：" + "、".join(missing), line=1)
    return columns


def _read_row(
    cells: list[str], columns: dict[str, int], width: int, line: int
) -> tuple[list[str], RosterRoom | None]:
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return [f"列数不正确（表头 {width} 列，本行 {len(cells)} 列）"], None

    def cell(name: str) -> str:
        index = columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()

    problems: list[str] = []
    building = normalize_building(cell("building"))
    unit = normalize_unit(cell("unit"))
    room_no = cell("room")
    if not building:
        problems.append("缺少楼栋")
    elif len(building) > 50:
        problems.append("楼栋名称过长")
    if len(unit) > 50:
        problems.append("单元名称过长")
    if not room_no:
        problems.append("缺少房号")
    elif len(room_no) > 50:
        problems.append("房号过长")

    raw_area = cell("area")
    area: Decimal | None = None
    if not raw_area:
        problems.append("缺少面积")
    elif not _AREA_RE.match(raw_area):
        problems.append(f"面积“{raw_area}”格式不正确（应为数字，最多两位小数）")
    else:
        area = Decimal(raw_area).quantize(Decimal("0.01"))
        if area <= 0:
            problems.append("面积必须大于 0")

    raw_state = cell("state")
    state = _STATE_ALIASES.get(raw_state.lower())
    if not raw_state:
        problems.append("缺少状态")
    elif state is None:
        problems.append(f"未知的状态“{raw_state}”（应为 未售、已售 或 已交付）")

    name = normalize_name(cell("owner_name"))
    raw_phone = cell("owner_phone")
    phone = normalize_phone(raw_phone)
    owner_key = cell("owner_key")
    owner: RosterOwner | None = None
    if name or raw_phone:
        if not name:
            problems.append("缺少业主姓名")
        elif len(name) > 50:
            problems.append("业主姓名过长")
        if not raw_phone:
            problems.append("缺少手机号")
        elif not is_valid_phone(phone):
            problems.append("手机号须为 11 位数字")
        if len(owner_key) > 200:
            problems.append("业主标识过长")
        if not problems:
            owner = RosterOwner(name=name, phone=phone, owner_key=owner_key or derived_owner_key(name, phone))
    else:
        if state in ("sold", "delivered"):
            problems.append("已售或已交付的房间须填写业主姓名和手机号")
        if owner_key:
            problems.append("填写了业主标识但没有业主")

    if problems:
        return problems, None
    assert area is not None and state is not None
    return [], RosterRoom(
        line=line, building=building, unit=unit, room_no=room_no, area=area, state=state,
        owners=[owner] if owner else [],
    )


def _merge_room(
    room: RosterRoom,
    rooms: dict[tuple[str, str, str], RosterRoom],
    owner_lines: dict[tuple[tuple[str, str, str], str, str], int],
) -> list[str]:
    """A room may take several lines, one per co-owner; anything else repeated is an error."""
    seen = rooms.get(room.key)
    if seen is None:
        rooms[room.key] = room
        for o in room.owners:
            owner_lines[(room.key, o.name, o.phone)] = room.line
        return []
    if not room.owners or not seen.owners:
        return [f"房间重复（与第 {seen.line} 行相同）"]
    owner = room.owners[0]
    first = owner_lines.get((room.key, owner.name, owner.phone))
    if first is not None:
        return [f"房间重复（与第 {first} 行同一房间同一业主）"]
    if (seen.area, seen.state) != (room.area, room.state):
        return [f"与第 {seen.line} 行为同一房间，但面积或状态不一致"]
    seen.owners.append(owner)
    owner_lines[(room.key, owner.name, owner.phone)] = room.line
    return []
