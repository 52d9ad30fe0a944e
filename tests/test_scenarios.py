"""Scenario names resolve to loaded scenarios with the right default protocol; derivations
are deterministic by seed; unknown names fail with the list of known ones."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cluster_traces.derive import (
    Inflate,
    Scale,
    Shuffle,
    Subsample,
    TimeWindow,
    demand,
    inflate,
    shuffle,
    subsample,
    time_window,
)
from cluster_traces.scenarios import (
    MAX_GENERATED_ITEMS,
    ScenarioError,
    check_scenario_name,
    keep_nodes,
    load_scenario,
)
from cluster_traces.synthetic import synthetic_cluster, synthetic_workload


def test_unknown_name_lists_the_known_names() -> None:
    with pytest.raises(ScenarioError) as error:
        load_scenario("alibaba-gpu-2099")
    message = str(error.value)
    assert "unknown scenario 'alibaba-gpu-2099'" in message
    assert "alibaba-gpu-v2023:cpu050" in message and "orlib:binpack3" in message


def test_unknown_variant_lists_the_variants(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="variants: default, cpu0"):
        load_scenario("alibaba-gpu-v2023:cpu999", tmp_path)


def test_missing_trace_dir_says_how_to_get_the_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BINFORGE_TRACE_DIR", raising=False)
    with pytest.raises(ScenarioError, match="BINFORGE_TRACE_DIR"):
        load_scenario("philly-subset@10x64c-256g")


def test_synthetic_needs_no_files_and_saturates_gpus() -> None:
    scenario = load_scenario("synthetic", seed=3)
    assert scenario.cluster is not None and scenario.workload is not None
    assert scenario.replay.protocol == "saturate"
    assert scenario.replay.target_resource == "gpu"
    assert scenario.replay.seed == 3


def test_generated_weibull_scenario_has_n_items_and_elastic_protocol() -> None:
    scenario = load_scenario("weibull:2k", seed=1)
    assert scenario.replay.protocol == "elastic"
    assert len(scenario.instances) == 5
    assert {len(i.items) for i in scenario.instances} == {2000}


def test_protocol_override_is_kept() -> None:
    assert load_scenario("synthetic", protocol="replay").replay.protocol == "replay"


def test_bad_weibull_size_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="weibull:N"):
        load_scenario("weibull:lots")
    with pytest.raises(ScenarioError, match="at most 1,000,000 items per instance, got 2,000,000"):
        load_scenario("weibull:2000k")  # rather than trying to allocate gigabytes
    assert MAX_GENERATED_ITEMS == 1_000_000


@pytest.mark.parametrize(
    "name",
    [
        "weibull",
        "weibull:100k",
        "uniform:120",
        "orlib:binpack1",
        "alibaba-gpu-v2023:cpu050",
        "alibaba-gpu-v2023:loaded-3",
        "google-2019-cell-a:t86400",
        "azure-v1-2017:train@alibaba-v2018",
        "philly-subset@50x96c-768g-8gpu-V100",
        "synthetic",
    ],
)
def test_a_well_spelled_name_passes_the_check_without_any_trace_file(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BINFORGE_TRACE_DIR", raising=False)
    check_scenario_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("alibaba-gpu-2099", "unknown scenario 'alibaba-gpu-2099'"),
        ("orlib:binpack99", "unknown variant 'binpack99' in 'orlib:binpack99'"),
        ("uniform:abc", "uniform:abc: expected uniform:N items"),
        ("weibull:99999999999999999999k", "expected at most 1,000,000 items"),
        ("google-2019-cell-a:yesterday", "expected google-2019-cell-a or"),
        ("synthetic@nowhere", "unknown scenario 'nowhere'"),
        ("synthetic@a@b", "expected one inventory after '@'"),
    ],
)
def test_a_misspelled_name_is_refused_by_the_check_as_load_scenario_would(
    name: str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=re.escape(message)):
        check_scenario_name(name)
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(name)


@pytest.mark.traces
def test_alibaba_gpu_default_saturates_gpu_on_all_nodes(trace_dir: Path) -> None:
    scenario = load_scenario("alibaba-gpu-v2023:default", trace_dir)
    assert scenario.cluster is not None and scenario.workload is not None
    assert len(scenario.cluster) == 1523 and len(scenario.workload) == 8152
    assert (scenario.replay.protocol, scenario.replay.target_percent) == ("saturate", 130.0)


@pytest.mark.traces
def test_orlib_binpack3_is_elastic_bin_packing(trace_dir: Path) -> None:
    scenario = load_scenario("orlib:binpack3", trace_dir)
    assert scenario.replay.protocol == "elastic"
    assert len(scenario.instances) == 20 and scenario.cluster is None


@pytest.mark.traces
def test_funsearch_weibull5k_resolves(trace_dir: Path) -> None:
    assert len(load_scenario("funsearch:weibull5k", trace_dir).instances) == 5


@pytest.mark.traces
def test_timed_set_defaults_to_replay(trace_dir: Path) -> None:
    scenario = load_scenario("alibaba-v2017:cloudsimpy", trace_dir)
    assert scenario.replay.protocol == "replay"
    assert scenario.replay.target_resource == "cpu_milli"


@pytest.mark.traces
def test_set_without_nodes_takes_another_sets_inventory(trace_dir: Path) -> None:
    scenario = load_scenario("azure-v1-2017:dev@alibaba-v2018", trace_dir)
    assert scenario.cluster is not None and len(scenario.cluster) == 4034
    assert scenario.workload is not None and scenario.workload.source == "azure-v1-2017:dev"


@pytest.mark.traces
def test_set_without_nodes_takes_a_declared_node_shape(trace_dir: Path) -> None:
    scenario = load_scenario("philly-subset@100x96c-512g-8gpu-V100", trace_dir)
    assert scenario.cluster is not None
    assert len(scenario.cluster) == 100
    assert scenario.cluster.totals()["gpu"] == 800
    assert scenario.cluster.gpu_models == ("V100",)


@pytest.mark.traces
def test_set_without_nodes_and_no_inventory_is_an_error(trace_dir: Path) -> None:
    with pytest.raises(ScenarioError, match="has no nodes; add an inventory"):
        load_scenario("philly-subset", trace_dir)


@pytest.mark.traces
def test_inventory_only_set_cannot_be_a_scenario_alone(trace_dir: Path) -> None:
    with pytest.raises(ScenarioError, match="has nodes but no pods"):
        load_scenario("alibaba-v2018", trace_dir)


@pytest.mark.traces
def test_google_inventory_at_a_time_as_inventory(trace_dir: Path) -> None:
    scenario = load_scenario("philly-subset@google-2019-cell-a:t0", trace_dir)
    assert scenario.cluster is not None and len(scenario.cluster) < 10_001


def test_derivations_are_applied_in_order_and_deterministic() -> None:
    steps = (Subsample(0.5), Scale(2.0), Shuffle())
    first = load_scenario("synthetic", seed=5, derivations=steps).workload
    again = load_scenario("synthetic", seed=5, derivations=steps).workload
    other = load_scenario("synthetic", seed=6, derivations=steps).workload
    assert first is not None and again is not None and other is not None
    assert len(first) == 300
    assert np.array_equal(first.names, again.names)
    assert not np.array_equal(first.names, other.names)


def test_time_window_keeps_arrivals_in_the_half_open_range() -> None:
    workload = synthetic_workload(seed=0)
    start, end = workload.arrival_s[10], workload.arrival_s[20]
    window = time_window(workload, start, end)
    assert len(window) == 10
    assert window.arrival_s.min() == start and window.arrival_s.max() < end


def test_subsample_keeps_order_and_size() -> None:
    workload = synthetic_workload(seed=0)
    half = subsample(workload, 0.25, seed=1)
    assert len(half) == 150
    assert np.all(np.diff(half.arrival_s) > 0)


def test_scale_multiplies_cpu_and_memory_only() -> None:
    workload = synthetic_workload(seed=0)
    scaled = Scale(1.5).apply(workload, synthetic_cluster(), 0)
    assert np.array_equal(scaled.cpu_milli, np.rint(workload.cpu_milli * 1.5))
    assert np.array_equal(scaled.num_gpu, workload.num_gpu)


def test_shuffle_is_a_permutation() -> None:
    workload = synthetic_workload(seed=0)
    shuffled = shuffle(workload, seed=2)
    assert sorted(shuffled.names.tolist()) == sorted(workload.names.tolist())
    assert not np.array_equal(shuffled.names, workload.names)


def test_inflate_stops_at_the_first_pod_that_reaches_the_target() -> None:
    cluster, workload = synthetic_cluster(), synthetic_workload(seed=0)
    inflated = inflate(workload, cluster, "gpu", 130, seed=4)
    gpus = demand(inflated, "gpu")
    target = cluster.totals()["gpu"] * 1.3
    assert gpus.sum() >= target
    assert gpus[:-1].sum() < target
    assert len(set(inflated.names.tolist())) == len(inflated)
    again = Inflate("gpu", 130).apply(workload, cluster, 4)
    assert np.array_equal(again.names, inflated.names)


def test_inflate_on_cpu_reaches_the_cpu_target() -> None:
    cluster, workload = synthetic_cluster(), synthetic_workload(seed=0)
    inflated = inflate(workload, cluster, "cpu_milli", 80, seed=0)
    assert inflated.cpu_milli.sum() >= 0.8 * cluster.totals()["cpu_milli"]


def test_bad_derivation_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="start_s < end_s"):
        load_scenario("synthetic", derivations=(TimeWindow(10, 5),))


@pytest.mark.traces
def test_fgd_inflation_of_the_default_reaches_130_percent_of_6212_gpus(trace_dir: Path) -> None:
    scenario = load_scenario("alibaba-gpu-v2023:default", trace_dir, derivations=(Inflate(),))
    assert scenario.workload is not None
    assert 1.30 * 6212 <= demand(scenario.workload, "gpu").sum() < 1.30 * 6212 + 8


@pytest.mark.traces
def test_the_python_example_in_docs_traces_md_runs(
    trace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "traces.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("BINFORGE_TRACE_DIR", str(trace_dir))
    names: dict[str, object] = {}
    exec(compile(example, "docs/traces.md", "exec"), names)
    assert len(names["bins"].instances) == 20  # type: ignore[attr-defined]
    assert len(names["philly"].cluster) == 100  # type: ignore[attr-defined]


def test_unknown_protocol_is_rejected() -> None:
    with pytest.raises(ScenarioError, match="unknown protocol 'fifo'"):
        load_scenario("synthetic", protocol="fifo")  # type: ignore[arg-type]


def test_bin_packing_replays_only_as_elastic() -> None:
    with pytest.raises(ScenarioError, match="only as elastic"):
        load_scenario("weibull:1k", protocol="saturate")


@pytest.mark.traces
def test_replay_of_pods_without_times_is_refused(trace_dir: Path, tmp_path: Path) -> None:
    source = trace_dir / "alibaba-gpu-v2023"
    folder = tmp_path / "alibaba-gpu-v2023"
    folder.mkdir()
    (folder / "openb_node_list_all_node.csv").write_bytes(
        (source / "openb_node_list_all_node.csv").read_bytes()
    )
    lines = (source / "openb_pod_list_default.csv").read_text().splitlines()
    (folder / "openb_pod_list_default.csv").write_text(
        "\n".join(",".join(line.split(",")[:8]) for line in lines) + "\n"
    )
    assert load_scenario("alibaba-gpu-v2023", tmp_path).replay.protocol == "saturate"
    with pytest.raises(ScenarioError, match="needs arrival times"):
        load_scenario("alibaba-gpu-v2023", tmp_path, protocol="replay")


def test_keep_nodes_keeps_a_seeded_share_of_the_nodes_in_their_order() -> None:
    scenario = load_scenario("synthetic")
    count = len(scenario.cluster)
    kept = keep_nodes(scenario, 0.5, seed=3)
    assert len(kept.cluster) == round(0.5 * count)
    names = list(scenario.cluster.names)
    positions = [names.index(name) for name in kept.cluster.names]
    assert positions == sorted(positions)  # original order
    assert kept.workload is scenario.workload and kept.replay == scenario.replay
    again = keep_nodes(scenario, 0.5, seed=3)
    assert list(again.cluster.names) == list(kept.cluster.names)
    other = keep_nodes(scenario, 0.5, seed=4)
    assert list(other.cluster.names) != list(kept.cluster.names)


def test_keep_nodes_of_the_whole_cluster_is_the_scenario_itself() -> None:
    scenario = load_scenario("synthetic")
    assert keep_nodes(scenario, 1.0) is scenario
    assert len(keep_nodes(scenario, 1e-9).cluster) == 1  # never an empty cluster


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_keep_nodes_refuses_a_fraction_outside_zero_to_one(fraction: float) -> None:
    with pytest.raises(ScenarioError, match="expected 0 < f <= 1"):
        keep_nodes(load_scenario("synthetic"), fraction)
