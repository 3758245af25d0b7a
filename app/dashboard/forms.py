"""The dashboard's filter form: read from the URL (bookmarkable), so no CSRF token."""

from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from app.domain.compliance import Month, ReportVersion, period_problem
from app.domain.outstanding import MAX_SEARCH, OPEN_STATES, OutstandingFilters, date_range_problem
from app.domain.schedule import day_text
from app.domain.vocab import CLINICAL_ROLES, ItemState, Phase, Role
from app.web.forms import (
    EARLIEST_DATE,
    LATEST_DATE,
    PAGE_MESSAGE,
    Form,
    IsoDateField,
    int_or_typed,
    page_number,
)

VIEWS = (("items", "Items"), ("episodes", "By episode"))
NO = (False, "false", "", "0", "no", "off")


class ListChoice(SelectField):
    """A select whose unknown values get a message naming the field, not "Not a valid choice"."""

    def pre_validate(self, form):
        if self.data not in {c[0] for c in self.iter_choices()} and self.data not in (None, ""):
            raise ValidationError(f"Choose a {self.label.text.lower()} from the list.")


def _blank_is_none(value):
    return value or None


class SurgeonFilter(Form):
    """A filter form with a surgeon choice, offered from the surgeons passed in."""

    class Meta:
        csrf = False  # a GET filter: nothing changes, and the URL can be shared

    surgeon = ListChoice("Surgeon", coerce=int_or_typed, validate_choice=False)

    def set_surgeons(self, surgeons) -> None:
        """Offer every surgeon who has operated or will (inactive ones too: their episodes remain)."""
        self.surgeon_names = {u.id: u.full_name for u in surgeons}
        self.surgeon.choices = [SelectChoice("", "Any surgeon")] + [
            SelectChoice(u.id, u.full_name + ("" if u.active else " (inactive)")) for u in surgeons
        ]

    def surgeon_name(self) -> str | None:
        """The name of the surgeon chosen, if any."""
        return self.surgeon_names.get(self.surgeon.data)


class OutstandingFilterForm(SurgeonFilter):
    phase = ListChoice(
        "Phase",
        choices=[SelectChoice("", "Any phase")] + [SelectChoice(p.value, p.label) for p in Phase],
        coerce=_blank_is_none,
        validate_choice=False,
    )
    state = ListChoice(
        "State",
        choices=[SelectChoice("", "Any state")] + [SelectChoice(s.value, s.label) for s in OPEN_STATES],
        coerce=_blank_is_none,
        validate_choice=False,
    )
    role = ListChoice(
        "Responsible role",
        choices=[SelectChoice("", "Any role")]
        + [SelectChoice(r.value, r.label) for r in Role if r in CLINICAL_ROLES],
        coerce=_blank_is_none,
        validate_choice=False,
    )
    due_from = IsoDateField("Due from", validators=[Optional()])
    due_to = IsoDateField("Due to", validators=[Optional()])
    required = BooleanField("Required only", false_values=NO)
    flagged = BooleanField("Flagged episodes only", false_values=NO)
    safety = BooleanField("Safety alerts only", false_values=NO)
    q = StringField(
        "Patient",
        validators=[Length(max=MAX_SEARCH, message=f"Keep the search to {MAX_SEARCH} characters.")],
        render_kw={"placeholder": "Name or MRN", "type": "search"},
    )
    view = ListChoice("View", choices=[SelectChoice(v, label) for v, label in VIEWS], validate_choice=False)
    page = StringField("Page")

    def validate_due_to(self, field):
        problem = date_range_problem(self.due_from.data, field.data)
        if problem:
            raise ValidationError(problem)

    def validate_page(self, field):
        if field.data not in (None, "") and page_number(field.data) is None:
            raise ValidationError(PAGE_MESSAGE)

    @property
    def page_number(self) -> int:
        return page_number(self.page.data) or 1

    @property
    def by_episode(self) -> bool:
        return self.view.data == "episodes"

    def description(self) -> str | None:
        """The filters in force in words ("After surgery; Overdue"), or None when there are none
        (call after validate())."""
        filters = self.filters()
        return filters.describe(self.surgeon_name(), day_text) if filters.narrows else None

    def filters(self) -> OutstandingFilters:
        """The filters as typed values (call after validate())."""
        return OutstandingFilters(
            phase=Phase(self.phase.data) if self.phase.data else None,
            state=ItemState(self.state.data) if self.state.data else None,
            role=Role(self.role.data) if self.role.data else None,
            surgeon_id=self.surgeon.data,
            due_from=self.due_from.data,
            due_to=self.due_to.data,
            required_only=bool(self.required.data),
            flagged_only=bool(self.flagged.data),
            safety_only=bool(self.safety.data),
            patient=(self.q.data or "").strip(),
        )


MONTH_MESSAGE = "Enter a month as YYYY-MM."
MONTH_RANGE_MESSAGE = "Enter a month from 1900-01 to 2199-12."


class MonthField(StringField):
    """A YYYY-MM month (the browser shows a month picker); data is a Month or None."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"type": "month", "placeholder": "YYYY-MM"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.raw_data = [raw]
        if not raw:
            self.data = None
            return
        try:
            self.data = Month.parse(raw)
        except ValueError:
            self.data = None
            raise ValueError(MONTH_MESSAGE) from None
        if not Month.of(EARLIEST_DATE) <= self.data <= Month.of(LATEST_DATE):
            self.data = None
            raise ValueError(MONTH_RANGE_MESSAGE)

    def _value(self):
        if self.raw_data and self.raw_data[0]:
            return self.raw_data[0]
        return self.data.key if self.data else ""


class ComplianceFilterForm(SurgeonFilter):
    start = MonthField("From month")
    end = MonthField("To month")
    version = ListChoice(
        "Protocol version",
        coerce=int_or_typed,
        validate_choice=False,
    )

    def set_versions(self, versions: list[ReportVersion]) -> None:
        """Offer "All versions" and every numbered version, grouped by protocol, newest first."""
        self.versions = {v.id: v for v in versions}
        self.version.choices = [SelectChoice("", "All versions")] + [
            SelectChoice(v.id, v.label, optgroup=v.protocol) for v in versions
        ]

    def chosen_version(self) -> ReportVersion | None:
        """The protocol version the report is narrowed to (None: all; call after period_valid)."""
        return None if self.version.errors else self.versions.get(self.version.data)

    def period(self, this_month: Month) -> tuple[Month, Month]:
        """The months asked for: by default the twelve months up to this one."""
        last = self.end.data or this_month
        return self.start.data or last.minus(11), last

    def period_valid(self, this_month: Month) -> bool:
        """validate(), then check the period; problems are put on the "to" field. A protocol
        version that cannot be used is named on its field but stops no report: it covers all
        versions, and says so."""
        if not self.validate() and any(f.errors for f in self if f is not self.version):
            return False
        problem = period_problem(*self.period(this_month))
        if problem:
            self.end.errors = [*self.end.errors, problem]
            return False
        return True
