"""Published classifier weights fetched over the network into the user's model folder.

The classification package never touches the network; this adapter downloads (deadline,
size cap, loopback policy of `download.stream_to`), checks the checksum, proves the file
loads into the architecture its card names, and writes the model atomically.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from vocluster.atomic import atomic_directory, sha256_file
from vocluster.classification.card import ModelCard
from vocluster.classification.classifier import StampClassifier
from vocluster.classification.store import PUBLISHED, WEIGHTS, write_card
from vocluster.errors import InputError
from vocluster.vo.download import stream_to


def fetch_published(name: str, url: str, cache_dir: Path, sha256: str | None = None,
                    max_bytes: int = 2 << 30, timeout: float = 60) -> Path:
    """Download published weights into the user's model directory and give them a card.

    With `sha256` the download must match it; without, the checksum is recorded in the
    card and checked every time the model loads."""
    if name not in PUBLISHED:
        raise InputError(f"no card for published model {name!r}; known: {', '.join(PUBLISHED)}")
    card = ModelCard.from_dict(PUBLISHED[name].as_dict())
    target = cache_dir / "models" / name
    with atomic_directory(target, overwrite=True) as tmp:
        if url.startswith("file:") or Path(url).is_file():
            shutil.copyfile(url.removeprefix("file://").removeprefix("file:"), tmp / WEIGHTS)
        else:
            stream_to(url, tmp / WEIGHTS, max_bytes=max_bytes, timeout=timeout)
        digest = sha256_file(tmp / WEIGHTS)
        if sha256 and digest != sha256.lower():
            raise InputError(f"{url}: checksum {digest} does not match the expected {sha256}")
        card.weights_sha256, card.source_url = digest, url
        classifier = StampClassifier(card, device="cpu")
        try:
            classifier.net.load_state_dict(torch.load(tmp / WEIGHTS, map_location="cpu",
                                                      weights_only=True))
        except (RuntimeError, OSError) as exc:
            raise InputError(f"{url} is not a {card.arch} state_dict: "
                             f"{str(exc).splitlines()[0]}") from exc
        write_card(card, tmp)
    return target
