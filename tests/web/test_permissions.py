"""Route x role x method permission matrix, generated from app.url_map (deny by default).

SECURITY-NOTES 7.1: every rule the app serves must have an entry in EXPECTED below; a new
route without one fails the suite until someone decides who may use it. Every request that
is refused (403, 405, or anonymous -> login) must leave the database unchanged.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app import db
from app.domain.vocab import CLINICAL_ROLES, ItemStatus, Role
from app.models import AuditEvent, Base, ChecklistItem, Patient, User
from tests import factories
from tests.conftest import login
from tests.routes import route_values

ANONYMOUS = "anonymous"
# A surgeon an admin has made a clinical lead (edits protocols): answered as a surgeon unless said.
LEAD = "lead"
WHO = [ANONYMOUS, *(role.value for role in Role), LEAD]
METHODS = ("GET", "POST")
SKIPPED_ENDPOINTS = {"static", "bootstrap.static"}
# The words the item_action rule's <any(...):action> converter accepts.
ITEM_ACTIONS = ("done", "not-applicable", "reopen", "note")


@dataclass(frozen=True)
class Answer:
    """What a request must get: one of `statuses`; a redirect's path; whether it may write."""

    statuses: frozenset[int]
    location: str | None = None  # path of the redirect target; may use {episode_id} etc.
    writes: bool = False  # True when the request legitimately changes the database
    writes_on: frozenset[int] = frozenset({302})  # ... when answered with one of these

    def __str__(self) -> str:
        where = f" -> {self.location}" if self.location else ""
        return f"{'/'.join(map(str, sorted(self.statuses)))}{where}"


OK = Answer(frozenset({200}))
DENIED = Answer(frozenset({403}))
INVALID_FORM = Answer(frozenset({422}))  # allowed, but the empty form is refused: nothing saved
TO_LOGIN = Answer(frozenset({302}), "/login")
TO_HOME = Answer(frozenset({302}), "/")
LOGGED_OUT = Answer(frozenset({302}), "/login", writes=True)
# An item action by a role that may act: "done" on a tick item saves (302 back to the
# episode); the other actions are posted without their reason/note, so they get 422.
ITEM_WORKED = Answer(frozenset({302, 422}), "/episodes/{episode_id}", writes=True)
NOT_ACCEPTED = Answer(frozenset({405}))
NOT_FOUND = Answer(frozenset({404}))
# A button-only action posted without the version it acts on: refused as a broken form, nothing saved.
BROKEN_FORM = Answer(frozenset({400}))
# An export of patient data: the file, and its audit event.
EXPORTED = Answer(frozenset({200}), writes=True, writes_on=frozenset({200}))
TO_DASHBOARD = Answer(frozenset({302}), "/dashboard")


def _roles(
    allowed: Answer, denied: Answer = DENIED, only: frozenset[Role] | None = None, lead: Answer | None = None
) -> dict:
    """Map every role to `allowed` (if in `only`, default all roles) or `denied`; the clinical
    lead as a surgeon, or to `lead`."""
    answers = {role.value: allowed if only is None or role in only else denied for role in Role}
    answers[LEAD] = lead if lead is not None else answers[Role.SURGEON.value]
    return answers


CLINICAL = CLINICAL_ROLES
REGISTRARS = frozenset({Role.SURGEON, Role.COORDINATOR})
ADMINS = frozenset({Role.ADMIN})
SIGNERS = frozenset({Role.SURGEON})
OUTCOME_RECORDERS = frozenset({Role.SURGEON, Role.COORDINATOR, Role.THERAPIST})
THERAPISTS = frozenset({Role.THERAPIST})
EXPORTERS = frozenset({Role.SURGEON, Role.COORDINATOR})
MOVERS = frozenset({Role.SURGEON, Role.COORDINATOR})  # move episodes to another protocol version

# endpoint -> method -> who -> answer. Checked in: change it only with the policy.
# An empty form to the episode editor keeps the stored values (WTForms falls back to the
# object's data for fields that are not posted): "Nothing changed", back to the episode.
EPISODE_UNCHANGED = Answer(frozenset({302}), "/episodes/{episode_id}")

