"""Headless Debian chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.servers import ConsoleServer

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True), sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def login(
    page: Page,
    server: ConsoleServer,
    *,
    name: str | None = None,
    password: str | None = None,
    path: str = "/",
    ready: str = ".conn-live",
) -> None:
    """Open `path` on a started console server, sign in on the login page it sends us to, and wait for `ready`.

    `server` is the `console_server` fixture; `name` and `password` default to its
    dispatcher. The default `ready` selector appears once the live map's socket is connected, so a
    test that logs in can count on live updates from then on.
    """
    page.goto(f"{server.url}{path}")
    assert "/login" in page.url, f"{path} opened without a login ({page.url})"
    page.fill("input[name=name]", server.dispatcher_name if name is None else name)
    page.fill("input[name=password]", server.dispatcher_password if password is None else password)
    page.click("button[type=submit]")
    page.wait_for_selector(ready, timeout=15_000)
