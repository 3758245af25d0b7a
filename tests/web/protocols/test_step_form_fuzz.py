"""The step editor driven with generated input: the class of bad input is closed.

Hypothesis fills the step form with plausible values, now and then replaced by hostile ones
(tests/web/test_fuzz.py's HOSTILE: empty, huge, control characters, not numbers, 1e309, NaN …),
and posts it to add a step or change one. Whatever it sends: never a 5xx; a refusal changes
nothing and writes no audit event; a saved step is a step the protocol format accepts, with
exactly one audit event.
"""

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app import db
from app.domain.protocol_format import spec_of_step, step_data
from app.domain.protocol_spec import parse_step
from app.models import AuditEvent, ProtocolStep, ProtocolVersion
from app.services import protocol_drafts
from app.web import once
from tests.conftest import login
from tests.web.test_fuzz import EXAMPLES, HOSTILE
from tests.web.test_permissions import snapshot

FUZZ = settings(
    max_examples=EXAMPLES * 2,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
SMALL = st.integers(-400, 400).map(str)
FIELDS = {
    "phase": st.sampled_from(["before", "during", "after"]),
    "code": st.from_regex(r"[a-z][a-z0-9_]{2,20}", fullmatch=True),
    "title": st.sampled_from(["Wound check", "Phone call on day 3", "HbA1c"]),
    "guidance": st.sampled_from(["", "Why. Sources: ERAS."]),
    "role": st.sampled_from(["surgeon", "nurse", "anaesthetist", "therapist", "coordinator", "admin"]),
    "required": st.sampled_from(["y", ""]),
    "due": SMALL,
    "grace": st.sampled_from(["", "0", "3", "14"]),
    "kind": st.sampled_from(["check", "value", "sessions"]),
    "value_type": st.sampled_from(["", "number", "yes_no", "text", "time"]),
    "min_value": st.sampled_from(["", "0", "3", "10"]),
    "max_value": st.sampled_from(["", "10", "100", "2.5"]),
    "outcome": st.sampled_from(["", "baseline", "6w", "12m"]),
    "window_from": st.sampled_from(["", "28", "300"]),
    "window_until": st.sampled_from(["", "63", "400"]),
    "discipline": st.sampled_from(["", "PT", "OT"]),
    "session_count": st.sampled_from(["", "0", "8"]),
    "sessions_from": st.sampled_from(["", "0", "28"]),
    "sessions_until": st.sampled_from(["", "90", "20"]),
    "alert_flag": st.sampled_from(["", "High value"]),
    "alert_answer": st.sampled_from(["", "yes", "no"]),
    "alert_at_least": st.sampled_from(["", "8", "200"]),
    "alert_blocks": st.sampled_from(["", "y"]),
    "alert_acknowledged_by": st.sampled_from(["surgeon", "admin", ""]),
    "condition": st.sampled_from(["", "step", "flags"]),
    "condition_step": st.sampled_from(["", "pre_diabetes", "post_fu_12m", "nothing"]),
    "condition_answer": st.sampled_from(["", "yes", "no"]),
    "condition_flags": st.sampled_from(["safety", "not_improving", "preop_unsigned"]),
    "only_for": st.sampled_from(["fusion", "acdf", "bogus"]),
    "variant_fusion_due": st.sampled_from(["", "91", "x"]),
    "raises_flag": st.sampled_from(["", "still_on_opioids"]),
    "raises_above": st.sampled_from(["", "0"]),
    "risk_name": st.sampled_from(["", "BMI"]),
    "risk_label": st.sampled_from(["", "BMI {value}"]),
    "risk_at_least": st.sampled_from(["", "35"]),
}


VALID = {
    "check": {
        "phase": "after",
        "title": "Phone call",
        "role": "nurse",
        "required": "y",
        "due": "3",
        "kind": "check",
    },
    "value": {
        "phase": "before",
        "title": "BMI",
        "role": "nurse",
        "required": "y",
        "due": "-7",
        "kind": "value",
        "value_type": "number",
        "min_value": "10",
        "max_value": "80",
    },
    "sessions": {
        "phase": "after",
        "title": "PT",
        "role": "therapist",
        "required": "y",
        "due": "42",
        "kind": "sessions",
        "discipline": "PT",
        "session_count": "6",
    },
}


@st.composite
def submissions(draw):
    """A valid step of some kind (a fresh code), with none, some or many fields replaced by a
    plausible value, a hostile one, or left out."""
    form = {**VALID[draw(st.sampled_from(sorted(VALID)))], "code": draw(FIELDS["code"])}
    for name in draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=6, unique=True)):
        roll = draw(st.integers(0, 5))
        if roll == 0:
            form.pop(name, None)
        elif roll == 1:
            form[name] = draw(HOSTILE.filter(lambda v: len(v) < 2000))
        else:
            form[name] = draw(FIELDS[name])
    return list(form.items())


def _count_steps(draft_id: int) -> int:
    n = db.session.scalar(
        select(func.count()).select_from(ProtocolStep).where(ProtocolStep.version_id == draft_id)
    )
    db.session.remove()
    return n


@pytest.mark.parametrize("target", ["new", "edit"])
def test_the_step_form_answers_any_input_clearly_and_saves_only_valid_steps(
    app, client, lead, protocol, target
):
    with db.write_unit():
        draft = protocol_drafts.start_draft(db.session, db.session.merge(lead), db.session.merge(protocol))
        db.session.commit()
        draft_id = draft.id
        step_id = min(draft.steps, key=lambda s: s.position).id
    db.session.remove()
    login(client, lead)
    token = client.csrf_token()
    path = (
        f"/protocols/versions/{draft_id}/steps/new"
        if target == "new"
        else (f"/protocols/versions/{draft_id}/steps/{step_id}/edit")
    )
    outcomes = Counter()

    @FUZZ
    @given(pairs=submissions())
    def send(pairs):
        lock = db.session.get(ProtocolVersion, draft_id).lock_version
        db.session.remove()
        before, last = snapshot(), db.session.scalar(select(func.max(AuditEvent.id)))
        db.session.remove()
        form = MultiDict(
            [("csrf_token", token), ("form_token", once.new_token()), ("lock", str(lock)), *pairs]
        )
        response = client.post(path, data=form)
        status = response.status_code
        outcomes[status] += 1
        assert status < 500, f"{path} {pairs!r:.500} answered {status}"
        events = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > last)))
        db.session.remove()
        if status >= 400:
            assert snapshot() == before, f"answered {status} but changed the database: {pairs!r:.300}"
            assert events == []
            return
        assert status == 302 and events == ["protocol.step"]
        for row in db.session.scalars(select(ProtocolStep).where(ProtocolStep.version_id == draft_id)):
            parse_step(step_data(spec_of_step(row)), row.position)  # every stored step keeps the rules
        db.session.remove()

    send()
    assert outcomes[422] > 0 and outcomes[302] > 0  # refusals and saved steps both reached
