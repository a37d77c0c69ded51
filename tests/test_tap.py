"""The data layer against a real TAP server (GAVO DaCHS on 127.0.0.1) and real failures."""

from __future__ import annotations

import http.server
import re
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from helpers.dachs_server import EXTRA_CLUSTER
from helpers.dachs_server import free_port as unused_port

from vocluster.cli.main import main
from vocluster.core.known_clusters import lookup_cluster
from vocluster.core.quality import QualityCuts
from vocluster.errors import InputError, TapError, TruncatedResultError
from vocluster.vo.cache import QueryCache
from vocluster.vo.clusters import ClusterResolver, fetch_catalogue
from vocluster.vo.gaia import fetch_cluster_cone, fetch_gaia_cone
from vocluster.vo.mast import download_images, find_hst_images
from vocluster.vo.services import (
    CLUSTER_CATALOGUES,
    GAIA_MIRRORS,
    Config,
    TableMapping,
    TapSettings,
    load_config,
)
from vocluster.vo.tap import TapClient

# Real GAVO DaCHS on PostgreSQL: started once per run, ~20 s before the first test.
pytestmark = pytest.mark.slow

M67 = lookup_cluster("M67")
FAST = TapSettings(timeout=10, retries=2, backoff=0.05)


@pytest.fixture
def config(tmp_path, tap_server):
    """Everything pointed at the local server; the local catalogue table has a VizieR shape."""
    local_cg = TableMapping("vizcat.cg2020", CLUSTER_CATALOGUES["cg2020"].columns)
    vizier_local = {rel: replace(m, table="vizgaia.gaiadr3")
                    for rel, m in GAIA_MIRRORS["vizier"].items() if rel == "dr3"}
    return Config(gaia_url=tap_server.url, catalogue_url=tap_server.url, catalogue="local",
                  mast_url=tap_server.url, simbad_url=tap_server.url,
                  cache_dir=tmp_path / "cache", tap=FAST,
                  mirrors={**GAIA_MIRRORS, "localviz": vizier_local},
                  catalogues={**CLUSTER_CATALOGUES, "local": local_cg})


def in_cone(table, ra, dec, radius):
    centre = SkyCoord(ra, dec, unit="deg")
    return centre.separation(SkyCoord(table["ra"], table["dec"], unit="deg")).deg <= radius


def test_gaia_cone_returns_exactly_the_loaded_rows_in_the_cone(config, tap_server):
    radius = 0.3
    got = fetch_gaia_cone(M67.ra, M67.dec, radius, config=config)
    loaded = tap_server.gaia
    expected = set(loaded["source_id"][in_cone(loaded, M67.ra, M67.dec, radius)])
    assert set(got["source_id"]) == expected and len(got) == len(expected)
    assert np.all(np.diff(got["ang_dist"]) >= 0)  # DISTANCE ordering
    assert str(got["pmra"].unit) == "mas / yr" and str(got["parallax"].unit) == "mas"
    assert got.meta["vocluster_tap_url"] == tap_server.url


def test_quality_cuts_are_pushed_into_the_adql(config, tap_server):
    cuts = QualityCuts(max_ruwe=1.2, min_parallax_snr=5, max_g=17)
    got = fetch_gaia_cone(M67.ra, M67.dec, 0.3, config=config, cuts=cuts)
    loaded = tap_server.gaia
    keep = (in_cone(loaded, M67.ra, M67.dec, 0.3) & (loaded["ruwe"] <= 1.2)
            & (loaded["parallax"] >= 5 * loaded["parallax_error"])
            & (loaded["phot_g_mean_mag"] <= 17))
    assert set(got["source_id"]) == set(loaded["source_id"][keep])
    assert "<= 17.0" in got.meta["vocluster_query"]


def test_async_job_gives_the_same_rows_as_sync(config):
    sync = fetch_gaia_cone(M67.ra, M67.dec, 0.2, config=config, refresh=True)
    forced_async = replace(config, tap=replace(FAST, sync_limit=10))
    asynch = fetch_gaia_cone(M67.ra, M67.dec, 0.2, config=forced_async, refresh=True)
    assert list(asynch["source_id"]) == list(sync["source_id"])


