from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm.exc import StaleDataError

from app import audit, db
from app.auth import bp, pending, sessions
from app.auth.forms import ChangePasswordForm, LoginCodeForm, LoginForm
from app.auth.redirects import safe_next
from app.domain.second_factor import must_enrol
from app.models import User
from app.services import second_factor, users
from app.services.errors import ServiceError
from app.services.users import authenticate
from app.web.responses import CONFLICT, attempt, saved

LOGIN_REFUSED = "Unknown username or wrong password."
CODE_REFUSED = "Wrong code. Enter the newest code your app shows, or a recovery code."
LOGIN_AGAIN = "Your login waited too long for its code: enter your username and password again."
MUST_CHANGE = "Choose your own password to continue."
# What a user may still reach while their account needs something first.
ALWAYS_OPEN = frozenset({"auth.logout", "main.health", "static", "bootstrap.static"})


@bp.before_app_request
def _account_needs_first():
    """Send a user whose account needs something to it, before anything else: their own password
    (after a temporary one), then two-step login (when their role requires it)."""
    if request.endpoint in ALWAYS_OPEN or not current_user.is_authenticated:
        return None
    if current_user.must_change_password:
        needed = "auth.change_password"
    elif must_enrol(
        current_user.role, second_factor.enrolled(current_user), current_app.config["MFA_REQUIRED_ROLES"]
    ):
        needed = "auth.two_step"
    else:
        return None
    return None if request.endpoint == needed else redirect(url_for(needed))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        config = current_app.config
        user = authenticate(
            db.session,
            form.username.data,
            form.password.data,
            config["LOGIN_MAX_FAILURES"],
            config["LOGIN_LOCK_MINUTES"],
        )
        if user is None:
            db.session.commit()  # keep the failure count and its audit event
            form.password.errors.append(LOGIN_REFUSED)
            return render_template("auth/login.html", form=form), 401
        if second_factor.enrolled(user):
            pending.begin(user, safe_next(form.next.data))
            db.session.commit()
            return redirect(url_for("auth.login_code"))
        sessions.start(user)
        db.session.commit()
        login_user(user)
        return redirect(safe_next(form.next.data) or url_for("main.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of a login: the code of the user's app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    waiting = pending.current()
    user = db.session.get(User, waiting.user_id) if waiting else None
    if user is None or not second_factor.enrolled(user):
        pending.clear()
        flash(LOGIN_AGAIN, "info")
        return redirect(url_for("auth.login"))
    form = LoginCodeForm()
    if form.validate_on_submit():
        config = current_app.config
        result = second_factor.check_login_code(
            db.session, user, form.code.data, config["LOGIN_MAX_FAILURES"], config["LOGIN_LOCK_MINUTES"]
        )
        if result.accepted:
            sessions.start(user)  # also forgets the pending login
            try:
                db.session.commit()
            except StaleDataError:  # the same code sent twice at once: the other request logged in
                db.session.rollback()
                flash("That code was just used. Log in again with the next code.", "warning")
                return redirect(url_for("auth.login"))
            login_user(user)
            if result.recovery_code:
                flash(_codes_left_message(result.codes_left), "warning")
            return redirect(waiting.next or url_for("main.home"))
        db.session.commit()  # keep the failure count and its audit event
        if result.locked:
            pending.clear()
            flash("Too many wrong codes: your account is locked for a while. Try again later.", "danger")
            return redirect(url_for("auth.login"))
        form.code.errors.append(CODE_REFUSED)
        return render_template("auth/login_code.html", form=form), 401
    return render_template("auth/login_code.html", form=form)


def _codes_left_message(left: int | None) -> str:
    if not left:
        return (
            "You used your last recovery code. Open Two-step login and set it up again now, "
            "to get new recovery codes."
        )
    return (
        f"You logged in with a recovery code; {left} left. If you have lost your phone, "
        "open Two-step login and set it up again."
    )


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    audit.record(
        db.session,
        current_user,
        "auth.logout",
        f"{current_user.username} logged out",
        target_type="user",
        target_id=current_user.id,
    )
    sessions.end()
    db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    response = redirect(url_for("auth.login"))
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password: the current one first; other sessions end (ASVS 7.4.3)."""
    form = ChangePasswordForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        config = current_app.config
        done = attempt(
            lambda: users.change_password(
                db.session,
                current_user,
                form.current_password.data,
                form.new_password.data,
                session.get("sid"),
                config["LOGIN_MAX_FAILURES"],
                config["LOGIN_LOCK_MINUTES"],
            ),
            "Your account",
            on_form=(ServiceError,),
            keep=(users.WrongPassword,),  # the failure count and its audit event stay
        )
        if done.ok:
            ended = done.result
            others = f" Your {ended} other session{'s' if ended != 1 else ''} ended." if ended else ""
            return saved(f"Your password is changed.{others}", url_for("main.home"))
        status = done.status
        if isinstance(done.error, users.WrongPassword):
            form.current_password.errors.append(str(done.error))
        elif done.status != CONFLICT:
            form.new_password.errors.append(str(done.error))
    return render_template("auth/change_password.html", form=form, must_change=MUST_CHANGE), status
