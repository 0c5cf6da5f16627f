"""Identity's rules as plain functions (no I/O): labels and display names, owner keys, phone
masking, roster matching for bindings, and who may see what (the roster CSV format itself is
read by `roster_format.py`)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any, Literal

from services.common.phones import mask_phone

# The vocabularies the API and the tables use.
Relation = Literal["owner", "family", "tenant"]
InvitedRelation = Literal["family", "tenant"]
RoomState = Literal["unsold", "sold", "delivered"]
Role = Literal["manager", "crew"]
Department = Literal["repair", "cleaning", "security", "customer_service"]
BindingStatus = Literal["pending", "verified", "rejected", "revoked"]

# A binding that still counts (one per account and room): awaiting review or verified.
LIVE_STATUSES: tuple[BindingStatus, ...] = ("pending", "verified")
# What the clean-up report looks at: every binding that has not ended.
REPORTED_STATUSES: tuple[BindingStatus, ...] = ("pending", "verified", "rejected")

INVITATION_TTL = timedelta(days=7)
# Unambiguous characters only: an invitation code may be read out or typed.
INVITATION_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
INVITATION_CODE_LENGTH = 10

# ---------------------------------------------------------------- phones and names

_PHONE_RE = re.compile(r"^1\d{10}$")


def normalize_phone(raw: str) -> str:
    """Strips what people and Excel add around a mainland mobile number: spaces, dashes, +86."""
    phone = re.sub(r"[\s\-()（）]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    return phone


def is_valid_phone(phone: str) -> bool:
    return bool(_PHONE_RE.match(phone))


def normalize_name(raw: str) -> str:
    return re.sub(r"\s+", "", raw or "")


def phone_for_viewer(
    phone: str | None,
    *,
    owner_account_id: str | None,
    viewer_account_id: str,
    viewer_manages_community: bool,
) -> str | None:
    """The person and the managers of that community see the number; everyone else a mask."""
    if viewer_manages_community or (owner_account_id is not None and owner_account_id == viewer_account_id):
        return phone
    return mask_phone(phone) if phone else None


def derived_owner_key(name: str, phone: str) -> str:
    """The tally key of an owner the roster gives no `owner_key` for: name + phone, hashed so
    that the key carried to other services reveals neither."""
    digest = hashlib.sha256(f"{normalize_name(name)}|{normalize_phone(phone)}".encode()).hexdigest()
    return "np_" + digest[:32]


# ---------------------------------------------------------------- places

_ALNUM_RE = re.compile(r"^[0-9A-Za-z\-]+$")


def normalize_building(raw: str) -> str:
    """"1" → "1栋"; "1栋", "1号楼", "商业楼" stay as they are."""
    name = raw.strip()
    return name + "栋" if _ALNUM_RE.match(name) else name


def normalize_unit(raw: str) -> str:
    """"2" and "2单元" → "2"; "" means no unit."""
    unit = raw.strip()
    if unit.endswith("单元") and _ALNUM_RE.match(unit[:-2]):
        unit = unit[:-2]
    return unit


def room_label(building_name: str, unit: str | None, room_no: str) -> str:
    """`1栋2单元101`, or `1栋101` without a unit."""
    unit_part = ""
    if unit:
        unit_part = unit + "单元" if _ALNUM_RE.match(unit) else unit
    return f"{building_name}{unit_part}{room_no}"


def display_name(building_name: str, room_no: str, name: str) -> str:
    """The group convention every service shows: building + room + name, `1栋101李明`."""
    return f"{building_name}{room_no}{name}"


_NATURAL_RE = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[Any, ...]:
    """The order people count in: "2栋" before "10栋", "101" before "1001"."""
    return tuple(int(p) if p.isdigit() else p for p in _NATURAL_RE.split(text))


def account_display_name(verified_display_names: list[str], account_name: str | None) -> str:
    """How an account is named to others: its first verified room (`1栋101李明`), else its
    own name, else "微信用户"."""
    if verified_display_names:
        return verified_display_names[0]
    return account_name or "微信用户"


# ---------------------------------------------------------------- bindings


def login_wait_seconds(
    pair_failures: int,
    user_failures: int,
    last_user_failure: datetime | None,
    now: datetime,
    *,
    pair_max: int,
    user_free: int,
    window_seconds: int,
) -> int:
    """Seconds a staff login must wait before it may be tried (0: go ahead).

    Per username and address: `pair_max` failures in the window close it for the window.
    Per username across addresses (a guesser with many addresses): after `user_free`
    failures, each further try waits 2^(failures - free) seconds after the last failure,
    capped at the window, so a real user locked out by someone else waits minutes, not days.
    """
    if pair_failures >= pair_max:
        return window_seconds
    if user_failures >= user_free and last_user_failure is not None:
        backoff = min(window_seconds, 2 ** min(user_failures - user_free, 30))
        waited = (now - last_user_failure).total_seconds()
        if waited < backoff:
            return max(1, int(backoff - waited + 0.999))
    return 0


def owner_claim_verifies(
    relation: str, owners: list[dict[str, Any]], name: str, verified_phone: str | None
) -> bool:
    """An owner binding is verified at once only by the account's WeChat-verified phone (and
    the name) on the room's roster; a typed phone never verifies, so typed guesses learn
    nothing from the answer."""
    return relation == "owner" and verified_phone is not None and matches_roster(
        owners, name, verified_phone
    )


# The name a binding takes when none was typed and the roster does not give one.
UNNAMED = "未填写姓名"


def claim_identity(
    relation: str,
    owners: list[dict[str, Any]],
    typed_name: str | None,
    typed_phone: str | None,
    verified_phone: str | None,
    account_name: str | None,
) -> tuple[str, str] | None:
    """The (name, phone) a binding claims. What was typed is used as it is; what was left out
    comes from the account's WeChat-verified phone and, for an owner, the roster's name for
    that phone (else the account's own name). None when something is missing and the account
    has no verified phone to stand in for it."""
    if typed_name is not None and typed_phone is not None:
        return normalize_name(typed_name), normalize_phone(typed_phone)
    if verified_phone is None:
        return None
    phone = normalize_phone(typed_phone) if typed_phone is not None else verified_phone
    if typed_name is not None:
        return normalize_name(typed_name), phone
    roster_name = next(
        (o.get("name") for o in owners if o.get("phone") == verified_phone and o.get("name")), None
    )
    name = roster_name if relation == "owner" and roster_name else None
    return normalize_name(name or account_name or "") or UNNAMED, phone


SCENE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
SCENE_LENGTH = 12
# What a scene may look like: WeChat allows 32 visible characters in a QR code's scene.
_SCENE_RE = re.compile(r"^[0-9A-Za-z]{1,32}$")


def is_scene_code(text: str) -> bool:
    return bool(_SCENE_RE.match(text))


def like_pattern(query: str) -> str:
    """A LIKE pattern matching `query` anywhere, its own % and _ taken literally (escape `\\`)."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def binding_request_refusal(
    requests_today: int, pending_on_room: int, per_day: int, pending_per_room: int
) -> str | None:
    """Why a new binding request is refused ("account_daily" or "room_pending"), or None."""
    if requests_today >= per_day:
        return "account_daily"
    if pending_on_room >= pending_per_room:
        return "room_pending"
    return None


def matches_roster(owners: list[dict[str, Any]], name: str, phone: str) -> bool:
    """A binding claim matches when the room's roster lists this exact name and phone."""
    n, p = normalize_name(name), normalize_phone(phone)
    return any(o.get("name") == n and o.get("phone") == p for o in owners)


def _owner_set(owners: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((o["name"], o["phone"], o["owner_key"]) for o in owners)


def owners_changed(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> bool:
    """Whether the people on the roster changed (not merely their order)."""
    return _owner_set(old) != _owner_set(new)
