"""Playwright on Debian's chromium (never `playwright install`): install it if missing, or skip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def ensure_chromium() -> str | None:
    """The chromium path, installing the Debian package when possible; else the reason why not."""
    if os.path.exists(CHROMIUM):
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "chromium is missing and apt-get (as root) is not available"
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
        if result.returncode != 0:
            return f"{' '.join(cmd)} failed: {result.stderr.strip()[-300:]}"
    return None if os.path.exists(CHROMIUM) else "apt-get installed no /usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium() -> Any:
    # Module scope, not session: Playwright's sync API keeps an event loop running in the main
    # thread while it is open, which breaks every asyncio test that would run after it.
    reason = ensure_chromium()
    if reason:
        print(f"skipping browser tests: {reason}")
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipping browser tests: the playwright package is not installed")
        pytest.skip("the playwright package is not installed")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain sync code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(browser: Any, base_url: str, username: str) -> Any:
    context = browser.new_context(base_url=base_url, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"{username}-password-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return page
