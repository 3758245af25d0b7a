"""Accessibility stays at zero: axe-core (WCAG 2.0 and 2.1, A and AA, and best practices; see
tests/browser/a11y.py) finds no violation, of any impact, on any main page of any role at desktop
(1280 × 800), tablet (768 × 1024) and phone (390 × 844) sizes, logged out or in; nor after a
change in place: an item ticked or a value refused on the episode page (htmx swaps the item), the
episode page with every disclosure open, the menu and the dashboard's filters opened.

The demo data (every stage of an episode, every item state, a safety alert, flags, therapy
sessions, outcome scores), made once for all three sizes: a browser context per size, the three
checked side by side (each page is loaded at the three sizes, then axe runs in the three at once).
A page whose markup and size are those of a page already checked (the same dashboard for two
roles, say) is not checked again: axe would find the same.
"""

import pyotp
import pytest
from sqlalchemy import select

from app import db
from app.domain.requirement import is_waiting
from app.domain.schedule import item_state
from app.domain.signoff import active_signoffs, signoff_blockers
from app.domain.vocab import EpisodeStatus, ItemState, ItemStatus, Phase, Role, StepKind, ValueType
from app.models import ChecklistItem, Episode, TherapySession, User
from app.services import demo, second_factor
from tests.browser import a11y
from tests.browser.conftest import TIMEOUT_MS
from tests.conftest import NOW, TOTP_SECRET

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "tablet": (768, 1024), "phone": (390, 844)}
ROLES = (Role.SURGEON, Role.NURSE, Role.ANAESTHETIST, Role.THERAPIST, Role.COORDINATOR, Role.ADMIN)
TWO_STEP_USER = "surgeon2"  # given two-step login here: logging in asks for a code
DUE_SOON_DAYS = 3  # config.py's default, as the app in the tests has it


def states_of(episode: Episode) -> set[ItemState]:
    """The states the episode page shows for the episode's items today."""
    today = NOW.date()
    return {
        item_state(
            i.status,
            i.due_date,
            today,
            DUE_SOON_DAYS,
            i.overdue_from,
            is_waiting(i.step.required_if, i.required, i.status),
        )
        for i in episode.items
    }


def covering(episodes: list[Episode]) -> list[Episode]:
    """A few episodes whose items show every state between them: the one with the most states
    first, then each that adds the most states still missing."""
    states = {e.id: states_of(e) for e in episodes}
    chosen, missing = [], set(ItemState)
    while missing:
        best = max(episodes, key=lambda e: (len(states[e.id] & missing), -e.id))
        if not states[best.id] & missing:
            break
        chosen.append(best)
        missing -= states[best.id]
    assert not missing, f"no demo episode shows {sorted(missing)}"
    return chosen


def for_ticking(episode: Episode, role: Role) -> bool:
    """Whether the role can tick three check items of the episode and enter a number in one."""
    signed = {s.phase for s in episode.signoffs if s.revoked_at is None}
    open_items = [
        i.step
        for i in episode.items
        if i.role is role and i.status is ItemStatus.OPEN and i.phase not in signed and i.required
    ]
    checks = [s for s in open_items if s.kind is StepKind.CHECK]
    numbers = [s for s in open_items if s.kind is StepKind.VALUE and s.value_type is ValueType.NUMBER]
    return len(checks) >= len(SIZES) and bool(numbers)


def ready_to_sign(episode: Episode) -> bool:
    signed = set(active_signoffs(episode))
    return Phase.BEFORE not in signed and not signoff_blockers(Phase.BEFORE, episode.items, signed)


