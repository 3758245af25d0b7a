"""Outcome rules: change from baseline, the MCID rules at their edges, the 12-month cut-offs."""

from datetime import date

import pytest

from app.domain.flags import outcome_flag
from app.domain.outcomes import (
    Change,
    Thresholds,
    baseline_missing,
    change_from_baseline,
    latest_follow_up,
    recording_problems,
    value_problems,
)
from app.domain.vocab import Instrument, TimePoint

ODI, BACK, LEG = Instrument.ODI, Instrument.NRS_BACK, Instrument.NRS_LEG
BASE, W6, M3, M6, M12 = (
    TimePoint.BASELINE,
    TimePoint.WEEKS_6,
    TimePoint.MONTHS_3,
    TimePoint.MONTHS_6,
    TimePoint.MONTHS_12,
)
T = Thresholds()
# NRS that clearly improves, so only the ODI rule is under test (and the reverse).
NRS_GOOD = {BACK: 8, LEG: 8}, {BACK: 2, LEG: 2}
ODI_GOOD = 50, 10


def scores(base: tuple, *follow_ups: tuple[TimePoint, tuple]) -> dict:
    """scores((odi, back, leg), (W6, (odi, back, leg)), ...); None leaves an instrument out."""

    def row(values):
        return {i: v for i, v in zip((ODI, BACK, LEG), values, strict=True) if v is not None}

    result = {BASE: row(base)} if base else {}
    for tp, values in follow_ups:
        result[tp] = row(values)
    return result


# change from baseline


def test_change_is_absolute_and_per_cent():
    change = Change(40, 36)
    assert (change.points, change.percent, change.improvement) == (-4, -10.0, 4)
    assert change.text == "−4 (−10%)"


def test_change_worse_than_baseline_is_positive():
    assert Change(20, 23).text == "+3 (+15%)"


def test_change_from_a_baseline_of_zero_has_no_per_cent():
    change = Change(0, 3)
    assert change.percent is None and change.text == "+3"


def test_change_needs_baseline_and_follow_up():
    data = scores(None, (W6, (30, 3, 3)))
    assert change_from_baseline(data, W6, ODI) is None
    assert change_from_baseline(scores((40, 5, 5), (W6, (30, 3, 3))), W6, ODI) == Change(40, 30)
    assert change_from_baseline(scores((40, 5, 5)), BASE, ODI) is None


# the ODI rule at its edges


def odi_flag(base: int, follow: int, tp=W6):
    return outcome_flag(scores((base, 8, 8), (tp, (follow, 2, 2))), T)


def test_odi_improved_by_exactly_30_per_cent_is_not_below():
    assert odi_flag(30, 21) is None  # 9 points, exactly 30 %


def test_odi_improved_by_exactly_10_points_is_not_below():
    assert odi_flag(80, 70) is None  # 10 points, 12.5 %


def test_odi_just_below_both_thresholds_flags_with_the_numbers():
    flag = odi_flag(40, 36)
    assert flag.code == "not_improving" and flag.label == "Not improving"
    assert flag.detail == "6 weeks: ODI 40 → 36, improved 4 points (10%), below 10 points and 30%"


def test_odi_below_30_per_cent_but_10_points_or_more_is_not_below():
    assert odi_flag(60, 49) is None  # 11 points, 18 %


def test_odi_below_10_points_but_30_per_cent_or_more_is_not_below():
    assert odi_flag(20, 13) is None  # 7 points, 35 %


def test_odi_worse_than_baseline_says_worsened():
    assert odi_flag(40, 44).detail.startswith("6 weeks: ODI 40 → 44, worsened 4 points (10%)")


# the NRS rule at its edges


def nrs_flag(back: tuple[int, int], leg: tuple[int, int]):
    return outcome_flag(scores((50, back[0], leg[0]), (W6, (10, back[1], leg[1]))), T)


def test_nrs_improved_by_exactly_2_points_is_not_below():
    assert nrs_flag((9, 7), (9, 8)) is None  # back 2 points (22 %)
    assert nrs_flag((9, 8), (9, 7)) is None  # leg 2 points


def test_nrs_improved_by_exactly_30_per_cent_is_not_below():
    # 3 points of 10 is 30 % — but 3 points is not below 2 anyway; use a threshold that isolates %.
    strict = Thresholds(nrs_points=5)
    data = scores((50, 10, 10), (W6, (10, 7, 9)))  # back 30 %, leg 10 %
    assert outcome_flag(data, strict) is None


def test_nrs_both_below_flags_with_both_numbers():
    flag = nrs_flag((6, 5), (7, 6))
    assert flag.detail == (
        "6 weeks: NRS back 6 → 5, improved 1 point (17%); NRS leg 7 → 6, improved 1 point (14%); "
        "both below 2 points and 30%"
    )


def test_nrs_rule_needs_both_back_and_leg_below():
    assert nrs_flag((6, 5), (7, 3)) is None


def test_nrs_rule_does_not_fire_when_one_nrs_is_missing():
    data = scores((50, 6, None), (W6, (10, 6, None)))
    assert outcome_flag(data, T) is None


