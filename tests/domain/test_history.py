"""History in plain words: field names and stored values as a clinician reads them."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from app.domain.history import NOT_RECORDED, FieldChange, field_changes, label, referenced_ids, value_text


def test_field_names_read_as_words():
    assert label("pain_before") == "Pain before"
    assert label("home_exercise_plan") == "Home exercise plan"
    assert label("mrn") == "MRN" and label("nrs_leg") == "NRS leg"


def test_values_read_as_words():
    assert value_text(None) == NOT_RECORDED and value_text("") == NOT_RECORDED
    assert value_text(True) == "yes" and value_text(False) == "no"
    assert value_text("2026-12-02") == "2 Dec 2026" and value_text(date(2027, 2, 12)) == "12 Feb 2027"
    assert value_text("not_applicable") == "not applicable"
    assert value_text(4) == "4" and value_text("L4-L5") == "L4-L5"
    assert value_text("2026-13-45") == "2026-13-45"  # not a date: as stored


def test_a_change_shows_what_changed_and_leaves_the_rest_out():
    before = {"pain_before": None, "minutes": 45, "home_exercise_plan": True}
    after = {"pain_before": 4, "minutes": 45, "home_exercise_plan": False}
    assert field_changes(before, after) == [
        FieldChange("Pain before", "not recorded", "4"),
        FieldChange("Home exercise plan", "yes", "no"),
    ]


def test_a_created_record_shows_its_values_alone():
    assert field_changes(None, {"status": "done", "value": "7"}) == [
        FieldChange("Status", None, "done"),
        FieldChange("Value", None, "7"),
    ]
    assert field_changes({"note": "x"}, None) == [FieldChange("Note", "x", None)]


@given(
    st.dictionaries(
        st.sampled_from(["pain_before", "minutes", "home_exercise_plan", "status", "surgery_date", "mrn"]),
        st.one_of(
            st.none(), st.booleans(), st.integers(), st.text("abc xyz-4", max_size=12), st.dates().map(str)
        ),
        max_size=4,
    )
)
def test_every_stored_value_reads_as_text_without_python_words(values):
    """No "None", "True" or "False" reaches the page, whatever an event stored."""
    for change in field_changes(values, {k: None for k in values}) + field_changes(None, values):
        for text in (change.before, change.after):
            assert text is None or (isinstance(text, str) and text not in ("None", "True", "False"))


def test_a_field_holding_a_record_id_shows_the_record_name():
    names = {"surgeon_id": {3: "Dr Sara Surgeon", 7: "Dr Tom Second"}}
    assert field_changes({"surgeon_id": 3}, {"surgeon_id": 7}, names) == [
        FieldChange("Surgeon", "Dr Sara Surgeon", "Dr Tom Second")
    ]
    # An id no longer known reads as stored rather than vanishing.
    assert field_changes({"surgeon_id": 3}, {"surgeon_id": 9}, names)[0].after == "9"
    assert referenced_ids([{"surgeon_id": 3}, None, {"protocol_version_id": 2, "x": 1}]) == {
        "surgeon_id": {3},
        "protocol_version_id": {2},
    }
