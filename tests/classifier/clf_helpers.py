"""Helpers shared by the classifier tests and their conftest (a module name no other test folder uses)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tbtwatch.models import Kind


@dataclass(frozen=True)
class TrainedHome:
    """A home whose store holds three notices, trained once through ``tbtwatch classifier train``."""

    home: Path
    exit_code: int
    stdout: str
    stderr: str


#: weakly labelled notices of the trained home (HS codes of toys, refrigerators and barley)
TRAIN_NOTICES = [
    ("G/TBT/N/EU/77", Kind.TBT, "Toy safety regulation", ["9503"]),
    ("G/TBT/N/EU/78", Kind.TBT, "Energy labelling of refrigerators", ["841810"]),
    ("G/SPS/N/EU/79", Kind.SPS, "Maximum residue limits in barley", ["100310"]),
]