def test_vizier_named_mirror_comes_back_with_archive_names(config, tap_server):
    archive = fetch_gaia_cone(M67.ra, M67.dec, 0.25, config=config)
    mirror = fetch_gaia_cone(M67.ra, M67.dec, 0.25, config=replace(config, gaia_mirror="localviz"))
    assert set(mirror.colnames) >= {"pmra", "pmdec", "parallax", "bp_rp", "ruwe", "source_id"}
    assert list(mirror["source_id"]) == list(archive["source_id"])
    assert np.allclose(mirror["bp_rp"], archive["bp_rp"])
    assert '"BP-RP" AS bp_rp' in mirror.meta["vocluster_query"]


def test_dr2_has_no_ruwe_and_says_so(config):
    got = fetch_gaia_cone(M67.ra, M67.dec, 0.1, config=config, release="dr2")
    assert "ruwe" not in got.colnames and len(got) > 0
    with pytest.raises(InputError, match="no ruwe column"):
        fetch_gaia_cone(M67.ra, M67.dec, 0.1, config=config, release="dr2",
                        cuts=QualityCuts(max_ruwe=1.4))


def test_named_cluster_cone_uses_1p5_times_r50(config, tap_server):
    got = fetch_cluster_cone(M67, config=config)
    expected = in_cone(tap_server.gaia, M67.ra, M67.dec, 1.5 * M67.r50).sum()
    assert len(got) == expected
    assert got.meta["vocluster_cone"].endswith(str(1.5 * M67.r50))


def test_over_our_row_limit_fails_before_downloading(config):
    with pytest.raises(TruncatedResultError, match=r"matches \d+ rows, over the limit of 100"):
        fetch_gaia_cone(M67.ra, M67.dec, 0.3, config=config, max_rows=100)


def test_server_maxrec_overflow_is_an_error_not_a_quiet_subset(config, tap_server):
    # the server's hard MAXREC (3000) is below the table size (3300): a hemisphere holds all
    with pytest.raises(TruncatedResultError, match=r"(returned|truncated).*3000"):
        fetch_gaia_cone(100.0, 15.0, 90.0, config=config)


def test_tap_error_document_text_reaches_the_user(config, tap_server):
    client = TapClient(tap_server.url, FAST)
    with pytest.raises(TapError, match=r"rejected the .*no_such_table"):
        client.query("SELECT ra\nFROM gaiadr3.no_such_table")


def test_server_down_is_retried_then_reported(tmp_path):
    url = f"http://127.0.0.1:{unused_port()}/tap"
    messages: list[str] = []
    client = TapClient(url, FAST, progress=messages.append)
    with pytest.raises(TapError, match=r"failed after 3 attempts"):
        client.query("SELECT TOP 1 ra FROM gaiadr3.gaia_source")
    assert sum("retrying" in m for m in messages) == 2


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    """A real HTTP server that answers 500 or never answers in time."""

    hits = 0
    mode = "500"

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer()

    def _answer(self):
        type(self).hits += 1
        if self.mode == "hang":
            time.sleep(3)
        if self.mode == "stall" or (self.mode == "stall-once" and self.hits == 1):
            return self._stall_mid_body()
        if self.mode == "stall-once":
            return self._votable()
        try:
            self.send_response(500)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"internal trouble: database on fire")
        except BrokenPipeError:  # the client timed out first, as intended
            pass

    def _stall_mid_body(self):
        """Headers and the start of a VOTable at once, then nothing until the client's
        read timeout: a link that stalls mid-transfer."""
        body = ONE_ROW_VOTABLE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body[:60])
            self.wfile.flush()
            time.sleep(3)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _votable(self):
        body = ONE_ROW_VOTABLE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ONE_ROW_VOTABLE = (
    '<?xml version="1.0"?><VOTABLE version="1.4" '
    'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
    '<INFO name="QUERY_STATUS" value="OK"/><TABLE><FIELD name="ra" datatype="double"/>'
    "<DATA><TABLEDATA><TR><TD>1.5</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")


@pytest.fixture
def misbehaving():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Misbehaving.hits = 0
    yield server, f"http://127.0.0.1:{server.server_address[1]}/tap"
    server.shutdown()


def test_http_500_is_retried_with_the_servers_text(misbehaving):
    _, url = misbehaving
    _Misbehaving.mode = "500"
    with pytest.raises(TapError, match="database on fire"):
        TapClient(url, FAST).query("SELECT TOP 1 ra FROM t")
    assert _Misbehaving.hits == 3  # first try + 2 retries


