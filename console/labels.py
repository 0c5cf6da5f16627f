"""Chinese labels for the API's codes the console shows (the API's own labels win where it
sends one, e.g. a ticket's `status_label`)."""

from __future__ import annotations

TICKET_STATUSES = {
    "submitted": "待受理",
    "accepted": "已受理",
    "assigned": "已派单",
    "in_progress": "处理中",
    "on_hold": "挂起",
    "resolved": "待确认",
    "closed": "已完成",
    "cancelled": "已取消",
}
OPEN_TICKET_STATUSES = ("submitted", "accepted", "assigned", "in_progress", "on_hold")
TICKET_ACTIONS = {
    "submit": "提交报修",
    "claim": "抢单",
    "flag": "待重新派单",
    "accept": "受理",
    "accept_assign": "受理并派单",
    "assign": "派单",
    "start": "开始处理",
    "hold": "挂起",
    "resume": "恢复",
    "resolve": "完成",
    "confirm": "确认",
    "reopen": "重新打开",
    "cancel": "取消",
    "urge": "催办",
    "auto_close": "自动关闭",
}
# What the desk does from the console (crews start and resolve from the Mini Program).
DESK_ACTIONS = ("accept", "accept_assign", "assign", "cancel")
BINDING_STATUSES = {"pending": "待审核", "verified": "已认证", "rejected": "已驳回", "revoked": "已撤销"}
RELATIONS = {"owner": "业主", "family": "家属", "tenant": "租户"}
ROOM_STATES = {"unsold": "未售", "sold": "已售", "delivered": "已交付"}
VOTE_STATUSES = {"draft": "草稿", "open": "进行中", "closed": "已结束", "cancelled": "已取消"}
MATTERS = {"ordinary": "一般事项", "major": "重大事项"}
OUTCOMES = {"passed": "通过", "rejected": "未通过", "no_quorum": "参与不足"}
NOTICE_STATUSES = {
    "draft": "草稿",
    "submitted": "待审批",
    "approved": "已审批",
    "scheduled": "定时发布",
    "published": "已发布",
    "withdrawn": "已撤回",
    "expired": "已过期",
}
NOTICE_CATEGORIES = {
    "announcement": "公告",
    "emergency": "紧急通知",
    "maintenance": "维修停水停电",
    "activity": "社区活动",
    "rules": "规章制度",
}
AUDIENCES = {"community": "全体住户", "buildings": "指定楼栋", "units": "指定单元", "roles": "按身份"}
DEPARTMENTS = {"repair": "维修", "cleaning": "保洁", "security": "安保", "customer_service": "客服"}
STAFF_ROLES = {"manager": "物业经理", "crew": "维修人员"}
DELIVERY_STATUSES = {"dead": "投递失败", "pending": "待投递", "delivered": "已投递", "held": "暂停"}
