"""Chinese names of statuses and actions, as the Mini Program shows them."""

STATUS_LABELS = {
    "submitted": "已提交",
    "accepted": "已受理",
    "assigned": "已派单",
    "in_progress": "处理中",
    "on_hold": "待料暂停",
    "resolved": "待确认",
    "closed": "已完成",
    "cancelled": "已取消",
}
ACTION_LABELS = {
    "accept": "受理",
    "assign": "派单",
    "accept_assign": "受理并派单",
    "claim": "抢单",
    "start": "上门处理",
    "hold": "暂停",
    "resume": "恢复处理",
    "resolve": "完成维修",
    "confirm": "确认完成",
    "reopen": "重新打开",
    "cancel": "取消",
    "urge": "催单",
    "auto_close": "自动关闭",
}
