"""Throttles for key guessing, shared by the REST API and the UI's sign-in form, and by every worker.

**Where counts live.** Every worker process reads and writes the same counts: in Redis when
``REDIS_URL`` is set (a sorted set of timestamps per client, ``aerie:throttle:<bucket>:<client>``),
otherwise in the database (table ``throttle_event``, one row per event; SQLite and PostgreSQL).
A limit therefore holds across workers: ten wrong keys are ten in all, not ten per worker. Rows
are not data: they stay out of backups, and each write deletes its bucket's expired rows, so the
table holds at most ``limit`` rows per client that failed in the last minute. Counting and
recording are two steps, not one atomic one: requests that arrive at the same instant on several
workers may each see the count just below the limit, so a burst can exceed it by the number of
requests in flight; sequential guessing, the real threat, cannot.

**Who the client is.** :func:`client_address`: the TCP peer, unless the peer is one of
``AERIE_TRUSTED_PROXIES``; then the rightmost ``X-Forwarded-For`` address that is not itself a
trusted proxy. IPv6 clients are counted per /64 (one host usually owns the whole prefix).

**Who gets refused** (:func:`check_credential`). Only failed attempts count, and only guessing is
slowed down: Aerie's generated keys (``aerie_`` + 43 random characters) and browser session tokens
carry 256 random bits, so no number of attempts finds one. Such a credential is checked first and,
when valid, accepted even from an address that is over the limit: a script with a wrong key
behind the same NAT or (unconfigured) proxy never locks out the team's scripts and browsers, and
the fast path costs no throttle read or write at all. Anything else, above all a hand-chosen
``AERIE_API_KEY``, is guessable: for it the throttle is consulted *before* the key is looked up,
and an address over the limit gets 429 without the lookup. Accepting a valid guessable key while
over the limit would tell a blocked guesser the moment a guess is right (200 instead of 429),
making the throttle useless; refusing it before the lookup means neither the answer nor its timing
depends on the guess. The price: one indexed read for requests with such a key.
"""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlmodel import Session

from aerie_app.db import get_engine
from aerie_app.errors import InvalidApiKey, RateLimited
from aerie_app.models import throttle_event
from aerie_app.services import keys
from aerie_app.settings import get_settings, redis_url

T = TypeVar("T")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
CLIENT_MAX = 64  # longest client key stored (an IPv6 /64 prefix needs at most 23)
REDIS_PREFIX = "aerie:throttle:"


class Store(Protocol):
    """Where events are counted: shared by every worker process."""

    def recent(self, bucket: str, client: str, since: float) -> tuple[int, float | None]:
        """Events after ``since`` (epoch seconds) and the time of the oldest of them."""

    def record(self, bucket: str, client: str, now: float, window_s: float) -> None:
        """One event at ``now``; events older than the window may be dropped."""


class DatabaseStore:
    """Counts in the ``throttle_event`` table of Aerie's own database."""

    def recent(self, bucket: str, client: str, since: float) -> tuple[int, float | None]:
        table = throttle_event
        stmt = sa.select(sa.func.count(), sa.func.min(table.c.at)).where(
            table.c.bucket == bucket, table.c.client == client, table.c.at > since
        )
        with get_engine().connect() as conn:
            count, oldest = conn.execute(stmt).one()
        return int(count), None if oldest is None else float(oldest)

    def record(self, bucket: str, client: str, now: float, window_s: float) -> None:
        table = throttle_event
        with get_engine().connect() as conn:
            # On SQLite, take the write lock when the transaction starts (see db.begin_write).
            conn.execution_options(aerie_write=True)
            with conn.begin():
                conn.execute(
                    table.delete().where(table.c.bucket == bucket, table.c.at <= now - window_s)
                )
                conn.execute(table.insert().values(bucket=bucket, client=client, at=now))


