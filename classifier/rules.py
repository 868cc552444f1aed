"""Rule evidence: HS prefixes, ICS codes, English and Chinese keywords, negative keywords.

Scores are evidence strengths in [0, 1] per cluster, each with reasons (``hs:9503``, ``ics:97.200.50``,
``kw:玩具``, ``kw:toy safety``). How they are set (weights in :class:`RuleWeights`):

* **HS**: a notice code that starts with a cluster prefix matches; a longer (more specific) prefix is
  stronger, and when one code matches prefixes of several clusters the most specific match wins (the
  others are damped by ``hs_shadow``). Specificity is the number of HS 2022 subheadings a prefix
  covers, so ``9503`` and ``950300`` (the same single subheading) tie while ``850440`` beats ``8504``.
  A chapter-level prefix such as ``61`` is weaker than ``6110``.
  A notice code shorter than the prefix (``85`` against ``8516``) says only "somewhere in chapter 85":
  weak evidence (``hs_broad_chapter``, ``hs_broad_heading``).
* **ICS**: equal codes, or a notice code inside a cluster code, match; a broader notice code is weak; a code
  several clusters have is weaker (divided by the square root of their number, as for keywords).
* **Keywords**: English keywords are matched on stemmed tokens (word boundaries, plurals, British and
  American spelling, hyphen = space); Chinese keywords as substrings. Where keywords overlap, the
  longest wins ("formaldehyde in wooden toys" is not also "formaldehyde"). A keyword shared by several
  clusters is weaker (divided by the square root of their number); multi-word keywords are stronger;
  a hit in the title or products counts more than one in the description.
* **Negatives**: a cluster's negative keyword ("toy poodle", "pen test", "bearing in mind") is matched
  like a keyword and, being longer, hides that cluster's keywords inside that occurrence (not other
  clusters': "clothes washing machines" hides apparel's "clothes", not the appliances' "washing
  machines"); other occurrences of "toy" still count. A negative phrase is never evidence itself, but
  when it is in the title (or the products) and no product keyword of its cluster is there, it names what the
  item is about ("school buses" with HS 8703): the cluster is marked ``negated`` and its whole score is
  damped by the classifier.
* **Sectors**: the words of a sector-wide measure ("food establishments") count for every cluster of the
  sector, unshared; a sector's negatives (milk, cocoa, feed) are negatives of each of its clusters. A
  *subject-only* sector's words ("textile labelling", 纺织品) count only in the title, and not when the title
  names the product of one of its clusters ("textile labelling standard for hosiery" is about hosiery);
  a cluster of the sector with the same words as its own keyword follows the same rule.
* Document numbers ("TEC/GR/TX/TIE-007/02.MAR-14") and the taxonomy's ``instrument_names`` (the titles of
  laws and lists: Japan's "Standards and Specifications for Foods and Food Additives") are not searched for
  keywords.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from classifier.doc import Doc
from classifier.pasted import ICS_TITLES, CodeTexts, read_titles
from classifier.taxonomy import Taxonomy
from classifier.text import cjk_runs, fold, has_cjk, tokens, without_exclusions

#: the field where a subject-only sector's words count and where a named product narrows them (the products
#: field too gained nothing on the gold sets, and would read any pasted code title that slips through) ...
_SUBJECT = "title"
#: ... but in a restriction of substances the products field and the description list what is restricted:
#: "textile articles" there is a subject too (Maine's and Connecticut's PFAS rules, labelling criterion 3)
_RESTRICTION_SUBJECTS = frozenset({_SUBJECT, "products", "description"})
_TITLE_SUBJECTS = frozenset({_SUBJECT})
#: a restriction of substances in products (PFAS, skin sensitisers, "chemicals of high concern")
RESTRICTION = re.compile(
    r"PFAS|perfluoro|polyfluoro|全氟|多氟|sensiti[sz]ing substances|substances? of (?:very high )?concern|"
    r"chemicals? of (?:high )?concern|hazardous substances|substances dangereuses|sustancias peligrosas",
    re.I,
)
#: a word every restriction opening contains; the pattern is searched only in texts that have one
_RESTRICTION_HINTS = (
    "pfas",
    "fluoro",
    "全氟",
    "多氟",
    "sensiti",
    "concern",
    "hazardous",
    "dangereuses",
    "peligrosas",
)


def is_restriction(title: str, description: str) -> bool:
    """Whether a notice restricts substances in products (:data:`RESTRICTION` in its title or description)."""
    text = f"{title}\n{description}"
    lower = text.lower()
    return any(hint in lower for hint in _RESTRICTION_HINTS) and RESTRICTION.search(text) is not None


@dataclass(frozen=True, slots=True)
class RuleWeights:
    """Evidence strengths of the rules (tuned on the gold ``dev`` split and the read halves of the blind sets,
    never on the ``test`` split or the unread halves)."""

    hs_by_length: tuple[tuple[int, float], ...] = ((2, 0.8), (4, 0.93), (6, 0.96))
    hs_shadow: float = 0.6
    hs_broad_chapter: float = 0.12
    hs_broad_heading: float = 0.45
    ics_exact: float = 0.4
    ics_narrower: float = 0.38
    ics_broader: float = 0.15
    kw_attribute: float = 0.45
    #: a product of the title named only as what another one is for or made of
    kw_purpose: float = 0.45
    #: the words of a broad textile cluster (fabrics, apparel) when the title names a narrower one (socks)
    kw_narrowed: float = 0.45
    kw_derived: float = 0.9
    hs_horizontal_chapters: int = 4
    hs_horizontal: float = 0.5
    #: codes and keywords of an SPS notice for manufactured goods (fur skins, plastic packaging, "nuts")
    sps_non_food: float = 0.5
    #: keyword evidence of an SPS notice with no product keyword of the cluster (hazard or rule words only)
    sps_attribute_only: float = 0.6
    kw_single: float = 0.5
    kw_phrase: float = 0.55
    kw_phrase_step: float = 0.06
    kw_phrase_max: float = 0.8
    zh_by_length: tuple[tuple[int, float], ...] = ((1, 0.25), (2, 0.55), (3, 0.6), (4, 0.7))
    field_title: float = 1.0
    field_products: float = 1.0
    field_description: float = 0.65
    repeat_bonus: float = 0.1


@dataclass(slots=True)
class Evidence:
    """Rule evidence for one cluster."""

    hs: float = 0.0
    ics: float = 0.0
    kw: float = 0.0
    reasons: list[str] = field(default_factory=list)
    #: the notice's HS codes behind it: clusters sharing one are told apart by the text
    hs_codes: tuple[str, ...] = ()
    #: the notice's ICS codes behind it: one that another cluster has too tells the two apart no better
    ics_codes: tuple[str, ...] = ()
    #: a negative phrase of the cluster names the subject (title or products) and no keyword of the
    #: cluster does: "school buses" for passenger cars, "toy poodle" for toys
    negated: bool = False
    #: a product keyword of the cluster is in the title ("Liquid detergent", "Men's thobes")
    title_product: bool = False
    #: those product keywords of the title (display forms)
    title_words: frozenset[str] = frozenset()
    #: they only say what another product of the title is for ("pen injectors for ... medicines")
    title_purpose: bool = False
    #: a product keyword of the cluster is anywhere in the text; hazard and rule words ("cadmium", "lead
    #: content") are not: they do not say whose product it is
    product_named: bool = False
    #: ... by a keyword of its own, not by a group's word ("clothing" names children's wear and socks too)
    own_named: bool = False
    #: the notice (not a news item) restricts substances in products, and this cluster's product is named
    restricted: bool = False

    def combined(self) -> float:
        """Noisy-or of the three rule scores."""
        return 1.0 - (1.0 - self.hs) * (1.0 - self.ics) * (1.0 - self.kw)


@dataclass(frozen=True, slots=True)
class _Entry:
    cluster: str
    display: str
    negative: bool
    weight: float
    product: bool
    #: the sector whose sector-wide words this entry is ("" for the cluster's own keywords)
    sector: str = ""


@dataclass(frozen=True, slots=True)
class _Words:
    """What the keywords of a notice say of each cluster."""

    #: keyword evidence: (score, reasons)
    scores: dict[str, tuple[float, list[str]]]
    #: the clusters a negative phrase in the title or products rules out
    negated: set[str]
    #: the fields where each cluster's product keywords are
    named: dict[str, set[str]]
    #: those keywords of the title (display forms)
    title_words: dict[str, set[str]]
    #: the clusters whose title products only say what another product of the title is for or made of
    purpose_only: set[str]
    #: the fields where each cluster's own product keywords (not a sector's words) are
    own: dict[str, set[str]]


@dataclass(slots=True)
class _Hit:
    start: int
    end: int
    key: object
    #: clusters whose entries of this hit are hidden by a longer negative phrase around it
    hidden: frozenset[str] = frozenset()


class KeywordIndex:
    """All keywords and negatives of a taxonomy, indexed for one pass over tokens and CJK runs."""

    def __init__(self, taxonomy: Taxonomy, weights: RuleWeights, hs: dict[str, str] | None = None) -> None:
        self.weights = weights
        hs = hs or {}
        # The titles of laws, by a telling word of each: a text without the word needs no pattern search, and
        # a text with it only the search for the titles that have it (one pattern of every title is slow).
        by_hint: dict[str, list[str]] = defaultdict(list)
        for name in taxonomy.instrument_names:
            by_hint[_hint(name)].append(name)
        self.instruments = [(hint, _phrases_pattern(tuple(names))) for hint, names in sorted(by_hint.items())]
        en: dict[tuple[str, ...], list[tuple[str, str, str]]] = defaultdict(list)
        zh: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        self.vocab_en: dict[str, set[str]] = {}
        self.vocab_zh: dict[str, str] = {}
        for c in taxonomy.clusters:
            descs = [hs[p] for p in c.hs_prefixes if p in hs and len(p) >= 4]
            self.vocab_en[c.id] = {
                t
                for text in (c.name_en, *c.products_en, *c.products_other, *descs)
                for t in tokens(text)
                if t not in _GENERIC
            }
            self.vocab_zh[c.id] = c.name_zh.replace("产业集群", "") + "|" + "|".join(c.products_zh)
            for kw in c.keywords_en:
                self._add(en, zh, kw, c.id, "keyword")
            for kw in c.keywords_zh:
                self._add(en, zh, kw, c.id, "keyword")
            for phrase in _product_phrases((*c.products_en, *c.products_other), c.products_zh):
                self._add(en, zh, phrase, c.id, "derived")
            # a French/Spanish product name given on its own ("parapluies", "colchones") is a name, not a
            # fragment of a product list: it counts like a keyword
            for name in c.products_other:
                if len(tokens(name)) == 1:
                    self._add(en, zh, name, c.id, "keyword")
            for kw in c.negative_keywords:
                self._add(en, zh, kw, c.id, "negative")
        for sector in taxonomy.sectors:
            for cid in sector.members:
                for kw in (*sector.keywords_en, *sector.keywords_zh):
                    self._add(en, zh, kw, cid, f"sector:{sector.id}")
                for kw in sector.negative_keywords:
                    self._add(en, zh, kw, cid, "negative")
        self.en: dict[tuple[str, ...], list[_Entry]] = {}
        self.zh: dict[str, list[_Entry]] = {}
        for key, items in en.items():
            self.en[key] = self._entries(items, self._en_weight(len(key)), key)
        for zkey, zitems in zh.items():
            self.zh[zkey] = self._entries(zitems, self._zh_weight(len(zkey)), zkey)
        self.en_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for key in self.en:
            self.en_first[key[0]].append(key)
        for keys in self.en_first.values():
            keys.sort(key=len, reverse=True)
        # Words of a subject-only sector name the measure's scope, also where a cluster of the sector has
        # them as its own keyword ("textile labelling" of fabrics): they follow the sector's rule for it.
        subject_only = {s.id: frozenset(s.members) for s in taxonomy.sectors if s.subject_only}
        for key, entries in self.en.items():
            self.en[key] = _scoped(entries, subject_only)
        for zkey, zentries in self.zh.items():
            self.zh[zkey] = _scoped(zentries, subject_only)
        # words only such a sector has: outside the title they are not matched at all, so they hide no
        # cluster keyword inside them ("articles textiles" / "textiles")
        self.title_only: set[object] = {
            key
            for table in (self.en, self.zh)
            for key, entries in table.items()
            if entries and all(e.sector in subject_only for e in entries)
        }
        self.zh_first: dict[str, list[str]] = defaultdict(list)
        for zkey in self.zh:
            self.zh_first[zkey[0]].append(zkey)
        for zkeys in self.zh_first.values():
            zkeys.sort(key=len, reverse=True)

    def is_product(self, cid: str, key: tuple[str, ...] | str) -> bool:
        """True when a keyword names the cluster's products (shares a word with its name, products or HS
        descriptions); otherwise it names a hazard or a rule ("phthalates", "certification"), weaker alone."""
        if isinstance(key, tuple):
            return any(t in self.vocab_en[cid] for t in key if t not in _GENERIC)
        vocab = self.vocab_zh[cid]
        return any(
            key[i : i + 2] in vocab and key[i : i + 2] not in _GENERIC_ZH for i in range(len(key) - 1)
        ) or (len(key) == 1 and key in vocab)

    @staticmethod
    def _add(
        en: dict[tuple[str, ...], list[tuple[str, str, str]]],
        zh: dict[str, list[tuple[str, str, str]]],
        kw: str,
        cid: str,
        role: str,
    ) -> None:
        # A keyword with CJK is matched as a substring; its Latin parts ("pH值", "CE标志") stay in it.
        if has_cjk(kw):
            for part in kw.split():
                if has_cjk(part):
                    zh[fold(part)].append((cid, kw, role))
            return
        toks = tuple(tokens(kw))
        if toks and not (len(toks) == 1 and (toks[0] in _GENERIC or len(toks[0]) < 3) and role == "derived"):
            en[toks].append((cid, kw, role))

    def _entries(
        self, items: list[tuple[str, str, str]], base: float, key: tuple[str, ...] | str
    ) -> list[_Entry]:
        positive = {cid for cid, _, role in items if role != "negative" and not role.startswith("sector:")}
        # Shared keywords ("formaldehyde" in 6 clusters) say less about any one of them; a sector keyword
        # names every cluster of its sector on purpose and is not shared in that sense.
        shared = base / math.sqrt(max(1, len(positive)))
        w = self.weights
        seen: dict[tuple[str, str], _Entry] = {}
        for cid, display, role in items:
            negative = role == "negative"
            if role.startswith("sector:"):
                # kept beside the cluster's own keyword of the same words: a subject-only sector's words
                # may not count where the cluster's own keyword does
                seen[(cid, role)] = _Entry(cid, display, False, base, True, role.removeprefix("sector:"))
                continue
            # A one-word fragment of a product list ("safety", "oil", "frames") is too vague to name one.
            vague = role == "derived" and (len(key) == 1 if isinstance(key, tuple) else len(key) <= 2)
            product = not negative and not vague and (role == "derived" or self.is_product(cid, key))
            weight = (
                shared * (1.0 if product else w.kw_attribute) * (w.kw_derived if role == "derived" else 1.0)
            )
            slot = (cid, role if negative else "positive")
            prev = seen.get(slot)
            if prev is None or weight > prev.weight:
                seen[slot] = _Entry(cid, display, negative, weight, product)
        return list(seen.values())

    def _en_weight(self, n: int) -> float:
        w = self.weights
        if n == 1:
            return w.kw_single
        return min(w.kw_phrase_max, w.kw_phrase + w.kw_phrase_step * (n - 2))

    def _zh_weight(self, n: int) -> float:
        best = 0.0
        for length, weight in self.weights.zh_by_length:
            if n >= length:
                best = weight
        return best

    def hits(
        self, fields: list[tuple[str, str]], subjects: frozenset[str] = _TITLE_SUBJECTS
    ) -> list[tuple[_Entry, str, list[int]]]:
        """Keyword entries found in ``(field name, text)`` pairs: (entry, field, where each occurrence starts:
        a token index of the field's Latin text, or -1 for a Chinese one). The words only a subject-only
        sector has are looked for in the ``subjects`` fields alone."""
        found: dict[tuple[int, str], list[int]] = {}
        entries: dict[int, _Entry] = {}
        order: list[tuple[int, str]] = []
        for fname, text in fields:
            if not text:
                continue
            for hit in self._field_hits(text, fname in subjects):
                for entry in self._lookup(hit.key):
                    if entry.cluster in hit.hidden:
                        continue
                    k = (id(entry), fname)
                    if k not in found:
                        found[k] = []
                        order.append(k)
                        entries[id(entry)] = entry
                    found[k].append(hit.start if isinstance(hit.key, tuple) else -1)
        return [(entries[eid], fname, found[(eid, fname)]) for eid, fname in order]

    def purposes(self, text: str) -> list[int]:
        """Token indices of the purpose words ("for", "para", "pour", and "made" before a material) of a
        field's Latin text, in the token positions of :meth:`hits`."""
        return [i for i, tok in enumerate(self._tokens(self._prepared(text))) if tok in _PURPOSE]

    def _prepared(self, text: str) -> str:
        # document numbers name no product: "TEC/GR/TX/TIE-007/02.MAR-14" is not a necktie; an exclusion
        # names what the product is not: "glass beads ... (excl. imitation jewellery)"
        text = without_exclusions(text)
        lower = text.lower()
        if "等" in text or any(word in lower for word in _PASSING_HINTS):
            text = _PASSING.sub(" ", text)
        if self.instruments:
            for hint, pattern in self.instruments:
                if hint in lower and pattern is not None:
                    text = pattern.sub(" ", text)
        return text

    @staticmethod
    def _tokens(prepared: str) -> list[str]:
        return tokens(_CODE.sub(" ", prepared))

    def _lookup(self, key: object) -> list[_Entry]:
        if isinstance(key, tuple):
            return self.en.get(key, [])
        return self.zh.get(str(key), [])

    def _field_hits(self, text: str, subject: bool) -> list[_Hit]:
        raw: list[_Hit] = []
        text = self._prepared(text)
        toks = self._tokens(text)
        for i, tok in enumerate(toks):
            for key in self.en_first.get(tok, ()):
                if tuple(toks[i : i + len(key)]) == key and (subject or key not in self.title_only):
                    raw.append(_Hit(i, i + len(key), key))
        kept = _drop_contained(raw, self._negative_only)
        if has_cjk(text):
            zraw: list[_Hit] = []
            folded = fold(text)
            for start, run in cjk_runs(folded):
                for j, ch in enumerate(run):
                    for zkey in self.zh_first.get(ch, ()):
                        if run.startswith(zkey, j) and (subject or zkey not in self.title_only):
                            zraw.append(_Hit(start + j, start + j + len(zkey), zkey))
            kept.extend(_drop_contained(zraw, self._negative_only))
        return kept

    def _negative_only(self, key: object) -> frozenset[str] | None:
        """The clusters of a key that is only a negative phrase; None when it is a positive keyword."""
        entries = self._lookup(key)
        if entries and all(e.negative for e in entries):
            return frozenset(e.cluster for e in entries)
        return None


_CODE = re.compile(r"\b[A-Z]{2,}(?:[/-][A-Z0-9.]+){2,}")
#: sectors named in passing ("在电子电气、玩具、纺织品等领域推动标准互认", "in sectors such as toys and textiles"):
#: cooperation and meeting news lists fields of work, not products a measure regulates
_PASSING = re.compile(
    # from the start of a clause only: a scan from every position would be quadratic on long texts
    r"(?:^|(?<=[，。；：！？,.;:!?\n]))[^，。；：！？,.;:!?\n]*等(?:领域|行业|产业|方面)"
    r"|\b(?:sectors|areas|fields|industries|domains)\s+(?:such as|including|like|as diverse as)\s+[^.;:!?\n]*",
    re.I,
)
#: a word every English passing mention contains (most texts have none: the pattern is not searched then)
_PASSING_HINTS = ("sectors", "areas", "fields", "industries", "domains")
_SPS_SECTORS = frozenset({"agrifood", "chemicals_health"})
#: the prepositions of purpose in a title ("helmets for motorcycle riders", "cascos para motociclistas"), and
#: the word before a product's material ("footwear made from leather")
_PURPOSE = frozenset({"for", "para", "pour", "made"})
# Words that name no product on their own ("parts of ...", "other articles").
_GENERIC_WORDS = (
    "parts part component accessory system product good article powder material equipment unit device set "
    "item module other sundry supply and or of for the with in incl etc not whether thereof than kind type "
    "similar use used n.e.c nes excluding including made their such"
)
_GENERIC = frozenset(_GENERIC_WORDS.split())
_GENERIC_ZH = frozenset({"产品", "制品", "用品", "材料", "设备", "产业", "集群", "配件", "部件", "其他"})
_SPLIT_EN = re.compile(r"[;,&/()]|\band\b|\bincl\b\.?|\be\.g\.")
_SPLIT_ZH = re.compile(r"[、，；/（）()及和与,;]")


def _product_phrases(products_en: tuple[str, ...], products_zh: tuple[str, ...]) -> list[str]:
    """Short product names from a cluster's product lists ("toys & puzzles" -> toys, puzzles)."""
    out: list[str] = []
    for text in products_en:
        for piece in _SPLIT_EN.split(text):
            words = piece.strip(" .-").split()
            if 1 <= len(words) <= 3:
                out.append(" ".join(words))
    for text in products_zh:
        for piece in _SPLIT_ZH.split(text):
            piece = piece.strip()
            if 2 <= len(piece) <= 8:
                out.append(piece)
    return list(dict.fromkeys(out))


def _drop_contained(hits: list[_Hit], negative_only: Callable[[object], frozenset[str] | None]) -> list[_Hit]:
    """Longest match wins: drop hits strictly inside a longer keyword hit. A longer *negative* phrase
    hides only its own clusters' entries ("clothes washing machines", a negative of apparel, hides
    apparel's "clothes" but not the appliances' "washing machines")."""
    if len(hits) < 2:
        return hits
    out = []
    for h in hits:
        hidden: set[str] = set()
        dropped = False
        for o in hits:
            if o is h or not (
                o.start <= h.start and h.end <= o.end and (o.end - o.start) > (h.end - h.start)
            ):
                continue
            neg = negative_only(o.key)
            if neg is None:
                dropped = True
                break
            hidden |= neg
        if not dropped:
            if hidden:
                h.hidden = frozenset(hidden)
            out.append(h)
    return out


class RuleMatcher:
    """HS, ICS and keyword evidence for every cluster of a taxonomy."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        weights: RuleWeights | None = None,
        hs_descriptions: dict[str, str] | None = None,
    ) -> None:
        from classifier.weak import read_hs_descriptions

        self.taxonomy = taxonomy
        self.weights = weights or RuleWeights()
        hs = read_hs_descriptions() if hs_descriptions is None else hs_descriptions
        self.index = KeywordIndex(taxonomy, self.weights, hs)
        self.pasted = CodeTexts(hs, read_titles(ICS_TITLES))
        self._sector = {c.id: c.sector for c in taxonomy.clusters}
        #: subject-only sectors: the clusters whose product named in the title narrows the measure to it
        self._narrowing = {
            s.id: frozenset(cid for cid in s.members if cid not in s.broad)
            for s in taxonomy.sectors
            if s.subject_only
        }
        #: (the narrowing clusters, the broad ones) of the subject-only sectors with broad clusters
        self._broad = [
            (self._narrowing[s.id], frozenset(s.broad))
            for s in taxonomy.sectors
            if s.subject_only and s.broad
        ]
        self._hs: dict[str, list[str]] = defaultdict(list)
        self._hs_reverse: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._ics: dict[str, list[str]] = defaultdict(list)
        self._ics_reverse: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for c in taxonomy.clusters:
            for p in c.hs_prefixes:
                self._hs[p].append(c.id)
                for n in range(2, len(p), 2):
                    self._hs_reverse[p[:n]].append((c.id, p))
            for code in c.ics_codes:
                self._ics[code].append(c.id)
                parts = code.split(".")
                for n in range(1, len(parts)):
                    self._ics_reverse[".".join(parts[:n])].append((c.id, code))
        # How many HS 2022 subheadings a prefix covers: 9503 and 950300 cover the same one, so neither is
        # "more specific"; 850440 (one subheading) is more specific than 8504 (eight).
        subheadings = [code for code in hs if len(code) == 6]
        self._coverage: dict[str, int] = {}
        for c in taxonomy.clusters:
            for p in c.hs_prefixes:
                n = sum(1 for code in subheadings if code.startswith(p)) if len(p) < 6 else 1
                self._coverage[p] = n or {2: 100, 4: 8}.get(len(p), 1)

    # -- HS -----------------------------------------------------------------------------------
    def hs(self, codes: list[str], kind: str = "tbt") -> dict[str, tuple[float, str]]:
        """Best HS evidence per cluster: (score, reason).

        A notice listing codes from many chapters is horizontal (all animal products, all packaging): each
        code says less, so its evidence is damped by ``hs_horizontal``. An SPS notice concerns food, animal
        and plant health: its codes for manufactured goods (fur skins, plastic packaging) are damped too.
        """
        w = self.weights
        best: dict[str, tuple[float, str]] = {}
        chapters = len({c[:2] for c in codes})
        damp = 1.0
        if chapters >= w.hs_horizontal_chapters:
            damp = w.hs_horizontal * math.sqrt(w.hs_horizontal_chapters / chapters)
        for code in codes:
            matches: list[tuple[int, str, str]] = []
            for n in range(2, len(code) + 1, 2):
                prefix = code[:n]
                for cid in self._hs.get(prefix, ()):
                    matches.append((n, cid, prefix))
            if matches:
                narrowest = min(self._coverage.get(prefix, 1) for _, _, prefix in matches)
                for n, cid, prefix in matches:
                    score = self._hs_score(n) * damp
                    if self._coverage.get(prefix, 1) > narrowest:
                        score *= w.hs_shadow
                    if kind == "sps" and self._sector[cid] not in _SPS_SECTORS:
                        score *= w.sps_non_food
                    _keep(best, cid, score, f"hs:{prefix}")
            else:
                broad = (w.hs_broad_chapter if len(code) <= 2 else w.hs_broad_heading) * damp
                for cid, _prefix in self._hs_reverse.get(code, ()):
                    _keep(best, cid, broad, f"hs:{code}")
        return best

    def _code_clusters(self, code: str) -> set[str]:
        """The clusters a notice's HS code matches: by a prefix of the code, or (a chapter or heading
        code) by one of their longer prefixes."""
        found = {cid for n in range(2, len(code) + 1, 2) for cid in self._hs.get(code[:n], ())}
        return found or {cid for cid, _ in self._hs_reverse.get(code, ())}

    def _hs_score(self, n: int) -> float:
        score = 0.0
        for length, weight in self.weights.hs_by_length:
            if n >= length:
                score = weight
        return score

    # -- ICS ------------------------------------------------------------------------------------
    def ics(self, codes: list[str]) -> dict[str, tuple[float, str]]:
        """Best ICS evidence per cluster: (score, reason)."""
        w = self.weights
        best: dict[str, tuple[float, str]] = {}
        for code in codes:
            parts = code.split(".")
            matched = False
            for n in range(len(parts), 0, -1):
                prefix = ".".join(parts[:n])
                owners = self._ics.get(prefix, ())
                # like a shared keyword, an ICS code of several clusters (61.020 clothes, 97.180 miscellaneous
                # domestic equipment) says less about any one of them
                shared = math.sqrt(len(owners)) if owners else 1.0
                for cid in owners:
                    _keep(
                        best,
                        cid,
                        (w.ics_exact if n == len(parts) else w.ics_narrower) / shared,
                        f"ics:{code}",
                    )
                    matched = True
            if not matched:
                for cid, _ in self._ics_reverse.get(code, ()):
                    _keep(best, cid, w.ics_broader * (len(parts) + 1) / 3, f"ics:{code}")
        return best

    # -- keywords -------------------------------------------------------------------------------
    def keywords(self, doc: Doc) -> dict[str, tuple[float, list[str]]]:
        """Keyword evidence per cluster: (score, reasons)."""
        return self._keywords(doc, any(doc.codes()), _restricts(doc)).scores

    def _keywords(self, doc: Doc, with_codes: bool, restriction: bool) -> _Words:
        """What the keywords say of each cluster (:class:`_Words`)."""
        w = self.weights
        products = doc.products
        if with_codes:
            # code titles pasted into the products text are the codes in words: the HS/ICS rules count them
            products = self.pasted.split(products).own
        fields = [
            ("title", f"{doc.title}\n{doc.title_zh}"),
            ("products", f"{products}\n{doc.products_zh}"),
            ("description", doc.description),
        ]
        factor = {"title": w.field_title, "products": w.field_products, "description": w.field_description}
        per_cluster: dict[str, dict[str, float]] = defaultdict(dict)
        negative: dict[str, set[str]] = defaultdict(set)
        named: dict[str, set[str]] = defaultdict(set)
        #: the fields where a cluster's own product keyword (not a sector's word) is
        own: dict[str, set[str]] = defaultdict(set)
        title_words: dict[str, set[str]] = defaultdict(set)
        #: where a negative phrase of the cluster starts in the title, and where its product keywords do
        head_negative: dict[str, int] = {}
        title_products: dict[str, list[int]] = defaultdict(list)
        subjects = _RESTRICTION_SUBJECTS if restriction else _TITLE_SUBJECTS
        hits = self.index.hits(fields, subjects)
        narrowed = self._narrowed(hits)
        for entry, fname, starts in hits:
            count = len(starts)
            if entry.negative:
                negative[entry.cluster].add(fname)
                if fname == "title" and min(starts) >= 0:
                    head_negative[entry.cluster] = min(min(starts), head_negative.get(entry.cluster, 1 << 30))
                continue
            if entry.sector in self._narrowing and (fname not in subjects or entry.sector in narrowed):
                continue
            if entry.product:
                # a hazard or rule word ("health certificate", "safety") does not say the product is the
                # cluster's: it cannot cancel a negative phrase ("raw petfood")
                named[entry.cluster].add(fname)
                if not entry.sector:
                    own[entry.cluster].add(fname)
                if fname == "title":
                    title_words[entry.cluster].add(entry.display)
                    title_products[entry.cluster] += starts
            strength = entry.weight * factor[fname] + (w.repeat_bonus if count >= 3 else 0.0)
            strength = min(strength, 0.95)
            cur = per_cluster[entry.cluster]
            if strength > cur.get(entry.display, 0.0):
                cur[entry.display] = strength
        out: dict[str, tuple[float, list[str]]] = {}
        for cid, kws in per_cluster.items():
            prod = 1.0
            for s in kws.values():
                prod *= 1.0 - s
            ranked = sorted(kws, key=lambda k: -kws[k])
            # An SPS measure names its foods: hazard and rule words alone ("MRL", "maximum residue levels",
            # "import tolerance" of tea) on a pesticide-residue rule for broccoli do not make it a tea rule.
            damp = w.sps_attribute_only if doc.kind == "sps" and not named[cid] else 1.0
            if doc.kind == "sps" and self._sector[cid] not in _SPS_SECTORS:
                # as its codes for manufactured goods: "nuts" in a rule on contaminants in food are no fasteners
                damp *= w.sps_non_food
            out[cid] = ((1.0 - prod) * damp, [f"kw:{k}" for k in ranked[:5]])
        # The title names the subject; the products field next. A negative phrase there ("school buses",
        # "wax polish for floors and furniture") with no product keyword of the cluster beside it negates it.
        # ... unless that product only names what the negated subject is for: "protective helmets for
        # motorcycle and moped riders" is about helmets (a product after "for" behind the negative phrase)
        several = head_negative or len(title_products) > 1
        purposes = self.index.purposes(fields[0][1]) if several else []
        for cid, neg in head_negative.items():
            if "title" in named[cid] and _after_purpose(title_products[cid], neg, purposes):
                named[cid].discard("title")
                own[cid].discard("title")
        # A product of the title after "for" behind another one names what that one is for, not a second
        # subject: "pen injectors for insulin and GLP-1 medicines" is no rule on medicines.
        purpose_only = set()
        if purposes:
            for cid, starts in title_products.items():
                others = [s for o, ss in title_products.items() if o != cid for s in ss if s >= 0]
                if others and _after_purpose(starts, min(others), purposes):
                    purpose_only.add(cid)
                    if cid in out:
                        # what the subject is for or made of: "Footwear made from Leather" is no leather rule
                        score, reasons = out[cid]
                        out[cid] = (score * w.kw_purpose, reasons)
        # A negative phrase of the title ("nutrition labelling of infant formula") is cancelled by the cluster's
        # own product beside it, not by a sector's word; one of the products field ("milk, poultry" in a
        # registration rule for food establishments) by a sector's word too.
        negated = {
            cid
            for cid, where in negative.items()
            if ("title" in where and "title" not in own[cid])
            or ("products" in where and not named[cid] & {"title", "products"})
        }
        return _Words(out, negated, named, title_words, purpose_only, own)

    def _narrowed(self, hits: list[tuple[_Entry, str, list[int]]]) -> set[str]:
        """Subject-only sectors whose measure the title narrows to one of their clusters' products."""
        if not self._narrowing:
            return set()
        return {
            sid
            for entry, fname, _ in hits
            if fname == _SUBJECT and entry.product and not entry.negative and not entry.sector
            for sid, narrowing in self._narrowing.items()
            if entry.cluster in narrowing
        }

    def evidence(self, doc: Doc) -> dict[str, Evidence]:
        """HS, ICS and keyword evidence for every cluster with any."""
        out: dict[str, Evidence] = defaultdict(Evidence)
        hs_codes, ics_codes = doc.codes()
        for cid, (score, reason) in self.hs(hs_codes, doc.kind).items():
            ev = out[cid]
            ev.hs = score
            ev.reasons.append(reason)
        for code in hs_codes:
            # every code of the notice that names the cluster, not only the one behind its best score:
            # 850440 is a code of the charger makers' 8504 too, though 853669 scored them higher
            for cid in self._code_clusters(code):
                if cid in out:
                    out[cid].hs_codes += (code,)
        best: dict[str, tuple[float, str]] = {}
        for code in ics_codes:
            for cid, (score, reason) in self.ics([code]).items():
                out[cid].ics_codes += (code,)
                _keep(best, cid, score, reason)
        for cid, (score, reason) in best.items():
            ev = out[cid]
            ev.ics = score
            ev.reasons.append(reason)
        restriction = _restricts(doc)
        words = self._keywords(doc, bool(hs_codes or ics_codes), restriction)
        for cid, (score, reasons) in words.scores.items():
            ev = out[cid]
            ev.kw = score
            ev.reasons.extend(reasons)
            ev.title_product = "title" in words.named.get(cid, ())
            ev.title_words = frozenset(words.title_words.get(cid, ()))
            ev.title_purpose = cid in words.purpose_only
            ev.product_named = bool(words.named.get(cid))
            ev.own_named = bool(words.own.get(cid))
            ev.restricted = restriction and ev.product_named
        for cid in words.negated:
            # also a cluster without any evidence: the model's score and companions must see it
            out[cid].negated = True
        self._narrow_broad(out, doc.kind)
        return dict(out)

    def _narrow_broad(self, out: dict[str, Evidence], kind: str) -> None:
        """A code of socks (611595) is a code of chapter 61 too, apparel's prefix; when the title names the
        socks, the chapter claims nothing more ("Socks — Specification" is not an apparel standard), nor does
        a code that only the chapter gives to apparel (socks coded 6116, gloves: a slip). A broad cluster of a
        subject-only sector the title does not name loses the HS evidence that came from a chapter prefix
        alone, or from codes of a narrower cluster named in the title that scored higher there.

        Its words count less too (``kw_narrowed``): the fibres, yarns and garment words of a socks standard's
        description describe the socks. Not in news, where a report on socks often names the wider trade."""
        w = self.weights
        for narrowing, broad in self._broad:
            named = [out[c] for c in narrowing if c in out and out[c].title_product]
            if not named:
                continue
            for cid in broad:
                ev = out.get(cid)
                if ev is None or ev.title_product:
                    continue
                if kind != "news":
                    ev.kw *= w.kw_narrowed
                if not ev.hs:
                    continue
                chapter_only = ev.hs <= self._hs_score(2)
                if chapter_only or all(
                    any(code in n.hs_codes and n.hs > ev.hs for n in named) for code in ev.hs_codes
                ):
                    ev.hs = 0.0
                    ev.reasons = [r for r in ev.reasons if not r.startswith("hs:")]


