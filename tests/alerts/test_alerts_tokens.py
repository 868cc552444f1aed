"""Unsubscribe tokens: signed, without expiry, revocable; forged ones refused; the development key."""

from __future__ import annotations

import logging
import stat
from collections.abc import Callable

import pytest
from alerts_testlib import SIGNING_KEY, import_recipients

from alerts.errors import TokenError
from alerts.repository import AlertsRepository
from alerts.tokens import DEV_KEY_FILE, TokenSigner, revoke, signing_key, unsubscribe
from tbtwatch.settings import Settings
from tbtwatch.store import Store


def _token(settings: Settings, repo: AlertsRepository, key: str = "wp-yiwu-toys", index: int = 0) -> str:
    rec = repo.get_recipient(key)
    assert rec is not None
    addr = rec.addresses[index]
    return TokenSigner(signing_key(settings)).make(addr.id, addr.token_nonce)


def test_unsubscribe_is_idempotent_and_touches_one_address(
    settings: Settings, store: Store, repo: AlertsRepository
) -> None:
    import_recipients(repo)
    token = _token(settings, repo, index=1)
    first = unsubscribe(store, settings, token)
    assert (first.recipient, first.address, first.changed) == ("wp-yiwu-toys", "duty@yiwu.example.cn", True)
    assert unsubscribe(store, settings, token).changed is False, "a second click is harmless"
    rec = repo.get_recipient("wp-yiwu-toys")
    assert rec is not None
    assert [a.address for a in rec.active_addresses] == ["warning@yiwu.example.cn"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "1" + t,  # another address id under the same signature
        lambda t: t.split(".")[0] + ".0000000000000000." + t.split(".")[2],  # another nonce
        lambda t: t + "x",
        lambda t: "",
        lambda t: "../../etc/passwd",
    ],
)
def test_forged_or_malformed_tokens_are_refused(
    settings: Settings, store: Store, repo: AlertsRepository, mangle: Callable[[str], str]
) -> None:
    import_recipients(repo)
    with pytest.raises(TokenError):
        unsubscribe(store, settings, mangle(_token(settings, repo)))
    assert all(a.active for a in repo.list_recipients()[0].addresses)


def test_token_from_another_key_is_refused(settings: Settings, store: Store, repo: AlertsRepository) -> None:
    import_recipients(repo)
    rec = repo.get_recipient("wp-yiwu-toys")
    assert rec is not None
    other = TokenSigner(b"another-installation-key-000000").make(
        rec.addresses[0].id, rec.addresses[0].token_nonce
    )
    with pytest.raises(TokenError, match="signature does not match"):
        unsubscribe(store, settings, other)


def test_revoked_token_stops_working_and_the_address_gets_a_new_one(
    settings: Settings, store: Store, repo: AlertsRepository
) -> None:
    import_recipients(repo)
    old = _token(settings, repo)
    revoke(store, settings, old, reason="link posted on a public forum")
    with pytest.raises(TokenError, match="revoked"):
        unsubscribe(store, settings, old)
    new = _token(settings, repo)
    assert new != old
    assert unsubscribe(store, settings, new).changed
    with pytest.raises(TokenError, match="revoked"):
        revoke(store, settings, old)


def test_tokens_do_not_expire(settings: Settings, store: Store, repo: AlertsRepository) -> None:
    import datetime as dt

    import_recipients(repo)
    token = _token(settings, repo)
    assert unsubscribe(store, settings, token, now=dt.datetime(2040, 1, 1, tzinfo=dt.UTC)).changed


def test_development_key_is_generated_once_with_a_warning(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    s = make_settings(TBTWATCH_SIGNING_KEY=None)
    with caplog.at_level(logging.WARNING, logger="alerts.tokens"):
        key = signing_key(s)
    assert "TBTWATCH_SIGNING_KEY is not set" in caplog.text
    path = s.home / DEV_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing_key(s) == key and len(key) == 64
    assert signing_key(make_settings()) == SIGNING_KEY.encode(), "the environment wins over the file"
    assert key.decode() not in caplog.text, "the key itself is never logged"


def test_short_keys_are_refused() -> None:
    with pytest.raises(TokenError, match="too short"):
        TokenSigner(b"short")
