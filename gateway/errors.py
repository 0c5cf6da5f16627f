"""The errors only the gateway answers (the others are services.common.errors')."""

from __future__ import annotations

from services.common.errors import BadRequest, DomainError, NotFound


class UpstreamTimedOut(DomainError):
    status_code = 504
    code = "upstream_timeout"
    message = "服务响应超时，请稍后再试"


class RouteNotFound(NotFound):
    code = "not_found"
    message = "接口不存在"


class DuplicateHeader(BadRequest):
    code = "duplicate_header"
    message = "请求头重复"

    def __init__(self, name: str) -> None:
        super().__init__(f"请求头 {name} 只能出现一次", details={"header": name})
