"""Pages run a fixed number of SQL queries whatever the number of patients, items, sessions and
scores: grow the data tenfold and the count stays the same (the home pages' own test is in
test_home.py)."""

from datetime import date, timedelta

from app import db
from app.domain.therapy import SessionInput
from app.domain.vocab import Phase, Role, TimePoint
from app.models import User
from app.queries.episodes import episode_with_checklist
from app.services import outcomes, therapy
from tests import compliance_versions
from tests.conftest import login
from tests.querycount import counting_queries
from tests.world import World

TODAY = date(2026, 6, 17)


def _with_sessions_and_scores(world, therapist_id: int, coordinator_id: int, sessions: int):
    """An operated episode 50 days after surgery with therapy sessions and outcome scores."""
    created = world.episode(-50, complete=(Phase.BEFORE,), sign=True)
    with db.write_unit():
        episode = episode_with_checklist(db.session, created.id)
        therapist = db.session.get(User, therapist_id)
        for n in range(sessions):
            entry = SessionInput(
                session_date=episode.surgery_date + timedelta(days=1 + n % 45),
                discipline="PT" if n % 3 else "OT",
                minutes=45,
                attendance="attended" if n % 4 else "missed",
                pain_before=6,
                pain_after=4,
                activities="Walked",
                home_exercise_plan=False,
                prehabilitation=False,
            )
            therapy.log_session(db.session, therapist, episode, entry, TODAY)
        outcomes.record_scores(
            db.session,
            db.session.get(User, coordinator_id),
            episode,
            TimePoint.WEEKS_6,
            TODAY - timedelta(days=5),
            38,
            6,
            7,
            TODAY,
        )
        db.session.commit()
    db.session.remove()
    return created


def _populate(world, users, surgeon2, copies: int) -> list:
    made = []
    for _ in range(copies):
        made.append(_with_sessions_and_scores(world, users[Role.THERAPIST].id, users[Role.COORDINATOR].id, 2))
        made.append(world.episode(1))  # pre-op flagged
        made.append(world.episode(-4, surgeon=surgeon2, complete=(Phase.BEFORE,), sign=True))
        made.append(world.episode(20))
        made.append(world.episode(None))
        made.append(world.episode(-30, close=True))
    return made


def _count(app, client, url: str, method: str = "GET") -> int:
    engine = app.extensions["periop_engine"]
    send = (lambda: client.get(url)) if method == "GET" else (lambda: client.form_post(url, {}))
    send()  # warm up what is loaded once
    with counting_queries(engine) as statements:
        response = send()
        assert response.status_code == 200, url
        response.get_data()  # a streamed body runs its queries while it is read
    return len(statements)


PAGES = [
    "/dashboard",
    "/dashboard?state=overdue&phase=after",
    "/dashboard?flagged=1",
    "/dashboard?view=episodes",
    "/dashboard?view=episodes&flagged=1&required=1",
    "/dashboard?q=patient&page=2",
    "/dashboard/compliance",
    "/dashboard/compliance.csv",
]


def test_dashboard_pages_and_the_export_run_a_fixed_number_of_queries(app, client, world, users, surgeon2):
    login(client, users[Role.COORDINATOR])
    _populate(world, users, surgeon2, 1)
    baseline = {url: _count(app, client, url) for url in PAGES}
    baseline["export"] = _count(app, client, "/dashboard/export.csv", "POST")

    _populate(world, users, surgeon2, 4)  # five times the data

    grown = {url: _count(app, client, url) for url in PAGES}
    grown["export"] = _count(app, client, "/dashboard/export.csv", "POST")
    assert grown == baseline


def test_the_compliance_report_of_one_protocol_version_runs_as_many_queries_as_the_whole(
    app, client, world, users, surgeon2
):
    login(client, users[Role.COORDINATOR])
    version_2 = compliance_versions.publish_version_2()
    on_version_2 = World(version_2, users, surgeon2)
    db.session.remove()
    pages = [
        f"/dashboard/compliance?version={version_2.id}",
        f"/dashboard/compliance?version={world.protocol.id}&surgeon={surgeon2.id}",
        f"/dashboard/compliance.csv?version={version_2.id}&start=2026-01",
    ]

    def populate(on_1: int, on_2: int) -> None:
        for made_on, copies in ((world, on_1), (on_version_2, on_2)):
            _populate(made_on, users, surgeon2, copies)
            db.session.remove()  # each version's template is loaded once in a session

    populate(1, 1)
    baseline = {url: _count(app, client, url) for url in pages}
    whole = {url: _count(app, client, url.split("?")[0]) for url in pages}
    assert baseline == whole

    populate(2, 3)  # four times the data on version 2, three times on version 1
    assert {url: _count(app, client, url) for url in pages} == baseline


def test_the_episode_page_runs_a_fixed_number_of_queries_whatever_the_sessions_and_patients(
    app, client, world, users, surgeon2
):
    login(client, users[Role.NURSE])
    quiet = _with_sessions_and_scores(world, users[Role.THERAPIST].id, users[Role.COORDINATOR].id, 2)
    _populate(world, users, surgeon2, 1)
    baseline = _count(app, client, f"/episodes/{quiet.id}")

    busy = _with_sessions_and_scores(world, users[Role.THERAPIST].id, users[Role.COORDINATOR].id, 20)
    _populate(world, users, surgeon2, 4)  # five times the data
    assert _count(app, client, f"/episodes/{busy.id}") == baseline
    assert _count(app, client, f"/episodes/{quiet.id}") == baseline
