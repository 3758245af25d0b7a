"""Every flag's two forms agree: the live rule raises it on exactly the days its stored first day
says, for any facts, every day for more than a year (app/domain/flags.py).

A new flag registered in RULES is checked here with no new code, provided `facts()` can make
facts that raise it: `test_the_facts_raise_every_flag_on_some_day` fails until it can.
"""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from app.domain.flags import (
    RULES,
    STILL_ON_OPIOIDS,
    THERAPY_BEHIND,
    EpisodeFacts,
    StepValue,
    episode_flags,
    flagged_on,
    missed_in_a_row,
    stored_dates,
)
from app.domain.outcomes import Thresholds
from app.domain.schedule import overdue_from
from app.domain.site import Site, SiteDay
from app.domain.step_options import Raises
from app.domain.therapy import SessionsPlan
from app.domain.vocab import Attendance, Discipline, Instrument, ItemStatus, TimePoint
from app.domain.vocab import Phase as CarePhase

BASE = date(2026, 6, 1)
DAYS = range(-40, 420, 3)  # around surgery, to beyond 12 months (every third day keeps it fast)
SITE = Site(warning_days=2, thresholds=Thresholds())


def around(low: int, high: int):
    return st.integers(low, high).map(lambda n: BASE + timedelta(days=n))


items = st.builds(
    lambda phase, required, status, due, grace: SimpleNamespace(
        phase=phase, required=required, status=status, due_date=due, overdue_from=overdue_from(due, grace)
    ),
    phase=st.sampled_from(CarePhase),
    required=st.booleans(),
    status=st.sampled_from(ItemStatus),
    due=st.none() | around(-40, 400),
    grace=st.sampled_from((0, 0, 3, 14)),
)
plans = st.builds(
    SessionsPlan,
    phase=st.sampled_from(CarePhase),
    discipline=st.sampled_from(Discipline),
    count=st.integers(1, 10),
    from_days=st.none() | st.integers(0, 90),
    due_date=st.none() | around(-10, 200),
    required=st.booleans(),
    until_days=st.none() | st.integers(-10, 200),
    title=st.sampled_from(["", "PT sessions logged against plan."]),
)
sessions = st.lists(
    st.builds(
        SimpleNamespace,
        session_date=around(-30, 250),
        discipline=st.sampled_from(Discipline),
        attendance=st.sampled_from(Attendance),
        prehabilitation=st.booleans(),
    ),
    max_size=8,
).map(lambda rows: [SimpleNamespace(id=n, **vars(r)) for n, r in enumerate(rows, 1)])
scores = st.dictionaries(
    st.sampled_from(TimePoint),
    st.fixed_dictionaries(
        {Instrument.ODI: st.integers(0, 100), Instrument.NRS_BACK: st.integers(0, 10)},
        optional={Instrument.NRS_LEG: st.integers(0, 10)},
    ),
    max_size=3,
)

# The recorded values of done items whose step raises a flag (`raises` in the protocol).
values = st.lists(
    st.builds(
        StepValue,
        raises=st.builds(Raises, flag=st.just("still_on_opioids"), above=st.sampled_from([0, 0, 10])),
        value=st.sampled_from(["0", "0", "5", "10", "30", "120.5"]),
        unit=st.sampled_from(["MME/day", None]),
    ),
    max_size=1,
)


def facts():
    return st.builds(
        EpisodeFacts,
        surgery_date=st.none() | around(-5, 5),
        preop_signed=st.booleans(),
        closed=st.booleans(),
        items=st.lists(items, max_size=6),
        plans=st.lists(plans, max_size=3),
        sessions=sessions,
        scores=scores,
        alerts=st.lists(st.sampled_from(["Level not confirmed on imaging", "Wound problem"]), max_size=2),
        values=values,
    )


def day(offset: int) -> SiteDay:
    return SiteDay(BASE + timedelta(days=offset), warning_days=SITE.warning_days, thresholds=SITE.thresholds)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(f=facts())
def test_each_flag_is_raised_exactly_from_its_stored_first_day(rule, f):
    first = None if f.closed else rule.first_day(f, SITE)
    for offset in DAYS:
        today = day(offset)
        live = not f.closed and rule.today(f, today) is not None
        assert live == flagged_on({rule.stored: first}, today), (rule.code, today.date, first)


@settings(max_examples=150, deadline=None)
@given(f=facts())
def test_an_episode_is_flagged_exactly_on_the_days_its_stored_dates_say(f):
    stored = stored_dates(f, SITE)
    for offset in DAYS:
        today = day(offset)
        assert bool(episode_flags(f, today)) == flagged_on(stored, today), today.date


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_the_facts_raise_every_flag_on_some_day(rule):
    """The parity tests above are not vacuous: their facts raise every registered flag."""
    raising = find(
        facts(),
        lambda f: any(not f.closed and rule.today(f, day(o)) is not None for o in DAYS),
        settings=settings(max_examples=2000, database=None, phases=[Phase.generate]),  # no shrinking
    )
    assert raising is not None


