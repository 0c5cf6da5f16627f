"""The roster CSV format without HTTP: encodings, header aliases, every bad line reported."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.identity import roster_format, rules
from services.identity.errors import RosterFileError
from tests.identity.factories import EN_HEADER, ZH_HEADER, roster


def parse(data: bytes) -> roster_format.RosterParse:
    return roster_format.parse_roster(roster_format.decode_roster(data))


def test_english_headers_utf8_give_rooms_with_exact_areas():
    result = parse(roster([["1", "2", "101", "89.5", "delivered", "李明", "13812341234", ""]]))
    assert result.errors == []
    (room,) = result.rooms
    assert (room.building, room.unit, room.room_no, room.area, room.state) == ("1栋", "2", "101", Decimal("89.50"), "delivered")
    assert room.owners[0].owner_key == rules.derived_owner_key("李明", "13812341234")


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_chinese_headers_in_every_excel_encoding(encoding):
    data = roster([["2栋", "", "302", "120.00", "已交付", "王芳", "139 0000 1111", "K1"]], ZH_HEADER, encoding)
    result = parse(data)
    assert result.errors == []
    room = result.rooms[0]
    assert (room.building, room.unit, room.state, room.owner_key) == ("2栋", "", "delivered", "K1")
    assert room.owners[0].phone == "13900001111"


def test_every_bad_line_is_reported_with_its_number_and_a_chinese_reason():
    rows = [
        ["1", "", "101", "89.50", "delivered", "李明", "13812341234", ""],   # line 2 ok
        ["1", "", "102", "八十", "delivered", "张三", "13812341235", ""],    # 3 bad area
        ["1", "", "103", "90.123", "delivered", "张三", "13812341236", ""],  # 4 three decimals
        ["1", "", "104", "90", "rented", "张三", "13812341237", ""],         # 5 unknown state
        ["1", "", "", "90", "delivered", "张三", "13812341238", ""],         # 6 missing room
        ["1", "", "105", "90", "delivered", "张三", "1381234", ""],          # 7 short phone
        ["1", "", "101", "89.50", "delivered", "李明", "13812341234", ""],   # 8 duplicate of 2
        ["1", "", "106", "90", "sold", "", "", ""],                          # 9 sold without owner
        ["1", "", "107", "0", "unsold", "", "", ""],                         # 10 zero area
    ]
    result = parse(roster(rows))
    lines = {e["line"]: e["reason"] for e in result.errors}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "面积" in lines[3] and "面积" in lines[4]
    assert "未知的状态" in lines[5]
    assert lines[6] == "缺少房号"
    assert lines[7] == "手机号须为 11 位数字"
    assert "第 2 行" in lines[8]
    assert "业主" in lines[9]
    assert lines[10] == "面积必须大于 0"


def test_co_owners_share_a_room_but_must_agree_on_area_and_state():
    rows = [
        ["1", "", "101", "89.50", "delivered", "李明", "13812341234", "K"],
        ["1", "", "101", "89.50", "delivered", "韩梅", "13812341299", "K"],
        ["1", "", "101", "90.00", "delivered", "王五", "13812341298", ""],
    ]
    result = parse(roster(rows))
    assert [e["line"] for e in result.errors] == [4]
    assert [o.name for o in result.rooms[0].owners] == ["李明", "韩梅"]
    assert result.owner_count == 1


def test_an_unsold_room_may_have_no_owner():
    result = parse(roster([["1", "", "101", "89.50", "未售", "", "", ""]]))
    assert result.errors == [] and result.rooms[0].owners == [] and result.rooms[0].owner_key is None


def test_line_numbers_count_blank_lines_and_the_header():
    data = roster([["1", "", "101", "89.50", "delivered", "李明", "13812341234", ""]]) + b"\r\n\r\n1,,102,x,delivered,a,13812341235,\r\n"
    assert parse(data).errors[0]["line"] == 5


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "roster_empty"),
        (b"   \r\n", "roster_empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "roster_not_csv"),
        (b"\xff\xfeb\x00u\x00", "roster_not_csv"),
        (";".join(EN_HEADER).encode() + b"\r\n1;;101;89.5;sold;a;13812341234;\r\n", "roster_bad_delimiter"),
        ("\t".join(ZH_HEADER).encode("gbk") + b"\r\n", "roster_bad_delimiter"),
        (b"building,room,area\r\n1,101,89\r\n", "roster_bad_header"),
        (",".join(EN_HEADER).encode() + b"\r\n", "roster_empty"),
    ],
)
def test_files_that_are_not_a_roster_are_refused_as_a_whole(data, code):
    with pytest.raises(RosterFileError) as info:
        parse(data)
    assert info.value.code == code
    assert info.value.message  # Chinese, shown as is


def test_missing_columns_are_named_in_chinese():
    with pytest.raises(RosterFileError) as info:
        parse(b"building,room,area\r\n")
    assert "状态" in info.value.message and "手机号" in info.value.message
