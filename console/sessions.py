"""Server-side sessions: the browser holds only a random id in an HttpOnly, SameSite=Strict
cookie; the staff member's tokens stay in this process's memory and never reach the page."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

COOKIE = "console_session"
# Before login there is no session yet: the login form's CSRF token is double-submitted
# against this cookie instead.
LOGIN_CSRF_COOKIE = "console_login_csrf"
COOKIE_PATH = "/console"


@dataclass
class StaffRoleView:
    community_id: str
    role: str
    department: str | None
    community_name: str = ""


@dataclass
class Session:
    id: str
    csrf: str
    access_token: str
    refresh_token: str
    access_expires_at: float
    account_id: str
    name: str
    platform_admin: bool
    roles: list[StaffRoleView] = field(default_factory=list)
    community_id: str | None = None
    # One-time messages shown on the next full page (after a form's redirect).
    flash: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)

    def role_in(self, community_id: str | None) -> str | None:
        """'manager', 'crew', or None; the platform admin manages every community."""
        if community_id is None:
            return None
        if self.platform_admin:
            return "manager"
        return next((r.role for r in self.roles if r.community_id == community_id), None)

    @property
    def role(self) -> str | None:
        return self.role_in(self.community_id)

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def community_name(self) -> str:
        return next((r.community_name for r in self.roles if r.community_id == self.community_id), "")


class SessionStore:
    """Sessions by id, in memory. One console process serves them (a restart logs everyone
    out, which costs a login, never a leaked token)."""

    def __init__(self, idle_seconds: int, max_seconds: int) -> None:
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self._sessions: dict[str, Session] = {}

    def create(self, **fields: object) -> Session:
        self._prune()
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), **fields)  # type: ignore[arg-type]
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.last_seen > self.idle_seconds or now - session.created_at > self.max_seconds:
            self._sessions.pop(session_id, None)
            return None
        session.last_seen = now
        return session

    def drop(self, session_id: str) -> Session | None:
        return self._sessions.pop(session_id, None)

    def _prune(self) -> None:
        now = time.monotonic()
        for sid, s in list(self._sessions.items()):
            if now - s.last_seen > self.idle_seconds or now - s.created_at > self.max_seconds:
                del self._sessions[sid]

    def __len__(self) -> int:
        return len(self._sessions)