@pytest.fixture
def site(app):
    """The demo site, a demo surgeon with two-step login; returns the ids the pages need."""
    with db.write_unit():
        demo.seed(db.session, NOW.date())
        user = db.session.scalar(select(User).where(User.username == TWO_STEP_USER))
        code = pyotp.TOTP(TOTP_SECRET).at(NOW)
        second_factor.enrol(db.session, user, TOTP_SECRET, code, demo.DEMO_PASSWORD, None, 10, 15)
        db.session.commit()
    open_episodes = db.session.scalars(select(Episode).where(Episode.status != EpisodeStatus.CLOSED)).all()
    every_state = covering(list(open_episodes))
    with_sessions = select(TherapySession.episode_id, TherapySession.id).order_by(TherapySession.id).limit(1)
    therapy_id, session_id = db.session.execute(with_sessions).one()
    alert_id = db.session.scalar(select(ChecklistItem.episode_id).where(ChecklistItem.alert_open).limit(1))
    closed_id = db.session.scalar(select(Episode.id).where(Episode.status == EpisodeStatus.CLOSED).limit(1))
    to_tick = next(e for e in [*every_state, *open_episodes] if for_ticking(e, Role.NURSE))
    ready = next(e for e in open_episodes if ready_to_sign(e))
    ids = {
        "ready": ready.id,  # its Before surgery ready to sign: the sign page asks for the password
        "to_tick": to_tick.id,  # the nurse ticks items there
        "main": every_state[0].id,  # the episode with the most item states (signed before surgery)
        "main_patient": every_state[0].patient_id,
        "more_states": [e.id for e in every_state[1:]],  # the states it lacks
        "alert": alert_id,  # a safety alert waiting for acknowledgement
        "closed": closed_id,
        "therapy": therapy_id,  # sessions logged, outcome scores
        "session": session_id,
        "version": every_state[0].protocol_version_id,  # a published version (Protocols pages)
    }
    db.session.commit()
    return ids


def pages_of(role: Role, ids: dict) -> list[str]:
    """The main pages a role reaches from its navigation and its episodes."""
    account = ["/account/password", "/account/two-step"]
    if role is Role.ADMIN:
        return ["/", "/admin/users", "/admin/users/new", *account]
    main = f"/episodes/{ids['main']}"
    pages = [
        "/",
        "/patients",
        f"/patients/{ids['main_patient']}",
        main,
        f"{main}?guidance=1",
        f"{main}?show=mine",
        f"/episodes/{ids['therapy']}/history",
        f"/episodes/{ids['therapy']}/outcomes",
        "/dashboard",
        "/dashboard?view=episodes&flagged=1&phase=after",
        "/dashboard/compliance",
        *account,
    ]
    if role in (Role.SURGEON, Role.COORDINATOR):
        pages += ["/patients/new", f"{main}/close"]
    if role is not Role.ADMIN:
        pages += ["/protocols", f"/protocols/versions/{ids['version']}"]
    if role is Role.SURGEON:  # the other episodes once, by the role with most to do on them
        others = {ids["alert"], ids["therapy"], ids["closed"], *ids["more_states"]} - {ids["main"]}
        pages += [
            f"{main}/protocol",  # changing its protocol version
            f"/protocols/versions/{ids['version']}/move-episodes",
            "/protocols/import",  # the demo surgeon is a clinical lead
            f"{main}/sign/before",  # why it cannot be signed
            f"/episodes/{ids['ready']}/sign/before",  # the statement and the password
            *(f"/episodes/{e}" for e in sorted(others)),
        ]
    if role is Role.THERAPIST:
        therapy = ids["therapy"]
        pages += [
            f"/episodes/{therapy}",
            f"/episodes/{therapy}/sessions/new",
            f"/episodes/{therapy}/sessions/{ids['session']}/edit",
        ]
    return pages


