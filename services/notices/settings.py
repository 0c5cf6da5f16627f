"""Settings of the notices service (environment prefix NOTICES_; WeChat ones unprefixed,
as the run contract names them: WECHAT_API_BASE, WECHAT_APPID, WECHAT_TEMPLATE_*)."""

import os
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings, WeChatAppSettings


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


class Settings(WeChatAppSettings, ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTICES_", extra="ignore")

    service_name: str = "notices"
    # Shared components whose tables live in this service's database (own migration histories).
    components: ClassVar[tuple[str, ...]] = ("identity_replica",)

    title_max_chars: int = 50
    body_max_chars: int = 5000

    # The background worker: fan-out jobs, the scheduler and pushes.
    worker_interval_seconds: float = 0.5
    fanout_batch_size: int = 5000
    push_batch_size: int = 1000
    push_concurrency: int = 32
    push_max_attempts: int = 5
    push_backoff_seconds: float = 30.0

    wechat_timeout_seconds: float = 5.0
    # Refresh the access token this long before WeChat says it expires.
    wechat_token_margin_seconds: float = 300.0
    # Subscribe-message templates, one per purpose.
    wechat_template_repair: str = Field(
        default_factory=lambda: _env("WECHAT_TEMPLATE_REPAIR", "tpl-repair-progress")
    )
    wechat_template_vote: str = Field(
        default_factory=lambda: _env("WECHAT_TEMPLATE_VOTE", "tpl-vote")
    )
    wechat_template_notice: str = Field(
        default_factory=lambda: _env("WECHAT_TEMPLATE_NOTICE", "tpl-notice")
    )
    wechat_template_binding: str = Field(
        default_factory=lambda: _env("WECHAT_TEMPLATE_BINDING", "tpl-binding-result")
    )
    wechat_template_billing: str = Field(
        default_factory=lambda: _env("WECHAT_TEMPLATE_BILLING", "tpl-billing")
    )

    def templates(self) -> dict[str, str]:
        """purpose -> template id."""
        return {
            "repair": self.wechat_template_repair,
            "vote": self.wechat_template_vote,
            "notice": self.wechat_template_notice,
            "binding": self.wechat_template_binding,
            "billing": self.wechat_template_billing,
        }
