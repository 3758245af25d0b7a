"""Client threads: each logs in as its own user and works the shared episodes through the served pages."""

import http.client
import random
import re
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from app.domain.vocab import Role
from bench import client
from tests.reliability import pages
from tests.reliability.ledger import (
    FRESH,
    INVALID,
    OUTCOME,
    SESSION,
    STALE,
    Ledger,
    Submission,
    mark,
)
from tests.reliability.site import PASSWORD, Account, EpisodeRef, Site

HOST = "127.0.0.1"
# What a killed server leaves a request with: no response (refused, reset, cut short).
NO_ANSWER = (ConnectionError, http.client.RemoteDisconnected, http.client.IncompleteRead)
# A request still unanswered after this long is a hung server, not a slow one.
REQUEST_TIMEOUT = 30
RESTART_TIMEOUT = 90

ITEM_ACTION = re.compile(r"/episodes/(\d+)/items/(\d+)/(done|not-applicable|reopen|note)")
ACTION_WEIGHTS = {"done": 3, "not-applicable": 1, "reopen": 2, "note": 2}
TIME_POINTS = {
    "baseline": -3,
    "6w": 42,
    "3m": 80,
}  # days from surgery: inside each window (6w: 28-63, 3m: 70-120)
STALE_SHARE, INVALID_SHARE, REPEAT_SHARE = 0.08, 0.05, 0.15
STAY_SHARE = 0.7  # the next action is on the page the last one led back to
TOO_LONG = "x" * 2001  # longer than any note (2000) or reason (500) the app keeps


class CountingConnection(client.Connection):
    """bench.client's connection, counting the requests it sends (it resends once on a closed socket)."""

    sends = 0

    def _send(self, method, path, body):
        self.sends += 1
        return super()._send(method, path, body)