def _restricts(doc: Doc) -> bool:
    """A notice (not a news item) that restricts substances in products: its products field and description
    are subjects."""
    return doc.kind != "news" and is_restriction(doc.title, doc.description)


def _after_purpose(starts: list[int], before: int, purposes: list[int]) -> bool:
    """Every occurrence (a token index; -1 for a Chinese one) comes after a purpose preposition that comes
    after ``before``."""
    return bool(starts) and all(s >= 0 and any(before < p < s for p in purposes) for s in starts)


#: words of law titles too common to tell whether a text names one
_TITLE_WORDS = frozenset(
    [
        "standards",
        "standard",
        "specifications",
        "regulations",
        "requirements",
        "safety",
        "general",
        "products",
        "food",
        "foods",
        "act",
        "list",
        "lists",
        "partial",
        "revision",
        "amendment",
    ]
)


def _hint(name: str) -> str:
    """The longest word of a law's title that is not a common word of titles (lower case)."""
    words = re.findall(r"\w+", name.lower()) or [name.lower()]
    return max([w for w in words if w not in _TITLE_WORDS] or words, key=len)


def _phrases_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for the phrases, any run of spaces matching any other, longest first;
    a phrase that starts or ends with a Latin letter or digit matches only whole words there."""
    if not phrases:
        return None
    parts = []
    for phrase in sorted(phrases, key=len, reverse=True):
        body = r"\s+".join(re.escape(w) for w in phrase.split())
        head = r"\b" if phrase[0].isascii() and phrase[0].isalnum() else ""
        tail = r"\b" if phrase[-1].isascii() and phrase[-1].isalnum() else ""
        parts.append(f"{head}{body}{tail}")
    return re.compile("|".join(parts), re.I)


def _scoped(entries: list[_Entry], subject_only: dict[str, frozenset[str]]) -> list[_Entry]:
    """A key's entries, its clusters' own ones tagged with their subject-only group (sector) when the key is
    also that group's word."""
    scopes = [g for g in dict.fromkeys(e.sector for e in entries) if g in subject_only]
    if not scopes:
        return entries
    out = []
    for e in entries:
        group = next((g for g in scopes if e.cluster in subject_only[g]), None)
        out.append(replace(e, sector=group) if group and not e.negative and not e.sector else e)
    return out


def _keep(best: dict[str, tuple[float, str]], cid: str, score: float, reason: str) -> None:
    if score > best.get(cid, (0.0, ""))[0]:
        best[cid] = (score, reason)
