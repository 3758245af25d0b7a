from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class ItemForm(FlaskForm):
    """Every item action posts this form; the service checks what each action needs."""

    version = HiddenField()
    value = StringField("Value")
    note = TextAreaField("Note")
    reason = TextAreaField("Reason")


class SignForm(FlaskForm):
    """Signing re-asks the signer's password: an electronic signature, not a click."""

    password = PasswordField("Your password", validators=[DataRequired(), Length(max=128)])
    submit = SubmitField("Sign off")


class ReasonForm(FlaskForm):
    """Revoking a sign-off needs a reason."""

    reason = TextAreaField("Reason", validators=[DataRequired(message="Enter a reason."), Length(max=500)])


class CloseEpisodeForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField("Reason", validators=[Length(max=500)])
    submit = SubmitField("Close episode")
