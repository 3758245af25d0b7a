"""Moving an episode to another protocol version: carried, added, dropped, and what is refused."""

from dataclasses import replace
from datetime import UTC, date, datetime
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.episode_move import (
    CLOSED_REFUSAL,
    dropped_record,
    moment_text,
    plan_move,
    signed_phase_refusal,
)
from app.domain.history import dropped_titles
from app.domain.step_options import Variants
from app.domain.vocab import ItemStatus, Phase, Procedure, Role, VersionStatus
from app.services.protocols import PROTOCOL_DIR, read_protocol_file

SPECS = read_protocol_file(PROTOCOL_DIR / "lumbar_fbss.yaml").steps
SURGERY = date(2026, 7, 1)


class Step(SimpleNamespace):
    """A stored step's columns (what `ProtocolStep` holds), made from a StepSpec."""

    @property
    def variants_spec(self) -> Variants:
        return Variants.from_json(self.variants, self.only_for)


def step(spec, ident: int) -> Step:
    return Step(id=ident, **spec.columns())


def item(spec, ident: int, status=ItemStatus.OPEN, value=None, **kw) -> SimpleNamespace:
    values = {
        "id": ident,
        "step": step(spec, 1000 + ident),
        "phase": spec.phase,
        "position": spec.position,
        "required": spec.required,
        "required_since": None,
        "status": status,
        "value": value,
        "reason": None,
        "completed_at": None,
        "alert_acknowledgement": None,
        **kw,
    }
    return SimpleNamespace(**values)


def version(ident=2, status=VersionStatus.PUBLISHED, label="Lumbar (version 2)"):
    return SimpleNamespace(id=ident, status=status, label=label)


def spec(code: str):
    return next(s for s in SPECS if s.code == code)


def plan(items, steps, signed=frozenset(), target=None, closed=False, procedure=Procedure.OTHER):
    return plan_move(items, target or version(), steps, procedure, SURGERY, set(signed), 1, closed)


def test_the_same_steps_carry_every_item_with_no_change():
    items = [item(s, n) for n, s in enumerate(SPECS, start=1)]
    result = plan(items, [step(s, 500 + n) for n, s in enumerate(SPECS)])
    assert result.allowed and not result.added and not result.dropped
    assert [c.item for c in result.carried] == items and not result.changed
    assert result.counts == f"{len(SPECS)} carried, 0 added, 0 dropped"


def test_an_item_keeps_its_state_and_takes_the_new_steps_place_role_and_dates():
    smoking = spec("pre_smoking")
    done = item(smoking, 1, ItemStatus.DONE, "no")
    moved = replace(smoking, position=40, role=Role.COORDINATOR, due_offset_days=smoking.due_offset_days - 7)
    (carried,) = plan([done], [step(moved, 77)]).carried
    values = carried.values()
    assert values["step_id"] == 77 and values["position"] == 40 and values["role"] is Role.COORDINATOR
    assert values["due_date"] == date.fromordinal(SURGERY.toordinal() + moved.due_offset_days)
    assert "status" not in values and "value" not in values  # the state stays as it is
    assert {c.label for c in carried.changes} == {"Done by", "Due"}


def test_added_steps_have_due_dates_and_dropped_items_are_named():
    kept, gone = spec("pre_smoking"), spec("pre_prehab")
    extra = replace(spec("post_vte"), code="post_new_call", title="Phone call on day 3", due_offset_days=3)
    result = plan([item(kept, 1), item(gone, 2, ItemStatus.DONE)], [step(kept, 10), step(extra, 11)])
    assert [a.step.code for a in result.added] == ["post_new_call"]
    assert result.added[0].plan.due_date == date(2026, 7, 4)
    assert [d.item.id for d in result.dropped] == [2]
    assert result.counts == "1 carried, 1 added, 1 dropped" and result.allowed


def test_steps_of_another_procedure_type_are_not_added():
    only_fusion = replace(spec("post_vte"), code="post_fusion_only", only_for=(Procedure.FUSION,))
    assert not plan([], [step(only_fusion, 1)], procedure=Procedure.DISCECTOMY).added
    assert plan([], [step(only_fusion, 1)], procedure=Procedure.FUSION).added


def test_dropping_or_adding_in_a_signed_phase_is_refused_with_the_items_named():
    smoking, prehab = spec("pre_smoking"), spec("pre_prehab")
    result = plan([item(smoking, 1), item(prehab, 2)], [step(smoking, 10)], signed={Phase.BEFORE})
    assert not result.allowed
    (refusal,) = result.refusals
    assert refusal.startswith(
        "Before surgery is signed off: a surgeon must revoke the sign-off before its items change"
    )
    assert f"dropped: “{prehab.title[:57]}" in refusal
    added = plan([item(smoking, 1)], [step(smoking, 10), step(prehab, 11)], signed={Phase.BEFORE})
    assert "added: “" in added.refusals[0]


def test_a_signed_phase_may_keep_its_items_when_only_guidance_or_place_changes():
    smoking = spec("pre_smoking")
    reworded = replace(smoking, guidance="New sources.", position=3)
    assert plan([item(smoking, 1)], [step(reworded, 10)], signed={Phase.BEFORE}).allowed


