"""Sign-off rules without a database: blockers, statements, locking, the content digest, the pre-op flag."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from app.domain.flags import EpisodeFacts, episode_flags, preop_flag
from app.domain.signoff import (
    MEANINGS,
    SIGNABLE_PHASES,
    content_digest,
    is_locked,
    signoff_blockers,
    statement,
)
from app.domain.site import SiteDay
from app.domain.vocab import ItemStatus, Phase, Role

TODAY = date(2026, 6, 17)
OPEN, DONE, NA = ItemStatus.OPEN, ItemStatus.DONE, ItemStatus.NOT_APPLICABLE
BEFORE, DURING, AFTER = Phase.BEFORE, Phase.DURING, Phase.AFTER


def item(
    id=1,
    phase=BEFORE,
    title="Site marked",
    role=Role.SURGEON,
    required=True,
    status=OPEN,
    value=None,
    reason=None,
    version=1,
):
    return SimpleNamespace(
        id=id,
        phase=phase,
        title=title,
        role=role,
        required=required,
        status=status,
        value=value,
        reason=reason,
        version=version,
    )


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


# signoff_blockers


def test_a_phase_with_every_required_item_done_has_no_blockers():
    items = [item(1, status=DONE), item(2, title="Consent signed", status=DONE)]
    assert signoff_blockers(BEFORE, items, set()) == []


def test_each_open_required_item_is_named_with_its_responsible_role_in_order():
    items = [
        item(1, title="Site marked", role=Role.SURGEON),
        item(2, title="Smoking status", role=Role.NURSE, status=DONE),
        item(3, title="Baseline PROMs", role=Role.COORDINATOR),
        item(4, title="BMI recorded", role=Role.ANAESTHETIST),
    ]
    assert signoff_blockers(BEFORE, items, set()) == [
        "Open: Site marked (Surgeon)",
        "Open: Baseline PROMs (Coordinator)",
        "Open: BMI recorded (Anaesthetist)",
    ]


def test_optional_open_items_do_not_block():
    items = [item(1, status=DONE), item(2, title="HbA1c", role=Role.ANAESTHETIST, required=False)]
    assert signoff_blockers(BEFORE, items, set()) == []


def test_not_applicable_counts_as_closed():
    items = [item(1, status=NA, reason="Not diabetic"), item(2, status=DONE)]
    assert signoff_blockers(BEFORE, items, set()) == []


def test_items_of_other_phases_do_not_block():
    items = [
        item(1, status=DONE),
        item(2, phase=DURING, title="WHO Sign In", role=Role.NURSE),
        item(3, phase=AFTER, title="VTE prophylaxis", role=Role.NURSE),
    ]
    assert signoff_blockers(BEFORE, items, set()) == []
    assert signoff_blockers(DURING, items, {BEFORE}) == ["Open: WHO Sign In (Nurse)"]


def test_a_phase_without_items_can_be_signed():
    assert signoff_blockers(BEFORE, [], set()) == []


def test_an_already_signed_phase_cannot_be_signed_again():
    items = [item(1, status=DONE)]
    assert signoff_blockers(BEFORE, items, {BEFORE}) == ["Before surgery is already signed off."]
    assert signoff_blockers(DURING, [], {BEFORE, DURING}) == ["During surgery is already signed off."]


def test_during_surgery_needs_before_surgery_signed_first():
    items = [item(1, phase=DURING, title="WHO Sign In", role=Role.NURSE)]
    assert signoff_blockers(DURING, items, set()) == [
        "Before surgery must be signed off first.",
        "Open: WHO Sign In (Nurse)",
    ]
    done = [item(1, phase=DURING, status=DONE)]
    assert signoff_blockers(DURING, done, set()) == ["Before surgery must be signed off first."]
    assert signoff_blockers(DURING, done, {BEFORE}) == []


def test_a_closed_episode_cannot_be_signed():
    items = [item(1, status=DONE)]
    assert signoff_blockers(BEFORE, items, set(), closed=True) == ["The episode is closed."]
    assert signoff_blockers(DURING, items, {BEFORE}, closed=True) == ["The episode is closed."]


def test_after_surgery_has_no_sign_off():
    items = [item(1, phase=AFTER, status=DONE)]
    expected = ["After surgery has no sign-off; the episode is closed instead."]
    assert signoff_blockers(AFTER, items, {BEFORE, DURING}) == expected
    assert signoff_blockers(AFTER, items, set(), closed=True) == expected
    assert AFTER not in SIGNABLE_PHASES and AFTER not in MEANINGS


def test_blockers_accept_any_iterable_of_items():
    items = (i for i in [item(1), item(2, status=DONE)])
    assert signoff_blockers(BEFORE, items, set()) == ["Open: Site marked (Surgeon)"]


# statement and meaning


def test_pre_operative_statement_names_patient_mrn_and_procedure():
    text = statement(BEFORE, "Jane Doe", "MRN00042", "L4-L5 microdiscectomy")
    assert text == (
        "I confirm the pre-operative protocol for Jane Doe (MRN MRN00042), L4-L5 microdiscectomy is complete."
    )


def test_intra_operative_statement_names_patient_mrn_and_procedure():
    text = statement(DURING, "Jane Doe", "MRN00042", "L4-L5 microdiscectomy")
    assert text == (
        "I confirm all proper precautions were taken to minimise intra-operative issues for "
        "Jane Doe (MRN MRN00042), L4-L5 microdiscectomy."
    )


def test_after_surgery_has_no_statement():
    with pytest.raises(ValueError, match="After surgery is not signed off"):
        statement(AFTER, "Jane Doe", "MRN00042", "L4-L5 microdiscectomy")


def test_meanings_of_the_two_signatures():
    assert MEANINGS == {
        BEFORE: "pre-operative protocol complete",
        DURING: "intra-operative precautions taken",
    }


# is_locked


@pytest.mark.parametrize(
    ("phase", "signed", "closed", "locked"),
    [
        (BEFORE, set(), False, False),
        (BEFORE, {BEFORE}, False, True),
        (DURING, {BEFORE}, False, False),
        (DURING, {BEFORE, DURING}, False, True),
        (BEFORE, {DURING}, False, False),
        (AFTER, {BEFORE, DURING}, False, False),
        (AFTER, set(), True, True),
        (BEFORE, set(), True, True),
        (DURING, {BEFORE}, True, True),
    ],
)
def test_is_locked(phase, signed, closed, locked):
    assert is_locked(phase, signed, closed) is locked


# content_digest


def _items():
    return [
        item(1, status=DONE, value="L4-L5"),
        item(2, title="Consent", status=NA, reason="Emergency"),
        item(3, phase=DURING, title="WHO Sign In", role=Role.NURSE),
    ]


def test_digest_is_a_stable_sha256_hex():
    first = content_digest(7, 3, BEFORE, _items())
    assert first == content_digest(7, 3, BEFORE, _items())
    assert len(first) == 64 and int(first, 16) >= 0


def test_digest_does_not_depend_on_item_order():
    assert content_digest(7, 3, BEFORE, _items()) == content_digest(7, 3, BEFORE, list(reversed(_items())))


@pytest.mark.parametrize(
    "change",
    [
        {"status": OPEN},
        {"value": "L5-S1"},
        {"reason": "Changed"},
        {"version": 2},
    ],
)
def test_digest_changes_when_an_item_of_the_phase_changes(change):
    before = content_digest(7, 3, BEFORE, _items())
    items = _items()
    for name, value in change.items():
        setattr(items[0], name, value)
    assert content_digest(7, 3, BEFORE, items) != before


def test_digest_changes_with_a_new_item_in_the_phase():
    before = content_digest(7, 3, BEFORE, _items())
    assert content_digest(7, 3, BEFORE, [*_items(), item(4, status=DONE)]) != before


def test_digest_ignores_changes_in_other_phases():
    before = content_digest(7, 3, BEFORE, _items())
    items = _items()
    items[2].status, items[2].version = DONE, 2
    assert content_digest(7, 3, BEFORE, items) == before
    assert content_digest(7, 3, BEFORE, [*items, item(9, phase=AFTER)]) == before
    assert content_digest(7, 3, DURING, items) != content_digest(7, 3, DURING, _items())


def test_digest_binds_episode_patient_and_phase():
    base = content_digest(7, 3, BEFORE, _items())
    assert content_digest(8, 3, BEFORE, _items()) != base
    assert content_digest(7, 4, BEFORE, _items()) != base
    assert content_digest(7, 3, DURING, []) != content_digest(7, 3, BEFORE, [])


# preop_flag


def test_no_preop_flag_three_days_before_surgery():
    assert preop_flag(days(3), False, TODAY, 2) is None


def test_preop_flag_exactly_at_the_warning_window():
    flag = preop_flag(days(2), False, TODAY, 2)
    assert flag is not None
    assert flag.code == "preop_unsigned"
    assert flag.label == "Pre-op not signed off"
    assert flag.text == "Pre-op not signed off (surgery in 2 days)"


def test_preop_flag_for_surgery_tomorrow():
    assert preop_flag(days(1), False, TODAY, 2).text == "Pre-op not signed off (surgery tomorrow)"


def test_preop_flag_for_surgery_today():
    assert preop_flag(TODAY, False, TODAY, 2).text == "Pre-op not signed off (surgery today)"


@pytest.mark.parametrize("n", [1, 30])
def test_preop_flag_once_surgery_has_passed(n):
    assert preop_flag(days(-n), False, TODAY, 2).text == "Pre-op not signed off (surgery passed)"


def test_no_preop_flag_without_a_surgery_date():
    assert preop_flag(None, False, TODAY, 2) is None


@pytest.mark.parametrize("n", [-5, 0, 1, 2])
def test_no_preop_flag_once_signed(n):
    assert preop_flag(days(n), True, TODAY, 2) is None


def test_the_warning_window_is_a_parameter():
    assert preop_flag(days(5), False, TODAY, 5).text == "Pre-op not signed off (surgery in 5 days)"
    assert preop_flag(days(6), False, TODAY, 5) is None
    assert preop_flag(days(1), False, TODAY, 0) is None
    assert preop_flag(TODAY, False, TODAY, 0) is not None


# every flag from the facts


def flags_from_facts(overdue, surgery, signed, closed, today, warning_days):
    """The flags of an episode with `overdue` overdue post-op items."""
    items = [
        SimpleNamespace(
            phase=Phase.AFTER,
            required=True,
            status=ItemStatus.OPEN,
            due_date=today - timedelta(days=1),
            overdue_from=today,
        )
    ] * overdue
    facts = EpisodeFacts(surgery, signed, closed, items=items)
    return episode_flags(facts, SiteDay(today, warning_days=warning_days))


def test_flags_from_facts_lists_postop_then_preop():
    flags = flags_from_facts(2, days(-3), False, False, TODAY, 2)
    assert [f.text for f in flags] == [
        "Incomplete post-op steps (2 overdue)",
        "Pre-op not signed off (surgery passed)",
    ]


def test_flags_from_facts_without_any_flag():
    assert flags_from_facts(0, days(10), False, False, TODAY, 2) == []
    assert flags_from_facts(0, days(1), True, False, TODAY, 2) == []


def test_a_closed_episode_raises_no_flags():
    assert flags_from_facts(5, days(-3), False, True, TODAY, 2) == []
