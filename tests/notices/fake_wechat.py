"""A minimal WeChat for the push tests while the stand-in (wechat_standin) is not on this
branch: the same paths and test-only paths as the stand-in's contract (api.md), served
through httpx.MockTransport."""

from __future__ import annotations

import json
from typing import Any

import httpx


class FakeWeChat:
    def __init__(self) -> None:
        self.consents: dict[tuple[str, str], int] = {}
        self.messages: list[dict[str, Any]] = []
        self.faults: dict[str, list[dict[str, Any]]] = {}
        self.tokens = 0

    def _fault(self, path: str) -> httpx.Response | None:
        queue = self.faults.get(path) or []
        if not queue:
            return None
        fault = queue[0]
        fault["times"] -= 1
        if fault["times"] <= 0:
            queue.pop(0)
        if fault.get("http_status"):
            return httpx.Response(int(fault["http_status"]))
        return httpx.Response(200, json={"errcode": fault["errcode"], "errmsg": "fault"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        if path == "/_standin/consents":
            key = (body["openid"], body["template_id"])
            self.consents[key] = self.consents.get(key, 0) + 1
            return httpx.Response(200, json={"ok": True})
        if path == "/_standin/messages":
            touser = request.url.params.get("touser")
            return httpx.Response(200, json=[m for m in self.messages if touser in (None, m["touser"])])
        if path == "/_standin/faults":
            self.faults.setdefault(body["path"], []).append(dict(body))
            return httpx.Response(200, json={"ok": True})
        fault = self._fault(path)
        if fault is not None:
            return fault
        if path == "/cgi-bin/stable_token":
            self.tokens += 1
            return httpx.Response(200, json={"access_token": f"token-{self.tokens}", "expires_in": 7200})
        if path == "/cgi-bin/message/subscribe/send":
            if not request.url.params.get("access_token", "").startswith("token-"):
                return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"})
            key = (body["touser"], body["template_id"])
            if self.consents.get(key, 0) <= 0:
                return httpx.Response(200, json={"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            self.consents[key] -= 1
            self.messages.append(body)
            return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        return httpx.Response(404)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)
