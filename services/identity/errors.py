"""Every error the identity service answers, each with its stable code and Chinese message.

Besides these, identity answers the shared plumbing's own errors: `community_not_found`
(`services.common.auth.CommunityNotFound`, re-exported here: unknown and foreign communities
look the same), `invalid_cursor` (pagination), `missing_token` / `invalid_token` /
`token_expired` / `forbidden` (authentication), and the request-level `validation_error`,
`body_unparsable`, `payload_too_large`.
"""

from __future__ import annotations

from typing import Any

from services.common.auth import CommunityNotFound
from services.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
)

__all__ = ["CommunityNotFound"]

# ---------------------------------------------------------------- places and the roster


class RosterInvalid(UnprocessableEntity):
    """Lines of the roster break its rules; `errors` lists each as `{line, reason}`."""

    code = "roster_invalid"
    message = "花名册有错误，未导入任何数据"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(
            f"花名册有 {len(errors)} 行错误，未导入任何数据", details={"errors": errors}
        )


class RosterFileError(UnprocessableEntity):
    """The file as a whole cannot be read as a roster (not text, empty, no header...)."""

    def __init__(self, message: str | None = None, *, line: int | None = None) -> None:
        text = message if message is not None else self.message
        super().__init__(text, details={"errors": [{"line": line, "reason": text}]})
        self.line = line


class RosterEmpty(RosterFileError):
    code = "roster_empty"
    message = "文件为空"


class RosterNotCsv(RosterFileError):
    code = "roster_not_csv"
    message = "文件不是有效的 CSV"


class RosterTooManyRows(RosterFileError):
    code = "roster_too_many_rows"


class RosterBadDelimiter(RosterFileError):
    code = "roster_bad_delimiter"
    message = "分隔符不正确，请使用逗号分隔的 CSV 文件"


class RosterBadHeader(RosterFileError):
    code = "roster_bad_header"


# ---------------------------------------------------------------- accounts and logins


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"
    message = "登录已失效，请重新登录"


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    message = "登录凭证已被使用，为保护账号安全，请重新登录"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "用户名或密码错误"


class TooManyLoginAttempts(TooManyRequests):
    code = "too_many_login_attempts"
    message = "登录失败次数过多，请稍后再试"


class AccountDisabled(Forbidden):
    code = "account_disabled"
    message = "该账号已停用"


class AccountGone(NotFound):
    code = "account_not_found"
    message = "账号不存在或已注销"


# ---------------------------------------------------------------- bindings


class RoomNotFound(NotFound):
    code = "room_not_found"
    message = "房间不存在"


class BindingNotFound(NotFound):
    code = "binding_not_found"
    message = "绑定记录不存在"


class AlreadyBound(Conflict):
    code = "already_bound"
    message = "您已绑定该房间或申请正在审核中"


class BindingNotPending(Conflict):
    code = "binding_not_pending"
    message = "该申请已处理，无法再次审核"


class BindingInactive(Conflict):
    code = "binding_inactive"
    message = "该绑定已失效"


class NotVerifiedOwner(Conflict):
    code = "not_verified_owner"
    message = "只有已认证的业主才能邀请家庭成员或租户"


class InvitationInvalid(BadRequest):
    code = "invitation_invalid"
    message = "邀请码无效、已使用或已过期"


# ---------------------------------------------------------------- staff


class TooManyBindingRequests(TooManyRequests):
    code = "binding_requests_exceeded"
    message = "今日绑定申请次数已达上限，请明天再试或联系物业"


class TooManyPendingOnRoom(TooManyRequests):
    code = "room_pending_exceeded"
    message = "该房间待审核的绑定申请过多，请联系物业处理"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    message = "员工不存在或已离职"


# ---------------------------------------------------------------- WeChat


class UsernameTaken(Conflict):
    """A manager may add new usernames or staff of their own community; linking an account of
    another community is the platform admin's act. The answer is the same whatever the other
    account is, as when anyone picks a taken username."""

    code = "username_taken"
    message = "该用户名已被占用，请换一个"


class WeChatAlreadyLinked(Conflict):
    code = "wechat_already_linked"
    message = "该微信已绑定其他账号，请换一个微信或联系管理员"


class WeChatUnlinkNotAllowed(Conflict):
    code = "wechat_unlink_not_allowed"
    message = "该账号只能用微信登录，无法解除微信绑定"


class WrongPassword(BadRequest):
    code = "wrong_password"
    message = "当前密码不正确"


class NoPassword(Conflict):
    code = "no_password"
    message = "该账号没有登录密码"


class PasswordResetForbidden(Forbidden):
    """The account is a platform admin or staff of a community the caller does not manage:
    resetting its password would hand over rights the caller does not have."""

    code = "password_reset_forbidden"
    message = "该员工还在您不管理的小区任职或是平台管理员，无法重置其密码"


class WeChatCodeInvalid(BadRequest):
    code = "wechat_code_invalid"
    message = "微信登录凭证无效或已使用，请重新登录"


class WeChatPhoneCodeInvalid(BadRequest):
    code = "wechat_phone_code_invalid"
    message = "手机号授权码无效或已使用，请重新授权"


class WeChatRiskyUser(Forbidden):
    code = "wechat_risky_user"
    message = "该微信账号存在风险，暂时无法登录"


class WeChatUnavailable(ServiceUnavailable):
    code = "wechat_unavailable"
    message = "微信服务暂时不可用，请稍后再试"


# ---------------------------------------------------------------- finding a community, its card


class SceneNotFound(NotFound):
    code = "scene_not_found"
    message = "二维码无效或已失效，请联系物业获取新的二维码"


class BuildingNotFound(NotFound):
    code = "building_not_found"
    message = "楼栋不存在"


class PhoneNotVerified(UnprocessableEntity):
    code = "phone_not_verified"
    message = "请先授权微信手机号，或填写姓名和手机号"


class ContactCardNotFound(NotFound):
    code = "contact_card_not_found"
    message = "物业尚未设置联系方式"
