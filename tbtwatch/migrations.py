"""Versioned schema of the SQLite store. Append a migration; never edit one that has shipped.

``PRAGMA user_version`` holds the number of the last migration applied.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "core tables: notices with versions, labels, translations, quarantine, source runs and state",
        """
        CREATE TABLE notices (
            id               TEXT PRIMARY KEY,
            base_id          TEXT NOT NULL,
            kind             TEXT NOT NULL,
            doc_type         TEXT NOT NULL,
            member           TEXT,
            distributed_on   TEXT,
            comment_deadline TEXT,
            source           TEXT NOT NULL,
            synthetic        INTEGER NOT NULL DEFAULT 0,
            content_hash     TEXT NOT NULL,
            version          INTEGER NOT NULL,
            first_seen       TEXT NOT NULL,
            updated_at       TEXT NOT NULL,
            data             TEXT NOT NULL
        );
        CREATE INDEX notices_base ON notices(base_id);
        CREATE INDEX notices_kind_date ON notices(kind, distributed_on);
        CREATE INDEX notices_member ON notices(member);
        CREATE INDEX notices_deadline ON notices(comment_deadline);
        CREATE INDEX notices_updated ON notices(updated_at);

        CREATE TABLE notice_versions (
            id           TEXT NOT NULL,
            version      INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            source       TEXT NOT NULL,
            fetched_at   TEXT NOT NULL,
            data         TEXT NOT NULL,
            PRIMARY KEY (id, version)
        );

        CREATE TABLE translations (
            notice_id  TEXT NOT NULL,
            lang       TEXT NOT NULL,
            title      TEXT,
            products   TEXT,
            source     TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (notice_id, lang)
        );

        CREATE TABLE labels (
            notice_id  TEXT NOT NULL,
            cluster_id TEXT NOT NULL,
            score      REAL NOT NULL,
            reasons    TEXT NOT NULL,
            PRIMARY KEY (notice_id, cluster_id)
        );
        CREATE INDEX labels_cluster ON labels(cluster_id);

        CREATE TABLE risk (
            notice_id     TEXT PRIMARY KEY,
            grade         TEXT NOT NULL,
            reasons       TEXT NOT NULL,
            model_version TEXT NOT NULL,
            labelled_at   TEXT NOT NULL
        );

        CREATE TABLE quarantine (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            source     TEXT NOT NULL,
            run_id     INTEGER,
            reason     TEXT NOT NULL,
            raw        TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX quarantine_source ON quarantine(source, created_at);

        CREATE TABLE source_runs (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            source      TEXT NOT NULL,
            started_at  TEXT NOT NULL,
            finished_at TEXT,
            status      TEXT NOT NULL DEFAULT 'running',
            items       INTEGER NOT NULL DEFAULT 0,
            new         INTEGER NOT NULL DEFAULT 0,
            changed     INTEGER NOT NULL DEFAULT 0,
            unchanged   INTEGER NOT NULL DEFAULT 0,
            quarantined INTEGER NOT NULL DEFAULT 0,
            errors      INTEGER NOT NULL DEFAULT 0,
            message     TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX source_runs_source ON source_runs(source, started_at);

        CREATE TABLE source_state (
            source     TEXT PRIMARY KEY,
            data       TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE stage_backlog (
            stage     TEXT NOT NULL,
            notice_id TEXT NOT NULL,
            error     TEXT NOT NULL,
            added_at  TEXT NOT NULL,
            PRIMARY KEY (stage, notice_id)
        );
        """,
    ),
    (
        2,
        "alerts: recipients, addresses, subscriptions, alerts, digests, outbox, reminders, revoked tokens",
        """
        CREATE TABLE recipients (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            key             TEXT NOT NULL UNIQUE,
            type            TEXT NOT NULL CHECK (type IN ('warning_point', 'exporter')),
            name            TEXT NOT NULL,
            organisation    TEXT NOT NULL DEFAULT '',
            clusters        TEXT NOT NULL DEFAULT '[]',
            language        TEXT NOT NULL DEFAULT 'zh',
            frequency       TEXT NOT NULL DEFAULT 'daily',
            quiet_hours     TEXT NOT NULL DEFAULT '',
            webhooks        TEXT NOT NULL DEFAULT '[]',
            active          INTEGER NOT NULL DEFAULT 1,
            definition_hash TEXT NOT NULL,
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );

        CREATE TABLE recipient_addresses (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            recipient_id    INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
            address         TEXT NOT NULL UNIQUE,
            position        INTEGER NOT NULL DEFAULT 0,
            token_nonce     TEXT NOT NULL,
            unsubscribed_at TEXT,
            created_at      TEXT NOT NULL
        );
        CREATE INDEX recipient_addresses_recipient ON recipient_addresses(recipient_id);

        CREATE TABLE subscriptions (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
            position     INTEGER NOT NULL DEFAULT 0,
            name         TEXT NOT NULL DEFAULT '',
            clusters     TEXT NOT NULL DEFAULT '[]',
            hs_prefixes  TEXT NOT NULL DEFAULT '[]',
            keywords     TEXT NOT NULL DEFAULT '[]',
            members      TEXT NOT NULL DEFAULT '[]',
            kinds        TEXT NOT NULL DEFAULT '[]',
            min_risk     TEXT,
            created_at   TEXT NOT NULL
        );
        CREATE INDEX subscriptions_recipient ON subscriptions(recipient_id);

        CREATE TABLE digests (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
            kind         TEXT NOT NULL,
            period       TEXT NOT NULL,
            items        INTEGER NOT NULL,
            created_at   TEXT NOT NULL,
            UNIQUE (recipient_id, kind, period)
        );

        CREATE TABLE alerts (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            recipient_id    INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
            notice_id       TEXT NOT NULL,
            base_id         TEXT NOT NULL,
            subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE SET NULL,
            reasons         TEXT NOT NULL,
            risk            TEXT,
            is_update       INTEGER NOT NULL DEFAULT 0,
            matched_at      TEXT NOT NULL,
            digest_id       INTEGER REFERENCES digests(id) ON DELETE SET NULL,
            UNIQUE (recipient_id, notice_id)
        );
        CREATE INDEX alerts_pending ON alerts(recipient_id, digest_id);
        CREATE INDEX alerts_base ON alerts(base_id);
        CREATE INDEX alerts_notice ON alerts(notice_id);
        CREATE INDEX alerts_digest ON alerts(digest_id);

        CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            digest_id       INTEGER REFERENCES digests(id) ON DELETE SET NULL,
            recipient_id    INTEGER NOT NULL,
            channel         TEXT NOT NULL,
            address         TEXT NOT NULL,
            secret_env      TEXT,
            message_id      TEXT NOT NULL,
            subject         TEXT NOT NULL,
            body            BLOB NOT NULL,
            status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error      TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            sent_at         TEXT,
            UNIQUE (message_id, channel, address)
        );
        CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
        CREATE INDEX outbox_recipient ON outbox(recipient_id, status);

        CREATE TABLE reminders_sent (
            recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
            notice_id    TEXT NOT NULL,
            days         INTEGER NOT NULL,
            digest_id    INTEGER REFERENCES digests(id) ON DELETE SET NULL,
            sent_at      TEXT NOT NULL,
            PRIMARY KEY (recipient_id, notice_id, days)
        );

        CREATE TABLE revoked_tokens (
            token_hash TEXT PRIMARY KEY,
            address_id INTEGER,
            reason     TEXT NOT NULL DEFAULT '',
            revoked_at TEXT NOT NULL
        );

        CREATE TABLE alerts_meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        INSERT INTO alerts_meta (key, value) VALUES ('subscriptions_version', '0');
        """,
    ),
    (
        3,
        "service: source health alarms (one open alarm per source, cleared when it recovers)",
        """
        CREATE TABLE source_health (
            source      TEXT PRIMARY KEY,
            state       TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'alarm')),
            reason      TEXT NOT NULL DEFAULT '',
            raised_at   TEXT,
            cleared_at  TEXT,
            alarms      INTEGER NOT NULL DEFAULT 0,
            updated_at  TEXT NOT NULL
        );
        """,
    ),
]
