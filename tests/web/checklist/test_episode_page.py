"""The episode page brings the checklist, sessions and outcomes together: counts and flags."""

import re
from datetime import date, timedelta

from app import db
from app.domain.outcomes import Thresholds
from app.domain.therapy import SessionInput
from app.domain.vocab import Phase, TimePoint
from app.queries.episodes import episode_with_checklist
from app.services import checklist, outcomes, therapy
from tests import factories
from tests.conftest import NOW, login

TODAY = NOW.date()


def _operated(coordinator, surgeon, protocol, days_ago: int):
    return factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY - timedelta(days=days_ago))


def _session(therapist, episode, on: date, attendance="attended", discipline="PT"):
    entry = SessionInput(on, discipline, 45, attendance, 5, 3, "Gait training", True, False)
    with db.write_unit():
        therapy.log_session(
            db.session, therapist, episode_with_checklist(db.session, episode.id), entry, TODAY
        )
        db.session.commit()


def _row(page: str, code: str) -> str:
    return page[page.index(f'data-code="{code}"') :].split("</li>")[0]


def _flags(page: str) -> str:
    return page[page.index('id="episode-flags"') :].split("</div>")[0]


def test_sessions_items_show_live_counts_and_the_behind_plan_flag(
    client, coordinator, surgeon, therapist, protocol
):
    # Day 90, no session: the PT programme's plan expects 2 or more sessions by now.
    episode = _operated(coordinator, surgeon, protocol, days_ago=90)
    login(client, coordinator)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "0 of 1 PT sessions" in _row(page, "post_mobilise")
    assert "Therapy behind plan" in _flags(page)
    assert "0 attended" in _flags(page)

    _session(therapist, episode, TODAY - timedelta(days=89))  # day 1: mobilisation
    _session(therapist, episode, TODAY - timedelta(days=60))  # day 30: outpatient PT (from day 28)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert 'data-state="done"' in _row(page, "post_mobilise")
    assert "1 of 8 PT sessions" in _row(page, "post_pt_adherence")
    assert "Gait training" in page[page.index('id="therapy"') :]


def test_not_improving_shows_on_the_page_in_the_list_and_in_the_nav_count(
    client, coordinator, surgeon, protocol
):
    episode = _operated(coordinator, surgeon, protocol, days_ago=50)
    with db.write_unit():
        current = episode_with_checklist(db.session, episode.id)
        outcomes.record_scores(
            db.session, coordinator, current, TimePoint.BASELINE, TODAY - timedelta(days=60), 40, 6, 7, TODAY
        )
        outcomes.record_scores(
            db.session, coordinator, current, TimePoint.WEEKS_6, TODAY - timedelta(days=5), 38, 6, 7, TODAY
        )
        db.session.commit()
    login(client, coordinator)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "Not improving" in _flags(page)
    listing = client.get("/patients").get_data(as_text=True)
    assert "Not improving" in listing[listing.index(f'data-mrn="{episode.patient.mrn}"') :].split("</tr>")[0]
    count = int(re.search(r"data-flag-count>(\d+)<", page).group(1))
    assert count == 1
    flagged = client.get("/dashboard?view=episodes&flagged=1").get_data(as_text=True)
    assert f'data-episode="{episode.id}"' in flagged
    assert "Not improving" in flagged[flagged.index(f'data-episode="{episode.id}"') :].split("</tr>")[0]


def test_thresholds_come_from_configuration(app):
    app.config["MCID_ODI_POINTS"] = 5
    with app.app_context():
        assert Thresholds.from_config(app.config).odi_points == 5


def test_the_header_and_the_sign_off_page_show_the_risk_tier_and_what_is_not_yet_known(
    client, surgeon, coordinator, episode
):
    login(client, surgeon)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    header = page[page.index("data-risk") :].split("</div>")[0]
    assert "Risk factors: 0; not yet known: prior lumbar surgery, PHQ-9, smoking" in header

    with db.write_unit():
        loaded = episode_with_checklist(db.session, episode.id)
        me = db.session.get(type(surgeon), surgeon.id)
        for code, value in (
            ("pre_smoking", "yes"),
            ("pre_nutrition_anemia", "37"),
            ("pre_psych_screen", "12"),
        ):
            item = factories.item(loaded, code)
            checklist.mark_done(db.session, me, item, item.version, value)
        db.session.commit()
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "Risk factors: 3 (PHQ-9 12, smoker, BMI 37)" in page
    sign = client.get(f"/episodes/{episode.id}/sign/before").get_data(as_text=True)
    assert "Risk factors: 3 (PHQ-9 12, smoker, BMI 37)" in sign and "does not block the sign-off" in sign


