"""The Elasticsearch backend (official 8.x client; 8.x and 9.x servers through REST compatibility mode 8).

Index names are versioned, ``<alias>-v<schema>-<UTC time>``, and searches and writes go through the
alias (``index.es_index``, default ``tbtwatch``). ``tbtwatch reindex --backend elasticsearch`` builds a
new index from the store and then moves the alias in one ``_aliases`` call, so searches never see a
half-built index; the old index is deleted afterwards. An index template (``<alias>-notices``) holds
the settings and explicit mappings below, so every versioned index gets them.

Mapping (for Kibana users: the index pattern is ``<alias>``, time field ``distributed_on``):

* keyword: ``id``, ``base_id``, ``kind``, ``doc_type``, ``member``, ``risk``, ``month`` (``YYYY-MM``),
  ``language``, ``url``, and the lists ``clusters``, ``hs_codes``, ``ics_codes``;
* date (``yyyy-MM-dd``): ``distributed_on``, ``comment_deadline``; long: ``sort_key`` (newest first);
* text: ``title``, ``title_zh``, ``description``, ``products``, ``products_zh``, ``keywords`` with the
  ``tbt_english`` analyzer (standard tokenizer, ``word_delimiter_graph`` splitting at every character
  that is not a letter or digit, lower case, English stop words, Porter2 stemmer: the terms of the
  embedded index, so both backends find the same notices) and a ``.cjk`` sub-field: standard tokenizer, ``cjk_width``, lower case and ``cjk_bigram`` with
  unigrams at index time, bigrams only at search time, so a Chinese phrase matches contiguous text
  and a single character still matches. ``index.es_cjk_analyzer = "smartcn"`` or ``"ik"`` uses that
  plugin's analyzer for ``.cjk`` instead (Chinese then matches words, not substrings).

Credentials come from the environment: ``TBTWATCH_ES_API_KEY``, or ``index.es_username`` with
``TBTWATCH_ES_PASSWORD``. Bulk writes go through ``helpers.streaming_bulk``, which retries documents
rejected with 429 (back-pressure) with exponential back-off.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import elastic_transport
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    NotFoundError,
)
from elasticsearch import helpers as es_helpers

from index.backend import Results, SearchBackend, finish_facets, make_hit
from index.documents import FACET_FETCH, FACETS, HIT_FIELDS, TEXT_FIELDS
from index.errors import IndexUnavailableError, IndexWriteError, SearchError
from index.query import And, CjkMatch, EnMatch, Not, Or, Plan, Query, SymbolRef
from tbtwatch.errors import ConfigError
from tbtwatch.settings import Settings

log = logging.getLogger(__name__)

#: Bump when the mapping or analysis changes; ``reindex`` then builds an index of the new version.
SCHEMA_VERSION = 1
BULK_CHUNK_DOCS = 500
BULK_CHUNK_BYTES = 10 * 1024 * 1024
BULK_MAX_RETRIES = 5
PAGE_FOR_IDS = 1000

_CJK_ANALYZERS = {
    "cjk": ("tbt_cjk", "tbt_cjk_search"),
    "smartcn": ("smartcn", "smartcn"),
    "ik": ("ik_max_word", "ik_smart"),
}


class _NoTraceback(logging.Filter):
    """Keep the client's retry warnings but drop their tracebacks: an unreachable cluster is one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            record.exc_info = None
            record.exc_text = None
        return True


for _name in ("elastic_transport.transport", "elastic_transport.node_pool"):
    logging.getLogger(_name).addFilter(_NoTraceback())

_ERRNO = re.compile(
    r"\[Errno -?\d+\][^)\]]*|timed out|Name or service not known|certificate verify failed[^)\]]*"
)


# -- template -----------------------------------------------------------------------------------------
def analysis_settings() -> dict[str, Any]:
    """Custom analyzers of the notices index."""
    return {
        "filter": {
            # split tokens at every character that is not a letter or digit, as the embedded index does
            "tbt_word_parts": {
                "type": "word_delimiter_graph",
                "generate_word_parts": True,
                "generate_number_parts": True,
                "catenate_words": False,
                "catenate_numbers": False,
                "catenate_all": False,
                "split_on_case_change": False,
                "split_on_numerics": False,
                "preserve_original": False,
                "stem_english_possessive": False,
            },
            "tbt_max_length": {"type": "length", "max": 100},
            "tbt_english_stop": {"type": "stop", "stopwords": "_english_"},
            "tbt_porter2": {"type": "stemmer", "language": "porter2"},
            "tbt_cjk_bigram_unigrams": {"type": "cjk_bigram", "output_unigrams": True},
        },
        "analyzer": {
            "tbt_english": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": [
                    "tbt_word_parts",
                    "lowercase",
                    "tbt_max_length",
                    "tbt_english_stop",
                    "tbt_porter2",
                ],
            },
            "tbt_cjk": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "tbt_cjk_bigram_unigrams"],
            },
            "tbt_cjk_search": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "cjk_bigram"],
            },
        },
    }


