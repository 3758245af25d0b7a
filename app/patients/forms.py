from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.domain.patients import birth_date_problem, surgery_date_problem
from app.domain.vocab import Procedure, Sex
from app.services.patients import EpisodeDetails, PatientDetails
from app.services.protocols import FOR_PROCEDURE
from app.web import site_day
from app.web.forms import DATE_MESSAGE, PAGE_MESSAGE, Form, IsoDateField, int_field, page_number

SEARCH_MAX = 100


class PatientSearchForm(Form):
    """The patient list's search box: read from the URL, so no CSRF token."""

    class Meta:
        csrf = False

    q = StringField(
        "Name or MRN",
        validators=[Length(max=SEARCH_MAX, message=f"Keep the search to {SEARCH_MAX} characters.")],
    )
    page = StringField("Page")

    def validate_page(self, field):
        if field.data not in (None, "") and page_number(field.data) is None:
            raise ValidationError(PAGE_MESSAGE)

    @property
    def text(self) -> str:
        return (self.q.data or "").strip() if not self.q.errors else ""

    @property
    def page_number(self) -> int:
        return page_number(self.page.data) or 1


class PatientFields(Form):
    mrn = StringField("MRN", validators=[DataRequired(), Length(max=20)])
    family_name = StringField("Family name", validators=[DataRequired(), Length(max=100)])
    given_name = StringField("Given name", validators=[DataRequired(), Length(max=100)])
    date_of_birth = IsoDateField("Date of birth", validators=[InputRequired(message=DATE_MESSAGE)])
    sex = SelectField(
        "Sex", choices=[SelectChoice(s.value, s.label) for s in Sex], validators=[DataRequired()]
    )

    def validate_date_of_birth(self, field):
        problem = birth_date_problem(field.data, site_day().date) if field.data else None
        if problem:
            raise ValidationError(problem)

    def patient_details(self) -> PatientDetails:
        return PatientDetails(
            mrn=self.mrn.data,
            family_name=self.family_name.data.strip(),
            given_name=self.given_name.data.strip(),
            date_of_birth=self.date_of_birth.data,
            sex=Sex(self.sex.data),
        )


class EpisodeFields(Form):
    procedure = StringField(
        "Procedure",
        validators=[DataRequired(), Length(max=200)],
        description='For example "L4-L5 microdiscectomy".',
    )
    procedure_type = SelectField(
        "Procedure type",
        choices=[SelectChoice("", "Choose the procedure type")]
        + [SelectChoice(p.value, p.label) for p in Procedure],
        validators=[DataRequired(message="Choose the procedure type.")],
        description="Therapy plans and some steps differ by it (fusion: physiotherapy from about 10 weeks).",
    )
    levels = StringField("Levels", validators=[DataRequired(), Length(max=60)])
    surgeon_id = SelectField(
        "Surgeon", coerce=int_field, validators=[DataRequired(message="Choose a surgeon.")]
    )
    surgery_date = IsoDateField(
        "Surgery date", validators=[Optional()], description="Leave blank when not yet scheduled."
    )

    def validate_surgery_date(self, field):
        unchanged = field.data == field.object_data  # an old date stays, when other details change
        problem = None if unchanged else surgery_date_problem(field.data, site_day().date)
        if problem:
            raise ValidationError(problem)

    def episode_details(self) -> EpisodeDetails:
        return EpisodeDetails(
            procedure=self.procedure.data,
            procedure_type=Procedure(self.procedure_type.data),
            levels=self.levels.data,
            surgeon_id=self.surgeon_id.data,
            surgery_date=self.surgery_date.data,
        )


def _protocol_choice(raw) -> int | None:
    """A published version's id; blank is the first option, "the protocol for the procedure type"."""
    return FOR_PROCEDURE if raw in (None, "") else int_field(raw)


def protocol_field() -> SelectField:
    """The protocol a new episode follows: by default the one meant for its procedure type, which
    the server picks (`app.services.protocols.chosen_protocol`); or a published version chosen."""
    return SelectField("Protocol", coerce=_protocol_choice, default=FOR_PROCEDURE)


def set_protocol_choices(field: SelectField, versions, meant_for: dict) -> None:
    """The published versions (`current_versions`) after "The protocol for the procedure type",
    and a help text naming the protocol each procedure type gets (`protocols_for`)."""
    field.choices = [SelectChoice(FOR_PROCEDURE, "The protocol for the procedure type")] + [
        SelectChoice(v.id, v.label) for v in versions
    ]
    field.description = protocols_help(meant_for)


def protocols_help(meant_for: dict) -> str:
    """ "The protocol for the procedure type: Lumbar … for Discectomy, Fusion; Cervical … for ACDF."."""
    by_name: dict[str, list[str]] = {}
    for procedure in Procedure:
        version = meant_for.get(procedure)
        if version is not None:
            by_name.setdefault(version.template.name, []).append(procedure.label)
    parts = [f"{name} for {', '.join(labels)}" for name, labels in by_name.items()]
    missing = [p.label for p in Procedure if p not in meant_for]
    if missing:
        parts.append(f"none for {', '.join(missing)} (choose one)")
    return f"The protocol for the procedure type: {'; '.join(parts)}."


class RegisterPatientForm(PatientFields, EpisodeFields):
    protocol_version_id = protocol_field()
    submit = SubmitField("Register patient")


class NewEpisodeForm(EpisodeFields):
    protocol_version_id = protocol_field()
    submit = SubmitField("Open episode")


class EditPatientForm(PatientFields):
    version = HiddenField()
    submit = SubmitField("Save changes")


class EditEpisodeForm(EpisodeFields):
    version = HiddenField()
    submit = SubmitField("Save changes")
