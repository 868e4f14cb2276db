"""A real browser (Debian's chromium, driven by Playwright) on the real platform of tests/e2e.

The platform fixtures are those of ``tests/e2e/conftest.py`` (every service as real processes on
private topics, databases and index alias). ``make browser`` installs chromium and axe-core; a
Playwright browser download is never used. Screenshots land in ``.artifacts/screenshots``.
"""

import importlib.util
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, Route, sync_playwright

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SCREENSHOTS = ROOT / ".artifacts" / "screenshots"
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (390, 1280)
# A 1x1 transparent PNG answers for every image of another host: the tests never leave the machine.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def _load_e2e() -> Any:
    spec = importlib.util.spec_from_file_location("newsflow_e2e_conftest", ROOT / "tests" / "e2e" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_e2e = _load_e2e()
platform = _e2e.platform
new_publisher = _e2e.new_publisher
word = _e2e.word
Platform = _e2e.Platform
Publisher = _e2e.Publisher


def chromium_path() -> str:
    found = os.environ.get("NEWSFLOW_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: run `make browser` (installs Debian's chromium and axe-core)")
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run `make browser`")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API runs an event loop while it is open, which must be gone
    # before any asyncio test of a later module runs.
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page with everything that must not happen recorded: dialogs, console errors, page errors."""

    page: Page
    context: BrowserContext
    width: int
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def goto(self, url: str) -> Page:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        return self.page

    def overflow(self) -> int:
        """How many pixels the page is wider than the window (0: no horizontal scroll)."""
        return int(self.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{self.width}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.width}-top.png"))  # what a reader sees first
        return path

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations of the current page."""
        if not self.page.evaluate("typeof window.axe === 'object'"):
            self.page.evaluate(AXE.read_text())
        result = self.page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
        violations: list[dict[str, Any]] = json.loads(result)
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:200] for n in v["nodes"][:5]]}
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]


@pytest.fixture
def tab(browser: Browser, platform: Any) -> Iterator[Callable[[int], Tab]]:
    """``tab(width)``: a fresh browser window of that width on the platform's gateway."""
    contexts: list[BrowserContext] = []

    def make(width: int = 1280) -> Tab:
        context = browser.new_context(viewport={"width": width, "height": 900}, base_url=platform.url)
        contexts.append(context)
        context.route(lambda url: not url.startswith(platform.url), _pixel)
        page = context.new_page()
        opened = Tab(page, context, width)

        def on_dialog(dialog: Dialog) -> None:
            opened.dialogs.append(dialog.message)
            dialog.dismiss()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                opened.errors.append(message.text)

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
        return opened

    yield make
    for context in contexts:
        context.close()


def _pixel(route: Route) -> None:
    if route.request.resource_type == "image":
        route.fulfill(status=200, content_type="image/png", body=PIXEL)
    else:
        route.abort()
