"""Self-service subscriptions through signed links, one-click unsubscribe (RFC 8058), CSRF, the admin token."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from web_testlib import ADMIN_TOKEN, SIGNING_KEY, csrf_of, get_form_token, recipient, token_for

from alerts.recipients import Frequency
from alerts.repository import AlertsRepository
from alerts.service import build_digests
from alerts.tokens import revoke, unsubscribe_url
from tbtwatch.settings import Settings, load_settings
from tbtwatch.store import Store


def test_manage_page_through_a_signed_link(client: httpx.Client, web_settings: Settings) -> None:
    token = token_for(web_settings, "export@cixi-heater.example.cn")
    r = client.get(f"/subscriptions/{token}")
    assert r.status_code == 200
    assert "慈溪电暖器出口企业" in r.text and "8516" in r.text and "电暖器" in r.text
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "token",
    ["nonsense", "1.0123456789abcdef." + "A" * 43, "<script>alert(1)</script>", "1.0123456789abcdef"],
)
def test_forged_or_malformed_links_are_refused(client: httpx.Client, token: str) -> None:
    for path in (f"/subscriptions/{token}", f"/unsubscribe/{token}"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert ("链接无效" in r.text or "找不到" in r.text) and "<script>alert" not in r.text


def test_add_change_and_delete_subscriptions(client: httpx.Client, web_settings: Settings) -> None:
    token = token_for(web_settings, "export@cixi-heater.example.cn")
    csrf = get_form_token(client, f"/subscriptions/{token}")
    r = client.post(
        f"/subscriptions/{token}/add",
        data={
            "csrf_token": csrf,
            "name": "玩具<script>alert(1)</script>",
            "keywords": "玩具，toys",
            "hs_prefixes": "9503, 9504",
            "members": "EU, USA",
            "clusters": "toys",
            "kinds": ["tbt", "sps"],
            "min_risk": "medium",
        },
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=1")
    subs = recipient(web_settings, "exporter-heaters")["subscriptions"]
    assert isinstance(subs, list) and len(subs) == 2
    added = subs[1]
    assert added["keywords"] == ["玩具", "toys"] and added["hs_prefixes"] == ["9503", "9504"]
    assert (
        added["members"] == ["EU", "USA"] and added["clusters"] == ["toys"] and added["min_risk"] == "medium"
    )
    page = client.get(r.headers["location"])
    assert "已保存" in page.text and "&lt;script&gt;" in page.text and "<script>alert" not in page.text

    r = client.post(
        f"/subscriptions/{token}/settings", data={"csrf_token": csrf, "frequency": "weekly", "language": "en"}
    )
    assert r.status_code == 303
    rec = recipient(web_settings, "exporter-heaters")
    assert rec["frequency"] == "weekly" and rec["language"] == "en"

    r = client.post(f"/subscriptions/{token}/delete", data={"csrf_token": csrf, "position": "1"})
    assert r.status_code == 303
    subs = recipient(web_settings, "exporter-heaters")["subscriptions"]
    assert isinstance(subs, list) and len(subs) == 1 and subs[0]["hs_prefixes"] == ["8516"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"hs_prefixes": "95a3"}, "HS prefix"),
        ({"members": "Atlantis"}, "WTO member"),
        ({"clusters": "no_such_cluster"}, "unknown cluster"),
        ({"name": "only a name"}, "at least one criterion"),
        ({"keywords": "x"}, "2 to 100 characters"),
        ({"keywords": "a\r\nBcc: evil@example.org"}, ""),
    ],
)
def test_bad_subscriptions_are_refused_with_the_reason(
    client: httpx.Client, web_settings: Settings, data: dict[str, str], reason: str
) -> None:
    token = token_for(web_settings, "export@cixi-heater.example.cn")
    before = recipient(web_settings, "exporter-heaters")
    csrf = get_form_token(client, f"/subscriptions/{token}")
    r = client.post(f"/subscriptions/{token}/add", data={"csrf_token": csrf, **data})
    if r.status_code == 303:  # CRLF inside a keyword is folded into spaces: stored as plain text
        subs = recipient(web_settings, "exporter-heaters")["subscriptions"]
        assert isinstance(subs, list) and "\r" not in str(subs) and "\n" not in str(subs)
        client.post(
            f"/subscriptions/{token}/delete", data={"csrf_token": csrf, "position": str(len(subs) - 1)}
        )
        return
    assert r.status_code == 400
    assert reason in r.text
    assert recipient(web_settings, "exporter-heaters") == before


def test_posts_without_a_valid_csrf_token_are_refused(client: httpx.Client, web_settings: Settings) -> None:
    token = token_for(web_settings, "export@cixi-heater.example.cn")
    before = recipient(web_settings, "exporter-heaters")
    client.get(f"/subscriptions/{token}")  # has the cookie, but posts no or a wrong token
    for data in ({"keywords": "玩具"}, {"keywords": "玩具", "csrf_token": "0" * 64}):
        r = client.post(f"/subscriptions/{token}/add", data=data)
        assert r.status_code == 403 and "表单已过期" in r.text
    with httpx.Client(base_url=str(client.base_url)) as other:  # a token of another session
        stolen = get_form_token(other, f"/subscriptions/{token}")
    r = client.post(f"/subscriptions/{token}/add", data={"keywords": "玩具", "csrf_token": stolen})
    assert r.status_code == 403
    assert recipient(web_settings, "exporter-heaters") == before


def test_list_unsubscribe_url_of_the_digests_is_served(client: httpx.Client, web_settings: Settings) -> None:
    token = token_for(web_settings, "toys-warning@yiwu.example.cn")
    url = unsubscribe_url(web_settings.alerts.base_url, token)
    r = client.get(urlsplit(url).path)
    assert r.status_code == 200 and 'id="unsubscribe-button"' in r.text


def test_get_never_unsubscribes_but_one_click_post_does(client: httpx.Client, web_settings: Settings) -> None:
    token = token_for(web_settings, "oneclick@test.example.cn")
    for _ in range(3):
        assert client.get(f"/unsubscribe/{token}").status_code == 200
    assert recipient(web_settings, "exporter-oneclick")["addresses"] == [
        {"address": "oneclick@test.example.cn", "unsubscribed_at": None}
    ]
    # RFC 8058: a mail client POSTs this body, with no cookie and no CSRF token
    with httpx.Client(base_url=str(client.base_url)) as mail_client:
        r = mail_client.post(
            f"/unsubscribe/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code == 200
    addresses = recipient(web_settings, "exporter-oneclick")["addresses"]
    assert isinstance(addresses, list) and addresses[0]["unsubscribed_at"]
    again = client.get(f"/unsubscribe/{token}")
    assert "此前已退订" in again.text


def test_confirmation_form_unsubscribes_and_needs_csrf(client: httpx.Client, web_settings: Settings) -> None:
    token = token_for(web_settings, "form@test.example.cn")
    page = client.get(f"/unsubscribe/{token}")
    assert client.post(f"/unsubscribe/{token}", data={"confirm": "1"}).status_code == 403
    r = client.post(f"/unsubscribe/{token}", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "form@test.example.cn 已退订" in r.text
    addresses = recipient(web_settings, "exporter-form")["addresses"]
    assert isinstance(addresses, list) and addresses[0]["unsubscribed_at"]


def test_revoked_links_stop_working(client: httpx.Client, web_settings: Settings) -> None:
    token = token_for(web_settings, "toys-warning@yiwu.example.cn")
    with Store.open(web_settings.store_path) as store:
        revoke(store, web_settings, token, reason="leaked in a forwarded mail")
    assert client.get(f"/subscriptions/{token}").status_code == 404
    with httpx.Client(base_url=str(client.base_url)) as mail_client:
        r = mail_client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 404
    fresh = token_for(web_settings, "toys-warning@yiwu.example.cn")
    assert fresh != token and client.get(f"/subscriptions/{fresh}").status_code == 200


# -- admin -------------------------------------------------------------------------------------------------
def test_admin_api_needs_the_bearer_token(client: httpx.Client) -> None:
    assert client.get("/api/admin/recipients").status_code == 403
    wrong = client.get("/api/admin/recipients", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 403 and ADMIN_TOKEN not in wrong.text
    ok = client.get("/api/admin/recipients", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status_code == 200
    assert "wp-yiwu-toys" in {r["id"] for r in ok.json()["recipients"]}


def test_admin_api_adds_and_removes_recipients(client: httpx.Client) -> None:
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    doc = {
        "version": 1,
        "recipients": [
            {
                "id": "api-added",
                "type": "exporter",
                "name": "接口添加",
                "addresses": ["api@test.example.cn"],
                "subscriptions": [{"hs_prefixes": ["8516"]}],
            }
        ],
    }
    r = client.post("/api/admin/recipients", json=doc, headers=auth)
    assert r.status_code == 200 and r.json()["created"] == 1
    bad = client.post("/api/admin/recipients", json={"recipients": [{"id": "x"}]}, headers=auth)
    assert bad.status_code == 400 and "required" in bad.json()["detail"]
    assert client.delete("/api/admin/recipients/api-added", headers=auth).json() == {"removed": "api-added"}
    assert client.delete("/api/admin/recipients/api-added", headers=auth).status_code == 404


def test_admin_pages_sign_in_with_a_session_cookie(client: httpx.Client) -> None:
    assert client.get("/admin").status_code == 303
    csrf = get_form_token(client, "/admin/login")
    wrong = client.post("/admin/login", data={"csrf_token": csrf, "token": "guess"})
    assert wrong.status_code == 403 and "令牌不正确" in wrong.text
    r = client.post("/admin/login", data={"csrf_token": csrf, "token": ADMIN_TOKEN})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "tbtwatch_admin=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert ADMIN_TOKEN not in cookie
    page = client.get("/admin")
    assert page.status_code == 200 and "慈溪电暖器出口企业" in page.text and ADMIN_TOKEN not in page.text
    assert "/subscriptions/" in page.text  # self-service links to hand out

    yaml_text = (
        "version: 1\nrecipients:\n  - id: form-added\n    type: exporter\n    name: 表单添加\n"
        "    addresses: [added@test.example.cn]\n    subscriptions:\n      - keywords: [玩具]\n"
    )
    added = client.post("/admin/recipients", data={"csrf_token": csrf_of(page.text), "yaml": yaml_text})
    assert added.status_code == 200 and "created 1" in added.text and "表单添加" in added.text
    broken = client.post(
        "/admin/recipients", data={"csrf_token": csrf, "yaml": "recipients: [{id: <script>}]"}
    )
    assert broken.status_code == 400 and "<script>" not in broken.text
    removed = client.post("/admin/recipients/form-added/delete", data={"csrf_token": csrf})
    assert removed.status_code == 200 and "表单添加" not in removed.text.split('id="recipients"')[1]
    out = client.post("/admin/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert client.get("/admin").status_code == 303


def test_admin_posts_need_a_session(client: httpx.Client) -> None:
    csrf = get_form_token(client, "/admin/login")
    r = client.post("/admin/recipients/wp-yiwu-toys/delete", data={"csrf_token": csrf})
    assert r.status_code == 403
    client.cookies.set("tbtwatch_admin", "9999999999.deadbeef")
    forged = client.post("/admin/recipients/wp-yiwu-toys/delete", data={"csrf_token": csrf})
    assert forged.status_code == 403


# -- re-subscribing --------------------------------------------------------------------------------------
def _digest_addresses(settings: Settings, key: str, home: Path) -> list[str]:
    """The e-mail addresses an immediate digest run would queue for recipient ``key`` now, built on a copy of
    the store in ``home`` (the session's store keeps its pending alerts for the other tests)."""
    home.mkdir()
    copy = load_settings(home, environ={"TBTWATCH_SIGNING_KEY": SIGNING_KEY})
    with (
        closing(sqlite3.connect(settings.store_path)) as src,
        closing(sqlite3.connect(copy.store_path)) as dst,
    ):
        src.backup(dst)
    with Store.open(copy.store_path) as store:
        repo = AlertsRepository(store)
        rec = repo.get_recipient(key)
        assert rec is not None and rec.id in repo.recipients_with_pending(), (
            "the recipient has nothing to get"
        )
        build_digests(copy, store, frequency=Frequency.IMMEDIATE)
        rows = repo.outbox(limit=10_000)
    return sorted({r.address for r in rows if r.recipient_id == rec.id and r.channel == "email"})


def test_an_unsubscribed_address_subscribes_again_from_its_manage_page(
    client: httpx.Client, web_settings: Settings, tmp_path: Path
) -> None:
    address, key = "resubscribe@test.example.cn", "exporter-resubscribe"
    token = token_for(web_settings, address)
    page = client.get(f"/subscriptions/{token}")
    assert 'id="unsubscribe-link"' in page.text and 'id="resubscribe-button"' not in page.text
    assert _digest_addresses(web_settings, key, tmp_path / "subscribed") == [address]
    done = client.post(f"/unsubscribe/{token}", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and f'href="/subscriptions/{token}"' in done.text
    assert _digest_addresses(web_settings, key, tmp_path / "unsubscribed") == []

    page = client.get(f"/subscriptions/{token}")
    assert f"{address} 已退订，不再收到预警邮件" in page.text and "重新订阅" in page.text
    assert 'id="resubscribe-button"' in page.text and 'id="unsubscribe-link"' not in page.text
    with httpx.Client(base_url=str(client.base_url)) as english:
        shown = english.get(f"/subscriptions/{token}?lang=en")
        assert f"{address} is unsubscribed and receives no alert e-mails" in shown.text
        assert "Subscribe again" in shown.text

    # no form token, another session's, or a forged link: refused, nothing changes
    assert client.post(f"/subscriptions/{token}/resubscribe").status_code == 403
    with httpx.Client(base_url=str(client.base_url)) as other:
        stolen = get_form_token(other, f"/subscriptions/{token}")
    assert client.post(f"/subscriptions/{token}/resubscribe", data={"csrf_token": stolen}).status_code == 403
    forged = client.post(
        "/subscriptions/1.0123456789abcdef." + "A" * 43 + "/resubscribe",
        data={"csrf_token": csrf_of(page.text)},
    )
    assert forged.status_code == 404
    addresses = recipient(web_settings, key)["addresses"]
    assert isinstance(addresses, list) and addresses[0]["unsubscribed_at"]

    r = client.post(f"/subscriptions/{token}/resubscribe", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == f"/subscriptions/{token}?resubscribed=1"
    page = client.get(r.headers["location"])
    assert f"{address} 已重新订阅" in page.text
    assert 'id="unsubscribe-link"' in page.text and 'id="resubscribe-button"' not in page.text
    assert recipient(web_settings, key)["addresses"] == [{"address": address, "unsubscribed_at": None}]
    assert _digest_addresses(web_settings, key, tmp_path / "resubscribed") == [address]
    with httpx.Client(base_url=str(client.base_url)) as english:
        shown = english.get(f"/subscriptions/{token}?resubscribed=1&lang=en")
        assert f"{address} is subscribed again: the next alert e-mails go to this address" in shown.text

    # a second post (a double click) changes nothing
    again = client.post(f"/subscriptions/{token}/resubscribe", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 303
    assert recipient(web_settings, key)["addresses"] == [{"address": address, "unsubscribed_at": None}]
