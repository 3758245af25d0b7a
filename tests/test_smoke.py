from tests.conftest import login


def test_nurse_logs_in_and_sees_episode(client, nurse, episode):
    login(client, nurse)
    page = client.get(f"/episodes/{episode.id}")
    assert page.status_code == 200
    assert "Before surgery" in page.get_data(as_text=True)
