from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField


class ItemForm(FlaskForm):
    """Every item action posts this form; the service checks what each action needs."""

    version = HiddenField()
    value = StringField("Value")
    note = TextAreaField("Note")
    reason = TextAreaField("Reason")
