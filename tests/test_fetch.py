"""``fetch_set`` downloads from a (local) mirror, verifies size and SHA-256, writes nothing on
failure, and says clearly when the server cannot be reached."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import socket
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster_traces.catalog import CATALOG, trace_set
from cluster_traces.fetch import FetchError, extract_member, fetch_set

pytestmark = pytest.mark.traces


@pytest.fixture
def mirror(trace_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving a copy of two sets laid out like the trace dir."""
    root = tmp_path / "mirror"
    for folder in ("alibaba-gpu-v2023", "philly-subset"):
        shutil.copytree(trace_dir / folder, root / folder)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_fetch_writes_every_file_of_the_set_verified(
    mirror: tuple[str, Path], tmp_path: Path, trace_dir: Path
) -> None:
    base_url, _ = mirror
    dest = tmp_path / "dest"
    result = fetch_set(trace_set("alibaba-gpu-v2023"), dest, base_url=base_url)
    assert len(result.written) == 18
    copied = dest / "alibaba-gpu-v2023" / "openb_pod_list_default.csv"
    assert copied.read_bytes() == (trace_dir / "alibaba-gpu-v2023" / copied.name).read_bytes()
    assert not list(dest.rglob("*.part"))


def test_checksum_mismatch_fails_and_writes_nothing(
    mirror: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, root = mirror
    jobs = root / "philly-subset" / "jobs.json"
    data = bytearray(jobs.read_bytes())
    data[100] ^= 0x01  # same size, different content
    jobs.write_bytes(bytes(data))
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match=r"SHA-256 \w+ does not match"):
        fetch_set(trace_set("philly-subset"), dest, base_url=base_url)
    assert not (dest / "philly-subset" / "jobs.json").exists()


def test_size_mismatch_is_reported_with_both_sizes(
    mirror: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, root = mirror
    (root / "philly-subset" / "jobs.json").write_text("[]")
    with pytest.raises(FetchError, match="got 2 bytes, expected 1197426"):
        fetch_set(trace_set("philly-subset"), tmp_path / "dest", base_url=base_url)


def test_missing_file_on_the_server_is_an_http_error(
    mirror: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, root = mirror
    (root / "philly-subset" / "jobs.json").unlink()
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_set(trace_set("philly-subset"), tmp_path / "dest", base_url=base_url)


def test_unreachable_server_says_it_cannot_be_reached(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="cannot reach the server"):
        fetch_set(
            trace_set("philly-subset"), tmp_path, base_url=f"http://127.0.0.1:{port}", timeout_s=2
        )


def test_generated_sets_have_nothing_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="generated"):
        fetch_set(trace_set("synthetic"), tmp_path)


def test_a_file_shipped_inside_a_tarball_is_extracted_by_name(
    trace_dir: Path, tmp_path: Path
) -> None:
    source = trace_dir / "alibaba-pai-gpu-v2020" / "pai_machine_spec.csv"
    archive = tmp_path / "pai_machine_spec.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="pai_machine_spec/pai_machine_spec.csv")
    data = extract_member(archive.read_bytes(), "pai_machine_spec.csv", "test://archive")
    assert data == source.read_bytes()
    with pytest.raises(FetchError, match=r"holds no file named 'other\.csv'"):
        extract_member(archive.read_bytes(), "other.csv", "test://archive")
    with pytest.raises(FetchError, match=r"not a readable \.tar\.gz"):
        extract_member(b"plain text", "pai_machine_spec.csv", "test://archive")


def test_pai_machine_spec_is_recorded_as_an_archived_download() -> None:
    spec = next(f for f in trace_set("alibaba-pai-gpu-v2020").files if f.path.endswith(".csv"))
    assert spec.in_archive and spec.url is not None and spec.url.endswith(".tar.gz")


def test_recorded_sizes_and_checksums_match_the_trace_directory(trace_dir: Path) -> None:
    checked = 0
    for entry in CATALOG:
        for file in entry.files:
            data = (trace_dir / entry.folder / file.path).read_bytes()
            assert len(data) == file.size_bytes, file.path
            assert hashlib.sha256(data).hexdigest() == file.sha256, file.path
            checked += 1
    assert checked == 51
