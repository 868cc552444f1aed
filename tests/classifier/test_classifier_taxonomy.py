"""The taxonomy loader: the bundled file, validation errors that name the cluster, reload on change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from classifier import TaxonomyError, cluster_name, cluster_names, load_taxonomy
from classifier.risk import load_risk
from classifier.taxonomy import Taxonomy, default_path
from classifier.text import phrase_key
from tbtwatch.errors import ConfigError
from tbtwatch.settings import load_settings

BUNDLED = default_path()


def _write(tmp_path: Path, data: object, name: str = "clusters.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _base() -> dict[str, object]:
    return yaml.load(BUNDLED.read_text(encoding="utf-8"), Loader=_LOADER)


def test_bundled_taxonomy_has_the_45_reference_ids(taxonomy: Taxonomy) -> None:
    assert len(taxonomy) == 45
    assert len(set(taxonomy.ids)) == 45
    assert {"toys", "household_appliances", "tea", "pv_solar", "nev_vehicles"} <= set(taxonomy.ids)
    assert len(taxonomy.hash) == 64


def test_reference_ids_match_the_shared_reference(taxonomy: Taxonomy) -> None:
    reference = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "zhejiang_clusters.yaml"
    if not reference.exists():
        pytest.skip(f"shared reference not found at {reference}")
    ids = [c["id"] for c in yaml.safe_load(reference.read_text(encoding="utf-8"))["clusters"]]
    assert ids == taxonomy.ids


def test_cluster_names_for_alerts_and_web() -> None:
    names = cluster_names()
    assert names["toys"].zh == "玩具产业集群"
    assert names["toys"].en.startswith("Toys")
    assert cluster_name("toys", "zh") == "玩具产业集群"
    assert cluster_name("toys", "en").startswith("Toys")
    assert cluster_name("no_such_cluster") == "no_such_cluster"


def test_unknown_key_names_the_cluster(tmp_path: Path) -> None:
    data = _base()
    data["clusters"][3]["hs_prefix"] = ["9503"]  # type: ignore[index]
    with pytest.raises(TaxonomyError) as err:
        load_taxonomy(_write(tmp_path, data))
    cid = data["clusters"][3]["id"]  # type: ignore[index]
    assert f"cluster '{cid}'" in str(err.value)
    assert "'hs_prefix'" in str(err.value) and "Fix:" in str(err.value)


def test_duplicate_id(tmp_path: Path) -> None:
    data = _base()
    data["clusters"].append(dict(data["clusters"][0]))  # type: ignore[index,union-attr]
    with pytest.raises(TaxonomyError, match="cluster 'textile_fabrics_fibres': duplicate id"):
        load_taxonomy(_write(tmp_path, data))


@pytest.mark.parametrize("bad", ["95O3", "950", "9503000", ""])
def test_malformed_hs_prefix(tmp_path: Path, bad: str) -> None:
    data = _base()
    toys = next(c for c in data["clusters"] if c["id"] == "toys")  # type: ignore[union-attr]
    toys["hs_prefixes"] = ["9503", bad]
    with pytest.raises(TaxonomyError, match=r"cluster 'toys'.*hs_prefixes\[1\]"):
        load_taxonomy(_write(tmp_path, data))


@pytest.mark.parametrize("bad", ["97.2", "97.200.5", "972.00", "97-200"])
def test_malformed_ics_code(tmp_path: Path, bad: str) -> None:
    data = _base()
    toys = next(c for c in data["clusters"] if c["id"] == "toys")  # type: ignore[union-attr]
    toys["ics_codes"] = [bad]
    with pytest.raises(TaxonomyError, match=r"cluster 'toys'.*ics_codes\[0\]"):
        load_taxonomy(_write(tmp_path, data))


def test_unquoted_code_must_be_quoted(tmp_path: Path) -> None:
    path = tmp_path / "clusters.yaml"
    text = BUNDLED.read_text(encoding="utf-8").replace("  - '9503'\n", "  - 9503\n", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"cluster 'toys'.*quote it"):
        load_taxonomy(path)


def test_unknown_top_level_key_and_bad_yaml(tmp_path: Path) -> None:
    data = _base()
    data["clusterz"] = []
    with pytest.raises(TaxonomyError, match="clusterz"):
        load_taxonomy(_write(tmp_path, data))
    broken = tmp_path / "broken.yaml"
    broken.write_text("clusters: [\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not valid YAML"):
        load_taxonomy(broken)
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "missing.yaml")


def test_taxonomy_error_is_a_config_error() -> None:
    assert issubclass(TaxonomyError, ConfigError)


def test_a_yaml_edit_takes_effect_without_code_change(tmp_path: Path) -> None:
    data = _base()
    path = _write(tmp_path, data)
    first = load_taxonomy(path)
    assert load_taxonomy(path) is first  # cached while unchanged
    toys = next(c for c in data["clusters"] if c["id"] == "toys")  # type: ignore[union-attr]
    toys["keywords_en"].append("fidget spinner")
    _write(tmp_path, data)
    os.utime(path, ns=(1, 1))  # make sure the stamp differs even on coarse file systems
    second = load_taxonomy(path)
    assert "fidget spinner" in second.get("toys").keywords_en
    assert second.hash != first.hash


def test_config_dir_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    data = _base()
    data["clusters"] = [c for c in data["clusters"] if c["id"] in ("toys", "tea")]  # type: ignore[union-attr]
    data.pop("companions")  # they name vehicle clusters, not in this two-cluster file
    data.pop("components")
    data["sectors"] = {"agrifood": data["sectors"]["agrifood"]}  # type: ignore[index]  # no textile cluster left
    _write(conf, data)
    (conf / "risk.yaml").write_text(
        (BUNDLED.parent / "risk.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    monkeypatch.setenv("TBTWATCH_CONFIG_DIR", str(conf))
    settings = load_settings(tmp_path, environ={})
    assert load_taxonomy(settings=settings).ids == ["toys", "tea"]
    assert set(cluster_names(settings)) == {"toys", "tea"}
    assert load_risk(settings=settings).market("EU")[0] == 1.0


def test_risk_yaml_validation(tmp_path: Path) -> None:
    data = yaml.safe_load((BUNDLED.parent / "risk.yaml").read_text(encoding="utf-8"))
    data["signals"]["ban"]["weight"] = 3
    with pytest.raises(TaxonomyError, match=r"signals\.ban.*between 0 and 1"):
        load_risk(_write(tmp_path, data, "risk.yaml"))
    data = yaml.safe_load((BUNDLED.parent / "risk.yaml").read_text(encoding="utf-8"))
    data["market"] = {}
    with pytest.raises(TaxonomyError, match="unknown key"):
        load_risk(_write(tmp_path, data, "risk.yaml"))


def test_sector_keywords_are_validated(tmp_path: Path) -> None:
    data = _base()
    data["sectors"] = {"no_such_sector": {"keywords_en": ["x"]}}  # type: ignore[index]
    with pytest.raises(TaxonomyError, match=r"sector 'no_such_sector': no cluster has this sector"):
        load_taxonomy(_write(tmp_path, data))
    data["sectors"] = {"agrifood": {"keywordz": ["x"]}}  # type: ignore[index]
    with pytest.raises(TaxonomyError, match=r"sector 'agrifood': unknown key"):
        load_taxonomy(_write(tmp_path, data, "b.yaml"))
    data["sectors"] = {"agrifood": {"keywords_en": "food"}}  # type: ignore[index]
    with pytest.raises(TaxonomyError, match=r"sector 'agrifood'.*must be a list"):
        load_taxonomy(_write(tmp_path, data, "c.yaml"))
    data["sectors"] = {"agrifood": {"subject_only": "yes"}}  # type: ignore[index]
    with pytest.raises(TaxonomyError, match=r"sector 'agrifood': 'subject_only' must be true or false"):
        load_taxonomy(_write(tmp_path, data, "d.yaml"))
    data["sectors"] = {"agrifood": {"subject_only": True, "broad": ["toys"]}}  # type: ignore[index]
    with pytest.raises(
        TaxonomyError, match=r"sector 'agrifood': broad cluster\(s\) toys are not in this sector"
    ):
        load_taxonomy(_write(tmp_path, data, "e.yaml"))
    data["sectors"] = {"all_clothing": {"members": ["childrens_wear_zhili", "no_such"]}}  # type: ignore[index]
    with pytest.raises(TaxonomyError, match=r"sector 'all_clothing': members 'no_such' are not cluster ids"):
        load_taxonomy(_write(tmp_path, data, "f.yaml"))
    # a group of listed clusters needs no sector of that name
    data["sectors"] = {"all_clothing": {"members": ["socks_hosiery"], "keywords_en": ["clothing"]}}  # type: ignore[index]
    group = load_taxonomy(_write(tmp_path, data, "g.yaml")).sectors[0]
    assert group.members == ("socks_hosiery",)


def test_bundled_rule_phrases_are_not_written_twice(taxonomy: Taxonomy) -> None:
    # a negative phrase or a context phrase is matched on its stemmed words: a second form of the same words
    # ("seed drill", "seed drills") matches nothing the first does not
    lists = [(c.id, c.negative_keywords) for c in taxonomy.clusters]
    lists += [(s.id, s.negative_keywords) for s in taxonomy.sectors]
    lists += [(c.source, c.context) for c in taxonomy.companions]
    lists += [(c.whole, c.context) for c in taxonomy.components]
    for owner, phrases in lists:
        keys = [phrase_key(p) for p in phrases]
        twice = sorted({p for p, k in zip(phrases, keys, strict=True) if keys.count(k) > 1})
        assert not twice, (owner, twice)


def test_bundled_sectors(taxonomy: Taxonomy) -> None:
    food = [s for s in taxonomy.sectors if s.id == "agrifood"]
    assert food and "food establishments" in food[0].keywords_en and "milk" in food[0].negative_keywords


@pytest.mark.parametrize(
    ("companion", "message"),
    [
        (
            {"from": "auto_parts", "to": "no_such", "context": ["x"]},
            r"companions\[0\]: 'to' 'no_such' is not a cluster id",
        ),
        ({"from": "toys", "to": "toys", "context": ["x"]}, r"'from' and 'to' are the same cluster"),
        ({"from": "toys", "to": "tea", "context": []}, r"'context' needs at least one phrase"),
        ({"from": "toys", "to": "tea", "context": ["x"], "factor": 2}, r"'factor' 2 must be a number"),
        ({"from": "toys", "to": "tea", "context": ["x"], "when": "y"}, r"unknown key\(s\) 'when'"),
        (
            {"from": "toys", "to": "tea", "context": ["x"], "kinds": ["press"]},
            r"'kinds' 'press' is not one of",
        ),
    ],
)
def test_companion_validation(tmp_path: Path, companion: dict[str, object], message: str) -> None:
    data = _base()
    data["companions"] = [companion]
    with pytest.raises(TaxonomyError, match=message):
        load_taxonomy(_write(tmp_path, data))


def test_companions_change_the_taxonomy_hash(tmp_path: Path, taxonomy: Taxonomy) -> None:
    data = _base()
    data.pop("companions")
    assert load_taxonomy(_write(tmp_path, data)).hash != taxonomy.hash


@pytest.mark.parametrize(
    ("component", "message"),
    [
        (
            {"of": "no_such", "parts": ["lighting"], "context": ["x"]},
            r"components\[0\]: 'of' 'no_such' is not",
        ),
        ({"of": "auto_parts", "parts": ["lamps"], "context": ["x"]}, r"'parts' 'lamps' is not a cluster id"),
        ({"of": "auto_parts", "parts": [], "context": ["x"]}, r"'parts' needs at least one cluster id"),
        ({"of": "auto_parts", "parts": ["auto_parts"], "context": ["x"]}, r"'parts' lists 'of' itself"),
        ({"of": "auto_parts", "parts": ["lighting"], "context": []}, r"'context' needs at least one phrase"),
        (
            {"of": "auto_parts", "parts": ["lighting"], "context": ["x"], "factor": 1},
            r"unknown key\(s\) 'factor'",
        ),
    ],
)
def test_component_validation(tmp_path: Path, component: dict[str, object], message: str) -> None:
    data = _base()
    data["components"] = [component]
    with pytest.raises(TaxonomyError, match=message):
        load_taxonomy(_write(tmp_path, data))
    data["components"] = {"of": "auto_parts"}
    with pytest.raises(TaxonomyError, match=r"'components' must be a list of mappings"):
        load_taxonomy(_write(tmp_path, data))


def test_components_are_read_and_hashed(tmp_path: Path, taxonomy: Taxonomy) -> None:
    vehicle = [c for c in taxonomy.components if c.whole == "auto_parts"]
    assert vehicle and {"lighting", "locks_security"} <= set(vehicle[0].parts)
    data = _base()
    data.pop("components")
    assert load_taxonomy(_write(tmp_path, data)).hash != taxonomy.hash


def test_instrument_names_are_validated_and_hashed(tmp_path: Path, taxonomy: Taxonomy) -> None:
    data = _base()
    assert "Standards and Specifications for Foods and Food Additives" in taxonomy.instrument_names
    data["instrument_names"] = "Food Sanitation Act"
    with pytest.raises(TaxonomyError, match=r"'instrument_names' must be a list"):
        load_taxonomy(_write(tmp_path, data))
    data["instrument_names"] = ["Food Sanitation Act", ""]
    with pytest.raises(TaxonomyError, match=r"instrument_names\[1\] is empty"):
        load_taxonomy(_write(tmp_path, data))
    data.pop("instrument_names")
    assert load_taxonomy(_write(tmp_path, data)).hash != taxonomy.hash
