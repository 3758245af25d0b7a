"""A nurse's journey by keyboard only (Tab, Enter, Space and typing; no clicks): the skip link, log
in, reach an episode from her home page, tick an item, open Not applicable on another and submit
it without a reason (the refusal is announced, by its field, and the field focused), then with one.

At every step the focused element shows a focus ring (a computed outline or box shadow), has a
size, and is not hidden under anything else (the bar of sections kept in view, say).
"""

import contextlib

import pytest

from tests.browser.a11y import assert_accessible
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
SCROLL_MS = 2000

# What the focused element looks like: how the user can tell where the keyboard is.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {what: "nothing (the page itself)"};
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
  const top = document.elementFromPoint(x, y);
  const text = (el.innerText || el.value || "").trim().slice(0, 40);
  return {
    what: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${text}"`,
    ring: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none",
    sized: box.width > 0 && box.height > 0,
    inView: box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth,
    onTop: top !== null && (top === el || el.contains(top) || top.contains(el)),
  };
}"""


def assert_focus_shown(page) -> str:
    """The focused element shows where the keyboard is; returns what it is, for messages. Waits
    for a smooth scroll (Bootstrap's, to a link's target) to end first."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    shown = f"() => {{ const f = ({FOCUSED})(); return f.sized && f.ring && f.inView && f.onTop; }}"
    with contextlib.suppress(PlaywrightTimeout):  # then said below, precisely
        page.wait_for_function(shown, timeout=SCROLL_MS)
    focused = page.evaluate(FOCUSED)
    what = focused["what"]
    assert focused.get("sized"), f"{what} has no size"
    assert focused["ring"], f"{what} is focused without a focus ring"
    assert focused["inView"], f"{what} is focused out of view"
    assert focused["onTop"], f"{what} is focused under something else"
    return what


def press(page, key: str) -> None:
    """A key, then the focused element is checked."""
    page.keyboard.press(key)
    assert_focus_shown(page)


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Tab forward until the element matching `selector` has focus, checking each stop."""
    passed = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        passed.append(assert_focus_shown(page))
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached in {limit} Tabs: " + ", ".join(passed[-10:]))


def test_nurse_ticks_and_marks_not_applicable_by_keyboard_only(page, expect, nurse, episode):
    page.goto("/login")
    tab_to(page, "a[href='#main']", limit=1)  # the first Tab: the skip link, shown
    expect(page.get_by_role("link", name="Skip to content")).to_be_visible()
    page.keyboard.press("Enter")
    tab_to(page, "#username", limit=1)  # past the navigation, into the page
    page.keyboard.type(nurse.username)
    tab_to(page, "#password", limit=1)
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#nav-user")).to_contain_text(nurse.full_name)
    page.wait_for_load_state()  # a key pressed while the page is still loading may be lost

    # Her home page lists her open items by patient: the patient's name opens the episode.
    tab_to(page, f"a[href='/episodes/{episode.id}']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"/episodes/{episode.id}")
    page.wait_for_load_state()

    tab_to(page, "a[href='#main']", limit=1)
    page.keyboard.press("Enter")
    tab_to(page, "#main a, #main button, #main summary", limit=1)  # the first stop inside the page
    # The bar of sections: During surgery, then into that section.
    tab_to(page, "#phase-bar a[href='#phase-during']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"/episodes/{episode.id}#phase-during")

    sign_in = page.locator('li[data-code="intra_sign_in"]')
    tab_to(page, 'li[data-code="intra_sign_in"] button[type=submit]')
    expect(sign_in.get_by_role("button", name="Mark done")).to_be_focused()
    page.keyboard.press("Enter")
    message = sign_in.locator("[data-item-message]")
    expect(message).to_have_text("Marked done at 12:00 UTC.")
    expect(message).to_be_focused()  # the answer, beside the item
    assert_focus_shown(page)
    expect(sign_in.locator("[data-state]")).to_have_attribute("data-state", "done")

    sign_out = page.locator('li[data-code="intra_sign_out"]')
    not_applicable = sign_out.locator("summary", has_text="Not applicable")
    tab_to(page, 'li[data-code="intra_sign_out"] summary')  # Mark done first, then Not applicable
    expect(not_applicable).to_be_focused()
    press(page, "Space")  # opens the disclosure
    reason = sign_out.get_by_label("Reason (required)")
    expect(reason).to_be_visible()
    tab_to(page, 'li[data-code="intra_sign_out"] textarea[name=reason]', limit=1)
    tab_to(page, 'li[data-code="intra_sign_out"] button[type=submit]', limit=1)
    page.keyboard.press("Enter")  # no reason

    error = sign_out.get_by_role("alert")
    expect(error).to_be_visible()  # a live region: read out as it appears
    expect(reason).to_be_focused()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(error.inner_text())  # read with the field
    assert_focus_shown(page)
    expect(sign_out.locator("[data-state]")).not_to_have_attribute("data-state", "not_applicable")
    assert_accessible(page, "the episode page with a reason refused")

    page.keyboard.type("Sign-out led by the surgeon in theatre")
    tab_to(page, 'li[data-code="intra_sign_out"] button[type=submit]', limit=1)
    page.keyboard.press("Enter")
    message = sign_out.locator("[data-item-message]")
    expect(message).to_be_focused()
    assert_focus_shown(page)
    expect(sign_out.locator("[data-state]")).to_have_attribute("data-state", "not_applicable")
    expect(sign_out.locator("[data-done-by]")).to_contain_text("Sign-out led by the surgeon in theatre")
