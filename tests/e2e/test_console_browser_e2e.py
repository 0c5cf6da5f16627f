"""The manager's day in a real browser (Playwright on Debian's Chromium) against the real
stack through the gateway at /console/: log in, import a roster and watch the progress bar
finish, approve a pending binding, dispatch a ticket an owner filed through the API and see
the board follow the crew, create and open a vote and see turnout move as owners vote
through the API, close it and read the results, publish a notice and see the unread list
shrink as owners read it. Bad input shows the API's Chinese message next to the field and
changes nothing. Every page is screenshotted at 1366×768 and 390×844, checked for
horizontal overflow, console errors and axe-core violations."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from console.api import ApiClient
from console.sessions import Session
from scripts.stack import Stack
from tests.e2e.browser import PageAudit, chromium_or_skip
from tests.e2e.seed import bearer, eventually, png

ADMIN_PASSWORD = "console-admin-pass-1"
# A long flow polls while events cross processes; rate limits have their own e2e test.
STACK_ENV = {
    "GATEWAY_RATE_ACCOUNT_PER_SECOND": "100", "GATEWAY_RATE_ACCOUNT_BURST": "1000",
    "GATEWAY_RATE_IP_PER_SECOND": "200", "GATEWAY_RATE_IP_BURST": "2000",
    "PLATFORM_ADMIN_USERNAME": "console-admin", "PLATFORM_ADMIN_PASSWORD": ADMIN_PASSWORD,
}
# Rooms beyond the two owners', so the upload is big enough for the progress bar to move.
EXTRA_ROOMS = 200
WAIT = 30_000  # ms: events between services are asynchronous
EVENTS_TIMEOUT = 60.0  # s: the roster's rooms cross to every service first


def roster_csv() -> bytes:
    lines = ["楼栋,单元,房号,面积,状态,业主姓名,手机号",
             "1栋,1单元,101,89.50,已交付,李明,13812341234",
             "1栋,1单元,102,100.00,已交付,王芳,13900001111"]
    lines += [f"9栋,{1 + i // 50}单元,{1000 + i},88.00,未售,," for i in range(EXTRA_ROOMS)]
    return ("\n".join(lines) + "\n").encode("gbk")


def _in_thread(work: Callable[[], None]) -> None:
    """Runs `work` on a thread of its own: sync Playwright keeps an event loop running on
    its thread, where pytest-asyncio's fixtures (this suite's autouse ones) could not run."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # re-raised on the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="playwright")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def _wechat_owner(stack: Stack, gateway: httpx.Client, phone: str | None) -> dict[str, str]:
    with httpx.Client(base_url=stack.url("wechat"), trust_env=False) as wechat:
        code = wechat.post("/_standin/login-codes", json={"openid": f"o-{uuid.uuid4().hex[:12]}"}).json()["code"]
        login = _ok(gateway.post("/api/v1/auth/wechat-login", json={"code": code}))
        headers = bearer(login["access_token"])
        if phone is not None:
            phone_code = wechat.post("/_standin/phone-codes", json={"phone": phone}).json()["code"]
            _ok(gateway.post("/api/v1/me/phone", json={"code": phone_code}, headers=headers))
    return headers


def _log_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/console/")


def test_a_managers_day_in_the_browser(stack: Stack) -> None:
    executable = chromium_or_skip()
    _in_thread(lambda: _managers_day(stack, executable))


