"""Daemon addresses: one HOST:PORT, or a comma-separated list of them for several daemons."""

import pytest

from hodei_api.client import AddressError, parse_addrs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:7070", [("127.0.0.1", 7070)]),
        ("a:1,b:2", [("a", 1), ("b", 2)]),
        (" a:1 , [::1]:2 ", [("a", 1), ("::1", 2)]),
        ("a:1,a:1,b:2", [("a", 1), ("b", 2)]),
    ],
)
def test_address_lists_parse_in_order_without_repeats(text: str, expected: list[tuple[str, int]]) -> None:
    assert parse_addrs(text) == expected


@pytest.mark.parametrize(
    ("text", "names"),
    [("a:1,", "empty entry"), ("a:1,b", "'b' is not HOST:PORT"), ("", "empty entry"), ("a:1,b:0", "'b:0'")],
)
def test_a_bad_entry_is_named(text: str, names: str) -> None:
    with pytest.raises(AddressError, match=names):
        parse_addrs(text)
