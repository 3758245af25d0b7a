from wtforms import BooleanField, HiddenField, IntegerField, SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional

from app.domain.therapy import (
    MAX_ACTIVITIES,
    MAX_ADDENDUM,
    MAX_MINUTES,
    MAX_PAIN,
    MINUTES_ATTENDED,
    MINUTES_RANGE,
    SessionInput,
)
from app.domain.vocab import Attendance, Discipline
from app.web.forms import DATE_MESSAGE, Form, IsoDateField

ACTIVITIES_MESSAGE = f"Keep what was done to {MAX_ACTIVITIES} characters."
PAIN_MESSAGE = f"Enter a pain score from 0 to {MAX_PAIN}, or leave it blank."


class WholeNumberField(IntegerField):
    """A whole number, with a message that says what to enter when it is not one."""

    def __init__(self, label=None, validators=None, message: str = "Enter a whole number.", **kwargs):
        self.message = message
        kwargs.setdefault("render_kw", {"inputmode": "numeric"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(self.message) from None


class SessionForm(Form):
    version = HiddenField()
    session_date = IsoDateField("Date", validators=[InputRequired(message=DATE_MESSAGE)])
    discipline = SelectField(
        "Discipline",
        choices=[SelectChoice(d.value, f"{d.value} — {d.label}") for d in Discipline],
        validate_choice=False,
        validators=[AnyOf([d.value for d in Discipline], message="Choose PT or OT.")],
    )
    minutes = WholeNumberField(
        "Minutes",
        message=MINUTES_RANGE,
        validators=[Optional(), NumberRange(1, MAX_MINUTES, MINUTES_RANGE)],
        description="Leave blank for a missed or cancelled session.",
    )
    attendance = SelectField(
        "Attendance",
        choices=[SelectChoice(a.value, a.label) for a in Attendance],
        validate_choice=False,
        validators=[
            AnyOf(
                [a.value for a in Attendance],
                message="Choose attended, missed, cancelled by patient or cancelled by clinic.",
            )
        ],
    )
    pain_before = WholeNumberField(
        "Pain before (NRS 0–10)",
        message=PAIN_MESSAGE,
        validators=[Optional(), NumberRange(0, MAX_PAIN, PAIN_MESSAGE)],
        description="Optional.",
    )
    pain_after = WholeNumberField(
        "Pain after (NRS 0–10)",
        message=PAIN_MESSAGE,
        validators=[Optional(), NumberRange(0, MAX_PAIN, PAIN_MESSAGE)],
        description="Optional.",
    )
    activities = TextAreaField(
        "What was done",
        validators=[Length(max=MAX_ACTIVITIES, message=ACTIVITIES_MESSAGE)],
        render_kw={"rows": 3, "maxlength": MAX_ACTIVITIES},
    )
    home_exercise_plan = BooleanField("Home-exercise plan given")
    prehabilitation = BooleanField(
        "Prehabilitation session", description="Before surgery: only prehabilitation sessions."
    )
    submit = SubmitField("Save session")

    def validate(self, extra_validators=None) -> bool:
        """The fields, then: an attended session needs its minutes (blank for a missed or cancelled one)."""
        valid = super().validate(extra_validators)
        if self.attendance.data == Attendance.ATTENDED.value and self.minutes.data is None:
            if not self.minutes.errors:  # "forty" has its own message
                self.minutes.errors.append(MINUTES_ATTENDED)
            valid = False
        return valid

    def entry(self) -> SessionInput:
        return SessionInput(
            session_date=self.session_date.data,
            discipline=self.discipline.data,
            minutes=self.minutes.data,
            attendance=self.attendance.data,
            pain_before=self.pain_before.data,
            pain_after=self.pain_after.data,
            activities=(self.activities.data or "").strip(),
            home_exercise_plan=bool(self.home_exercise_plan.data),
            prehabilitation=bool(self.prehabilitation.data),
        )


class AddendumForm(Form):
    text = TextAreaField(
        "Addendum",
        validators=[
            InputRequired(message="Enter the addendum text."),
            Length(max=MAX_ADDENDUM, message=f"Keep the addendum to {MAX_ADDENDUM} characters."),
        ],
        render_kw={"rows": 2, "maxlength": MAX_ADDENDUM},
    )
    submit = SubmitField("Add addendum")