EXPECTED: dict[str, dict[str, dict[str, Answer]]] = {
    # Protocols: every clinician reads them; a clinical lead drafts, publishes and retires. The
    # version in the URL is published: the draft-only pages are "not found" for the lead.
    "admin.protocol_lead": {
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, only=ADMINS)} | {"admin": BROKEN_FORM}
    },
    "protocols.index": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)}},
    "protocols.version": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)}},
    "protocols.export": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(EXPORTED, only=CLINICAL)}},
    "protocols.new_draft": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=INVALID_FORM)}},
    "protocols.import_file": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=OK)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=INVALID_FORM)},
    },
    # An empty list of procedure types is a choice (none ticked): saved.
    "protocols.procedures": {
        "POST": {
            ANONYMOUS: TO_LOGIN,
            **_roles(DENIED, lead=Answer(frozenset({302}), "/protocols/versions/{version_id}", writes=True)),
        }
    },
    "protocols.review": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=NOT_FOUND)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=NOT_FOUND)},
    },
    "protocols.retire": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=BROKEN_FORM)}},
    "protocols.discard": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=NOT_FOUND)}},
    "protocols.new_step": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=NOT_FOUND)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=NOT_FOUND)},
    },
    "protocols.edit_step": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=NOT_FOUND)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=NOT_FOUND)},
    },
    "protocols.move_step": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=NOT_FOUND)}},
    "protocols.remove_step": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(DENIED, lead=NOT_FOUND)}},
    "auth.login": {
        "GET": {ANONYMOUS: OK, **_roles(TO_HOME)},
        "POST": {ANONYMOUS: OK, **_roles(TO_HOME)},  # anonymous: empty form re-rendered
    },
    # The second step of a login: without a password given first, back to the login page.
    "auth.login_code": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(TO_HOME)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(TO_HOME)},
    },
    "auth.logout": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(LOGGED_OUT)}},
    # Every user may set up two-step login; an empty form (no code, no password) is refused.
    "auth.two_step": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM)},
    },
    "auth.change_password": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM)},
    },
    # A coordinator's home page is the outstanding-items dashboard.
    "main.home": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK), Role.COORDINATOR.value: TO_DASHBOARD}},
    "main.health": {"GET": {ANONYMOUS: OK, **_roles(OK)}},
    "patients.index": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)}},
    "patients.detail": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)}},
    "patients.register": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=REGISTRARS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=REGISTRARS)},
    },
    "patients.edit": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=REGISTRARS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=REGISTRARS)},
    },
    "patients.new_episode": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=REGISTRARS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=REGISTRARS)},
    },
    "patients.edit_episode": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=REGISTRARS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(EPISODE_UNCHANGED, only=REGISTRARS)},
    },
    "checklist.episode": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)}},
    "checklist.history": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)}},
    # The summary for printing: whoever sees the episode page; each print is an audit event.
    "checklist.summary": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(EXPORTED, only=CLINICAL)}},
    "checklist.item_action": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(ITEM_WORKED, only=CLINICAL)}},
    # The empty post lacks the item's version (400); who may acknowledge is the alert's to say,
    # checked by the service (tests/web/checklist/test_safety_alerts.py).
    "checklist.acknowledge": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(BROKEN_FORM, only=CLINICAL)}},
    # The episode fixture's Before surgery is incomplete: the sign page shows what blocks it,
    # and an empty post (no password) is refused.
    "checklist.sign": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=SIGNERS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=SIGNERS)},
    },
    # Posted for a sign-off that does not exist: not found for surgeons, refused for the rest.
    "checklist.revoke": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(NOT_FOUND, only=SIGNERS)}},
    # Posted without the episode's version: refused as out of date, nothing saved.
    "checklist.close": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=REGISTRARS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=REGISTRARS)},
    },
    # Every clinical role sees the scores; an empty scores form is refused (nothing saved).
    "outcomes.scores": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=OUTCOME_RECORDERS)},
    },
    # Moving episodes to another protocol version (the episode's own version here, the newest):
    # the pages show what would change; an empty form is refused with a message, nothing moved.
    "episode_moves.episode": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=MOVERS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=MOVERS)},
    },
    "episode_moves.bulk": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=MOVERS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=MOVERS)},
    },
    "dashboard.index": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)}},
    "dashboard.export": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(EXPORTED, only=EXPORTERS)}},
    "dashboard.compliance": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)}},
    "dashboard.compliance_csv": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=CLINICAL)}},
    "admin.users": {"GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=ADMINS)}},
    "admin.new_user": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=ADMINS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=ADMINS)},
    },
    "admin.deactivate": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(BROKEN_FORM, only=ADMINS)}},
    "admin.activate": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(BROKEN_FORM, only=ADMINS)}},
    "admin.reset_password": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(BROKEN_FORM, only=ADMINS)}},
    "admin.change_role": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(BROKEN_FORM, only=ADMINS)}},
    # The confirmation page, then the reset itself (posted without the version: refused).
    "admin.reset_second_factor": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=ADMINS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(BROKEN_FORM, only=ADMINS)},
    },
    # Only therapists log sessions; an empty session form is refused.
    "therapy.new_session": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(OK, only=THERAPISTS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(INVALID_FORM, only=THERAPISTS)},
    },
    # For a session that does not exist: not found for therapists, refused for the rest.
    "therapy.edit_session": {
        "GET": {ANONYMOUS: TO_LOGIN, **_roles(NOT_FOUND, only=THERAPISTS)},
        "POST": {ANONYMOUS: TO_LOGIN, **_roles(NOT_FOUND, only=THERAPISTS)},
    },
    "therapy.add_addendum": {"POST": {ANONYMOUS: TO_LOGIN, **_roles(NOT_FOUND, only=THERAPISTS)}},
}

