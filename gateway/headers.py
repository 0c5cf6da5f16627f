"""Which request headers the gateway forwards, which response headers it drops, and which
it accepts only once."""

from __future__ import annotations

# Request headers passed to the service; everything else (cookies, hop-by-hop, forged
# x-forwarded-*) stays at the gateway.
FORWARDED_REQUEST_HEADERS = frozenset(
    {
        b"authorization",
        b"content-type",
        b"accept",
        b"accept-language",
        b"if-none-match",
        b"if-modified-since",
        b"range",
        b"user-agent",
        # WeChat Pay's notify call-back (billing/notify.py checks them: the signature is its
        # only credential, the gateway lets it through without a token).
        b"wechatpay-timestamp",
        b"wechatpay-nonce",
        b"wechatpay-signature",
        b"wechatpay-serial",
        b"wechatpay-signature-type",
    }
)
# Response headers not passed back: hop-by-hop, and those the gateway sets itself.
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authenticate",
        b"content-length",
        b"date",
        b"server",
        b"x-request-id",
    }
)

# Headers the gateway reads and a service reads again: sent twice, the gateway's HTTP stack
# and the service's could each pick another copy (the gateway checks one token, the service
# acts on the other), so a request carrying either more than once is refused outright.
SINGLE_HEADERS = {b"authorization": "Authorization", b"content-type": "Content-Type"}
