"""Headless Debian chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.servers import ConsoleServer, wait_until

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


def watched_page(browser: Browser, **context: object) -> Iterator[Page]:
    """A page in a new browser context (`context`: its options) that keeps its console errors and uncaught exceptions
    on `page.errors`, for a module's `page` fixture to yield; the context is closed after."""
    opened = browser.new_context(**context)  # type: ignore[arg-type]
    page = opened.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    opened.close()


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
    sign_in(page, server.url, server.dispatcher_name if name is None else name,
            server.dispatcher_password if password is None else password, path=path, ready=ready)  # fmt: skip


def sign_in(
    page: Page,
    url: str,
    name: str,
    password: str,
    *,
    path: str = "/",
    ready: str = ".conn-live",
    timeout_ms: int = 15_000,
) -> None:
    """Open `path` on the console at `url`, sign in as `name` on the login page it sends us to, and wait for `ready`
    (`login`'s steps for any console: the benches sign in to their demo deployment's logins)."""
    page.goto(f"{url}{path}")
    assert "/login" in page.url, f"{path} opened without a login ({page.url})"
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector(ready, timeout=timeout_ms)


def hover_label(
    page: Page,
    target: str,
    shows: str | Callable[[str], bool],
    *,
    label: str = ".leaflet-tooltip",
    timeout_s: float = 10,
) -> None:
    """Hover the map marker `target` until a label (`label`: a selector of Leaflet tooltips) whose text `shows` accepts
    (a str: equal to it) is on the page; fail naming the labels shown if none comes.

    A marker can leave the pointer that just reached it: the live map fits its view to a marker drawn outside it 50 ms
    after drawing it, and the label closes as the marker moves away (seen: a worker's label gone before the test
    looked). So each look hovers the marker where it is now, the pointer leaving first (one resting on a marker gets no
    new mouseover), until the label reads as expected.
    """
    accepts = (lambda text: text == shows) if isinstance(shows, str) else shows
    seen: list[str] = []

    def shown() -> bool:
        page.mouse.move(0, 0)
        page.hover(target, force=True, timeout=5_000)
        seen[:] = page.locator(label).all_inner_texts()
        return any(accepts(text) for text in seen)

    wanted = repr(shows) if isinstance(shows, str) else "as expected"
    wait_until(shown, timeout_s, lambda: f"a label reading {wanted} on hovering {target} (labels shown: {seen})")


