"""WTO members: code (as used in document symbols), English and Chinese names, lookup by any known name.

>>> resolve("Kuwait, the State of"), chinese_name("EU")
('KWT', '欧盟')
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Member:
    """One WTO member."""

    code: str
    name_en: str
    name_zh: str
    aliases: tuple[str, ...]


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("\xa0", " ")).strip().casefold()


@cache
def members() -> dict[str, Member]:
    """All members keyed by code (from ``tbtwatch/data/wto_members.csv``)."""
    text = resources.files("tbtwatch").joinpath("data/wto_members.csv").read_text(encoding="utf-8")
    out: dict[str, Member] = {}
    for row in csv.DictReader(text.splitlines()):
        aliases = tuple(a.strip() for a in row["aliases"].split("|") if a.strip())
        out[row["code"]] = Member(row["code"], row["name_en"], row["name_zh"], aliases)
    return out


@cache
def _by_name() -> dict[str, str]:
    index: dict[str, str] = {}
    for m in members().values():
        for name in (m.code, m.name_en, m.name_zh, *m.aliases):
            index.setdefault(_key(name), m.code)
    return index


def resolve(name: str | None) -> str | None:
    """Member code for a code or any known name, or None when unknown."""
    if not name:
        return None
    return _by_name().get(_key(name))


def chinese_name(code: str | None) -> str:
    """Chinese short name of a member (the code itself when unknown)."""
    if not code:
        return ""
    m = members().get(code)
    return m.name_zh if m else code


def english_name(code: str | None) -> str:
    """English WTO name of a member (the code itself when unknown)."""
    if not code:
        return ""
    m = members().get(code)
    return m.name_en if m else code
