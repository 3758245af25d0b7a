"""Every form and every filter, driven with generated input: the class of bad input is closed.

For every POST route (with valid CSRF and one-time tokens, as the signed-in role that may use it)
and every page that reads a query string, Hypothesis generates submissions: valid ones, ones with
one field or many fields replaced by hostile values (empty, huge, unicode, control characters,
numbers out of range or not numbers, extreme dates), missing and repeated fields, extra fields
named like columns, and URL ids that do not exist or belong to another episode. Whatever it
sends:

- the answer is never a 5xx;
- an answer of 400 or more changed nothing (every table compared row by row);
- an answer below 400 that changed something wrote, for that change, exactly the audit events
  its action writes (each once; the only others allowed are the items the change completed or
  made required), and the audit chain still verifies.

Examples per route: PERIOP_FUZZ_EXAMPLES (default 12 in the suite; e.g. 500 on demand).
"""

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app import audit, clock, db
from app.auth.two_step_views import SETTING_UP
from app.domain.second_factor import code_at
from app.domain.therapy import SessionInput
from app.domain.vocab import Attendance, Discipline, Phase, Role, Sex, TimePoint
from app.models import (
    AuditEvent,
    ChecklistItem,
    Episode,
    OutcomeScore,
    Patient,
    Signoff,
    TherapySession,
    User,
)
from app.services import therapy
from app.web import once
from app.web.forms import int_field
from tests.conftest import NOW, PASSWORD, login
from tests.web.test_permissions import snapshot

EXAMPLES = int(os.environ.get("PERIOP_FUZZ_EXAMPLES", "12"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,  # a failure prints how to replay it (@reproduce_failure)
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
TODAY = NOW.date()
MISSING_ID = 999_999
# Events a change may write besides its own: items it completed, corrected or made required.
CONSEQUENCES = {"item.satisfied", "item.unsatisfied", "item.corrected", "item.required"}
# A wrong password is refused and yet kept on record: its count on the account (for the lockout)
# and its audit event. Nothing else may change.
FAILED_ATTEMPTS = {"signoff.failed", "user.password_change_failed", "user.enrol_second_factor_failed"}

# --- hostile values ------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "Ann\x00a",
            "\x1b[31m",
            "\u202eevil",
            "line\r\nbreak",
            "\t",
            "李小龙",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
            "١٢٣",
            "１２",
            "0001-01-01",
            "9999-12-31",
            "２０２６-０６-１７",
            "2026-02-30",
            "1899-12-31",
            "17 Jun 2026",
            "-1",
            "0",
            "99999999999999999999",
            "1e309",
            "NaN",
            "3.5",
            "{{7*7}}",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "%s%n%x",
            "x" * 5_000,
        ]
    ),
    st.text(max_size=30),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
    st.just("y" * 300_000),
)
# Extra fields named like columns: never written (no mass assignment).
EXTRA_FIELDS = ("id", "status", "role", "completed_by_id", "actor_id", "active", "password_hash", "version")
NAME = st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=30)
WORDS = st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd", "Zs", "Po"]), min_size=1, max_size=60)


def iso(first: date, last: date):
    return st.dates(min_value=first, max_value=last).map(date.isoformat)


# --- the site every route works on ------------------------------------------------------------


@dataclass
class Site:
    own: Episode  # after surgery: items to work, sessions and scores to record
    ready: Episode  # Before surgery complete: can be signed
    signed: Episode  # Before surgery signed: the sign-off can be revoked
    other: Episode  # another patient's episode: its ids do not belong to `own`
    fresh_session: int  # logged now by the therapist: may be corrected
    old_session: int  # logged three days ago: takes addenda
    users: dict
    protocol_id: int
    password: dict = field(default_factory=dict)  # the current password of each user
    client: object = None  # the browser sending the forms

    def item_ids(self, episode: Episode) -> list[int]:
        return [i.id for i in episode.items]