def test_both_rules_firing_are_both_named():
    flag = outcome_flag(scores((40, 6, 7), (M3, (36, 5, 6))), T)
    assert flag.detail.startswith("3 months: ODI 40 → 36")
    assert "both below 2 points and 30%" in flag.detail


def test_a_baseline_of_zero_is_judged_on_points_alone():
    # Back pain 0 cannot improve: below; the leg decides.
    assert nrs_flag((0, 0), (7, 6)) is not None
    assert nrs_flag((0, 0), (7, 3)) is None


# which follow-up, baseline missing


def test_the_latest_follow_up_with_scores_decides():
    data = scores((40, 6, 7), (W6, (36, 5, 6)), (M3, (20, 2, 2)))
    assert latest_follow_up(data) is M3
    assert outcome_flag(data, T) is None
    worse_later = scores((40, 6, 7), (W6, (20, 2, 2)), (M6, (38, 6, 7)))
    assert outcome_flag(worse_later, T).detail.startswith("6 months:")


def test_baseline_scores_alone_raise_nothing():
    assert latest_follow_up(scores((40, 6, 7))) is None
    assert outcome_flag(scores((40, 6, 7)), T) is None


def test_missing_baseline_gives_no_flag_but_a_notice():
    data = scores(None, (W6, (40, 6, 7)))
    assert outcome_flag(data, T) is None
    assert baseline_missing(data)


def test_baseline_is_missing_once_surgery_has_passed():
    surgery, today = date(2026, 6, 1), date(2026, 6, 17)
    assert not baseline_missing({}, None, today)
    assert not baseline_missing({}, today, today)
    assert baseline_missing({}, surgery, today)
    assert not baseline_missing(scores((40, 6, 7)), surgery, today)


# 12 months


@pytest.mark.parametrize(
    ("odi", "detail"),
    [
        (31, None),
        (32, "12 months: Failure criterion met (ODI 32 > 31)"),
        (39, "12 months: Failure criterion met (ODI 39 > 31)"),
        (40, "12 months: Worsening (ODI 40 > 39)"),
    ],
)
def test_twelve_month_cut_offs(odi, detail):
    data = scores((80, 8, 8), (M12, (odi, 2, 2)))  # improved far beyond the MCID
    flag = outcome_flag(data, T)
    assert (flag.detail if flag else None) == detail


def test_twelve_month_cut_offs_need_no_baseline():
    flag = outcome_flag(scores(None, (M12, (42, 5, 5))), T)
    assert flag.detail == "12 months: Worsening (ODI 42 > 39)"


def test_twelve_month_cut_off_and_mcid_are_both_named():
    flag = outcome_flag(scores((40, 8, 8), (M12, (35, 2, 2))), T)
    assert flag.detail == (
        "12 months: Failure criterion met (ODI 35 > 31); ODI 40 → 35, improved 5 points (12%), "
        "below 10 points and 30%"
    )


def test_thresholds_come_from_configuration():
    config = {
        "MCID_ODI_POINTS": 12,
        "MCID_ODI_PERCENT": 25,
        "MCID_NRS_POINTS": 3,
        "MCID_NRS_PERCENT": 40,
        "ODI_FAILURE_12M": 30,
        "ODI_WORSENING_12M": 40,
    }
    assert Thresholds.from_config(config) == Thresholds(12, 25, 3, 40, 30, 40)
    assert odi_flag(60, 49) is None
    assert outcome_flag(scores((60, 8, 8), (W6, (49, 2, 2))), Thresholds.from_config(config)) is not None


# what a recording needs

SURGERY, TODAY = date(2026, 6, 10), date(2026, 6, 17)


def test_baseline_is_taken_on_or_before_surgery():
    assert recording_problems(BASE, SURGERY, SURGERY, TODAY) == []
    assert recording_problems(BASE, date(2026, 6, 11), SURGERY, TODAY) == [
        "Baseline scores are taken before surgery: on or before 10 Jun 2026."
    ]
    assert recording_problems(BASE, TODAY, None, TODAY) == []


def test_follow_ups_are_taken_after_surgery():
    assert recording_problems(W6, date(2026, 6, 11), SURGERY, TODAY) == []
    assert recording_problems(W6, SURGERY, SURGERY, TODAY) == [
        "Follow-up scores are taken after surgery: after 10 Jun 2026."
    ]
    assert recording_problems(W6, TODAY, None, TODAY) == [
        "Follow-up scores need a surgery date: schedule the surgery first."
    ]


def test_scores_are_not_taken_in_the_future():
    assert "The date taken cannot be in the future." in recording_problems(
        W6, date(2026, 6, 18), SURGERY, TODAY
    )


def test_values_are_whole_numbers_within_each_instruments_range():
    assert value_problems({ODI: 0, BACK: 10, LEG: 0}) == []
    assert value_problems({ODI: 101, BACK: -1, LEG: None}) == [
        "ODI: enter a whole number from 0 to 100.",
        "NRS back pain: enter a whole number from 0 to 10.",
        "NRS leg pain: enter a whole number from 0 to 10.",
    ]
