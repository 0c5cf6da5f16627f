"""Billing's business rules as plain functions: periods, fee versions, bill line amounts
(integer 分, rounded once per line), who may see and pay a bill, reminder spacing, the
collection rate and the WeChat Pay notify checks. No I/O.

Rounding (domain.md): every amount is an integer number of 分. A bill line is computed
exactly in integers and rounded **half up to the 分 once**, when the bill is created:

    per_area line = rate_fen (分 per m² per month) × area (m², two decimals) × months
                    × share% (100, or the fee item's `vacant_percent` for a room not delivered)
    fixed line    = rate_fen (分 per room per month) × months × share%

The bill's amount is the sum of its (already rounded) lines; nothing is rounded again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The API's names (schemas use these): how a fee item is charged, how an offline payment came.
FeeKind = Literal["per_area", "fixed"]
OfflineChannel = Literal["cash", "transfer"]
# Room states of identity: a room not delivered (unsold, or sold but not handed over) is 空置房.
VACANT_STATES = frozenset({"unsold", "sold"})
CHANNEL_NAMES = {"wechat": "微信支付", "cash": "现金", "transfer": "银行转账"}
# Who of a room's household sees and pays its bills (domain.md: billed to the room, shown
# to its verified owners).
PAYER_RELATIONS = ("owner",)
# Bills are due this many days after the period's first day (Asia/Shanghai).
DUE_AFTER_DAYS = 30
# Arrears age buckets (days overdue), the finance desk's usual 账龄 columns.
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-90", 31, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    ("365+", 366, None),
)
# One WeChat Pay order pays at most this many bills.
MAX_BILLS_PER_ORDER = 24

_PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4]))?$")


@dataclass(frozen=True)
class Period:
    """A billing period: a month (`2026-12`), a quarter (`2026-Q4`) or a year (`2026`)."""

    label: str
    first_month: int  # month index: year × 12 + (month − 1)
    months: int

    @property
    def last_month(self) -> int:
        return self.first_month + self.months - 1


def month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def parse_month(text: str) -> int | None:
    """`2026-12` → its month index, else None."""
    period = parse_period(text)
    return period.first_month if period is not None and period.months == 1 else None


def parse_period(text: str) -> Period | None:
    m = _PERIOD_RE.match(text or "")
    if m is None:
        return None
    year = int(m.group(1))
    if not 2000 <= year <= 2100:
        return None
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            return None
        return Period(text, month_index(year, month), 1)
    if m.group(3):
        quarter = int(m.group(3))
        return Period(text, month_index(year, 3 * quarter - 2), 3)
    return Period(text, month_index(year, 1), 12)


def period_start(period: Period) -> datetime:
    """The period's first instant, Asia/Shanghai."""
    return datetime(period.first_month // 12, period.first_month % 12 + 1, 1, tzinfo=SHANGHAI)


def due_at(period: Period) -> datetime:
    return period_start(period) + timedelta(days=DUE_AFTER_DAYS)


class FeeVersion(Protocol):
    code: str
    kind: str
    rate_fen: int
    vacant_percent: int
    effective_from: int
    active: bool


F = TypeVar("F", bound=FeeVersion)


def versions_in_force(versions: Iterable[F], first_month: int) -> list[F]:
    """Per fee code, the version with the latest `effective_from` not after `first_month`;
    a code whose version in force is inactive (stopped) charges nothing."""
    best: dict[str, F] = {}
    for v in versions:
        if v.effective_from <= first_month and (
            v.code not in best or v.effective_from > best[v.code].effective_from
        ):
            best[v.code] = v
    return [v for code, v in sorted(best.items()) if v.active]


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator rounded half up, both non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a non-negative numerator, a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def area_hundredths(area: Decimal | str) -> int:
    """The exclusive area in hundredths of a m² (identity keeps two decimals)."""
    value = Decimal(str(area)) * 100
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"area must be non-negative with two decimals at most: {area}")
    return int(value)


