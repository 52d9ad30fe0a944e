"""OR-Library, FunSearch JSON and the Weibull generator load into BinPackingInstance values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cluster_traces.binpack import load_funsearch, load_orlib, weibull_instances


@pytest.mark.traces
def test_binpack3_has_20_instances_of_500_items_with_capacity_150(trace_dir: Path) -> None:
    instances = load_orlib(trace_dir / "binpack/orlib/binpack3.txt")
    assert len(instances) == 20
    assert {len(i.items) for i in instances} == {500}
    assert {i.capacity for i in instances} == {150}
    assert instances[0].name == "u500_00"
    assert instances[0].best_known == 198


@pytest.mark.traces
@pytest.mark.parametrize(
    ("number", "items", "capacity"),
    [(1, 120, 150), (2, 250, 150), (4, 1000, 150), (5, 60, 100), (8, 501, 100)],
)
def test_every_orlib_class_has_its_published_sizes(
    trace_dir: Path, number: int, items: int, capacity: int
) -> None:
    instances = load_orlib(trace_dir / f"binpack/orlib/binpack{number}.txt")
    assert len(instances) == 20
    assert {len(i.items) for i in instances} == {items}
    assert {i.capacity for i in instances} == {capacity}


@pytest.mark.traces
def test_triplet_classes_have_optimum_of_one_third_of_the_items(trace_dir: Path) -> None:
    for instance in load_orlib(trace_dir / "binpack/orlib/binpack5.txt"):
        assert instance.best_known == len(instance.items) // 3
        assert not np.all(instance.items == np.round(instance.items))


@pytest.mark.traces
def test_funsearch_or3_equals_orlib_binpack3(trace_dir: Path) -> None:
    or3 = load_funsearch(trace_dir / "binpack/funsearch/OR3.json")
    binpack3 = load_orlib(trace_dir / "binpack/orlib/binpack3.txt")
    assert [i.name for i in or3] == [i.name for i in binpack3]
    for a, b in zip(or3, binpack3, strict=True):
        assert np.array_equal(a.items, b.items)


@pytest.mark.traces
def test_funsearch_weibull_5k_is_five_instances_of_5000_items(trace_dir: Path) -> None:
    instances = load_funsearch(trace_dir / "binpack/funsearch/Weibull_5k.json")
    assert len(instances) == 5
    assert {len(i.items) for i in instances} == {5000}
    assert {i.capacity for i in instances} == {100}


def test_weibull_generator_is_deterministic_by_seed_and_clipped_to_1_100() -> None:
    first = weibull_instances(2000, count=2, seed=7)
    again = weibull_instances(2000, count=2, seed=7)
    other = weibull_instances(2000, count=2, seed=8)
    assert np.array_equal(first[0].items, again[0].items)
    assert not np.array_equal(first[0].items, other[0].items)
    items = np.concatenate([i.items for i in first])
    assert items.min() >= 1 and items.max() <= 100
    assert np.all(items == np.round(items))
    # weibull(3) * 45 has mean 45 * Gamma(4/3) ~= 40.2
    assert 39 < items.mean() < 41.5


def test_weibull_generator_rejects_zero_items() -> None:
    with pytest.raises(ValueError, match="num_items"):
        weibull_instances(0)
