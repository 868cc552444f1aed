"""The cluster taxonomy: ``config/clusters.yaml``, validated, hashed and cached by file stamp.

Every cluster has an ``id`` (stable: evaluation sets, subscriptions and the index use it), zh/en names, HS
match prefixes, ICS codes, English and Chinese keywords, negative keywords, products (English, Chinese and
``products_other``: French/Spanish names), places and risk themes. An optional top-level ``sectors`` mapping
gives the words of a measure that covers a whole sector (all food), which then concerns every cluster of that
sector (or, for an entry that lists ``members``, every cluster it lists: clothing in general concerns the
children's wear and socks makers too). An optional top-level ``companions`` list says when a label brings a
second one: a rule on vehicle components (``auto_parts``) in a passenger-car context concerns car makers too
(``nev_vehicles``); an entry may be limited to some kinds of item. An optional top-level ``components`` list
says when a cluster's products are parts of another's: a headlamp or a door lock in a motor-vehicle rule is an
auto part, not a lamp or a lock. An optional top-level ``instrument_names`` list gives the titles of laws and
lists whose words name no product ("Standards and Specifications for Foods and Food Additives" is the name of
Japan's food law, not a measure on food additives): keywords inside them are not matched. The loader rejects
unknown keys, duplicate ids and malformed HS/ICS codes with a message that names the file, the cluster id, the
key and the fix. The file is re-read when it changes on disk, so an edit takes effect without code changes
(and, for a running service, on the next batch).

>>> tax = load_taxonomy()                       # doctest: +SKIP
>>> tax.get("toys").name_zh                     # doctest: +SKIP
'玩具产业集群'
>>> cluster_name("toys", "en")                  # doctest: +SKIP
'Toys (wooden, plush, plastic, inflatable)'
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from classifier.errors import TaxonomyError
from tbtwatch.settings import REPO_ROOT, Settings

CLUSTERS_FILE = "clusters.yaml"

_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_HS = re.compile(r"^\d{2}(\d{2}){0,4}$")
_ICS = re.compile(r"^\d{2}(\.\d{3}(\.\d{2})?)?$")
_LIST_KEYS = (
    "hs_prefixes",
    "ics_codes",
    "keywords_en",
    "keywords_zh",
    "negative_keywords",
    "products_en",
    "products_zh",
    "products_other",
    "places_zh",
    "risk_themes",
)
_REQUIRED = ("id", "name_zh", "name_en", "sector")
_ALLOWED = frozenset((*_REQUIRED, *_LIST_KEYS))
_TOP_KEYS = frozenset({"version", "clusters", "sectors", "companions", "components", "instrument_names"})
_SECTOR_LISTS = ("keywords_en", "keywords_zh", "negative_keywords")
_SECTOR_KEYS = (*_SECTOR_LISTS, "subject_only", "broad", "members")
_COMPANION_KEYS = ("from", "to", "context", "factor", "kinds")
#: the kinds of item a companion may be limited to
_KINDS = ("tbt", "sps", "news")
_COMPONENT_KEYS = ("of", "parts", "context")


@dataclass(frozen=True, slots=True)
class Cluster:
    """One Zhejiang export industry cluster as configured."""

    id: str
    name_zh: str
    name_en: str
    sector: str
    hs_prefixes: tuple[str, ...] = ()
    ics_codes: tuple[str, ...] = ()
    keywords_en: tuple[str, ...] = ()
    keywords_zh: tuple[str, ...] = ()
    negative_keywords: tuple[str, ...] = ()
    products_en: tuple[str, ...] = ()
    products_zh: tuple[str, ...] = ()
    #: product names in French, Spanish and other Latin-script languages (matched like English ones)
    products_other: tuple[str, ...] = ()
    places_zh: tuple[str, ...] = ()
    risk_themes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClusterName:
    """The display names of a cluster (what alerts and the web app show)."""

    id: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Sector:
    """Words of a measure that covers a whole sector ("food establishments", "alimentos y bebidas"): such
    a measure concerns every cluster of the sector, unless a negative phrase names a product outside it."""

    id: str
    keywords_en: tuple[str, ...] = ()
    keywords_zh: tuple[str, ...] = ()
    negative_keywords: tuple[str, ...] = ()
    #: the words count only as the measure's subject: in the title, and not when the title
    #: names the product of one of the sector's clusters ("textile labelling standard for hosiery" is about
    #: hosiery), unless that cluster is one of ``broad``, whose products are the sector's generic names
    #: (clothing, fabrics)
    subject_only: bool = False
    broad: tuple[str, ...] = ()
    #: the clusters the words concern: the clusters of the sector, unless the entry lists others (a group
    #: across or inside sectors: a measure on clothing in general reaches children's wear and socks)
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Companion:
    """A label that brings another: when ``source`` is labelled and a ``context`` phrase occurs, ``target``
    is labelled too, at ``factor`` times the source's score (unless the target is negated), in items of the
    given ``kinds`` (all, when the entry names none)."""

    source: str
    target: str
    context: tuple[str, ...]
    factor: float = 0.9
    kinds: tuple[str, ...] = _KINDS


@dataclass(frozen=True, slots=True)
class Component:
    """Clusters whose products are parts of another's: when ``whole`` is labelled and a ``context`` phrase is
    in the title, the ``parts`` clusters are not (a headlamp in a motor-vehicle rule is an auto part, not a
    lamp)."""

    whole: str
    parts: tuple[str, ...]
    context: tuple[str, ...]


class Taxonomy:
    """The validated clusters, in file order, with a content hash for model artifacts."""

    def __init__(
        self,
        clusters: list[Cluster],
        source: str,
        version: int = 1,
        sectors: list[Sector] | None = None,
        companions: list[Companion] | None = None,
        instrument_names: tuple[str, ...] = (),
        components: list[Component] | None = None,
    ) -> None:
        self.clusters = clusters
        self.source = source
        self.version = version
        self.sectors = sectors or []
        self.companions = companions or []
        self.components = components or []
        self.instrument_names = instrument_names
        self.by_id = {c.id: c for c in clusters}
        self.ids = [c.id for c in clusters]
        content: list[Any] = [asdict(c) for c in clusters]
        if self.sectors:
            content.append({"sectors": [asdict(s) for s in self.sectors]})
        if self.companions:
            content.append({"companions": [asdict(c) for c in self.companions]})
        if self.instrument_names:
            content.append({"instrument_names": list(self.instrument_names)})
        if self.components:
            content.append({"components": [asdict(c) for c in self.components]})
        blob = json.dumps(content, ensure_ascii=False, sort_keys=True)
        #: SHA-256 of the clusters' content: a model trained on another taxonomy is not used.
        self.hash = hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def __len__(self) -> int:
        return len(self.clusters)

    def __contains__(self, cluster_id: object) -> bool:
        return cluster_id in self.by_id

    def get(self, cluster_id: str) -> Cluster:
        """The cluster with this id; :class:`TaxonomyError` when there is none."""
        try:
            return self.by_id[cluster_id]
        except KeyError:
            raise TaxonomyError(f"{self.source}: no cluster with id {cluster_id!r}") from None

    def names(self) -> dict[str, ClusterName]:
        """Display names of every cluster, keyed by id."""
        return {c.id: ClusterName(c.id, c.name_zh, c.name_en) for c in self.clusters}


def default_path(settings: Settings | None = None) -> Path:
    """``clusters.yaml`` in the configured config folder (the bundled ``config/`` by default)."""
    base = settings.config_dir if settings is not None else REPO_ROOT / "config"
    return base / CLUSTERS_FILE


def parse_taxonomy(data: Any, source: str) -> Taxonomy:
    """Validate parsed YAML and build a :class:`Taxonomy`; errors name the cluster id, the key and the fix."""
    if not isinstance(data, dict):
        raise TaxonomyError(f"{source}: expected a mapping with 'version' and 'clusters' at the top")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise TaxonomyError(
            f"{source}: unknown top-level key(s) {', '.join(map(repr, unknown))}. "
            f"Fix: remove them; allowed: {', '.join(sorted(_TOP_KEYS))}."
        )
    version = data.get("version", 1)
    if version != 1:
        raise TaxonomyError(f"{source}: version {version!r} is not supported. Fix: set 'version: 1'.")
    raw = data.get("clusters")
    if not isinstance(raw, list) or not raw:
        raise TaxonomyError(f"{source}: 'clusters' must be a non-empty list of cluster mappings")
    clusters: list[Cluster] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        where = f"{source}: cluster #{index + 1}"
        if not isinstance(item, dict):
            raise TaxonomyError(f"{where}: expected a mapping, got {type(item).__name__}")
        cid = item.get("id")
        if not isinstance(cid, str) or not _ID.match(cid):
            raise TaxonomyError(
                f"{where}: 'id' {cid!r} is missing or malformed. Fix: use lower-case letters, digits and '_'."
            )
        where = f"{source}: cluster '{cid}'"
        if cid in seen:
            raise TaxonomyError(
                f"{where}: duplicate id (also cluster #{seen[cid]}). Fix: ids must be unique."
            )
        seen[cid] = index + 1
        extra = sorted(set(item) - _ALLOWED)
        if extra:
            raise TaxonomyError(
                f"{where}: unknown key(s) {', '.join(map(repr, extra))}. "
                f"Fix: remove them or use one of: {', '.join(sorted(_ALLOWED))}."
            )
        for key in _REQUIRED[1:]:
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                raise TaxonomyError(f"{where}: '{key}' must be a non-empty string")
        lists = {key: _string_list(item.get(key), key, where) for key in _LIST_KEYS}
        for pos, code in enumerate(lists["hs_prefixes"]):
            if not _HS.match(code):
                raise TaxonomyError(
                    f"{where}: hs_prefixes[{pos}] {code!r} is not an HS prefix. "
                    "Fix: give 2, 4, 6, 8 or 10 digits as a quoted string, e.g. '9503'."
                )
        for pos, code in enumerate(lists["ics_codes"]):
            if not _ICS.match(code):
                raise TaxonomyError(
                    f"{where}: ics_codes[{pos}] {code!r} is not an ICS code. "
                    "Fix: write it like '97', '97.200' or '97.200.50' (quoted)."
                )
        if not (lists["hs_prefixes"] or lists["ics_codes"] or lists["keywords_en"] or lists["keywords_zh"]):
            raise TaxonomyError(
                f"{where}: no hs_prefixes, ics_codes or keywords: nothing could ever match it"
            )
        clusters.append(
            Cluster(
                id=cid,
                name_zh=str(item["name_zh"]).strip(),
                name_en=str(item["name_en"]).strip(),
                sector=str(item["sector"]).strip(),
                **{key: tuple(dict.fromkeys(values)) for key, values in lists.items()},
            )
        )
    return Taxonomy(
        clusters,
        source,
        version,
        _sectors(data.get("sectors"), clusters, source),
        _companions(data.get("companions"), clusters, source),
        tuple(dict.fromkeys(_string_list(data.get("instrument_names"), "instrument_names", source))),
        _components(data.get("components"), clusters, source),
    )


def _entries(raw: Any, name: str, keys: tuple[str, ...], source: str) -> list[tuple[str, dict[str, Any]]]:
    """The optional top-level list ``name`` of mappings with ``keys``: ``(where, mapping)`` for each entry, its
    keys checked; ``where`` names the entry in error messages."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TaxonomyError(f"{source}: '{name}' must be a list of mappings with {', '.join(keys)}")
    out = []
    for pos, item in enumerate(raw):
        where = f"{source}: {name}[{pos}]"
        _check_mapping(item, keys, where)
        out.append((where, item))
    return out