# A tick ("check") item each role is responsible for, and one it is not responsible for.
RESPONSIBLE_ITEM = {
    Role.SURGEON: "pre_conservative_care",
    Role.ANAESTHETIST: "intra_positioning",
    Role.NURSE: "intra_sign_in",
    Role.THERAPIST: "pre_home_readiness",
    Role.COORDINATOR: "post_idt_review",
    Role.ADMIN: "pre_conservative_care",  # admin works no item at all
}
NOT_RESPONSIBLE_ITEM = {
    Role.SURGEON: "post_idt_review",  # coordinator work is not covered by surgeons
    Role.ANAESTHETIST: "intra_sign_in",
    Role.NURSE: "intra_positioning",
    Role.THERAPIST: "intra_sign_in",
    Role.COORDINATOR: "pre_conservative_care",
    Role.ADMIN: "post_idt_review",
}


# --- helpers -------------------------------------------------------------------------


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: 'unchanged' means byte-for-byte.

    Used one-time form tokens are left out: they keep the answer given, not a record.
    """
    rows = {}
    for table in Base.metadata.sorted_tables:
        if table.name == "form_submission":
            continue
        stmt = select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(r) for r in db.session.execute(stmt)]
    db.session.remove()  # end the read; keeps loaded objects usable (no expiry)
    return rows


def audit_count() -> int:
    count = len(db.session.scalars(select(AuditEvent.id)).all())
    db.session.remove()  # end the read; keeps loaded objects usable (no expiry)
    return count


def current_version(item) -> int:
    version = db.session.scalar(select(ChecklistItem.version).where(ChecklistItem.id == item.id))
    db.session.remove()  # end the read; keeps loaded objects usable (no expiry)
    return version


def served_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED_ENDPOINTS]


def url_arguments(rule, episode, item) -> list[dict]:
    """Values for a rule's arguments, built from real records (one dict per URL to try)."""
    known = route_values(episode, item)
    values = {name: known[name] for name in sorted(rule.arguments) if name != "action"}
    missing = set(rule.arguments) - set(known)
    assert not missing, f"{rule.rule}: no test value for URL argument(s) {sorted(missing)}; add one"
    if "action" in rule.arguments:
        return [{**values, "action": action} for action in ITEM_ACTIONS]
    return [values]


def send(client, method: str, url: str, data: dict | None = None):
    if method == "GET":
        return client.get(url)
    return client.form_post(url, data or {})


def check(response, answer: Answer, values: dict) -> str | None:
    """Return a description of how the response differs from the answer, or None."""
    if response.status_code not in answer.statuses:
        return f"got {response.status_code}, expected {answer}"
    if response.status_code == 302 and answer.location:
        where = urlsplit(response.headers["Location"])
        expected = answer.location.format(**values)
        if where.path != expected or (where.netloc and where.netloc != "localhost"):
            return f"redirected to {response.headers['Location']}, expected {expected}"
    return None


# --- the matrix ------------------------------------------------------------------------