def fill_login(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()


class Checker:
    """Checks pages at every size at once, keeping what axe found, by page."""

    def __init__(self, pages: dict) -> None:
        self.pages = pages  # size: Playwright page
        self.seen: dict[str, list] = {}  # fingerprint: violations
        self.problems: dict[str, list[str]] = {}
        self.checked = 0

    def check(self, where: str, sizes=None) -> None:
        """Run axe in the pages of these sizes (all by default) as they are now, side by side."""
        running = {}
        for size in sizes or self.pages:
            key = a11y.fingerprint(self.pages[size])
            if key in self.seen:  # the same markup at the same size: axe finds the same
                self.record(f"{size} {where}", self.seen[key])
            else:
                a11y.start(self.pages[size])
                running[size] = key
        for size, key in running.items():
            self.seen[key] = a11y.finish(self.pages[size])
            self.checked += 1
            self.record(f"{size} {where}", self.seen[key])

    def record(self, where: str, found: list) -> None:
        if found:
            self.problems[where] = a11y.describe(found)

    def visit(self, path: str, where: str) -> None:
        """Load the page at every size, then check it."""
        for size, page in self.pages.items():
            # Each page loads its styles and lays itself out while the next one is asked for.
            response = page.goto(path, wait_until="commit")
            assert response is not None and response.ok, f"{size} {where}: {response and response.status}"
        for page in self.pages.values():
            page.wait_for_load_state("load")
        self.check(where)


def log_in_everywhere(checker: Checker, expect, username: str) -> None:
    """Log in as the user at every size (logging out whoever was in)."""
    for page in checker.pages.values():
        page.context.clear_cookies()
        fill_login(page, username)
        expect(page.locator("#nav-user")).to_be_attached()


def open_everything(checker: Checker, who: str, episode_id: int) -> None:
    """The episode page with every disclosure open: folded phases, Not applicable, Reopen, notes,
    acknowledging an alert, revoking a sign-off."""
    for page in checker.pages.values():
        page.goto(f"/episodes/{episode_id}")
        page.evaluate("document.querySelectorAll('main details').forEach((d) => { d.open = true; })")
    checker.check(f"{who} /episodes/{episode_id} with every disclosure open")


def open_menu_and_filters(checker: Checker, who: str) -> None:
    """On narrow screens: the dashboard's filters, then the menu, opened by their buttons."""
    narrow = [size for size, (width, _) in SIZES.items() if width < 992]
    for size in narrow:
        page = checker.pages[size]
        page.goto("/dashboard")
        page.locator("#filters-toggle").click()
        page.locator("#nav-menu-toggle").click()
    checker.check(f"{who} /dashboard with the filters and the menu open", narrow)


def change_items_in_place(checker: Checker, expect, who: str, episode_id: int) -> None:
    """At each size, on the episode page: tick an item (htmx swaps it for the item done and the
    answer beside it), then enter a value out of range (the field marked invalid, the refusal
    beside it)."""
    for page in checker.pages.values():
        page.goto(f"/episodes/{episode_id}")
        tickable = page.locator("li.item-row:has(button:text-is('Mark done')):not(:has([name=value]))")
        row = page.locator(f"#{tickable.first.get_attribute('id')}")  # the same row once ticked
        row.get_by_role("button", name="Mark done").click()
        expect(row.locator("[data-item-message]")).to_be_focused()
    checker.check(f"{who} /episodes/{episode_id} after a tick")
    for page in checker.pages.values():
        row = page.locator("li.item-row:has(input[name=value][inputmode=decimal])").first
        row.locator("input[name=value]").fill("a lot")  # not a number
        row.get_by_role("button", name="Mark done").click()
        expect(row.get_by_role("alert")).to_be_visible()
    checker.check(f"{who} /episodes/{episode_id} after a refused value")


# The walk in two halves, which the suite's workers run side by side: the surgeon (with the most
# pages, the login pages and every disclosure), and the other roles (then a nurse's changes).
HALVES = {"surgeon": (Role.SURGEON,), "others": tuple(r for r in ROLES if r is not Role.SURGEON)}


@pytest.mark.parametrize("half", sorted(HALVES))
def test_no_page_of_any_role_has_an_accessibility_violation(browser, live_server, expect, site, half):
    contexts = []
    try:
        for width, height in SIZES.values():
            contexts.append(
                browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
            )
            contexts[-1].set_default_timeout(TIMEOUT_MS)
        checker = Checker({size: context.new_page() for size, context in zip(SIZES, contexts, strict=True)})

        if half == "surgeon":
            checker.visit("/login", "logged out /login")
            for page in checker.pages.values():
                fill_login(page, TWO_STEP_USER)
                expect(page.get_by_label("Code")).to_be_visible()
            checker.check(f"{TWO_STEP_USER} /login/code")

        for role in HALVES[half]:
            username = next(name for name, _, r in demo.DEMO_USERS if r is role)
            log_in_everywhere(checker, expect, username)
            for path in pages_of(role, site):
                checker.visit(path, f"{username} {path}")
            if role is Role.SURGEON:
                open_everything(checker, username, site["main"])
                open_menu_and_filters(checker, username)

        if half == "others":  # last, as a tick changes counts other pages show
            log_in_everywhere(checker, expect, "nurse")
            change_items_in_place(checker, expect, "nurse", site["to_tick"])
    finally:
        for context in contexts:
            context.close()
    print(f"axe ran on {checker.checked} distinct pages (at three sizes)")
    assert not checker.problems, "\n".join(
        f"{where}:\n  " + "\n  ".join(lines) for where, lines in checker.problems.items()
    )
