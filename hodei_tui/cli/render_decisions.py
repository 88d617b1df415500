"""``hodei job explain`` output: a decision in the shape operators know from Nomad, and JSON."""

from __future__ import annotations

from datetime import datetime

from hodei_api import v1
from hodei_api.printable import printable
from hodei_tui.cli.render import details, iso, table
from hodei_tui.cli.render_daemons import short_id


def decision_to_dict(decision: v1.Decision) -> dict[str, object]:
    return {
        "outcome": decision.outcome.name,
        "worker_id": decision.worker_id or None,
        "strategy": decision.strategy,
        "decided_at": iso(decision.decided_at),
        "duration_ms": decision.duration_ms,
        "evaluated": decision.evaluated,
        "eligible": decision.eligible,
        "filtered": decision.filtered,
        "exhausted": decision.exhausted,
        "histogram": dict(decision.histogram),
        "summary": decision.summary,
        "daemon_id": decision.daemon_id or None,
        "verdicts": [
            {
                "target": v.target,
                "kind": v.kind,
                "reason": v.reason.name,
                "message": v.message,
                "could_fit": v.could_fit,
                "score": v.score,
            }
            for v in decision.verdicts
        ],
    }


def explain_to_dict(job_id: str, explained: v1.ExplainJobResponse) -> dict[str, object]:
    return {
        "job_id": job_id,
        "state": explained.state.name,
        "decisions": [decision_to_dict(d) for d in explained.decisions],
    }


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%H:%M:%S") if moment else "-"


def _reasons(decision: v1.Decision) -> list[list[str]]:
    """Each reason with its count and the first sentence that gave it."""
    example: dict[str, str] = {}
    for v in decision.verdicts:
        example.setdefault(v.reason.name, f"{v.target}: {v.message}")
    ordered = sorted(decision.histogram.items(), key=lambda item: (-item[1], item[0]))
    return [[reason, str(count), example.get(reason, "")] for reason, count in ordered]


def explain_text(job_id: str, explained: v1.ExplainJobResponse, verbose: bool) -> str:
    """The newest decision in full; with ``verbose`` every verdict; then the earlier ones."""
    if not explained.decisions:
        return printable(f"job {job_id} ({explained.state.name}): no placement decision recorded")
    newest, *earlier = explained.decisions
    now = " (evaluated now)" if explained.state is v1.JobState.PENDING else ""
    blocks = [
        details(
            [
                ("Job", f"{job_id} ({explained.state.name})"),
                ("Outcome", f"{newest.outcome.name}{now}"),
                ("Summary", newest.summary),
                (
                    "Decided",
                    f"{_when(newest.decided_at)} by {newest.strategy} in {newest.duration_ms:.2f} ms"
                    + (f" on daemon {short_id(newest.daemon_id)}" if newest.daemon_id else ""),
                ),
                (
                    "Workers",
                    f"{newest.evaluated} evaluated, {newest.eligible} eligible, "
                    f"{newest.filtered} filtered, {newest.exhausted} exhausted",
                ),
            ]
        )
    ]
    if newest.histogram:
        blocks.append(table(["REASON", "COUNT", "FOR EXAMPLE"], _reasons(newest)))
    if verbose:
        rows = [
            [v.target, v.kind, v.reason.name, v.message, "" if v.score is None else f"{v.score:.3f}"]
            for v in newest.verdicts
        ]
        blocks.append(table(["TARGET", "KIND", "REASON", "DETAIL", "SCORE"], rows))
    elif any(v.reason is not v1.PlacementReason.FITS for v in newest.verdicts):
        blocks.append("(-v lists every worker's and provider's verdict)")
    if earlier:
        rows = [[_when(d.decided_at), short_id(d.daemon_id), d.outcome.name, d.summary] for d in earlier]
        blocks.append(
            "Earlier decisions, newest first\n" + table(["TIME", "DAEMON", "OUTCOME", "SUMMARY"], rows)
        )
    return "\n\n".join(blocks)
