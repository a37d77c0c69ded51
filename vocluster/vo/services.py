"""Which TAP services to ask, and how their tables and columns are named.

Every remote table is described by an explicit mapping from the names vocluster
uses (the Gaia archive's) to the service's own ADQL identifiers, so a mirror
with other names (VizieR's `"I/355/gaiadr3"` with `pmRA`, `Plx`...) is just
another mapping. Users add or override mappings in the config file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from vocluster.errors import InputError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ESA_GAIA_TAP = "https://gea.esac.esa.int/tap-server/tap"
VIZIER_TAP = "https://tapvizier.cds.unistra.fr/TAPVizieR/tap"
MAST_TAP = "https://mast.stsci.edu/vo-tap/api/v0.1/caom"
SIMBAD_TAP = "https://simbad.cds.unistra.fr/simbad/sim-tap"

GAIA_COLUMNS = ("source_id", "ra", "dec", "parallax", "parallax_error", "pmra", "pmra_error",
                "pmdec", "pmdec_error", "ruwe", "phot_g_mean_mag", "bp_rp")


@dataclass(frozen=True)
class TableMapping:
    """One remote table: its ADQL name and our column name -> its column identifier.

    Our names missing from `columns` do not exist in that table (e.g. DR2 has no
    RUWE in gaia_source) and are simply not selected.
    """

    table: str
    columns: dict[str, str]

    def with_our_names(self, table):
        """Rename result columns to ours where the service kept its own spelling.

        ADQL identifiers are case-insensitive, so `pmRA AS pmra` may come back as
        `pmRA`; match case-insensitively and rename.
        """
        lower = {name.lower(): name for name in table.colnames}
        for ours in self.columns:
            found = lower.get(ours.lower())
            if ours not in table.colnames and found is not None:
                table.rename_column(found, ours)
        return table

    def column(self, name: str, needed_for: str = "") -> str:
        if name not in self.columns:
            why = f" (needed for {needed_for})" if needed_for else ""
            raise InputError(f"table {self.table} has no {name} column in its mapping{why}")
        return self.columns[name]


def _identity(names: tuple[str, ...]) -> dict[str, str]:
    return {name: name for name in names}


_VIZIER_GAIA = {
    "source_id": "Source", "ra": "RA_ICRS", "dec": "DE_ICRS", "parallax": "Plx",
    "parallax_error": "e_Plx", "pmra": "pmRA", "pmra_error": "e_pmRA", "pmdec": "pmDE",
    "pmdec_error": "e_pmDE", "ruwe": "RUWE", "phot_g_mean_mag": "Gmag", "bp_rp": '"BP-RP"',
}

#: mirror name -> release -> mapping
GAIA_MIRRORS: dict[str, dict[str, TableMapping]] = {
    "esa": {
        "dr3": TableMapping("gaiadr3.gaia_source", _identity(GAIA_COLUMNS)),
        "dr2": TableMapping("gaiadr2.gaia_source",
                            _identity(tuple(c for c in GAIA_COLUMNS if c != "ruwe"))),
    },
    "vizier": {
        "dr3": TableMapping('"I/355/gaiadr3"', _VIZIER_GAIA),
        "dr2": TableMapping('"I/345/gaia2"',
                            {k: v for k, v in _VIZIER_GAIA.items() if k != "ruwe"}),
    },
}
MIRROR_URLS = {"esa": ESA_GAIA_TAP, "vizier": VIZIER_TAP}


#: published cluster catalogues on VizieR (column labels from their ReadMe files)
CLUSTER_CATALOGUES: dict[str, TableMapping] = {
    "cg2020": TableMapping('"J/A+A/640/A1/table1"', {
        "name": "Cluster", "ra": "RA_ICRS", "dec": "DE_ICRS", "r50": "r50",
        "pmra": '"pmRA*"', "pmdec": "pmDE", "parallax": "plx", "dist_pc": "DistPc"}),
    "hr23": TableMapping('"J/A+A/673/A114/clusters"', {
        "name": "Name", "ra": "RA_ICRS", "dec": "DE_ICRS", "r50": "r50",
        "pmra": "pmRA", "pmdec": "pmDE", "parallax": "Plx", "dist_pc": "dist50"}),
}
CATALOGUE_REFERENCES = {"cg2020": "Cantat-Gaudin et al. 2020 (J/A+A/640/A1)",
                        "hr23": "Hunt & Reffert 2023 (J/A+A/673/A114)"}

OBSCORE_TABLE = "ivoa.obscore"


@dataclass(frozen=True)
class TapSettings:
    """Network behaviour shared by every TAP call."""

    timeout: float = 120.0  # seconds per HTTP request
    async_timeout: float = 3600.0  # seconds an async job may run
    retries: int = 3
    backoff: float = 2.0  # seconds before the first retry, doubled each time
    sync_limit: int = 50_000  # rows above which a query goes async
    max_rows: int = 3_000_000  # refuse (never truncate) above this


@dataclass(frozen=True)
class Config:
    """Everything the data layer needs to know about where data comes from."""

    gaia_mirror: str = "esa"
    gaia_url: str | None = None  # None: the mirror's own URL
    catalogue_url: str = VIZIER_TAP
    catalogue: str = "cg2020"
    mast_url: str = MAST_TAP
    simbad_url: str = SIMBAD_TAP
    obscore_table: str = OBSCORE_TABLE
    cache_dir: Path = field(default_factory=lambda: _default_cache_dir())
    extra_model_dirs: tuple[Path, ...] = ()  # searched before the cache and shipped models
    tap: TapSettings = field(default_factory=TapSettings)
    mirrors: dict[str, dict[str, TableMapping]] = field(
        default_factory=lambda: dict(GAIA_MIRRORS))
    catalogues: dict[str, TableMapping] = field(default_factory=lambda: dict(CLUSTER_CATALOGUES))

    def gaia_mapping(self, release: str) -> TableMapping:
        if self.gaia_mirror not in self.mirrors:
            raise InputError(f"unknown Gaia mirror {self.gaia_mirror!r}; known: "
                             f"{', '.join(sorted(self.mirrors))}")
        releases = self.mirrors[self.gaia_mirror]
        if release not in releases:
            raise InputError(f"mirror {self.gaia_mirror!r} has no Gaia {release}; it has "
                             f"{', '.join(sorted(releases))}")
        return releases[release]

    def gaia_service_url(self) -> str:
        if self.gaia_url:
            return self.gaia_url
        if self.gaia_mirror not in MIRROR_URLS:
            raise InputError(f"mirror {self.gaia_mirror!r} has no default URL; give --tap-url "
                             "or gaia.tap_url in the config file")
        return MIRROR_URLS[self.gaia_mirror]

    @property
    def model_dirs(self) -> tuple[Path, ...]:
        """Where classifier models are looked for by name, before the shipped ones."""
        return (*self.extra_model_dirs, self.cache_dir / "models")

    def catalogue_mapping(self, name: str | None = None) -> TableMapping:
        name = name or self.catalogue
        if name not in self.catalogues:
            raise InputError(f"unknown cluster catalogue {name!r}; known: "
                             f"{', '.join(sorted(self.catalogues))}")
        return self.catalogues[name]


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vocluster"


def config_path() -> Path:
    explicit = os.environ.get("VOCLUSTER_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "vocluster" / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Defaults, then the TOML config file, then environment variables (highest)."""
    path = path or config_path()
    config = Config()
    if path.exists():
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read config file {path}: {exc}") from exc
        config = _apply_file(config, data, path)
    env = os.environ
    overrides: dict[str, object] = {}
    if env.get("VOCLUSTER_GAIA_TAP_URL"):
        overrides["gaia_url"] = env["VOCLUSTER_GAIA_TAP_URL"]
    if env.get("VOCLUSTER_GAIA_MIRROR"):
        overrides["gaia_mirror"] = env["VOCLUSTER_GAIA_MIRROR"]
    if env.get("VOCLUSTER_CATALOGUE_TAP_URL"):
        overrides["catalogue_url"] = env["VOCLUSTER_CATALOGUE_TAP_URL"]
    if env.get("VOCLUSTER_SIMBAD_TAP_URL"):
        overrides["simbad_url"] = env["VOCLUSTER_SIMBAD_TAP_URL"]
    if env.get("VOCLUSTER_MAST_TAP_URL"):
        overrides["mast_url"] = env["VOCLUSTER_MAST_TAP_URL"]
    if env.get("VOCLUSTER_MODELS"):
        overrides["extra_model_dirs"] = tuple(
            Path(p).expanduser() for p in env["VOCLUSTER_MODELS"].split(os.pathsep) if p)
    if env.get("VOCLUSTER_CACHE_DIR"):
        overrides["cache_dir"] = Path(env["VOCLUSTER_CACHE_DIR"])
    return replace(config, **overrides)