def _managers_day(stack: Stack, executable: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    # A loaded CI machine: pages make several API calls each, so waits are generous.
    expect.set_options(timeout=15_000)

    with sync_playwright() as pw, httpx.Client(
        base_url=stack.url("gateway"), headers={"X-Forwarded-For": "10.16.0.1"}, timeout=30, trust_env=False
    ) as gateway:
        chromium = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            _day(stack, gateway, chromium, expect)
        finally:
            chromium.close()


def _day(stack: Stack, gateway: httpx.Client, chromium: Any, expect: Any) -> None:
    base = stack.url("gateway")
    admin = bearer(stack.issue_token(f"admin-{uuid.uuid4().hex[:8]}", platform_admin=True))
    cid = _ok(gateway.post("/api/v1/communities", json={"name": "阳光花园"}, headers=admin), 201)["id"]
    manager_name = f"mgr{uuid.uuid4().hex[:6]}"
    _ok(gateway.post(f"/api/v1/communities/{cid}/staff", json={
        "username": manager_name, "password": "manager-pass-1", "name": "张经理", "phone": "13600000000",
        "role": "manager", "department": None}, headers=admin), 201)
    second_manager = f"mgr{uuid.uuid4().hex[:6]}"
    _ok(gateway.post(f"/api/v1/communities/{cid}/staff", json={
        "username": second_manager, "password": "manager-pass-2", "name": "刘经理", "phone": "13600000002",
        "role": "manager", "department": None}, headers=admin), 201)
    crew_name = f"crew{uuid.uuid4().hex[:6]}"
    _ok(gateway.post(f"/api/v1/communities/{cid}/staff", json={
        "username": crew_name, "password": "crew-pass-123", "name": "王师傅", "phone": "13700000000",
        "role": "crew", "department": "repair"}, headers=admin), 201)
    crew_login = _ok(gateway.post("/api/v1/auth/staff-login", json={"username": crew_name, "password": "crew-pass-123"}))
    crew = bearer(crew_login["access_token"])
    crew_id = crew_login["account"]["id"]

    audit = PageAudit()
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.set_default_timeout(WAIT)
    page = context.new_page()
    audit.watch(page)

    # 登录: a wrong password is answered in Chinese next to the password field.
    page.goto(f"{base}/console/login")
    audit.check(page, "login")
    page.fill("#f-username", manager_name)
    page.fill("#f-password", "wrong-password")
    page.click("main button[type=submit]")
    expect(page.locator("#e-password")).to_have_text(re.compile("[\u4e00-\u9fff]"))
    assert page.url.endswith("/console/login")
    page.fill("#f-password", "manager-pass-1")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/console/")
    expect(page.locator("h1")).to_have_text("工作台")
    audit.check(page, "dashboard")

    # 房产与名册: a refused file shows its error table, and nothing is imported ...
    page.goto(f"{base}/console/rooms")
    page.set_input_files("#f-file", files=[{"name": "bad.csv", "mimeType": "text/csv",
                                            "buffer": "楼栋,单元,房号,面积,状态,业主姓名,手机号\n1栋,,101,abc,已交付,李明,138\n".encode()}])
    page.click("#roster-form button[type=submit]")
    expect(page.locator("#roster-errors tbody tr").first).to_contain_text("2")
    assert _ok(gateway.get(f"/api/v1/communities/{cid}/buildings", headers=admin))["buildings"] == []
    # ... then the real roster, with the progress bar run to its end.
    page.set_input_files("#f-file", files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": roster_csv()}])
    page.click("#roster-form button[type=submit]")
    expect(page.locator("#roster-done")).to_contain_text(f"新建房间 {EXTRA_ROOMS + 2} 间", timeout=WAIT)
    value, maximum = page.eval_on_selector("#roster-progress", "e => [e.value, e.max]")
    assert maximum > 5000 and value == maximum  # bytes: the whole file went up
    expect(page.locator("#roster-progress-text")).to_have_text("100%")
    page.goto(f"{base}/console/rooms")
    expect(page.locator("main table").first).to_contain_text("1栋1单元101")
    audit.check(page, "rooms")

    # Two owners: 李明 verified by WeChat's phone; 王芳 without it, so her claim waits for review.
    owner_a = _wechat_owner(stack, gateway, "13812341234")
    owner_b = _wechat_owner(stack, gateway, None)
    tree = _ok(gateway.get(f"/api/v1/communities/{cid}/buildings", headers=owner_a))
    rooms = {r["room_no"]: r["id"] for b in tree["buildings"] for u in b["units"] for r in u["rooms"]}
    binding_a = _ok(gateway.post("/api/v1/me/bindings", json={
        "room_id": rooms["101"], "relation": "owner", "name": "李明", "phone": "13812341234"}, headers=owner_a), 201)
    assert binding_a["status"] == "verified"
    binding_b = _ok(gateway.post("/api/v1/me/bindings", json={
        "room_id": rooms["102"], "relation": "owner", "name": "王芳", "phone": "13900001111"}, headers=owner_b), 201)
    assert binding_b["status"] == "pending"

    # 认证审核: a rejection without a reason is refused by the API next to the field ...
    page.goto(f"{base}/console/bindings")
    card = page.locator(f"#binding-{binding_b['id']}")
    expect(card).to_contain_text("王芳")
    audit.check(page, "bindings")
    card.get_by_role("button", name="驳回").click()
    expect(page.locator(f"#binding-{binding_b['id']} [data-field=reason]")).to_have_text(re.compile("[\u4e00-\u9fff]"))
    pending = _ok(gateway.get(f"/api/v1/communities/{cid}/bindings?status=pending", headers=admin))["items"]
    assert [b["id"] for b in pending] == [binding_b["id"]]
    # ... and approving verifies it.
    page.locator(f"#binding-{binding_b['id']}").get_by_role("button", name="通过").click()
    expect(page.locator("main .notice")).to_contain_text("认证已通过")
    expect(page.locator(f"#binding-{binding_b['id']}")).to_have_count(0)
    assert _ok(gateway.get(f"/api/v1/communities/{cid}/bindings?status=verified", headers=admin))["items"]
    page.goto(f"{base}/console/bindings/cleanup")
    audit.check(page, "bindings-cleanup")

    # 报事报修: the owner files a ticket through the API; the open board shows it without a reload.
    page.goto(f"{base}/console/tickets")
    audit.check(page, "tickets")
    report = {"community_id": cid, "kind": "repair", "category": "water", "room_id": rooms["101"],
              "description": "厨房水管漏水", "contact_phone": "13812341234"}
    tries: list[httpx.Response] = []

    def file_ticket() -> Any:
        photo = gateway.post("/api/v1/uploads", files={"file": ("leak.png", png(), "image/png")}, headers=owner_a)
        tries.append(photo)
        if photo.status_code != 201:
            return None
        tries.append(gateway.post("/api/v1/repairs", json={**report, "photo_ids": [photo.json()["id"]]}, headers=owner_a))
        return tries[-1].status_code == 201 and tries[-1].json()

    try:
        ticket = eventually(file_ticket, "repairs to learn the owner's binding", timeout=EVENTS_TIMEOUT)
    except AssertionError:
        raise AssertionError(tries[-1].text) from None
    card = page.locator(f"section[data-status=submitted] [data-ticket='{ticket['id']}']")
    expect(card).to_be_visible(timeout=WAIT)
    card.click()
    page.wait_for_url(f"{base}/console/tickets/{ticket['id']}")
    expect(page.locator(".photos img").first).to_have_js_property("naturalWidth", 32)  # via the console
    expect(page.locator("ol.timeline").first).to_contain_text("提交报修")  # each step in Chinese
    # The conversation: a message the household sees, an internal note it does not.
    page.fill("#f-text", "师傅下午两点上门，请家里留人")
    page.get_by_role("button", name="发送").click()
    expect(page.locator("main .notice")).to_contain_text("留言已发送")
    expect(page.locator("#comment-list")).to_contain_text("师傅下午两点上门")
    page.fill("#f-text", "业主反映多次，优先处理")
    page.check("#f-internal")
    page.get_by_role("button", name="发送").click()
    expect(page.locator("#comment-list")).to_contain_text("内部备注")
    seen = _ok(gateway.get(f"/api/v1/repairs/{ticket['id']}/comments", headers=owner_a))["items"]
    assert [c["text"] for c in seen] == ["师傅下午两点上门，请家里留人"]
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.locator("main .notice")).to_contain_text("工单已受理")
    audit.check(page, "ticket")
    # Assigning without choosing anyone: the API's message next to the field, nothing changes.
    page.get_by_role("button", name="派单").click()
    expect(page.locator("#e-assignee_id")).to_have_text(re.compile("[\u4e00-\u9fff]"))
    assert _ok(gateway.get(f"/api/v1/repairs/{ticket['id']}", headers=admin))["status"] == "accepted"

    def assign() -> bool:
        page.goto(f"{base}/console/tickets/{ticket['id']}")
        # The desk's workload list: the crew appear once repairs has heard of them.
        if page.locator(f"#f-assignee_id option[value='{crew_id}']").count() == 0:
            return False
        expect(page.locator(f"#f-assignee_id option[value='{crew_id}']")).to_contain_text("王师傅（维修） · 在办 0 单")
        page.select_option("#f-assignee_id", crew_id)
        page.get_by_role("button", name="派单").click()
        return page.locator("main .notice").count() > 0

    eventually(assign, "the ticket to be assigned to the crew member", timeout=EVENTS_TIMEOUT)
    expect(page.locator("#assignee")).to_have_text("王师傅")
    page.goto(f"{base}/console/tickets")
    expect(page.locator(f"section[data-status=assigned] [data-ticket='{ticket['id']}']")).to_be_visible()
    _ok(gateway.post(f"/api/v1/repairs/{ticket['id']}/transitions", json={"action": "start"}, headers=crew))
    expect(page.locator(f"section[data-status=in_progress] [data-ticket='{ticket['id']}']")).to_be_visible(timeout=WAIT)
    # A second ticket, accepted and dispatched in one step; the list shows the crew's load.
    photo = _ok(gateway.post("/api/v1/uploads", files={"file": ("drain.png", png(), "image/png")}, headers=owner_a), 201)
    second = _ok(gateway.post("/api/v1/repairs", json={
        **report, "description": "卫生间地漏堵塞", "photo_ids": [photo["id"]]}, headers=owner_a), 201)
    page.goto(f"{base}/console/tickets/{second['id']}")
    expect(page.locator(f"#f-assignee_id option[value='{crew_id}']")).to_contain_text("在办 1 单")
    page.select_option("#f-assignee_id", crew_id)
    page.get_by_role("button", name="受理并派单").click()
    expect(page.locator("main .notice")).to_contain_text("工单已受理并派单")
    expect(page.locator("#assignee")).to_have_text("王师傅")
    assert _ok(gateway.get(f"/api/v1/repairs/{second['id']}", headers=admin))["status"] == "assigned"

    # 投票: no closing time is refused with the API's message by the field, no vote is made.
    page.goto(f"{base}/console/votes/new")
    audit.check(page, "vote-new")
    page.fill("#f-title", "关于使用维修资金更换电梯")
    page.fill("#f-motion_title_0", "使用维修资金更换 1 栋电梯")
    page.select_option("#f-motion_matter_0", "major")
    page.click("main button[type=submit]")
    expect(page.locator("#e-closes_at")).to_have_text(re.compile("[\u4e00-\u9fff]"))
    assert _ok(gateway.get(f"/api/v1/votes?community_id={cid}", headers=admin))["items"] == []
    closes = (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#f-closes_at", closes)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/votes/[0-9a-f-]+$"))
    vote_id = page.url.rsplit("/", 1)[1]

    def open_vote() -> bool:
        page.goto(f"{base}/console/votes/{vote_id}")
        if page.get_by_role("button", name="开始投票").count():
            page.get_by_role("button", name="开始投票").click()
        return page.locator("#vote-status").inner_text() == "进行中"  # once votes knows the rooms

    eventually(open_vote, "the vote to open", timeout=EVENTS_TIMEOUT)
    expect(page.locator("#ballots-cast")).to_have_text("0")
    audit.check(page, "vote-open")
    detail = _ok(gateway.get(f"/api/v1/votes/{vote_id}", headers=owner_a))
    motion = detail["items"][0]
    for owner, room in ((owner_a, rooms["101"]), (owner_b, rooms["102"])):
        eventually(lambda o=owner, r=room: gateway.post(f"/api/v1/votes/{vote_id}/ballots", json={
            "room_id": r, "answers": [{"item_id": motion["id"], "option_ids": ["agree"]}]}, headers=o).status_code == 201,
            "the owner's ballot")
        expected = "1" if room == rooms["101"] else "2"
        expect(page.locator("#ballots-cast")).to_have_text(expected, timeout=WAIT)
    page.get_by_role("button", name="结束投票").click()
    expect(page.locator("#vote-status")).to_have_text("已结束")
    expect(page.locator(".outcome").first).to_have_text(re.compile("通过|未通过|参与不足"))
    audit.check(page, "vote-closed")
    csv = page.request.get(f"{base}/console/votes/{vote_id}/ballots.csv")
    assert csv.status == 200 and "1栋1单元101" in csv.text()
    page.goto(f"{base}/console/votes")
    audit.check(page, "votes")

    # 通知公告: an empty title is refused by the field; then an emergency, published at once.
    page.goto(f"{base}/console/notices/new")
    audit.check(page, "notice-new")
    page.select_option("#f-category", "emergency")
    page.fill("#f-body", "今晚 22:00 起 1 栋停水检修")
    page.click("main button[type=submit]")
    expect(page.locator("#e-title")).to_have_text(re.compile("[\u4e00-\u9fff]"))
    assert _ok(gateway.get(f"/api/v1/notices?community_id={cid}&view=manage", headers=admin))["items"] == []
    page.fill("#f-title", "紧急停水通知")
    page.fill("#f-expires_at", (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/notices/[0-9a-zA-Z-]+$"))
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#notice-status")).to_have_text("已发布")
    expect(page.locator("#unread-count")).to_have_text("2", timeout=WAIT)
    notice_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="再次提醒未读").click()
    expect(page.locator("main .notice")).to_contain_text("已再次提醒 2 户未读住户")
    page.get_by_role("button", name="再次提醒未读").click()  # once per interval: refused in Chinese
    expect(page.locator("[data-field=_]")).to_have_text(re.compile("[\u4e00-\u9fff]"))
    audit.check(page, "notice")
    for owner, left in ((owner_a, "1"), (owner_b, "0")):
        _ok(gateway.get(f"/api/v1/notices/{notice_id}", headers=owner))  # the owner opens it
        expect(page.locator("#unread-count")).to_have_text(left, timeout=WAIT)
    csv = page.request.get(f"{base}/console/notices/{notice_id}/receipts.csv")
    assert csv.status == 200 and "1栋1单元101" in csv.text()
    # An announcement needs another manager's approval: submitted here, approved by 刘经理.
    page.goto(f"{base}/console/notices/new")
    page.fill("#f-title", "电梯年检通知")
    page.fill("#f-body", "下周一 1 栋电梯年检")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/notices/[0-9a-zA-Z-]+$"))
    announcement = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="提交审批").click()
    expect(page.locator("#notice-status")).to_have_text("待审批")
    page.get_by_role("button", name="审批通过").click()  # not by its own author
    expect(page.locator("[data-field=_]")).to_have_text(re.compile("[\u4e00-\u9fff]"))
    expect(page.locator("#notice-status")).to_have_text("待审批")
    other = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    other.set_default_timeout(WAIT)
    other_page = other.new_page()
    audit.watch(other_page)
    _log_in(other_page, base, second_manager, "manager-pass-2")
    other_page.goto(f"{base}/console/notices/{announcement}")
    other_page.get_by_role("button", name="审批通过").click()
    expect(other_page.locator("#notice-status")).to_have_text("已审批")
    other_page.get_by_role("button", name="发布").click()
    expect(other_page.locator("#notice-status")).to_have_text("已发布")
    other.close()
    page.goto(f"{base}/console/notices")
    audit.check(page, "notices")

    # 员工 and the rest of the manager's pages.
    # 员工: a crew member's password reset, shown once; the crew member logs in with it.
    page.goto(f"{base}/console/staff")
    page.get_by_role("button", name="重置密码 王师傅").click()
    expect(page.locator("#staff-reset")).to_contain_text("王师傅")
    new_crew_password = page.locator("#reset-password").inner_text()
    assert len(new_crew_password) >= 8
    assert gateway.post("/api/v1/auth/staff-login", json={"username": crew_name, "password": "crew-pass-123"}).status_code == 401
    _ok(gateway.post("/api/v1/auth/staff-login", json={"username": crew_name, "password": new_crew_password}))
    audit.check(page, "staff")
    page.goto(f"{base}/console/")
    expect(page.locator("main")).to_contain_text("紧急停水通知")
    audit.check(page, "dashboard-evening")
    # 修改密码: a wrong current password is refused by its field; then the change ends the
    # session and the new password logs in.
    page.goto(f"{base}/console/password")
    audit.check(page, "password")
    page.fill("#f-current_password", "not-my-password")
    page.fill("#f-new_password", "manager-pass-new")
    page.fill("#f-new_password_again", "manager-pass-new")
    page.get_by_role("button", name="修改密码").last.click()
    expect(page.locator("#e-current_password")).to_have_text("当前密码不正确")
    page.fill("#f-current_password", "manager-pass-1")
    page.fill("#f-new_password", "manager-pass-new")
    page.fill("#f-new_password_again", "manager-pass-new")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base}/console/login?changed=1")
    expect(page.locator("#password-changed")).to_contain_text("密码已修改")
    audit.check(page, "login-after-change")
    page.fill("#f-username", manager_name)
    page.fill("#f-password", "manager-pass-1")
    page.click("main button[type=submit]")
    expect(page.locator("#e-password")).to_have_text(re.compile("[\u4e00-\u9fff]"))
    _log_in(page, base, manager_name, "manager-pass-new")

    # 退出: the session ends and its refresh token no longer works.
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(f"{base}/console/login")
    page.goto(f"{base}/console/tickets")
    page.wait_for_url(f"{base}/console/login")
    context.close()

    # The platform admin's pages: communities and event deliveries.
    admin_context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    admin_context.set_default_timeout(WAIT)
    admin_page = admin_context.new_page()
    audit.watch(admin_page)
    _log_in(admin_page, base, "console-admin", ADMIN_PASSWORD)
    admin_page.goto(f"{base}/console/deliveries")
    expect(admin_page.locator("#svc-identity")).to_contain_text("账号服务")
    audit.check(admin_page, "deliveries")
    admin_page.goto(f"{base}/console/communities")
    audit.check(admin_page, "communities")
    admin_context.close()

    assert not audit.console_errors, audit.console_errors
    assert len(audit.screenshots) == 2 * len(audit.audited)


async def test_the_consoles_logout_kills_the_refresh_token_family_in_the_real_api(stack: Stack) -> None:
    api = ApiClient(stack.url("gateway"), 10.0)
    try:
        pair = await api.staff_login("console-admin", ADMIN_PASSWORD, None)
        session = Session(id="s", csrf="c", access_token=pair.access_token, refresh_token=pair.refresh_token,
                          access_expires_at=0.0, account_id=str(pair.account["id"]), name="", platform_admin=True)
        assert await api.revoke(session, None) is True
        refused = await api.http.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token})
        assert refused.status_code == 401
    finally:
        await api.aclose()
