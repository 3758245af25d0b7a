from wtforms import HiddenField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.web.forms import Form


class ItemForm(Form):
    """Every item action posts this form; the service checks what each action needs."""

    version = HiddenField()
    value = StringField("Value")
    note = TextAreaField("Note")
    reason = TextAreaField("Reason")
    plan = TextAreaField("The plan")  # acknowledging a safety alert


class SignForm(Form):
    """Signing re-asks the signer's password: an electronic signature, not a click."""

    password = PasswordField("Your password", validators=[DataRequired(), Length(max=128)])
    submit = SubmitField("Sign off")


class ReasonForm(Form):
    """Revoking a sign-off needs a reason."""

    reason = TextAreaField(
        "Reason",
        validators=[
            DataRequired(message="Enter a reason to revoke a sign-off."),
            Length(max=500, message="Enter a reason of at most 500 characters."),
        ],
    )


class CloseEpisodeForm(Form):
    version = HiddenField()
    reason = TextAreaField("Reason", validators=[Length(max=500)])
    submit = SubmitField("Close episode")
