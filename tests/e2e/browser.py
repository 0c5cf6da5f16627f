"""Playwright for Python on Debian's Chromium (never a downloaded browser build): the
browser fixture's helpers, and the checks run on every console page — screenshots at a
desk's 1366×768 and a manager's phone's 390×844, no horizontal overflow, an axe-core pass
with no serious or critical violation. Screenshots land in test-artefacts/console/
(gitignored; CONSOLE_ARTEFACTS moves them)."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.stack import ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTEFACTS = Path(os.environ.get("CONSOLE_ARTEFACTS", ROOT / "test-artefacts" / "console"))
VIEWPORTS = {"desk": (1366, 768), "phone": (390, 844)}
EXPECTED_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 4(01|03|22)\b")
ASSETS = frozenset({"script", "stylesheet", "image", "font", "media"})


def chromium_or_skip() -> str:
    """The Chromium binary. Missing it fails in CI (env CI set: `.ci/run` installs it), and
    only elsewhere is the browser test skipped."""
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if path:
        return path
    message = f"Chromium not found at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class PageAudit:
    """What the checks found over a whole browser session."""

    console_errors: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    audited: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self._console(page, m))
        page.on("pageerror", lambda e: self.console_errors.append(f"{page.url}: {e}"))
        page.on("requestfailed", lambda r: self.console_errors.append(f"{r.url}: {r.failure}"))
        page.on("response", lambda r: self._response(r))

    def _console(self, page: Any, message: Any) -> None:
        if message.type != "error":
            return
        # A form the API refused answers 4xx on purpose (the page shows why); the browser
        # logs that as a failed load. Failed assets are caught by `_response` instead.
        if EXPECTED_REFUSAL.match(message.text):
            return
        self.console_errors.append(f"{page.url}: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type in ASSETS:
            self.console_errors.append(f"{response.url}: {response.status}")

    def check(self, page: Any, name: str) -> None:
        """Screenshots at both sizes, no horizontal overflow at either, axe-core clean, and a
        title that is plain text (a template once left markup in the ticket page's title)."""
        title = page.title()
        assert title.endswith("物业管理后台") and "<" not in title, f"{name}: title {title!r}"
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        original = page.viewport_size
        for label, (width, height) in VIEWPORTS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(150)  # charts redraw on resize
            shot = ARTEFACTS / f"{name}-{label}-{width}x{height}.png"
            page.screenshot(path=str(shot), full_page=True)
            self.screenshots.append(shot)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{name} overflows horizontally by {overflow}px at {width}x{height}"
        page.set_viewport_size(original)
        violations = axe_violations(page)
        assert not violations, f"{name}: axe-core found {violations}"
        self.audited.append(name)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now. The script goes
    in through the DevTools protocol (page.evaluate), which the page's CSP does not govern."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations
              .filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => ({id: v.id, impact: v.impact, help: v.help,
                          targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }"""
    )
    return list(result)
