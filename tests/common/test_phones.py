"""The one phone mask every service shows to those who may not see the number."""

from __future__ import annotations

import pytest

from services.common.phones import mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812341234", "138****1234"),
        ("0571-88886666", "0571-****6666"),  # a landline keeps its area code
        ("010-1234567", "010-***4567"),
        ("057188886666", "057*****6666"),
        ("12345", "*****"),  # too short to be a number we know: nothing of it shows
        ("021-123", "*******"),
        ("", ""),  # erased (the reporter deleted their account)
        (None, None),
    ],
)
def test_phone_masking(phone, masked):
    assert mask_phone(phone) == masked