def mappings(cjk_analyzer: str = "cjk") -> dict[str, Any]:
    """Explicit mappings (``dynamic: strict``: a field we forgot is an error, not a guess)."""
    index_an, search_an = _CJK_ANALYZERS[cjk_analyzer]
    text = {
        "type": "text",
        "analyzer": "tbt_english",
        "fields": {"cjk": {"type": "text", "analyzer": index_an, "search_analyzer": search_an}},
    }
    props: dict[str, Any] = {
        name: {"type": "keyword"}
        for name in ("id", "base_id", "kind", "doc_type", "member", "risk", "month", "language", "url")
    }
    props.update({name: {"type": "keyword"} for name in ("clusters", "hs_codes", "ics_codes")})
    props.update({name: dict(text) for name in TEXT_FIELDS})
    props.update(
        {name: {"type": "date", "format": "strict_date"} for name in ("distributed_on", "comment_deadline")}
    )
    props["sort_key"] = {"type": "long"}
    return {"dynamic": "strict", "_meta": {"tbtwatch_schema": SCHEMA_VERSION}, "properties": props}


def index_template(alias: str, cjk_analyzer: str = "cjk") -> dict[str, Any]:
    """The composable index template applied to every versioned index behind ``alias``."""
    return {
        "index_patterns": [f"{alias}-v*"],
        "priority": 200,
        "_meta": {"managed_by": "tbtwatch", "schema": SCHEMA_VERSION},
        "template": {
            "settings": {"number_of_shards": 1, "analysis": analysis_settings()},
            "mappings": mappings(cjk_analyzer),
        },
    }


# -- queries ------------------------------------------------------------------------------------------
_MATCH_ALL: dict[str, Any] = {"match_all": {}}


def _fields(sub: str = "") -> list[str]:
    return [f"{name}{sub}^{boost:g}" for name, boost in TEXT_FIELDS.items()]


def _leaf(p: Plan) -> dict[str, Any]:
    if isinstance(p, EnMatch):
        return {"multi_match": {"query": p.text, "type": "phrase", "fields": _fields()}}
    if isinstance(p, CjkMatch):
        return {"multi_match": {"query": p.text, "type": "phrase", "fields": _fields(".cjk")}}
    if isinstance(p, SymbolRef):
        return {
            "bool": {
                "should": [{"term": {"id": p.id}}, {"term": {"base_id": p.id}}],
                "minimum_should_match": 1,
            }
        }
    raise TypeError(f"not a leaf: {p!r}")


def text_query(p: Plan) -> dict[str, Any]:
    """Elasticsearch query DSL for a planned text."""
    if isinstance(p, Not):
        return {"bool": {"must": [_MATCH_ALL], "must_not": [text_query(p.item)]}}
    if isinstance(p, And):
        must = [text_query(i) for i in p.items if not isinstance(i, Not)]
        must_not = [text_query(i.item) for i in p.items if isinstance(i, Not)]
        body: dict[str, Any] = {"must": must or [_MATCH_ALL]}
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if isinstance(p, Or):
        return {"bool": {"should": [text_query(i) for i in p.items], "minimum_should_match": 1}}
    return _leaf(p)


def filters(q: Query) -> list[dict[str, Any]]:
    """Filter clauses (no scoring) for the query's facets and dates."""
    out: list[dict[str, Any]] = []
    for field, values in (
        ("kind", [k.value for k in q.kinds]),
        ("member", list(q.members)),
        ("clusters", list(q.clusters)),
        ("risk", [r.value for r in q.risks]),
    ):
        if values:
            out.append({"terms": {field: values}})
    for field, prefixes in (("hs_codes", q.hs_prefixes), ("ics_codes", q.ics_prefixes)):
        if prefixes:
            out.append(
                {"bool": {"should": [{"prefix": {field: p}} for p in prefixes], "minimum_should_match": 1}}
            )
    for field, lo, hi in (
        ("distributed_on", q.distributed_from, q.distributed_to),
        ("comment_deadline", q.deadline_from, q.deadline_to),
        ("comment_deadline", q.open_on, None),
    ):
        if lo is None and hi is None:
            continue
        bounds = {}
        if lo is not None:
            bounds["gte"] = lo.isoformat()
        if hi is not None:
            bounds["lte"] = hi.isoformat()
        out.append({"range": {field: bounds}})
    return out


