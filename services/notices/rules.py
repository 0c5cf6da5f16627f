"""Notice rules as plain functions: drafting checks, the workflow, targeting, feed order,
quiet hours and WeChat field limits. No I/O. The inbox texts of consumed events:
event_messages.py."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from services.notices.errors import (
    AudienceEmpty,
    BodyTooLong,
    ExpiryBeforePublish,
    ExpiryInPast,
    ExpiryRequired,
    InvalidNotice,
    MarkupNotAllowed,
    NoticeEmpty,
    NoticeTransitionNotAllowed,
    SelfApprovalNotAllowed,
    TitleTooLong,
    UnknownBuildings,
    UnknownUnits,
    WithdrawnNoticeCannotPublish,
)

RELATIONS = ("owner", "family", "tenant")

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET_START = time(22, 0)
QUIET_END = time(7, 0)

# Markup in a notice body: a tag such as <script>, </p>, <img ...>, <!-- -->. Plain "<" in
# text (温度<30度) is fine; the body is stored and served as text, never rendered as HTML.
_TAG_RE = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>|javascript\s*:", re.IGNORECASE)


def looks_like_markup(text: str) -> bool:
    return bool(_TAG_RE.search(text))


# --- drafting -------------------------------------------------------------------------

# Per-community settings (`community_configs.settings`) and their defaults: `single_manager`,
# the community has one manager, who may approve their own notices.
DEFAULT_COMMUNITY_SETTINGS: dict[str, Any] = {"single_manager": False}


def notice_problem(
    title: str,
    body: str,
    category: str,
    audience: Mapping[str, Any],
    *,
    publish_at: datetime | None,
    expires_at: datetime | None,
    now: datetime,
    title_max_chars: int,
    body_max_chars: int,
    known_buildings: Set[str] = frozenset(),
    known_units: Set[tuple[str, str | None]] = frozenset(),
) -> InvalidNotice | None:
    """Why a draft cannot be saved (None when it can), the first problem found: the text
    (title and body as stored, stripped), the expiry, then the audience (its stored form, see
    `normalize_audience`) against the community's buildings and (building, unit) pairs."""
    if not title or not body:
        return NoticeEmpty()
    if len(title) > title_max_chars:
        return TitleTooLong(title_max_chars)
    if len(body) > body_max_chars:
        return BodyTooLong(body_max_chars)
    if looks_like_markup(title) or looks_like_markup(body):
        return MarkupNotAllowed()
    if category == "emergency" and expires_at is None:
        return ExpiryRequired()
    if expires_at is not None:
        if expires_at <= now:
            return ExpiryInPast()
        if publish_at is not None and expires_at <= publish_at:
            return ExpiryBeforePublish()
    return _audience_problem(audience, known_buildings, known_units)


def _audience_problem(
    audience: Mapping[str, Any],
    known_buildings: Set[str],
    known_units: Set[tuple[str, str | None]],
) -> InvalidNotice | None:
    kind = audience["kind"]
    if kind == "buildings":
        if not audience["building_ids"]:
            return AudienceEmpty(kind)
        unknown = set(audience["building_ids"]) - known_buildings
        if unknown:
            return UnknownBuildings(sorted(unknown))
    elif kind == "units":
        if not audience["units"]:
            return AudienceEmpty(kind)
        unknown_units = [
            u for u in audience["units"] if (u["building_id"], u["unit"]) not in known_units
        ]
        if unknown_units:
            return UnknownUnits(unknown_units)
    elif kind == "roles" and not audience["roles"]:
        return AudienceEmpty(kind)
    return None


# --- workflow -------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeState:
    status: str
    category: str
    author_id: str
    publish_at: datetime | None


def next_status(
    state: NoticeState, action: str, *, actor_id: str, single_manager: bool, now: datetime
) -> str:
    """The status after `action`, or a domain error saying why it is not allowed.

    draft → submitted → approved → (scheduled →) published → withdrawn; an emergency may be
    published from draft or submitted at once, skipping review."""
    status = state.status
    if action == "submit":
        if status == "draft":
            return "submitted"
    elif action == "approve":
        if status == "submitted":
            if state.author_id == actor_id and not single_manager:
                raise SelfApprovalNotAllowed()
            return "approved"
    elif action == "publish":
        if status == "withdrawn":
            raise WithdrawnNoticeCannotPublish()
        if state.category == "emergency" and status in ("draft", "submitted", "approved"):
            return "published"
        if status == "approved":
            if state.publish_at is not None and state.publish_at > now:
                return "scheduled"
            return "published"
    elif action == "withdraw" and status in ("published", "scheduled"):
        return "withdrawn"
    raise NoticeTransitionNotAllowed(status, action)


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


# --- targeting ------------------------------------------------------------------------


