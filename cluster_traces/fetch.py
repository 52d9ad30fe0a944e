"""Download a set's public files into a trace directory and verify them (size and SHA-256).

The HTTP seam is one function, ``_download(url, timeout_s) -> bytes``. A base URL override
fetches ``BASE/<folder>/<file>`` instead of the upstream URLs (a mirror laid out like the
trace directory). Files are written only after every download of the set is verified.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cluster_traces.catalog import TraceSet

__all__ = ["FetchError", "FetchResult", "extract_member", "fetch_set"]


class FetchError(RuntimeError):
    """A download that failed (offline, HTTP error) or did not verify (size, checksum)."""


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch_set`` did.

    Attributes:
        written: files written, as paths.
        manual: files with no download URL (copy them by hand from the set's source).
    """

    written: tuple[Path, ...]
    manual: tuple[str, ...]


def fetch_set(
    entry: TraceSet, dest: Path, *, base_url: str | None = None, timeout_s: float = 30.0
) -> FetchResult:
    """Fetch every downloadable file of ``entry`` into ``dest/<folder>/``.

    Raises FetchError naming the file and URL when a download fails or does not match the
    recorded size or checksum; ValueError for a generated set (nothing to fetch). Nothing is
    written unless every download verifies.
    """
    if not entry.folder:
        raise ValueError(f"{entry.name} is generated; there is nothing to fetch")
    payloads: dict[Path, bytes] = {}
    manual: list[str] = []
    for file in entry.files:
        url = f"{base_url.rstrip('/')}/{entry.folder}/{file.path}" if base_url else file.url
        if url is None:
            manual.append(file.path)
            continue
        data = _download(url, timeout_s)
        if file.in_archive and not base_url:
            data = extract_member(data, file.path, url)
        if len(data) != file.size_bytes:
            raise FetchError(
                f"fetch {entry.name}/{file.path} from {url}: got {len(data)} bytes, "
                f"expected {file.size_bytes}"
            )
        digest = hashlib.sha256(data).hexdigest()
        if digest != file.sha256:
            raise FetchError(
                f"fetch {entry.name}/{file.path} from {url}: SHA-256 {digest} does not match "
                f"the expected {file.sha256}"
            )
        payloads[dest / entry.folder / file.path] = data
    for path, data in payloads.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(data)
        partial.replace(path)
    return FetchResult(tuple(payloads), tuple(manual))


def extract_member(archive: bytes, name: str, url: str) -> bytes:
    """The file called ``name`` (base name) inside a gzipped tar archive.

    Raises FetchError when the archive is unreadable or does not hold the file.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for member in tar.getmembers():
                if member.isfile() and Path(member.name).name == name:
                    handle = tar.extractfile(member)
                    if handle is not None:
                        return handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FetchError(f"unpack {url}: not a readable .tar.gz ({exc})") from exc
    raise FetchError(f"unpack {url}: the archive holds no file named {name!r}")


def _download(url: str, timeout_s: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise FetchError(f"download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"download {url}: cannot reach the server ({reason}); offline?") from exc
