"""Settings of the WeChat stand-in (env prefix WECHAT_STANDIN_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class StandinSettings(BaseSettings):
    """What the stand-in accepts and how it behaves; every field is `WECHAT_STANDIN_<NAME>`.

    List fields are read from the environment as JSON, e.g.
    `WECHAT_STANDIN_RISKY_MARKERS='["[risky]","违禁内容"]'`.
    """

    model_config = SettingsConfigDict(env_prefix="WECHAT_STANDIN_", extra="ignore")

    # The expected app credentials. Empty means "accept any": then every appid/secret pair works.
    # When set, another appid answers errcode 40013 and another secret 40125, as WeChat does.
    appid: str = ""
    secret: str = ""
    # Lifetime of the access tokens `/cgi-bin/stable_token` hands out (WeChat: 7200 s).
    access_token_ttl_seconds: int = 7200
    # Lifetime of login codes and phone codes (WeChat: 5 minutes, single use).
    code_ttl_seconds: int = 300
    # Subscribe-message template ids `subscribe/send` knows. Empty means "any id"; when set,
    # an unknown id answers errcode 40037.
    template_ids: list[str] = []
    # msg_sec_check verdicts: text containing one of these (case-insensitive) is `risky` /
    # `review`; anything else `pass`. Risky wins when both match.
    risky_markers: list[str] = ["[risky]", "违禁内容"]
    review_markers: list[str] = ["[review]", "待审内容"]
    # WeChat's limit on msg_sec_check content (characters).
    max_content_chars: int = 2500
    log_level: str = "INFO"
    # WeChat Pay v3 (pay_api.py). Empty keys: the development keys billing uses too
    # (services/billing/devkeys.py, under DATA_DIR). Empty mchid: any merchant id.
    pay_mchid: str = ""
    pay_merchant_public_key: str = ""
    pay_platform_private_key: str = ""
    pay_platform_key_id: str = ""
    pay_apiv3_key: str = ""
    # Seconds between notify tries after the first; empty: WeChat Pay's own schedule.
    pay_notify_retry_seconds: list[float] = []
