"""render_scheduler_config: the one definition of binforge's KubeSchedulerConfiguration.

(That kube-scheduler accepts and obeys it is proven in test_extender_stanza.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .scheduler_config import (
    API_VERSION,
    ExtenderSettings,
    SchedulerConfigError,
    render_scheduler_config,
    scheduler_config_yaml,
)


def test_default_config_has_the_binforge_and_default_profiles_and_scores_every_node() -> None:
    config = render_scheduler_config()
    assert config["apiVersion"] == API_VERSION
    assert config["kind"] == "KubeSchedulerConfiguration"
    assert [p["schedulerName"] for p in config["profiles"]] == ["binforge", "default-scheduler"]
    assert config["percentageOfNodesToScore"] == 100
    assert config["leaderElection"] == {"leaderElect": False}
    assert "extenders" not in config
    assert "clientConnection" not in config


def test_extender_stanza_uses_kube_scheduler_field_names_and_a_go_duration() -> None:
    extender = ExtenderSettings(
        url_prefix="http://127.0.0.1:8888",
        weight=3,
        node_cache_capable=False,
        ignorable=True,
        http_timeout_s=0.25,
    )
    config = render_scheduler_config(extender=extender, kubeconfig="/tmp/k")
    assert config["extenders"] == [
        {
            "urlPrefix": "http://127.0.0.1:8888",
            "filterVerb": "filter",
            "prioritizeVerb": "prioritize",
            "weight": 3,
            "nodeCacheCapable": False,
            "ignorable": True,
            "httpTimeout": "250ms",
        }
    ]
    assert config["clientConnection"] == {"kubeconfig": "/tmp/k"}


def test_filter_only_extender_has_no_weight() -> None:
    entry = ExtenderSettings("http://x", prioritize_verb=None, http_timeout_s=5).to_config()
    assert "prioritizeVerb" not in entry
    assert "weight" not in entry
    assert entry["httpTimeout"] == "5s"


def test_leader_election_uses_its_own_lease_not_the_default_schedulers() -> None:
    config = render_scheduler_config(leader_elect=True, lease_name="bf", lease_namespace="ops")
    assert config["leaderElection"] == {
        "leaderElect": True,
        "resourceLock": "leases",
        "resourceName": "bf",
        "resourceNamespace": "ops",
    }


def test_invalid_extender_settings_report_every_problem_with_its_field() -> None:
    with pytest.raises(SchedulerConfigError) as error:
        ExtenderSettings("127.0.0.1:80", weight=0, http_timeout_s=0)
    message = str(error.value)
    assert "url_prefix" in message
    assert "weight" in message
    assert "http_timeout_s" in message


def test_extender_needs_a_verb() -> None:
    with pytest.raises(SchedulerConfigError, match="at least one"):
        ExtenderSettings("http://x", filter_verb=None, prioritize_verb=None)


def test_invalid_profile_settings_are_rejected() -> None:
    with pytest.raises(SchedulerConfigError) as error:
        render_scheduler_config(
            scheduler_name="default-scheduler", percentage_of_nodes_to_score=101
        )
    assert "scheduler_name" in str(error.value)
    assert "percentage_of_nodes_to_score" in str(error.value)


def test_yaml_round_trips_in_the_rendered_key_order() -> None:
    config = render_scheduler_config(extender=ExtenderSettings("http://127.0.0.1:1/x"))
    text = scheduler_config_yaml(config)
    assert yaml.safe_load(text) == config
    assert text.startswith(f"apiVersion: {API_VERSION}\nkind: KubeSchedulerConfiguration\n")


def test_config_with_the_extender_on_localhost_matches_the_golden_file() -> None:
    """The pinned wire form: a change to the rendering must show up as a reviewed diff."""
    golden = Path(__file__).parent / "golden" / "scheduler-config.yaml"
    rendered = scheduler_config_yaml(
        render_scheduler_config(extender=ExtenderSettings("http://127.0.0.1:8080"))
    )
    assert rendered == golden.read_text(), (
        f"{golden} is out of date; if the change is intended, regenerate it from "
        "render_scheduler_config(extender=ExtenderSettings('http://127.0.0.1:8080'))"
    )
