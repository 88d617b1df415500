"""Which of several daemons a client tries, and in what order: the one that answered last
first, then the others in the order given, wrapping around."""

from __future__ import annotations

import pytest

from hodei_api.rotation import Rotation

ADDRS = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("events", "current", "order"),
    [
        ([], "a", ["a", "b", "c"]),
        ([("failed", "a")], "b", ["b", "c", "a"]),
        ([("failed", "a"), ("failed", "b")], "c", ["c", "a", "b"]),
        # Past the last address: back to the first.
        ([("failed", "a"), ("failed", "b"), ("failed", "c")], "a", ["a", "b", "c"]),
        # The one that answered stays in use, though an earlier one may be back.
        ([("failed", "a"), ("worked", "b")], "b", ["b", "c", "a"]),
        ([("worked", "c")], "c", ["c", "a", "b"]),
        # A failure reported after another call moved on (a stream that broke late) moves nothing.
        ([("failed", "a"), ("failed", "a")], "b", ["b", "c", "a"]),
        ([("worked", "c"), ("failed", "a")], "c", ["c", "a", "b"]),
        ([("failed", "c")], "a", ["a", "b", "c"]),
    ],
)
def test_order_after(events: list[tuple[str, str]], current: str, order: list[str]) -> None:
    rotation = Rotation(ADDRS)
    for event, addr in events:
        getattr(rotation, event)(addr)
    assert rotation.current == current
    assert rotation.order() == order


def test_one_address_is_always_the_one() -> None:
    rotation = Rotation(["a"])
    rotation.failed("a")
    assert rotation.current == "a"
    assert rotation.order() == ["a"]


def test_needs_an_address() -> None:
    with pytest.raises(ValueError, match="at least one daemon"):
        Rotation([])
