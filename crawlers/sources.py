"""``config/sources.yaml``: every source, its spider, schedule, expected cadence, base URL and options.

The file is validated as a whole when it is loaded: an unknown key, a wrong type, an unknown spider, a bad
cron expression or an option the spider does not take stops start-up with a :class:`SourcesError` that names
the file, the key and the fix (DESIGN.md invariant 6).

>>> sources = load_sources()                       # doctest: +SKIP
>>> sources["eping_api"].schedule.describe()       # doctest: +SKIP
'cron 15 */4 * * * (Asia/Shanghai)'
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from crawlers.errors import SourcesError

SOURCES_FILE = "sources.yaml"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``6h``, ``2d`` or ``1w`` as a timedelta; ValueError otherwise."""
    m = _DURATION.match(str(text))
    if not m or int(m[1]) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 6h, 2d or 1w")
    return timedelta(**{_UNITS[m[2]]: int(m[1])})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    """When a source runs: exactly one of ``interval`` (``6h``) or ``cron`` (five crontab fields)."""

    interval: str | None = Field(None, description="fixed interval such as 30m, 6h, 1d")
    cron: str | None = Field(None, description="crontab expression: minute hour day month day-of-week")
    timezone: str = Field("Asia/Shanghai", description="zone the schedule is read in")

    @field_validator("interval")
    @classmethod
    def _check_interval(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)") from exc
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("give exactly one of 'interval' (e.g. 6h) or 'cron' (e.g. '15 */4 * * *')")
        if self.cron is not None:
            # APScheduler is what runs the schedule, so its parser is the judge of a valid expression.
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(self.cron, timezone=self.timezone)
            except ValueError as exc:
                raise ValueError(f"cron {self.cron!r} is not valid: {exc}") from exc
        return self

    @property
    def every(self) -> timedelta | None:
        """The interval as a timedelta (None for cron schedules)."""
        return parse_duration(self.interval) if self.interval else None

    def describe(self) -> str:
        """One line for listings: ``every 6h (Asia/Shanghai)`` or ``cron 15 */4 * * * (Asia/Shanghai)``."""
        what = f"every {self.interval}" if self.interval else f"cron {self.cron}"
        return f"{what} ({self.timezone})"