# Facts made for "Therapy behind plan": operated, open, required plans of 3 or more sessions with
# windows of every length, sessions mostly attended (so that few are missed in a row).
plan_facts = st.builds(
    EpisodeFacts,
    surgery_date=around(-5, 5),
    preop_signed=st.just(True),
    closed=st.just(False),
    plans=st.lists(
        st.builds(
            SessionsPlan,
            phase=st.just(CarePhase.AFTER),
            discipline=st.sampled_from(Discipline),
            count=st.integers(2, 12),
            from_days=st.none() | st.integers(0, 90),
            due_date=around(0, 200),
            required=st.just(True),
            until_days=st.none() | st.integers(0, 200),
        ),
        min_size=1,
        max_size=2,
    ),
    sessions=st.lists(
        st.builds(
            SimpleNamespace,
            session_date=around(0, 220),
            discipline=st.sampled_from(Discipline),
            attendance=st.sampled_from([Attendance.ATTENDED] * 4 + list(Attendance)),
            prehabilitation=st.sampled_from([False, False, False, True]),
        ),
        max_size=12,
    ).map(lambda rows: [SimpleNamespace(id=n, **vars(r)) for n, r in enumerate(rows, 1)]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(f=plan_facts)
def test_therapy_behind_plan_is_raised_exactly_from_its_stored_first_day_on_any_plan(f):
    first = THERAPY_BEHIND.first_day(f, SITE)
    for offset in range(-10, 260):  # every day: the first day is exact, not within three days
        today = day(offset)
        assert (THERAPY_BEHIND.today(f, today) is not None) == flagged_on({"flagged_from": first}, today), (
            today.date,
            first,
        )


def test_the_facts_raise_therapy_behind_plan_by_its_plan_too():
    """Not only by sessions missed in a row: the parity tests cover the plan's first day."""
    raising = find(
        facts(),
        lambda f: (
            not missed_in_a_row(f.sessions)
            and any(not f.closed and THERAPY_BEHIND.today(f, day(o)) is not None for o in DAYS)
        ),
        settings=settings(max_examples=2000, database=None, phases=[Phase.generate]),
    )
    assert raising is not None


def test_a_closed_episode_raises_no_flag_and_stores_no_date():
    f = EpisodeFacts(
        BASE,
        preop_signed=False,
        closed=True,
        items=[
            SimpleNamespace(
                phase=CarePhase.AFTER,
                required=True,
                status=ItemStatus.OPEN,
                due_date=BASE,
                overdue_from=BASE + timedelta(days=1),
            )
        ],
    )
    assert episode_flags(f, day(30)) == []
    assert set(stored_dates(f, SITE).values()) == {None}


def test_flags_are_listed_in_the_registry_order():
    f = EpisodeFacts(
        BASE,
        preop_signed=False,
        closed=False,
        items=[
            SimpleNamespace(
                phase=CarePhase.AFTER,
                required=True,
                status=ItemStatus.OPEN,
                due_date=BASE,
                overdue_from=BASE + timedelta(days=1),
            )
        ],
        scores={
            TimePoint.BASELINE: {Instrument.ODI: 50, Instrument.NRS_BACK: 8, Instrument.NRS_LEG: 8},
            TimePoint.WEEKS_6: {Instrument.ODI: 48, Instrument.NRS_BACK: 8, Instrument.NRS_LEG: 8},
            TimePoint.MONTHS_12: {Instrument.ODI: 45, Instrument.NRS_BACK: 8, Instrument.NRS_LEG: 8},
        },
    )
    codes = [flag.code for flag in episode_flags(f, day(10))]
    assert codes == ["incomplete_postop", "preop_unsigned", "not_improving", "twelve_month_outcome"]
    assert codes == [r.code for r in RULES if r.code in codes]


def _opioids(value: str, above: float = 0, unit: str | None = "MME/day") -> EpisodeFacts:
    return EpisodeFacts(
        BASE,
        preop_signed=True,
        closed=False,
        values=[StepValue(Raises("still_on_opioids", above), value, unit)],
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0", None),
        ("1", "Still on opioids at 3 months (1 MME/day)"),
        ("0.5", "Still on opioids at 3 months (0.5 MME/day)"),
        ("90", "Still on opioids at 3 months (90 MME/day)"),
    ],
)
def test_still_on_opioids_is_raised_by_a_dose_above_0_from_the_first_day(value, text):
    f = _opioids(value)
    flag = STILL_ON_OPIOIDS.today(f, day(0))
    assert (flag.text if flag else None) == text
    assert STILL_ON_OPIOIDS.first_day(f, SITE) == (date.min if text else None)
    assert [x.text for x in episode_flags(f, day(400))] == ([text] if text else [])


def test_still_on_opioids_follows_the_threshold_the_protocol_declares():
    assert STILL_ON_OPIOIDS.today(_opioids("10", above=10), day(0)) is None
    assert STILL_ON_OPIOIDS.today(_opioids("11", above=10), day(0)).detail == "11 MME/day"
    assert STILL_ON_OPIOIDS.today(_opioids("11", unit=None), day(0)).detail == "11"


def test_no_value_or_another_flag_raises_no_opioid_flag():
    assert STILL_ON_OPIOIDS.today(EpisodeFacts(BASE, preop_signed=True, closed=False), day(0)) is None
    other = EpisodeFacts(
        BASE, preop_signed=True, closed=False, values=[StepValue(Raises("something_else"), "30", "mg")]
    )
    assert STILL_ON_OPIOIDS.today(other, day(0)) is None


def test_still_on_opioids_is_an_amber_warning_and_safety_a_red_danger():
    from app.domain.flags import StepValue, opioid_flag, safety_flag
    from app.domain.step_options import Raises

    dose = StepValue(Raises("still_on_opioids", 0), "30", "MME/day")
    assert opioid_flag([dose]).amber
    assert not safety_flag(["Wound problem"]).amber