def test_every_rule_has_an_entry_and_every_entry_a_rule(app):
    """Deny by default: a rule missing from EXPECTED is an error, and so is a stale entry."""
    served = {r.endpoint for r in served_rules(app)}
    missing = served - EXPECTED.keys()
    assert not missing, f"routes with no entry in EXPECTED (decide who may use them): {sorted(missing)}"
    assert not EXPECTED.keys() - served, (
        f"EXPECTED lists routes that no longer exist: {EXPECTED.keys() - served}"
    )
    for rule in served_rules(app):
        accepted = set(rule.methods) & set(METHODS)
        assert accepted == set(EXPECTED[rule.endpoint]), f"{rule.endpoint}: methods {accepted}"
        for method, answers in EXPECTED[rule.endpoint].items():
            assert set(answers) == set(WHO), f"{rule.endpoint} {method}: entries for {set(answers)}"


@pytest.mark.parametrize("who", WHO)
def test_permission_matrix(app, client, users, lead, episode, who):
    """For every rule and method: anonymous and each role get exactly the checked-in answer."""
    role = None if who == ANONYMOUS else Role.SURGEON if who == LEAD else Role(who)
    user = lead if who == LEAD else users.get(role)
    if role is not None:
        login(client, user)
    item = factories.item(episode, RESPONSIBLE_ITEM[role or Role.SURGEON])
    urls = app.url_map.bind("localhost")
    problems = []
    for rule in sorted(served_rules(app), key=lambda r: (r.endpoint == "auth.logout", r.rule)):
        if rule.endpoint not in EXPECTED:
            problems.append(f"{rule.endpoint} ({rule.rule}) has no entry in EXPECTED: denied by default")
            continue
        for values in url_arguments(rule, episode, item):
            url = urls.build(rule.endpoint, values)
            for method in METHODS:
                accepted = method in rule.methods
                answer = EXPECTED[rule.endpoint][method][who] if accepted else NOT_ACCEPTED
                data = None
                if rule.endpoint == "checklist.item_action":
                    data = {"version": str(current_version(item))}
                before = snapshot()
                response = send(client, method, url, data)
                problem = check(response, answer, values)
                saved = answer.writes and response.status_code in answer.writes_on
                if problem is None and not saved and snapshot() != before:
                    problem = f"answered {response.status_code} but changed the database"
                if problem is None and saved and snapshot() == before:
                    problem = "redirected as if saved, but nothing was written"
                if problem:
                    problems.append(f"{who} {method} {url} ({rule.endpoint}): {problem}")
                if rule.endpoint == "auth.logout" and method == "POST" and role is not None:
                    login(client, user)  # carry on as the same user
    assert not problems, "\n".join(problems)


# --- item actions: responsibility --------------------------------------------------------


def item_state(item_id: int) -> tuple:
    row = db.session.execute(
        select(ChecklistItem.status, ChecklistItem.completed_by_id, ChecklistItem.version).where(
            ChecklistItem.id == item_id
        )
    ).one()
    db.session.remove()
    return tuple(row)


FULL_ITEM_FORM = {"value": "yes", "note": "Checked with the patient", "reason": "Done elsewhere"}


