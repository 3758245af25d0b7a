"""The benchmark's client logs in as a user does: password, then the code of their app, once per step."""

import pytest

from app import clock
from bench import client
from tests.browser.conftest import LiveServer
from tests.conftest import PASSWORD, TOTP_SECRET, set_up_two_step


class FakeTime:
    """A wall clock the test moves; sleeping moves it."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.slept = 0.0

    def now(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.at += seconds


@pytest.fixture(autouse=True)
def no_used_steps(monkeypatch):
    monkeypatch.setattr(client, "_used_steps", {})


def test_a_second_login_in_the_same_step_waits_for_the_next_code():
    wall = FakeTime(1_800_000_010.0)  # 10 s into a step

    first = client.totp_code("nurse", TOTP_SECRET, wall.now, wall.sleep)
    second = client.totp_code("nurse", TOTP_SECRET, wall.now, wall.sleep)

    assert first != second
    assert 20 <= wall.slept <= 21  # until the next step begins
    assert client._used_steps["nurse"] == 1_800_000_010 // 30 + 1


def test_other_users_do_not_wait():
    wall = FakeTime(1_800_000_010.0)

    client.totp_code("nurse", TOTP_SECRET, wall.now, wall.sleep)
    client.totp_code("surgeon", TOTP_SECRET, wall.now, wall.sleep)

    assert wall.slept == 0


def test_login_takes_both_steps_against_a_served_app(app, nurse):
    """The app as served, on the real clock: the bench client's login gets in with the code."""
    clock.set_now(None)  # the client computes codes from the wall clock, as a phone does
    set_up_two_step(nurse)
    server = LiveServer(app)
    server.start()
    try:
        port = int(server.url.rsplit(":", 1)[1])
        with pytest.raises(client.ClientError, match="asks for a code"):
            client.login("127.0.0.1", port, "nurse", PASSWORD)
        conn, token = client.login("127.0.0.1", port, "nurse", PASSWORD, TOTP_SECRET)
        try:
            assert token
            home = conn.request("GET", "/")
            assert home.status == 200
            assert b"Nina Nurse" in home.body
        finally:
            conn.close()
    finally:
        server.stop()