@dataclass
class Run:
    """What the client threads share: the server's address, the ledger, and when to stop."""

    site: Site
    port: int
    ledger: Ledger
    seed: int
    deadline: float = float("inf")  # time.monotonic() at which clients stop
    stop: threading.Event = field(default_factory=threading.Event)
    server_up: threading.Event = field(default_factory=threading.Event)
    # Raised when the server is killed and again once it answers after its restart (even: serving).
    # A request that failed while it stayed even was not killed: a finding, not a retry.
    epoch: int = 0
    errors: list[str] = field(default_factory=list)

    def going(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline


class Client:
    """One user at one browser: reads a page, sends one of its forms, reads the page it is sent to."""

    def __init__(self, run: Run, account: Account, number: int):
        self.run, self.account = run, account
        self.rng = random.Random(run.seed * 1000 + number)
        self.conn: CountingConnection | None = None
        self.here: tuple[str, str] | None = None  # the page the last answer redirected to, unused yet
        self.attempts = 0  # requests the last request took (more than one when the server was killed)
        self.episode: EpisodeRef = self.rng.choice(run.site.episodes)
        # Each client sends one invalid item change early on, whatever its draws: a run on a loaded
        # machine sends few submissions, and must still show that invalid ones are refused.
        self.invalid_owed = True

    # --- the thread --------------------------------------------------------------------------------

    def thread(self, ready: threading.Barrier) -> threading.Thread:
        def main():
            try:
                self.login()
                ready.wait()
                while self.run.going():
                    self.act()
            except threading.BrokenBarrierError:
                return  # another client failed to log in: its error is reported
            except BaseException:  # noqa: BLE001 - reported by the test, which then fails
                self.run.errors.append(f"{self.account.username}:\n{traceback.format_exc()}")
                self.run.stop.set()
                ready.abort()
            finally:
                if self.conn is not None:
                    self.conn.close()

        return threading.Thread(target=main, name=self.account.username, daemon=True)

    def login(self) -> None:
        conn, _ = client.login(HOST, self.run.port, self.account.username, PASSWORD, self.account.totp_secret)
        self.conn = CountingConnection(HOST, self.run.port, cookies=conn.cookies, timeout=REQUEST_TIMEOUT)
        conn.close()

    def act(self) -> None:
        role = self.account.role
        if role is Role.COORDINATOR:
            self.record_scores()
        elif role is Role.THERAPIST and self.rng.random() < 0.5:
            self.log_session()
        else:
            self.work_item()

    # --- what users do -----------------------------------------------------------------------------

    def work_item(self) -> None:
        """Mark done, not applicable, reopen or add a note, on one of the items the page lets us work."""
        episode = self.next_episode()
        page = self.page(f"/episodes/{episode.id}")
        choices = []
        for form in pages.forms(page):
            match = ITEM_ACTION.fullmatch(form.action)
            # Items completed by outcome scores are left to the scores (their value follows them).
            if match and episode.items[int(match[2])] not in self.run.site.by_records:
                choices.append((match[3], int(match[2]), form))
        assert choices, f"{self.account.username} found no item to work on episode {episode.id}"
        draw = self.rng.random()
        if draw < STALE_SHARE:  # a stale form: of an item changed before, when the page has one
            changed = [c for c in choices if int(c[2].fields["version"]) > 1]
            choices = changed or choices
        action, item_id, form = self.rng.choices(choices, [ACTION_WEIGHTS[c[0]] for c in choices])[0]
        fields = dict(form.fields)
        token = fields["form_token"]
        text_field = "note" if action in ("done", "note") else "reason"
        fields[text_field] = f"{action} by {self.account.username} {mark(token)}"
        if action == "done" and "value" in fields:
            fields["value"] = self.run.site.values[episode.items[item_id]]
        intent = FRESH
        if draw < STALE_SHARE and int(fields["version"]) > 1:
            fields["version"] = str(int(fields["version"]) - 1)  # a version the item had before
            intent = STALE
        elif (draw < STALE_SHARE + INVALID_SHARE or self.invalid_owed) and action != "note":
            # Checked before the version: refused (422) whatever happened to the item meanwhile.
            fields[text_field] += TOO_LONG
            intent = INVALID
            self.invalid_owed = False
        self.send(Submission(token, action, intent, *self.who(), form.action, fields, episode.id, item_id))

    def log_session(self) -> None:
        """Log a therapy session on the form of the Log session page."""
        episode = self.next_episode()
        path = f"/episodes/{episode.id}/sessions/new"
        form = self.form(self.page(path), path)
        fields = dict(form.fields)
        token = fields["form_token"]
        fields.update(
            session_date=datetime.now(UTC).date().isoformat(),
            discipline=self.rng.choice(["PT", "OT"]),
            minutes=str(self.rng.randint(20, 60)),
            attendance=self.rng.choice(["attended", "attended", "attended", "missed"]),
            pain_before=str(self.rng.randint(3, 7)),
            pain_after=str(self.rng.randint(1, 5)),
            activities=f"Gait and core work by {self.account.username} {mark(token)}",
        )
        intent = FRESH
        if self.rng.random() < INVALID_SHARE:
            fields["minutes"] = "0"
            intent = INVALID
        self.send(Submission(token, SESSION, intent, *self.who(), path, fields, episode.id))

    def record_scores(self) -> None:
        """Record (or correct) a time point's outcome scores, from the form filled with what is recorded."""
        episode = self.next_episode()
        time_point = self.rng.choice(list(TIME_POINTS))
        path = f"/episodes/{episode.id}/outcomes"
        form = self.form(self.page(f"{path}?time_point={time_point}"), path)
        fields = dict(form.fields)
        baseline = time_point == "baseline"
        taken_on = episode.surgery_date + timedelta(days=TIME_POINTS[time_point])
        fields.update(
            time_point=time_point,
            taken_on=taken_on.isoformat(),
            odi=str(self.rng.randint(40, 60) if baseline else self.rng.randint(8, 25)),
            nrs_back=str(self.rng.randint(5, 8) if baseline else self.rng.randint(0, 3)),
            nrs_leg=str(self.rng.randint(5, 8) if baseline else self.rng.randint(0, 3)),
        )
        intent = FRESH
        draw = self.rng.random()
        if draw < STALE_SHARE and int(fields["version"]) > 0:
            fields["version"] = str(int(fields["version"]) - 1)
            intent = STALE
        elif draw < STALE_SHARE + INVALID_SHARE:
            fields["odi"] = "101"
            intent = INVALID
        token = fields["form_token"]
        self.send(Submission(token, OUTCOME, intent, *self.who(), path, fields, episode.id))

    # --- how a browser does it ---------------------------------------------------------------------

    def who(self) -> tuple[str, int]:
        return self.account.username, self.account.id

    def next_episode(self) -> EpisodeRef:
        if self.rng.random() >= STAY_SHARE:
            self.episode = self.rng.choice(self.run.site.episodes)
        return self.episode

    def form(self, page: str, action: str) -> pages.Form:
        found = [f for f in pages.forms(page) if (f.action or action) == action and "form_token" in f.fields]
        assert len(found) == 1, f"{len(found)} forms posting to {action} on the page"
        return found[0]

    def page(self, path: str) -> str:
        """Return the page at path: the one the last answer led to if it is that page, else read it now."""
        if self.here is not None and self.here[0] == path:
            page = self.here[1]
        else:
            response = self.request("GET", path)
            assert response.status == 200, f"GET {path} answered {response.status}"
            page = response.body.decode()
        self.here = None  # a page serves one action; the next reads it again (or follows an answer)
        return page

    def send(self, sub: Submission) -> None:
        """Send a submission until answered; follow its redirect; now and then send it once more."""
        self.run.ledger.add(sub)
        response = self.post(sub)
        sub.status, sub.location = response.status, response.headers.get("Location")
        if response.status != 302:
            sub.flashes = pages.flashes(response.body.decode())
            return
        sub.flashes = self.follow(sub.location)
        # A page cut off after its headers has consumed the message its cookie carried: the resent
        # page cannot show it, so only a page read at the first try is compared with the answer.
        sub.followed = self.attempts == 1
        if sub.intent == FRESH and self.rng.random() < REPEAT_SHARE:
            again = self.request("POST", sub.path, sub.fields)
            sub.repeat_status, sub.repeat_location = again.status, again.headers.get("Location")
            if again.status == 302:
                flashes = self.follow(sub.repeat_location)
                sub.repeat_flashes = flashes if self.attempts == 1 else None

    def post(self, sub: Submission) -> client.Response:
        before = self.conn.sends
        try:
            return self.request("POST", sub.path, sub.fields, sub)
        finally:
            sub.sends += self.conn.sends - before

    def follow(self, location: str) -> list[str]:
        """Read the page an answer redirected to (as a browser does); keep it for the next action."""
        parts = urlsplit(location)
        path = parts.path + (f"?{parts.query}" if parts.query else "")  # as a browser: the fragment stays
        response = self.request("GET", path)
        assert response.status == 200, f"GET {path} answered {response.status}"
        page = response.body.decode()
        self.here = (path, page)
        return pages.flashes(page)

    def wait_for_server(self, exc: Exception) -> None:
        """Wait until the server answers again after a kill (or the run is given up)."""
        deadline = time.monotonic() + RESTART_TIMEOUT
        while not self.run.server_up.wait(0.5):
            if self.run.stop.is_set() or time.monotonic() > deadline:
                raise RuntimeError("the server did not come back") from exc

    def request(
        self, method: str, path: str, form: dict | None = None, sub: Submission | None = None
    ) -> client.Response:
        """One request, sent again unchanged after a restart each time the server was killed under it."""
        self.attempts = 0
        while True:
            self.attempts += 1
            epoch = self.run.epoch
            if sub is not None:
                sub.last_sent_at = datetime.now(UTC)
            try:
                response = self.conn.request(method, path, form)
            except NO_ANSWER as exc:
                self.conn.close()
                self.run.ledger.not_answered(method)
                if sub is not None:
                    sub.unanswered += 1
                    sub.cut_off += not isinstance(exc, ConnectionRefusedError)
                if self.run.epoch == epoch and epoch % 2 == 0:  # no kill explains it: a finding
                    self.run.ledger.no_answer_without_kill(f"{method} {path}: {exc!r}")
                    raise
                self.wait_for_server(exc)
                continue
            self.run.ledger.answered(method, response.status)
            return response
