"""The selected job's decision trace: the newest decision's outcome and summary, its reason
histogram, the jobs it waits on, every worker's and provider's verdict, and the earlier
decisions; expandable."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from hodei_api import v1
from hodei_tui.console.format import OUTCOME_STYLES, plain, short_id

FITS = v1.PlacementReason.FITS


def _verdict(verdict: v1.Verdict) -> Text:
    mark = ("✓ ", "#98c379") if verdict.reason is FITS else ("✕ ", "#e06c75")
    score = "" if verdict.score is None else f" (score {verdict.score:.2f})"
    return Text.assemble(mark, plain(verdict.target, "bold"), plain(f": {verdict.message}{score}"))


def _outcome(decision: v1.Decision) -> Text:
    return Text(decision.outcome.name, style=OUTCOME_STYLES.get(decision.outcome, ""))


def _by(decision: v1.Decision) -> Text:
    """`` · daemon ID``: which daemon made it (nothing for decisions stored before daemons
    were recorded)."""
    return plain(f" · daemon {short_id(decision.daemon_id)}" if decision.daemon_id else "")


class DecisionTrace(Tree[None]):
    """A tree whose root is the job; rebuilt when its explanation or a new decision arrives.
    Every label is a ``Text`` (a ``str`` label would be read as markup)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("no job selected"), id=id)
        self.show_root = True
        self.guide_depth = 3
        self.job_id: str | None = None
        self.state = v1.JobState.UNSPECIFIED
        self.decisions: list[v1.Decision] = []

    def show(self, job_id: str | None, explained: v1.ExplainJobResponse | None) -> None:
        self.job_id = job_id
        self.state = explained.state if explained else v1.JobState.UNSPECIFIED
        self.decisions = list(explained.decisions) if explained else []
        self._render_tree()

    def add_decision(self, decision: v1.Decision) -> None:
        if decision.job_id == self.job_id:
            self.decisions.insert(0, decision)
            self.state = v1.JobState.UNSPECIFIED  # the newest decision is a made one, not evaluated now
            self._render_tree()

    def _render_tree(self) -> None:
        self.clear()
        if self.job_id is None:
            self.root.set_label(Text("no job selected"))
            return
        if not self.decisions:
            self.root.set_label(plain(f"{self.job_id[:8]}: no placement decision recorded yet"))
            return
        newest, *earlier = self.decisions
        now = " (evaluated now)" if self.state is v1.JobState.PENDING else ""
        self.root.set_label(
            Text.assemble(_outcome(newest), now, plain(f" · job {self.job_id[:8]}"), _by(newest))
        )
        self.root.add_leaf(plain(newest.summary, "bold"))
        self._details(self.root, newest)
        self.root.expand()
        if earlier:
            history = self.root.add(Text(f"Earlier decisions ({len(earlier)})"))
            for decision in earlier:
                when = decision.decided_at.astimezone().strftime("%H:%M:%S") if decision.decided_at else "-"
                node = history.add(
                    Text.assemble(
                        f"{when} ", _outcome(decision), _by(decision), plain(f" · {decision.summary}")
                    )
                )
                self._details(node, decision)

    @staticmethod
    def _details(node: TreeNode[None], decision: v1.Decision) -> None:
        node.add_leaf(
            plain(
                f"{decision.strategy} · {decision.duration_ms:.2f} ms · {decision.evaluated} evaluated, "
                f"{decision.eligible} eligible, {decision.filtered} filtered, {decision.exhausted} exhausted"
            )
        )
        if decision.histogram:
            reasons = node.add(Text("Reasons"), expand=True)
            for reason, count in sorted(decision.histogram.items(), key=lambda kv: (-kv[1], kv[0])):
                reasons.add_leaf(Text.assemble((f"{count:>4} ", "bold"), plain(reason)))
        waits = [v for v in decision.verdicts if v.kind == "dependency"]
        if waits:
            group = node.add(Text(f"Waiting on {len(waits)} job(s)"), expand=len(waits) <= 8)
            for verdict in waits:
                group.add_leaf(
                    Text.assemble(
                        ("⧗ ", "#e5c07b"), plain(verdict.target, "bold"), plain(f": {verdict.message}")
                    )
                )
        for kind, title in (("worker", "Workers"), ("provider", "Providers")):
            verdicts = [v for v in decision.verdicts if v.kind == kind]
            if verdicts:
                fits = sum(v.reason is FITS for v in verdicts)
                group = node.add(Text(f"{title}: {fits} of {len(verdicts)} fit"), expand=len(verdicts) <= 8)
                for verdict in verdicts:
                    group.add_leaf(_verdict(verdict))
