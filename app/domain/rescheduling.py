"""Moving the surgery date (CLINICAL-RULES §6): what must be corrected first, in words.

Pure rules on plain values. Recorded follow-up scores (6 weeks to 12 months) must stay inside
their windows and therapy sessions other than prehabilitation after surgery; a baseline that
falls outside its window never blocks the move (its item is reopened instead:
`app.domain.outcomes.stale_baseline_reason`), nor do sessions items whose sessions no longer
count (reopened too).
"""

from collections.abc import Iterable, Mapping
from datetime import date

from app.domain.outcomes import Window, follow_ups_outside
from app.domain.schedule import day_text
from app.domain.therapy import SessionFacts, sessions_before_surgery
from app.domain.vocab import TimePoint

SESSIONS_ITEM_REOPENED = "Reopened: its sessions no longer fall in its window after the surgery date moved"


def move_problems(
    surgery_date: date | None,
    taken: Mapping[TimePoint, date],
    windows: Mapping[TimePoint, Window],
    sessions: Iterable[SessionFacts],
) -> list[str]:
    """What a new surgery date would leave inconsistent, each in words; empty: it may move.

    `taken`: the date of each recorded time point's scores; `windows`: the episode's protocol
    version's windows (`app.domain.outcomes.window_for`)."""
    problems = follow_ups_outside(taken, surgery_date, windows)
    when = "while surgery is unscheduled" if surgery_date is None else "before the new surgery date"
    problems += [
        f"the {s.discipline.value} session of {day_text(s.session_date)} ({s.attendance.label.lower()}, "
        f"not prehabilitation) {when}"
        for s in sessions_before_surgery(sessions, surgery_date)
    ]
    return problems


def move_refusal(surgery_date: date | None, problems: list[str]) -> str:
    """The refusal listing them: "The surgery date cannot move to 15 Dec 2026 until these are
    corrected: …"."""
    to = f"move to {day_text(surgery_date)}" if surgery_date else "be cleared"
    return f"The surgery date cannot {to} until these are corrected first: " + "; ".join(problems) + "."
