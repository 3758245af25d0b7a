"""Screenshots of the main pages with the demo data, for the README: docs/screenshots/*.png.

At desktop size (1280 × 800): the surgeon's home page, an episode, the dashboard, the compliance
report and the therapist's caseload; at phone size (390 × 844): the episode and the dashboard.
Each replaces the one before. Where docs/screenshots cannot be written (a read-only checkout) the
pictures are still taken, and the test passes, saying so on the terminal.
"""

import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app import db
from app.domain.vocab import EpisodeStatus
from app.models import Episode
from app.services import demo
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_accessibility import fill_login, states_of
from tests.conftest import NOW

pytestmark = pytest.mark.browser

FOLDER = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP, PHONE = (1280, 800), (390, 844)
PNG = b"\x89PNG\r\n\x1a\n"


def save(name: str, png: bytes) -> str | None:
    """Write the picture over the old one (through a file beside it, renamed); the reason it could
    not be written, or None."""
    try:
        FOLDER.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=FOLDER, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(png)
            os.chmod(temporary, 0o644)
            os.replace(temporary, FOLDER / name)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    except OSError as exc:
        return f"{name}: {exc.strerror or exc}"
    return None


@pytest.fixture
def demo_site(app) -> int:
    """The demo site; returns the episode to show: the open one whose items show the most states."""
    with db.write_unit():
        demo.seed(db.session, NOW.date())
        db.session.commit()
    episodes = db.session.scalars(select(Episode).where(Episode.status != EpisodeStatus.CLOSED)).all()
    shown = max(episodes, key=lambda e: (len(states_of(e)), -e.id)).id
    db.session.commit()
    return shown


def test_screenshots_of_the_main_pages(browser, live_server, expect, demo_site, request):
    shots = {
        (DESKTOP, "surgeon"): {
            "desktop-surgeon-home.png": "/",
            "desktop-episode.png": f"/episodes/{demo_site}",
            "desktop-dashboard.png": "/dashboard",
            "desktop-compliance.png": "/dashboard/compliance",
        },
        (DESKTOP, "therapist"): {"desktop-therapist-caseload.png": "/"},
        (PHONE, "surgeon"): {
            "phone-episode.png": f"/episodes/{demo_site}",
            "phone-dashboard.png": "/dashboard",
        },
    }
    not_saved = []
    for ((width, height), username), pages in shots.items():
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            fill_login(page, username)
            expect(page.locator("#nav-user")).to_be_attached()
            for name, path in pages.items():
                response = page.goto(path)
                assert response is not None and response.ok, f"{path}: {response and response.status}"
                png = page.screenshot(animations="disabled", caret="hide")
                assert png.startswith(PNG)
                if problem := save(name, png):
                    not_saved.append(problem)
        finally:
            context.close()
    if not_saved:  # said on the terminal, not failed
        terminal = request.config.pluginmanager.get_plugin("terminalreporter")
        say = terminal.write_line if terminal else print
        say(f"\nScreenshots taken but not saved in {FOLDER}: " + "; ".join(not_saved))
