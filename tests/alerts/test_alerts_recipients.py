"""Recipients: the YAML file (idempotent import, validation with places), addresses, the CLI."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from alerts_testlib import FIXTURES, SIGNING_KEY, import_recipients, load_fixture_recipients, write_settings
from typer.testing import CliRunner

from alerts.errors import RecipientError
from alerts.recipients import in_quiet_hours, normalise_address, parse_recipients
from alerts.repository import AlertsRepository
from tbtwatch.cli import app
from tbtwatch.store import Store


def test_import_is_idempotent_and_updates_by_id(repo: AlertsRepository) -> None:
    assert import_recipients(repo) == {"created": 5, "updated": 0, "unchanged": 0}
    version = repo.subscriptions_version()
    assert import_recipients(repo) == {"created": 0, "updated": 0, "unchanged": 5}
    assert repo.subscriptions_version() == version, "an unchanged import must not invalidate the match index"

    data = load_fixture_recipients()
    data["recipients"][2]["subscriptions"][0]["hs_prefixes"] = ["8415", "841861"]
    assert import_recipients(repo, data) == {"created": 0, "updated": 1, "unchanged": 4}
    cixi = repo.get_recipient("exp-cixi-aircon")
    assert cixi is not None
    assert cixi.subscriptions[0].hs_prefixes == ("8415", "841861")
    assert cixi.subscriptions[0].members == ("USA",), "member names resolve to WTO codes"
    assert repo.subscriptions_version() > version


def test_warning_point_without_subscriptions_follows_its_clusters(repo: AlertsRepository) -> None:
    import_recipients(repo)
    yiwu = repo.get_recipient("wp-yiwu-toys")
    assert yiwu is not None
    assert [s.clusters for s in yiwu.subscriptions] == [("toys", "yiwu_small_commodities")]
    assert [a.address for a in yiwu.addresses] == ["warning@yiwu.example.cn", "duty@yiwu.example.cn"]


def test_reimport_keeps_unsubscribed_state_and_token_nonce(repo: AlertsRepository) -> None:
    import datetime as dt

    import_recipients(repo)
    before = repo.get_recipient("wp-yiwu-toys")
    assert before is not None
    repo.unsubscribe_address(before.addresses[1].id, dt.datetime.now(dt.UTC))
    data = load_fixture_recipients()
    data["recipients"][0]["name"] = "义乌市玩具出口预警点（新）"
    assert import_recipients(repo, data)["updated"] == 1
    after = repo.get_recipient("wp-yiwu-toys")
    assert after is not None
    assert after.addresses[1].unsubscribed_at is not None, "a re-import must not resubscribe anyone"
    assert [a.token_nonce for a in after.addresses] == [a.token_nonce for a in before.addresses]


def test_resubscribing_an_address_undoes_only_its_unsubscribe(repo: AlertsRepository) -> None:
    import datetime as dt

    import_recipients(repo)
    yiwu = repo.get_recipient("wp-yiwu-toys")
    assert yiwu is not None
    first, second = yiwu.addresses[0].id, yiwu.addresses[1].id
    assert repo.resubscribe_address(second) is False, "receiving already"
    repo.unsubscribe_address(first, dt.datetime.now(dt.UTC))
    repo.unsubscribe_address(second, dt.datetime.now(dt.UTC))
    assert repo.resubscribe_address(second) is True
    after = repo.get_recipient("wp-yiwu-toys")
    assert after is not None
    assert [a.active for a in after.addresses] == [False, True], "only that address receives again"
    assert [a.token_nonce for a in after.addresses] == [a.token_nonce for a in yiwu.addresses], (
        "links still work"
    )
    assert [a.address for a in after.active_addresses] == ["duty@yiwu.example.cn"]
    assert repo.resubscribe_address(second) is False
    assert repo.resubscribe_address(10**9) is False, "an unknown address changes nothing"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("no-at-sign.example.cn", "exactly one '@'"),
        ("a@@example.cn", "exactly one '@'"),
        ("a b@example.cn", "spaces or control"),
        ("a@example.cn\r\nBcc: x@evil.example", "spaces or control"),
        ("a@localhost", "invalid domain"),
        ("a@-bad-.example.cn", "invalid domain"),
        ("a@example.123", "top-level domain"),
        (".a@example.cn", "before '@'"),
        ("", "empty"),
    ],
)
def test_bad_addresses_are_refused(address: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalise_address(address)


def test_good_addresses_are_normalised() -> None:
    assert normalise_address("  Zhang.Wei+tbt@Example.CN ") == "zhang.wei+tbt@example.cn"
    assert normalise_address("info@浙江.中国") == "info@xn--9swtu.xn--fiqs8s"


def _problems(data: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(RecipientError) as err:
        parse_recipients(data, where="r.yaml", **kw)
    return str(err.value)


def test_file_errors_name_the_place_and_the_fix() -> None:
    data = load_fixture_recipients()
    bad = copy.deepcopy(data)
    bad["recipients"][0]["addresses"] = ["warning@yiwu.example.cn", "not-an-address"]
    bad["recipients"][2]["subscriptions"][0]["hs_prefixes"] = ["84151234"]
    bad["recipients"][3]["subscriptions"][0]["members"] = ["Atlantis"]
    bad["recipients"][4]["frequency"] = "hourly"
    bad["recipients"][1]["colour"] = "blue"
    text = _problems(bad)
    assert "r.yaml: recipients[0].addresses" in text and "not-an-address" in text
    assert "recipients[2].subscriptions[0].hs_prefixes" in text and "2 to 6 digits" in text
    assert "'Atlantis' is not a WTO member" in text
    assert "recipients[4].frequency" in text
    assert "recipients[1].colour: unknown key" in text


def test_duplicates_are_refused_clearly() -> None:
    data = load_fixture_recipients()
    dup_addr = copy.deepcopy(data)
    dup_addr["recipients"][3]["addresses"] = ["zhang.wei@cixi-aircon.example.cn"]
    assert (
        "address zhang.wei@cixi-aircon.example.cn already belongs to recipient 'exp-cixi-aircon'"
        in _problems(dup_addr)
    )
    dup_key = copy.deepcopy(data)
    dup_key["recipients"][4]["id"] = "exp-feed"
    assert "id 'exp-feed' is used twice" in _problems(dup_key)
    twice = copy.deepcopy(data)
    twice["recipients"][0]["addresses"] = ["a@example.cn", "A@Example.cn"]
    assert "address a@example.cn is listed twice" in _problems(twice)


def test_address_owned_by_another_recipient_in_the_store_is_refused(repo: AlertsRepository) -> None:
    import_recipients(repo)
    data = {
        "recipients": [
            {
                "id": "newcomer",
                "type": "exporter",
                "name": "x",
                "addresses": ["li.na@feed.example.cn"],
                "subscriptions": [{"kinds": ["sps"]}],
            }
        ]
    }
    with pytest.raises(RecipientError, match="already belongs to recipient 'exp-feed'"):
        repo.import_recipients(parse_recipients(data))
    assert repo.get_recipient("newcomer") is None, "nothing is written when the import is refused"


def test_unknown_cluster_gets_a_suggestion() -> None:
    data = {
        "recipients": [
            {
                "id": "wp",
                "type": "warning_point",
                "name": "x",
                "addresses": ["a@example.cn"],
                "clusters": ["toy"],
            }
        ]
    }
    assert "unknown cluster id 'toy' (did you mean toys" in _problems(data, known_clusters={"toys", "tea"})


def test_a_subscription_needs_a_criterion_and_a_recipient_needs_a_channel() -> None:
    empty_sub = {
        "recipients": [
            {
                "id": "e",
                "type": "exporter",
                "name": "x",
                "addresses": ["a@example.cn"],
                "subscriptions": [{"name": "nothing"}],
            }
        ]
    }
    assert "needs at least one criterion" in _problems(empty_sub)
    no_channel = {
        "recipients": [{"id": "e", "type": "exporter", "name": "x", "subscriptions": [{"kinds": ["tbt"]}]}]
    }
    assert "needs at least one address or webhook" in _problems(no_channel)
    exporter_without = {
        "recipients": [{"id": "e", "type": "exporter", "name": "x", "addresses": ["a@example.cn"]}]
    }
    assert "has no subscriptions" in _problems(exporter_without)


def test_webhook_secrets_come_from_the_environment() -> None:
    base = {"id": "w", "type": "warning_point", "name": "x", "clusters": ["toys"]}
    literal_http = {
        "recipients": [{**base, "webhooks": [{"platform": "dingtalk", "url": "http://oapi.example.cn/x"}]}]
    }
    assert "must be an https:// URL" in _problems(literal_http)
    both = {
        "recipients": [
            {**base, "webhooks": [{"platform": "wecom", "url": "https://a.example.cn/x", "url_env": "X"}]}
        ]
    }
    assert "exactly one of url or url_env" in _problems(both)
    ok = parse_recipients(
        {
            "recipients": [
                {
                    **base,
                    "webhooks": [
                        {
                            "platform": "feishu",
                            "url_env": "TBTWATCH_HOOK",
                            "secret_env": "TBTWATCH_HOOK_SECRET",
                        }
                    ],
                }
            ]
        }
    )
    assert ok[0].webhooks[0].target == "env:TBTWATCH_HOOK"


@pytest.mark.parametrize(
    ("spec", "minute", "quiet"),
    [
        ("22:00-07:00", 23 * 60, True),
        ("22:00-07:00", 6 * 60 + 59, True),
        ("22:00-07:00", 7 * 60, False),
        ("12:00-13:30", 12 * 60 + 30, True),
        ("12:00-13:30", 14 * 60, False),
        ("", 0, False),
    ],
)
def test_quiet_hours_wrap_midnight(spec: str, minute: int, quiet: bool) -> None:
    assert in_quiet_hours(spec, minute) is quiet


def test_bad_quiet_hours_are_refused() -> None:
    data = {
        "recipients": [
            {
                "id": "e",
                "type": "exporter",
                "name": "x",
                "addresses": ["a@example.cn"],
                "quiet_hours": "10pm-7am",
                "subscriptions": [{"kinds": ["tbt"]}],
            }
        ]
    }
    assert "must look like 22:00-07:00" in _problems(data)


# -- the CLI -------------------------------------------------------------------------------------------------
def _cli(home: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--home", str(home), *args], env={"TBTWATCH_SIGNING_KEY": SIGNING_KEY})
    result.text = " ".join(result.output.split())  # rich wraps long lines at the terminal width
    return result


def test_cli_import_add_list_remove(home: Path) -> None:
    write_settings(home, {})
    first = _cli(home, "recipients", "import", str(FIXTURES / "recipients.yaml"), "--json")
    assert first.exit_code == 0, first.output
    assert '"created": 5' in first.output
    again = _cli(home, "recipients", "import", str(FIXTURES / "recipients.yaml"))
    assert "created 0, updated 0, unchanged 5" in again.text

    added = _cli(
        home,
        "recipients",
        "add",
        "--id",
        "exp-toys",
        "--name",
        "王芳",
        "--email",
        "wang@toys.example.cn",
        "--hs",
        "9503",
        "--member",
        "EU",
        "--min-risk",
        "high",
        "--frequency",
        "immediate",
    )
    assert added.exit_code == 0, added.output
    dup = _cli(
        home,
        "recipients",
        "add",
        "--id",
        "exp-toys2",
        "--name",
        "x",
        "--email",
        "WANG@toys.example.cn",
        "--kind",
        "tbt",
    )
    assert dup.exit_code == 1
    assert "already belongs to recipient 'exp-toys'" in dup.text
    bad = _cli(home, "recipients", "add", "--id", "x", "--name", "x", "--email", "nope", "--kind", "tbt")
    assert bad.exit_code == 1 and "is not an e-mail address" in bad.text
    unknown = _cli(
        home, "recipients", "add", "--id", "x", "--name", "x", "--email", "x@example.cn", "--cluster", "toy"
    )
    assert unknown.exit_code == 1 and "did you mean toys" in unknown.text

    listed = _cli(home, "recipients", "list", "--json")
    rows = yaml.safe_load(listed.output)
    toys = next(r for r in rows if r["id"] == "exp-toys")
    assert toys["subscriptions"] == [{"hs_prefixes": ["9503"], "members": ["EU"], "min_risk": "high"}]
    assert toys["frequency"] == "immediate"
    assert _cli(home, "recipients", "list").exit_code == 0

    assert _cli(home, "recipients", "remove", "exp-toys").exit_code == 0
    assert _cli(home, "recipients", "remove", "exp-toys").exit_code == 1


def test_cli_resubscribe_an_unsubscribed_address(home: Path) -> None:
    write_settings(home, {})
    assert _cli(home, "recipients", "import", str(FIXTURES / "recipients.yaml")).exit_code == 0
    store = Store.open(home / "tbtwatch.sqlite3")
    try:
        repo = AlertsRepository(store)
        rec = repo.get_recipient("wp-yiwu-toys")
        assert rec is not None
        addr = rec.addresses[1]
        assert repo.unsubscribe_address(addr.id, datetime(2025, 6, 12, tzinfo=UTC))
    finally:
        store.close()
    not_yet = _cli(home, "recipients", "resubscribe", "wp-yiwu-toys", "warning@yiwu.example.cn")
    assert not_yet.exit_code == 0 and "was not unsubscribed" in not_yet.text
    done = _cli(home, "recipients", "resubscribe", "wp-yiwu-toys", addr.address.upper())
    assert done.exit_code == 0 and f"{addr.address} (wp-yiwu-toys) subscribed again" in done.text
    rows = yaml.safe_load(_cli(home, "recipients", "list", "--json").output)
    yiwu = next(r for r in rows if r["id"] == "wp-yiwu-toys")
    assert all(a["unsubscribed_at"] is None for a in yiwu["addresses"])
    unknown = _cli(home, "recipients", "resubscribe", "wp-yiwu-toys", "nobody@example.cn")
    assert unknown.exit_code == 1 and "has no address 'nobody@example.cn'" in unknown.text
    missing = _cli(home, "recipients", "resubscribe", "no-such", "x@example.cn")
    assert missing.exit_code == 1 and "no recipient 'no-such'" in missing.text


def test_cli_import_reports_file_errors(home: Path, tmp_path: Path) -> None:
    write_settings(home, {})
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "recipients": [
                    {
                        "id": "x",
                        "type": "exporter",
                        "name": "x",
                        "addresses": ["x@"],
                        "subscriptions": [{"kinds": ["tbt"]}],
                    }
                ]
            }
        )
    )
    result = _cli(home, "recipients", "import", str(bad))
    assert result.exit_code == 1
    assert "recipients[0].addresses" in result.text
    broken = tmp_path / "broken.yaml"
    broken.write_text("recipients: [unclosed")
    assert "not valid YAML" in _cli(home, "recipients", "import", str(broken)).text
