"""Settings of the billing service (environment prefix BILLING_)."""

from __future__ import annotations

import os
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings, service_url


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore")

    service_name: str = "billing"
    components: ClassVar[tuple[str, ...]] = ("identity_replica",)

    # How often the scheduler queries WeChat Pay about orders still waiting (0 turns it off).
    scheduler_interval_seconds: float = 10.0
    # An order not reported paid by notify this long after it was created is queried.
    query_after_seconds: int = 60
    # How long a JSAPI order holds its bills (WeChat Pay's time_expire); then closed.
    order_ttl_seconds: int = 15 * 60

    # WeChat Pay v3 (the stand-in in development and tests; https://api.mch.weixin.qq.com in
    # production). Keys: PEM text in the environment, else the development keys generated
    # once under DATA_DIR/wechatpay (devkeys.py) that the stand-in reads too.
    wechatpay_api_base: str = Field(
        default_factory=lambda: os.environ.get(
            "WECHATPAY_API_BASE", os.environ.get("WECHAT_API_BASE", service_url("wechat"))
        )
    )
    wechatpay_appid: str = Field(default_factory=lambda: os.environ.get("WECHAT_APPID", "wx-standin-app"))
    wechatpay_mchid: str = Field(default_factory=lambda: os.environ.get("WECHATPAY_MCHID", "1900000001"))
    wechatpay_merchant_serial: str = ""
    wechatpay_merchant_private_key: str = ""
    wechatpay_platform_public_key: str = ""
    wechatpay_platform_key_id: str = ""
    wechatpay_apiv3_key: str = ""
    # Where WeChat Pay posts payment results: the gateway's public notify path.
    wechatpay_notify_url: str = Field(
        default_factory=lambda: os.environ.get(
            "WECHATPAY_NOTIFY_URL", service_url("gateway") + "/api/v1/payments/wechat/notify"
        )
    )
    # A notify whose Wechatpay-Timestamp is further than this from now is refused (replay).
    notify_max_age_seconds: int = 300
    # 催缴: at most one reminder per bill per this many days.
    reminder_spacing_days: int = 7