@pytest.fixture
def site(world, users, protocol):
    own = world.episode(-20)
    ready = world.episode(5, complete=(Phase.BEFORE,))
    signed = world.episode(3, complete=(Phase.BEFORE,), sign=True)
    other = world.episode(-10)
    therapist = users[Role.THERAPIST]
    entry = SessionInput(TODAY, "PT", 45, "attended", 5, 3, "Walking", True, False)
    with db.write_unit():
        episode = db.session.get(Episode, own.id)
        with clock.at(NOW - timedelta(days=3)):
            earlier = TODAY - timedelta(days=3)
            old, _ = therapy.log_session(
                db.session,
                db.session.get(User, therapist.id),
                episode,
                replace(entry, session_date=earlier),
                earlier,
            )
        fresh, _ = therapy.log_session(db.session, db.session.get(User, therapist.id), episode, entry, TODAY)
        db.session.commit()
        ids = old.id, fresh.id
    db.session.remove()
    return Site(own, ready, signed, other, ids[1], ids[0], users, protocol.id)


# --- what each route takes -------------------------------------------------------------------


class Live:
    """A value read from the database when the request is sent (a record's current version)."""

    def __init__(self, read: Callable[["Site", dict, str], str]) -> None:
        self.read = read


def version_of(model, arg: str) -> Live:
    def read(site, args, _path):
        row = db.session.get(model, args[arg])
        version = str(row.version) if row is not None else "1"
        db.session.remove()
        return version

    return Live(read)


def scores_version(site, args, _path) -> str:
    rows = db.session.scalars(select(OutcomeScore).where(OutcomeScore.episode_id == args["episode_id"])).all()
    db.session.remove()
    by_time = Counter()
    for row in rows:
        by_time[row.time_point.value] += row.version
    return str(by_time.get(args.get("_time_point", ""), 0))


@dataclass(frozen=True)
class Route:
    endpoint: str
    role: Role
    args: Callable  # (draw, site) -> URL arguments
    fields: Callable  # (site, args) -> {name: strategy of a valid value}
    events: Callable  # (form, args) -> the audit actions a change writes


def mostly(*usual, rare=()):
    """Usually one of `usual`, now and then one of `rare` (ids of other records, or of none)."""
    return st.one_of(
        st.sampled_from(usual), st.sampled_from(usual), st.sampled_from(usual), st.sampled_from(rare)
    )


def episode_ids(site, *own):
    return mostly(*(e.id for e in own), rare=(site.other.id, MISSING_ID))


def own_and_foreign(draw, site, own):
    return {"episode_id": draw(episode_ids(site, own))}


def patient_fields(site, args):
    return {
        "mrn": st.from_regex(r"[A-Z0-9]{4,12}", fullmatch=True),
        "family_name": NAME,
        "given_name": NAME,
        "date_of_birth": iso(date(1900, 1, 1), TODAY),
        "sex": st.sampled_from([s.value for s in Sex]),
    }


def episode_fields(site, args):
    return {
        "procedure": WORDS,
        "levels": st.sampled_from(["L4-L5", "L5-S1", "L3-L5"]),
        "procedure_type": st.sampled_from(["discectomy", "decompression", "fusion", "other"]),
        "surgeon_id": st.just(str(site.users[Role.SURGEON].id)),
        "surgery_date": st.one_of(st.just(""), iso(TODAY - timedelta(days=365), TODAY + timedelta(days=365))),
    }


def item_args(draw, site):
    return {
        "episode_id": draw(episode_ids(site, site.own)),
        "item_id": draw(mostly(*site.item_ids(site.own), rare=(*site.item_ids(site.other), MISSING_ID))),
        "action": draw(st.sampled_from(["done", "not-applicable", "reopen", "note"])),
    }


def item_events(form, args):
    action = args["action"]
    if action == "note":
        return ["item.note"]
    if action == "done":
        return ["item.done"] + (["item.note"] if (form.get("note") or "").strip() else [])
    return {"not-applicable": ["item.not_applicable"], "reopen": ["item.reopen"]}[action]


