"""Whom failed attempts count against: X-Forwarded-For only from trusted proxies, walked from the right."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from aerie_app.services import keys
from aerie_app.services.throttle import client_address
from aerie_app.settings import Settings, get_settings

pytestmark = pytest.mark.unit

PROXIES = "10.0.0.0/24, 192.168.1.1, fd00::/8"


@pytest.fixture
def proxies(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AERIE_TRUSTED_PROXIES", PROXIES)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # Not from a trusted proxy: the header is the client's own word and is ignored.
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        ("203.0.113.7", None, "203.0.113.7"),
        # From the proxy: the address it appended.
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        # A client's forged entries stay left of the one the proxy appended.
        ("10.0.0.2", "1.1.1.1, 8.8.8.8, 198.51.100.1", "198.51.100.1"),
        # Two proxies in a row: skip every trusted hop from the right.
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 192.168.1.1, 10.0.0.9", "198.51.100.1"),
        # Repeated headers arrive joined with commas.
        ("10.0.0.2", "6.6.6.6,198.51.100.1", "198.51.100.1"),
        # Only proxies in the chain: the leftmost is as near to the client as is known.
        ("10.0.0.2", "192.168.1.1, 10.0.0.3", "192.168.1.1"),
        # The proxy's own requests (health checks) carry no header.
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", " , ", "10.0.0.2"),
        # Ports, brackets, quotes and IPv4-mapped IPv6 are normalised.
        ("10.0.0.2", "198.51.100.1:51234", "198.51.100.1"),
        ("::ffff:10.0.0.2", '"[::ffff:198.51.100.1]:443"', "198.51.100.1"),
        # IPv6 clients count per /64; a trusted IPv6 proxy works like any other.
        ("fd00::5", "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("203.0.113.7", None, "203.0.113.7"),
        ("2001:db8:1:2:bbbb::9", None, "2001:db8:1:2::/64"),
        # Something a trusted proxy wrote that is not an address (nginx's "unknown") is the client.
        ("10.0.0.2", "unknown", "unknown"),
        # A peer that is not an address (a unix socket, the test client).
        ("testclient", "198.51.100.1", "testclient"),
        (None, "198.51.100.1", "unknown"),
    ],
)
def test_client_address_behind_trusted_proxies(
    proxies: None, peer: str | None, forwarded: str | None, client: str
) -> None:
    assert client_address(peer, forwarded) == client


def test_without_trusted_proxies_forwarded_headers_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AERIE_TRUSTED_PROXIES", raising=False)
    get_settings.cache_clear()
    try:
        assert client_address("10.0.0.2", "198.51.100.1") == "10.0.0.2"
        assert client_address("127.0.0.1", "198.51.100.1") == "127.0.0.1"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("", []),
        ("127.0.0.1", ["127.0.0.1/32"]),
        ("127.0.0.1, 10.1.2.3/8 ,::1", ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]),
        ('["192.168.0.0/16", "fd00::/8"]', ["192.168.0.0/16", "fd00::/8"]),
    ],
)
def test_trusted_proxies_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, parsed: list[str]
) -> None:
    monkeypatch.setenv("AERIE_TRUSTED_PROXIES", value)
    assert Settings().trusted_proxies == parsed


@pytest.mark.parametrize(
    "value", ["proxy.local", "10.0.0.0/33", '["10.0.0.1"', "10.0.0.1;10.0.0.2"]
)
def test_trusted_proxies_rejects_what_is_not_an_address(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AERIE_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings()


def test_generated_keys_are_recognised_by_shape_only() -> None:
    assert keys.looks_generated(keys.new_raw_key())
    assert not keys.looks_generated("test-admin-key-0123456789")
    assert not keys.looks_generated(keys.new_raw_key() + "x")
    assert not keys.looks_generated("aerie_" + "a" * 42)
    assert not keys.looks_generated("")
