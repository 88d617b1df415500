"""Label selectors: parsing every accepted form, refusing the rest, and the sentence that
says why a worker does not match."""

from __future__ import annotations

import pytest

from hodeid.domain.selectors import SelectorError, Term, parse, parse_term

# expression -> the term it means
PARSED = [
    ("eq", "gpu=true", Term("gpu", "=", ("true",))),
    ("eq-double", "gpu==true", Term("gpu", "=", ("true",))),
    ("eq-spaced", "gpu = true", Term("gpu", "=", ("true",))),
    ("eq-empty-value", "gpu=", Term("gpu", "=", ("",))),
    ("eq-outer-space", "  gpu=true\t", Term("gpu", "=", ("true",))),
    ("eq-dotted-key", "node.hodei.io/arch=amd64", Term("node.hodei.io/arch", "=", ("amd64",))),
    ("eq-colon-value", "addr=10.0.0.1:80", Term("addr", "=", ("10.0.0.1:80",))),
    ("eq-dash-underscore", "os_family=linux-gnu", Term("os_family", "=", ("linux-gnu",))),
    ("ne", "gpu!=true", Term("gpu", "!=", ("true",))),
    ("ne-spaced", "gpu != true", Term("gpu", "!=", ("true",))),
    ("exists", "gpu", Term("gpu", "exists")),
    ("exists-spaced", " gpu ", Term("gpu", "exists")),
    ("absent", "!gpu", Term("gpu", "absent")),
    ("absent-spaced", "! gpu", Term("gpu", "absent")),
    ("in", "zone in (a,b)", Term("zone", "in", ("a", "b"))),
    ("in-one", "zone in (a)", Term("zone", "in", ("a",))),
    ("in-spaced-values", "zone in ( a , b )", Term("zone", "in", ("a", "b"))),
    ("in-no-space", "zone in(a,b)", Term("zone", "in", ("a", "b"))),
    ("notin", "zone notin (a,b)", Term("zone", "notin", ("a", "b"))),
    ("notin-spaced", "zone  notin  ( a,b )", Term("zone", "notin", ("a", "b"))),
]


@pytest.mark.parametrize(("expr", "term"), [pytest.param(e, t, id=i) for i, e, t in PARSED])
def test_parse_term(expr: str, term: Term) -> None:
    assert parse_term(expr) == term


@pytest.mark.parametrize(("expr", "term"), [pytest.param(e, t, id=i) for i, e, t in PARSED])
def test_str_round_trips(expr: str, term: Term) -> None:
    assert parse_term(str(term)) == term


@pytest.mark.parametrize(
    ("term", "text"),
    [
        pytest.param(Term("gpu", "=", ("true",)), "gpu=true", id="eq"),
        pytest.param(Term("gpu", "!=", ("true",)), "gpu!=true", id="ne"),
        pytest.param(Term("gpu", "exists"), "gpu", id="exists"),
        pytest.param(Term("gpu", "absent"), "!gpu", id="absent"),
        pytest.param(Term("zone", "in", ("a", "b")), "zone in (a,b)", id="in"),
        pytest.param(Term("zone", "notin", ("a", "b")), "zone notin (a,b)", id="notin"),
    ],
)
def test_str(term: Term, text: str) -> None:
    assert str(term) == text


ACCEPTED_FORMS = "use k=v, k!=v, k, !k, 'k in (a,b)' or 'k notin (a,b)'"

INVALID = [
    ("empty", ""),
    ("in-empty-item", "zone in (a,,b)"),
    ("in-space-in-value", "zone in (a b)"),
    ("in-glued-to-key", "login (a,b)"),
    ("blank", "   "),
    ("no-key", "=true"),
    ("no-key-ne", "!=true"),
    ("bang-alone", "!"),
    ("space-in-value", "gpu=a b"),
    ("space-in-key", "has gpu"),
    ("two-equals", "gpu=a=b"),
    ("less-than", "mem<5"),
    ("greater-equal", "mem>=5"),
    ("absent-with-value", "!gpu=true"),
    ("double-bang", "!!gpu"),
    ("in-empty-set", "zone in ()"),
    ("in-blank-set", "zone in ( , )"),
    ("in-unclosed", "zone in (a,b"),
    ("in-no-parens", "zone in a,b"),
    ("notin-no-parens", "zone notin a"),
    ("in-nested-parens", "zone in (a,(b))"),
    ("in-no-key", "in (a,b)"),
    ("quoted-value", "gpu='true'"),
    ("comma-list", "gpu=true,zone=a"),
]


