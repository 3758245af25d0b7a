"""Phones and tablets: at 390 × 844 and 768 × 1024 every main page of every role with a home page
fits the screen (no sideways scrolling, of the page or of a part of it) with buttons and links at
least 44 px high, and the collapsed navigation opens with its Menu button, by tap or by keyboard,
to show Log out. The dashboard's filters fold behind "Filters (n)" on narrow screens only.

The demo data (every stage of an episode, a safety alert, flags, therapy sessions, outcome scores)
plus a patient with long unbroken words. One browser context per size; each role logs in once and
leaves through the menu's Log out.
"""

import pytest
from sqlalchemy import select

from app import db
from app.domain.vocab import Role
from app.models import ChecklistItem, Episode, TherapySession, User
from app.services import demo, protocols
from tests import factories
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_signoff_journey import log_in as log_in_with_test_password
from tests.conftest import NOW

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "tablet": (768, 1024)}
# The roles with a home page of their own (the anaesthetist's is the nurse's page, with its own items).
ROLES = (Role.SURGEON, Role.NURSE, Role.THERAPIST, Role.COORDINATOR, Role.ADMIN)
LONG_MRN = "RX202600001234567890"  # 20 letters and digits, the longest an MRN may be
LONG_FAMILY_NAME = "Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaft"
LONG_PROCEDURE = "L4-S1 transforaminal-lumbar-interbody-fusion-with-posterior-pedicle-screw-instrumentation"

# Where something scrolls sideways: the page, or an element that scrolls its own content.
SIDEWAYS = """(width) => {
  const found = [];
  if (document.documentElement.scrollWidth > width) {
    found.push(`the page is ${document.documentElement.scrollWidth} px wide`);
  }
  const wide = found.length > 0;
  for (const el of document.body.querySelectorAll("*")) {
    if (el.scrollWidth > el.clientWidth + 1 && ["auto", "scroll"].includes(getComputedStyle(el).overflowX)) {
      found.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} scrolls`);
    }
    if (wide && el.getBoundingClientRect().right > width + 1) {
      const inside = [...el.children].some((c) => c.getBoundingClientRect().right > width + 1);
      const text = el.textContent.trim().slice(0, 40);
      if (!inside) found.push(`${el.tagName.toLowerCase()} "${text}" sticks out`);
    }
  }
  return found.slice(0, 8);
}"""
# Buttons, and links in the navigation bar and in lists, lower than 44 px (a fingertip).
SMALL_TARGETS = """() => {
  const targets = document.querySelectorAll(
    ".btn, nav a, nav summary, .nav-link, .page-link, .table-cards a, .list-group-item a, .card-header a"
  );
  return [...targets]
    .filter((el) => el.getClientRects().length > 0 && el.getBoundingClientRect().height < 43.5)
    .map((el) => `"${el.textContent.trim().slice(0, 30)}" is ${el.getBoundingClientRect().height} px high`)
    .slice(0, 8);
}"""


@pytest.fixture
def site(app):
    """The demo site, and a patient whose MRN, name and procedure are long unbroken words; returns
    the ids the pages need."""
    with db.write_unit():
        demo.seed(db.session, NOW.date())
        db.session.commit()
    by_role = {u.role: u for u in db.session.scalars(select(User))}
    protocol = protocols.latest_version(db.session, protocols.DEFAULT_SLUG)
    long = factories.episode(
        by_role[Role.COORDINATOR], by_role[Role.SURGEON], protocol, family_name=LONG_FAMILY_NAME, mrn=LONG_MRN
    )
    with db.write_unit():
        db.session.get(Episode, long.id).procedure = LONG_PROCEDURE
        db.session.commit()

    with_sessions = select(TherapySession.episode_id, TherapySession.id).order_by(TherapySession.id).limit(1)
    therapy_id, session_id = db.session.execute(with_sessions).one()
    alert_id = db.session.scalar(select(ChecklistItem.episode_id).where(ChecklistItem.alert_open).limit(1))
    ids = {
        "alert": alert_id,  # a safety alert waiting for acknowledgement
        "therapy": therapy_id,  # sessions logged, outcome scores
        "therapy_patient": db.session.get(Episode, therapy_id).patient_id,
        "session": session_id,
        "long": long.id,
        "long_patient": long.patient_id,
        "version": protocol.id,
    }
    db.session.commit()
    return ids