class Source(_Strict):
    """One crawled source."""

    name: str = Field(description="the key in sources.yaml; the name runs are recorded under")
    spider: str = Field(description="spider that crawls it (crawlers/spiders/<spider>.py)")
    description: str = Field("", description="what the source is, for operators")
    enabled: bool = Field(True, description="false keeps the entry but the scheduler skips it")
    schedule: Schedule
    expected_cadence: str = Field(
        description="new items are expected at least this often; the source-health check raises an alarm "
        "when no run has found anything new for longer, or when runs keep failing"
    )
    base_url: str = Field(
        "",
        description="scheme and host of the live site (--base-url gives a mirror); default: the spider's",
    )
    run_timeout: str | None = Field(
        None,
        description="a run of this source is stopped after this long, such as 20m or 2h "
        "(default: crawl.run_timeout_seconds)",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="spider options, see the spider docstring"
    )

    def listing(self) -> dict[str, Any]:
        """The configured columns every source listing shows (``sources`` and ``sources status``)."""
        return {
            "source": self.name,
            "spider": self.spider,
            "enabled": self.enabled,
            "schedule": self.schedule.describe(),
            "expected_cadence": self.expected_cadence,
        }

    @field_validator("expected_cadence")
    @classmethod
    def _check_cadence(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("run_timeout")
    @classmethod
    def _check_timeout(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        if v:
            check_base_url(v)
        return v.rstrip("/")

    @property
    def cadence(self) -> timedelta:
        """:attr:`expected_cadence` as a timedelta."""
        return parse_duration(self.expected_cadence)

    def timeout_seconds(self, default: float) -> float:
        """Seconds a run may take: :attr:`run_timeout`, else ``default`` (``crawl.run_timeout_seconds``)."""
        return parse_duration(self.run_timeout).total_seconds() if self.run_timeout else float(default)


class SourcesFile(_Strict):
    """The shape of ``sources.yaml``."""

    version: Literal[1] = Field(description="format version of this file")
    sources: dict[str, dict[str, Any]] = Field(description="source name -> source entry")


def check_base_url(url: str) -> str:
    """Return ``url`` when it is an absolute http(s) URL without a query; raise ValueError otherwise."""
    parts = urlsplit(str(url))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http(s) URL such as https://www.wto.org")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r} must not have a query or fragment")
    return url


def default_path() -> Path:
    """``sources.yaml`` in the config folder (``general.config_dir`` or the bundled ``config/``)."""
    from tbtwatch.settings import load_settings

    return load_settings().config_dir / SOURCES_FILE


def load_sources(path: str | Path | None = None, *, check_options: bool = True) -> dict[str, Source]:
    """Read and validate ``sources.yaml``; with ``check_options`` each entry's options are checked
    against its spider's ``Options`` model too."""
    p = Path(path) if path is not None else default_path()
    if p.is_dir():
        p = p / SOURCES_FILE
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourcesError(
            f"{p}: no such file. Fix: create it (see config/sources.yaml in tbtwatch)."
        ) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{p}: not valid YAML ({exc}). Fix: correct the syntax.") from exc
    if not isinstance(raw, dict):
        raise SourcesError(
            f"{p}: expected a mapping with 'version' and 'sources'. Fix: see config/sources.yaml."
        )
    try:
        top = SourcesFile.model_validate(raw)
    except PydanticValidationError as exc:
        raise SourcesError(_explain(exc, p, (), SourcesFile)) from exc
    spiders = _spiders() if check_options else {}
    out: dict[str, Source] = {}
    problems: list[str] = []
    for name, entry in top.sources.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,40}", name):
            problems.append(
                f"{p}: source name 'sources.{name}' is not valid. Fix: use lower-case letters, digits and _."
            )
            continue
        if not isinstance(entry, dict):
            problems.append(f"{p}: 'sources.{name}' must be a mapping. Fix: give spider, schedule, ... keys.")
            continue
        try:
            source = Source.model_validate({**entry, "name": name})
        except PydanticValidationError as exc:
            problems.append(_explain(exc, p, ("sources", name), Source))
            continue
        if check_options:
            spider = spiders.get(source.spider)
            if spider is None:
                problems.append(
                    f"{p}: key 'sources.{name}.spider' names unknown spider {source.spider!r}. "
                    f"Fix: use one of: {', '.join(sorted(spiders))}."
                )
                continue
            try:
                spider.Options.model_validate(source.options)
            except PydanticValidationError as exc:
                problems.append(_explain(exc, p, ("sources", name, "options"), spider.Options))
                continue
        out[name] = source
    if problems:
        raise SourcesError("\n".join(problems))
    return out


def _spiders() -> dict[str, Any]:
    from crawlers.spiders import registry

    return registry()


def _explain(
    exc: PydanticValidationError, path: Path, prefix: tuple[str, ...], model: type[BaseModel]
) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join((*prefix, *loc))
        if err["type"] == "extra_forbidden":
            known = _known(model, loc[:-1])
            lines.append(f"{path}: unknown key '{key}'. Fix: remove it, or use one of: {', '.join(known)}.")
        elif err["type"] == "missing":
            lines.append(f"{path}: key '{key}' is missing. Fix: add it ({_describe(model, loc)}).")
        else:
            lines.append(
                f"{path}: key '{key}' is invalid ({err['msg']}; got {err.get('input')!r}). "
                f"Fix: give {_describe(model, loc)}."
            )
    return "\n".join(lines)


def _field_model(model: type[BaseModel], loc: tuple[str, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            # list index or dict key: stay on the item model when the annotation is list[Model]
            continue
        current = _inner_model(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", ())
    for arg in (annotation, *args):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return annotation


def _known(model: type[BaseModel], loc: tuple[str, ...]) -> list[str]:
    inner = _field_model(model, loc) if loc else model
    return sorted(inner.model_fields) if inner else []


def _describe(model: type[BaseModel], loc: tuple[str, ...]) -> str:
    parent = _field_model(model, loc[:-1]) if len(loc) > 1 else model
    if parent is None or not loc or loc[-1] not in parent.model_fields:
        return "a valid value"
    info = parent.model_fields[loc[-1]]
    return info.description or "a valid value"
