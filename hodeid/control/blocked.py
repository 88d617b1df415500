"""The placement classes this daemon skips: each fitted nowhere on its last look, and the
workers and providers have not changed since in a way that could make room for it. Per daemon
and in memory: another daemon sharing the database has workers of its own and judges for
itself."""

from __future__ import annotations

from collections.abc import Mapping

from hodeid.domain.classes import Snapshot, may_fit_now
from hodeid.domain.placement import Outcome


class BlockedClasses:
    """Classes blocked together share the snapshot they were judged on: reopening compares
    each snapshot once, however many classes it holds."""

    def __init__(self) -> None:
        self._groups: list[tuple[Snapshot, dict[str, Outcome]]] = []
        self._names: set[str] = set()

    def __len__(self) -> int:
        return len(self._names)

    def names(self) -> list[str]:
        """The classes to skip now."""
        return list(self._names)

    def block(self, outcomes: Mapping[str, Outcome], then: Snapshot) -> None:
        """Skip the classes in ``outcomes`` (each with its outcome, never PLACED), judged at
        ``then``, until ``reopen`` sees a change that could make room for them."""
        fresh = {c: o for c, o in outcomes.items() if c not in self._names}
        if fresh:
            self._groups.append((then, fresh))
            self._names.update(fresh)

    def reopen(self, now: Snapshot) -> int:
        """Stop skipping the classes that might fit at ``now``; return how many."""
        reopened = 0
        kept = []
        for then, outcomes in self._groups:
            # One comparison for each outcome a group holds, not for each class.
            verdicts = {o: may_fit_now(o, then, now) for o in set(outcomes.values())}
            still = {c: o for c, o in outcomes.items() if not verdicts[o]}
            reopened += len(outcomes) - len(still)
            self._names.difference_update(c for c in outcomes if c not in still)
            if still:
                kept.append((then, still))
        self._groups = kept
        return reopened
