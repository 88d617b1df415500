"""hodeid.domain.states is the one source of the job state sets. Queries take them as
parameters; the few that spell a set out (so that a generic plan can use a partial index whose
predicate must be a literal) say which set they spell, and spell it right."""

from __future__ import annotations

import re

import pytest

from hodeid.domain import states
from hodeid.store.queries import SCHEMA, Q

SETS = {"ACTIVE": states.ACTIVE, "TERMINAL": states.TERMINAL}
_LIST = re.compile(r"\bstate IN \(([^)]*)\)")
_NAMED = re.compile(r"hodeid\.domain\.states\.(\w+) written out")


def _names(literal: str) -> set[str]:
    return {name.strip().strip("'") for name in literal.split(",")}


@pytest.mark.parametrize("name", sorted(n for n, sql in Q.items() if _LIST.search(sql)))
def test_a_query_that_spells_a_state_set_says_which_and_spells_it_right(name: str) -> None:
    sql = Q[name]
    said = _NAMED.search(sql)
    assert said is not None, (
        f"query {name}: a literal state list; pass the set from hodeid.domain.states as a "
        "$n::job_state[] parameter, or say in its comment which set it writes out and why"
    )
    expected = {s.name for s in SETS[said.group(1)]}
    for literal in _LIST.findall(sql):
        assert _names(literal) == expected, f"query {name}: {literal} is not {said.group(1)}"


def test_the_active_jobs_index_covers_the_active_states() -> None:
    predicate = re.search(r"jobs_active_idx ON jobs \(worker_id\) WHERE state IN \(([^)]*)\)", SCHEMA)
    assert predicate is not None
    assert _names(predicate.group(1)) == {s.name for s in states.ACTIVE}
