"""The embedded tantivy backend: files, writer lock, readers in other processes, rebuild, Chinese."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from index.embedded import CURRENT, EmbeddedBackend
from index.errors import IndexLockedError, IndexUnavailableError
from index.query import Query
from tbtwatch.models import Kind, Labels, Notice, news_id

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _news(url: str, title: str, description: str = "", day: str = "2025-06-01") -> Notice:
    return Notice(
        id=news_id(url),
        base_id=news_id(url),
        kind=Kind.NEWS,
        title=title,
        description=description,
        url=url,
        distributed_on=day,
        language="zh",
    )


def test_chinese_matches_exact_substrings_only(embedded_loaded: EmbeddedBackend) -> None:
    titles = {h.fields["title"] for h in embedded_loaded.search(Query(text="锂电池", size=100)).hits}
    assert "欧盟电池法规要求锂电池标注碳足迹，出口企业需提前准备电池护照。" in titles
    # the same characters split by punctuation or a space are not the phrase
    assert not any(t.startswith("锂，电池") or t.startswith("宁波玩具") for t in titles)
    both = {h.id for h in embedded_loaded.search(Query(text="锂 电池", size=100)).hits}  # two words: AND
    assert {h.id for h in embedded_loaded.search(Query(text="锂电池", size=100)).hits} <= both


def test_chinese_phrase_is_highlighted_whole(embedded_loaded: EmbeddedBackend) -> None:
    hit = next(
        h for h in embedded_loaded.search(Query(text="锂电池", size=100)).hits if h.id.startswith("news:")
    )
    assert "<mark>锂电池</mark>" in hit.snippets["title"]
    assert "<mark>锂</mark>" not in hit.snippets["title"]
    other = embedded_loaded.search(Query(text="玩具 OR battery", size=100))
    marked = next(h.snippets for h in other.hits if "锂，电池与玩具" in (h.fields["title"] or ""))
    assert marked["title"] == "锂，电池与<mark>玩具</mark>：两项新规"
    assert "<mark>batteries</mark>" in marked["description"]  # English marked by stem
    assert "manufacturer's" in marked["description"]  # text is HTML-escaped: quotes stay readable


def test_snippets_escape_html(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "index")
    backend.bulk_upsert([_news("https://x.test/1", "Toys <script>alert(1)</script> & 玩具")])
    hit = backend.search(Query(text="玩具")).hits[0]
    assert hit.snippets["title"] == "Toys &lt;script&gt;alert(1)&lt;/script&gt; &amp; <mark>玩具</mark>"


def test_long_description_gives_a_fragment_around_the_match(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "index")
    text = "Lorem ipsum dolor sit amet. " * 30 + "The lithium batteries of toys. " + "Tail words here. " * 30
    backend.bulk_upsert([_news("https://x.test/2", "Title", text)])
    snippet = backend.search(Query(text="battery")).hits[0].snippets["description"]
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>batteries</mark>" in snippet and len(snippet) < 300


def test_empty_or_missing_index_answers_nothing(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "never-written")
    results = backend.search(Query(text="toy"))
    assert (results.total, results.hits, backend.count()) == (0, [], 0)
    assert results.facets["member"] == []
    assert backend.ids(Query()) == []
    assert backend.delete(["x"]) == 0


def test_upsert_replaces_and_delete_removes(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "index")
    n = _news("https://x.test/3", "Ceramic tableware rules")
    backend.bulk_upsert([n])
    backend.bulk_upsert([n.model_copy(update={"title": "Glass tableware rules"})])
    assert backend.count() == 1
    assert backend.search(Query(text="ceramic")).total == 0
    assert backend.search(Query(text="glass")).ids == [n.id]
    # labels are indexed: clusters and risk filter and facet
    labels = {n.id: Labels(notice_id=n.id, risk="high", clusters=[{"cluster_id": "ceramics", "score": 0.9}])}
    backend.bulk_upsert([n], labels)
    found = backend.search(Query(clusters=["ceramics"], risks=["high"]))
    assert found.ids == [n.id] and found.facets["cluster"][0].key == "ceramics"
    assert backend.delete([n.id, "missing"]) == 2
    assert backend.count() == 0


def test_index_survives_reopening(tmp_path: Path, corpus: tuple[list[Notice], dict[str, Labels]]) -> None:
    notices, labels = corpus
    EmbeddedBackend(tmp_path / "index").bulk_upsert(notices, labels)
    again = EmbeddedBackend(tmp_path / "index")
    assert again.count() == len(notices)
    assert again.search(Query(text="玩具")).total >= 3


def test_rebuild_switches_current_and_removes_the_old_folder(
    tmp_path: Path, corpus: tuple[list[Notice], dict[str, Labels]]
) -> None:
    notices, labels = corpus
    path = tmp_path / "index"
    writer, reader = EmbeddedBackend(path), EmbeddedBackend(path)
    writer.bulk_upsert(notices[:5], labels)
    first = (path / CURRENT).read_text().strip()
    assert reader.count() == 5
    from index.documents import build_document

    n = writer.rebuild(iter(build_document(x, labels.get(x.id)) for x in notices))
    second = (path / CURRENT).read_text().strip()
    assert n == len(notices) and second != first
    assert (path / first).exists()  # kept until the next rebuild, for a reader that read CURRENT just before
    assert reader.count() == len(notices)  # an open reader follows CURRENT
    writer.rebuild(iter(build_document(x, labels.get(x.id)) for x in notices))
    third = (path / CURRENT).read_text().strip()
    assert not (path / first).exists() and (path / second).exists() and third != second
    assert reader.count() == len(notices)


def test_failed_rebuild_keeps_the_old_index(
    tmp_path: Path, corpus: tuple[list[Notice], dict[str, Labels]]
) -> None:
    notices, labels = corpus
    path = tmp_path / "index"
    backend = EmbeddedBackend(path)
    backend.bulk_upsert(notices[:5], labels)
    before = (path / CURRENT).read_text()

    def broken() -> Any:
        from index.documents import build_document

        yield build_document(notices[0], None)
        raise RuntimeError("store went away")

    with pytest.raises(RuntimeError):
        backend.rebuild(broken())
    assert (path / CURRENT).read_text() == before
    assert backend.count() == 5
    assert len([p for p in path.iterdir() if p.is_dir()]) == 1


def test_index_of_another_schema_version_asks_for_reindex(tmp_path: Path) -> None:
    path = tmp_path / "index"
    (path / "notices-s999-1").mkdir(parents=True)
    (path / CURRENT).write_text("notices-s999-1\n")
    with pytest.raises(IndexUnavailableError, match=r"another version.*tbtwatch reindex"):
        EmbeddedBackend(path).search(Query(text="toy"))
    (path / CURRENT).write_text("../../etc\n")
    with pytest.raises(IndexUnavailableError, match="not an index folder"):
        EmbeddedBackend(path).count()


_HOLD_WRITER = textwrap.dedent(
    """
    import sys, time
    from index.embedded import EmbeddedBackend
    backend = EmbeddedBackend(sys.argv[1])
    with backend._writer(heap=15_000_000):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    print("released", flush=True)
    """
)


def _hold_writer(path: Path, seconds: float) -> subprocess.Popen[str]:
    """A process holding the index writer for ``seconds`` (use it as a context manager)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITER, str(path), str(seconds)],
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_waits_then_gives_up_with_our_error(tmp_path: Path) -> None:
    path = tmp_path / "index"
    EmbeddedBackend(path).bulk_upsert([_news("https://x.test/4", "First")])
    with _hold_writer(path, 5) as proc:
        impatient = EmbeddedBackend(path, lock_timeout=0.5)
        with pytest.raises(IndexLockedError, match="being written by another process"):
            impatient.bulk_upsert([_news("https://x.test/5", "Second")])
        assert impatient.search(Query(text="first")).total == 1  # readers are never blocked
        proc.kill()