def session_fields(site, args):
    return {
        "session_date": iso(TODAY - timedelta(days=20), TODAY),
        "discipline": st.sampled_from([d.value for d in Discipline]),
        "minutes": st.integers(1, 180).map(str),
        "attendance": st.sampled_from([a.value for a in Attendance]),
        "pain_before": st.one_of(st.just(""), st.integers(0, 10).map(str)),
        "pain_after": st.one_of(st.just(""), st.integers(0, 10).map(str)),
        "activities": WORDS,
        "home_exercise_plan": st.sampled_from(["y", ""]),
    }


def admin_args(draw, site):
    return {"user_id": draw(mostly(site.users[Role.NURSE].id, rare=(site.users[Role.ADMIN].id, MISSING_ID)))}


def account_version(site, args, _path):
    return version_of(User, "user_id").read(site, args, _path)


def filter_fields(site, args):
    return {
        "phase": st.sampled_from(["", "before", "during", "after"]),
        "state": st.sampled_from(["", "overdue", "due_soon", "pending", "unscheduled"]),
        "role": st.sampled_from(["", "nurse", "surgeon", "therapist"]),
        "due_from": st.one_of(st.just(""), iso(TODAY - timedelta(days=60), TODAY)),
        "q": st.sampled_from(["", "Doe", "MRN"]),
    }


def current_password(site, args, _path) -> str:
    return site.password.get("nurse", PASSWORD)


def code_being_set_up(site, args, _path) -> str:
    """The code of now of the key the set-up page showed (kept in the signed session)."""
    with site.client.session_transaction() as browser:
        secret = browser.get(SETTING_UP)
    return code_at(secret, clock.now()) if secret else "000000"


def open_set_up(client) -> None:
    client.get("/account/two-step")  # shows a key: the code must be its code


