"""Recipients (warning points and exporters), their subscriptions, and the YAML file that declares them.

A subscription matches a notice when every criterion it sets matches (criteria left empty are ignored);
inside one criterion any listed value is enough. A warning point without explicit subscriptions gets one
on the clusters it serves.

File format (``tbtwatch recipients import FILE.yaml``)::

    version: 1
    recipients:
      - id: wp-yiwu-toys                 # stable key: re-importing the file updates this recipient
        type: warning_point              # or exporter
        name: 义乌市玩具出口预警点
        organisation: 义乌市商务局
        addresses: [warning@yiwu.example.cn, duty@yiwu.example.cn]
        clusters: [toys]                 # clusters served (warning points)
        language: zh                     # zh (default) or en
        frequency: daily                 # immediate, daily (default) or weekly
        quiet_hours: "22:00-07:00"       # Asia/Shanghai; nothing is sent inside the window
        webhooks:
          - platform: dingtalk           # dingtalk, wecom or feishu
            url_env: TBTWATCH_WEBHOOK_YIWU   # the robot URL (holds an access token): from the environment
            secret_env: TBTWATCH_WEBHOOK_YIWU_SECRET
        subscriptions:
          - name: 欧美玩具
            hs_prefixes: ["9503"]
            keywords: [玩具, toys]
            members: [EU, USA]
            kinds: [tbt]
            min_risk: medium
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from alerts.errors import RecipientError
from tbtwatch import members as wto_members
from tbtwatch.models import Kind, Risk


class RecipientType(StrEnum):
    """A provincial warning point (an organisation serving clusters) or an exporter (a company contact)."""

    WARNING_POINT = "warning_point"
    EXPORTER = "exporter"


class Frequency(StrEnum):
    """How often a recipient gets a digest."""

    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"


class Language(StrEnum):
    """Language of the digest's labels (notice texts are always shown as published)."""

    ZH = "zh"
    EN = "en"


RISK_LEVEL: dict[str, int] = {Risk.LOW.value: 1, Risk.MEDIUM.value: 2, Risk.HIGH.value: 3}

_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def normalise_address(value: str) -> str:
    """A validated, lower-cased e-mail address; raise ValueError saying what is wrong."""
    addr = value.strip() if isinstance(value, str) else ""
    if not addr:
        raise ValueError("an address is empty")
    if _CONTROL.search(addr) or any(ch.isspace() for ch in addr):
        raise ValueError(f"{value!r} contains spaces or control characters")
    if addr.count("@") != 1:
        raise ValueError(f"{value!r} is not an e-mail address (it needs exactly one '@')")
    local, domain = addr.split("@")
    if not local or len(local) > 64 or not _LOCAL_PART.match(local):
        raise ValueError(f"{value!r} has an invalid part before '@'")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(f"{value!r} has an invalid domain ({exc})") from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} has an invalid domain {domain!r}")
    if not (labels[-1].isalpha() or labels[-1].startswith("xn--")):
        raise ValueError(f"{value!r} has an invalid top-level domain {labels[-1]!r}")
    out = f"{local.lower()}@{ascii_domain}"
    if len(out) > 254:
        raise ValueError(f"{value!r} is longer than 254 characters")
    return out


