"""Settings: a home directory, an optional ``tbtwatch.toml`` in it, environment overrides and secrets.

Resolution, later wins: built-in defaults, ``$TBTWATCH_HOME/tbtwatch.toml``, environment variables
``TBTWATCH_<SECTION>__<KEY>`` (for example ``TBTWATCH_SMTP__HOST=relay.example.org``). Secrets are read
only from the environment (``TBTWATCH_SMTP_PASSWORD`` and the others in :data:`SECRET_ENV`); a secret
written in the file stops start-up.

>>> s = load_settings()            # doctest: +SKIP
>>> s.store_path                    # doctest: +SKIP
PosixPath('/root/.local/share/tbtwatch/tbtwatch.sqlite3')
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic import ValidationError as PydanticValidationError

from tbtwatch.errors import ConfigError

SETTINGS_FILE = "tbtwatch.toml"
REPO_ROOT = Path(__file__).resolve().parents[1]

#: Secret name -> environment variable. Never read from files, never logged or rendered.
SECRET_ENV: dict[str, str] = {
    "smtp_password": "TBTWATCH_SMTP_PASSWORD",
    "es_api_key": "TBTWATCH_ES_API_KEY",
    "es_password": "TBTWATCH_ES_PASSWORD",
    "admin_token": "TBTWATCH_ADMIN_TOKEN",
    "signing_key": "TBTWATCH_SIGNING_KEY",
    "eping_api_key": "TBTWATCH_EPING_API_KEY",
}
_SECRET_WORDS = ("password", "api_key", "apikey", "token", "secret", "signing_key")
#: Shorter environment names kept for convenience (documented in the README).
ENV_ALIASES: dict[str, tuple[str, str]] = {"TBTWATCH_ES_URL": ("index", "es_url")}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class GeneralSettings(_Section):
    """Where things are and how the service logs."""

    timezone: str = Field("Asia/Shanghai", description="zone for schedules and displayed times")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="logging level")
    config_dir: str = Field(
        "", description="folder with sources.yaml and clusters.yaml (default: bundled config/)"
    )


class CrawlSettings(_Section):
    """Politeness and limits for crawls."""

    contact_url: str = Field(
        "https://github.com/zhejiang-tbt/tbtwatch", description="contact URL written into the User-Agent"
    )
    run_timeout_seconds: int = Field(1800, gt=0, description="a crawl subprocess is killed after this long")
    stop_grace_seconds: float = Field(
        30.0, gt=0, description="a crawl being stopped gets this long to record its run before it is killed"
    )
    download_timeout_seconds: int = Field(30, gt=0, description="per-request timeout")
    max_response_bytes: int = Field(15 * 1024 * 1024, gt=0, description="larger responses are dropped")
    min_delay_seconds: float = Field(2.0, ge=0, description="floor between requests to one government site")
    http_cache: bool = Field(False, description="Scrapy HTTP cache, for development only")


class ClassifierSettings(_Section):
    """Where the trained model lives and the thresholds of labels and risk."""

    min_score: float = Field(0.35, ge=0, le=1, description="lowest cluster score kept as a label")
    model_min_score: float = Field(0.5, ge=0, le=1, description="lowest model probability used as evidence")
    high_risk: float = Field(
        0.7, ge=0, le=1, description="risk score at or above which a notice is high risk"
    )
    medium_risk: float = Field(
        0.4, ge=0, le=1, description="risk score at or above which a notice is medium risk"
    )


class IndexSettings(_Section):
    """Search backend: embedded tantivy (default) or Elasticsearch."""

    backend: Literal["embedded", "elasticsearch"] = Field("embedded", description="search backend")
    es_url: str = Field("", description="Elasticsearch URL, e.g. https://es.example.org:9200")
    es_index: str = Field("tbtwatch", description="alias the notices index is reached by")
    es_username: str = Field("", description="basic-auth user (password from TBTWATCH_ES_PASSWORD)")
    es_verify_certs: bool = Field(True, description="verify the cluster's TLS certificate")
    es_ca_certs: str = Field("", description="CA bundle for the cluster's certificate")
    es_cjk_analyzer: Literal["cjk", "smartcn", "ik"] = Field("cjk", description="analyzer for Chinese text")


class AlertsSettings(_Section):
    """Digests, reminders and links in messages."""

    base_url: str = Field("http://127.0.0.1:8000", description="public URL of the web app, used in links")
    from_address: str = Field("tbtwatch@localhost", description="From: address of digests")
    operator_email: str = Field("", description="where source-health alarms go")
    reminder_days: list[int] = Field(
        default_factory=lambda: [7], description="days before a comment deadline"
    )
    digest_full_items: int = Field(
        40,
        gt=0,
        description="notices shown in full in one digest (the most urgent); the others are listed one line each",
    )
    max_attempts: int = Field(10, gt=0, description="delivery attempts before a message is marked failed")
    retry_base_seconds: float = Field(
        60.0, gt=0, description="first retry delay, doubled per attempt (max 6 h)"
    )


class SmtpSettings(_Section):
    """SMTP relay; when ``host`` is empty, messages go to the maildir in the home directory."""

    host: str = Field("", description="relay host; empty means local maildir")
    port: int = Field(587, gt=0, lt=65536, description="relay port")
    security: Literal["starttls", "tls", "none"] = Field("starttls", description="transport security")
    username: str = Field("", description="login user (password from TBTWATCH_SMTP_PASSWORD)")
    timeout_seconds: float = Field(30.0, gt=0, description="per-connection timeout")
    max_concurrency: int = Field(4, gt=0, description="parallel SMTP connections")
    rate_per_second: float = Field(10.0, gt=0, description="messages per second at most")
    ca_certs: str = Field("", description="CA bundle to verify the relay's certificate (default: system CAs)")


class WebSettings(_Section):
    """The web app's listening address."""

    host: str = Field("127.0.0.1", description="bind address")
    port: int = Field(8000, gt=0, lt=65536, description="bind port")
    max_body_bytes: int = Field(1024 * 1024, gt=0, description="larger request bodies are refused (413)")
    export_limit: int = Field(10000, gt=0, description="most rows in one CSV/XLSX export")


