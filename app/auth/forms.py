from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from app.domain.password_strength import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.web.forms import CheckedElsewhereField, Form


class LoginForm(Form):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    next = CheckedElsewhereField()
    submit = SubmitField("Log in")


class ChangePasswordForm(Form):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(max=MAX_PASSWORD_LENGTH, message=f"Use at most {MAX_PASSWORD_LENGTH} characters."),
        ],
        description=(
            f"At least {MIN_PASSWORD_LENGTH} characters, hard to guess and without your name. "
            "A few unrelated words make a good one."
        ),
        render_kw={"autocomplete": "new-password"},
    )
    repeat_password = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired(),
            EqualTo("new_password", message="The two new passwords are not the same."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Change password")


class LoginCodeForm(Form):
    """The second step of a login: the app's 6-digit code, or a recovery code."""

    code = StringField(
        "Code",
        validators=[DataRequired(message="Enter the code."), Length(max=40)],
        description="The 6-digit code your authenticator app shows now, or one of your recovery codes.",
        render_kw={
            "autocomplete": "one-time-code",
            "autocapitalize": "none",
            "spellcheck": "false",
            "autofocus": True,
        },
    )
    submit = SubmitField("Log in")


class EnrolForm(Form):
    """Confirm a new second factor: the first code of the app, and the password."""

    code = StringField(
        "Code from the app",
        validators=[DataRequired(message="Enter the 6-digit code your app shows."), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    password = PasswordField(
        "Your password",
        validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Turn on two-step login")
