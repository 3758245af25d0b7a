"""One-time form tokens: a repeat of the very same submission is answered as before.

Every rendered state-changing form carries a random token (`form_token_field()`). The change a
submission makes is committed together with its token and the answer given (`remember`, called
by `responses.saved`). When a token comes back, nothing is done again:

- the very same submission (same user, address and fields) is answered as the first one was:
  the same message, the same page;
- anything else sent with a used token (the form changed and sent again from a stale page) is a
  conflict (409) that says when the form was saved.

Without guessing: a different submission of the same change (another tab, a stale page) carries
another token, and the record's version check answers it.
"""

import hashlib
import itertools
import re
import secrets

from flask import Flask, abort, flash, g, redirect, render_template, request
from flask_login import current_user
from markupsafe import Markup

from app import clock, db
from app.services import submissions
from app.web.htmx import is_htmx, load_page

FIELD = "form_token"
TOKEN_RE = re.compile(r"[A-Za-z0-9_.-]{16,64}", re.ASCII)
# POST routes answered without a token: logging in and out (each starts or ends a session),
# downloads and printed summaries (each export or print is its own, audited).
WITHOUT_TOKEN = frozenset(
    {
        "auth.login",
        "auth.login_code",
        "auth.logout",
        "dashboard.export",
        "checklist.summary",
        "protocols.export",
    }
)
# Fields never kept, not even hashed in a fingerprint.
SECRET_WORDS = ("password", "code")
PRUNE_EVERY = 500
_saves = 0


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _page_token() -> str:
    """A token for the next form of this page: the page's random part (drawn once per page, 128
    bits) and the form's number on it, so no two forms anywhere share one."""
    if "form_tokens" not in g:
        g.form_tokens = (secrets.token_urlsafe(16), itertools.count(1))
    random_part, numbers = g.form_tokens
    return f"{random_part}.{next(numbers)}"


def form_token_field() -> Markup:
    """The hidden field with a one-time token, for one rendered form. The token is URL-safe
    base64 and digits (`_page_token`), so nothing in it needs escaping: written as it is, without
    Markup.format's escaping machinery (a page renders one per form, 150-odd on an episode)."""
    return Markup(f'<input type="hidden" name="{FIELD}" value="{_page_token()}">')  # noqa: S704 - no user text


def init_app(app: Flask) -> None:
    app.jinja_env.globals["form_token_field"] = form_token_field
    app.before_request(_check_token)


def _check_token():
    """Refuse a state-changing form without a token; answer a token used before as it was."""
    if request.method != "POST" or request.endpoint in WITHOUT_TOKEN or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        return None  # the route's login_required answers
    token = request.form.get(FIELD, "")
    if not TOKEN_RE.fullmatch(token):
        return _refused(
            400, "Form expired", "The form was out of date or incomplete. Reload the page and try again."
        )
    g.form_token = token
    return answer_if_sent()


def fingerprint() -> str:
    """What identifies this submission: the address and every field but the tokens and secrets."""
    fields = sorted(
        (name, value)
        for name, values in request.form.lists()
        for value in values
        if name not in (FIELD, "csrf_token") and not any(word in name for word in SECRET_WORDS)
    )
    payload = repr((request.path, fields)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(payload).hexdigest()


def answer_if_sent():
    """If this request's token was used already, stop with the answer to give (else go on)."""
    token = g.get("form_token")
    if token is None:
        return None
    used = submissions.find(db.session, token)
    if used is None:
        return None
    db.session.rollback()
    if used.user_id != current_user.id or used.fingerprint != fingerprint():
        message = (
            f"This form was already sent, and saved, at {_when(used.created_at)} (“{used.message}”). "
            "Reload the page to see what it holds now, then make your change again if it is still needed."
        )
        if is_htmx():  # a change made in place: the page, as it is now, with the message
            flash(message, "warning")
            return load_page(used.location)
        return _refused(409, "Already sent", message)
    flash(used.message, used.category)
    return load_page(used.location) if is_htmx() else redirect(used.location)


def stop_if_sent() -> None:
    """After a refusal: if a twin of this submission was saved meanwhile, answer as it was."""
    answer = answer_if_sent()
    if answer is not None:
        abort(answer)


def remember(message: str, category: str, location: str) -> None:
    """Keep this request's token, used, with its answer: in the transaction of its change."""
    global _saves
    token = g.get("form_token")
    if token is None:
        return
    now = clock.now()
    submissions.record(db.session, token, current_user.id, fingerprint(), now, (message, category, location))
    _saves += 1
    if _saves % PRUNE_EVERY == 0:
        submissions.prune(db.session, now)


def _when(moment) -> str:
    from app.web.templating import fmt_datetime  # templating needs the web helpers: import late

    return fmt_datetime(moment)


def _refused(code: int, title: str, message: str):
    return render_template("errors/error.html", code=code, title=title, message=message), code
