"""``hodei daemon list``: the table (answering daemon marked, states, the lead, workers) and
the JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from hodei_api import v1
from hodei_tui.cli.render_daemons import daemon_to_dict, daemons_table

STARTED = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)
A = v1.DaemonInfo(
    id="a1b2c3d4e5f60718293a4b5c6d7e8f90", address="a:50051", version="0.4.0", started_at=STARTED,
    lease_age_seconds=1.234, live=True, leader=True, workers=["w1", "w2"],
)  # fmt: skip
B = v1.DaemonInfo(
    id="ffee0011aabbccddeeff001122334455", address="b:50051", version="0.4.0", started_at=STARTED,
    lease_age_seconds=0.5, live=True, workers=[f"builder-{n:02}" for n in range(12)],
)  # fmt: skip
GONE = v1.DaemonInfo(
    id="0123456789abcdef0123456789abcdef", address="\x1b[2Jc:1", version="0.4.0", started_at=STARTED,
    lease_age_seconds=95.0, stopped_at=STARTED,
)  # fmt: skip
LAPSED = v1.DaemonInfo(id="9876543210fedcba9876543210fedcba", version="0.4.0", lease_age_seconds=31.0)


def test_the_table_marks_the_daemon_that_answered_and_says_each_state() -> None:
    listed = v1.ListDaemonsResponse(daemons=[A, B, GONE, LAPSED], answered_by=B.id)
    assert daemons_table(listed).splitlines() == [
        "ID         ADDRESS     VERSION  LEASE AGE  LEADER  WORKERS                           STATE",
        "a1b2c3d4   a:50051     0.4.0    1.2s       yes     2 (w1,w2)                         live",
        "ffee0011*  b:50051     0.4.0    0.5s       no      12 (builder-00,builder-01,build…  live",
        "01234567   \\x1b[2Jc:1  0.4.0    95.0s      no      0                                 stopped",
        "98765432   -           0.4.0    31.0s      no      0                                 lapsed",
        "* answered this call",
    ]


def test_no_daemon_is_said_in_words() -> None:
    assert daemons_table(v1.ListDaemonsResponse()) == "no daemon is recorded on this database"


def test_json_has_every_field_under_its_proto_name_and_which_answered() -> None:
    assert daemon_to_dict(A, B.id) == {
        "id": A.id,
        "address": "a:50051",
        "version": "0.4.0",
        "started_at": "2026-11-30T09:00:00Z",
        "lease_age_seconds": 1.234,
        "live": True,
        "leader": True,
        "workers": ["w1", "w2"],
        "stopped_at": None,
        "answered": False,
    }
    assert daemon_to_dict(B, B.id)["answered"] is True
    fields = {field.name for field in v1.DaemonInfo.__dataclass_fields__.values()}
    assert set(daemon_to_dict(v1.DaemonInfo(), "")) == fields | {"answered"}
