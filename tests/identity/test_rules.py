"""Identity's rules without HTTP: labels, owner keys, masking, matching."""

from __future__ import annotations

import pytest

from services.identity import rules


def test_phones_are_visible_to_the_person_and_the_managers_only():
    kw = {"owner_account_id": "a"}
    assert rules.phone_for_viewer("13812341234", viewer_account_id="a", viewer_manages_community=False, **kw) == "13812341234"
    assert rules.phone_for_viewer("13812341234", viewer_account_id="b", viewer_manages_community=True, **kw) == "13812341234"
    assert rules.phone_for_viewer("13812341234", viewer_account_id="b", viewer_manages_community=False, **kw) == "138****1234"


@pytest.mark.parametrize(
    "building, unit, room, label",
    [("1栋", "2", "101", "1栋2单元101"), ("1栋", "", "101", "1栋101"), ("商铺", "东区", "A1", "商铺东区A1")],
)
def test_room_labels(building, unit, room, label):
    assert rules.room_label(building, unit, room) == label


def test_display_name_is_building_room_name():
    assert rules.display_name("1栋", "101", "李明") == "1栋101李明"


def test_names_and_units_are_normalised_the_way_people_write_them():
    assert rules.normalize_building("1") == "1栋" and rules.normalize_building("1号楼") == "1号楼"
    assert rules.normalize_unit("2单元") == "2"
    assert rules.normalize_phone("+86 138-1234-1234") == "13812341234"


def test_roster_match_needs_both_name_and_phone():
    owners = [{"name": "李明", "phone": "13812341234", "owner_key": "k"}]
    assert rules.matches_roster(owners, "李 明", "138 1234 1234")
    assert not rules.matches_roster(owners, "李明", "13812341235")
    assert not rules.matches_roster(owners, "李敏", "13812341234")


def test_derived_owner_keys_do_not_reveal_the_phone():
    key = rules.derived_owner_key("李明", "13812341234")
    assert "1381234" not in key and key == rules.derived_owner_key(" 李明", "138 1234 1234")


def test_places_sort_the_way_people_count():
    names = ["10栋", "2栋", "1栋", "商业楼", "2栋"]
    assert sorted(names, key=rules.natural_key) == ["1栋", "2栋", "2栋", "10栋", "商业楼"]
    assert sorted(["1001", "101", "99"], key=rules.natural_key) == ["99", "101", "1001"]


@pytest.mark.parametrize(
    "verified, name, shown",
    [
        (["1栋101李明", "2栋202李明"], "李明", "1栋101李明"),
        ([], "李明", "李明"),
        ([], None, "微信用户"),
    ],
)
def test_an_account_is_named_by_its_first_verified_room(verified, name, shown):
    assert rules.account_display_name(verified, name) == shown
