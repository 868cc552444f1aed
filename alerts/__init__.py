"""Alerts: recipients and subscriptions, matching, digests in Chinese, the outbox and its senders.

Modules, one per concept::

    recipients   Recipient / Subscription models, address validation, the YAML file format
    repository   every alert-specific SQL statement (takes a tbtwatch Store)
    matching     SubscriptionIndex: inverted indexes over subscription criteria
    stage        the ingest stage that records matched (recipient, notice) pairs
    clusters     Chinese / English cluster names for digests
    digest       which digests are due, and building them (grouping, sorting, escalation)
    reminders    comment-deadline reminders
    render       Jinja2 rendering of digests to e-mail (multipart/alternative) and webhook payloads
    tokens       signed, revocable one-click unsubscribe tokens
    outbox       the retry policy (exponential backoff with jitter)
    sender       the Sender interface and delivery failures
    maildir      MaildirSender (default when no SMTP relay is configured)
    smtp         SmtpSender (aiosmtplib: STARTTLS, implicit TLS, auth, timeouts)
    webhooks     DingTalk, WeCom and Feishu robots (signed where the platform signs)
    delivery     sending what the outbox holds, with a concurrency and a rate limit
    service      run_digests(): build, render, queue, send (the CLI and the scheduler call it)
    cli          ``tbtwatch recipients ...`` and ``tbtwatch digest ...``

Exceptions (all in :mod:`alerts.errors`)::

    TbtwatchError
    └── AlertsError                base of everything this package raises on purpose
        ├── RecipientError         a recipient file or command is invalid, or an address is taken
        ├── TokenError             an unsubscribe token is malformed, forged or revoked
        └── DeliveryError          a message could not be handed over (raised inside delivery)
            ├── TemporaryFailure   worth retrying later (4xx, connection refused, timeout)
            │   └── ConnectionFailure  the relay cannot be reached at all: stop this run's batch
            └── PermanentFailure   never retried (5xx); reported
"""

from alerts.errors import (
    AlertsError,
    ConnectionFailure,
    DeliveryError,
    PermanentFailure,
    RecipientError,
    TemporaryFailure,
    TokenError,
)

__all__ = [
    "AlertsError",
    "ConnectionFailure",
    "DeliveryError",
    "PermanentFailure",
    "RecipientError",
    "TemporaryFailure",
    "TokenError",
]