def query_dsl(q: Query, plan: Plan | None = None) -> dict[str, Any]:
    """The ``query`` part of a search for ``q``."""
    must: list[dict[str, Any]] = []
    if q.has_text:
        p = plan if plan is not None else q.plan()
        if p is None:
            return {"match_none": {}}
        must.append(text_query(p))
    fs = filters(q)
    if not must and not fs:
        return dict(_MATCH_ALL)
    body: dict[str, Any] = {}
    if must:
        body["must"] = must
    if fs:
        body["filter"] = fs
    return {"bool": body}


def sort_clause(q: Query) -> list[Any]:
    """Newest first for date order; relevance then newest first (a deterministic tie-break)."""
    if q.effective_sort == "date":
        return [{"sort_key": {"order": "desc"}}]
    return ["_score", {"sort_key": {"order": "desc"}}]


def search_body(q: Query, plan: Plan | None = None) -> dict[str, Any]:
    """The whole ``_search`` request body we send for ``q`` (snapshot-tested)."""
    body: dict[str, Any] = {
        "query": query_dsl(q, plan),
        "from": q.offset,
        "size": q.size,
        "sort": sort_clause(q),
        "track_total_hits": True,
        "_source": sorted({*HIT_FIELDS, "id", "description"}),
    }
    if q.facets:
        body["aggs"] = {
            name: {"terms": {"field": field, "size": FACET_FETCH}} for name, field in FACETS.items()
        }
    return body


# -- client -------------------------------------------------------------------------------------------
def make_client(settings: Settings) -> Elasticsearch:
    """An Elasticsearch client from ``[index]`` settings and the ES secrets in the environment."""
    cfg = settings.index
    if not cfg.es_url:
        raise ConfigError(
            "index.es_url is empty but the Elasticsearch backend was asked for. "
            "Fix: set TBTWATCH_ES_URL, or es_url in the index table of tbtwatch.toml."
        )
    kwargs: dict[str, Any] = {"request_timeout": 30, "max_retries": 3, "retry_on_timeout": True}
    secrets = settings.secrets
    if secrets.es_api_key is not None:
        kwargs["api_key"] = secrets.es_api_key.get_secret_value()
    elif cfg.es_username:
        if secrets.es_password is None:
            raise ConfigError(
                f"index.es_username is {cfg.es_username!r} but no password is set. "
                "Fix: set TBTWATCH_ES_PASSWORD."
            )
        kwargs["basic_auth"] = (cfg.es_username, secrets.es_password.get_secret_value())
    if cfg.es_url.startswith("https"):
        kwargs["verify_certs"] = cfg.es_verify_certs
        if not cfg.es_verify_certs:
            kwargs["ssl_show_warn"] = False
        if cfg.es_ca_certs:
            kwargs["ca_certs"] = cfg.es_ca_certs
    try:
        return Elasticsearch(cfg.es_url, **kwargs)
    except ValueError as exc:
        raise ConfigError(
            f"index.es_url {cfg.es_url!r} is not usable: {exc}. Fix: give a URL such as https://es:9200."
        ) from exc


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    m = _ERRNO.search(text)
    return m.group(0).strip() if m else text[:200]


