"""Safety alerts (clinical rules version 2, section 2): an unexpected answer is never just
"done" — it raises "Safety: ..." first among the flags, everywhere, blocks its phase's sign-off
when the alert says so, and clears only when a user of an acknowledging role records the plan."""

import csv
from datetime import date

import pytest
from sqlalchemy import select

from app import db
from app.domain.protocol_spec import parse_protocol
from app.domain.vocab import ItemStatus, Phase, Sex
from app.models import AuditEvent, ChecklistItem, EpisodeFlagDate, User
from app.queries.episodes import episode_with_checklist
from app.services import protocols, signoffs
from app.services.patients import EpisodeDetails, PatientDetails, register_patient
from tests import factories
from tests.conftest import PASSWORD, login

LEVEL = "Level not confirmed on imaging"
PLAN = "Level re-checked with second image, L4-L5 confirmed"


def _step(phase, code, role="surgeon", due=0, **extra):
    return {
        "phase": phase,
        "code": code,
        "title": code.replace("_", " ").capitalize(),
        "role": role,
        "required": True,
        "due": due,
        "kind": "check",
        **extra,
    }


ALERTING = {
    "slug": "alerts-test",
    "name": "Alerts test",
    "steps": [
        _step("before", "pre_consent", due=-7),
        _step(
            "during",
            "intra_level_xray",
            kind="value",
            value={"type": "yes_no", "label": "Level confirmed"},
            alert={"when": {"answer": "no"}, "flag": LEVEL, "blocks": True, "acknowledged_by": ["surgeon"]},
        ),
        _step(
            "after",
            "post_pain",
            role="nurse",
            due=1,
            kind="value",
            value={"type": "number", "label": "Pain NRS", "min": 0, "max": 10},
            alert={
                "when": {"at_least": 7},
                "flag": "Pain not controlled (NRS ≥ 7)",
                "acknowledged_by": ["surgeon", "anaesthetist"],
            },
        ),
    ],
}


@pytest.fixture
def operated(session, coordinator, surgeon):
    """An episode of the alerting protocol, operated today, Before surgery signed."""
    version, _ = protocols.publish(session, parse_protocol(ALERTING))
    session.commit()
    with db.write_unit():
        episode = register_patient(
            db.session,
            coordinator,
            PatientDetails("MRN55501", "Alert", "Ann", date(1960, 1, 1), Sex.FEMALE),
            EpisodeDetails("L4-L5 discectomy", "L4-L5", surgeon.id, factories.TODAY),
            version,
            factories.TODAY,
        )
        db.session.commit()
        episode_id = episode.id
    factories.complete_phase_by_id(episode_id, Phase.BEFORE, surgeon, coordinator)
    with db.write_unit():
        loaded = episode_with_checklist(db.session, episode_id)
        signoffs.sign(db.session, db.session.get(User, surgeon.id), loaded, Phase.BEFORE, PASSWORD, 5, 15)
        db.session.commit()
    return episode_id


def item(episode_id: int, code: str) -> ChecklistItem:
    db.session.expire_all()
    found = next(i for i in episode_with_checklist(db.session, episode_id).items if i.step.code == code)
    db.session.remove()
    return found


def answer(client, episode_id, code, value):
    it = item(episode_id, code)
    return client.form_post(
        f"/episodes/{episode_id}/items/{it.id}/done", {"version": str(it.version), "value": value}
    )


def acknowledge(client, episode_id, code, text):
    it = item(episode_id, code)
    return client.form_post(
        f"/episodes/{episode_id}/items/{it.id}/acknowledge", {"version": str(it.version), "plan": text}
    )


def page(client, episode_id) -> str:
    response = client.get(f"/episodes/{episode_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_unexpected_answer_is_done_raises_a_safety_flag_first_and_blocks_the_sign_off(
    client, surgeon, operated
):
    login(client, surgeon)
    assert answer(client, operated, "intra_level_xray", "no").status_code == 302

    level = item(operated, "intra_level_xray")
    assert (level.status, level.value, level.alert_open) == (ItemStatus.DONE, "no", True)
    shown = page(client, operated)
    first_flag = shown[shown.index('data-flag="') :].split(">", 1)[0]
    assert first_flag == 'data-flag="safety"'  # listed before every other flag
    assert f"Safety: {LEVEL}" in shown
    assert f"Safety alert not acknowledged: {LEVEL}" in shown  # the During sign-off's blockers
    stored = db.session.scalar(
        select(EpisodeFlagDate.flagged_from).where(EpisodeFlagDate.episode_id == operated)
    )
    assert stored == date.min  # counted in the navigation bar and the lists from today
    dashboard = client.get("/dashboard?safety=1").get_data(as_text=True)
    assert f'data-item="{item(operated, "pre_consent").id}"' not in dashboard  # signed phase: not outstanding
    assert 'data-quick="safety"' in dashboard and "data-quick-count>1 episode</span>" in dashboard


