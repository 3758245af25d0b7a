from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.domain.vocab import Sex
from app.services.patients import EpisodeDetails, PatientDetails

DATE_MESSAGE = "Enter a date as YYYY-MM-DD."


class IsoDateField(DateField):
    """A YYYY-MM-DD date with a message that says how to write it."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        kwargs.setdefault("render_kw", {"placeholder": "YYYY-MM-DD"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(DATE_MESSAGE) from None


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class PatientFields(FlaskForm):
    mrn = StringField("MRN", validators=[DataRequired(), Length(max=20)])
    family_name = StringField("Family name", validators=[DataRequired(), Length(max=100)])
    given_name = StringField("Given name", validators=[DataRequired(), Length(max=100)])
    date_of_birth = IsoDateField("Date of birth", validators=[InputRequired(message=DATE_MESSAGE)])
    sex = SelectField(
        "Sex", choices=[SelectChoice(s.value, s.label) for s in Sex], validators=[DataRequired()]
    )

    def patient_details(self) -> PatientDetails:
        return PatientDetails(
            mrn=self.mrn.data,
            family_name=self.family_name.data.strip(),
            given_name=self.given_name.data.strip(),
            date_of_birth=self.date_of_birth.data,
            sex=Sex(self.sex.data),
        )


class EpisodeFields(FlaskForm):
    procedure = StringField(
        "Procedure",
        validators=[DataRequired(), Length(max=200)],
        description='For example "L4-L5 microdiscectomy".',
    )
    levels = StringField("Levels", validators=[DataRequired(), Length(max=60)])
    surgeon_id = SelectField(
        "Surgeon", coerce=_int_or_none, validators=[DataRequired(message="Choose a surgeon.")]
    )
    surgery_date = IsoDateField(
        "Surgery date", validators=[Optional()], description="Leave blank when not yet scheduled."
    )

    def episode_details(self) -> EpisodeDetails:
        return EpisodeDetails(
            procedure=self.procedure.data,
            levels=self.levels.data,
            surgeon_id=self.surgeon_id.data,
            surgery_date=self.surgery_date.data,
        )


class RegisterPatientForm(PatientFields, EpisodeFields):
    protocol_version_id = SelectField(
        "Protocol", coerce=_int_or_none, validators=[DataRequired(message="Choose a protocol.")]
    )
    submit = SubmitField("Register patient")


class NewEpisodeForm(EpisodeFields):
    protocol_version_id = SelectField(
        "Protocol", coerce=_int_or_none, validators=[DataRequired(message="Choose a protocol.")]
    )
    submit = SubmitField("Open episode")


class EditPatientForm(PatientFields):
    version = HiddenField()
    submit = SubmitField("Save changes")


class EditEpisodeForm(EpisodeFields):
    version = HiddenField()
    submit = SubmitField("Save changes")
