"""The one error shape, `{"error": {code, message, details}}`, and the handlers that produce it.

Services raise `DomainError` subclasses; routers never build error responses themselves.
Messages are Simplified Chinese, fit to show to a person as they are.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("errors")


class DomainError(Exception):
    """An expected failure with a stable machine code and a Chinese message."""

    status_code: int = 400
    code: str = "bad_request"
    message: str = "请求无法处理"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details
        self.headers = headers
        super().__init__(self.message)


class BadRequest(DomainError):
    status_code = 400
    code = "bad_request"
    message = "请求无法处理"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"
    message = "请先登录"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    message = "没有权限执行此操作"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    message = "请求的资源不存在"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    message = "操作与当前状态冲突，请刷新后重试"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
    message = "请求内容过大"


class UnprocessableEntity(DomainError):
    status_code = 422
    code = "validation_error"
    message = "请求参数不正确"


class TooManyRequests(DomainError):
    status_code = 429
    code = "rate_limited"
    message = "操作过于频繁，请稍后再试"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"
    message = "服务暂时不可用，请稍后再试"


# --- errors of the shared plumbing (every service and the gateway answer them) -------------


class MissingToken(Unauthorized):
    code = "missing_token"
    message = "请先登录"


class InvalidToken(Unauthorized):
    code = "invalid_token"
    message = "登录凭证无效，请重新登录"


class TokenExpired(Unauthorized):
    code = "token_expired"
    message = "登录已过期，请重新登录"


class RolesChanged(Unauthorized):
    """The bearer's staff roles changed after the token was issued: refresh it."""

    code = "roles_changed"
    message = "账号权限已变更，请刷新登录状态"


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    message = "分页游标无效"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status_code, headers=headers)


# Pydantic error types -> Chinese, so the Mini Program can show the message as it is.
_VALIDATION_MESSAGES = {
    "missing": "缺少必填字段",
    "json_invalid": "请求体不是有效的 JSON",
    "json_type": "请求体必须是 JSON 对象",
    "model_attributes_type": "请求体格式不正确",
    "model_type": "请求体格式不正确",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "uuid_parsing": "编号格式不正确",
    "uuid_type": "编号格式不正确",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "too_short": "项目过少",
    "too_long": "项目过多",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "string_pattern_mismatch": "格式不正确",
    "datetime_parsing": "时间格式不正确",
    "datetime_type": "时间格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "date_parsing": "日期格式不正确",
    "extra_forbidden": "不允许的字段",
    "value_error": "取值不正确",
    "decimal_max_places": "小数位数过多",
    "decimal_max_digits": "数字位数过多",
    "timezone_aware": "时间必须带时区",
    "url_parsing": "网址格式不正确",
    "string_unicode": "包含无效的字符",
}


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn pydantic errors into `[{field, type, message}]` with Chinese messages."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        etype = err.get("type", "value_error")
        message = _VALIDATION_MESSAGES.get(etype, "取值不正确")
        # A custom validator's own Chinese message (ValueError("...")) wins over the generic one.
        ctx_error = (err.get("ctx") or {}).get("error")
        if etype == "value_error" and ctx_error is not None and str(ctx_error):
            message = str(ctx_error)
        out.append({"field": ".".join(loc), "type": etype, "message": message})
    return out


async def _domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(list(exc.errors()))
    message = "请求参数不正确"
    if details:
        first = details[0]
        message = f"请求参数不正确：{first['field'] or '请求体'}{first['message']}"
    return error_response(422, "validation_error", message, details)


_HTTP_STATUS_ERRORS = {
    400: ("bad_request", "请求无法处理"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("rate_limited", "操作过于频繁，请稍后再试"),
}


# FastAPI's own 400 for a body it cannot decode at all (JSON that is not UTF-8, a broken
# multipart form); malformed JSON text is a 422 `json_invalid` instead.
_BODY_PARSE_DETAIL = "There was an error parsing the body"


async def _http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message = _HTTP_STATUS_ERRORS.get(exc.status_code, ("http_error", "请求无法处理"))
    if exc.status_code == 400 and exc.detail == _BODY_PARSE_DETAIL:
        code, message = "body_unparsable", "请求体无法解析，请检查内容格式与编码（JSON 须为 UTF-8）"
    return error_response(exc.status_code, code, message, None, getattr(exc, "headers", None))


async def _unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    # Log the type and where, never the request body: it may hold personal data.
    log.exception("unhandled error", extra={"path": request.url.path})
    return error_response(500, "internal_error", "服务器内部错误，请稍后再试")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    app.add_exception_handler(Exception, _unhandled_handler)
