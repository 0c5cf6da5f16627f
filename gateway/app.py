"""The gateway app: `/api/v1/...` checked (token, rate limits, body size) and forwarded to
the owning service; `/healthz` and `/readyz` (every service's readiness). `/metrics` is not
on this (public) port: it is served by the internal listener (gateway/internal.py) on
`GATEWAY_METRICS_PORT`.

It is a plain ASGI app rather than FastAPI routes: on the proxy path every microsecond
counts against the service's own throughput (see bench/gateway.py), and there is nothing
for a router to do that `routing.resolve` does not already do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx
from prometheus_client import Counter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import home
from gateway.errors import DuplicateHeader, RouteNotFound, UpstreamTimedOut
from gateway.headers import (
    CONSOLE_DROPPED_REQUEST_HEADERS,
    DROPPED_RESPONSE_HEADERS,
    FORWARDED_REQUEST_HEADERS,
    SINGLE_HEADERS,
)
from gateway.internal import InternalListener
from gateway.ratelimit import Limit, RateLimiter, create_rate_limiter, retry_after
from gateway.responses import error_response, json_response, send_response
from gateway.routing import PREFIX, is_console_path, needs_token, resolve
from gateway.settings import GatewaySettings
from gateway.upstream import Headers, UpstreamError, UpstreamPool, UpstreamTimeout
from services.common.auth import Principal, TokenVerifier, bearer_token, verifier_from_settings
from services.common.errors import (
    DomainError,
    MissingToken,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    error_body,
)
from services.common.http import create_http_client
from services.common.logs import configure_logging, request_id_var
from services.common.middleware import BodySizeLimitMiddleware, RequestContextMiddleware

log = logging.getLogger("gateway")

UPSTREAM_FAILURES = Counter(
    "gateway_upstream_failures_total", "Requests the gateway could not forward", ["service", "reason"]
)

SERVICE_LABELS = {"identity": "账号", "repairs": "报修", "votes": "投票", "notices": "通知", "billing": "缴费"}

class GatewayCore:
    """The innermost ASGI app; shared state lives here between startup and shutdown."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.pools: dict[str, UpstreamPool] = {}
        self.http: httpx.AsyncClient | None = None
        self.verifier: TokenVerifier | None = None
        self.limiter: RateLimiter | None = None
        self.internal: InternalListener | None = None
        self.console: UpstreamPool | None = None

    # lifecycle
    async def startup(self) -> None:
        s = self.settings
        self.pools = {
            name: UpstreamPool(
                url,
                connect_timeout=s.connect_timeout_seconds,
                timeout=s.upstream_timeout_seconds,
                max_idle=s.pool_max_idle,
                idle_seconds=s.pool_idle_seconds,
                max_connections=s.pool_max_connections,
            )
            for name, url in s.service_urls.items()
        }
        if s.console_url:
            self.console = UpstreamPool(
                s.console_url,
                connect_timeout=s.connect_timeout_seconds,
                timeout=s.upstream_timeout_seconds,
                max_idle=s.pool_max_idle,
                idle_seconds=s.pool_idle_seconds,
                max_connections=s.pool_max_connections,
            )
        # For JWKS and readiness checks only: off the hot path.
        self.http = create_http_client(max(s.readyz_timeout_seconds, 3.0))
        # It remembers verified tokens until they expire (services/common/auth.py).
        self.verifier = verifier_from_settings(s, self.http)
        self.verifier.role_changes.start()
        self.limiter = create_rate_limiter(s.redis_url)
        if s.metrics_port is not None:
            self.internal = InternalListener(s.metrics_host, s.metrics_port)
            await self.internal.start()

    async def shutdown(self) -> None:
        if self.verifier is not None:
            await self.verifier.role_changes.stop()
        if self.internal is not None:
            await self.internal.close()
        for pool in [*self.pools.values(), *([self.console] if self.console else [])]:
            await pool.aclose()
        if self.http is not None:
            await self.http.aclose()
        if self.limiter is not None:
            await self.limiter.aclose()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # requests
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        path: str = scope["path"]
        try:
            if path.startswith(PREFIX + "/"):
                await self._proxy(scope, receive, send, path[len(PREFIX) :])
                return
            if self.console is not None and is_console_path(path):
                await self._console(scope, receive, send, self.console)
                return
            if path == "/healthz":
                result = json_response(200, {"status": "ok", "service": "gateway"})
            elif path == "/readyz":
                result = await self._readyz()
            else:
                # /metrics included: only the internal listener serves it.
                raise RouteNotFound()
        except DomainError as exc:
            result = error_response(exc)
        except StarletteHTTPException:
            raise  # the body limit's 413, answered by BodySizeLimitMiddleware
        except Exception:
            # Log the type and where, never the request: it may hold tokens or personal data.
            log.exception("unhandled error", extra={"path": path})
            result = json_response(500, error_body("internal_error", "服务器内部错误，请稍后再试"))
        await send_response(send, *result)

    async def _readyz(self) -> tuple[int, Headers, bytes]:
        assert self.http is not None
        timeout = self.settings.readyz_timeout_seconds

        async def check(url: str) -> str:
            try:
                response = await self.http.get(url + "/readyz", timeout=timeout)  # type: ignore[union-attr]
            except httpx.TimeoutException:
                return "timeout"
            except httpx.HTTPError:
                return "unreachable"
            return "ok" if response.status_code == 200 else "not_ready"

        names = list(self.settings.service_urls)
        results = await asyncio.gather(*(check(self.settings.service_urls[n]) for n in names))
        services = dict(zip(names, results, strict=True))
        if all(r == "ok" for r in results):
            return json_response(200, {"status": "ok", "services": services})
        body = {
            **error_body("not_ready", "部分服务尚未就绪，请稍后再试", services),
            "status": "not_ready",
            "services": services,
        }
        return json_response(503, body)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        route = resolve(path)
        if route is None:
            raise RouteNotFound()
        s = self.settings
        method: str = scope["method"]
        client = scope.get("client")
        ip = client[0] if client else "unknown"

        forwarded: Headers = []
        authorization: str | None = None
        content_type_seen = False
        for name, value in scope["headers"]:
            if name in FORWARDED_REQUEST_HEADERS:
                forwarded.append((name, value))
                if name == b"authorization":
                    if authorization is not None:
                        raise DuplicateHeader(SINGLE_HEADERS[name])
                    authorization = value.decode("latin-1")
                elif name == b"content-type":
                    if content_type_seen:
                        raise DuplicateHeader(SINGLE_HEADERS[name])
                    content_type_seen = True

        limits = [Limit("ip:" + ip, s.rate_ip_per_second, s.rate_ip_burst)]
        principal: Principal | None = None
        denied: DomainError | None = None
        if needs_token(method, path):
            token = bearer_token(authorization)
            try:
                if token is None:
                    raise MissingToken()
                assert self.verifier is not None
                principal = await self.verifier.verify(token)
            except Unauthorized as exc:
                # Still charged to the IP, so forged tokens cannot be tried without limit.
                denied = exc
        if principal is not None:
            limits.append(
                Limit("acct:" + principal.account_id, s.rate_account_per_second, s.rate_account_burst)
            )
        await self._charge(limits)
        if denied is not None:
            raise denied

        body = await _read_body(receive)
        if body is None:
            return

        prefix = PREFIX.encode()
        raw_path: bytes | None = scope.get("raw_path")
        if route.upstream_path == path and raw_path and raw_path.startswith(prefix + b"/"):
            target = raw_path[len(prefix) :]
        else:
            target = quote(route.upstream_path).encode("ascii")
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        forwarded.append((b"x-request-id", (request_id_var.get() or "").encode("latin-1")))
        forwarded.append((b"x-forwarded-for", ip.encode("latin-1")))

        pool = self.pools[route.service]
        try:
            if home.is_home(method, route.upstream_path):
                response = await home.assemble(self.pools, forwarded, scope["query_string"])
            else:
                response = await pool.request(method, target, forwarded, body)
        except UpstreamError as exc:
            UPSTREAM_FAILURES.labels(route.service, "unreachable").inc()
            log.warning(
                "service unreachable", extra={"upstream": route.service, "error": str(exc)}
            )
            raise ServiceUnavailable(
                f"{SERVICE_LABELS.get(route.service, '')}服务暂时不可用，请稍后再试",
                details={"service": route.service},
            ) from exc
        except UpstreamTimeout as exc:
            UPSTREAM_FAILURES.labels(route.service, "timeout").inc()
            log.warning("service timed out", extra={"upstream": route.service})
            raise UpstreamTimedOut(details={"service": route.service}) from exc

        headers = [(n, v) for n, v in response.headers if n not in DROPPED_RESPONSE_HEADERS]
        if method == "HEAD":
            # No body came; the length is the one a GET would have.
            headers += [(n, v) for n, v in response.headers if n == b"content-length"]
        else:
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send_response(send, response.status, headers, response.body)


    async def _charge(self, limits: list[Limit]) -> None:
        assert self.limiter is not None
        wait = await self.limiter.acquire(limits)
        if wait > 0:
            raise TooManyRequests(
                "操作过于频繁，请稍后再试",
                details={"retry_after": retry_after(wait)},
                headers={"Retry-After": str(retry_after(wait))},
            )

    async def _console(self, scope: Scope, receive: Receive, send: Send, pool: UpstreamPool) -> None:
        """Forwards a browser's request to the console process as it came (cookies included:
        the console keeps its own sessions), under the client's per-IP rate limit."""
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        s = self.settings
        await self._charge([Limit("ip:" + ip, s.rate_ip_per_second, s.rate_ip_burst)])
        body = await _read_body(receive)
        if body is None:
            return
        forwarded: Headers = [(n, v) for n, v in scope["headers"] if n not in CONSOLE_DROPPED_REQUEST_HEADERS]
        forwarded.append((b"x-request-id", (request_id_var.get() or "").encode("latin-1")))
        forwarded.append((b"x-forwarded-for", ip.encode("latin-1")))
        forwarded.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode("latin-1")))
        target = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        try:
            response = await pool.request(scope["method"], target, forwarded, body)
        except UpstreamError as exc:
            UPSTREAM_FAILURES.labels("console", "unreachable").inc()
            raise ServiceUnavailable("管理后台暂时不可用，请稍后再试", details={"service": "console"}) from exc
        except UpstreamTimeout as exc:
            UPSTREAM_FAILURES.labels("console", "timeout").inc()
            raise UpstreamTimedOut(details={"service": "console"}) from exc
        headers = [(n, v) for n, v in response.headers if n not in DROPPED_RESPONSE_HEADERS]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send_response(send, response.status, headers, response.body)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client went away."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


class _FailuresOnly(logging.Filter):
    """Drops access lines of successful requests before they are formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status", 500) >= 400


class Gateway:
    """The gateway as uvicorn runs it: `GatewayCore` inside the shared middleware
    (request id + access log + metrics, CORS when configured, body size limits)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.core = GatewayCore(settings)
        app: ASGIApp = BodySizeLimitMiddleware(
            self.core,
            json_limit=settings.max_json_body_bytes,
            upload_limit=settings.max_upload_body_bytes,
        )
        if settings.cors_origins:
            app = CORSMiddleware(
                app,
                allow_origins=settings.cors_origins,
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["X-Request-Id", "Retry-After"],
            )
        self.app: ASGIApp = RequestContextMiddleware(app, service="gateway")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[Gateway]:
        """Start-up and shutdown without a server (in-process tests)."""
        await self.core.startup()
        try:
            yield self
        finally:
            await self.core.shutdown()


def create_app(settings: GatewaySettings | None = None) -> Gateway:
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)
    access = logging.getLogger("access")
    for old in [f for f in access.filters if isinstance(f, _FailuresOnly)]:
        access.removeFilter(old)
    if settings.access_log != "all":
        access.addFilter(_FailuresOnly())
    return Gateway(settings)