class ElasticsearchBackend(SearchBackend):
    """Search backend on an Elasticsearch cluster, reached through an alias."""

    name = "elasticsearch"

    def __init__(
        self, client: Elasticsearch, *, alias: str = "tbtwatch", cjk_analyzer: str = "cjk", url: str = ""
    ) -> None:
        self.client = client
        self.alias = alias
        self.cjk_analyzer = cjk_analyzer
        self.url = url or "the configured URL"
        self._template_ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ElasticsearchBackend:
        """The backend configured in ``[index]``."""
        cfg = settings.index
        return cls(
            make_client(settings), alias=cfg.es_index, cjk_analyzer=cfg.es_cjk_analyzer, url=cfg.es_url
        )

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Turn client exceptions into one-line errors of ours."""
        try:
            yield
        except AuthenticationException as exc:
            raise IndexUnavailableError(
                f"Elasticsearch at {self.url} refused the credentials while {doing} (401). "
                "Fix: check TBTWATCH_ES_API_KEY, or index.es_username and TBTWATCH_ES_PASSWORD."
            ) from exc
        except AuthorizationException as exc:
            raise IndexUnavailableError(
                f"Elasticsearch at {self.url}: the credentials may not be used for {doing} (403). "
                f"Fix: grant them read/write on {self.alias}* and manage_index_templates."
            ) from exc
        except ApiError as exc:
            raise SearchError(
                f"Elasticsearch at {self.url} failed while {doing}: {exc.meta.status} {_short(exc)}"
            ) from exc
        except elastic_transport.TransportError as exc:
            raise IndexUnavailableError(
                f"Elasticsearch at {self.url} is unreachable while {doing} ({_short(exc)}). "
                "Fix: check index.es_url / TBTWATCH_ES_URL, the network and TLS settings, "
                "and that the cluster is up."
            ) from exc

    # -- index management ------------------------------------------------------------------------
    def ensure_template(self) -> None:
        """Install (or update) the index template."""
        if self._template_ready:
            return
        with self._guard("installing the index template"):
            self.client.indices.put_index_template(
                name=f"{self.alias}-notices", body=index_template(self.alias, self.cjk_analyzer)
            )
        self._template_ready = True

    def _new_index_name(self) -> str:
        return f"{self.alias}-v{SCHEMA_VERSION}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"

    def alias_indices(self) -> list[str]:
        """Indices the alias points at now (empty when it does not exist yet)."""
        with self._guard("reading the alias"):
            try:
                found = self.client.indices.get_alias(name=self.alias)
            except NotFoundError:
                return []
        return sorted(found.body)

    def _refuse_concrete_index(self) -> None:
        """An index literally named like the alias (say, created by a stray write) would shadow it."""
        with self._guard("checking the index"):
            exists = bool(self.client.indices.exists(index=self.alias))
        if exists:
            raise IndexUnavailableError(
                f"Elasticsearch at {self.url} has an index named {self.alias!r} where tbtwatch expects "
                "an alias. Fix: delete that index, or set index.es_index to another name, then reindex."
            )

    def _write_target(self) -> str:
        """The alias, created with a first index when missing; refuses an index of another schema."""
        self.ensure_template()
        current = self.alias_indices()
        if not current:
            self._refuse_concrete_index()
            name = self._new_index_name()
            with self._guard("creating the first index"):
                self.client.indices.create(index=name, aliases={self.alias: {"is_write_index": True}})
            log.info("created Elasticsearch index %s behind alias %s", name, self.alias)
            return self.alias
        versions = {m.group(1) for m in (re.search(r"-v(\d+)-", i) for i in current) if m}
        if versions != {str(SCHEMA_VERSION)}:
            raise IndexUnavailableError(
                f"the Elasticsearch index behind {self.alias!r} ({', '.join(current)}) was built by another "
                "version of tbtwatch. Fix: run `tbtwatch reindex --backend elasticsearch`."
            )
        return self.alias

    def _bulk(self, actions: Iterable[dict[str, Any]], doing: str) -> int:
        ok = 0
        failed: list[str] = []
        with self._guard(doing):
            for success, info in es_helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=BULK_CHUNK_DOCS,
                max_chunk_bytes=BULK_CHUNK_BYTES,
                max_retries=BULK_MAX_RETRIES,
                initial_backoff=1,
                max_backoff=30,
                raise_on_error=False,
                raise_on_exception=True,
            ):
                if success:
                    ok += 1
                else:
                    item = next(iter(info.values())) if isinstance(info, dict) and info else {}
                    err = item.get("error", item) if isinstance(item, dict) else item
                    failed.append(
                        f"{item.get('_id', '?') if isinstance(item, dict) else '?'}: {_reason(err)}"
                    )
        if failed:
            raise IndexWriteError(
                f"Elasticsearch rejected {len(failed)} documents while {doing}"
                f" (first: {'; '.join(failed[:3])})"
            )
        return ok

    def upsert_documents(self, docs: Sequence[dict[str, Any]]) -> int:
        """Index documents by id through the alias, then refresh so they are searchable."""
        if not docs:
            return 0
        target = self._write_target()
        n = self._bulk(
            ({"_op_type": "index", "_index": target, "_id": d["id"], "_source": d} for d in docs), "indexing"
        )
        with self._guard("refreshing"):
            self.client.indices.refresh(index=target)
        return n

    def delete(self, ids: Iterable[str]) -> int:
        """Delete documents by id (missing ones are fine)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted or not self.alias_indices():
            return 0
        actions = ({"_op_type": "delete", "_index": self.alias, "_id": i} for i in wanted)
        with self._guard("deleting"):
            for _ok, info in es_helpers.streaming_bulk(
                self.client, actions, raise_on_error=False, max_retries=BULK_MAX_RETRIES
            ):
                item = next(iter(info.values())) if isinstance(info, dict) and info else {}
                if isinstance(item, dict) and item.get("status") not in (200, 404):
                    raise IndexWriteError(
                        f"Elasticsearch could not delete {item.get('_id')}: {_reason(item.get('error'))}"
                    )
            self.client.indices.refresh(index=self.alias)
        return len(wanted)

    def rebuild(self, docs: Iterator[dict[str, Any]]) -> int:
        """Build a new versioned index, move the alias to it in one step, delete the old indices."""
        self.ensure_template()
        old = self.alias_indices()
        if not old:
            self._refuse_concrete_index()
        name = self._new_index_name()
        with self._guard("creating the new index"):
            self.client.indices.create(index=name)
        try:
            n = self._bulk(
                ({"_op_type": "index", "_index": name, "_id": d["id"], "_source": d} for d in docs),
                "reindexing",
            )
            with self._guard("refreshing the new index"):
                self.client.indices.refresh(index=name)
            actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": self.alias}} for i in old]
            actions.append({"add": {"index": name, "alias": self.alias, "is_write_index": True}})
            with self._guard("switching the alias"):
                self.client.indices.update_aliases(actions=actions)
        except BaseException:
            with contextlib.suppress(ApiError, elastic_transport.TransportError):
                self.client.indices.delete(index=name)
            raise
        for i in old:
            try:
                self.client.indices.delete(index=i)
            except (ApiError, elastic_transport.TransportError) as exc:
                log.warning("could not delete the old index %s: %s", i, _short(exc))
        log.info(
            "reindexed %d documents into %s; alias %s moved from %s", n, name, self.alias, old or "nothing"
        )
        return n

    # -- reading ---------------------------------------------------------------------------------
    def _search(self, body: dict[str, Any], doing: str = "searching") -> dict[str, Any] | None:
        with self._guard(doing):
            try:
                return dict(self.client.search(index=self.alias, body=body).body)
            except NotFoundError:
                return None  # nothing indexed yet

    def search(self, query: Query) -> Results:
        """One page of results with facets and snippets."""
        started = time.perf_counter()
        plan = query.plan() if query.has_text else None
        resp = self._search(search_body(query, plan))
        results = Results(total=0, page=query.page, size=query.size, backend=self.name)
        if resp is None:
            results.facets = finish_facets({}) if query.facets else {}
            return results
        results.total = int(resp["hits"]["total"]["value"])
        by_date = query.effective_sort == "date"
        for h in resp["hits"]["hits"]:
            score = None if by_date or h.get("_score") is None else float(h["_score"])
            results.hits.append(make_hit(h["_id"], score, h["_source"], query, plan))
        if query.facets:
            aggs = resp.get("aggregations", {})
            results.facets = finish_facets(
                {
                    name: {str(b["key"]): int(b["doc_count"]) for b in aggs.get(name, {}).get("buckets", [])}
                    for name in FACETS
                }
            )
        results.took_ms = (time.perf_counter() - started) * 1000
        return results

    def count(self, query: Query | None = None) -> int:
        """Number of documents (matching ``query``)."""
        body = {"query": query_dsl(query) if query is not None else dict(_MATCH_ALL)}
        with self._guard("counting"):
            try:
                return int(self.client.count(index=self.alias, body=body)["count"])
            except NotFoundError:
                return 0

    def ids(self, query: Query, limit: int | None = None) -> list[str]:
        """Ids of every match in the query's order (paged with ``search_after``)."""
        body: dict[str, Any] = {
            "query": query_dsl(query),
            "size": PAGE_FOR_IDS,
            "sort": [*sort_clause(query), {"id": {"order": "asc"}}],
            "_source": False,
            "track_total_hits": False,
        }
        out: list[str] = []
        while limit is None or len(out) < limit:
            resp = self._search(body, "listing ids")
            hits = resp["hits"]["hits"] if resp else []
            out.extend(h["_id"] for h in hits)
            if len(hits) < PAGE_FOR_IDS:
                break
            body["search_after"] = hits[-1]["sort"]
        return out if limit is None else out[:limit]

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def _reason(err: Any) -> str:
    if isinstance(err, dict):
        return f"{err.get('type', 'error')}: {err.get('reason', '')}".strip()
    return str(err)[:200]
