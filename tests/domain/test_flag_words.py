"""A flag's short words, for lists: its label with the head of a short detail, the rest on demand."""

from app.domain.flags import Flag


def test_a_short_head_of_the_detail_stays_beside_the_label():
    detail = "6 weeks: ODI 40 → 36, improved 4 points (10%), below 10 points and 30%"
    assert Flag("not_improving", "Not improving", detail).short == "Not improving (6 weeks)"
    assert Flag("incomplete_postop", "Incomplete post-op steps", "3 overdue").short == (
        "Incomplete post-op steps (3 overdue)"
    )
    assert Flag("preop_unsigned", "Pre-op not signed off", "surgery tomorrow").short == (
        "Pre-op not signed off (surgery tomorrow)"
    )


def test_a_long_detail_leaves_the_label_alone():
    safety = Flag("safety", "Safety", "Level not confirmed on imaging; Incidental durotomy", colon=True)
    assert safety.short == "Safety"
    behind = "Outpatient PT: 0 attended, 2 expected by day 62 — 2 or more behind the plan"
    behind_flag = Flag("therapy_behind", "Therapy behind plan", behind)
    assert behind_flag.short == "Therapy behind plan (Outpatient PT)"
    long_head = "Outpatient physiotherapy programme sessions: 0 attended"
    assert Flag("therapy_behind", "Therapy behind plan", long_head).short == "Therapy behind plan"
    assert Flag("x", "Label", "").short == "Label"
