"""The permission policy: every role against every action, with plain stand-ins."""

from types import SimpleNamespace

import pytest

from app.domain.policy import SURGEON_COVERS, Action, can
from app.domain.vocab import CLINICAL_ROLES, Role

SURGEON, ANAESTHETIST, NURSE, THERAPIST, COORDINATOR, ADMIN = (
    Role.SURGEON,
    Role.ANAESTHETIST,
    Role.NURSE,
    Role.THERAPIST,
    Role.COORDINATOR,
    Role.ADMIN,
)
ALL_ROLES = list(Role)


def user(role: Role, active: bool = True):
    return SimpleNamespace(role=role, is_active=active)


def item(role: Role):
    return SimpleNamespace(role=role)


# Who may take each action that needs no target.
EXPECTED = {
    Action.VIEW_PATIENTS: {SURGEON, ANAESTHETIST, NURSE, THERAPIST, COORDINATOR},
    Action.REGISTER_PATIENT: {SURGEON, COORDINATOR},
    Action.EDIT_PATIENT: {SURGEON, COORDINATOR},
    Action.EDIT_EPISODE: {SURGEON, COORDINATOR},
    Action.SIGN_OFF: {SURGEON},
    Action.CLOSE_EPISODE: {SURGEON, COORDINATOR},
    Action.RECORD_OUTCOMES: {SURGEON, COORDINATOR, THERAPIST},
    Action.MANAGE_USERS: {ADMIN},
    Action.LOG_SESSION: {THERAPIST},
    Action.EXPORT_OUTSTANDING: {SURGEON, COORDINATOR},
    Action.VIEW_COMPLIANCE: {SURGEON, ANAESTHETIST, NURSE, THERAPIST, COORDINATOR},
    Action.VIEW_PROTOCOLS: {SURGEON, ANAESTHETIST, NURSE, THERAPIST, COORDINATOR},
    Action.MOVE_EPISODE: {SURGEON, COORDINATOR},
    # A clinical lead is a surgeon an admin granted it; these stand-ins hold no grant.
    Action.EDIT_PROTOCOLS: set(),
}

# Who may work an item owned by each role.
WORKERS = {
    SURGEON: {SURGEON},
    ANAESTHETIST: {ANAESTHETIST, SURGEON},
    NURSE: {NURSE, SURGEON},
    THERAPIST: {THERAPIST, SURGEON},
    COORDINATOR: {COORDINATOR},
}


def test_every_action_has_an_expectation():
    assert set(EXPECTED) | {Action.WORK_ITEM, Action.ACKNOWLEDGE_ALERT} == set(Action)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_an_alert_is_acknowledged_by_the_roles_it_names_and_never_by_an_admin(role):
    from app.domain.step_options import Alert

    surgeon_or_anaesthetist = Alert(
        "Anticoagulant: hold plan", answer="yes", acknowledged_by=(SURGEON, ANAESTHETIST)
    )
    assert can(user(role), Action.ACKNOWLEDGE_ALERT, surgeon_or_anaesthetist) is (
        role in {SURGEON, ANAESTHETIST}
    )
    assert not can(user(role), Action.ACKNOWLEDGE_ALERT, None)
    admin_named = Alert("x", answer="yes", acknowledged_by=(Role.ADMIN,))
    assert not can(user(role), Action.ACKNOWLEDGE_ALERT, admin_named)


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("action", list(EXPECTED))
def test_role_may_take_action_only_if_listed(role, action):
    assert can(user(role), action) is (role in EXPECTED[action])


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("owner", list(WORKERS))
def test_work_item_by_responsible_role_or_surgeon_cover(role, owner):
    assert can(user(role), Action.WORK_ITEM, item(owner)) is (role in WORKERS[owner])


@pytest.mark.parametrize("owner", [ANAESTHETIST, NURSE, THERAPIST, SURGEON])
def test_surgeon_may_work_clinical_items_of_other_roles(owner):
    assert can(user(SURGEON), Action.WORK_ITEM, item(owner))


def test_surgeon_may_not_work_coordinator_items():
    assert not can(user(SURGEON), Action.WORK_ITEM, item(COORDINATOR))
    assert COORDINATOR not in SURGEON_COVERS


@pytest.mark.parametrize("role", [ANAESTHETIST, NURSE, THERAPIST, COORDINATOR])
def test_non_surgeon_works_only_own_role_items(role):
    allowed = [owner for owner in WORKERS if can(user(role), Action.WORK_ITEM, item(owner))]
    assert allowed == [role]


def test_work_item_without_target_is_refused():
    for role in ALL_ROLES:
        assert not can(user(role), Action.WORK_ITEM)
        assert not can(user(role), Action.WORK_ITEM, None)


ADMIN_ACTIONS = {Action.MANAGE_USERS}


@pytest.mark.parametrize("action", [a for a in Action if a not in ADMIN_ACTIONS])
def test_admin_can_do_nothing_clinical(action):
    assert not can(user(ADMIN), action)
    for owner in ALL_ROLES:
        assert not can(user(ADMIN), action, item(owner))


def test_admin_may_not_work_an_admin_owned_item():
    assert not can(user(ADMIN), Action.WORK_ITEM, item(ADMIN))


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("action", list(Action))
def test_inactive_user_can_do_nothing(role, action):
    assert not can(user(role, active=False), action, item(role))


@pytest.mark.parametrize("action", list(Action))
def test_no_user_can_do_nothing(action):
    assert not can(None, action)
    assert not can(None, action, item(SURGEON))


def test_object_without_is_active_is_treated_as_inactive():
    assert not can(SimpleNamespace(role=SURGEON), Action.VIEW_PATIENTS)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_a_surgeon_granted_it_edits_protocols(role):
    granted = SimpleNamespace(role=role, is_active=True, edits_protocols=True)
    assert can(granted, Action.EDIT_PROTOCOLS) is (role is SURGEON)


def test_unknown_action_is_refused_to_everyone():
    for role in ALL_ROLES:
        assert not can(user(role), "delete_everything")  # type: ignore[arg-type]


def test_clinical_roles_are_every_role_but_admin():
    assert set(Role) - CLINICAL_ROLES == {ADMIN}