def test_a_signed_phase_refuses_a_carried_step_that_asks_something_else():
    smoking = spec("pre_smoking")
    retitled = replace(smoking, title="Smoking and vaping status")
    result = plan([item(smoking, 1)], [step(retitled, 10)], signed={Phase.BEFORE})
    assert result.refusals == (
        f"{signed_phase_refusal(Phase.BEFORE)} (changed: “Smoking and vaping status”).",
    )
    # ... and moving a step into a signed phase from another is a change to it too.
    into = replace(spec("post_vte"), phase=Phase.BEFORE)
    assert not plan([item(spec("post_vte"), 2)], [step(into, 11)], signed={Phase.BEFORE}).allowed


def test_an_unsigned_phase_changes_freely_beside_a_signed_one():
    smoking, vte = spec("pre_smoking"), spec("post_vte")
    result = plan([item(smoking, 1), item(vte, 2)], [step(smoking, 10)], signed={Phase.BEFORE})
    assert result.allowed and [d.item.id for d in result.dropped] == [2]


def test_closed_episodes_own_draft_and_retired_versions_are_refused():
    assert CLOSED_REFUSAL in plan([], [], closed=True).refusals
    same = plan_move([], version(ident=1, label="L (version 1)"), [], Procedure.OTHER, None, set(), 1)
    assert same.refusals == ("The episode is already on L (version 1).",)
    draft = plan([], [], target=version(status=VersionStatus.DRAFT, label="L (draft)"))
    assert draft.refusals == ("L (draft) is a draft: an episode moves only to a published version.",)
    retired = plan([], [], target=version(status=VersionStatus.RETIRED))
    assert "is retired" in retired.refusals[0]


def test_a_conditional_item_keeps_its_requirement_while_its_step_stays_conditional():
    hba1c = spec("pre_hba1c")
    required = item(hba1c, 1, required=True, required_since=date(2026, 6, 1))
    (carried,) = plan([required], [step(hba1c, 10)]).carried
    assert (carried.required, carried.required_since) == (True, date(2026, 6, 1))
    unconditional = replace(hba1c, required_if=None, required=False)
    (carried,) = plan([required], [step(unconditional, 10)]).carried
    assert (carried.required, carried.required_since) == (False, None)


def test_what_the_audit_trail_keeps_of_a_dropped_item():
    at = datetime(2026, 6, 17, 12, 5, tzinfo=UTC)
    done = item(spec("pre_smoking"), 1, ItemStatus.DONE, "no", completed_at=at)
    record = dropped_record(done, "Dr Sara Surgeon", [("Quit in May", "Nina Nurse", at)], "Europe/London")
    assert record == {
        "title": spec("pre_smoking").title,
        "phase": "Before surgery",
        "status": "done",
        "value": "no",
        "completed_by": "Dr Sara Surgeon",
        "completed_at": "17 Jun 2026 13:05 BST",
        "notes": "“Quit in May” (Nina Nurse, 17 Jun 2026 13:05 BST)",
    }
    assert moment_text(None, "UTC") is None


# --- every item once, every step once ---------------------------------------------------------

CODES = [s.code for s in SPECS[::4]]


@st.composite
def moves(draw):
    """Items of some codes (in any state), the steps of a new version of some codes (some
    changed, some only for fusion), signed phases and a procedure type."""
    held = draw(st.lists(st.sampled_from(CODES), unique=True))
    offered = draw(st.lists(st.sampled_from(CODES), unique=True))
    items = [
        item(spec(code), n, draw(st.sampled_from(list(ItemStatus)))) for n, code in enumerate(held, start=1)
    ]
    steps = []
    for n, code in enumerate(offered, start=1):
        new = spec(code)
        if draw(st.booleans()):
            new = replace(new, title=new.title + " (revised)")
        if draw(st.integers(0, 4)) == 0:
            new = replace(new, only_for=(Procedure.FUSION,))
        steps.append(step(new, 100 + n))
    signed = set(draw(st.sets(st.sampled_from(list(Phase)))))
    procedure = draw(st.sampled_from(list(Procedure)))
    return items, steps, signed, procedure


@settings(max_examples=200, deadline=None)
@given(moves())
def test_every_item_is_carried_or_dropped_once_and_every_step_carried_to_or_added_once(move):
    items, steps, signed, procedure = move
    result = plan(items, steps, signed, procedure=procedure)
    kept = [c.item.id for c in result.carried] + [d.item.id for d in result.dropped]
    assert sorted(kept) == sorted(i.id for i in items)
    applying = [s.id for s in steps if not s.only_for or procedure.value in s.only_for]
    reached = [c.step.id for c in result.carried] + [a.step.id for a in result.added]
    assert sorted(reached) == sorted(applying)
    assert all(c.item.step.code == c.step.code for c in result.carried)
    # Refused exactly when a signed phase would change.
    touched = (
        {d.item.phase for d in result.dropped}
        | {a.step.phase for a in result.added}
        | {p for c in result.carried if c.asks_otherwise for p in (c.item.phase, c.step.phase)}
    )
    assert result.allowed == (not touched & signed)


def test_the_history_names_dropped_items_from_the_events_that_dropped_them():
    def event(action, target_id, before=None):
        return SimpleNamespace(action=action, target_id=target_id, before=before)

    events = [
        event("item.dropped", 7, {"title": "Home readiness"}),
        event("item.done", 7),
        event("item.dropped", 8, {"status": "done"}),  # no title kept: nothing to show
        event("item.dropped", 9, {"title": "Still here"}),
    ]
    assert dropped_titles(events, {9: "Still here"}) == {7: "Home readiness"}
