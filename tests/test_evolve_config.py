"""The evolution config: versioned YAML, defaults in one place, every error with its path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from heuristics.evolve.config import (
    API_VERSION,
    KIND,
    ConfigError,
    EvolutionConfig,
    ScenarioRef,
    config_from_mapping,
    load_config,
    validate_config,
)


def test_an_empty_config_gives_the_dataclass_defaults() -> None:
    config = config_from_mapping({"apiVersion": API_VERSION, "kind": KIND})
    assert config == EvolutionConfig()
    assert config.proposer == "gp"
    assert config.gemini.model == "gemini-3.5-flash"
    assert config.gemini.api_version == "v1beta"


def test_a_yaml_file_overrides_any_subset(tmp_path: Path) -> None:
    path = tmp_path / "evolve.yaml"
    path.write_text(
        f"apiVersion: {API_VERSION}\n"
        f"kind: {KIND}\n"
        "proposer: ensemble\n"
        "gemini: {temperature: 0.3, base_url: 'http://127.0.0.1:9'}\n"
        "ensemble:\n"
        "  - {proposer: gemini, weight: 3, model: gemini-3.5-flash}\n"
        "  - {proposer: openai, weight: 1}\n"
        "evaluator:\n"
        "  screen: {name: 'alibaba-gpu-v2023:default', nodes_fraction: 0.2}\n"
        "  train: [{name: 'orlib:binpack1', seeds: [0, 1]}]\n"
        "budget: {samples: 10, time_s: null}\n"
    )
    config = load_config(path)
    assert config.proposer == "ensemble"
    assert config.gemini.temperature == 0.3
    assert config.gemini.model == "gemini-3.5-flash"  # untouched fields keep defaults
    assert [m.weight for m in config.ensemble] == [3.0, 1.0]
    assert config.evaluator.screen == ScenarioRef("alibaba-gpu-v2023:default", nodes_fraction=0.2)
    assert config.evaluator.train == (ScenarioRef("orlib:binpack1", (0, 1)),)
    assert config.budget.samples == 10 and config.budget.time_s is None


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    """PyYAML alone would keep the second ``train`` and run another experiment."""
    path = tmp_path / "evolve.yaml"
    path.write_text(
        f"apiVersion: {API_VERSION}\nkind: {KIND}\n"
        "evaluator:\n"
        "  train: [{name: 'weibull:200'}]\n"
        "  objective: auto\n"
        "  train: [{name: 'weibull:500'}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "found the key 'train' again (first on line 4)" in message
    assert "line 6" in message and str(path) in message


def test_yaml_merge_keys_still_merge(tmp_path: Path) -> None:
    path = tmp_path / "evolve.yaml"
    path.write_text(
        f"apiVersion: {API_VERSION}\nkind: {KIND}\n"
        "gemini: &llm {temperature: 0.3, timeout_s: 20}\n"
        "openai: {<<: *llm, timeout_s: 30}\n"
    )
    config = load_config(path)
    assert (config.openai.temperature, config.openai.timeout_s) == (0.3, 30.0)


def test_every_error_is_reported_at_once_with_its_field_path() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(
            {
                "apiVersion": "binforge.dev/v0",
                "kind": KIND,
                "proposr": "gp",
                "gemini": {"temperature": "hot"},
                "evaluator": {"train": [{"name": "x", "seeds": "0"}], "screen_bar": "lucky"},
                "executor": {"kind": "k8s", "workers": 0},
                "database": {"islands": 0},
            }
        )
    errors = caught.value.errors
    assert any(e.startswith("apiVersion: expected") for e in errors)
    assert any(e.startswith("proposr: unknown field") for e in errors)
    assert any(e.startswith("gemini.temperature: expected float") for e in errors)
    assert any(e.startswith("evaluator.train[0].seeds: expected a list") for e in errors)
    assert any(e.startswith("executor.kind: expected one of") for e in errors)
    assert any(e.startswith("evaluator.screen_bar: expected one of") for e in errors)
    assert len(errors) >= 6


def test_ranges_are_checked_for_configs_built_in_code() -> None:
    config = EvolutionConfig()
    bad = replace(config, database=replace(config.database, islands=0), proposer="claude")
    with pytest.raises(ConfigError) as caught:
        validate_config(bad)
    assert "database.islands: expected >= 1" in caught.value.errors
    assert any(e.startswith("proposer:") for e in caught.value.errors)


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="read configuration"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        load_config(broken)


def test_a_scenario_label_names_what_differs_from_the_defaults() -> None:
    assert ScenarioRef("weibull:2k").label == "weibull:2k"
    assert ScenarioRef("weibull:2k", scenario_seed=3).label == "weibull:2k#3"
    ref = ScenarioRef("alibaba-gpu-v2023", protocol="saturate", nodes_fraction=0.25)
    assert ref.label == "alibaba-gpu-v2023/saturate~0.25"


def test_the_commented_example_in_the_docs_is_a_valid_config() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "evolve.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    import yaml

    config = config_from_mapping(yaml.safe_load(block), source="docs/evolve.md")
    assert config.evaluator.screen.nodes_fraction == 0.2
    assert config.budget.time_s == 420


def test_names_are_checked_for_a_new_run_not_for_a_recorded_one() -> None:
    recorded = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "seed_heuristics": ["best-fit", "a-winner-since-renamed"],
        "baselines": ["bestfit"],
        "evaluator": {"screen": {"name": "uniform:abc"}, "train": [{"name": "weibull:1k"}]},
    }
    config = config_from_mapping(recorded)  # a run's stored config: resumable, selectable
    assert config.seed_heuristics[1] == "a-winner-since-renamed"
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(recorded, names=True)
    assert caught.value.errors == (
        "evaluator.screen.name: uniform:abc: expected uniform:N items (N > 0), e.g. uniform:500",
        "seed_heuristics[1]: seed heuristic 'a-winner-since-renamed': not a built-in seed "
        + caught.value.errors[1].split("not a built-in seed ", 1)[1],
        "baselines[0]: " + caught.value.errors[2].split(": ", 1)[1],
    )
    assert "unknown heuristic 'bestfit'" in caught.value.errors[2]
    with pytest.raises(ConfigError, match="uniform:abc"):
        validate_config(config, names=True)