def _cluster_ref(value: Any, key: str, where: str, ids: set[str]) -> str:
    """A cluster id an entry names under ``key``."""
    if value not in ids:
        raise TaxonomyError(f"{where}: '{key}' {value!r} is not a cluster id. Fix: use an id of 'clusters'.")
    return str(value)


def _context(item: dict[str, Any], where: str) -> tuple[str, ...]:
    """An entry's context phrases: at least one."""
    context = _string_list(item.get("context"), "context", where)
    if not context:
        raise TaxonomyError(f"{where}: 'context' needs at least one phrase")
    return tuple(dict.fromkeys(context))


def _companions(raw: Any, clusters: list[Cluster], source: str) -> list[Companion]:
    """The optional ``companions`` list: ``{from, to, context, factor, kinds}`` mappings."""
    ids = {c.id for c in clusters}
    out = []
    for where, item in _entries(raw, "companions", _COMPANION_KEYS, source):
        source_id = _cluster_ref(item.get("from"), "from", where, ids)
        target = _cluster_ref(item.get("to"), "to", where, ids)
        if source_id == target:
            raise TaxonomyError(f"{where}: 'from' and 'to' are the same cluster. Fix: remove the entry.")
        context = _context(item, where)
        factor = item.get("factor", 0.9)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= 1:
            raise TaxonomyError(f"{where}: 'factor' {factor!r} must be a number in (0, 1]")
        kinds = _string_list(item.get("kinds"), "kinds", where) or list(_KINDS)
        unknown = [k for k in kinds if k not in _KINDS]
        if unknown:
            raise TaxonomyError(f"{where}: 'kinds' {unknown[0]!r} is not one of {', '.join(_KINDS)}")
        out.append(Companion(source_id, target, context, float(factor), tuple(dict.fromkeys(kinds))))
    return out


