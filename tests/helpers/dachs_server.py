"""A real local TAP server for the tests: GAVO DaCHS from Debian, on 127.0.0.1.

It publishes synthetic tables shaped like the real services: the ESA archive's
`gaiadr3.gaia_source` and `gaiadr2.gaia_source`, a VizieR-style copy of DR3
(VizieR column names), a VizieR-style cluster catalogue, and an ObsCore table
(published into `ivoa.obscore`) whose access URLs point at small FITS images on
a local HTTP server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from astropy.table import Table, vstack

from vocluster.core.known_clusters import known_clusters
from vocluster.datasets.synthetic import make_cone

INPUTS = Path("/var/gavo/inputs")
PREFIX = "vocluster_test_"

_GAIA_COLUMNS = [  # archive name, DaCHS type, unit, UCD, VizieR name
    ("source_id", "bigint", "", "meta.id;meta.main", "Source"),
    ("ra", "double precision", "deg", "pos.eq.ra;meta.main", "RA_ICRS"),
    ("dec", "double precision", "deg", "pos.eq.dec;meta.main", "DE_ICRS"),
    ("parallax", "double precision", "mas", "pos.parallax.trig", "Plx"),
    ("parallax_error", "real", "mas", "stat.error;pos.parallax.trig", "e_Plx"),
    ("pmra", "double precision", "mas/yr", "pos.pm;pos.eq.ra", "pmRA"),
    ("pmra_error", "real", "mas/yr", "stat.error;pos.pm;pos.eq.ra", "e_pmRA"),
    ("pmdec", "double precision", "mas/yr", "pos.pm;pos.eq.dec", "pmDE"),
    ("pmdec_error", "real", "mas/yr", "stat.error;pos.pm;pos.eq.dec", "e_pmDE"),
    ("ruwe", "real", "", "phys.size.ratio", "RUWE"),
    ("phot_g_mean_mag", "real", "mag", "phot.mag;em.opt", "Gmag"),
    ("bp_rp", "real", "mag", "phot.color;em.opt.B;em.opt.R", "quoted/BP-RP"),
]

_CATALOGUE_COLUMNS = [  # our name, VizieR-style name, unit, UCD
    ("name", "Cluster", "", "meta.id;meta.main"),
    ("ra", "RA_ICRS", "deg", "pos.eq.ra;meta.main"),
    ("dec", "DE_ICRS", "deg", "pos.eq.dec;meta.main"),
    ("r50", "r50", "deg", "phys.angSize"),
    ("pmra", "quoted/pmRA*", "mas/yr", "pos.pm;pos.eq.ra"),
    ("pmdec", "pmDE", "mas/yr", "pos.pm;pos.eq.dec"),
    ("parallax", "plx", "mas", "pos.parallax"),
    ("dist_pc", "DistPc", "pc", "pos.distance"),
]

#: a cluster only the "published" catalogue knows (not in the built-in table)
EXTRA_CLUSTER = {"name": "UBC_1234", "ra": 132.30, "dec": 11.20, "r50": 0.10,
                 "pmra": -3.0, "pmdec": 1.5, "parallax": 0.8, "dist_pc": 1250.0}

#: a minimal SIMBAD: objects (main id, ra, dec, type) and the names each is known by.
#: SIMBAD's centre of a cluster sits arcminutes from the Gaia catalogues' centre.
SIMBAD_OBJECTS = [
    ("Theia 4242", EXTRA_CLUSTER["ra"] + 0.03, EXTRA_CLUSTER["dec"] - 0.02, "OpC",
     ("Theia 4242", "Cl Fake 7")),  # another name for UBC_1234, which no catalogue spells
    ("HD 999999", 132.31, 11.21, "*", ("HD 999999", "Star Near 1234")),  # a star there
    ("Lonely 1", 201.5, -61.2, "OpC", ("Lonely 1",)),  # a cluster no catalogue lists
]

_OBSCORE_FIELDS = [
    ("obs_id", "obs_id"), ("obs_publisher_did", "obs_publisher_did"),
    ("obs_collection", "obs_collection"), ("dataproduct_type", "dataproduct_type"),
    ("calib_level", "calib_level"), ("instrument_name", "instrument_name"),
    ("target_name", "target_name"), ("s_ra", "s_ra"), ("s_dec", "s_dec"),
    ("em_min", "em_min"), ("em_max", "em_max"), ("t_exptime", "t_exptime"),
    ("access_url", "access_url"), ("access_format", "access_format"),
    ("access_estsize", "access_estsize"),
]

_OBSCORE_UNSET = (  # obscore columns the test rows leave null
    "dataproduct_subtype", "obs_title", "obs_creator_did", "target_class", "s_fov", "s_region",
    "s_resolution", "t_min", "t_max", "t_resolution", "em_res_power", "o_ucd", "pol_states",
    "facility_name", "s_xel1", "s_xel2", "t_xel", "em_xel", "pol_xel", "s_pixel_scale",
    "em_ucd", "preview", "source_table")

POSTGRES = ["pg_ctlcluster", "15", "main"]  # Debian 12's cluster


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _column_xml(name: str, dtype: str, unit: str, ucd: str) -> str:
    return f'<column name="{name}" type="{dtype}" unit="{unit}" ucd="{ucd}"/>'


def _resource(resdir: str, schema: str, table: str, columns: list[str], maps: str,
              extra: str = "") -> str:
    return f"""<resource schema="{schema}" resdir="{resdir}">
  <meta name="title">vocluster test table {schema}.{table}</meta>
  <meta name="description">Synthetic data for the vocluster tests.</meta>
  <meta name="creationDate">2026-11-24T00:00:00</meta>
  <meta name="subject">Star clusters</meta>
  <table id="{table}" onDisk="True" adql="True">
    {extra}
    {chr(10).join('    ' + c for c in columns)}
  </table>
  <data id="import">
    <sources>data.fits</sources>
    <fitsTableGrammar/>
    <make table="{table}">
      <rowmaker>{maps}</rowmaker>
    </make>
  </data>