def normalise_keyword(value: str) -> str:
    """Keyword as matched: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _clean_text(value: str, what: str, max_len: int) -> str:
    text = " ".join(value.split())
    if _CONTROL.search(text):
        raise ValueError(f"{what} contains control characters")
    if len(text) > max_len:
        raise ValueError(f"{what} is longer than {max_len} characters")
    return text


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Subscription(_Model):
    """What a recipient wants: every criterion set must match; any value inside a criterion is enough."""

    name: str = Field(default="", max_length=200, description="label shown in the digest")
    clusters: tuple[str, ...] = Field(default=(), description="cluster ids from config/clusters.yaml")
    hs_prefixes: tuple[str, ...] = Field(default=(), description="HS code prefixes, 2 to 6 digits")
    keywords: tuple[str, ...] = Field(default=(), description="words or phrases, Chinese or English")
    members: tuple[str, ...] = Field(default=(), description="notifying WTO members (codes or names)")
    kinds: tuple[Kind, ...] = Field(default=(), description="tbt, sps, news")
    min_risk: Risk | None = Field(default=None, description="lowest risk grade that matches")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _clean_text(v, "the subscription name", 200)

    @field_validator("clusters")
    @classmethod
    def _clusters(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = [c.strip() for c in v]
        if any(not c for c in out):
            raise ValueError("a cluster id is empty")
        return tuple(dict.fromkeys(out))

    @field_validator("hs_prefixes", mode="before")
    @classmethod
    def _hs(cls, v: Any) -> Any:
        if isinstance(v, str | int):
            v = [v]
        out = []
        for raw in v or ():
            code = re.sub(r"[\s.]", "", str(raw))
            if not (code.isdigit() and 2 <= len(code) <= 6):
                raise ValueError(f"HS prefix {raw!r} must be 2 to 6 digits (for example 9503 or 950300)")
            out.append(code)
        return tuple(dict.fromkeys(out))

    @field_validator("keywords", mode="before")
    @classmethod
    def _keywords(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        out = []
        for raw in v or ():
            kw = " ".join(str(raw).split())
            if len(kw) < 2 or len(kw) > 100:
                raise ValueError(f"keyword {raw!r} must be 2 to 100 characters")
            if _CONTROL.search(kw):
                raise ValueError(f"keyword {raw!r} contains control characters")
            out.append(kw)
        return tuple(dict.fromkeys(out))

    @field_validator("members", mode="before")
    @classmethod
    def _members(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        out = []
        for raw in v or ():
            code = wto_members.resolve(str(raw))
            if code is None:
                raise ValueError(f"{raw!r} is not a WTO member code or name (use codes such as EU, USA, JPN)")
            out.append(code)
        return tuple(dict.fromkeys(out))

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        return tuple(dict.fromkeys(str(k).strip().lower() for k in v or ()))

    @model_validator(mode="after")
    def _some_criterion(self) -> Subscription:
        if not self.criteria():
            raise ValueError(
                "a subscription needs at least one criterion "
                "(clusters, hs_prefixes, keywords, members, kinds or min_risk)"
            )
        return self

    def criteria(self) -> dict[str, Any]:
        """The criteria this subscription sets, JSON-ready."""
        out: dict[str, Any] = {}
        for key in ("clusters", "hs_prefixes", "keywords", "members"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.kinds:
            out["kinds"] = [k.value for k in self.kinds]
        if self.min_risk is not None:
            out["min_risk"] = self.min_risk.value
        return out


class Webhook(_Model):
    """A group-chat robot; its URL (it embeds an access token) and signing secret come from the environment.

    ``url`` may be given literally for robots whose URL is not secret (and for tests on 127.0.0.1).
    """

    platform: Literal["dingtalk", "wecom", "feishu"]
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip()
        local = re.match(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/", v)
        if not (v.startswith("https://") or local) or _CONTROL.search(v) or " " in v:
            raise ValueError(f"webhook url {v[:40]!r}... must be an https:// URL")
        return v

    @field_validator("url_env", "secret_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.match(v):
            raise ValueError(f"{v!r} is not an environment variable name (use upper case, digits and _)")
        return v

    @model_validator(mode="after")
    def _one_url(self) -> Webhook:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("a webhook needs exactly one of url or url_env")
        return self

    @property
    def target(self) -> str:
        """What the outbox stores as the address: the URL, or ``env:NAME`` resolved at send time."""
        return self.url if self.url is not None else f"env:{self.url_env}"


class Recipient(_Model):
    """A warning point or an exporter: where digests go, in which language, how often."""

    key: str = Field(alias="id", min_length=1, max_length=100, pattern=r"^[\w.@+-]+$")
    type: RecipientType
    name: str = Field(min_length=1, max_length=200)
    organisation: str = Field("", max_length=200)
    addresses: tuple[str, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    clusters: tuple[str, ...] = ()
    language: Language = Language.ZH
    frequency: Frequency = Frequency.DAILY
    quiet_hours: str = ""
    subscriptions: tuple[Subscription, ...] = ()

    @field_validator("name", "organisation")
    @classmethod
    def _text(cls, v: str) -> str:
        return _clean_text(v, "the name", 200)

    @field_validator("addresses", mode="before")
    @classmethod
    def _addresses(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        out: list[str] = []
        for raw in v or ():
            addr = normalise_address(str(raw))
            if addr in out:
                raise ValueError(f"address {addr} is listed twice")
            out.append(addr)
        return tuple(out)

    @field_validator("clusters")
    @classmethod
    def _clusters(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.strip() for c in v if c.strip()))

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        v = v.strip()
        if v and not _QUIET.match(v):
            raise ValueError(f"quiet_hours {v!r} must look like 22:00-07:00")
        return v

    @model_validator(mode="after")
    def _complete(self) -> Recipient:
        if not self.addresses and not self.webhooks:
            raise ValueError(f"recipient {self.key!r} needs at least one address or webhook")
        if not self.subscriptions:
            if not self.clusters:
                raise ValueError(
                    f"recipient {self.key!r} has no subscriptions: give 'subscriptions', or 'clusters' for a "
                    "warning point"
                )
            # A warning point follows everything touching the clusters it serves.
            object.__setattr__(self, "subscriptions", (Subscription(name="", clusters=self.clusters),))
        return self

    def definition(self) -> dict[str, Any]:
        """Canonical JSON-ready form (what the definition hash covers)."""
        return self.model_dump(mode="json", by_alias=True)

    def definition_hash(self) -> str:
        """SHA-256 of the canonical definition: an unchanged re-import is a no-op."""
        blob = json.dumps(self.definition(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def cluster_ids(self) -> set[str]:
        """Every cluster id this recipient names (served and subscribed)."""
        out = set(self.clusters)
        for sub in self.subscriptions:
            out.update(sub.clusters)
        return out


def quiet_window(spec: str) -> tuple[int, int] | None:
    """``"22:00-07:00"`` as (start, end) minutes of the day, or None when there is no window."""
    m = _QUIET.match(spec or "")
    if not m:
        return None
    return int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])


def in_quiet_hours(spec: str, minute_of_day: int) -> bool:
    """True when ``minute_of_day`` (local time) falls inside the window (which may wrap midnight)."""
    window = quiet_window(spec)
    if window is None:
        return False
    start, end = window
    if start == end:
        return False
    if start < end:
        return start <= minute_of_day < end
    return minute_of_day >= start or minute_of_day < end


def parse_recipients(
    data: Any, *, known_clusters: set[str] | None = None, where: str = "file"
) -> list[Recipient]:
    """Validate a parsed recipients document; raise :class:`RecipientError` listing every problem."""
    if not isinstance(data, dict) or not isinstance(data.get("recipients"), list):
        raise RecipientError(f"{where}: expected a mapping with a 'recipients' list")
    unknown = set(data) - {"version", "recipients"}
    if unknown:
        raise RecipientError(
            f"{where}: unknown top-level keys {sorted(unknown)}; use 'version' and 'recipients'"
        )
    problems: list[str] = []
    out: list[Recipient] = []
    seen_keys: dict[str, int] = {}
    seen_addresses: dict[str, str] = {}
    for i, raw in enumerate(data["recipients"]):
        place = f"{where}: recipients[{i}]"
        try:
            rec = Recipient.model_validate(raw)
        except PydanticValidationError as exc:
            problems.extend(_explain(exc, place))
            continue
        if rec.key in seen_keys:
            problems.append(f"{place}: id {rec.key!r} is used twice (also recipients[{seen_keys[rec.key]}])")
            continue
        seen_keys[rec.key] = i
        for addr in rec.addresses:
            if addr in seen_addresses:
                problems.append(
                    f"{place}: address {addr} already belongs to recipient {seen_addresses[addr]!r} "
                    "in this file"
                )
            seen_addresses.setdefault(addr, rec.key)
        if known_clusters is not None:
            problems.extend(f"{place}: {p}" for p in unknown_clusters(rec, known_clusters))
        out.append(rec)
    if problems:
        raise RecipientError("\n".join(problems))
    return out


def unknown_clusters(rec: Recipient, known: set[str]) -> list[str]:
    """Messages for cluster ids the recipient names that the cluster list does not know."""
    import difflib

    out = []
    for cid in sorted(rec.cluster_ids() - known):
        close = difflib.get_close_matches(cid, sorted(known), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see config/clusters.yaml)"
        out.append(f"unknown cluster id {cid!r}{hint}")
    return out


def load_recipients_file(path: Path, *, known_clusters: set[str] | None = None) -> list[Recipient]:
    """Read and validate a recipients YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecipientError(f"{path}: cannot read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise RecipientError(f"{path}: not valid YAML ({exc})") from exc
    return parse_recipients(data, known_clusters=known_clusters, where=str(path))


def _explain(exc: PydanticValidationError, place: str) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{place}{loc}: {msg}")
    return lines
