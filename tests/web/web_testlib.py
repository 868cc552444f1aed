"""Helpers of the web tests (a module of its own: conftest names clash across packages)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import httpx
import yaml
from testutil import FIXTURES

from alerts.recipients import load_recipients_file
from alerts.repository import AlertsRepository
from alerts.tokens import TokenSigner
from tbtwatch.eping_workbook import open_workbook
from tbtwatch.ingest import Ingestor, default_stages
from tbtwatch.settings import Settings, load_settings
from tbtwatch.store import Store

WORKBOOK = FIXTURES / "eping" / "eping_export_2025-06.xlsx"
WEB_FIXTURES = FIXTURES / "web"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
SIGNING_KEY = "test-signing-key-0123456789abcdef0123"
#: Generated cases run per property test, printed in the terminal summary (``conftest.py``).
CASES: Counter[str] = Counter()
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def build_home(home: Path) -> Path:
    """Translations first (they may precede their notices), then the workbook through the ingest path."""
    home.mkdir(parents=True)
    settings = load_settings(home, environ={"TBTWATCH_SIGNING_KEY": SIGNING_KEY})
    with Store.open(settings.store_path) as store:
        AlertsRepository(store).import_recipients(load_recipients_file(WEB_FIXTURES / "recipients.yaml"))
        translations = yaml.safe_load((WEB_FIXTURES / "samr_translations.yaml").read_text(encoding="utf-8"))
        for notice_id, tr in translations.items():
            store.set_translation(
                notice_id, "zh", title=tr["title"], products=tr["products"], source="samr_daily"
            )
        with (
            open_workbook(WORKBOOK) as wb,
            Ingestor(store, source="eping_workbook", stages=default_stages(settings)) as ing,
        ):
            for item in wb.items(source="eping_workbook"):
                ing.add(item)
    return home


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in a page."""
    m = _CSRF.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def token_for(settings: Settings, address: str) -> str:
    """The signed token of an address (as digests carry it)."""
    with Store.open(settings.store_path) as store:
        for rec in AlertsRepository(store).list_recipients():
            for a in rec.addresses:
                if a.address == address:
                    return TokenSigner(SIGNING_KEY.encode()).make(a.id, a.token_nonce)
    raise AssertionError(f"no address {address}")


def recipient(settings: Settings, key: str) -> dict[str, object]:
    """A recipient as ``recipients list --json`` shows it."""
    with Store.open(settings.store_path) as store:
        found = AlertsRepository(store).get_recipient(key)
    assert found is not None
    return found.as_dict()


def get_form_token(client: httpx.Client, path: str) -> str:
    """GET a page (which sets the CSRF cookie) and return its form token."""
    r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    return csrf_of(r.text)