</resource>
"""


def _maps(pairs: list[tuple[str, str]]) -> str:
    return "".join(f'<map key="{dest}">@{src}</map>' for dest, src in pairs)


def gaia_rows(seed: int = 11) -> Table:
    """An M67-like cone plus a Pleiades-like patch elsewhere on the sky."""
    m67 = make_cone("NGC 2682", seed=seed, n_stars=2500)
    far = make_cone("Melotte 22", seed=seed + 1, n_stars=800, n_members=150)
    table = vstack([m67, far], metadata_conflicts="silent")
    table.remove_column("true_member")
    table["source_id"] = np.arange(1, len(table) + 1, dtype=np.int64) * 1000 + 7
    table.meta.clear()
    return table


def catalogue_rows() -> Table:
    rows = [{"name": c.name.replace(" ", "_"), "ra": c.ra, "dec": c.dec, "r50": c.r50,
             "pmra": c.pmra, "pmdec": c.pmdec, "parallax": c.parallax,
             "dist_pc": 1000.0 / c.parallax} for c in known_clusters()]
    return Table(rows=[*rows, EXTRA_CLUSTER])


def simbad_rows() -> tuple[Table, Table]:
    """SIMBAD's `basic` (oid, main_id, ra, dec, otype) and `ident` (oidref, id) tables."""
    basic = Table(rows=[(oid, main, ra, dec, otype) for oid, (main, ra, dec, otype, _)
                        in enumerate(SIMBAD_OBJECTS, start=1)],
                  names=("oid", "main_id", "ra", "dec", "otype"))
    ident = Table(rows=[(oid, name) for oid, (*_, names) in enumerate(SIMBAD_OBJECTS, start=1)
                        for name in names], names=("oidref", "id"))
    return basic, ident


def image_rows(base_url: str, files: list[str]) -> Table:
    """ObsCore rows for the FITS files: two filters at the M67 centre, one far away."""
    specs = [  # file, instrument, em_min, em_max, s_ra, s_dec
        (files[0], "WFC3/UVIS", 2.5e-7, 2.9e-7, 132.846, 11.814),
        (files[1], "ACS/WFC", 7.0e-7, 9.5e-7, 132.850, 11.810),
        (files[2], "ACS/WFC", 7.0e-7, 9.5e-7, 56.75, 24.12),
    ]
    return Table(rows=[{
        "obs_id": f"hst_test_{i}", "obs_publisher_did": f"ivo://vocluster.test/hst?{i}",
        "obs_collection": "HST", "dataproduct_type": "image", "calib_level": 3,
        "instrument_name": inst, "target_name": "M67" if dec < 20 else "PLEIADES",
        "s_ra": ra, "s_dec": dec, "em_min": lo, "em_max": hi, "t_exptime": 600.0,
        "access_url": f"{base_url}/{name}", "access_format": "image/fits",
        "access_estsize": 20} for i, (name, inst, lo, hi, ra, dec) in enumerate(specs)])


@dataclass
class DachsServer:
    """The running server and what it was loaded with (for row-set comparisons)."""

    url: str
    gaia: Table
    catalogue: Table
    images: Table
    settings: Path
    env: dict[str, str]
    started_postgres: bool  # PostgreSQL was started for the tests, so they stop it too

    def stop(self) -> None:
        subprocess.run(["dachs", "serve", "stop"], env=self.env, capture_output=True,
                       timeout=60, check=False)
        if self.started_postgres:
            subprocess.run([*POSTGRES, "stop"], capture_output=True, timeout=60, check=False)


def _run(cmd: list[str], env: dict[str, str], timeout: float = 300) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")