def choose_option(page: Page, dropdown: Locator, text: str, *, exact: bool = False, timeout_ms: int = 15_000) -> None:
    """Open a Dash dropdown, click the option labelled `text` (or starting with `text` and a space, unless `exact`),
    close the menu, and wait until the dropdown shows the choice.

    Dash 4's dropdown, when opened, first draws the options it had when it was last open and then, in an effect,
    the current ones, reusing the rows: a click in between lands on whichever option the row holds by then (seen: the
    published plan clicked, the newer draft picked). So the pick is checked, and made once more if the dropdown shows
    something else; the second opening draws the current options at once.
    """
    label = rf"^\s*{re.escape(text.strip())}" + (r"\s*$" if exact else r"(\s|$)")
    option = page.locator(".dash-dropdown-content .dash-dropdown-option").filter(has_text=re.compile(label))
    shown = dropdown.filter(has_text=re.compile(rf"^\s*{re.escape(text.strip())}"))
    for _attempt in range(2):
        dropdown.click()
        option.click(timeout=timeout_ms)  # strict: exactly one option may match
        if page.locator(".dash-dropdown-content").count():
            page.keyboard.press("Escape")
        page.wait_for_selector(".dash-dropdown-content", state="detached", timeout=timeout_ms)
        try:
            shown.wait_for(timeout=timeout_ms // 3)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the dropdown shows {dropdown.inner_text()!r} after picking {text!r} twice")


# The page's next fetch of a URL starting with `path` (and, with `bodyHas`, whose request body holds that text), read
# from the server at once but handed to the page's script only on `window.__release()`; `window.__fetchRead` turns
# true once the server has answered, and `window.__fetchBody` holds the answer's text.
HOLD_FETCH = """([path, bodyHas]) => {
  const real = window.fetch;
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  window.__release = release;
  window.__fetchRead = false;
  window.fetch = (url, options) => {
    if (!String(url).startsWith(path)) return real(url, options);
    if (bodyHas && !String((options && options.body) || "").includes(bodyHas)) return real(url, options);
    window.fetch = real;
    return real(url, options).then((answer) => answer.text().then((body) => {
      window.__fetchRead = true;
      window.__fetchBody = body;
      const held = { status: answer.status, headers: { "Content-Type": "application/json" } };
      return gate.then(() => new Response(body, held));
    }));
  };
}"""


def hold_fetch(page: Page, path: str, *, body_has: str | None = None) -> None:
    """Make the page's next fetch of a URL starting with `path` (whose request body holds `body_has`, if given: a
    Dash callback's, say) read its answer from the server at once but hand it to the page's script only when the
    test calls `window.__release()`; `window.__fetchRead` turns true once the server has answered (its text in
    `window.__fetchBody`). Pushes can then arrive between the server's read and the page's use of it, as they may on
    any connect; later fetches go through untouched."""
    page.evaluate(HOLD_FETCH, [path, body_has])


def hold_fetch_at_load(page: Page, path: str) -> None:
    """`hold_fetch` for the page's next load, from before its own scripts run (a read the page makes as it opens)."""
    page.add_init_script(script=f"({HOLD_FETCH})({json.dumps([path, None])})")


HOLD_SEND = """(path) => {
  const real = window.fetch;
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  window.__release = release;
  window.__answeredAfterHeld = 0;
  let held = false;
  window.fetch = (url, options) => {
    if (!String(url).startsWith(path)) return real(url, options);
    if (held) return real(url, options).then((answer) => { window.__answeredAfterHeld += 1; return answer; });
    held = true;
    return gate.then(() => real(url, options));
  };
}"""


def hold_send(page: Page, path: str) -> None:
    """Make the page's next fetch of a URL starting with `path` leave for the server only when the test calls
    `window.__release()`, as a request slowed on its way may; later fetches of that path go at once, and
    `window.__answeredAfterHeld` counts those answered. Two changes sent one after the other can then reach the
    server in the other order."""
    page.evaluate(HOLD_SEND, path)


def reread_held(page: Page, server: ConsoleServer, path: str) -> None:
    """Make the open wall screen read `path` again, as it does when the relay says `resync`, with that read held
    (`hold_fetch`): on return the server has answered it, and the page gets the answer on `window.__release()`."""
    from flask_socketio import SocketIO

    from realtime.relay import LIVE_ROOM

    hold_fetch(page, path)
    SocketIO(message_queue=server.env["REDIS_URL"]).emit("resync", {}, to=LIVE_ROOM)
    page.wait_for_function("() => window.__fetchRead === true", timeout=10_000)


def pick_date(page: Page, input_id: str, day: str) -> None:
    """Type `day` (YYYY-MM-DD) into a `dcc.DatePickerSingle` and Tab on, as a keyboard user does.

    The calendar stays closed (it opens on a click or Enter; closing it hands the focus back to its input a moment
    later, which would take the focus from a field typed in next).
    """
    type_in(page, input_id, day)


def type_in(page: Page, input_id: str, text: str) -> None:
    """Type into a field (a `dcc.Input(debounce=True)`, which Dash reads when it is left, or a date picker's box)
    and Tab on; fail, saying what the field shows, unless it keeps the typed text once left."""
    page.fill(f"#{input_id}", text)
    page.press(f"#{input_id}", "Tab")
    try:
        page.wait_for_function(
            "([id, text]) => document.getElementById(id).value === text && document.activeElement.id !== id",
            arg=[input_id, text],
            timeout=5_000,
        )
    except PlaywrightTimeout:
        shown = page.evaluate("(id) => [document.getElementById(id).value, document.activeElement.id]", input_id)
        raise AssertionError(
            f"#{input_id}: typed {text!r}, the field shows {shown[0]!r} (focus on #{shown[1]})"
        ) from None


CUT_FIELDS = """() => [...document.querySelectorAll('input, textarea')].filter((e) => e.offsetParent !== null
    && !['checkbox', 'radio', 'range', 'hidden', 'file', 'color', 'submit', 'button'].includes(e.type)
    && !e.classList.contains('dash-dropdown-focus-target'))
  .map((e) => { const s = getComputedStyle(e);
    return [e.id || e.name || e.className, e.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom),
            parseFloat(s.fontSize)]; })
  .filter(([, room, font]) => room < font)"""


def cut_fields(page: Page) -> list[list[object]]:
    """The text fields shown on `page` whose text is cut: less room inside their padding than their font's size
    (id, room in px, font in px). Dash 4 draws `dcc.Input` inside a 34 px container, so padding given to the
    container left 4-8 px for a 17-18 px line."""
    found: list[list[object]] = page.evaluate(CUT_FIELDS)
    return found