def test_timeout_is_reported(misbehaving):
    _, url = misbehaving
    _Misbehaving.mode = "hang"
    settings = replace(FAST, timeout=0.5, retries=0)
    with pytest.raises(TapError, match=r"(?i)timed? ?out"):
        TapClient(url, settings).query("SELECT TOP 1 ra FROM t")


def test_a_read_that_stalls_mid_body_is_retried(misbehaving):
    _, url = misbehaving
    settings = replace(FAST, timeout=0.5)
    _Misbehaving.mode = "stall-once"
    messages: list[str] = []
    # the row count stalls once and is retried; then the count and the query answer
    table = TapClient(url, settings, progress=messages.append).query("SELECT ra\nFROM t")
    assert list(table["ra"]) == [1.5] and _Misbehaving.hits == 3
    assert any("retrying" in m for m in messages)
    _Misbehaving.mode, _Misbehaving.hits = "stall", 0
    with pytest.raises(TapError, match="failed after 3 attempts"):
        TapClient(url, settings).query("SELECT ra\nFROM t")
    assert _Misbehaving.hits == 3


def test_cache_hit_then_corrupt_file_is_detected_and_refetched(config):
    messages: list[str] = []
    first = fetch_gaia_cone(M67.ra, M67.dec, 0.2, config=config, progress=messages.append)
    second = fetch_gaia_cone(M67.ra, M67.dec, 0.2, config=config, progress=messages.append)
    assert any("using cached" in m for m in messages)
    assert list(second["source_id"]) == list(first["source_id"])
    [entry] = [e for e in QueryCache(config.cache_dir).entries() if "0.2" in e.request]
    raw = bytearray(entry.data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    entry.data.write_bytes(bytes(raw))
    messages.clear()
    third = fetch_gaia_cone(M67.ra, M67.dec, 0.2, config=config, progress=messages.append)
    assert not any("using cached" in m for m in messages)
    assert list(third["source_id"]) == list(first["source_id"])
    assert QueryCache(config.cache_dir).lookup("tap", entry.service, entry.request, ".vot")


def test_pyvo_service_object_is_accepted(config, tap_server):
    import pyvo

    service = pyvo.dal.TAPService(tap_server.url)
    got = fetch_gaia_cone(M67.ra, M67.dec, 0.1, config=config, service=service)
    assert len(got) == in_cone(tap_server.gaia, M67.ra, M67.dec, 0.1).sum()


def test_published_catalogue_over_tap(config, tap_server):
    clusters = fetch_catalogue(config=config)
    assert len(clusters) == len(tap_server.catalogue)
    resolver = ClusterResolver(config)
    extra = resolver.lookup("UBC 1234")  # only the remote catalogue knows it
    assert extra.pmra == pytest.approx(EXTRA_CLUSTER["pmra"])
    assert resolver.lookup("Pleiades").name == "Melotte 22"  # built-in aliases first
    with pytest.raises(InputError, match=r"did you mean.*UBC_1234"):
        resolver.lookup("UBC 1243")
    nearest, separation = resolver.nearest(132.8, 11.7)
    assert nearest.name == "NGC_2682" and separation < 0.5
    assert resolver.nearest(200.0, -80.0, max_separation=1.0) is None


def test_names_no_catalogue_spells_are_resolved_through_simbad(config, tap_server):
    """astroquery's SIMBAD client against a local SIMBAD (`basic` and `ident` on DaCHS)."""
    said = []
    resolver = ClusterResolver(config, progress=said.append)
    found = resolver.lookup("Theia 4242")  # SIMBAD's name; the catalogue has UBC_1234
    assert found.name == EXTRA_CLUSTER["name"]
    assert found.pmra == pytest.approx(EXTRA_CLUSTER["pmra"])
    assert "SIMBAD: Theia 4242 is Theia 4242" in said[-1] and "UBC_1234" in said[-1]
    assert resolver.lookup("Cl Fake 7").name == EXTRA_CLUSTER["name"]  # any SIMBAD alias
    with pytest.raises(InputError, match=r"SIMBAD knows 'Star Near 1234' as HD 999999, "
                                         r"of type '\*', not a star cluster"):
        resolver.lookup("Star Near 1234")  # a star beside the cluster is not the cluster
    with pytest.raises(InputError, match=r"SIMBAD places 'Lonely 1' \(Lonely 1, OpC\) at "
                                         r"RA 201.5000 Dec -61.2000, but no cluster"):
        resolver.lookup("Lonely 1")
    with pytest.raises(InputError, match=r"not in the built-in table, local nor SIMBAD"):
        resolver.lookup("Nowhere 99")
    dead = replace(config, simbad_url=f"http://127.0.0.1:{unused_port()}/tap")
    with pytest.raises(InputError, match=r"and SIMBAD at http://127.0.0.1:\d+/tap could "
                                         r"not be asked about 'Nowhere 99'"):
        ClusterResolver(dead).lookup("Nowhere 99")


def test_hst_images_by_filter_and_download(config, tap_server, fits_images):
    folder, _, names = fits_images
    uv = find_hst_images(M67.ra, M67.dec, 0.05, filters=["F275W"], config=config)
    assert list(uv["obs_id"]) == ["hst_test_0"] and list(uv["band"]) == ["F275W"]
    both = find_hst_images(M67.ra, M67.dec, 0.05, filters=["F275W", "F814W"],
                           instrument="ACS", config=config)
    assert list(both["obs_id"]) == ["hst_test_1"]
    [path] = download_images(both, config=config)
    assert path.read_bytes() == (folder / names[1]).read_bytes()
    assert download_images(both, config=config) == [path]  # from the cache
    with pytest.raises(InputError, match="unknown HST filter"):
        find_hst_images(M67.ra, M67.dec, 0.05, filters=["F999W"], config=config)


@pytest.fixture
def cli_env(monkeypatch, tmp_path, tap_server):
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        '[catalogue]\nname = "local"\n'
        '[catalogues.local]\ntable = "vizcat.cg2020"\n'
        '[catalogues.local.columns]\nname = "Cluster"\nra = "RA_ICRS"\ndec = "DE_ICRS"\n'
        'r50 = "r50"\npmra = \'"pmRA*"\'\npmdec = "pmDE"\nparallax = "plx"\n'
        '[tap]\nretries = 1\nbackoff = 0.05\n')
    monkeypatch.setenv("VOCLUSTER_CONFIG", str(config_file))
    monkeypatch.setenv("VOCLUSTER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VOCLUSTER_CATALOGUE_TAP_URL", tap_server.url)
    monkeypatch.setenv("VOCLUSTER_SIMBAD_TAP_URL", tap_server.url)
    return tmp_path


