"""The registry of known trace sets: names, folders, files, licences, citations, upstream URLs.

One place lists every set that ``load_scenario`` resolves and ``binforge traces`` reports.
File sizes and SHA-256 checksums are those of the copies documented in the traces README;
``fetch`` verifies downloads against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cluster_traces.alibaba_gpu import POD_VARIANTS
from cluster_traces.model import Protocol

__all__ = ["CATALOG", "TraceFile", "TraceSet", "known_names", "trace_set"]

_RAW = "https://raw.githubusercontent.com"
_ALIBABA = f"{_RAW}/alibaba/clusterdata/7a6c496e4f4b6ce6150be8f881cb051bf2abff42"
_AZURE = f"{_RAW}/huaweicloud/trace_generation_rnn/8ef3c110c112ff4c11f83a39f658373b37b43124"


@dataclass(frozen=True)
class TraceFile:
    """One file of a set.

    Attributes:
        path: path inside the set's folder.
        size_bytes: expected size.
        sha256: expected SHA-256 (hex).
        url: upstream download URL (None: not downloadable; copy by hand).
        in_archive: the URL is a .tar.gz that holds the file under its base name.
    """

    path: str
    size_bytes: int
    sha256: str
    url: str | None
    in_archive: bool = False


@dataclass(frozen=True)
class TraceSet:
    """A known trace set.

    Attributes:
        name: the name used in scenario names (``NAME[:VARIANT]``).
        folder: folder under the trace directory ("" for generated sets).
        description: one line.
        licence: licence or terms of use.
        citation: what to cite.
        source: upstream repository and commit.
        variants: accepted variants (empty: none); the first is the default.
        protocol: default replay protocol.
        has_nodes: the set provides a node inventory.
        has_pods: the set provides a workload (or bin-packing instances).
        files: the set's files.
    """

    name: str
    folder: str
    description: str
    licence: str
    citation: str
    source: str
    variants: tuple[str, ...]
    protocol: Protocol
    has_nodes: bool
    has_pods: bool
    files: tuple[TraceFile, ...] = ()

    def present(self, trace_dir: Path | None) -> bool:
        """True when every file of the set is under ``trace_dir`` (always for generated sets)."""
        if not self.folder:
            return True
        if trace_dir is None:
            return False
        return all((trace_dir / self.folder / f.path).is_file() for f in self.files)


_MANIFEST = Path(__file__).with_name("trace_files.txt")


def _manifest() -> list[tuple[str, str, int, str]]:
    """(folder, path, size, sha256) rows of ``trace_files.txt``."""
    rows = []
    for line in _MANIFEST.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sha, size, full = line.split()
        folder, _, path = full.rpartition("/")
        rows.append((folder, path, int(size), sha))
    return rows


_CHECKSUMS = _manifest()

_UPSTREAM: dict[str, str] = {
    "alibaba-gpu-v2023/README.md": f"{_ALIBABA}/cluster-trace-gpu-v2023/README.md",
    "alibaba-v2026-spot-gpu/README.md": f"{_ALIBABA}/cluster-trace-v2026-spot-gpu/README.md",
    "alibaba-v2026-spot-gpu/node_info_df.csv": (
        f"{_ALIBABA}/cluster-trace-v2026-spot-gpu/node_info_df.csv"
    ),
    "alibaba-v2017/batch_task.csv": (
        f"{_RAW}/Uv-can/e-Commerce-Applications-Workload-Forecasting/"
        "f422476d13dac4d5db928019932244531dcafb23/batch_task.csv"
    ),
    "alibaba-v2017/server_event.csv": (
        f"{_RAW}/Prasanna2002/Alibaba_trace/1b1d720cdddfc8571bd76c321a0f31af8815255a/"
        "server_event.csv"
    ),
    "alibaba-v2018/machine_meta.csv": (
        f"{_RAW}/gohsyi/cluster_optimization/a2c5547d7ee72a3734a9b174bf3d32918b61b46d/"
        "data/machine_meta.csv"
    ),
    "google-2019-cell-a/machine_events-000000000000.json.gz": (
        f"{_RAW}/raunak-garhwal/Google-Cluster-Data-Work/3196e537a84aca0e4f02e0133a12b0d94ba605ed/"
        "Cluster-Data-Input/machine_events-000000000000.json.gz"
    ),
    "azure-v1-2017/INPUT.md": f"{_AZURE}/INPUT.md",
    "azure-v1-2017/traces_LICENSE_notice.txt": f"{_AZURE}/resources/traces/LICENSE",
    "philly-subset/jobs.json": (
        f"{_RAW}/marwage/philly-traces/1bc2d52e36e7e2d2c86d5bdbd0537ef1f76ae783/analysis/jobs.json"
    ),
}


def _upstream(folder: str, path: str) -> str | None:
    key = f"{folder}/{path}"
    if key in _UPSTREAM:
        return _UPSTREAM[key]
    if folder == "alibaba-gpu-v2023":
        return f"{_ALIBABA}/cluster-trace-gpu-v2023/csv/{path}"
    if folder == "azure-v1-2017":
        sub = "traces" if path.startswith("v1.") and "interval" not in path else "maps"
        return f"{_AZURE}/resources/{sub}/{path}"
    return None


_ARCHIVED: dict[str, str] = {
    "alibaba-pai-gpu-v2020/pai_machine_spec.csv": (
        f"{_RAW}/qzweng/clusterdata-cluster-trace-gpu-v2020-data/"
        "66f961f75d00e19cca162f290d27e33fde2b9150/pai_machine_spec.tar.gz"
    ),
}


def _files(folder: str) -> tuple[TraceFile, ...]:
    out = []
    for f, path, size, sha in _CHECKSUMS:
        if f != folder:
            continue
        archive = _ARCHIVED.get(f"{folder}/{path}")
        if archive:
            out.append(TraceFile(path, size, sha, archive, in_archive=True))
        else:
            out.append(TraceFile(path, size, sha, _upstream(folder, path)))
    return tuple(out)


_FGD = (
    'Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with '
    'Fragmentation Gradient Descent", USENIX ATC 2023'
)
_FUNSEARCH = (
    'Romera-Paredes et al., "Mathematical discoveries from program search with large '
    'language models", Nature 625 (2023)'
)

CATALOG: tuple[TraceSet, ...] = (
    TraceSet(
        name="alibaba-gpu-v2023",
        folder="alibaba-gpu-v2023",
        description="GPU-sharing production cluster: 1,523 nodes and pod lists (FGD paper)",
        licence="Alibaba cluster-data terms: research and study use, with citation",
        citation=_FGD,
        source="github alibaba/clusterdata @ 7a6c496e, cluster-trace-gpu-v2023/",
        variants=POD_VARIANTS,
        protocol="saturate",
        has_nodes=True,
        has_pods=True,
        files=_files("alibaba-gpu-v2023"),
    ),
    TraceSet(
        name="alibaba-v2017",
        folder="alibaba-v2017",
        description="Alibaba 2017: 1,313 machines (server_event) and batch tasks",
        licence="Alibaba cluster-data terms: research use, with citation",
        citation=(
            'Lu et al., "Imbalance in the Cloud: an Analysis on Alibaba Cluster Trace", '
            "IEEE BigData 2017"
        ),
        source=(
            "github Uv-can/e-Commerce-Applications-Workload-Forecasting @ f422476d, "
            "Prasanna2002/Alibaba_trace @ 1b1d720c, FC-Li/CloudSimPy @ c103672f"
        ),
        variants=("batch_task", "cloudsimpy"),
        protocol="replay",
        has_nodes=True,
        has_pods=True,
        files=_files("alibaba-v2017"),
    ),
    TraceSet(
        name="alibaba-v2018",
        folder="alibaba-v2018",
        description="Alibaba 2018 machine_meta: 4,034 machines of 96 cores",
        licence="Alibaba cluster-data terms: research use, with citation",
        citation=(
            'Guo et al., "Who Limits the Resource Efficiency of My Datacenter: An Analysis '
            'of Alibaba Datacenter Traces", IWQoS 2019'
        ),
        source="github gohsyi/cluster_optimization @ a2c5547d, data/machine_meta.csv",
        variants=(),
        protocol="replay",
        has_nodes=True,
        has_pods=False,
        files=_files("alibaba-v2018"),
    ),
    TraceSet(
        name="alibaba-pai-gpu-v2020",
        folder="alibaba-pai-gpu-v2020",
        description="Alibaba PAI 2020 machine specs: 1,897 machines with GPUs",
        licence="CC BY 4.0",
        citation=(
            'Weng et al., "MLaaS in the Wild: Workload Analysis and Scheduling in '
            'Large-Scale Heterogeneous GPU Clusters", NSDI 2022'
        ),
        source="github qzweng/clusterdata-cluster-trace-gpu-v2020-data @ e60d925f",
        variants=(),
        protocol="saturate",
        has_nodes=True,
        has_pods=False,
        files=_files("alibaba-pai-gpu-v2020"),
    ),
    TraceSet(
        name="alibaba-v2026-spot-gpu",
        folder="alibaba-v2026-spot-gpu",
        description="Alibaba 2026 spot-GPU node specs: 4,278 nodes",
        licence="Alibaba cluster-data terms: research use, with citation",
        citation="Alibaba cluster-trace-v2026-spot-gpu (see the set's README)",
        source="github alibaba/clusterdata @ 7a6c496e, cluster-trace-v2026-spot-gpu/",
        variants=(),
        protocol="saturate",
        has_nodes=True,
        has_pods=False,
        files=_files("alibaba-v2026-spot-gpu"),
    ),
    TraceSet(
        name="google-2019-cell-a",
        folder="google-2019-cell-a",
        description="Google Borg 2019 cell a machine events: 10,001 machines over 31 days",
        licence="CC BY 4.0 (Google cluster-data)",
        citation=(
            'Tirmazi et al., "Borg: the Next Generation", EuroSys 2020; Wilkes, "Google '
            'cluster-usage traces v3", 2020'
        ),
        source="github raunak-garhwal/Google-Cluster-Data-Work @ 3196e537",
        variants=(),
        protocol="replay",
        has_nodes=True,
        has_pods=False,
        files=_files("google-2019-cell-a"),
    ),
    TraceSet(
        name="azure-v1-2017",
        folder="azure-v1-2017",
        description="Azure 2017 VM arrivals per 300 s bin with flavours (train/dev/test)",
        licence="CC BY 4.0 (Azure Public Dataset)",
        citation=(
            'Cortez et al., "Resource Central: Understanding and Predicting Workloads for '
            'Improved Resource Management in Large Cloud Platforms", SOSP 2017'
        ),
        source="github huaweicloud/trace_generation_rnn @ fa856db0",
        variants=("train", "dev", "test"),
        protocol="replay",
        has_nodes=False,
        has_pods=True,
        files=_files("azure-v1-2017"),
    ),
    TraceSet(
        name="philly-subset",
        folder="philly-subset",
        description="3,034 multi-GPU jobs of Microsoft's Philly trace (Sep-Dec 2017)",
        licence="CC BY 4.0 (Microsoft Philly trace)",
        citation=(
            'Jeon et al., "Analysis of Large-Scale Multi-Tenant GPU Clusters for DNN '
            'Training Workloads", USENIX ATC 2019'
        ),
        source="github marwage/philly-traces @ 1bc2d52e, analysis/jobs.json",
        variants=(),
        protocol="replay",
        has_nodes=False,
        has_pods=True,
        files=_files("philly-subset"),
    ),
    TraceSet(
        name="orlib",
        folder="binpack/orlib",
        description="OR-Library binpack1..8 (u120..u1000, t60..t501), 20 instances each",
        licence="OR-Library: freely distributed",
        citation=(
            'Beasley, "OR-Library: distributing test problems by electronic mail", '
            "JORS 41 (1990); Falkenauer, J. Heuristics 2 (1996)"
        ),
        source="github Matsjohaa/ACIT4610-exam @ 0de378e6",
        variants=tuple(f"binpack{i}" for i in range(1, 9)),
        protocol="elastic",
        has_nodes=False,
        has_pods=True,
        files=_files("binpack/orlib"),
    ),
    TraceSet(
        name="funsearch",
        folder="binpack/funsearch",
        description="FunSearch's OR3 and Weibull 5k bin-packing instances",
        licence="CC BY 4.0",
        citation=_FUNSEARCH,
        source="github google-deepmind/funsearch @ cc53f274, bin_packing/bin_packing.ipynb",
        variants=("or3", "weibull5k"),
        protocol="elastic",
        has_nodes=False,
        has_pods=True,
        files=_files("binpack/funsearch"),
    ),
    TraceSet(
        name="weibull",
        folder="",
        description="Generated Weibull(3)*45 bin-packing instances, capacity 100 (:N items)",
        licence="generated",
        citation=_FUNSEARCH,
        source="generated by cluster_traces.binpack.weibull_instances",
        variants=("5k", "100k"),
        protocol="elastic",
        has_nodes=False,
        has_pods=True,
    ),
    TraceSet(
        name="uniform",
        folder="",
        description="Generated OR-Library-u-like instances: sizes 20..100, capacity 150 (:N items)",
        licence="generated",
        citation=(
            'Falkenauer, "A hybrid grouping genetic algorithm for bin packing", '
            "J. Heuristics 2 (1996)"
        ),
        source="generated by cluster_traces.binpack.uniform_instances",
        variants=("1000", "120", "250", "500"),
        protocol="elastic",
        has_nodes=False,
        has_pods=True,
    ),
    TraceSet(
        name="synthetic",
        folder="",
        description="Embedded heterogeneous multi-resource cluster and workload (no files)",
        licence="generated",
        citation="binforge",
        source="generated by cluster_traces.synthetic",
        variants=(),
        protocol="saturate",
        has_nodes=True,
        has_pods=True,
    ),
)


def known_names() -> tuple[str, ...]:
    """Every set name with each variant (``NAME`` and ``NAME:VARIANT``), in catalog order."""
    out: list[str] = []
    for entry in CATALOG:
        out.append(entry.name)
        out.extend(f"{entry.name}:{variant}" for variant in entry.variants)
    return tuple(out)


def trace_set(name: str) -> TraceSet:
    """The set called ``name``. Raises KeyError listing the known names."""
    for entry in CATALOG:
        if entry.name == name:
            return entry
    raise KeyError(f"unknown trace set {name!r}; known: {', '.join(e.name for e in CATALOG)}")