def test_a_conditional_step_says_it_is_not_required_now_and_why_until_its_condition_holds(
    client, coordinator, surgeon, protocol
):
    """Clinical rules version 2, section 3: never overdue while not required, nobody's to do; once
    its condition holds, required from that day, in the lists too."""
    episode = _operated(coordinator, surgeon, protocol, days_ago=-20)  # surgery in 20 days
    login(client, surgeon)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    row = _row(page, "pre_hba1c")
    assert 'data-state="not_required"' in row and "Not required now</span>" in row
    assert "Not required now: required only when “Diabetic” is yes" in row
    assert "overdue" not in row.lower() and "Due " not in row  # its own due date passed 10 days ago
    review = _row(page, "post_idt_review")
    assert (
        "Not required now: required only while “Not improving”, “Still on opioids at 3 months” or "
        "“12-month outcome” is raised" in review
    )
    dashboard = client.get("/dashboard?patient=" + episode.patient.mrn).get_data(as_text=True)
    assert "HbA1c" not in dashboard and "Interdisciplinary review" not in dashboard

    diabetes = factories.item(episode, "pre_diabetes")
    client.form_post(
        f"/episodes/{episode.id}/items/{diabetes.id}/done", {"version": diabetes.version, "value": "yes"}
    )
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    row = _row(page, "pre_hba1c")
    due = TODAY + timedelta(days=14)
    assert 'data-state="pending"' in row
    assert f"Required since {TODAY.day} {TODAY:%b %Y} (when “Diabetic” is yes)" in row
    assert f"Due {due.day} {due:%b %Y} (due in 14 days)" in row
    dashboard = client.get("/dashboard?patient=" + episode.patient.mrn).get_data(as_text=True)
    assert "HbA1c (diabetics)" in dashboard
    history = client.get(f"/episodes/{episode.id}/history").get_data(as_text=True)
    assert "Now required: HbA1c" in history and "“Diabetic” is yes" in history


def test_history_reads_in_plain_words(client, coordinator, surgeon, therapist, protocol):
    episode = _operated(coordinator, surgeon, protocol, days_ago=30)
    _session(therapist, episode, TODAY - timedelta(days=2))
    login(client, surgeon)
    history = client.get(f"/episodes/{episode.id}/history").get_data(as_text=True)
    assert "Home exercise plan:</span>\n          yes" in history
    assert "pain_before" not in history and "None" not in history and "True" not in history
    assert f"Session date:</span>\n          {(TODAY - timedelta(days=2)).day} " in history


def test_sign_off_blockers_link_to_their_items_with_due_dates(client, coordinator, surgeon, protocol):
    episode = _operated(coordinator, surgeon, protocol, days_ago=-10)  # surgery in 10 days
    login(client, surgeon)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    consent = next(i for i in episode.items if i.required and i.phase.value == "before")
    blockers = page[page.index("data-blockers") :].split("</ul>")[0]
    link = f'<a href="#item-{consent.id}" data-blocker-item="{consent.id}">Open: {consent.step.title}'
    assert link in blockers
    due = consent.due_date
    assert (
        f"· due {due.day} {due:%b %Y}"
        in blockers.split(f'data-blocker-item="{consent.id}"')[1].split("</li>")[0]
    )
    sign = client.get(f"/episodes/{episode.id}/sign/before").get_data(as_text=True)
    assert f'href="/episodes/{episode.id}#item-{consent.id}"' in sign


