from collections.abc import Collection

from wtforms import HiddenField, IntegerField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange

from app.domain.vocab import Instrument, TimePoint
from app.web.forms import DATE_MESSAGE, Form, IsoDateField


def _score(instrument: Instrument) -> IntegerField:
    message = f"Enter a whole number from 0 to {instrument.maximum}."
    return IntegerField(
        instrument.label,
        validators=[InputRequired(message=message), NumberRange(0, instrument.maximum, message=message)],
        render_kw={"inputmode": "numeric", "min": 0, "max": instrument.maximum},
        description=f"0–{instrument.maximum}",
    )


class ScoresForm(Form):
    """The three scores of one time point, recorded (or corrected) together."""

    time_point = SelectField(
        "Time point",
        choices=[SelectChoice(tp.value, tp.label) for tp in TimePoint],
        validators=[InputRequired(message="Choose a time point.")],
    )
    taken_on = IsoDateField("Date taken", validators=[InputRequired(message=DATE_MESSAGE)])
    odi = _score(Instrument.ODI)
    nrs_back = _score(Instrument.NRS_BACK)
    nrs_leg = _score(Instrument.NRS_LEG)
    # The version of the time point's scores the user saw: 0 when none were recorded.
    version = HiddenField(default="0")
    submit = SubmitField("Record scores")

    @property
    def correcting(self) -> bool:
        """The form corrects recorded scores (it carries their version), rather than recording new ones."""
        return (self.version.data or "0") not in ("0", "")

    @property
    def chosen(self) -> TimePoint | None:
        return next((tp for tp in TimePoint if tp.value == self.time_point.data), None)

    def mark_recorded(self, recorded: Collection[TimePoint]) -> None:
        """Say which time points are recorded already (they are corrected, not recorded again)."""
        self.time_point.choices = [
            SelectChoice(tp.value, f"{tp.label} — recorded" if tp in recorded else tp.label)
            for tp in TimePoint
        ]
