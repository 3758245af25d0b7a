from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app import audit, db
from app.auth import bp, sessions
from app.auth.forms import ChangePasswordForm, LoginForm
from app.auth.redirects import safe_next
from app.services import users
from app.services.errors import ServiceError
from app.services.users import authenticate
from app.web.responses import CONFLICT, attempt, saved

LOGIN_REFUSED = "Unknown username or wrong password."
MUST_CHANGE = "Choose your own password to continue."
# What a user with a temporary password may still reach; everything else leads to Change password.
OPEN_TO_TEMPORARY_PASSWORD = frozenset(
    {"auth.change_password", "auth.logout", "main.health", "static", "bootstrap.static"}
)


@bp.before_app_request
def _own_password_first():
    """Send a user whose password is temporary (new account, reset) to choose their own."""
    if request.endpoint in OPEN_TO_TEMPORARY_PASSWORD or not current_user.is_authenticated:
        return None
    if current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


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
        sessions.start(user)
        db.session.commit()
        login_user(user)
        return redirect(safe_next(form.next.data) or url_for("main.home"))
    return render_template("auth/login.html", form=form)


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
