"""``hodei job explain`` rendering: JSON fields and the Nomad-shaped text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hodei_api import v1
from hodei_tui.cli.render_decisions import decision_to_dict, explain_text, explain_to_dict

R = v1.PlacementReason
AT = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def decision(outcome: v1.PlacementOutcome, *verdicts: v1.Verdict, worker: str = "") -> v1.Decision:
    histogram: dict[str, int] = {}
    for v in verdicts:
        if v.reason is not R.FITS:
            histogram[v.reason.name] = histogram.get(v.reason.name, 0) + 1
    return v1.Decision(
        job_id="j1", outcome=outcome, worker_id=worker, strategy="least-loaded", verdicts=list(verdicts),
        histogram=histogram, decided_at=AT, duration_ms=0.05, evaluated=2, eligible=1 if worker else 0,
        filtered=1, exhausted=0 if worker else 1, summary=f"{outcome.name}: ...",
    )  # fmt: skip


MISMATCH = v1.Verdict(target="cpu", kind="worker", reason=R.SELECTOR_MISMATCH,
                      message="label gpu=true: worker has gpu=false", could_fit=False)  # fmt: skip
FITS = v1.Verdict(
    target="gpu", kind="worker", reason=R.FITS, message="fits: 1 slot(s) free", could_fit=True, score=1.0
)
BUSY = v1.Verdict(
    target="gpu", kind="worker", reason=R.NO_FREE_SLOT, message="slots: 1 of 1 in use", could_fit=True
)


def test_json_has_every_field_with_enum_names() -> None:
    placed = decision(v1.PlacementOutcome.PLACED, MISMATCH, FITS, worker="gpu")
    data = decision_to_dict(placed)
    assert data["outcome"] == "PLACED" and data["worker_id"] == "gpu"
    assert data["decided_at"] == "2026-11-28T12:00:00Z"
    assert data["histogram"] == {"SELECTOR_MISMATCH": 1}
    assert data["verdicts"] == [
        {"target": "cpu", "kind": "worker", "reason": "SELECTOR_MISMATCH",
         "message": "label gpu=true: worker has gpu=false", "could_fit": False, "score": None},
        {"target": "gpu", "kind": "worker", "reason": "FITS", "message": "fits: 1 slot(s) free",
         "could_fit": True, "score": 1.0},
    ]  # fmt: skip
    explained = v1.ExplainJobResponse(state=v1.JobState.SUCCEEDED, decisions=[placed])
    assert explain_to_dict("j1", explained)["state"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("verbose", "present", "absent"),
    [
        (False, ["SELECTOR_MISMATCH  1      cpu: label gpu=true", "(-v lists"], ["SCORE"]),
        (True, ["TARGET", "fits: 1 slot(s) free", "1.000"], ["(-v lists"]),
    ],
)
def test_text_shows_counts_reasons_and_with_v_every_verdict(
    verbose: bool, present: list[str], absent: list[str]
) -> None:
    placed = decision(v1.PlacementOutcome.PLACED, MISMATCH, FITS, worker="gpu")
    text = explain_text("j1", v1.ExplainJobResponse(state=v1.JobState.RUNNING, decisions=[placed]), verbose)
    assert "2 evaluated, 1 eligible, 1 filtered, 0 exhausted" in text
    for part in present:
        assert part in text
    for part in absent:
        assert part not in text


def test_a_waiting_job_is_marked_evaluated_now_and_lists_earlier_decisions() -> None:
    now = decision(v1.PlacementOutcome.WAITING, MISMATCH, BUSY)
    earlier = decision(v1.PlacementOutcome.UNPLACEABLE, MISMATCH)
    text = explain_text(
        "j1", v1.ExplainJobResponse(state=v1.JobState.PENDING, decisions=[now, earlier]), False
    )
    assert "Outcome: WAITING (evaluated now)" in text
    assert "Earlier decisions, newest first" in text and "UNPLACEABLE" in text


def test_no_decision_yet_is_said_plainly() -> None:
    text = explain_text("j1", v1.ExplainJobResponse(state=v1.JobState.CANCELLED), False)
    assert text == "job j1 (CANCELLED): no placement decision recorded"


def test_each_decision_names_the_daemon_that_made_it() -> None:
    newest = decision(v1.PlacementOutcome.PLACED, FITS, worker="gpu")
    newest.daemon_id = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    earlier = decision(v1.PlacementOutcome.WAITING, BUSY)
    earlier.daemon_id = "ffee0011aabbccddeeff001122334455"
    older = decision(v1.PlacementOutcome.WAITING, MISMATCH)  # stored before daemons were recorded
    explained = v1.ExplainJobResponse(state=v1.JobState.RUNNING, decisions=[newest, earlier, older])
    text = explain_text("j1", explained, False)
    assert "by least-loaded in 0.05 ms on daemon a1b2c3d4\n" in text
    rows = text.split("Earlier decisions, newest first\n")[1].splitlines()
    assert rows[0].split()[:3] == ["TIME", "DAEMON", "OUTCOME"]
    assert rows[1].split()[1:3] == ["ffee0011", "WAITING"]
    assert rows[2].split()[1:3] == ["-", "WAITING"]
    decided = [decision_to_dict(d)["daemon_id"] for d in explained.decisions]
    assert decided == [newest.daemon_id, earlier.daemon_id, None]
