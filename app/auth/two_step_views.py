"""Two-step login: set it up (or again) with a QR code, recovery codes shown once; the gate for
roles that must have it (setting MFA_REQUIRED_ROLES)."""

from flask import current_app, render_template, request, session, url_for
from flask_login import current_user, login_required

from app import db
from app.auth import bp
from app.auth.forms import EnrolForm
from app.auth.qr import qr_svg
from app.domain import second_factor as rules
from app.services import second_factor
from app.services.second_factor import WrongCode
from app.services.users import WrongPassword
from app.web.responses import attempt, saved

MUST_ENROL = "Your role needs two-step login: set it up to continue."
RECOVERY_CODES_SHOWN = (
    "Two-step login is on; its recovery codes were shown once. Set it up again to get new ones."
)
# The secret being set up, kept in the (signed) Flask session until a right code confirms it:
# showing the page writes nothing to the database.
SETTING_UP = "totp_being_set_up"


@bp.route("/account/two-step", methods=["GET", "POST"])
@login_required
def two_step():
    """Show the QR code and key of a new secret; a right code and the password turn it on."""
    secret = session.get(SETTING_UP) or rules.new_secret()
    session[SETTING_UP] = secret
    form = EnrolForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        config = current_app.config
        done = attempt(
            lambda: second_factor.enrol(
                db.session,
                current_user,
                secret,
                form.code.data,
                form.password.data,
                session.get("sid"),
                config["LOGIN_MAX_FAILURES"],
                config["LOGIN_LOCK_MINUTES"],
            ),
            "Your account",
            review="try again",
            on_form=(WrongCode,),
            keep=(WrongPassword,),  # the failure count and its audit event stay
        )
        if done.ok:
            codes, ended = done.result
            session.pop(SETTING_UP, None)
            # Shown in this response only: never stored in clear, logged or redirected.
            page = render_template("auth/recovery_codes.html", codes=codes, ended=ended)
            return saved(RECOVERY_CODES_SHOWN, url_for("main.home"), "info", page=page)
        status = done.status
        if isinstance(done.error, WrongPassword):
            form.password.errors.append(str(done.error))
        elif isinstance(done.error, WrongCode):
            form.code.errors.append(str(done.error))
    enrolled = second_factor.enrolled(current_user)
    return render_template(
        "auth/two_step.html",
        form=form,
        enrolled=enrolled,
        must_enrol=rules.must_enrol(current_user.role, enrolled, current_app.config["MFA_REQUIRED_ROLES"]),
        must_enrol_text=MUST_ENROL,
        codes_left=second_factor.recovery_codes_left(db.session, current_user.id) if enrolled else 0,
        code_count=rules.RECOVERY_CODE_COUNT,
        secret=rules.grouped(secret),
        qr=qr_svg(rules.otpauth_uri(secret, current_user.username), "QR code for Periop two-step login"),
    ), status
