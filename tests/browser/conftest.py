"""Browser fixtures: the real app served over HTTP in a thread, driven by Chromium via Playwright.

One Chromium per test session, a fresh browser context (cookies, storage) per test. The app
comes from the `app` fixture in tests/conftest.py: a fresh migrated database, protocols loaded,
the clock frozen at NOW. The server runs in this process, so it shares that clock and database.

Without Playwright or Chromium the tests skip, saying why; CI sets PERIOP_NO_SKIPS=1, which turns
such a skip into a failure.
"""

import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("PERIOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous for a loaded 2-core CI machine; a passing step takes milliseconds.
TIMEOUT_MS = 15_000


def _chromium_path() -> str | None:
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which(CHROMIUM)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the whole session (per xdist worker)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"Playwright is not installed ({exc}); run `make install-test`")
    executable = _chromium_path()
    if executable is None:
        pytest.skip(f"Chromium not found at {CHROMIUM} (set PERIOP_CHROMIUM, or apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class LiveServer:
    """The app served by werkzeug on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, app) -> None:
        # Port 0: the OS picks a free port, so parallel workers never collide.
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # Links and redirects name the address the browser really uses.
        app.config["SERVER_NAME"] = f"127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()  # stops serve_forever and waits for it
        self._thread.join(timeout=10)
        self._server.server_close()  # closes the listening socket (no ResourceWarning)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser, live_server):
    """A new browser context and page per test; closed before the server stops."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def expect(browser):
    """Playwright's auto-waiting assertions (imported here, so a missing Playwright skips)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=TIMEOUT_MS)
    return playwright_expect
