"""How a view answers a state change: one convention for every form.

`attempt` runs one service call; when it is refused it rolls back and says why: 409 for a
conflict (naming who changed the record first, and when), 422 for a refusal. `saved` commits
the change together with its answer (app/web/once.py), then flashes it and redirects.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, session
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app import db
from app.services.errors import Conflict, InvalidInput, ServiceError
from app.web import once

CONFLICT, REFUSED = 409, 422


@dataclass(frozen=True)
class Attempt:
    """What came of a service call: its result, or the status to answer and the refusal."""

    ok: bool
    result: Any = None
    status: int = 200
    error: ServiceError | None = None


def attempt(
    action: Callable[[], Any],
    what: str = "This record",
    verb: str = "was",
    review: str = "review and try again",
    on_form: tuple[type[ServiceError], ...] = (),
    keep: tuple[type[ServiceError], ...] = (),
    form=None,
    say: Callable[[Conflict], str] | None = None,
) -> Attempt:
    """Run one service call, not yet committed (`saved` commits it); if refused, roll back and say why.

    The view then renders its form again with what the user typed, with this status. Problems
    by field (`InvalidInput`) go next to their fields of `form`; refusals of the `on_form` types
    are not flashed either (the view shows them by the form). Refusals of the `keep` types are
    committed, not rolled back (a wrong password's count and audit event must stay). `say` words
    a conflict's message when the view knows better than "… was changed by …, review and try again".
    """
    from app.web.templating import conflict_message  # templating needs the web helpers: import late

    try:
        result = action()
        db.session.flush()
    except keep as exc:
        db.session.commit()
        return Attempt(False, status=REFUSED, error=exc)
    except (Conflict, StaleDataError, IntegrityError) as exc:
        db.session.rollback()
        once.stop_if_sent()
        conflict = exc if isinstance(exc, Conflict) else Conflict(what)
        flash(say(conflict) if say else conflict_message(conflict, verb, review), "warning")
        return Attempt(False, status=CONFLICT, error=conflict)
    except ServiceError as exc:
        db.session.rollback()
        once.stop_if_sent()
        if form is not None and isinstance(exc, InvalidInput):
            form.show_problems(exc.problems)
        elif not isinstance(exc, on_form):
            flash(str(exc), "danger")
        return Attempt(False, status=REFUSED, error=exc)
    return Attempt(True, result)


def saved(
    message: str,
    location: str,
    category: str = "success",
    page: Any = None,
    after: Callable[[], Any] | None = None,
):
    """Commit the change with its answer, then give it: flash and redirect (or `page`, shown once,
    or what `after` makes once the change is committed)."""
    once.remember(message, category, location)
    try:
        db.session.commit()
    except IntegrityError:  # a twin of this submission was saved first, with its token
        db.session.rollback()
        once.stop_if_sent()
        raise
    if after is not None:  # made after the commit: it shows what the change led to (app/web/htmx.py)
        return after()
    if page is not None:
        return page
    flash(message, category)
    return redirect(location)


# A message kept for the section a redirect scrolls to (`saved_beside`), instead of the top of the page.
BESIDE = "periop_beside"


def saved_beside(message: str, location: str, place: str, category: str = "success"):
    """Like `saved`, but the message is shown beside `place`, the section of the next page that
    `location` scrolls to (where the top of the page is out of view); `beside(place)` takes it."""
    response = saved(message, location, category, page=redirect(location))
    session[BESIDE] = {"place": place, "message": message, "category": category}
    return response


def beside(place: str) -> tuple[str, str] | None:
    """The message (and its category) saved for `place`, once; None when there is none for it."""
    kept = session.get(BESIDE)
    if not kept or kept.get("place") != place:
        return None
    session.pop(BESIDE)
    return kept["message"], kept["category"]
