"""Phone numbers as anyone but the person and the staff who need them may see them (PIPL):
one mask for every service."""

from __future__ import annotations

import re
from typing import overload

# A mobile number, or a landline with its area code (`0571-88886666`).
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def valid_phone(phone: str) -> bool:
    """Whether a typed contact phone looks like a Chinese mobile or landline number."""
    return PHONE_RE.match(phone) is not None



@overload
def mask_phone(phone: str) -> str: ...
@overload
def mask_phone(phone: None) -> None: ...
def mask_phone(phone: str | None) -> str | None:
    """`13812341234` -> `138****1234`; a landline keeps its area code: `0571-****6666`;
    anything too short to be a number we know shows nothing of itself."""
    if phone is None:
        return None
    area, dash, _ = phone.rpartition("-")
    keep = len(area) + 1 if dash else 3
    hidden = len(phone) - keep - 4
    if hidden < 3:
        return "*" * len(phone)
    return phone[:keep] + "*" * hidden + phone[-4:]