def test_config_file_and_environment_are_read(cli_env, tap_server):
    config = load_config()
    assert config.catalogue == "local" and config.catalogue_url == tap_server.url
    assert config.tap.retries == 1 and config.cache_dir == cli_env / "cache"


def test_cli_fetch_then_members_then_cache(cli_env, tap_server, capsys):
    out = cli_env / "m67.vot"
    assert main(["fetch", "M67", "-o", str(out), "--tap-url", tap_server.url]) == 0
    assert f"wrote {in_cone(tap_server.gaia, M67.ra, M67.dec, 1.5 * M67.r50).sum()} rows" in \
        capsys.readouterr().out
    members = cli_env / "members.vot"
    assert main(["members", "--target", "NGC 2682", "--tap-url", tap_server.url,
                 "-o", str(members)]) == 0
    report = capsys.readouterr().out
    assert "members" in report.lower() and members.exists()
    assert main(["cache", "list"]) == 0
    assert "1 entries" in capsys.readouterr().out  # the same cone: fetched once
    assert main(["cache", "clear"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out


def test_cli_unknown_cluster_and_dead_service_fail_in_one_line(cli_env, tap_server, capsys):
    assert main(["fetch", "UBC 1243", "-o", str(cli_env / "x.vot"), "--tap-url",
                 tap_server.url]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln]
    assert len(errors) == 1 and "did you mean UBC_1234" in errors[0]
    assert "nor SIMBAD" in errors[0]
    dead = f"http://127.0.0.1:{unused_port()}/tap"
    assert main(["fetch", "--ra", "10", "--dec", "10", "--radius", "0.1", "-o",
                 str(cli_env / "y.vot"), "--tap-url", dead]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln]
    assert len(errors) == 1 and errors[0].startswith("vocluster: error: TAP service")
    assert not (cli_env / "y.vot").exists()


@pytest.mark.parametrize("text, message", [
    ('[gaia]\nmirro = "vizier"\n', "unknown key(s) mirro in [gaia]"),
    ('[gia]\nmirror = "vizier"\n', "unknown section(s) gia"),
    ('[tap]\ntimeout_s = 3\n', "bad [tap] setting")])
def test_a_misspelt_config_key_is_an_error_that_names_it(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)):
        load_config(path)
