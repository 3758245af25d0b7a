"""Outcome rules: change from baseline, "Not improving" at its edges (the dominant pain site, the
baseline floors, the MCIDs), "12-month outcome" at its cut-offs."""

from datetime import date

import pytest

from app.domain.flags import outcome_flag, outcome_flags, twelve_month_flag
from app.domain.outcomes import (
    Change,
    Thresholds,
    baseline_missing,
    baseline_too_low,
    change_from_baseline,
    dominant_pain,
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


# the NRS rule at its edges: the dominant pain site


def nrs_flag(back: tuple[int, int], leg: tuple[int, int], t: Thresholds = T):
    return outcome_flag(scores((50, back[0], leg[0]), (W6, (10, back[1], leg[1]))), t)


def test_the_dominant_pain_site_is_the_one_with_the_higher_baseline_leg_when_equal():
    assert dominant_pain({BACK: 4, LEG: 7}) is LEG
    assert dominant_pain({BACK: 7, LEG: 4}) is BACK
    assert dominant_pain({BACK: 6, LEG: 6}) is LEG
    assert dominant_pain({BACK: 6}) is None and dominant_pain({}) is None


def test_sciatica_whose_back_pain_fell_but_leg_pain_did_not_is_not_improving():
    flag = nrs_flag((4, 2), (7, 7))
    assert flag.detail == "6 weeks: NRS leg 7 → 7, improved 0 points (0%), below 2 points and 30%"


def test_when_back_pain_is_higher_the_back_decides():
    assert nrs_flag((8, 8), (5, 1)).detail == (
        "6 weeks: NRS back 8 → 8, improved 0 points (0%), below 2 points and 30%"
    )
    assert nrs_flag((8, 2), (5, 5)) is None  # the leg, not dominant, did not improve: no matter


def test_when_back_and_leg_are_equal_the_leg_decides():
    assert nrs_flag((6, 6), (6, 2)) is None
    assert nrs_flag((6, 2), (6, 6)).detail.startswith("6 weeks: NRS leg 6 → 6")


def test_nrs_improved_by_exactly_2_points_is_not_below():
    assert nrs_flag((5, 5), (9, 7)) is None  # leg dominant, 2 points (22 %)
    assert nrs_flag((9, 7), (5, 5)) is None  # back dominant, 2 points
    assert nrs_flag((5, 5), (9, 8)) is not None  # 1 point (11 %)


def test_nrs_improved_by_exactly_30_per_cent_is_not_below():
    # 3 points of 10 is 30 % — but 3 points is not below 2 anyway; use a threshold that isolates %.
    strict = Thresholds(nrs_points=5)
    assert nrs_flag((5, 5), (10, 7), strict) is None  # leg 30 %
    assert nrs_flag((5, 5), (10, 8), strict) is not None  # leg 20 %


def test_nrs_below_flags_with_the_dominant_sites_numbers():
    flag = nrs_flag((6, 5), (7, 6))
    assert flag.detail == "6 weeks: NRS leg 7 → 6, improved 1 point (14%), below 2 points and 30%"


def test_nrs_rule_does_not_fire_when_one_nrs_is_missing():
    data = scores((50, 6, None), (W6, (10, 6, None)))
    assert outcome_flag(data, T) is None


def test_both_rules_firing_are_both_named():
    flag = outcome_flag(scores((40, 6, 7), (M3, (36, 5, 6))), T)
    assert flag.detail == (
        "3 months: ODI 40 → 36, improved 4 points (10%), below 10 points and 30%; "
        "NRS leg 7 → 6, improved 1 point (14%), below 2 points and 30%"
    )


def test_a_baseline_of_zero_is_judged_on_points_alone():
    assert Change(0, 0).below(2, 30) and Change(0, 1).below(2, 30)
    no_floor = Thresholds(odi_floor=0, nrs_floor=0)
    assert outcome_flag(scores((0, 0, 0), (W6, (0, 0, 0))), no_floor).detail == (
        "6 weeks: ODI 0 → 0, improved 0 points, below 10 points and 30%; "
        "NRS leg 0 → 0, improved 0 points, below 2 points and 30%"
    )


# the floors: an arm applies only from a baseline high enough to improve


def test_the_odi_arm_applies_from_a_baseline_of_exactly_20():
    assert odi_flag(20, 19).detail.startswith("6 weeks: ODI 20 → 19, improved 1 point (5%)")
    assert odi_flag(19, 18) is None  # below the floor: the ODI arm does not apply


def test_the_nrs_arm_applies_from_a_dominant_baseline_of_exactly_3():
    assert nrs_flag((1, 1), (3, 3)).detail.startswith("6 weeks: NRS leg 3 → 3")
    assert nrs_flag((2, 2), (2, 2)) is None  # below the floor
    assert nrs_flag((3, 3), (2, 2)).detail.startswith("6 weeks: NRS back 3 → 3")  # back dominant


def test_when_no_arm_applies_there_is_no_flag_and_the_baseline_is_too_low():
    low = scores((19, 2, 2), (W6, (19, 2, 2)))
    assert outcome_flag(low, T) is None
    assert baseline_too_low(low, T)


@pytest.mark.parametrize(
    "base",
    [(20, 2, 2), (19, 2, 3), (19, 3, 2)],
    ids=["odi-at-floor", "leg-at-floor", "back-at-floor"],
)
def test_one_arm_at_its_floor_is_enough_to_judge(base):
    data = scores(base, (W6, base))
    assert not baseline_too_low(data, T)
    assert outcome_flag(data, T) is not None  # unchanged: fails the arm that applies


def test_an_arm_that_applies_and_improves_is_not_overruled_by_one_below_its_floor():
    assert outcome_flag(scores((19, 2, 6), (W6, (19, 2, 2))), T) is None  # NRS leg improved 4
    assert outcome_flag(scores((40, 2, 2), (W6, (20, 2, 2))), T) is None  # ODI improved 20


def test_baseline_too_low_needs_a_baseline_and_a_follow_up_it_judges():
    assert not baseline_too_low(scores((10, 1, 1)), T)
    assert not baseline_too_low(scores(None, (W6, (10, 1, 1))), T)
    assert not baseline_too_low(scores((10, 1, 1), (M12, (10, 1, 1))), T)
    assert baseline_too_low(scores((10, 1, 1), (M6, (10, 1, 1)), (M12, (10, 1, 1))), T)


def test_the_floors_come_from_the_thresholds():
    assert odi_flag(15, 14) is None
    assert outcome_flag(scores((15, 8, 8), (W6, (14, 2, 2))), Thresholds(odi_floor=15)) is not None
    assert nrs_flag((1, 1), (2, 2)) is None
    assert nrs_flag((1, 1), (2, 2), Thresholds(nrs_floor=2)) is not None


# which follow-up, baseline missing


def test_the_latest_follow_up_with_scores_decides():
    data = scores((40, 6, 7), (W6, (36, 5, 6)), (M3, (20, 2, 2)))
    assert latest_follow_up(data) is M3
    assert outcome_flag(data, T) is None
    worse_later = scores((40, 6, 7), (W6, (20, 2, 2)), (M6, (38, 6, 7)))
    assert outcome_flag(worse_later, T).detail.startswith("6 months:")


def test_baseline_scores_alone_raise_nothing():
    assert latest_follow_up(scores((40, 6, 7))) is None
    assert outcome_flags(scores((40, 6, 7)), T) == []


def test_twelve_months_is_not_used_by_not_improving():
    unchanged = scores((40, 6, 7), (M12, (30, 6, 7)))  # below both MCIDs, ODI under the cut-off
    assert latest_follow_up(unchanged) is None
    assert outcome_flags(unchanged, T) == []


def test_with_twelve_months_recorded_not_improving_is_judged_at_six_months():
    bad_then_good = scores((40, 6, 7), (M6, (38, 6, 7)), (M12, (10, 1, 1)))
    assert latest_follow_up(bad_then_good) is M6
    assert [f.code for f in outcome_flags(bad_then_good, T)] == ["not_improving"]
    assert outcome_flag(bad_then_good, T).detail.startswith("6 months: ODI 40 → 38")
    good_then_bad = scores((60, 6, 7), (M6, (20, 2, 2)), (M12, (45, 6, 7)))
    assert [f.code for f in outcome_flags(good_then_bad, T)] == ["twelve_month_outcome"]


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


# 12 months: its own flag


def twelve(base: tuple | None, odi: int, t: Thresholds = T) -> str | None:
    flag = twelve_month_flag(scores(base, (M12, (odi, 2, 2))), t)
    return flag.text if flag else None


@pytest.mark.parametrize(
    ("odi", "text"),
    [
        (31, None),
        (32, "12-month outcome: Failure (ODI 32 > 31)"),
        (39, "12-month outcome: Failure (ODI 39 > 31)"),
        (40, "12-month outcome: Worsening (ODI 40 > 39)"),
    ],
)
def test_twelve_month_cut_offs_without_improvement(odi, text):
    assert twelve((40, 8, 8), odi) == text  # 40 → 32..40: less than 10 points and 30 %


@pytest.mark.parametrize(
    ("odi", "text"),
    [
        (31, None),
        (32, "12-month outcome: Failure (ODI 32 > 31) despite improvement from 78"),
        (39, "12-month outcome: Failure (ODI 39 > 31) despite improvement from 78"),
        (44, "12-month outcome: Failure (ODI 44 > 31) despite improvement from 78"),
    ],
)
def test_twelve_month_failure_despite_improvement_is_never_worsening(odi, text):
    assert twelve((78, 8, 8), odi) == text


def test_the_flag_reads_as_a_label_and_a_verdict():
    flag = twelve_month_flag(scores((78, 8, 8), (M12, (44, 2, 2))), T)
    assert (flag.code, flag.label) == ("twelve_month_outcome", "12-month outcome")
    assert flag.detail == "Failure (ODI 44 > 31) despite improvement from 78"


def test_improvement_at_twelve_months_is_the_odi_mcid_exactly():
    assert twelve((50, 8, 8), 40) == "12-month outcome: Failure (ODI 40 > 31) despite improvement from 50"
    assert twelve((49, 8, 8), 40) == "12-month outcome: Worsening (ODI 40 > 39)"  # 9 points, 18 %
    assert twelve((60, 8, 8), 42) == "12-month outcome: Failure (ODI 42 > 31) despite improvement from 60"
    assert twelve((60, 8, 8), 51) == "12-month outcome: Worsening (ODI 51 > 39)"  # 9 points, 15 %


def test_a_patient_worse_than_baseline_is_worsening():
    assert twelve((30, 8, 8), 45) == "12-month outcome: Worsening (ODI 45 > 39)"
    assert twelve((10, 1, 1), 35) == "12-month outcome: Failure (ODI 35 > 31)"


def test_twelve_month_cut_offs_need_no_baseline():
    assert twelve(None, 42) == "12-month outcome: Worsening (ODI 42 > 39)"
    assert twelve(None, 39) == "12-month outcome: Failure (ODI 39 > 31)"
    assert twelve(None, 31) is None


def test_twelve_month_cut_offs_come_from_the_thresholds():
    t = Thresholds(odi_failure_12m=30, odi_worsening_12m=40)
    assert twelve(None, 31, t) == "12-month outcome: Failure (ODI 31 > 30)"
    assert twelve(None, 40, t) == "12-month outcome: Failure (ODI 40 > 30)"
    assert twelve(None, 41, t) == "12-month outcome: Worsening (ODI 41 > 40)"


def test_no_twelve_month_flag_before_twelve_months():
    assert twelve_month_flag(scores((40, 8, 8), (M6, (80, 9, 9))), T) is None


def test_thresholds_come_from_configuration():
    config = {
        "MCID_ODI_POINTS": 12,
        "MCID_ODI_PERCENT": 25,
        "MCID_NRS_POINTS": 3,
        "MCID_NRS_PERCENT": 40,
        "ODI_FAILURE_12M": 30,
        "ODI_WORSENING_12M": 40,
        "MCID_ODI_FLOOR": 25,
        "MCID_NRS_FLOOR": 4,
    }
    assert Thresholds.from_config(config) == Thresholds(12, 25, 3, 40, 30, 40, 25, 4)
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
        "While surgery is not scheduled only baseline scores can be recorded: schedule the surgery first."
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
