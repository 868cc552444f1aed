"""Helpers of the alerts tests: notice, label and recipient builders, and a real SMTP server (aiosmtpd) on
127.0.0.1 that can refuse recipients, delay replies, require TLS and a login."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.message
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from alerts.recipients import parse_recipients
from alerts.repository import AlertsRepository
from alerts.stage import AlertsStage
from tbtwatch import symbols
from tbtwatch.ingest import Ingestor
from tbtwatch.models import ClusterLabel, Labels, Notice, Risk
from tbtwatch.settings import REPO_ROOT
from tbtwatch.store import Store

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "alerts"
SIGNING_KEY = "test-signing-key-0123456789abcdef"
#: 09:00 in Asia/Shanghai on Thursday 2025-06-12: after the daily digest time (08:30).
NOW = dt.datetime(2025, 6, 12, 1, 0, tzinfo=dt.UTC)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_settings(home: Path, sections: dict[str, dict[str, Any]]) -> None:
    """Write ``tbtwatch.toml`` (scalar and list values)."""
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    (home / "tbtwatch.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_notice(notice_id: str, **fields: Any) -> Notice:
    """A TBT/SPS notice with defaults (base id, kind, doc type and member derived from the symbol)."""
    sym = symbols.parse(notice_id)
    data: dict[str, Any] = {
        "id": str(sym),
        "base_id": sym.base_id,
        "kind": sym.kind,
        "doc_type": sym.doc_type,
        "member": sym.member,
        "title": f"Notification {notice_id}",
        "distributed_on": dt.date(2025, 6, 10),
        "comment_deadline": dt.date(2025, 8, 9),
        "source": "test",
    }
    data.update(fields)
    return Notice.model_validate(data)


def labels(notice_id: str, clusters: list[str], risk: Risk = Risk.MEDIUM) -> Labels:
    """Classifier-style labels for a notice (best cluster first)."""
    return Labels(
        notice_id=notice_id,
        clusters=[
            ClusterLabel(cluster_id=c, score=0.9 - i * 0.1, reasons=["test"]) for i, c in enumerate(clusters)
        ],
        risk=risk,
        risk_reasons=["test"],
    )


def load_fixture_recipients() -> dict[str, Any]:
    """The fixture recipients file, parsed."""
    data = yaml.safe_load((FIXTURES / "recipients.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def import_recipients(repo: AlertsRepository, data: dict[str, Any] | None = None) -> dict[str, int]:
    """Import the fixture recipients (or ``data``)."""
    return repo.import_recipients(parse_recipients(data if data is not None else load_fixture_recipients()))


def ingest(store: Store, notices: list[Notice], lab: list[Labels] | None = None) -> None:
    """Labels first (as the classifier stage writes them), then the one ingest path with the alerts stage."""
    if lab:
        store.save_labels(lab)
    for n in notices:
        # Chinese titles arrive separately (the SAMR digest) and are kept as translations
        if n.title_zh or n.products_zh:
            store.set_translation(n.id, "zh", title=n.title_zh, products=n.products_zh, source="samr_digest")
    with Ingestor(store, source="test", stages=[AlertsStage()]) as ing:
        ing.add_all(notices)


def exporter(key: str, address: str, **subscription: Any) -> dict[str, Any]:
    """A recipients-file entry for an exporter with one subscription."""
    return {
        "id": key,
        "type": "exporter",
        "name": key,
        "addresses": [address],
        "subscriptions": [subscription],
    }


def write_recipients(path: Path, recipients: list[dict[str, Any]]) -> None:
    """A recipients file (what ``tbtwatch recipients import`` reads) holding these entries."""
    text = yaml.safe_dump({"recipients": recipients}, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")


# -- a real SMTP server ------------------------------------------------------------------------------------
@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        """The parsed message."""
        msg = email.message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        return msg


@dataclass
class Handler:
    """aiosmtpd handler: records messages; refuses recipients (scripted or always); can slow DATA down."""

    received: list[Received] = field(default_factory=list)
    #: address -> replies given at RCPT, one per attempt; once used up, the address is accepted
    scripted: dict[str, list[str]] = field(default_factory=dict)
    #: address -> reply given at every RCPT
    refuse: dict[str, str] = field(default_factory=dict)
    data_delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """Refuse or accept one recipient."""
        if address in self.refuse:
            return self.refuse[address]
        replies = self.scripted.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        """Record the message."""
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        content = envelope.original_content or b""
        with self.lock:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content)))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        """Message-IDs of everything received, in order (duplicates kept)."""
        with self.lock:
            return [str(r.message["Message-ID"]) for r in self.received]

    def count(self) -> int:
        """Number of messages received."""
        with self.lock:
            return len(self.received)


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1."""

    def __init__(self, handler: Handler, port: int, **kwargs: Any) -> None:
        self.handler = handler
        self.port = port
        self.controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        self.running = False

    def start(self) -> SmtpServer:
        """Start listening."""
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        """Stop listening (idempotent)."""
        if self.running:
            self.running = False
            self.controller.stop()


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """TLS context for the test server."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def make_certificate(folder: Path) -> Certificate:
    """Generate a self-signed EC certificate valid for 127.0.0.1 and localhost."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Certificate(folder / "cert.pem", folder / "key.pem")


def authenticator(user: str, password: str) -> Any:
    """An aiosmtpd authenticator that accepts one login."""

    def check(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == user.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check
