"""Browser tests on Debian's Chromium, driven by Playwright for Python (never `playwright install`: the browser is
the system's, `/usr/bin/chromium`, which `./dev test` installs with apt-get when it is missing).

`open_browser()` starts a headless Chromium; `Browser.page(name)` gives a page whose every loaded page is saved
as a screenshot in `screenshots/<name>/NN-<path>.png` at the repository's root (not committed), so anyone can look
at what officers see. `shoot()` saves the page as it stands now (after a page's own script changed it).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "screenshots"
# Officers' screens: a 1366×768 laptop (the issue's smallest) unless a test says otherwise (a tablet: 1024×768).
VIEWPORT = {"width": 1366, "height": 768}


def _slug(url: str) -> str:
    path = urlsplit(url).path.strip("/") or "root"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path)[:60]


@dataclass
class Shots:
    """Numbered screenshots of one page's visits, in one folder."""

    folder: Path
    taken: list[Path] = field(default_factory=list)
    _count: int = 0

    def next_path(self, url: str, label: str = "") -> Path:
        self._count += 1
        return self.folder / f"{self._count:02d}-{_slug(url)}{'-' + label if label else ''}.png"

    async def take(self, page, label: str = "") -> None:  # page: playwright.async_api.Page
        path = self.next_path(page.url, label)
        await page.screenshot(path=path, full_page=True)
        self.taken.append(path)


class Browser:
    def __init__(self, browser, folder: Path) -> None:  # browser: playwright.async_api.Browser
        self._browser = browser
        self.folder = folder
        self._pending: set[asyncio.Task] = set()
        self.shots: dict[str, Shots] = {}

    async def page(self, name: str, *, viewport: dict[str, int] | None = None, base_url: str | None = None):
        """A new page in a fresh context (its own cookies); each page it loads is photographed into
        `screenshots/<folder>/<name>/`."""
        context = await self._browser.new_context(
            viewport=viewport or VIEWPORT, base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        page = await context.new_page()
        shots = self.shots[name] = Shots(self.folder / name)
        shots.folder.mkdir(parents=True, exist_ok=True)

        async def on_load() -> None:
            try:
                await shots.take(page)
            except Exception:  # the page closed or navigated on meanwhile: the next load is photographed
                return

        def loaded(_: object) -> None:
            task = asyncio.ensure_future(on_load())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

        page.on("load", loaded)
        return _Settling(page, self)

    async def shoot(self, page, name: str, label: str) -> Path:
        """The page as it stands now, into its folder."""
        await self.settle()
        shots = self.shots[name]
        await shots.take(page, label)
        return shots.taken[-1]

    async def settle(self) -> None:
        """Waits for the screenshots under way."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


# The page's own actions that may leave the page: each waits for the screenshots under way first, so that a busy
# machine never loses the picture of a page the test moves on from (the load's shot would fail mid-navigation).
_LEAVING = frozenset({"click", "dblclick", "tap", "press", "goto", "reload", "go_back", "go_forward", "check",
                      "uncheck", "select_option", "set_input_files", "dispatch_event", "fill", "close"})  # fmt: skip


class _Settling:
    """A Playwright page whose actions that may navigate first let the screenshots under way finish."""

    def __init__(self, page, browser: Browser) -> None:
        self._page = page
        self._browser = browser

    def __getattr__(self, name: str):
        attribute = getattr(self._page, name)
        if name not in _LEAVING:
            return attribute

        async def settled(*args, **kwargs):
            await self._browser.settle()
            return await attribute(*args, **kwargs)

        return settled


@asynccontextmanager
async def open_browser(folder: str) -> AsyncIterator[Browser]:
    """Headless Chromium (the system's), its screenshots under `screenshots/<folder>/` (emptied first)."""
    from playwright.async_api import async_playwright

    if not CHROMIUM.exists():  # noqa: ASYNC240 - once, before the browser starts
        raise RuntimeError(f"{CHROMIUM} is missing: `./dev test` installs Debian's chromium (apt-get install chromium)")
    target = SCREENSHOTS / folder
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        wrapped = Browser(browser, target)
        try:
            yield wrapped
        finally:
            await wrapped.settle()
            await browser.close()
