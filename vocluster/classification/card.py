"""Model cards: everything needed to rebuild, feed and judge a classifier, as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vocluster.classification.preprocessing import Preprocessing
from vocluster.errors import InputError

STARCNET_CLASS_NAMES = {1: "compact symmetric cluster", 2: "compact asymmetric cluster",
                        3: "multi-peak association", 4: "non-cluster"}


@dataclass
class ModelCard:
    name: str
    arch: str
    bands: tuple[str, ...]
    classes: tuple[int, ...]
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    arch_options: dict = field(default_factory=dict)
    class_names: dict[int, str] = field(default_factory=dict)
    cluster_classes: tuple[int, ...] = (1, 2)   # what `is_cluster` means
    threshold: float = 0.5                       # on the summed cluster-class probability
    temperature: float = 1.0                     # logits / T: fitted on the validation split
    test_time_augmentation: bool = False         # average logits over the 8 rotations/flips
    morphology_weight: float = 0.0               # share of the morphology model in the mean
    ensemble: int = 1                            # nets averaged (seeds seed, seed+1, ...)
    stamp_size: int = 32
    pixel_scale_arcsec: float | None = None
    version: str = "1"
    description: str = ""
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    weights_sha256: str | None = None
    morphology_sha256: str | None = None
    source_url: str | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["preprocessing"] = self.preprocessing.as_dict()
        data["class_names"] = {str(k): v for k, v in self.class_names.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        data = dict(data)
        data["preprocessing"] = Preprocessing.from_dict(data.get("preprocessing", {}))
        data["class_names"] = {int(k): v for k, v in data.get("class_names", {}).items()}
        for key in ("bands", "classes", "cluster_classes"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(f"the model card {path} is damaged or not a vocluster card: "
                             f"{type(exc).__name__}: {exc}") from exc

    def markdown(self) -> str:
        """The human-readable card (models/<name>/README.md)."""
        lines = [f"# {self.name} (version {self.version})", "", self.description, "",
                 "| | |", "|---|---|",
                 f"| architecture | {self.arch} {self.arch_options or ''}"
                 f"{f' x {self.ensemble} (seed ensemble)' if self.ensemble > 1 else ''} |",
                 f"| bands | {', '.join(self.bands)} |",
                 f"| stamp size | {self.stamp_size} px |",
                 f"| pixel scale | {self.pixel_scale_arcsec or 'any'} arcsec/px |",
                 f"| normalisation | {self.preprocessing.normalisation} "
                 f"{list(self.preprocessing.band_means) or ''} |",
                 f"| channel recipe | {self.preprocessing.channel_recipe} |",
                 "| classes | " + "; ".join(f"{c} {self.class_names.get(c, '')}"
                                            for c in self.classes) + " |",
                 f"| is_cluster | P({' + '.join(map(str, self.cluster_classes))}) >= "
                 f"{self.threshold} |",
                 f"| calibration | temperature {self.temperature:.3f} (validation split) |",
                 f"| test-time augmentation | "
                 f"{'8 rotations/flips' if self.test_time_augmentation else 'none'} |",
                 f"| weights sha256 | {self.weights_sha256} |"]
        if self.morphology_weight:
            lines.append(f"| morphology | weight {self.morphology_weight:g} in the mean with "
                         f"the net (sha256 {self.morphology_sha256}) |")
        if self.source_url:
            lines.append(f"| source | {self.source_url} |")
        for title, block in (("Training", self.training), ("Metrics", self.metrics)):
            if block:
                lines += ["", f"## {title}", "", "```json", json.dumps(block, indent=2), "```"]
        return "\n".join(lines) + "\n"