ROUTES = [
    Route(
        "patients.register",
        Role.COORDINATOR,
        lambda draw, site: {},
        lambda site, args: {
            **patient_fields(site, args),
            **episode_fields(site, args),
            "protocol_version_id": st.just(str(site.protocol_id)),
        },
        lambda form, args: ["patient.create", "episode.create"],
    ),
    Route(
        "patients.edit",
        Role.COORDINATOR,
        lambda draw, site: {"patient_id": draw(mostly(site.own.patient_id, rare=(MISSING_ID,)))},
        lambda site, args: {
            **patient_fields(site, args),
            "version": st.just(version_of(Patient, "patient_id")),
        },
        lambda form, args: ["patient.update"],
    ),
    Route(
        "patients.new_episode",
        Role.COORDINATOR,
        lambda draw, site: {"patient_id": draw(mostly(site.own.patient_id, rare=(MISSING_ID,)))},
        lambda site, args: {
            **episode_fields(site, args),
            "protocol_version_id": st.just(str(site.protocol_id)),
        },
        lambda form, args: ["episode.create"],
    ),
    Route(
        "patients.edit_episode",
        Role.COORDINATOR,
        lambda draw, site: own_and_foreign(draw, site, site.own),
        lambda site, args: {
            **episode_fields(site, args),
            "version": st.just(version_of(Episode, "episode_id")),
        },
        lambda form, args: ["episode.update"],
    ),
    Route(
        "checklist.item_action",
        Role.SURGEON,
        item_args,
        lambda site, args: {
            "version": st.just(version_of(ChecklistItem, "item_id")),
            "value": st.sampled_from(["", "4", "no", "yes", "08:30", "7.5", "150"]),
            "note": st.one_of(st.just(""), WORDS),
            "reason": st.one_of(st.just(""), WORDS),
        },
        item_events,
    ),
    Route(
        "checklist.sign",
        Role.SURGEON,
        lambda draw, site: {
            "episode_id": draw(episode_ids(site, site.ready)),
            "phase": draw(mostly("before", rare=("during", "after", "bogus"))),
        },
        lambda site, args: {"password": st.just(PASSWORD)},
        lambda form, args: ["signoff.sign"],
    ),
    Route(
        "checklist.revoke",
        Role.SURGEON,
        lambda draw, site: {
            "episode_id": draw(episode_ids(site, site.signed)),
            "signoff_id": draw(mostly(*_signoff_ids(site), rare=(MISSING_ID,))),
        },
        lambda site, args: {"reason": WORDS},
        lambda form, args: ["signoff.revoke"],
    ),
    Route(
        "checklist.close",
        Role.COORDINATOR,
        lambda draw, site: own_and_foreign(draw, site, site.own),
        lambda site, args: {"version": st.just(version_of(Episode, "episode_id")), "reason": WORDS},
        lambda form, args: ["episode.close"],
    ),
    Route(
        "outcomes.scores",
        Role.COORDINATOR,
        lambda draw, site: {
            **own_and_foreign(draw, site, site.own),
            "_time_point": draw(st.sampled_from([tp.value for tp in TimePoint])),
        },
        lambda site, args: {
            "time_point": st.just(args["_time_point"]),
            "taken_on": iso(TODAY - timedelta(days=40), TODAY),
            "odi": st.integers(0, 100).map(str),
            "nrs_back": st.integers(0, 10).map(str),
            "nrs_leg": st.integers(0, 10).map(str),
            "version": st.just(Live(scores_version)),
        },
        lambda form, args: ["outcome.record" if int_field(form.get("version")) == 0 else "outcome.correct"],
    ),
    Route(
        "therapy.new_session",
        Role.THERAPIST,
        lambda draw, site: own_and_foreign(draw, site, site.own),
        session_fields,
        lambda form, args: ["session.logged"],
    ),
    Route(
        "therapy.edit_session",
        Role.THERAPIST,
        lambda draw, site: {
            **own_and_foreign(draw, site, site.own),
            "session_id": draw(mostly(site.fresh_session, rare=(site.old_session, MISSING_ID))),
        },
        lambda site, args: {
            **session_fields(site, args),
            "version": st.just(version_of(TherapySession, "session_id")),
        },
        lambda form, args: ["session.corrected"],
    ),
    Route(
        "therapy.add_addendum",
        Role.THERAPIST,
        lambda draw, site: {
            **own_and_foreign(draw, site, site.own),
            "session_id": draw(mostly(site.old_session, rare=(site.fresh_session, MISSING_ID))),
        },
        lambda site, args: {"text": WORDS},
        lambda form, args: ["session.addendum"],
    ),
    Route(
        "admin.new_user",
        Role.ADMIN,
        lambda draw, site: {},
        lambda site, args: {
            "username": st.from_regex(r"[a-z][a-z0-9._-]{1,20}", fullmatch=True),
            "full_name": WORDS,
            "role": st.sampled_from([r.value for r in Role]),
        },
        lambda form, args: ["user.create"],
    ),
    Route(
        "admin.deactivate",
        Role.ADMIN,
        admin_args,
        lambda site, args: {"version": st.just(Live(account_version))},
        lambda form, args: ["user.deactivate"],
    ),
    Route(
        "admin.activate",
        Role.ADMIN,
        admin_args,
        lambda site, args: {"version": st.just(Live(account_version))},
        lambda form, args: ["user.activate"],
    ),
    Route(
        "admin.reset_password",
        Role.ADMIN,
        admin_args,
        lambda site, args: {"version": st.just(Live(account_version))},
        lambda form, args: ["user.reset_password"],
    ),
    Route(
        "admin.change_role",
        Role.ADMIN,
        admin_args,
        lambda site, args: {
            "version": st.just(Live(account_version)),
            "role": st.sampled_from([r.value for r in Role]),
        },
        lambda form, args: ["user.change_role"],
    ),
    Route(
        "auth.change_password",
        Role.NURSE,
        lambda draw, site: {},
        lambda site, args: {
            "current_password": st.just(Live(current_password)),
            "new_password": st.sampled_from(
                ["quiet-harbour-lantern-47", "copper kettle over the hill", "aaaaaaaaaaaa"]
            ),
            "repeat_password": st.just(Live(lambda site, args, path: "")),  # filled with new_password below
        },
        lambda form, args: ["user.change_password"],
    ),
    Route(
        "auth.two_step",
        Role.NURSE,
        lambda draw, site: {},
        lambda site, args: {"code": st.just(Live(code_being_set_up)), "password": st.just(PASSWORD)},
        lambda form, args: ["user.enrol_second_factor"],
    ),
    Route(
        "admin.reset_second_factor",
        Role.ADMIN,
        admin_args,
        lambda site, args: {"version": st.just(Live(account_version))},
        lambda form, args: ["user.reset_second_factor"],
    ),
    Route(
        "dashboard.export",
        Role.COORDINATOR,
        lambda draw, site: {},
        filter_fields,
        lambda form, args: ["export.outstanding"],
    ),
    Route(
        "protocols.export",
        Role.NURSE,
        lambda draw, site: {"version_id": draw(mostly(site.protocol_id, rare=(MISSING_ID,)))},
        lambda site, args: {},
        lambda form, args: ["protocol.export"],
    ),
    Route(
        "checklist.summary",
        Role.NURSE,
        lambda draw, site: own_and_foreign(draw, site, site.own),
        lambda site, args: {},
        lambda form, args: ["export.print"],
    ),
    # Moving to another protocol version (here only to the episode's own, or none: refused; the
    # moves themselves are fuzzed with a newer version in tests/web/episode_moves/test_move_fuzz.py).
    Route(
        "episode_moves.episode",
        Role.COORDINATOR,
        lambda draw, site: own_and_foreign(draw, site, site.own),
        lambda site, args: {
            "to": mostly(str(site.protocol_id), rare=(str(MISSING_ID), "0")),
            "version": st.just(version_of(Episode, "episode_id")),
        },
        lambda form, args: ["episode.protocol_move"],
    ),
    Route(
        "episode_moves.bulk",
        Role.SURGEON,
        lambda draw, site: {"version_id": draw(mostly(site.protocol_id, rare=(MISSING_ID,)))},
        lambda site, args: {"episode": st.just(f"{site.own.id}:1")},
        lambda form, args: ["episode.protocol_move"],
    ),
]


