"""Values for every URL argument of the app's routes, built from real records.

The route-walking tests (permission matrix, CSRF, side-effect-free GETs) all build their
URLs from here, so a new URL argument needs one new line, in one place.
"""

# A sign-off id that does not exist: revoking it is "not found" for those who may revoke.
MISSING_SIGNOFF_ID = 999_999
# A therapy session id that does not exist: not found for therapists, refused for the rest.
MISSING_SESSION_ID = 999_998


def route_values(episode, item) -> dict:
    """Known values for URL arguments, for an episode and one of its items."""
    return {
        "patient_id": episode.patient_id,
        "episode_id": episode.id,
        "item_id": item.id,
        "user_id": episode.surgeon_id,  # an account, not the admin's own
        "phase": "before",
        "signoff_id": MISSING_SIGNOFF_ID,
        "action": "done",
        "session_id": MISSING_SESSION_ID,
        "version_id": episode.protocol_version_id,  # a published version (not a draft)
        "step_id": item.step_id,
    }


def build(urls, rule, values: dict) -> str:
    """The URL of a rule, taking from `values` just the arguments it has."""
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: no test value for URL argument(s) {sorted(missing)}; add one"
    return urls.build(rule.endpoint, {k: v for k, v in values.items() if k in rule.arguments})
