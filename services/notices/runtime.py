"""What the notices service's use cases need besides a session: settings, the clock, the
WeChat client. One per app, at `app.state.notices`; its clock is also `app.state.clock`."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common.clock import Clock
from services.notices.settings import Settings
from services.notices.wechat import WeChatClient


@dataclass
class Runtime:
    settings: Settings
    clock: Clock = field(default_factory=Clock)
    wechat: WeChatClient | None = None
