"""A protocol version with outcome windows (clinical rules §6), for the tests of windows and of
moving the surgery date: baseline −90..0, 6 weeks 28..63, 3 months 70..120, and a PT sessions
step counting 2 sessions on days 28 to 120."""

from app.domain.protocol_spec import parse_protocol
from app.services import protocols


def _outcome(phase, code, due, tp, first, last, **more):
    return {
        "phase": phase,
        "code": code,
        "title": f"{tp} outcome scores",
        "role": "coordinator",
        "required": True,
        "due": due,
        "kind": "value",
        "value": {"type": "number", "label": "ODI", "unit": "points", "min": 0, "max": 100, "outcome": tp},
        "window": {"from": first, "until": last},
        **more,
    }


WINDOWED = {
    "slug": "windowed-test",
    "name": "Windowed test",
    "steps": [
        _outcome("before", "pre_baseline_prom", -14, "baseline", -90, 0),
        {
            "phase": "during",
            "code": "intra_a",
            "title": "Time-out",
            "role": "surgeon",
            "required": True,
            "due": 0,
            "kind": "check",
        },
        _outcome("after", "post_fu_6w", 42, "6w", 28, 63, grace=14),
        {
            "phase": "after",
            "code": "post_pt",
            "title": "PT sessions",
            "role": "therapist",
            "required": True,
            "due": 120,
            "kind": "sessions",
            "sessions": {"discipline": "PT", "count": 2, "from": 28, "until": 120},
        },
        _outcome("after", "post_fu_3m", 90, "3m", 70, 120, grace=14),
        {
            "phase": "after",
            "code": "post_idt_review",
            "title": "Interdisciplinary review",
            "role": "surgeon",
            "required": False,
            "due": 100,
            "kind": "check",
        },
    ],
}


def publish(session):
    """Publish the windowed protocol (committed) and return its version."""
    version, _ = protocols.publish(session, parse_protocol(WINDOWED))
    session.commit()
    return version
