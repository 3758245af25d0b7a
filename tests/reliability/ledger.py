"""What the clients sent and what each submission was answered: the record the database is checked against."""

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from app.web import once

# Every text a client types carries its submission's token like this, so its effect can be found.
MARK = re.compile(rf"\[({once.TOKEN_RE.pattern})\]")  # a one-time token, as the app writes them

# Kinds of submission: the item actions (by their URL word), a therapy session, outcome scores.
ITEM_KINDS = ("done", "not-applicable", "reopen", "note")
SESSION, OUTCOME = "session", "outcome"

FRESH, STALE, INVALID = "fresh", "stale", "invalid"
# The answers each intent may get: a fresh form may meet a change made since the page was read.
EXPECTED = {FRESH: {302, 409}, STALE: {409}, INVALID: {422}}


def mark(token: str) -> str:
    return f"[{token}]"


@dataclass
class Submission:
    """One form sent (and sent again, unchanged, until answered), with its answer."""

    token: str
    kind: str
    intent: str
    username: str
    user_id: int
    path: str
    fields: dict[str, str]
    episode_id: int
    item_id: int | None = None
    sends: int = 0  # requests that carried it (a resend after no answer is one more)
    last_sent_at: datetime | None = None  # when the request that was answered was sent
    unanswered: int = 0  # of those, the ones that got no response
    cut_off: int = 0  # of those, the ones the server had taken in (not refused while it was down)
    status: int | None = None  # None: never answered
    location: str | None = None
    flashes: list[str] = field(default_factory=list)  # on the answer, or the page it redirected to
    followed: bool = False  # the page the answer redirected to was read at the first try
    repeat_status: int | None = None  # a deliberate repeat of the very same submission, if sent
    repeat_location: str | None = None
    repeat_flashes: list[str] | None = None  # None: its page was cut off, then read again

    @property
    def acknowledged(self) -> bool:
        return self.status == 302


class Ledger:
    """Every submission and every answer to any request, from all client threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.submissions: list[Submission] = []
        self.statuses: Counter = Counter()  # (method, status) of every answer
        self.unanswered: Counter = Counter()  # method -> requests that got no response
        self.unexpected_no_answer: list[str] = []  # requests without a response while no kill happened

    def add(self, submission: Submission) -> Submission:
        with self._lock:
            self.submissions.append(submission)
        return submission

    def answered(self, method: str, status: int) -> None:
        with self._lock:
            self.statuses[method, status] += 1

    def not_answered(self, method: str) -> None:
        with self._lock:
            self.unanswered[method] += 1

    def no_answer_without_kill(self, what: str) -> None:
        with self._lock:
            self.unexpected_no_answer.append(what)