@pytest.mark.parametrize("expr", [pytest.param(e, id=i) for i, e in INVALID])
def test_invalid_expression_lists_the_accepted_forms(expr: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_term(expr)
    assert str(info.value) == f"selector {expr!r} is not valid; {ACCEPTED_FORMS}"


def test_selector_error_is_a_value_error() -> None:
    assert issubclass(SelectorError, ValueError)


def test_parse_many() -> None:
    assert parse(["gpu=true", "!spot", "zone in (a,b)"]) == (
        Term("gpu", "=", ("true",)),
        Term("spot", "absent"),
        Term("zone", "in", ("a", "b")),
    )


def test_parse_nothing() -> None:
    assert parse([]) == ()


def test_parse_many_names_the_bad_one() -> None:
    with pytest.raises(SelectorError, match=r"^selector 'zone in \(\)' is not valid"):
        parse(["gpu=true", "zone in ()", "spot"])


# expression, worker labels -> None when they match, else the sentence
MATCHING = [
    ("eq-match", "gpu=true", {"gpu": "true"}, None),
    ("eq-match-among-others", "gpu=true", {"os": "linux", "gpu": "true"}, None),
    ("eq-other-value", "gpu=true", {"gpu": "false"}, "label gpu=true: worker has gpu=false"),
    ("eq-case-sensitive", "gpu=true", {"gpu": "True"}, "label gpu=true: worker has gpu=True"),
    ("eq-missing", "gpu=true", {}, "label gpu=true: worker has none"),
    ("eq-missing-others", "gpu=true", {"os": "linux"}, "label gpu=true: worker has none"),
    ("eq-key-case", "gpu=true", {"GPU": "true"}, "label gpu=true: worker has none"),
    ("eq-double-shown-single", "gpu==true", {"gpu": "no"}, "label gpu=true: worker has gpu=no"),
    ("eq-empty-match", "gpu=", {"gpu": ""}, None),
    ("eq-empty-other", "gpu=", {"gpu": "x"}, "label gpu=: worker has gpu=x"),
    ("eq-empty-missing", "gpu=", {}, "label gpu=: worker has none"),
    ("ne-other-value", "gpu!=true", {"gpu": "false"}, None),
    ("ne-missing", "gpu!=true", {}, None),
    ("ne-same-value", "gpu!=true", {"gpu": "true"}, "label gpu!=true: worker has gpu=true"),
    ("exists-present", "gpu", {"gpu": "true"}, None),
    ("exists-empty-value", "gpu", {"gpu": ""}, None),
    ("exists-missing", "gpu", {"os": "linux"}, "label gpu: worker has none"),
    ("absent-missing", "!gpu", {"os": "linux"}, None),
    ("absent-present", "!gpu", {"gpu": "true"}, "label !gpu: worker has gpu=true"),
    ("absent-present-empty", "!gpu", {"gpu": ""}, "label !gpu: worker has gpu="),
    ("in-first", "zone in (a,b)", {"zone": "a"}, None),
    ("in-second", "zone in (a,b)", {"zone": "b"}, None),
    ("in-other", "zone in (a,b)", {"zone": "c"}, "label zone in (a,b): worker has zone=c"),
    ("in-prefix", "zone in (a,b)", {"zone": "ab"}, "label zone in (a,b): worker has zone=ab"),
    ("in-missing", "zone in (a,b)", {}, "label zone in (a,b): worker has none"),
    ("in-spaced-shown-tidy", "zone in ( a , b )", {"zone": "c"}, "label zone in (a,b): worker has zone=c"),
    ("notin-other", "zone notin (a,b)", {"zone": "c"}, None),
    ("notin-missing", "zone notin (a,b)", {}, None),
    ("notin-first", "zone notin (a,b)", {"zone": "a"}, "label zone notin (a,b): worker has zone=a"),
    ("notin-second", "zone notin (a,b)", {"zone": "b"}, "label zone notin (a,b): worker has zone=b"),
]


@pytest.mark.parametrize(
    ("expr", "labels", "why"),
    [pytest.param(e, labels, why, id=i) for i, e, labels, why in MATCHING],
)
def test_mismatch(expr: str, labels: dict[str, str], why: str | None) -> None:
    assert parse_term(expr).mismatch(labels) == why


def test_every_operator_is_covered_matching_and_not() -> None:
    ops_matching = {parse_term(e).op for _, e, _, why in MATCHING if why is None}
    ops_failing = {parse_term(e).op for _, e, _, why in MATCHING if why is not None}
    assert ops_matching == ops_failing == {"=", "!=", "exists", "absent", "in", "notin"}