def _components(raw: Any, clusters: list[Cluster], source: str) -> list[Component]:
    """The optional ``components`` list: ``{of, parts, context}`` mappings."""
    ids = {c.id for c in clusters}
    out = []
    for where, item in _entries(raw, "components", _COMPONENT_KEYS, source):
        whole = _cluster_ref(item.get("of"), "of", where, ids)
        parts = _string_list(item.get("parts"), "parts", where)
        if not parts:
            raise TaxonomyError(f"{where}: 'parts' needs at least one cluster id")
        for part in parts:
            _cluster_ref(part, "parts", where, ids)
            if part == whole:
                raise TaxonomyError(f"{where}: 'parts' lists 'of' itself ({part!r}). Fix: remove it.")
        out.append(Component(whole, tuple(dict.fromkeys(parts)), _context(item, where)))
    return out


def _sectors(raw: Any, clusters: list[Cluster], source: str) -> list[Sector]:
    """The optional ``sectors`` mapping: sector id -> keywords_en / keywords_zh / negative_keywords; an entry
    with ``members`` is a group of the clusters it lists, under an id of its own."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{source}: 'sectors' must be a mapping of sector id to keyword lists")
    known = {c.sector for c in clusters}
    ids = {c.id for c in clusters}
    out = []
    for sid, item in raw.items():
        where = f"{source}: sector '{sid}'"
        _check_mapping(item, _SECTOR_KEYS, where)
        listed = tuple(dict.fromkeys(_string_list(item.get("members"), "members", where)))
        unknown = [cid for cid in listed if cid not in ids]
        if unknown:
            raise TaxonomyError(
                f"{where}: members {', '.join(map(repr, unknown))} are not cluster ids. "
                "Fix: use ids of 'clusters'."
            )
        if not listed and sid not in known:
            raise TaxonomyError(
                f"{where}: no cluster has this sector. Fix: use one of {', '.join(sorted(known))}, "
                "or list the group's clusters under 'members'."
            )
        lists = {key: tuple(dict.fromkeys(_string_list(item.get(key), key, where))) for key in _SECTOR_LISTS}
        subject_only = item.get("subject_only", False)
        if not isinstance(subject_only, bool):
            raise TaxonomyError(f"{where}: 'subject_only' must be true or false, got {subject_only!r}")
        broad = tuple(dict.fromkeys(_string_list(item.get("broad"), "broad", where)))
        members = listed or tuple(c.id for c in clusters if c.sector == sid)
        stray = [cid for cid in broad if cid not in members]
        if stray:
            raise TaxonomyError(
                f"{where}: broad cluster(s) {', '.join(stray)} are not in this sector. "
                f"Fix: use some of {', '.join(sorted(members))}."
            )
        out.append(Sector(id=str(sid), **lists, subject_only=subject_only, broad=broad, members=members))
    return out


def _check_mapping(item: Any, keys: tuple[str, ...], where: str) -> None:
    """A mapping with only ``keys``; :class:`TaxonomyError` naming ``where`` otherwise."""
    if not isinstance(item, dict):
        raise TaxonomyError(f"{where}: expected a mapping with {', '.join(keys)}")
    extra = sorted(set(item) - set(keys))
    if extra:
        raise TaxonomyError(
            f"{where}: unknown key(s) {', '.join(map(repr, extra))}. Fix: use {', '.join(keys)}."
        )


def _string_list(value: Any, key: str, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TaxonomyError(f"{where}: '{key}' must be a list, got {type(value).__name__}")
    out = []
    for pos, entry in enumerate(value):
        if not isinstance(entry, str):
            # YAML reads 0303 as an octal number and 61.20 as a float: codes must be quoted strings.
            raise TaxonomyError(
                f"{where}: {key}[{pos}] {entry!r} is a {type(entry).__name__}, not a string. "
                "Fix: quote it (e.g. '0303', '61.020')."
            )
        if not entry.strip():
            raise TaxonomyError(f"{where}: {key}[{pos}] is empty. Fix: remove it.")
        out.append(entry.strip())
    return out


# libyaml's safe loader when present: the taxonomy is read at every start and on every edit.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_cache: dict[Path, tuple[tuple[int, int], Taxonomy]] = {}
_lock = threading.Lock()


def load_taxonomy(path: str | Path | None = None, settings: Settings | None = None) -> Taxonomy:
    """Load and validate ``clusters.yaml`` (re-read when the file's size or mtime changes)."""
    p = Path(path) if path is not None else default_path(settings)
    try:
        st = p.stat()
    except OSError as exc:
        raise TaxonomyError(f"{p}: cannot read the cluster taxonomy ({exc}). Fix: check config_dir.") from exc
    stamp = (st.st_mtime_ns, st.st_size)
    with _lock:
        hit = _cache.get(p)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{p}: not valid YAML ({exc}). Fix: correct the syntax.") from exc
    taxonomy = parse_taxonomy(data, str(p))
    with _lock:
        _cache[p] = (stamp, taxonomy)
    return taxonomy


def cluster_names(settings: Settings | None = None) -> dict[str, ClusterName]:
    """zh/en display names of every configured cluster, keyed by id (for alerts and the web app)."""
    return load_taxonomy(settings=settings).names()


def cluster_name(cluster_id: str, lang: str = "zh", settings: Settings | None = None) -> str:
    """The zh or en name of a cluster; the id itself when it is unknown (e.g. removed from the config)."""
    name = cluster_names(settings).get(cluster_id)
    if name is None:
        return cluster_id
    return name.zh if lang.startswith("zh") else name.en