def normalize_audience(audience: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form: kind, building_ids, units [{building_id, unit}], roles (None = all)."""
    kind = audience.get("kind", "community")
    roles = audience.get("roles")
    units = {(u["building_id"], u["unit"]) for u in audience.get("units") or []}
    return {
        "kind": kind,
        "building_ids": sorted(set(audience.get("building_ids") or []))
        if kind == "buildings"
        else [],
        "units": [{"building_id": b, "unit": u} for b, u in sorted(units)]
        if kind == "units"
        else [],
        "roles": sorted(set(roles)) if roles else None,
    }


def audience_filter(audience: Mapping[str, Any]) -> dict[str, Any]:
    """Scope arguments for the replica queries: building_ids, units, relations; None for
    building_ids or units means no restriction."""
    kind = audience.get("kind", "community")
    return {
        "building_ids": list(audience.get("building_ids") or []) if kind == "buildings" else None,
        "units": [(u["building_id"], u["unit"]) for u in audience.get("units") or []]
        if kind == "units"
        else None,
        "relations": tuple(audience["roles"]) if audience.get("roles") else RELATIONS,
    }


def targets(
    audience: Mapping[str, Any], *, building_id: str, unit: str | None, relation: str
) -> bool:
    """Whether a verified member (relation) of a room (building, unit) is in the audience."""
    scope = audience_filter(audience)
    if relation not in scope["relations"]:
        return False
    if scope["building_ids"] is not None and building_id not in scope["building_ids"]:
        return False
    return scope["units"] is None or (building_id, unit) in set(scope["units"])


# --- the feed -------------------------------------------------------------------------


def feed_key(
    pinned: bool, category: str, published_at: datetime, notice_id: str
) -> tuple[int, float, str]:
    """Sort key of the owner's feed: pinned and emergency first, then newest, then id."""
    first = 0 if (pinned or category == "emergency") else 1
    return (first, -published_at.timestamp(), notice_id)


NOTICE_SOURCE_PREFIX = "notice:"
# How many notices the home screen shows.
HOME_NOTICES = 3


def notice_source_key(notice_id: str) -> str:
    """The inbox entry's cause for a published notice: the link between the two read states."""
    return NOTICE_SOURCE_PREFIX + notice_id


def notice_id_of(source_key: str) -> str | None:
    """The notice an inbox entry announces, or None for other entries (repairs, votes...)."""
    if source_key.startswith(NOTICE_SOURCE_PREFIX):
        # A re-push to the unread (resend.py) is keyed `notice:<id>:resend:<n>`.
        return source_key[len(NOTICE_SOURCE_PREFIX) :].split(":", 1)[0] or None
    return None


def notice_resend_key(notice_id: str, number: int) -> str:
    """The inbox entry's cause for the n-th re-push of a notice to its unread households."""
    return f"{notice_source_key(notice_id)}:resend:{number}"


def home_worthy(pinned: bool, category: str, read: bool) -> bool:
    """A notice the home screen shows (in feed order): pinned, an emergency, or unread."""
    return pinned or category == "emergency" or not read


# --- attachments ----------------------------------------------------------------------

PDF_MAGIC = b"%PDF-"
# PDF names that make a reader run a script or another program, or carry files: refused, the file is meant to be read.
_PDF_ACTIVE = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/EmbeddedFiles")
# Statuses in which a notice's attachments may still change: before owners can see it.
ATTACHMENTS_EDITABLE = ("draft", "submitted", "approved")
_UNSAFE_NAME_RE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;]+')


def is_pdf(raw: bytes) -> bool:
    """By content, not by the name or type the client claims."""
    return raw.startswith(PDF_MAGIC)


def pdf_has_active_content(raw: bytes) -> bool:
    """Scripts, launch or open actions, or embedded files named in the PDF (a best effort:
    names inside compressed object streams are not seen)."""
    return any(
        re.search(re.escape(name) + rb"(?![A-Za-z])", raw) is not None for name in _PDF_ACTIVE
    )


def attachment_name(client_name: str | None) -> str:
    """The PDF's name as shown and offered for download: the client's base name without path
    or characters that break headers or file systems, ending in .pdf; "附件.pdf" when nothing
    is left."""
    base = (client_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME_RE.sub("", base).strip().strip(".")
    if base.lower().endswith(".pdf"):
        base = base[:-4]
    base = base[:90].strip()
    return (base or "附件") + ".pdf"


def content_disposition(kind: str, display_name: str) -> str:
    """Pictures shown in place; a PDF downloaded under its name (RFC 6266/5987)."""
    if kind != "pdf":
        return "inline"
    encoded = quote(display_name, safe="")
    return f"attachment; filename=\"attachment.pdf\"; filename*=UTF-8''{encoded}"


# --- quiet hours ----------------------------------------------------------------------


def in_quiet_hours(now: datetime) -> bool:
    local = now.astimezone(SHANGHAI).time()
    return local >= QUIET_START or local < QUIET_END


def release_time(now: datetime, *, urgent: bool) -> datetime:
    """When a push may go: at once for emergencies and in the day; else the next 07:00
    Asia/Shanghai."""
    if urgent or not in_quiet_hours(now):
        return now
    local = now.astimezone(SHANGHAI)
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=SHANGHAI).astimezone(now.tzinfo)


# --- WeChat subscribe messages -------------------------------------------------------

# Value limits of subscribe-message keyword types (WeChat docs, characters).
_FIELD_LIMITS = {
    "thing": 20,
    "character_string": 32,
    "phrase": 5,
    "name": 10,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "phone_number": 17,
    "car_number": 8,
    "amount": 32,
}


def cut_value(key: str, value: str) -> str:
    """Cuts a value to its keyword type's limit (`thing1` → 20 characters), ending with '…'
    when cut, since WeChat refuses (47003) rather than truncates."""
    kind = re.sub(r"\d+$", "", key)
    limit = _FIELD_LIMITS.get(kind)
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def push_data(title: str, text: str, at: datetime) -> dict[str, dict[str, str]]:
    """The subscribe-message data of every template: thing1 title, thing2 text, time3 when."""
    local = at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    values = {"thing1": title, "thing2": text or title, "time3": local}
    return {k: {"value": cut_value(k, v)} for k, v in values.items()}


def clean_text(text: str) -> str:
    """Collapses whitespace, for the one-line texts of inbox entries and pushes."""
    return " ".join(text.split())


def excerpt(body: str, limit: int = 60) -> str:
    flat = clean_text(body)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def can_resend(status: str, expires_at: datetime | None, now: datetime) -> bool:
    """Only a notice that is out (published, not expired) is pushed again to the unread."""
    return status == "published" and not is_expired(expires_at, now)
