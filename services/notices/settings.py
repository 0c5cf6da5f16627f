"""Settings of the notices service (environment prefix NOTICES_; WeChat ones unprefixed,
as the run contract names them: WECHAT_API_BASE, WECHAT_APPID, WECHAT_TEMPLATE_*)."""

import os
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.images import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS
from services.common.settings import ServiceSettings, WeChatAppSettings, data_dir


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


class Settings(WeChatAppSettings, ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTICES_", extra="ignore")

    service_name: str = "notices"
    # Shared components whose tables live in this service's database (own migration histories).
    components: ClassVar[tuple[str, ...]] = ("identity_replica",)

    title_max_chars: int = 50
    body_max_chars: int = 5000

    # Notices' pictures and PDF files (the embedded setup: DATA_DIR/notice-files). Pictures
    # take the repair photos' limits and cleaning (services/common/images.py).
    files_dir: str = Field(default_factory=lambda: str(data_dir() / "notice-files"))
    public_path_prefix: str = "/api/v1"
    max_image_bytes: int = MAX_IMAGE_BYTES
    max_image_pixels: int = MAX_IMAGE_PIXELS
    image_decode_concurrency: int = 1
    max_pdf_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 9

    # The background worker: fan-out jobs, the scheduler and pushes.
    worker_interval_seconds: float = 0.5
    fanout_batch_size: int = 5000
    push_batch_size: int = 1000
    push_concurrency: int = 32
    push_max_attempts: int = 5
    push_backoff_seconds: float = 30.0
    # Pushes wait for 07:00 between 22:00 and 07:00 Asia/Shanghai (emergencies and urgent
    # tickets excepted); false sends at any hour (a deployment whose staff work nights, and
    # the end-to-end tests and benches, which run at any hour).
    quiet_hours: bool = True

    # A notice is re-pushed to its unread households at most once per this many hours.
    resend_interval_hours: float = 6.0
    # An activity's reminder goes this long before it starts (activity_reminders.py), looked
    # for every `scheduler_interval_seconds` (0 turns it off).
    activity_reminder_minutes: int = 120
    scheduler_interval_seconds: float = 30.0

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