def _signoff_ids(site) -> list[int]:
    ids = list(db.session.scalars(select(Signoff.id).where(Signoff.episode_id == site.signed.id)))
    db.session.remove()
    return ids


@st.composite
def submissions(draw, route: Route, site: Site):
    """URL arguments and a form: valid, or with hostile, missing, repeated and extra fields."""
    args = route.args(draw, site)
    valid = route.fields(site, args)
    form = {name: draw(strategy) for name, strategy in valid.items()}
    mode = draw(st.sampled_from(["valid", "valid", "one hostile", "many hostile"]))
    names = sorted(form)
    if mode == "one hostile" and names:
        form[draw(st.sampled_from(names))] = draw(HOSTILE)
    elif mode == "many hostile":
        for name in names:
            if draw(st.booleans()):
                form[name] = draw(HOSTILE)
    pairs = list(form.items())
    if names and draw(st.integers(0, 9)) == 0:
        missing = draw(st.sampled_from(names))
        pairs = [(k, v) for k, v in pairs if k != missing]
    if names and draw(st.integers(0, 9)) == 0:
        pairs.append((draw(st.sampled_from(names)), draw(HOSTILE)))  # the same field twice
    if draw(st.integers(0, 9)) == 0:
        pairs.append((draw(st.sampled_from(EXTRA_FIELDS)), draw(HOSTILE)))
    return args, pairs


def _resolved(site: Site, args: dict, pairs: list, path: str) -> list[tuple[str, str]]:
    values = [(k, v.read(site, args, path) if isinstance(v, Live) else v) for k, v in pairs]
    new = next((v for k, v in values if k == "new_password"), "")
    return [(k, new if k == "repeat_password" and v == "" else v) for k, v in values]


