from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    next = HiddenField()
    submit = SubmitField("Log in")


class ButtonForm(FlaskForm):
    """An empty form for button-only actions: it carries the CSRF token."""
