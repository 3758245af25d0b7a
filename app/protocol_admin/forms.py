"""The forms of protocol administration. The step form holds every field of the protocol format;
`step_raw` turns it into a step in the file format (app/domain/protocol_format.py), which the
service checks with the format's own rules."""

from typing import Any

from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.domain.flags import CONDITION_FLAGS, FLAG_LABELS, STEP_VALUE_FLAGS
from app.domain.vocab import (
    CLINICAL_ROLES,
    Discipline,
    Phase,
    Procedure,
    Role,
    StepKind,
    TimePoint,
)
from app.web.forms import Form


def _choices(*pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


ROLE_CHOICES = _choices(*((r.value, r.label) for r in Role if r in CLINICAL_ROLES))
PROCEDURE_CHOICES = _choices(*((p.value, p.label) for p in Procedure))
NONE_CHOICE = ("", "—")
YES_NO = _choices(NONE_CHOICE, ("yes", "yes"), ("no", "no"))


class OptionalSelectField(SelectField):
    """A choice that may be left at "—" (its value ""), also when the form does not send it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes (a multiple choice usable by keyboard and on phones)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LockedForm(Form):
    """A change to a draft: carries the draft's lock version as the page showed it."""

    lock = HiddenField()

    def lock_version(self) -> int | None:
        try:
            return int(self.lock.data)
        except (TypeError, ValueError):
            return None


class StepForm(LockedForm):
    phase = SelectField("Phase", choices=_choices(*((p.value, p.label) for p in Phase)))
    code = StringField(
        "Code",
        validators=[InputRequired(message="Enter a code."), Length(max=80)],
        description=(
            "Unique in the version; letters, digits and _ (e.g. post_phone_call). Other steps' "
            "conditions name it."
        ),
    )
    title = TextAreaField("Title", validators=[InputRequired(message="Enter the title."), Length(max=1000)])
    guidance = TextAreaField(
        "Guidance and sources",
        validators=[Length(max=4000)],
        description="Why, and its evidence: end with “Sources: …”.",
    )
    role = SelectField("Done by", choices=ROLE_CHOICES)
    required = BooleanField("Required (counts for progress, sign-off and overdue flags)")
    due = StringField(
        "Due (days from surgery)",
        validators=[InputRequired(message="Enter the due day, e.g. -14 or 42.")],
        description=(
            "Negative: before surgery; 0: the day of surgery. A Before-surgery step is due on or before it."
        ),
    )
    grace = StringField(
        "Grace (days)", description="Days after the due day an open item is “Due now”, not yet overdue."
    )
    kind = SelectField(
        "Kind",
        choices=_choices(
            ("check", "Check (a tick)"),
            ("value", "Value (a recorded answer)"),
            ("sessions", "Sessions (therapy)"),
        ),
    )
    # Value
    value_type = OptionalSelectField(
        "Value type",
        choices=_choices(
            NONE_CHOICE,
            ("number", "Number"),
            ("yes_no", "Yes / no"),
            ("text", "Text"),
            ("time", "Time"),
        ),
    )
    value_label = StringField("Value label", validators=[Length(max=120)])
    unit = StringField("Unit", validators=[Length(max=40)])
    min_value = StringField("Lowest value")
    max_value = StringField("Highest value")
    outcome = OptionalSelectField(
        "Outcome time point", choices=_choices(NONE_CHOICE, *((t.value, t.label) for t in TimePoint))
    )
    window_from = StringField("Scores dated from (day)")
    window_until = StringField("Scores dated until (day)")
    # Sessions
    discipline = OptionalSelectField(
        "Discipline", choices=_choices(NONE_CHOICE, *((d.value, d.value) for d in Discipline))
    )
    session_count = StringField("Sessions needed")
    sessions_from = StringField("Sessions count from (day)")
    sessions_until = StringField("Sessions count until (day)")
    # Alert
    alert_flag = StringField("Alert text", validators=[Length(max=200)], description="Empty: no alert.")
    alert_answer = OptionalSelectField("Raised by the answer", choices=YES_NO)
    alert_at_least = StringField("Raised at or above")
    alert_at_most = StringField("Raised at or below")
    alert_blocks = BooleanField("Blocks its phase's sign-off until acknowledged")
    alert_acknowledged_by = CheckboxesField("Acknowledged by", choices=ROLE_CHOICES)
    # Condition
    condition = OptionalSelectField(
        "Required only when",
        choices=_choices(
            ("", "Always as above"),
            ("step", "Another step is answered …"),
            ("flags", "One of these flags is raised"),
        ),
    )
    condition_step = StringField("Step code (an earlier yes/no step)")
    condition_answer = OptionalSelectField("… answered", choices=YES_NO)
    condition_flags = CheckboxesField(
        "Flags", choices=_choices(*((f, FLAG_LABELS.get(f, f)) for f in sorted(CONDITION_FLAGS)))
    )
    # Procedure types
    only_for = CheckboxesField(
        "Only for procedure types (none ticked: every type)", choices=PROCEDURE_CHOICES
    )
    # Raises a flag / risk factor
    raises_flag = OptionalSelectField(
        "Its value raises the flag",
        choices=_choices(NONE_CHOICE, *((f, FLAG_LABELS.get(f, f)) for f in sorted(STEP_VALUE_FLAGS))),
    )
    raises_above = StringField("… when above")
    risk_name = StringField("Risk factor name", validators=[Length(max=80)])
    risk_label = StringField("Shown as", validators=[Length(max=120)], description="e.g. “BMI {value}”.")
    risk_answer = OptionalSelectField("Shown by the answer", choices=YES_NO)
    risk_at_least = StringField("Shown at or above")
    risk_above = StringField("Shown above")
    submit = SubmitField("Save step")

    def variant_fields(self) -> list[tuple[Procedure, dict[str, Any]]]:
        return [(p, {k: self[f"variant_{p.value}_{k}"] for k in VARIANT_KEYS}) for p in Procedure]


VARIANT_KEYS = ("due", "from", "until", "count")
for _procedure in Procedure:
    for _key in VARIANT_KEYS:
        setattr(StepForm, f"variant_{_procedure.value}_{_key}", StringField(f"{_procedure.label}: {_key}"))

# Fields holding numbers: whole numbers, or any number (a value's range and thresholds).
WHOLE = (
    "due",
    "grace",
    "window_from",
    "window_until",
    "session_count",
    "sessions_from",
    "sessions_until",
    *(f"variant_{p.value}_{k}" for p in Procedure for k in VARIANT_KEYS),
)
NUMBERS = (
    "min_value",
    "max_value",
    "alert_at_least",
    "alert_at_most",
    "raises_above",
    "risk_at_least",
    "risk_above",
)


def _read_numbers(form: StepForm) -> tuple[dict[str, Any], dict[str, str]]:
    values, problems = {}, {}
    for name in WHOLE + NUMBERS:
        text = (form[name].data or "").strip()
        if not text:
            values[name] = None
            continue
        try:
            values[name] = int(text)
        except ValueError:
            if name in WHOLE:
                problems[name] = (
                    "Enter a whole number of days, e.g. 14 or -7."
                    if name != "session_count"
                    else "Enter a whole number."
                )
                continue
            try:
                number = float(text)
            except ValueError:
                problems[name] = "Enter a number, e.g. 7 or 7.5."
                continue
            if number != number or number in (float("inf"), float("-inf")):
                problems[name] = "Enter a number, e.g. 7 or 7.5."
                continue
            values[name] = number
        if name in WHOLE and values.get(name) is not None and abs(values[name]) > 3650:
            problems[name] = "Enter a number of days within ten years."
    return values, problems


def _dropping_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def step_raw(form: StepForm) -> tuple[dict[str, Any], dict[str, str]]:
    """The step in the file format, and the problems of fields that are not numbers where they
    must be (by field name)."""
    n, problems = _read_numbers(form)
    raw: dict[str, Any] = {
        "phase": form.phase.data,
        "code": (form.code.data or "").strip(),
        "title": " ".join((form.title.data or "").split()),
        "guidance": (form.guidance.data or "").strip(),
        "role": form.role.data,
        "required": bool(form.required.data),
        "due": n.get("due"),
        "kind": form.kind.data,
    }
    if n.get("grace"):
        raw["grace"] = n.get("grace")
    if form.kind.data == StepKind.VALUE.value:
        raw["value"] = _dropping_none(
            {
                "type": form.value_type.data or None,
                "label": (form.value_label.data or "").strip(),
                "unit": (form.unit.data or "").strip(),
                "min": n.get("min_value"),
                "max": n.get("max_value"),
                "outcome": form.outcome.data or None,
            }
        )
        if n.get("window_from") is not None or n.get("window_until") is not None:
            raw["window"] = {"from": n.get("window_from"), "until": n.get("window_until")}
    if form.kind.data == StepKind.SESSIONS.value:
        raw["sessions"] = _dropping_none(
            {
                "discipline": form.discipline.data or None,
                "count": n.get("session_count"),
                "from": n.get("sessions_from"),
                "until": n.get("sessions_until"),
            }
        )
    if (form.alert_flag.data or "").strip():
        raw["alert"] = {
            "when": _dropping_none(
                {
                    "answer": form.alert_answer.data or None,
                    "at_least": n.get("alert_at_least"),
                    "at_most": n.get("alert_at_most"),
                }
            ),
            "flag": form.alert_flag.data.strip(),
            "blocks": bool(form.alert_blocks.data),
            "acknowledged_by": list(form.alert_acknowledged_by.data or []),
        }
    if form.condition.data == "step":
        raw["required_if"] = {
            "step": (form.condition_step.data or "").strip(),
            "answer": form.condition_answer.data,
        }
    elif form.condition.data == "flags":
        raw["required_if"] = {"flags": list(form.condition_flags.data or [])}
    variants = {}
    for procedure in Procedure:
        changes = _dropping_none({k: n.get(f"variant_{procedure.value}_{k}") for k in VARIANT_KEYS})
        if changes:
            variants[procedure.value] = changes
    if variants:
        raw["variants"] = variants
    if form.only_for.data:
        raw["only_for"] = list(form.only_for.data)
    if form.raises_flag.data:
        raw["raises"] = _dropping_none({"flag": form.raises_flag.data, "above": n.get("raises_above")})
    if (form.risk_name.data or "").strip() or (form.risk_label.data or "").strip():
        raw["risk"] = _dropping_none(
            {
                "name": (form.risk_name.data or "").strip(),
                "label": (form.risk_label.data or "").strip(),
                "answer": form.risk_answer.data or None,
                "at_least": n.get("risk_at_least"),
                "above": n.get("risk_above"),
            }
        )
    return raw, problems


def fill_step_form(form: StepForm, data: dict[str, Any]) -> None:
    """Show a step (in the file format) in the form."""

    def text(value) -> str:
        return "" if value is None else str(value)

    form.phase.data, form.code.data, form.title.data = data["phase"], data["code"], data["title"]
    form.guidance.data, form.role.data = data.get("guidance", ""), data["role"]
    form.required.data, form.due.data, form.kind.data = data["required"], text(data["due"]), data["kind"]
    form.grace.data = text(data.get("grace"))
    value = data.get("value") or {}
    form.value_type.data, form.value_label.data = value.get("type", ""), value.get("label", "")
    form.unit.data, form.min_value.data, form.max_value.data = (
        value.get("unit", ""),
        text(value.get("min")),
        text(value.get("max")),
    )
    form.outcome.data = value.get("outcome", "")
    window = data.get("window") or {}
    form.window_from.data, form.window_until.data = text(window.get("from")), text(window.get("until"))
    sessions = data.get("sessions") or {}
    form.discipline.data, form.session_count.data = (
        sessions.get("discipline", ""),
        text(sessions.get("count")),
    )
    form.sessions_from.data, form.sessions_until.data = (
        text(sessions.get("from")),
        text(sessions.get("until")),
    )
    alert = data.get("alert") or {}
    when = alert.get("when") or {}
    form.alert_flag.data, form.alert_answer.data = alert.get("flag", ""), when.get("answer", "")
    form.alert_at_least.data, form.alert_at_most.data = text(when.get("at_least")), text(when.get("at_most"))
    form.alert_blocks.data, form.alert_acknowledged_by.data = (
        bool(alert.get("blocks")),
        alert.get("acknowledged_by", []),
    )
    condition = data.get("required_if") or {}
    form.condition.data = "step" if condition.get("step") else "flags" if condition.get("flags") else ""
    form.condition_step.data, form.condition_answer.data = (
        condition.get("step", ""),
        condition.get("answer", ""),
    )
    form.condition_flags.data = condition.get("flags", [])
    for procedure, changes in (data.get("variants") or {}).items():
        for key, value in changes.items():
            form[f"variant_{procedure}_{key}"].data = text(value)
    form.only_for.data = data.get("only_for", [])
    raises = data.get("raises") or {}
    form.raises_flag.data, form.raises_above.data = raises.get("flag", ""), text(raises.get("above"))
    risk = data.get("risk") or {}
    form.risk_name.data, form.risk_label.data = risk.get("name", ""), risk.get("label", "")
    form.risk_answer.data = risk.get("answer", "")
    form.risk_at_least.data, form.risk_above.data = text(risk.get("at_least")), text(risk.get("above"))


class NewDraftForm(Form):
    source = SelectField("Start from", coerce=str)
    name = StringField(
        "Name of a new protocol",
        validators=[Optional(), Length(max=200)],
        description="Only for a new protocol; a draft of an existing protocol keeps its name.",
    )
    submit = SubmitField("Start the draft")


class ImportForm(Form):
    text = TextAreaField(
        "Protocol file (YAML)",
        validators=[InputRequired(message="Paste the protocol file."), Length(max=400_000)],
    )
    submit = SubmitField("Import as a draft")


class PublishForm(LockedForm):
    password = PasswordField(
        "Your password", validators=[InputRequired(message="Enter your password to sign.")]
    )
    submit = SubmitField("Publish: approved for clinical use")


class ProceduresForm(Form):
    procedures = CheckboxesField("Meant for", choices=PROCEDURE_CHOICES)
    submit = SubmitField("Save")
