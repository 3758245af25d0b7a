from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app import audit, db
from app.auth import bp, sessions
from app.auth.forms import LoginForm
from app.auth.redirects import safe_next
from app.services.users import authenticate

LOGIN_REFUSED = "Unknown username or wrong password."


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
