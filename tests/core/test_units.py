from __future__ import annotations

from assistant.core.units import format_bytes

GB = 1024**3


def test_format_bytes_uses_binary_units() -> None:
    assert format_bytes(0) == "0 B"
    assert format_bytes(1023) == "1023 B"
    assert format_bytes(1536) == "1.5 KB"
    assert format_bytes(253_000_000) == "241.3 MB"  # the test model: the same number everywhere
    assert format_bytes(int(1.2 * GB)) == "1.2 GB"
    assert format_bytes(3 * 1024 * GB) == "3.0 TB"