def share_percent(version: FeeVersion, room_state: str) -> int:
    return version.vacant_percent if room_state in VACANT_STATES else 100


def line_amount_fen(version: FeeVersion, area: Decimal | str, room_state: str, months: int) -> int:
    """One bill line in 分, rounded half up once (see the module docstring)."""
    share = share_percent(version, room_state)
    if version.kind == "per_area":
        return round_half_up(version.rate_fen * area_hundredths(area) * months * share, 100 * 100)
    return round_half_up(version.rate_fen * months * share, 100)


def yuan(fen: int) -> str:
    """分 → `"1234.56"` for people (exact: integer arithmetic, no float)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def line_basis(version: FeeVersion, area: Decimal | str, room_state: str, months: int) -> str:
    share = share_percent(version, room_state)
    parts = (
        [f"{Decimal(str(area)):.2f}㎡", f"{yuan(version.rate_fen)}元/㎡·月"]
        if version.kind == "per_area"
        else [f"{yuan(version.rate_fen)}元/户·月"]
    )
    parts.append(f"{months}个月")
    if share != 100:
        parts.append(f"空置{share}%")
    return " × ".join(parts)


@dataclass(frozen=True)
class Line:
    fee_item_id: str
    name: str
    basis: str
    amount_fen: int


class FeeItemLike(FeeVersion, Protocol):
    id: str
    name: str


def bill_lines(
    versions: Sequence[FeeItemLike], area: Decimal | str, room_state: str, months: int
) -> list[Line]:
    """The lines of one room's bill (versions already chosen for the period); zero lines
    (a 100% vacancy discount) are left out."""
    lines = []
    for v in versions:
        amount = line_amount_fen(v, area, room_state, months)
        if amount > 0:
            lines.append(Line(v.id, v.name, line_basis(v, area, room_state, months), amount))
    return lines


def can_adjust(status: str) -> bool:
    """Adjustments and waivers change what is owed: only an unpaid bill's."""
    return status == "unpaid"


def overdue_days(due: datetime, now: datetime) -> int:
    """Whole days past due, counted on Asia/Shanghai calendar days (0 when not yet due)."""
    days = (now.astimezone(SHANGHAI).date() - due.astimezone(SHANGHAI).date()).days
    return max(days, 0)


def age_bucket(days: int) -> str:
    for label, low, high in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    return AGE_BUCKETS[-1][0]


def collection_rate(paid_fen: int, billed_fen: int) -> str | None:
    """收缴率 = paid ÷ billed as a percentage with two decimals, rounded half up in integers
    (`"87.50"`); None when nothing was billed."""
    if billed_fen <= 0:
        return None
    basis_points = round_half_up(paid_fen * 10000, billed_fen)
    return f"{basis_points // 100}.{basis_points % 100:02d}"


def notify_is_fresh(timestamp: str, now: datetime, max_age_seconds: int) -> bool:
    """A WeChat Pay notify's `Wechatpay-Timestamp` within the window (replays fall out)."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    return abs(now.timestamp() - moment) <= max_age_seconds


def receipt_number(paid_at: datetime, payment_id: str) -> str:
    """`SJ` + the Shanghai date and time of payment + 6 characters of the payment id."""
    local = paid_at.astimezone(SHANGHAI)
    return f"SJ{local:%Y%m%d%H%M%S}{payment_id[-6:].upper()}"


def shanghai_day_bounds(day: str) -> tuple[datetime, datetime] | None:
    """`2026-12-01` → its first instant and the next day's, Asia/Shanghai."""
    try:
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=SHANGHAI)
    except ValueError:
        return None
    return start, start + timedelta(days=1)


def due_cutoff(now: datetime, min_overdue_days: int) -> datetime:
    """Bills due before this instant are at least `min_overdue_days` overdue (Shanghai days)."""
    today = now.astimezone(SHANGHAI).date()
    first_allowed = today - timedelta(days=min_overdue_days - 1)
    return datetime(first_allowed.year, first_allowed.month, first_allowed.day, tzinfo=SHANGHAI)