def _apply_file(config: Config, data: dict, path: Path) -> Config:
    """Read the documented sections; unknown keys are an error, not silently ignored."""
    sections = {"gaia", "catalogue", "mast", "simbad", "models", "cache", "tap", "mirrors",
                "catalogues"}
    unknown = set(data) - sections
    if unknown:
        raise InputError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(sections))}")
    keys = {"gaia": {"mirror", "tap_url"}, "catalogue": {"tap_url", "name"},
            "mast": {"tap_url", "obscore_table"}, "simbad": {"tap_url"}, "models": {"dirs"},
            "cache": {"dir"}}
    for section, known in keys.items():
        unknown = set(data.get(section, {})) - known
        if unknown:
            raise InputError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} in "
                             f"[{section}]; known: {', '.join(sorted(known))}")
    gaia, cat, mast = data.get("gaia", {}), data.get("catalogue", {}), data.get("mast", {})
    mirrors = dict(config.mirrors)
    for name, releases in data.get("mirrors", {}).items():
        mirrors[name] = {rel: _mapping(spec, f"{path}: mirrors.{name}.{rel}")
                         for rel, spec in releases.items()}
    catalogues = dict(config.catalogues)
    for name, spec in data.get("catalogues", {}).items():
        catalogues[name] = _mapping(spec, f"{path}: catalogues.{name}")
    try:
        tap = replace(config.tap, **data.get("tap", {}))
    except TypeError as exc:
        raise InputError(f"{path}: bad [tap] setting: {exc}") from exc
    return replace(
        config,
        gaia_mirror=gaia.get("mirror", config.gaia_mirror),
        gaia_url=gaia.get("tap_url", config.gaia_url),
        catalogue_url=cat.get("tap_url", config.catalogue_url),
        catalogue=cat.get("name", config.catalogue),
        mast_url=mast.get("tap_url", config.mast_url),
        simbad_url=data.get("simbad", {}).get("tap_url", config.simbad_url),
        obscore_table=mast.get("obscore_table", config.obscore_table),
        cache_dir=Path(data.get("cache", {}).get("dir", config.cache_dir)).expanduser(),
        extra_model_dirs=tuple(Path(p).expanduser()
                               for p in data.get("models", {}).get("dirs", ())),
        tap=tap, mirrors=mirrors, catalogues=catalogues,
    )


def _mapping(spec: dict, where: str) -> TableMapping:
    if not isinstance(spec, dict) or "table" not in spec or "columns" not in spec:
        raise InputError(f"{where} needs `table` and a `columns` table of our name = theirs")
    return TableMapping(str(spec["table"]), {str(k): str(v) for k, v in spec["columns"].items()})