class SchedulerSettings(_Section):
    """When digests and maintenance jobs run (Asia/Shanghai)."""

    immediate_every_minutes: int = Field(5, gt=0, description="how often immediate digests go out")
    daily_at: str = Field("08:30", pattern=r"^\d{2}:\d{2}$", description="daily digest time")
    weekly_on: str = Field("mon", pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$", description="weekly digest day")
    reminders_at: str = Field("09:00", pattern=r"^\d{2}:\d{2}$", description="daily deadline-reminder time")
    retrain_on: str = Field(
        "sun", pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$", description="weekly classifier retraining day"
    )
    retrain_at: str = Field("03:00", pattern=r"^\d{2}:\d{2}$", description="weekly retraining time")
    health_every_minutes: int = Field(15, gt=0, description="how often source health is checked")
    failures_before_alarm: int = Field(
        3, gt=0, description="failed runs in a row that raise an operator alarm"
    )
    job_timeout_seconds: int = Field(
        3600, gt=0, description="a digest/retrain job is abandoned after this long"
    )
    shutdown_grace_seconds: int = Field(30, gt=0, description="time given to running jobs on SIGTERM/SIGINT")
    max_parallel_crawls: int = Field(
        3, gt=0, description="crawl subprocesses running at once (each takes about 250 MB)"
    )


class FileSettings(_Section):
    """The shape of ``tbtwatch.toml``: one table per section."""

    general: GeneralSettings = GeneralSettings()
    crawl: CrawlSettings = CrawlSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    index: IndexSettings = IndexSettings()
    alerts: AlertsSettings = AlertsSettings()
    smtp: SmtpSettings = SmtpSettings()
    web: WebSettings = WebSettings()
    scheduler: SchedulerSettings = SchedulerSettings()


class Secrets(BaseModel):
    """Secrets from the environment; ``repr`` and ``str`` mask them."""

    model_config = ConfigDict(frozen=True)

    smtp_password: SecretStr | None = None
    es_api_key: SecretStr | None = None
    es_password: SecretStr | None = None
    admin_token: SecretStr | None = None
    signing_key: SecretStr | None = None
    eping_api_key: SecretStr | None = None


class Settings:
    """Resolved settings: the home directory, file settings and secrets."""

    def __init__(self, home: Path, file: FileSettings, secrets: Secrets, source: Path | None) -> None:
        self.home = home
        self.file = file
        self.secrets = secrets
        self.source = source

    def __getattr__(self, section: str) -> Any:
        # settings.smtp.host rather than settings.file.smtp.host
        return getattr(self.file, section)

    @property
    def store_path(self) -> Path:
        """The SQLite store."""
        return self.home / "tbtwatch.sqlite3"

    @property
    def index_dir(self) -> Path:
        """The embedded search index."""
        return self.home / "index"

    @property
    def maildir(self) -> Path:
        """Local mail delivery when no SMTP relay is configured."""
        return self.home / "maildir"

    @property
    def models_dir(self) -> Path:
        """Trained classifier artifacts."""
        return self.home / "models"

    @property
    def config_dir(self) -> Path:
        """Folder with ``sources.yaml`` and ``clusters.yaml``."""
        configured = os.environ.get("TBTWATCH_CONFIG_DIR") or self.file.general.config_dir
        return Path(configured) if configured else REPO_ROOT / "config"


def default_home() -> Path:
    """``$TBTWATCH_HOME``, else the user's data directory."""
    env = os.environ.get("TBTWATCH_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("tbtwatch", appauthor=False))


def load_settings(home: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read and validate settings; raise :class:`ConfigError` naming the file, the key and the fix."""
    env = dict(os.environ if environ is None else environ)
    home = (
        Path(home) if home else (Path(env["TBTWATCH_HOME"]) if env.get("TBTWATCH_HOME") else default_home())
    )
    path = home / SETTINGS_FILE
    raw: dict[str, Any] = {}
    source: Path | None = None
    if path.exists():
        source = path
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax.") from exc
        _reject_secrets(raw, str(path))
    _apply_env(raw, env)
    try:
        file = FileSettings.model_validate(raw)
    except PydanticValidationError as exc:
        raise ConfigError(_explain(exc, str(path) if source else "environment")) from exc
    secrets = Secrets(**{name: SecretStr(env[var]) for name, var in SECRET_ENV.items() if env.get(var)})
    return Settings(home, file, secrets, source)


def _reject_secrets(raw: dict[str, Any], where: str) -> None:
    for section, table in raw.items():
        if not isinstance(table, dict):
            continue
        for key in table:
            if any(word in key.lower() for word in _SECRET_WORDS):
                var = next((v for k, v in SECRET_ENV.items() if key.lower() in k), "the TBTWATCH_* variable")
                raise ConfigError(
                    f"{where}: key '{section}.{key}' looks like a secret; secrets are never read from files. "
                    f"Fix: remove it from the file and set {var} in the environment."
                )


def _apply_env(raw: dict[str, Any], env: dict[str, str]) -> None:
    sections = FileSettings.model_fields
    for var, value in env.items():
        if var in ENV_ALIASES:
            section, key = ENV_ALIASES[var]
        elif var.startswith("TBTWATCH_") and "__" in var:
            section, _, key = var[len("TBTWATCH_") :].lower().partition("__")
        else:
            continue
        if section not in sections:
            raise ConfigError(
                f"environment: {var} names unknown section '{section}'. "
                f"Fix: use one of {', '.join(sorted(sections))}."
            )
        model = sections[section].annotation
        fields = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
        if key not in fields:
            raise ConfigError(
                f"environment: {var} names unknown key '{section}.{key}'. Fix: use one of {', '.join(sorted(fields))}."
            )
        raw.setdefault(section, {})[key] = _coerce_env(value, fields[key].annotation, var)


def _coerce_env(value: str, annotation: Any, var: str) -> Any:
    try:
        if annotation is bool:
            if value.lower() in {"1", "true", "yes", "on"}:
                return True
            if value.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected true or false")
        if annotation is int:
            return int(value)
        if annotation is float:
            return float(value)
        if annotation == list[int]:
            return [int(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise ConfigError(
            f"environment: {var}={value!r} is not valid ({exc}). Fix: give a {annotation}."
        ) from exc
    return value


def _explain(exc: PydanticValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        section = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            known = _known_keys(section) if len(err["loc"]) > 1 else sorted(FileSettings.model_fields)
            lines.append(f"{where}: unknown key '{key}'. Fix: remove it, or use one of: {', '.join(known)}.")
        else:
            lines.append(
                f"{where}: key '{key}' is invalid ({err['msg']}; got {err.get('input')!r}). "
                f"Fix: {_field_help(err['loc'])}"
            )
    return "\n".join(lines)


def _known_keys(section: str) -> list[str]:
    field = FileSettings.model_fields.get(section)
    model = field.annotation if field else None
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(model.model_fields)
    return sorted(FileSettings.model_fields)


def _field_help(loc: tuple[Any, ...]) -> str:
    if len(loc) < 2:
        return "make it a table."
    field = FileSettings.model_fields.get(str(loc[0]))
    model = field.annotation if field else None
    if isinstance(model, type) and issubclass(model, BaseModel) and str(loc[1]) in model.model_fields:
        info = model.model_fields[str(loc[1])]
        return f"give {info.description or 'a valid value'} as {_type_name(info.annotation)} (default {info.default!r})."
    return "correct the value."


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", str(annotation))


def documented_settings() -> list[tuple[str, Any, str]]:
    """Every file setting as (``section.key``, default, help), for the README and its test."""
    out = []
    for section, field in FileSettings.model_fields.items():
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for key, info in model.model_fields.items():
            default = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
            out.append((f"{section}.{key}", default, info.description or ""))
    return out
