"""axe-core in the browser tests: the rules of WCAG 2.0 and 2.1, levels A and AA, and axe's best
practices, run on the page as it is now; every violation is a failure, whatever its impact.

axe is vendored for the tests only (tests/browser/vendor/axe.min.js, axe-core 4.14.1 from npm,
MPL-2.0, its licences beside it): the app never serves it. The app's Content-Security-Policy
allows no inline script, so axe is not added as a <script> element: Playwright evaluates its
source in the page (a DevTools evaluation, which the page's CSP does not govern).

`assert_accessible(page)` checks a page and fails listing each violation: its rule, impact, help
text and the selector and failure summary of every element. `start(page)` and `finish(page)`
split a check in two, so that several pages (one per screen size) can be checked at once.
"""

from pathlib import Path

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

# Runs axe in the page and keeps the promise of its violations on `window` (not awaited here).
START = """(tags) => {
  const later = new Promise((resolve) => setTimeout(resolve, 0));  // returns at once; axe runs after
  window.__periopAxe = later.then(() => axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
    preload: false,
  }).then((results) => results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary || ""})),
  }))));
}"""
FINISH = "() => window.__periopAxe"

# A digest of the page as axe sees it, less what changes with each request or user: hidden fields
# (the CSRF and once-only form tokens) and the signed-in user's name. Hashed in the page (SHA-256),
# so that the markup does not travel.
FINGERPRINT = """async () => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll("input[type=hidden]").forEach((el) => el.removeAttribute("value"));
  body.querySelectorAll("#nav-user").forEach((el) => { el.textContent = ""; });
  const page = [innerWidth, innerHeight, document.title, body.innerHTML].join("\\n");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(page));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}"""


def start(page) -> None:
    """Start axe on the page as it is now (injected first if the page does not have it yet)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    page.evaluate(START, TAGS)


def finish(page) -> list[dict]:
    """The violations of the check `start` began: rule id, impact, help, and the elements."""
    return page.evaluate(FINISH)


def violations(page) -> list[dict]:
    """axe's violations on the page as it is now."""
    start(page)
    return finish(page)


def fingerprint(page) -> str:
    """A digest of the page's markup and window size: two pages with the same digest look the
    same to axe (same markup, styles and size), whoever is signed in."""
    return page.evaluate(FINGERPRINT)


def describe(found: list[dict]) -> list[str]:
    """A line per violation (rule id, impact, help), then one per element: its selector and what
    axe found wrong with it (its failure summary, less the "Fix any of the following:" heads)."""
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            wrong = [line.strip() for line in node["summary"].splitlines() if line.startswith("  ")]
            lines.append(f"    {node['target']}" + (f"  — {'; '.join(wrong)}" if wrong else ""))
    return lines


def assert_accessible(page, where: str = "") -> None:
    """Fails listing every axe violation on the page, whatever its impact."""
    found = violations(page)
    assert not found, f"{where or page.url}:\n" + "\n".join(describe(found))