def pages_of(role: Role, ids: dict) -> list[str]:
    """The main pages a role reaches from its navigation and its episodes."""
    if role is Role.ADMIN:
        return ["/", "/admin/users", "/admin/users/new", "/account/password"]
    clinical = [
        "/",
        "/dashboard",
        "/dashboard?view=episodes",
        "/dashboard?q=Wolfe",
        "/dashboard/compliance",
        f"/dashboard/compliance?version={ids['version']}",  # the protocol version's long name chosen
        "/patients",
        f"/patients/{ids['long_patient']}",
        f"/episodes/{ids['therapy']}",
        f"/episodes/{ids['long']}",
        f"/episodes/{ids['therapy']}/history",
        f"/episodes/{ids['therapy']}/outcomes",
    ]
    if role is Role.SURGEON:
        clinical += [f"/episodes/{ids['alert']}", f"/patients/{ids['therapy_patient']}", "/patients/new"]
    if role is Role.THERAPIST:
        therapy = ids["therapy"]
        clinical += [
            f"/episodes/{therapy}/sessions/new",
            f"/episodes/{therapy}/sessions/{ids['session']}/edit",
        ]
    return clinical


def log_in(page, expect, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#nav-user")).to_be_attached()


def expanded(page, selector: str) -> bool | None:
    """The expanded state the browser gives assistive technology for an element."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        ax = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node, "fetchRelatives": False})
        props = {p["name"]: p["value"].get("value") for p in ax["nodes"][0].get("properties", [])}
        return props.get("expanded")
    finally:
        cdp.detach()


def open_menu_and_log_out(page, expect, role: Role, by_keyboard: bool) -> None:
    """The navigation is collapsed: Menu opens it (Enter on the focused button, or a tap)."""
    toggle = page.locator("#nav-menu-toggle")
    log_out = page.get_by_role("button", name="Log out")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_text("☰ Menu")
    expect(log_out).to_be_hidden()
    expect(page.locator("#nav-user")).to_be_hidden()
    if role is not Role.ADMIN:  # the flagged count stays outside the menu
        expect(page.locator("#nav-flags")).to_be_visible()
    assert expanded(page, "#nav-menu-toggle") is False
    if by_keyboard:
        toggle.focus()
        page.keyboard.press("Enter")
    else:
        toggle.click()
    expect(log_out).to_be_visible()
    expect(page.locator("#nav-user")).to_be_visible()
    expect(page.get_by_role("link", name="Home", exact=True)).to_be_visible()
    assert expanded(page, "#nav-menu-toggle") is True
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    log_out.click()
    expect(page.get_by_label("Username")).to_be_visible()


def test_every_main_page_fits_phones_and_tablets_and_the_menu_opens(browser, live_server, expect, site):
    problems = {}
    for size, (width, height) in SIZES.items():  # the demo site is made once, for both sizes
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            for n, role in enumerate(ROLES):
                username = next(name for name, _, r in demo.DEMO_USERS if r is role)
                log_in(page, expect, username)
                for path in pages_of(role, site):
                    response = page.goto(path)
                    assert response is not None and response.ok, (
                        f"{size} {username} {path}: {response and response.status}"
                    )
                    found = page.evaluate(SIDEWAYS, width) + page.evaluate(SMALL_TARGETS)
                    if found:
                        problems[f"{size} {username} {path}"] = found
                open_menu_and_log_out(page, expect, role, by_keyboard=n % 2 == 0)
        finally:
            context.close()
    assert not problems, "\n".join(f"{where}: {'; '.join(found)}" for where, found in problems.items())


def test_dashboard_filters_fold_behind_a_button_on_narrow_screens_only(page, expect, coordinator):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in_with_test_password(page, expect, coordinator)
    page.goto("/dashboard?phase=after&flagged=1")
    toggle = page.locator("#filters-toggle")
    expect(toggle).to_have_text("Filters (2)")
    expect(page.get_by_label("Phase")).to_be_hidden()
    toggle.click()
    expect(page.get_by_label("Phase")).to_have_value("after")
    expect(page.get_by_role("button", name="Apply filters")).to_be_visible()

    page.goto("/dashboard?state=nonsense")  # a filter to correct: shown open
    expect(page.get_by_text("Choose a state from the list.")).to_be_visible()

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/dashboard")
    expect(page.get_by_label("Phase")).to_be_visible()
    expect(toggle).to_be_hidden()
    expect(page.locator("#nav-menu-toggle")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