class RedisStore:
    """Counts in Redis: one sorted set of event times per bucket and client, expiring with the window."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def recent(self, bucket: str, client: str, since: float) -> tuple[int, float | None]:
        key = f"{REDIS_PREFIX}{bucket}:{client}"
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcount(key, f"({since!r}", "+inf")
        pipe.zrangebyscore(key, f"({since!r}", "+inf", start=0, num=1, withscores=True)
        count, first = pipe.execute()
        return int(count), float(first[0][1]) if first else None

    def record(self, bucket: str, client: str, now: float, window_s: float) -> None:
        key = f"{REDIS_PREFIX}{bucket}:{client}"
        member = f"{now!r}:{os.getpid()}:{secrets.token_hex(4)}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now - window_s)
        pipe.zadd(key, {member: now})
        pipe.expire(key, math.ceil(window_s) + 1)
        pipe.execute()


DATABASE = DatabaseStore()


@lru_cache
def _redis_store(url: str) -> RedisStore:
    return RedisStore(url)


def store() -> Store:
    """Redis when ``REDIS_URL`` is set (Reflex's state manager is there already), else the database."""
    url = redis_url()
    return _redis_store(url) if url else DATABASE


class SlidingWindow:
    """Events per client in the last ``window_s`` seconds, counted in the shared :func:`store`.

    Times are wall-clock epoch seconds, so workers on several hosts need synchronised clocks (NTP).
    """

    def __init__(self, bucket: str, window_s: float) -> None:
        self.bucket = bucket
        self.window_s = window_s

    def count(self, client: str) -> tuple[int, float]:
        """How many events are in the window, and seconds until the oldest leaves it."""
        now = time.time()
        count, oldest = store().recent(self.bucket, client[:CLIENT_MAX], now - self.window_s)
        retry = self.window_s - (now - oldest) if oldest is not None else 0.0
        return count, max(retry, 0.1)

    def add(self, client: str) -> None:
        store().record(self.bucket, client[:CLIENT_MAX], time.time(), self.window_s)

    def clear(self) -> None:
        """Forget this process's connections (tests call it when settings change).

        The counts themselves live in the database or Redis and go with them.
        """
        _redis_store.cache_clear()
        _forget_clean()


failed_auth = SlidingWindow("auth", 60.0)
auth_checks = SlidingWindow("check", 2.0)
# Failed personal sign-ins (services/people.py): per client over a minute (the key limit's
# number), and per account over 15 minutes.
login_clients = SlidingWindow("login-client", 60.0)
login_accounts = SlidingWindow("login-account", 15 * 60.0)


def login_limit() -> int:
    return int(get_settings().auth_fail_limit)


TOO_MANY = "Too many failed API-key attempts; wait and try again"


def check_credential(
    client: str, credential: str, verify: Callable[[str], T], *, guessable: bool
) -> T:
    """``verify(credential)`` under the failed-key throttle of ``client``.

    Raises :class:`RateLimited` when the client has had ``AERIE_AUTH_FAIL_LIMIT`` failures in the
    last minute, else whatever ``verify`` raises (a failure, :class:`InvalidApiKey`, is counted).
    A ``guessable`` credential meets the throttle before ``verify`` runs; an unguessable one only
    after it failed, so a valid one is accepted whatever others at the same address did (see the
    module docstring for why this leaks nothing).
    """
    limit = get_settings().auth_fail_limit
    if guessable and not _recently_clean(client):
        failures, retry = failed_auth.count(client)
        if failures >= limit:
            raise RateLimited(TOO_MANY, retry)
        if failures == 0:
            _mark_clean(client)
    try:
        return verify(credential)
    except InvalidApiKey:
        _forget_clean(client)
        if not guessable:
            failures, retry = failed_auth.count(client)
            if failures >= limit:
                raise RateLimited(TOO_MANY, retry) from None
        failed_auth.add(client)
        raise


# Clients whose last look at the shared store showed no failure at all, for CLEAN_TTL_S: a script
# sending a hand-chosen key then pays the store read once a second, not on every request. A
# failure here forgets the client at once; one counted by another worker is seen here within
# CLEAN_TTL_S, which lets a guesser at most one extra try per worker per second past the limit.
CLEAN_TTL_S = 1.0
_clean: dict[str, float] = {}
_clean_lock = threading.Lock()


def _recently_clean(client: str) -> bool:
    with _clean_lock:
        seen = _clean.get(client)
    return seen is not None and time.monotonic() - seen < CLEAN_TTL_S


def _mark_clean(client: str) -> None:
    with _clean_lock:
        if len(_clean) > 4096:
            _clean.clear()
        _clean[client] = time.monotonic()


def _forget_clean(client: str | None = None) -> None:
    with _clean_lock:
        if client is None:
            _clean.clear()
        else:
            _clean.pop(client, None)


def verify_key(session: Session, raw: str, client: str) -> keys.Principal:
    """:func:`keys.verify_key` for ``client``, throttled (API and UI sign-in)."""
    return check_credential(
        client,
        raw,
        lambda value: keys.verify_key(session, value),
        guessable=not keys.looks_generated(raw),
    )


def resolve_session(session: Session, token: str, client: str) -> keys.Principal:
    """:func:`keys.resolve_session` for ``client``, throttled (session tokens are unguessable)."""
    return check_credential(
        client, token, lambda value: keys.resolve_session(session, value), guessable=False
    )


# Client addresses -------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _parse_ip(text: str) -> IPAddress | None:
    """An address from a peer or ``X-Forwarded-For`` entry (``[v6]:port`` and ``v4:port`` too)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _key(ip: IPAddress) -> str:
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def client_address(peer: str | None, forwarded_for: str | None = None) -> str:
    """Whom failed attempts are counted against: the client as far as trusted proxies tell.

    ``peer`` is the TCP peer's address; ``forwarded_for`` the request's ``X-Forwarded-For``
    (repeated headers joined with commas). The header is believed only when the peer is one of
    ``AERIE_TRUSTED_PROXIES``; it is then walked from the right, skipping trusted proxies, and the
    first other entry is the client (left of it, the client could have written anything). When
    every entry is a trusted proxy, the leftmost is the client. The standardised ``Forwarded``
    header is ignored on purpose: reading two headers would let a client forge whichever one the
    proxy does not set; nginx, Caddy, Traefik and HAProxy all maintain ``X-Forwarded-For``.
    """
    peer_ip = _parse_ip(peer) if peer else None
    if peer_ip is None:
        return (peer or "unknown")[:CLIENT_MAX]
    trusted = _networks(tuple(get_settings().trusted_proxies))
    if not forwarded_for or not any(peer_ip in net for net in trusted):
        return _key(peer_ip)
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        ip = _parse_ip(hop)
        if ip is None:
            return hop[:CLIENT_MAX]  # what a trusted proxy wrote, though not an address
        if not any(ip in net for net in trusted):
            return _key(ip)
    first = _parse_ip(hops[0]) if hops else None
    return _key(first or peer_ip)