def test_a_yes_raises_nothing(client, surgeon, operated):
    login(client, surgeon)
    answer(client, operated, "intra_level_xray", "yes")
    assert not item(operated, "intra_level_xray").alert_open
    assert "Safety:" not in page(client, operated)


def test_acknowledging_needs_an_acknowledging_role_and_a_plan_then_clears_the_flag(
    client, surgeon, nurse, operated
):
    login(client, surgeon)
    answer(client, operated, "intra_level_xray", "no")
    events = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))

    short = acknowledge(client, operated, "intra_level_xray", "ok")
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    assert item(operated, "intra_level_xray").alert_open
    assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == events

    response = acknowledge(client, operated, "intra_level_xray", PLAN)
    assert response.status_code == 302
    level = item(operated, "intra_level_xray")
    assert (level.alert_open, level.alert_acknowledgement, level.status) == (False, PLAN, ItemStatus.DONE)
    shown = page(client, operated)
    assert "Safety:" not in shown and "acknowledged by Dr Sara Surgeon" in shown and PLAN in shown
    assert "Safety alert not acknowledged" not in shown
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "item.alert_acknowledged")).one()
    assert event.reason == PLAN and LEVEL in event.summary

    client.form_post("/logout")
    login(client, nurse)  # the pain alert names surgeon or anaesthetist: a nurse records, cannot acknowledge
    answer(client, operated, "post_pain", "8")
    refused = acknowledge(client, operated, "post_pain", PLAN)
    assert refused.status_code == 422 and "Only a surgeon or anaesthetist" in refused.get_data(as_text=True)
    assert item(operated, "post_pain").alert_open


@pytest.mark.parametrize(("value", "alerting"), [("6", False), ("7", True), ("10", True)])
def test_a_number_alert_is_raised_at_its_threshold(client, nurse, operated, value, alerting):
    login(client, nurse)
    answer(client, operated, "post_pain", value)
    assert item(operated, "post_pain").alert_open is alerting


def test_reopening_starts_over(client, surgeon, operated):
    login(client, surgeon)
    answer(client, operated, "intra_level_xray", "no")
    acknowledge(client, operated, "intra_level_xray", PLAN)
    it = item(operated, "intra_level_xray")
    client.form_post(
        f"/episodes/{operated}/items/{it.id}/reopen",
        {"version": str(it.version), "reason": "Wrong answer entered"},
    )
    answer(client, operated, "intra_level_xray", "no")
    level = item(operated, "intra_level_xray")
    assert level.alert_acknowledged_at is None and level.alert_open
    assert f"Safety: {LEVEL}" in page(client, operated)


def test_the_surgeons_home_lists_episodes_with_waiting_alerts_first_and_the_export_counts_them(
    client, surgeon, operated
):
    login(client, surgeon)
    assert "Safety alerts waiting" not in client.get("/").get_data(as_text=True)
    answer(client, operated, "intra_level_xray", "no")
    home = client.get("/").get_data(as_text=True)
    assert home.index("Safety alerts waiting") < home.index("Awaiting my pre-op sign-off")
    assert (
        f'href="/episodes/{operated}"' in home[home.index("Safety alerts waiting") : home.index("Awaiting")]
    )
    export = client.form_post("/dashboard/export.csv", {}).get_data(as_text=True).splitlines()
    header = export[0].split(",")
    assert header[-3:] == ["Episode safety alerts", "Episode risk factors", "Episode risk factors named"]
    row = next(csv.reader(export[1:2]))
    assert row[-3] == "1"  # the post-op items of the episode with one waiting alert
    acknowledge(client, operated, "intra_level_xray", PLAN)
    assert "Safety alerts waiting" not in client.get("/").get_data(as_text=True)
