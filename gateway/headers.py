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
# Hop-by-hop headers: about one connection, never passed on.
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade"}
)
# Response headers not passed back: hop-by-hop, and those the gateway sets itself.
DROPPED_RESPONSE_HEADERS = HOP_BY_HOP | frozenset(
    {
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

# Request headers never passed to the console (everything else is: cookies, htmx's HX-*,
# the CSRF header): hop-by-hop ones and those the gateway sets itself.
CONSOLE_DROPPED_REQUEST_HEADERS = HOP_BY_HOP | frozenset(
    {
        b"proxy-authorization",
        b"host",
        b"content-length",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"forwarded",
        b"x-request-id",
    }
)