def test_a_second_writer_goes_ahead_when_the_lock_is_released(tmp_path: Path) -> None:
    path = tmp_path / "index"
    EmbeddedBackend(path).bulk_upsert([_news("https://x.test/6", "First")])
    with _hold_writer(path, 1.0):
        patient = EmbeddedBackend(path, lock_timeout=20)
        started = time.monotonic()
        patient.bulk_upsert([_news("https://x.test/7", "Second")])
        assert time.monotonic() - started > 0.3
        assert patient.count() == 2


_READER = textwrap.dedent(
    """
    import json, sys, time
    from index.embedded import EmbeddedBackend
    from index.query import Query
    backend = EmbeddedBackend(sys.argv[1])
    print(json.dumps(backend.count()), flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + 10
    while backend.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    print(json.dumps([backend.count(), backend.search(Query(text="second")).total]), flush=True)
    """
)


def test_a_reader_in_another_process_sees_new_commits(tmp_path: Path) -> None:
    path = tmp_path / "index"
    writer = EmbeddedBackend(path)
    writer.bulk_upsert([_news("https://x.test/8", "First")])
    with subprocess.Popen(
        [sys.executable, "-c", _READER, str(path)],
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        assert json.loads(proc.stdout.readline()) == 1
        writer.bulk_upsert([_news("https://x.test/9", "Second")])
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline()) == [2, 1]


def test_page_size_zero_gives_total_and_facets_only(embedded_loaded: EmbeddedBackend) -> None:
    results = embedded_loaded.search(Query(text="safety", size=0))
    assert results.hits == [] and results.total > 0 and results.facets["kind"]


def test_search_is_fast_enough_to_notice_regressions(embedded_loaded: EmbeddedBackend) -> None:
    q = Query(text="(toy OR 玩具) safety", members=["USA", "CHN"])
    embedded_loaded.search(q)
    started = time.perf_counter()
    for _ in range(20):
        embedded_loaded.search(q)
    assert (time.perf_counter() - started) / 20 < 0.05


def test_dates_beyond_tantivys_range_are_searchable(embedded_loaded: EmbeddedBackend) -> None:
    everything = embedded_loaded.count()
    assert embedded_loaded.search(Query(distributed_from=date(96, 1, 1))).total == everything
    assert embedded_loaded.search(Query(distributed_to=date(9999, 12, 31))).total == everything
    assert embedded_loaded.search(Query(distributed_from=date(2263, 1, 1))).total == 0
    assert embedded_loaded.search(Query(deadline_to=date(1600, 1, 1))).total == 0