def _publish(resdir: str, rd: str, data: Table, env: dict[str, str]) -> None:
    folder = INPUTS / resdir
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    data.write(folder / "data.fits", overwrite=True)
    (folder / "q.rd").write_text(rd)
    _run(["dachs", "imp", f"{resdir}/q"], env)


def start_dachs(work: Path, image_base_url: str, image_files: list[str]) -> DachsServer:
    """Load the tables, then serve on a free loopback port; raises if DaCHS cannot start."""
    started_postgres = subprocess.run([*POSTGRES, "status"], capture_output=True,
                                      check=False).returncode != 0
    subprocess.run([*POSTGRES, "start"], capture_output=True, check=False)
    port = free_port()
    settings = work / "gavo.rc"
    settings.write_text(f"[web]\nbindAddress: 127.0.0.1\nserverPort: {port}\n"
                        f"serverURL: http://127.0.0.1:{port}\n"
                        # a hard MAXREC below the rows loaded, to provoke OVERFLOW
                        "[async]\ndefaultMAXREC: 3000\nhardMAXREC: 3000\n")
    env = {**os.environ, "GAVOSETTINGS": str(settings)}
    subprocess.run(["dachs", "serve", "stop"], env=env, capture_output=True, check=False)

    gaia = gaia_rows()
    gaia_cols = [_column_xml(n, t, u, q) for n, t, u, q, _ in _GAIA_COLUMNS]
    gaia_maps = _maps([(n, n) for n, *_ in _GAIA_COLUMNS])
    _publish(PREFIX + "gaiadr3", _resource(PREFIX + "gaiadr3", "gaiadr3", "gaia_source",
                                           gaia_cols, gaia_maps), gaia, env)
    dr2 = [c for c in _GAIA_COLUMNS if c[0] != "ruwe"]
    _publish(PREFIX + "gaiadr2", _resource(
        PREFIX + "gaiadr2", "gaiadr2", "gaia_source",
        [_column_xml(n, t, u, q) for n, t, u, q, _ in dr2], _maps([(n, n) for n, *_ in dr2])),
        gaia, env)
    viz_cols = [_column_xml(v, t, u, q) for _, t, u, q, v in _GAIA_COLUMNS]
    _publish(PREFIX + "vizgaia", _resource(PREFIX + "vizgaia", "vizgaia", "gaiadr3", viz_cols,
                                           _maps([(v, n) for n, *_, v in _GAIA_COLUMNS])),
             gaia, env)
    catalogue = catalogue_rows()
    cat_types = {"name": "text"}
    cat_cols = [_column_xml(v, cat_types.get(n, "double precision"), u, q)
                for n, v, u, q in _CATALOGUE_COLUMNS]
    _publish(PREFIX + "vizcat", _resource(PREFIX + "vizcat", "vizcat", "cg2020", cat_cols,
                                          _maps([(v, n) for n, v, *_ in _CATALOGUE_COLUMNS])),
             catalogue, env)
    # SIMBAD's tables are unqualified (`FROM basic`); DaCHS reads those as `public.`
    basic, ident = simbad_rows()
    _publish(PREFIX + "simbadbasic", _resource(
        PREFIX + "simbadbasic", "public", "basic",
        [_column_xml("oid", "bigint", "", "meta.record;meta.id"),
         _column_xml("main_id", "text", "", "meta.id;meta.main"),
         _column_xml("ra", "double precision", "deg", "pos.eq.ra;meta.main"),
         _column_xml("dec", "double precision", "deg", "pos.eq.dec;meta.main"),
         _column_xml("otype", "text", "", "src.class")],
        _maps([(c, c) for c in basic.colnames])), basic, env)
    _publish(PREFIX + "simbadident", _resource(
        PREFIX + "simbadident", "public", "ident",
        [_column_xml("oidref", "bigint", "", "meta.record;meta.id"),
         _column_xml("id", "text", "", "meta.id")],
        _maps([(c, c) for c in ident.colnames])), ident, env)
    _run(["dachs", "imp", "//obscore"], env)  # creates ivoa.obscore on a fresh DaCHS
    images = image_rows(image_base_url, image_files)
    obscore = ('<mixin>//obscore#publishObscoreLike</mixin>\n'
               '    <FEED source="//obscore#obscore-columns"/>')
    _publish(PREFIX + "hstobs", _resource(PREFIX + "hstobs", "hstobs", "obs", [],
                                          _maps(_OBSCORE_FIELDS) + "".join(
                                              f'<map key="{k}">None</map>'
                                              for k in _OBSCORE_UNSET),
                                          extra=obscore), images, env)

    _run(["dachs", "serve", "start"], env, timeout=120)
    url = f"http://127.0.0.1:{port}/tap"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/availability", timeout=5).ok:
                return DachsServer(url, gaia, catalogue, images, settings, env,
                                   started_postgres)
        except requests.RequestException:
            time.sleep(0.5)
    raise RuntimeError(f"DaCHS did not answer on {url} within 90 s")
