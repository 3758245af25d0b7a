"""Addresses built once for many records, and moments written in the site's time: the same text as
url_for and the filters would give, whatever the id or the moment."""

from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.web.templating import fmt_date, fmt_datetime, fmt_time
from app.web.urls import MAX_RECORD_ID, url_maker

ids = st.integers(min_value=1, max_value=MAX_RECORD_ID)
# The app is only read (url_for, the time zone), never changed: one app for every example.
ONE_APP = HealthCheck.function_scoped_fixture


@settings(max_examples=200, deadline=None, suppress_health_check=[ONE_APP])
@given(episode_id=ids, item_id=ids, action=st.sampled_from(["done", "not-applicable", "reopen", "note"]))
def test_an_item_address_made_once_is_url_for_s(app, episode_id, item_id, action):
    with app.test_request_context("/", base_url="https://periop.example/site/"):
        made = url_maker("checklist.item_action", "item_id", episode_id=episode_id, action=action)
        assert made(item_id) == url_for(
            "checklist.item_action", episode_id=episode_id, item_id=item_id, action=action
        )
        assert made(item_id).startswith("/site/episodes/")  # under the app's own prefix


def test_an_address_maker_takes_whole_numbers_only(app):
    with app.test_request_context("/"):
        made = url_maker("checklist.acknowledge", "item_id", episode_id=7)
        assert made(12) == "/episodes/7/items/12/acknowledge"
        assert made("12") == "/episodes/7/items/12/acknowledge"
        with pytest.raises(ValueError):
            made("12/../../admin")


@settings(max_examples=200, deadline=None, suppress_health_check=[ONE_APP])
@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_a_moment_reads_as_its_day_and_its_time_in_the_site_s_zone(app, moment):
    with app.test_request_context("/"):
        app.config["TIMEZONE"] = "Europe/London"
        assert fmt_datetime(moment) == f"{fmt_date(moment)} {fmt_time(moment)}"


def test_a_moment_near_midnight_is_dated_by_the_site_s_day(app):
    with app.test_request_context("/"):
        app.config["TIMEZONE"] = "Europe/London"
        summer_night = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 July in London
        assert fmt_datetime(summer_night) == "1 Jul 2026 00:30 BST"
        assert fmt_date(summer_night) == "1 Jul 2026"
        winter = summer_night + timedelta(days=180)
        assert fmt_datetime(winter) == "27 Dec 2026 23:30 GMT"  # no summer time: UTC
