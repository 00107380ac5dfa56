import pytest

from llmkube_tui.backend.quantity import format_bytes, parse_quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100Gi", 100 * 2**30),
        ("500Mi", 500 * 2**20),
        ("2T", 2 * 10**12),
        ("1.5Ti", int(1.5 * 2**40)),
        ("1024", 1024),
        ("1e9", 10**9),
        ("5G", 5 * 10**9),
    ],
)
def test_parse(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "10GB", "-5Gi", "1..5Gi", "Gi", "10 Gi x"])
def test_malformed_size_is_a_clear_error(text):
    with pytest.raises(ValueError, match="not a size"):
        parse_quantity(text)


def test_format():
    assert format_bytes(100 * 2**30) == "100 GiB"
    assert format_bytes(int(1.5 * 2**30)) == "1.5 GiB"
    assert format_bytes(None) == "-"
