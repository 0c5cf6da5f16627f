"""Every error the billing service answers, each with its stable code and Chinese message.

Shared plumbing answers a few more: 404 `community_not_found` (`services.common.auth`), 400
`invalid_cursor`, 422 `validation_error` for a request that does not fit its schema, 401 for
a missing or bad token.
"""

from __future__ import annotations

from services.common.auth import CommunityNotFound
from services.common.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ServiceUnavailable,
    UnprocessableEntity,
)

__all__ = [
    "BillBeingPaid",
    "BillNotAdjustable",
    "BillNotFound",
    "BillNotPaid",
    "BillNotPayable",
    "CommunityNotFound",
    "FeeVersionExists",
    "GenerationConflict",
    "InvalidDate",
    "InvalidPeriod",
    "MixedCommunities",
    "NoFeeItems",
    "NoOpenid",
    "PaymentNotFound",
    "PaymentNotRefundable",
    "ReceiptNotReady",
    "WeChatPayUnavailable",
]


class BillNotFound(NotFound):
    code = "bill_not_found"
    message = "账单不存在"


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = "支付记录不存在"


class ReceiptNotReady(PaymentNotFound):
    code = "receipt_not_ready"
    message = "该笔支付尚未完成，没有收据"


class InvalidPeriod(UnprocessableEntity):
    code = "invalid_period"
    message = "账期格式不正确，应为 2026-12、2026-Q4 或 2026"


class InvalidDate(InvalidPeriod):
    code = "invalid_date"
    message = "日期格式不正确，应为 YYYY-MM-DD"


class NoFeeItems(UnprocessableEntity):
    code = "no_fee_items"
    message = "该账期没有生效的收费项目"


class BillNotPayable(Conflict):
    code = "bill_not_payable"
    message = "账单已缴清或已减免，无需支付"


class BillBeingPaid(Conflict):
    code = "bill_being_paid"
    message = "账单正在支付中，请勿重复支付"


class BillNotAdjustable(Conflict):
    code = "bill_not_adjustable"
    message = "只能调整或减免未缴的账单"


class BillNotPaid(Conflict):
    code = "bill_not_paid"
    message = "账单未缴费，无法退款"


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    message = "该笔支付无法退款"


class MixedCommunities(BadRequest):
    code = "mixed_communities"
    message = "一次只能支付同一小区的账单"


class NoOpenid(BadRequest):
    code = "no_openid"
    message = "请在微信小程序中登录后再支付"


class WeChatPayUnavailable(ServiceUnavailable):
    code = "wechatpay_unavailable"
    message = "微信支付暂时不可用，请稍后再试"


class FeeVersionExists(Conflict):
    code = "fee_version_exists"
    message = "该收费项目在此月份已有一个版本"


class GenerationConflict(Conflict):
    code = "generation_in_progress"
    message = "该账期正在生成账单，请稍后重试"