def _as_read(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The form as the app reads it: the first value of a field sent twice."""
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


def _events_after(last_id: int) -> list[str]:
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > last_id)))
    db.session.remove()
    return actions


def _last_event_id() -> int:
    last = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    db.session.remove()
    return last


def _chain_problems() -> list[str]:
    problems = audit.verify_chain(db.session)
    db.session.remove()
    return problems


@pytest.mark.parametrize("route", ROUTES, ids=[r.endpoint for r in ROUTES])
def test_every_form_route_answers_bad_input_clearly_and_changes_nothing(app, client, site, route):
    login(client, site.users[route.role])
    site.client = client
    token = client.csrf_token()
    urls = app.url_map.bind("localhost")

    @FUZZ
    @given(data=st.data())
    def send(data):
        args, pairs = data.draw(submissions(route, site))
        path = urls.build(route.endpoint, {k: v for k, v in args.items() if not k.startswith("_")})
        form = _resolved(site, args, pairs, path)
        if route.endpoint == "auth.two_step":
            open_set_up(client)
        before, last = snapshot(), _last_event_id()
        response = client.post(
            path, data=MultiDict([("csrf_token", token), ("form_token", once.new_token()), *form])
        )
        status = response.status_code
        event(f"answered {status}")  # pytest --hypothesis-show-statistics shows how often
        assert status < 500, f"{route.endpoint} {path} {form!r:.500} answered {status}"
        after = snapshot()
        events = _events_after(last)
        if status >= 400 or after == before:
            if len(events) == 1 and events[0] in FAILED_ATTEMPTS:
                changed = {name for name in after if after[name] != before[name]}
                assert changed == {"user_account", "audit_event"}, f"a wrong password changed {changed}"
                return
            assert after == before, f"{route.endpoint} answered {status}, changed the database: {form!r:.300}"
            assert events == [], f"{route.endpoint} answered {status} but wrote {events}"
            return
        expected = route.events(_as_read(form), args)
        counted = Counter(events)
        assert all(counted[action] == 1 for action in expected), f"{route.endpoint}: {events} for {expected}"
        unexpected = [e for e in events if e not in expected and e not in CONSEQUENCES]
        assert unexpected == [], f"{route.endpoint} wrote {unexpected} besides {expected}"
        if route.endpoint == "auth.change_password":
            site.password["nurse"] = _as_read(form)["new_password"]

    send()
    assert _chain_problems() == []


# --- query strings ------------------------------------------------------------------------------

FILTERS = {
    "dashboard.index": (
        ["phase", "state", "role", "surgeon", "due_from", "due_to", "required", "flagged", "q", "view"]
        + ["page"],
        lambda site: {},
    ),
    "dashboard.compliance": (["start", "end", "surgeon", "version"], lambda site: {}),
    "dashboard.compliance_csv": (["start", "end", "surgeon", "version"], lambda site: {}),
    "patients.index": (["q", "page"], lambda site: {}),
    "outcomes.scores": (["time_point"], lambda site: {"episode_id": site.own.id}),
    "checklist.episode": (["anything"], lambda site: {"episode_id": site.own.id}),
    "episode_moves.episode": (["to"], lambda site: {"episode_id": site.own.id}),
}


@pytest.mark.parametrize("endpoint", sorted(FILTERS))
def test_every_query_string_filter_answers_bad_input_clearly_and_writes_nothing(app, client, site, endpoint):
    names, args = FILTERS[endpoint]
    login(client, site.users[Role.COORDINATOR])
    path = app.url_map.bind("localhost").build(endpoint, args(site))
    before = snapshot()

    @FUZZ
    @given(
        query=st.lists(
            st.tuples(st.sampled_from([*names, "extra"]), st.one_of(HOSTILE.filter(lambda v: len(v) < 4000))),
            max_size=6,
        )
    )
    def send(query):
        response = client.get(path, query_string=MultiDict(query))
        assert response.status_code < 500, f"{endpoint} {query!r:.500} answered {response.status_code}"

    send()
    assert snapshot() == before
