from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.domain.vocab import Role
from app.web.forms import Form


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(r.value, r.label) for r in Role]


class NewUserForm(Form):
    username = StringField(
        "Username",
        validators=[DataRequired(), Length(max=64)],
        description="2-64 characters: lower-case letters, digits, . _ -",
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    full_name = StringField(
        "Full name",
        validators=[DataRequired(), Length(max=120)],
        description="As it should appear on records and signatures.",
    )
    # Starts on the prompt, not on a role: a new account is never a signing surgeon by default.
    role = SelectField(
        "Role",
        choices=[SelectChoice("", "Choose a role"), *_role_choices()],
        validators=[DataRequired(message="Choose a role.")],
    )
    submit = SubmitField("Create user")


class AccountActionForm(Form):
    """A button-only action on one account, from the page that showed this version of it."""

    version = HiddenField(validators=[DataRequired()])


class ChangeRoleForm(AccountActionForm):
    role = SelectField("Role", choices=_role_choices(), validators=[DataRequired()])
