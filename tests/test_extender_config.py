"""The extender's config: a versioned file, environment overrides, every problem
reported at once with its field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_plugin.config import (
    ConfigError,
    ExtenderConfig,
    build_config,
    env_overrides,
    load_config,
)


def test_a_versioned_file_sets_fields_by_camel_case_name(tmp_path: Path) -> None:
    path = tmp_path / "extender.yaml"
    path.write_text(
        "apiVersion: binforge.dev/v1alpha1\n"
        "kind: ExtenderConfig\n"
        "mode: score\n"
        "heuristicTimeoutMs: 5\n"
        "urlPrefix: /binforge\n"
        "extendedResources: [example.com/fpga]\n"
    )
    config = load_config(path)
    assert config.mode == "score"
    assert config.heuristic_timeout_ms == 5.0
    assert config.verb_path(config.filter_verb) == "/binforge/filter"
    assert config.extended_resources == ("example.com/fpga",)


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "extender.yaml"
    path.write_text(
        "apiVersion: binforge.dev/v1alpha1\nkind: ExtenderConfig\nmode: score\nmode: filter\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert f"parse extender config {path}" in message
    assert "found the key 'mode' again (first on line 3)" in message and "line 4" in message


def test_wrong_api_version_and_kind_are_both_reported(tmp_path: Path) -> None:
    path = tmp_path / "extender.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\n")
    with pytest.raises(ConfigError, match=r"apiVersion: .*kind: "):
        load_config(path)


def test_every_invalid_field_is_reported_at_once_with_its_path() -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({"mode": "guess", "port": 0, "heuristicTimeoutMs": -1, "colour": "red"})
    message = str(caught.value)
    assert "colour: unknown field" in message
    with pytest.raises(ConfigError) as caught:
        build_config({"mode": "guess", "port": 0, "heuristicTimeoutMs": -1})
    message = str(caught.value)
    assert "mode: expected one of" in message
    assert "port: expected 1..65535" in message
    assert "heuristicTimeoutMs: expected a positive number" in message


def test_environment_overrides_the_file_and_flags_override_the_environment() -> None:
    base = ExtenderConfig(mode="filter", port=9000)
    env = env_overrides(
        {"BINFORGE_SERVE_MODE": "shadow", "BINFORGE_SERVE_PORT": "9100", "HOME": "/"}
    )
    assert env == {"mode": "shadow", "port": "9100"}
    config = build_config(env, "environment", base=base)
    assert (config.mode, config.port) == ("shadow", 9100)
    config = build_config({"port": 9200}, "flags", base=config)
    assert (config.mode, config.port) == ("shadow", 9200)


def test_a_bad_environment_value_names_the_variable_field() -> None:
    with pytest.raises(ConfigError, match="port: expected int"):
        build_config({"port": "eighty"}, "environment")


def test_node_names_need_a_watch_cache() -> None:
    with pytest.raises(ConfigError, match="nodeCacheCapable"):
        ExtenderConfig(watch=False, node_cache_capable=True)


@pytest.mark.parametrize(
    ("record_dir", "problem"),
    [
        ("/rec/{when}", r"unknown placeholder \{when\} in '/rec/\{when\}': expected \{start\}, \{hostname\}"),
        ("/rec/{start:%Y}", r"unknown placeholder \{start:%Y\}"),
        ("/rec/{}", r"unknown placeholder \{\}"),
        ("/rec/{start", r"recordDir: .* in '/rec/\{start' \(placeholders: .*; write \{\{ for a brace\)"),
    ],
)  # fmt: skip
def test_record_dir_placeholders_other_than_start_and_hostname_are_refused(
    record_dir: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        build_config({"recordDir": record_dir}, "environment")


def test_the_documented_example_config_loads(tmp_path: Path) -> None:
    docs = Path(__file__).parent.parent / "docs" / "extender.md"
    example = docs.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(example)
    config = load_config(path)
    assert config.mode == "filter"
    assert config.node_cache_capable


def test_the_default_body_limit_holds_full_node_objects_for_5000_nodes() -> None:
    # nodeCacheCapable false: kube-scheduler sends whole Node objects, about 15 KB each.
    assert ExtenderConfig().max_request_bytes >= 5_000 * 25_000
