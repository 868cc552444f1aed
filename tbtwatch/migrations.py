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
]
