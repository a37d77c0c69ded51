"""On-disk cache of query results and downloads, keyed by service + request.

Each entry is a data file plus a JSON sidecar holding what produced it and the
data file's SHA-256. Both are written to a temporary name and renamed, the
sidecar last, so an interrupted write leaves no entry; a damaged data file fails
its checksum on read and is fetched again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from astropy.table import Table
from astropy.utils.exceptions import AstropyWarning

from vocluster.atomic import atomic_output, sha256_file
from vocluster.errors import InputError
from vocluster.io.files import read_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheEntry:
    key: str
    kind: str
    service: str
    request: str
    created: float
    size: int
    data: Path

    @property
    def age_s(self) -> float:
        return time.time() - self.created


class QueryCache:
    """Directory of cached tables and files; `None` directory means no caching."""

    def __init__(self, directory: Path | None):
        self.directory = Path(directory) if directory is not None else None

    @staticmethod
    def key(kind: str, service: str, request: str) -> str:
        return hashlib.sha256(json.dumps([kind, service, request]).encode()).hexdigest()[:32]

    def _paths(self, key: str, suffix: str) -> tuple[Path, Path]:
        assert self.directory is not None
        return self.directory / f"{key}{suffix}", self.directory / f"{key}.json"

    def lookup(self, kind: str, service: str, request: str, suffix: str) -> Path | None:
        """The cached data file, if present and intact; damaged entries are removed."""
        if self.directory is None:
            return None
        data, meta = self._paths(self.key(kind, service, request), suffix)
        if not meta.exists():
            return None
        try:
            record = json.loads(meta.read_text())
            intact = data.exists() and sha256_file(data) == record["sha256"]
        except (OSError, ValueError, KeyError):
            intact = False
        if not intact:
            log.warning("cache entry %s is damaged; fetching again", data.name)
            self.remove(data, meta)
            return None
        return data

    def store_file(self, kind: str, service: str, request: str, suffix: str,
                   writer) -> Path:
        """Call `writer(tmp_path)` and file the result; returns the cached data path."""
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        data, meta = self._paths(self.key(kind, service, request), suffix)
        with atomic_output(data, overwrite=True) as tmp:
            writer(tmp)
        record = {"kind": kind, "service": service, "request": request,
                  "created": time.time(), "sha256": sha256_file(data),
                  "size": data.stat().st_size, "data": data.name}
        with atomic_output(meta, overwrite=True) as tmp:
            tmp.write_text(json.dumps(record, indent=1))
        return data

    def get_table(self, service: str, query: str) -> Table | None:
        path = self.lookup("tap", service, query, ".vot")
        if path is None:
            return None
        try:
            return read_table(path, "votable")
        except InputError:  # a checksum-valid but unreadable file: treat as damaged
            log.warning("cache entry %s cannot be read; fetching again", path.name)
            self.remove(path, path.with_suffix(".json"))
            return None

    def put_table(self, service: str, query: str, table: Table) -> None:
        if self.directory is None:
            return

        def write(tmp: Path) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AstropyWarning)
                table.write(tmp, format="votable", tabledata_format="binary2", overwrite=True)

        self.store_file("tap", service, query, ".vot", write)

    def entries(self) -> list[CacheEntry]:
        if self.directory is None or not self.directory.is_dir():
            return []
        found = []
        for meta in sorted(self.directory.glob("*.json")):
            try:
                record = json.loads(meta.read_text())
                found.append(CacheEntry(
                    key=meta.stem, kind=record["kind"], service=record["service"],
                    request=record["request"], created=float(record["created"]),
                    size=int(record["size"]), data=self.directory / record["data"]))
            except (OSError, ValueError, KeyError):
                continue
        return found

    def clear(self, older_than_s: float | None = None) -> tuple[int, int]:
        """Remove entries (all, or those older than a limit); returns (count, bytes)."""
        count = size = 0
        for entry in self.entries():
            if older_than_s is None or entry.age_s > older_than_s:
                size += entry.size
                count += 1
                self.remove(entry.data, self.directory / f"{entry.key}.json")
        return count, size

    @staticmethod
    def remove(data: Path, meta: Path) -> None:
        meta.unlink(missing_ok=True)  # sidecar first: an entry without it does not exist
        data.unlink(missing_ok=True)