@pytest.mark.parametrize("role", sorted(CLINICAL_ROLES), ids=str)
def test_role_may_tick_an_item_it_is_responsible_for(client, users, episode, role):
    item = factories.item(episode, RESPONSIBLE_ITEM[role])
    login(client, users[role])
    audits = audit_count()

    response = client.form_post(
        f"/episodes/{episode.id}/items/{item.id}/done", {"version": str(current_version(item))}
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/episodes/{episode.id}?item={item.id}#item-{item.id}")
    status, completed_by, _ = item_state(item.id)
    assert (status, completed_by) == (ItemStatus.DONE, users[role].id)
    assert audit_count() == audits + 1


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("action", ITEM_ACTIONS)
def test_role_not_responsible_for_an_item_gets_403_and_nothing_changes(client, users, episode, role, action):
    item = factories.item(episode, NOT_RESPONSIBLE_ITEM[role])
    assert item.role is not role
    login(client, users[role])
    audits, before, state = audit_count(), snapshot(), item_state(item.id)

    response = client.form_post(
        f"/episodes/{episode.id}/items/{item.id}/{action}",
        {"version": str(current_version(item)), **FULL_ITEM_FORM},
    )

    assert response.status_code == 403
    assert "Your role does not allow this." in response.get_data(as_text=True)
    assert audit_count() == audits
    assert item_state(item.id) == state
    assert snapshot() == before


def test_surgeon_may_work_a_nurse_item_but_not_a_coordinator_item(client, surgeon, episode):
    nurse_item = factories.item(episode, "intra_sign_in")
    coordinator_item = factories.item(episode, "post_idt_review")
    login(client, surgeon)

    covered = client.form_post(
        f"/episodes/{episode.id}/items/{nurse_item.id}/done", {"version": str(current_version(nurse_item))}
    )
    refused = client.form_post(
        f"/episodes/{episode.id}/items/{coordinator_item.id}/done",
        {"version": str(current_version(coordinator_item))},
    )

    assert covered.status_code == 302
    assert item_state(nurse_item.id)[0] is ItemStatus.DONE
    assert refused.status_code == 403
    assert item_state(coordinator_item.id)[0] is ItemStatus.OPEN


def test_item_of_another_episode_is_not_found_through_this_episode(
    client, surgeon, coordinator, episode, protocol
):
    other = factories.episode(coordinator, surgeon, protocol, family_name="Other")
    foreign_item = factories.item(other, "pre_conservative_care")
    login(client, surgeon)
    before = snapshot()

    response = client.form_post(
        f"/episodes/{episode.id}/items/{foreign_item.id}/done",
        {"version": str(current_version(foreign_item))},
    )

    assert response.status_code == 404
    assert snapshot() == before


# --- named rules -------------------------------------------------------------------------


def registration_form(surgeon, protocol, mrn="NEW00001") -> dict:
    return {
        "mrn": mrn,
        "family_name": "Newcombe",
        "given_name": "Nora",
        "date_of_birth": "1960-02-03",
        "sex": "female",
        "procedure": "L5-S1 microdiscectomy",
        "levels": "L5-S1",
        "procedure_type": "decompression",
        "surgeon_id": str(surgeon.id),
        "surgery_date": "2026-07-01",
        "protocol_version_id": str(protocol.id),
    }


def patient_count() -> int:
    count = len(db.session.scalars(select(Patient.id)).all())
    db.session.remove()
    return count


@pytest.mark.parametrize("role", [Role.ANAESTHETIST, Role.NURSE, Role.THERAPIST, Role.ADMIN], ids=str)
def test_only_surgeons_and_coordinators_can_register_patients(client, users, protocol, role):
    """A complete, valid registration is refused to the other roles: 403 and no patient."""
    form = registration_form(users[Role.SURGEON], protocol)
    login(client, users[role])
    before = snapshot()

    response = client.form_post("/patients/new", form)

    assert response.status_code == 403
    assert snapshot() == before


def test_coordinator_can_register_patient_with_the_same_form(client, users, protocol):
    """The form the denied roles sent is valid: their 403 is the policy, not the data."""
    login(client, users[Role.COORDINATOR])
    patients = patient_count()

    response = client.form_post("/patients/new", registration_form(users[Role.SURGEON], protocol))

    assert response.status_code == 302
    assert patient_count() == patients + 1


def test_admin_cannot_see_patient_data(client, admin, episode):
    login(client, admin)
    for url in ("/patients", f"/patients/{episode.patient_id}", f"/episodes/{episode.id}"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert episode.patient.mrn not in response.get_data(as_text=True)


def test_anonymous_is_sent_to_login_with_next(client, episode):
    response = client.get(f"/episodes/{episode.id}")

    assert response.status_code == 302
    where = urlsplit(response.headers["Location"])
    assert where.path == "/login"
    assert f"next=%2Fepisodes%2F{episode.id}" in where.query


# --- deactivation --------------------------------------------------------------------------


def set_active(user, active: bool) -> None:
    with db.write_unit():
        db.session.get(User, user.id).active = active
        db.session.commit()
    db.session.remove()


def test_deactivated_user_is_logged_out_on_next_request(client, nurse, episode):
    login(client, nurse)
    assert client.get(f"/episodes/{episode.id}").status_code == 200

    set_active(nurse, False)
    response = client.get(f"/episodes/{episode.id}")

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    # Logged out for good: the session is gone, not merely suspended while inactive.
    set_active(nurse, True)
    again = client.get(f"/episodes/{episode.id}")
    assert again.status_code == 302
    assert urlsplit(again.headers["Location"]).path == "/login"


def test_deactivated_user_cannot_post(client, nurse, episode):
    item = factories.item(episode, RESPONSIBLE_ITEM[Role.NURSE])
    login(client, nurse)
    version = current_version(item)
    token = client.csrf_token()
    set_active(nurse, False)
    before = snapshot()

    response = client.post(
        f"/episodes/{episode.id}/items/{item.id}/done", data={"csrf_token": token, "version": str(version)}
    )

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert snapshot() == before