def test_value_fields_have_a_hint_in_words_and_no_data_type(client, coordinator, surgeon, protocol):
    episode = factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=20))
    login(client, surgeon)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)

    def hint(code: str) -> str:
        return re.search(
            r'<span class="small text-muted align-self-center">([^<]*)</span>', _row(page, code)
        ).group(1)

    assert hint("pre_dx_correlation") == ""  # free text: its placeholder names it ("Confirmed level(s)")
    assert hint("pre_hba1c") == "from 3 to 20 %"
    assert hint("intra_antibiotic") == "24-hour time, e.g. 08:45"
    hints = re.findall(r'<span class="small text-muted align-self-center">([^<]*)</span>', page)
    assert hints and not {"text", "HH:MM", "yes or no"} & set(hints)


def _phase(page: str, phase: str) -> str:
    start = page.index(f'id="phase-{phase}"')
    return page[start : page.index("</section>", start)]


def test_the_phase_bar_reaches_every_section_and_chooses_the_items_shown(
    client, coordinator, surgeon, nurse, protocol
):
    episode = _operated(coordinator, surgeon, protocol, days_ago=-10)
    login(client, nurse)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    bar = page[page.index('id="phase-bar"') :].split("</nav>")[0]
    assert "sticky-top" in page[page.index('<nav class="phase-bar') : page.index('id="phase-bar"')]
    for anchor in ("#phase-before", "#phase-during", "#phase-after", "#therapy", "#outcomes"):
        assert f'href="{anchor}"' in bar
    assert 'aria-current="page" class="fw-bold" data-show="all"' in bar
    every = {int(n) for n in re.findall(r'id="item-(\d+)"', page)}
    assert every == {i.id for i in episode.items}

    mine = client.get(f"/episodes/{episode.id}?show=mine").get_data(as_text=True)
    shown = {int(n) for n in re.findall(r'id="item-(\d+)"', mine)}
    nurse_open = {
        i.id for i in episode.items if i.role.value == "nurse" and i.status.value == "open" and i.required
    }
    assert shown == nurse_open
    assert 'aria-current="page" class="fw-bold" data-show="mine"' in mine
    open_only = client.get(f"/episodes/{episode.id}?show=open").get_data(as_text=True)
    hba1c = factories.item(episode, "pre_hba1c")
    assert f'id="item-{hba1c.id}"' not in open_only  # not required now: nothing to do
    assert client.get(f"/episodes/{episode.id}?show=nonsense").status_code == 200  # read as All


def test_guidance_is_one_link_away_and_no_tab_stop_until_shown(client, coordinator, surgeon, protocol):
    episode = _operated(coordinator, surgeon, protocol, days_ago=-10)
    login(client, surgeon)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "data-guidance" not in page and "<summary>Guidance</summary>" not in page
    shown = client.get(f"/episodes/{episode.id}?guidance=1").get_data(as_text=True)
    assert shown.count("data-guidance") > 20 and "Hide guidance" in shown


def test_signed_off_and_finished_phases_are_folded_with_their_summary(client, world, surgeon):
    episode = world.episode(-5, complete=(Phase.BEFORE,), sign=True)
    login(client, surgeon)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    before = _phase(page, "before")
    assert '<details class="phase-items"  data-phase-items="before">' in before  # folded
    assert "required done" in before and "· signed off</summary>" in before
    after = _phase(page, "after")
    assert '<details class="phase-items" open data-phase-items="after">' in after
    # Its summary counts the items open and asked for (not those waiting for their condition).
    states = re.findall(r'class="item-row state-(\w+)', after)
    to_do = [s for s in states if s not in ("done", "not_applicable", "not_required")]
    assert 0 < len(to_do) < len(states)
    assert f"{len(states)} items: " in after and f", {len(to_do)} open</summary>" in after
    item = next(i for i in episode.items if i.phase is Phase.BEFORE)
    linked = client.get(f"/episodes/{episode.id}?item={item.id}").get_data(as_text=True)
    assert 'open data-phase-items="before"' in linked  # the item a link points at is shown


def test_close_episode_sits_at_the_foot_of_the_page_not_in_its_header(client, coordinator, surgeon, protocol):
    episode = _operated(coordinator, surgeon, protocol, days_ago=-10)
    login(client, coordinator)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    header = page[: page.index('id="phase-bar"')]
    assert "/close" not in header
    closing = page[page.index('id="closing"') :]
    assert "Close episode…" in closing and "only if the operation is not going ahead" in closing
    assert "btn-outline-danger" not in closing
