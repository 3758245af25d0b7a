"""The demo site (app/services/demo.py, app/services/demo_patients.py): three surgeons and about
40 patients over the whole pathway, among whom the episode page shows every item state and every
flag, all made through the services; and the logins `seed-demo` prints.

Seeding takes a few seconds: each test seeds once and checks much."""

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import db
from app.checklist.presenter import EpisodeView, episode_view
from app.domain.flags import RULES, episode_flags
from app.domain.site import Site
from app.domain.vocab import EpisodeStatus, ItemState, ItemStatus, Phase, Procedure, Role
from app.models import AuditEvent, Episode, Patient, User
from app.queries.episodes import episode_with_checklist
from app.queries.flags import flag_facts, flagged_episode_count
from app.queries.outcomes import episode_scores
from app.queries.therapy import episode_sessions
from app.services import demo
from app.services.demo_patients import DEMO_PATIENTS
from tests.conftest import NOW


def _item(view: EpisodeView, code: str):
    return next(i for p in view.phases for i in p.items if i.item.step.code == code)


@pytest.fixture
def site(app):
    """The demo seeded through `flask seed-demo`, as `make run` does; returns its output, the
    site's day and the episode page of every episode (as the coordinator sees it), by MRN."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    day = Site.from_config(app.config).day(NOW)
    with db.read_unit():
        coordinator = db.session.scalar(select(User).where(User.username == "coordinator"))
        views = {}
        for episode_id in db.session.scalars(select(Episode.id)):
            episode = episode_with_checklist(db.session, episode_id)
            sessions, scores = (
                episode_sessions(db.session, episode_id),
                episode_scores(db.session, episode_id),
            )
            views[episode.patient.mrn] = episode_view(episode, coordinator, day, sessions, scores)
        yield result.output, day, views
        db.session.rollback()


def test_the_demo_shows_every_item_state_and_flag_among_three_surgeons_40_patients(site):
    output, day, views = site
    states = Counter(i.state for v in views.values() for p in v.phases for i in p.items)
    flags = Counter(f.code for v in views.values() for f in v.flags)

    assert set(states) == set(ItemState), set(ItemState) - set(states)
    assert set(flags) == {rule.code for rule in RULES}, {rule.code for rule in RULES} - set(flags)
    # A clinic, not an alarm board: most episodes raise no flag.
    flagged = {mrn for mrn, v in views.items() if v.flags}
    assert len(flagged) <= len(views) // 3, flagged
    # The lists (flag facts, stored flag dates, the navigation count) agree with the episode pages.
    facts = flag_facts(db.session, [v.episode.id for v in views.values()])
    for mrn, v in views.items():
        assert [f.text for f in episode_flags(facts[v.episode.id], day)] == [f.text for f in v.flags], mrn
    assert flagged_episode_count(db.session, day) == len(flagged)

    # Three surgeons, about 40 patients, shared out.
    accounts = db.session.scalars(select(User)).all()
    surgeons = {u.username for u in accounts if u.role is Role.SURGEON}
    per_surgeon = Counter(v.episode.surgeon.username for v in views.values())
    assert len(surgeons) == 3 and set(per_surgeon) == surgeons and min(per_surgeon.values()) >= 10
    assert 35 <= len(views) == len(DEMO_PATIENTS) == len(db.session.scalars(select(Patient)).all()) <= 45
    assert Counter(v.episode.procedure_type for v in views.values()).keys() == set(Procedure)

    # The whole pathway: days after surgery (negative: before), of the open episodes.
    after = [
        (day.date - v.episode.surgery_date).days
        for v in views.values()
        if v.episode.surgery_date is not None and not v.closed
    ]
    assert any(v.episode.surgery_date is None for v in views.values())  # not yet scheduled
    assert {-60, -14, -7, -2, -1, 0} <= set(after)  # before surgery, far and near; the day itself
    for first, last in [(1, 14), (15, 41), (42, 63), (85, 120), (170, 240), (360, 400)]:  # to 12 months
        assert any(first <= d <= last for d in after), (first, last)
    closed = [v for v in views.values() if v.closed]
    assert len(closed) >= 2 and all(v.episode.status is EpisodeStatus.CLOSED for v in closed)

    # The logins printed: every demo account, with its role and name, and the password.
    assert {u.username for u in accounts} == {name for name, _full, _role in demo.DEMO_USERS}
    assert demo.DEMO_PASSWORD in output
    printed = {line.split()[0]: line for line in output.splitlines() if line.startswith("  ")}
    for user in accounts:
        assert user.full_name in printed[user.username] and user.role.label in printed[user.username]


def test_the_demo_tells_its_stories_made_through_the_services_on_their_own_days(site):
    output, day, views = site
    texts = {mrn: [f.text for f in v.flags] for mrn, v in views.items()}
    by_code = {mrn: Counter(f.code for f in v.flags) for mrn, v in views.items()}

    # The first seven, as README tells them.
    assert texts["H204002"][-1].startswith("Not improving (6 weeks: ODI 46 → 42")
    assert any(t.startswith("Therapy behind plan (2 PT sessions missed in a row") for t in texts["H204001"])
    assert texts["H204006"][0] == "Safety: Pain not controlled (NRS ≥ 7)"
    ferreira = views["H204007"]  # 100 days after a fusion, no PT logged: not behind its later plan
    assert ferreira.episode.procedure_type is Procedure.FUSION
    assert (day.date - ferreira.episode.surgery_date).days == 100
    assert "Still on opioids at 3 months (30 MME/day)" in texts["H204007"]
    assert not by_code["H204007"]["therapy_behind"]
    for mrn in ("H204001", "H204002", "H204003", "H204006"):  # operated, or surgery within days
        assert _item(views[mrn], "pre_baseline_prom").state is ItemState.DONE, mrn
    assert _item(views["H204002"], "post_fu_6w").state is ItemState.DONE
    assert _item(views["H204002"], "post_idt_review").item.required
    assert _item(views["H204001"], "post_idt_review").state is ItemState.NOT_REQUIRED
    # Outcomes: who is not improving, who failed at 12 months (the review then required).
    assert {mrn for mrn, c in by_code.items() if c["not_improving"]} == {"H204002", "H204031"}
    grant = views["H204031"]
    assert grant.flags[0].text.startswith("Not improving (3 months: ODI 30 → 26")
    assert _item(grant, "post_idt_review").state is ItemState.DONE
    assert {mrn for mrn, c in by_code.items() if c["twelve_month_outcome"]} == {"H204037"}
    assert texts["H204037"] == ["12-month outcome: Failure (ODI 36 > 31) despite improvement from 58"]
    assert _item(views["H204037"], "post_idt_review").item.required
    # Behind the PT plan with no session missed; a pre-op sign-off due.
    assert any("1 attended, 3 expected by day 75" in t for t in texts["H204029"])
    assert texts["H204019"] == ["Pre-op not signed off (surgery tomorrow)"]
    # Conditional steps made required: a diabetic's HbA1c (done), an anticoagulant's restart plan.
    diabetic = views["H204012"]
    assert _item(diabetic, "pre_diabetes").item.value == "yes"
    hba1c = _item(diabetic, "pre_hba1c")
    assert hba1c.item.required and hba1c.state is ItemState.DONE and hba1c.item.value == "7.4"
    assert _item(views["H204010"], "pre_hba1c").state is ItemState.NOT_REQUIRED  # diabetes not yet asked
    anticoagulated = views["H204018"]
    hold = _item(anticoagulated, "pre_anticoag")
    assert hold.alert is None and hold.item.alert_acknowledgement.startswith("Apixaban")
    assert anticoagulated.phases[0].signoff is not None and not anticoagulated.flags
    assert _item(anticoagulated, "post_anticoag_restart").item.required
    assert _item(views["H204022"], "intra_dura_check").item.alert_acknowledged_at is not None
    # Each patient follows the protocol meant for the procedure type: the two ACDFs the cervical one.
    slugs = {mrn: v.episode.protocol_version.template.slug for mrn, v in views.items()}
    assert {mrn for mrn, slug in slugs.items() if slug == "cervical-acdf"} == {"H204041", "H204042"}
    assert {views[mrn].episode.procedure_type for mrn in ("H204041", "H204042")} == {Procedure.ACDF}
    assert set(slugs.values()) == {"lumbar-fbss", "cervical-acdf"}
    assert not texts["H204041"] and not texts["H204042"]
    mjoa = _item(views["H204041"], "pre_mjoa")  # myelopathy: the mJOA made required, and done
    assert mjoa.item.required and mjoa.state is ItemState.DONE and mjoa.item.value == "13"
    assert _item(views["H204042"], "post_pt").state is ItemState.DONE  # a PT session on day 45
    assert _item(views["H204042"], "post_ndi_6w").item.value == "24"
    assert _item(views["H204042"], "post_ndi_3m").state is ItemState.PENDING

    # Through the services, audited, each change on the day it would have happened.
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.patient_id.is_not(None))).all()
    actions = Counter(e.action for e in events)
    assert actions["patient.create"] == len(views)
    assert actions["signoff.sign"] == sum(p.signoff is not None for v in views.values() for p in v.phases)
    assert actions["item.alert_acknowledged"] == 2 and actions["session.logged"] > 100
    assert actions["episode.close"] == 2
    moments = [e.at for e in events]
    assert max(moments) <= NOW and min(moments) < NOW - timedelta(days=365)
    for mrn, v in views.items():
        for p in v.phases:
            if p.phase is Phase.AFTER:
                continue
            for i in p.items:  # nothing before or during surgery is done after it
                if i.item.status is not ItemStatus.OPEN and v.episode.surgery_date is not None:
                    assert i.item.completed_on <= v.episode.surgery_date, (mrn, i.item.step.code)

    # The demo surgeon is a clinical lead (edits protocols), and the logins say so.
    assert "surgeon       Surgeon       Dr Amara Okafor (clinical lead: edits protocols)" in output
    lead = db.session.scalar(select(User).where(User.username == "surgeon"))
    assert lead.edits_protocols
    assert not db.session.scalar(select(User).where(User.username == "surgeon2")).edits_protocols
