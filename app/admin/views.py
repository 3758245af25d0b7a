"""Admin pages: the users list, new users, deactivation, password and two-step login resets, roles."""

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user, login_required

from app import clock, db
from app.admin import bp
from app.admin.forms import AccountActionForm, ChangeRoleForm, NewUserForm
from app.domain.accounts import login_locked
from app.domain.policy import Action
from app.domain.second_factor import must_enrol
from app.domain.vocab import Role
from app.models import User
from app.queries.users import all_users, last_logins
from app.services import second_factor
from app.services import users as service
from app.web import get_or_404, require
from app.web.forms import int_field
from app.web.responses import attempt, saved

# A refusal on an account is shown above the users list.
ACCOUNT, REVIEW = "The account", "review it below and try again"


def users_page(status: int = 200):
    """The users list with its actions; also the admin's home page."""
    users = all_users(db.session)
    now = clock.now()
    return render_template(
        "admin/users.html",
        users=users,
        last_login=last_logins(db.session, [u.id for u in users]),
        locked={u.id for u in users if login_locked(u.locked_until, now)},
    ), status


@bp.route("/users")
@login_required
def users():
    require(Action.MANAGE_USERS)
    return users_page()


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    require(Action.MANAGE_USERS)
    form = NewUserForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        done = attempt(
            lambda: service.create_account(
                db.session, current_user, form.username.data, form.full_name.data, Role(form.role.data)
            )
        )
        if done.ok:
            return _show_password(*done.result, "created")
        status = done.status
    return render_template("admin/new_user.html", form=form), status


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@login_required
def deactivate(user_id: int):
    user, version = _load(user_id, AccountActionForm())
    done = attempt(
        lambda: service.deactivate(db.session, current_user, user, version), ACCOUNT, review=REVIEW
    )
    if not done.ok:
        return users_page(done.status)
    if done.result is None:
        return _saved(f"{user.full_name} ({user.username}) was already deactivated.", "info")
    return _saved(f"Deactivated {user.full_name} ({user.username}); {_sessions(done.result)} ended.")


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
@login_required
def activate(user_id: int):
    user, version = _load(user_id, AccountActionForm())
    done = attempt(lambda: service.activate(db.session, current_user, user, version), ACCOUNT, review=REVIEW)
    if not done.ok:
        return users_page(done.status)
    return _saved(f"{'Activated' if done.result else 'Already active:'} {user.full_name} ({user.username}).")


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@login_required
def reset_password(user_id: int):
    user, version = _load(user_id, AccountActionForm())
    done = attempt(
        lambda: service.reset_password(db.session, current_user, user, version), ACCOUNT, review=REVIEW
    )
    if not done.ok:
        return users_page(done.status)
    return _show_password(user, done.result, "reset")


@bp.route("/users/<int:user_id>/reset-two-step", methods=["GET", "POST"])
@login_required
def reset_second_factor(user_id: int):
    """Ask for confirmation; on POST remove the user's second factor and end their sessions."""
    if request.method == "GET":
        require(Action.MANAGE_USERS)
        user = get_or_404(User, user_id)
        return render_template(
            "admin/reset_two_step.html",
            user=user,
            enrolled=second_factor.enrolled(user),
            codes_left=second_factor.recovery_codes_left(db.session, user.id),
            form=AccountActionForm(version=user.version),
        )
    user, version = _load(user_id, AccountActionForm())
    done = attempt(
        lambda: second_factor.reset(db.session, current_user, user, version), ACCOUNT, review=REVIEW
    )
    if not done.ok:
        return users_page(done.status)
    who = f"{user.full_name} ({user.username})"
    if done.result is None:
        return _saved(f"{who} has no two-step login set up.", "info")
    if must_enrol(user.role, False, current_app.config["MFA_REQUIRED_ROLES"]):
        then = "They must set it up again after their next login."
    else:
        then = "They log in with their password alone until they set it up again."
    return _saved(f"Reset the two-step login of {who}; {_sessions(done.result)} ended. {then}")


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@login_required
def change_role(user_id: int):
    form = ChangeRoleForm()
    user, version = _load(user_id, form)
    role = Role(form.role.data)
    done = attempt(
        lambda: service.change_role(db.session, current_user, user, role, version), ACCOUNT, review=REVIEW
    )
    if not done.ok:
        return users_page(done.status)
    if done.result:
        return _saved(f"{user.full_name} ({user.username}) is now {role.label}.")
    return _saved(f"{user.full_name} ({user.username}) already is {role.label}.", "info")


@bp.route("/users/<int:user_id>/protocol-lead", methods=["POST"])
@login_required
def protocol_lead(user_id: int):
    """Make a surgeon a clinical lead (edits, publishes and retires protocols), or withdraw it."""
    user, version = _load(user_id, AccountActionForm())
    grant = request.form.get("grant") == "yes"
    done = attempt(
        lambda: service.set_protocol_lead(db.session, current_user, user, grant, version),
        ACCOUNT,
        review=REVIEW,
    )
    if not done.ok:
        return users_page(done.status)
    who = f"{user.full_name} ({user.username})"
    if not done.result:
        return _saved(f"{who} already {'is' if grant else 'is not'} a clinical lead.", "info")
    if grant:
        return _saved(f"{who} is now a clinical lead: they may edit, publish and retire protocols.")
    return _saved(f"{who} is no longer a clinical lead.")


# --- helpers -------------------------------------------------------------------------------


def _load(user_id: int, form: AccountActionForm) -> tuple[User, int]:
    """Authorise, load the account and read the form; a broken or tampered form is a 400."""
    require(Action.MANAGE_USERS)
    user = get_or_404(User, user_id)
    version = int_field(form.version.data)
    if not form.validate_on_submit() or version is None:
        abort(400)
    return user, version


def _saved(message: str, category: str = "success"):
    return saved(message, url_for("admin.users"), category)


def _show_password(user: User, password: str, event: str):
    """Commit, then show a temporary password once, in this response only: never stored, logged or
    redirected (a repeat of the form says where the password went, not the password)."""
    page = render_template("admin/temporary_password.html", user=user, password=password, event=event)
    message = (
        f"The temporary password of {user.full_name} ({user.username}) was {event} and shown once; "
        "use Reset password if it was not passed on."
    )
    return saved(message, url_for("admin.users"), "info", page=page)


def _sessions(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'}"
