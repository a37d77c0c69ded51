"""Write-to-temp-then-rename, so an interrupted run never leaves a half-written file;
and the checksum that tells a damaged file from an intact one."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vocluster.errors import OutputError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def refuse_existing(path: str | Path, overwrite: bool) -> None:
    """The one overwrite check of every output (files, model folders, demo outputs)."""
    if Path(path).exists() and not overwrite:
        raise OutputError(f"{path} exists; allow overwriting to replace it (--overwrite)")


@contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; it replaces `path` only if the block succeeds."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name")
    refuse_existing(path, overwrite)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"output directory does not exist: {parent}")
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs follow the umask
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_directory(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside `path`; it becomes `path` only on success."""
    path = Path(path)
    refuse_existing(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temporaries(folder: str | Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Delete the temporaries a killed run left in `folder` (`.<name>.<random><suffix>`,
    as `atomic_output` names them): a SIGKILL gives no `finally` the chance to."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir()
             if p.is_file() and p.name.startswith(".") and p.suffix in suffixes]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def safe_stem(name: str, max_chars: int = 80) -> str:
    """A file-name stem from a name people chose (a table, a cluster): letters, digits and
    `._+-` kept, anything else one `_`, never hidden, never too long for a file system."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name.strip()).strip("._")[:max_chars] or "table"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
