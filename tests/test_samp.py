"""`vocluster serve` on a real SAMP hub with real peers (STILTS, JSAMP), and its cone search."""

from __future__ import annotations

import gzip
import http.server
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from helpers import f1_score, loud_skip
from helpers.dachs_server import free_port
from helpers.stamp_images import write_band_images
from pyvo.samp import SAMPHubServer, SAMPIntegratedClient

from vocluster.core.known_clusters import lookup_cluster
from vocluster.datasets.synthetic import make_cone

M67 = lookup_cluster("M67")
# End to end with real peers (hub, daemon process, STILTS, JSAMP, TOPCAT, Chromium): the
# full suite runs them; the fast subset (-m "not slow") leaves them out.
pytestmark = pytest.mark.slow


def _hub(lockfile: Path) -> SAMPHubServer:
    hub = SAMPHubServer(web_profile=False, lockfile=str(lockfile), addr="127.0.0.1")
    hub.start(wait=False)
    return hub


class Listener:
    """A plain pyvo SAMP peer that records broadcasts and row selections."""

    def __init__(self):
        self.tables: queue.Queue = queue.Queue()
        self.selections: queue.Queue = queue.Queue()
        self.progress: list[dict] = []
        self.client = SAMPIntegratedClient(name="listener", addr="127.0.0.1")
        self.client.connect()
        self.client.bind_receive_notification("table.load.votable", self._table)
        self.client.bind_receive_call("table.load.votable", self._table_call)
        self.client.bind_receive_call("table.select.rowList", self._select)
        self.client.bind_receive_notification("vocluster.job.progress",
                                              self._progress)

    def _progress(self, private_key, sender, mtype, params, extra):
        self.progress.append(params)

    def _table(self, private_key, sender, mtype, params, extra):
        self.tables.put(params)

    def _table_call(self, private_key, sender, msg_id, mtype, params, extra):
        self.tables.put(params)
        self.client.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

    def _select(self, private_key, sender, msg_id, mtype, params, extra):
        self.selections.put(params)
        self.client.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

    def vocluster_id(self, timeout: float = 30) -> str:
        """vocluster's client id, once it has registered *and* declared its MTypes.

        A daemon that has just (re)connected is registered a moment before its
        subscriptions are: a call in between is refused by the hub.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for client in self.client.get_subscribed_clients("vocluster.status"):
                if self.client.get_metadata(client).get("samp.name") == "vocluster":
                    return client
            time.sleep(0.2)
        raise AssertionError("vocluster did not register with the hub")

    def call(self, mtype: str, params: dict, timeout: int = 120) -> dict:
        return self.client.call_and_wait(self.vocluster_id(), {"samp.mtype": mtype,
                                                               "samp.params": params},
                                         str(timeout))

    def next_table(self, timeout: float = 120, kind: str = "members") -> tuple[dict, Table]:
        """The next result vocluster broadcast (other peers' broadcasts are skipped)."""
        while True:
            params = self.tables.get(timeout=timeout)
            if params.get("name", "").endswith(f"[{kind}]"):
                break
        return params, Table.read(params["url"].removeprefix("file://"), format="votable")

    def close(self):
        self.client.disconnect()


@pytest.fixture(scope="module")
def samp_env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samp")
    env = SampEnv(folder, folder / "samp.lock")
    os.environ["SAMP_HUB"] = f"std-lockurl:{env.lockfile.as_uri()}"
    env.hub = _hub(env.lockfile)
    yield env
    env.hub.stop()
    os.environ.pop("SAMP_HUB", None)


@dataclass
class SampEnv:
    """The module's hub; `restart_hub` replaces it at the same lockfile."""

    folder: Path
    lockfile: Path
    hub: SAMPHubServer | None = None

    def restart_hub(self) -> None:
        self.hub.stop()
        time.sleep(2)
        self.hub = _hub(self.lockfile)


def _start_daemon(folder: Path, tap_url: str, *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, "-m", "vocluster.cli.main", "serve", "--results-dir",
           str(folder / "results"), "--http", f"127.0.0.1:{port}", "--tap-url", tap_url,
           "--max-table-mb", "2", "--fetch-timeout", "3", "--point-at", *extra]
    log = (folder / "daemon.log").open("a")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()), port


@pytest.fixture(scope="module")
def daemon(samp_env, tap_server):
    process, port = _start_daemon(samp_env.folder, tap_server.url)
    yield process, port
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


@pytest.fixture
def listener(samp_env, daemon):
    peer = Listener()
    peer.vocluster_id()
    yield peer
    peer.close()


@pytest.fixture(scope="module")
def cone_file(tmp_path_factory):
    cone = make_cone("NGC 2682", seed=21, n_stars=3000)
    truth = np.asarray(cone["true_member"])
    cone.remove_column("true_member")
    path = tmp_path_factory.mktemp("tables") / "m67 cone.vot"
    cone.write(path, format="votable")
    return path, truth


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        loud_skip(package, "apt-get install jsamp stilts topcat xvfb")


def _fits_with_header_cards(path: Path) -> Path:
    """The cone as a FITS table with COMMENT and HISTORY cards, as archives write them.

    STILTS and TOPCAT send such cards as a 2-D char PARAM (arraysize "69x63"), which
    astropy's VOTable parser refuses unless vocluster flattens it.
    """
    table = Table.read(path)
    for k in range(40):
        table.meta.setdefault("COMMENT", []).append(f"archive comment card number {k:02d}")
        table.meta.setdefault("HISTORY", []).append(f"processing step {k:02d}")
    fits_path = path.with_suffix(".fits")
    table.write(fits_path, overwrite=True)
    return fits_path


@pytest.mark.parametrize("kind", ["votable", "fits with COMMENT/HISTORY cards"])
def test_stilts_sends_a_table_and_members_come_back(listener, cone_file, kind):
    _need("stilts", "STILTS")
    path, truth = cone_file
    if kind.startswith("fits"):
        path = _fits_with_header_cards(path)
    sent = subprocess.run(["stilts", "tpipe", f"in={path}", "omode=samp"],
                          capture_output=True, text=True, timeout=180, env=os.environ.copy())
    assert sent.returncode == 0, sent.stderr
    params, result = listener.next_table()
    assert params["name"].endswith("[members]")
    assert {"member_prob", "is_member", "group_id"} <= set(result.colnames)
    assert result["member_prob"].meta["ucd"] == "stat.probability"
    assert f1_score(np.asarray(result["is_member"]), truth) > 0.9


def test_call_is_answered_with_summary_and_members_selected(listener, cone_file):
    path, _ = cone_file
    reply = listener.call("table.load.votable", {"url": path.as_uri(), "table-id": "t-42",
                                                 "name": "my cone"})
    assert reply["samp.status"] == "samp.ok", reply
    assert "members of 3,000 rows" in reply["samp.result"]["summary"]
    assert reply["samp.result"]["table-rows"] == "3000"
    selection = listener.selections.get(timeout=60)
    assert selection["table-id"] == "t-42"
    rows = np.array([int(r) for r in selection["row-list"]])
    _, result = listener.next_table()
    assert np.array_equal(rows, np.flatnonzero(np.asarray(result["is_member"])))
    assert any(p.get("message") == "done" for p in listener.progress)


def test_a_peer_that_never_answers_the_selection_holds_no_job(listener, cone_file):
    """It subscribes to table.select.rowList and never replies: its own call is answered
    at once, and the next caller's job does not wait behind the selection's retries."""
    path, _ = cone_file
    silent = SAMPIntegratedClient(name="silent", addr="127.0.0.1")
    silent.connect()
    silent.bind_receive_call("table.select.rowList", lambda *args: None)  # never replies
    try:
        start = time.monotonic()
        reply = silent.call_and_wait(listener.vocluster_id(), {
            "samp.mtype": "table.load.votable",
            "samp.params": {"url": path.as_uri(), "table-id": "never"}}, "120")
        assert reply["samp.status"] == "samp.ok", reply
        assert reply["samp.result"]["selected"] == "requested"
        second = listener.call("vocluster.status", {})
        assert second["samp.status"] == "samp.ok"
        job = listener.call("table.load.votable", {"url": path.as_uri()})
        assert job["samp.status"] == "samp.ok" and "selected" not in job["samp.result"]
        assert time.monotonic() - start < 60  # the selection alone may take 20 s
    finally:
        silent.disconnect()


def test_classify_call_on_band_images(listener, tmp_path):
    """vocluster.classify: catalogue and five band images by file URL, with the default model."""
    paths, table, _ = write_band_images(tmp_path, 12)
    catalogue = tmp_path / "candidates.vot"
    table.write(catalogue, format="votable")
    images = ",".join(p.as_uri() for p in paths)
    reply = listener.call("vocluster.classify", {"url": catalogue.as_uri(), "images": images,
                                                 "table-id": "cands"})
    assert reply["samp.status"] == "samp.ok", reply
    assert "12 classified" in reply["samp.result"]["summary"]
    _params, result = listener.next_table(kind="classes")
    assert {"class_pred", "class_prob_1", "cluster_prob", "is_cluster", "stamp_flag"} <= set(
        result.colnames)
    selection = listener.selections.get(timeout=60)
    assert selection["table-id"] == "cands"
    assert [int(r) for r in selection["row-list"]] == list(
        np.flatnonzero(np.asarray(result["is_cluster"])))
    wrong = listener.call("vocluster.classify", {"url": catalogue.as_uri(),
                                                 "images": ",".join(p.as_uri() for p in paths[:3])})
    assert "takes 5 bands" in _error_text(wrong)
    missing = listener.call("vocluster.classify", {"url": catalogue.as_uri()})
    assert "no images" in _error_text(missing)


def test_validate_call_returns_the_injection_table(listener, cone_file):
    path, _ = cone_file
    reply = listener.call("vocluster.validate", {"url": path.as_uri(), "n-clusters": "1",
                                                  "distance-min": "500", "distance-max": "900",
                                                  "mass-min": "300", "mass-max": "400"})
    assert reply["samp.status"] == "samp.ok", reply
    assert "1 injected clusters found" in reply["samp.result"]["summary"]
    _, result = listener.next_table(kind="validation")
    assert len(result) == 1 and result["f1"][0] > 0.5
    bad = listener.call("vocluster.validate", {"url": path.as_uri(), "n-clusters": "many"})
    assert "bad parameter value" in _error_text(bad)


def _post_options(port: int, **fields: str) -> int:
    """The jobs page's form, posted as the browser does (same origin)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    base = f"http://127.0.0.1:{port}"
    request = urllib.request.Request(f"{base}/options",
                                     data=urllib.parse.urlencode(fields).encode(),
                                     headers={"Origin": base})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_table_from_topcat_can_run_validate_as_chosen_on_the_jobs_page(daemon, listener,
                                                                          cone_file):
    path, _ = cone_file
    _, port = daemon
    assert _post_options(port, **{"on-table": "validate", "threshold": "0.6"}) == 200
    try:
        reply = listener.call("table.load.votable", {"url": path.as_uri(), "name": "cone"})
        assert reply["samp.status"] == "samp.ok", reply
        assert "injected clusters found" in reply["samp.result"]["summary"]
        _, result = listener.next_table(kind="validation")
        assert len(result) >= 1 and "f1" in result.colnames
    finally:
        assert _post_options(port, **{"on-table": "members"}) == 200


def _error_text(reply: dict) -> str:
    assert reply["samp.status"] == "samp.error", reply
    return reply["samp.error"]["samp.errortxt"]


class _Hanging(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(8)

    def log_message(self, *args):
        pass


def test_bad_input_gets_samp_error_and_the_daemon_keeps_serving(listener, tmp_path, samp_env,
                                                                 fits_images):
    folder = samp_env.folder
    _, served, _ = fits_images
    hanging = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hanging)
    threading.Thread(target=hanging.serve_forever, daemon=True).start()
    bad = tmp_path / "bad.vot"
    bad.write_text("<VOTABLE><RESOURCE><TABLE><FIELD name='x' datatype='double'/>"
                   "<DATA><TABLEDATA><TR><TD>oops")
    nocols = tmp_path / "nocols.vot"
    Table({"x": np.arange(50.0)}).write(nocols, format="votable")
    empty = tmp_path / "empty.vot"
    Table({"pmra": [], "pmdec": [], "parallax": []}).write(empty, format="votable")
    big = tmp_path / "big.vot"
    Table({"x": np.zeros(400_000)}).write(big, format="votable", tabledata_format="binary2")
    refused = f"http://127.0.0.1:{free_port()}/nothing.vot"
    bomb = tmp_path / "bomb.vot.gz"  # 3 KB that inflates past the daemon's 2 MB cap
    with gzip.open(bomb, "wb") as handle:
        handle.write(b"<VOTABLE>" + b" " * 3_000_000)
    cases = {
        "file:///etc/passwd": "local files are read only under",
        "file:///proc/self/environ": "local files are read only under",
        "file:///nowhere/such.vot": "local files are read only under",  # same words
        bomb.as_uri(): "once decompressed",
        f"{served}/nothing.vot": "HTTP 404",
        f"http://127.0.0.1:{hanging.server_address[1]}/slow.vot": "timed out",
        bad.as_uri(): "malformed votable",
        nocols.as_uri(): "missing required column",
        empty.as_uri(): "empty",
        big.as_uri(): "size limit",
        refused: "cannot fetch",
        "http://example.org/t.vot": "non-loopback",
        "ftp://127.0.0.1/t.vot": "only file:",
    }
    for url, expected in cases.items():
        text = _error_text(listener.call("table.load.votable", {"url": url}))
        assert expected in text, (url, text)
    text = _error_text(listener.call("vocluster.members", {"url": bad.as_uri(), "colour": "x"}))
    assert "unknown parameter(s) colour" in text
    status = listener.call("vocluster.status", {})
    assert status["samp.status"] == "samp.ok" and int(status["samp.result"]["failed"]) >= 6
    hanging.shutdown()
    assert not list((folder / "results").glob(".*"))  # no half-written temporaries


def test_jsamp_messagesender_pointat_and_status(listener):
    _need("jsamp", "JSAMP")
    sent = subprocess.run(["jsamp", "messagesender", "-mtype", "coord.pointAt.sky",
                           "-param", "ra", str(M67.ra + 0.01), "-param", "dec", str(M67.dec),
                           "-targetname", "vocluster", "-mode", "sync"],
                          capture_output=True, text=True, timeout=180, env=os.environ.copy())
    assert sent.returncode == 0, sent.stdout + sent.stderr
    params, result = listener.next_table()
    assert re.fullmatch(r"NGC 2682 #\d+ \[members\]", params["name"])
    members = np.asarray(result["is_member"])
    assert members.sum() > 20
    assert abs(np.median(result["pmra"][members]) - M67.pmra) < 0.5
    status = subprocess.run(["jsamp", "messagesender", "-mtype", "vocluster.status",
                             "-targetname", "vocluster", "-mode", "sync"],
                            capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert "samp.ok" in status.stdout and "version" in status.stdout


def test_cone_search_with_pyvo_stilts_and_bad_parameters(daemon, listener, tmp_path):
    import pyvo

    _, port = daemon
    url = f"http://127.0.0.1:{port}/scs"
    result = pyvo.dal.SCSService(url).search(pos=(M67.ra, M67.dec), radius=0.25)
    table = result.to_table()
    assert len(table) > 100 and "member_prob" in table.colnames
    assert table["is_member"].sum() > 20
    with pytest.raises(pyvo.dal.DALQueryError, match="SR must be"):
        pyvo.dal.SCSService(url).search(pos=(M67.ra, M67.dec), radius=40)
    empty = pyvo.dal.SCSService(url).search(pos=(250.0, 60.0), radius=0.1)
    assert len(empty.to_table()) == 0  # SCS 1.03: an empty cone is an empty table
    edge = pyvo.dal.SCSService(url).search(  # 0.2 deg off M67, too small to hold a cluster
        pos=(M67.ra + 0.2 / np.cos(np.radians(M67.dec)), M67.dec), radius=0.05)
    sources = edge.to_table()
    assert len(sources) > 50 and "member_prob" not in sources.colnames
    notes = [i.value for i in edge.votable.resources[0].infos if i.name == "vocluster_note"]
    assert notes and notes[0].startswith("no membership:")
    if shutil.which("stilts"):
        out = tmp_path / "cone.vot"
        done = subprocess.run(["stilts", "cone", f"serviceurl={url}", f"lon={M67.ra}",
                               f"lat={M67.dec}", "radius=0.25", f"out={out}"],
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        assert len(Table.read(out)) == len(table)


def test_daemon_reconnects_after_hub_restart(samp_env, daemon):
    samp_env.restart_hub()
    peer = Listener()
    try:
        assert peer.vocluster_id(timeout=60)
        assert peer.call("vocluster.status", {})["samp.status"] == "samp.ok"
    finally:
        peer.close()


def test_jsamp_hub_round_trip(tmp_path, tap_server, cone_file):
    _need("jsamp", "JSAMP")
    _need("stilts", "STILTS")
    lockfile = tmp_path / "jsamp.lock"
    env = {**os.environ, "SAMP_HUB": f"std-lockurl:{lockfile.as_uri()}"}
    hub = subprocess.Popen(["java", "-Djsamp.lockfile=" + str(lockfile), "-classpath",
                            "/usr/share/java/jsamp.jar", "org.astrogrid.samp.hub.Hub",
                            "-mode", "no-gui", "-profiles", "std"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    daemon = None
    try:
        deadline = time.monotonic() + 60
        while not lockfile.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lockfile.exists(), "JSAMP hub wrote no lockfile"
        saved = os.environ["SAMP_HUB"]
        os.environ["SAMP_HUB"] = env["SAMP_HUB"]
        try:
            daemon, _ = _start_daemon(tmp_path, tap_server.url)
            peer = Listener()
            peer.vocluster_id(timeout=60)
            path, truth = cone_file
            sent = subprocess.run(["stilts", "tpipe", f"in={path}", "omode=samp"], env=env,
                                  capture_output=True, text=True, timeout=180)
            assert sent.returncode == 0, sent.stderr
            _, result = peer.next_table()
            assert f1_score(np.asarray(result["is_member"]), truth) > 0.9
            peer.close()
        finally:
            os.environ["SAMP_HUB"] = saved
    finally:
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
        hub.terminate()
        hub.wait(timeout=30)


@pytest.fixture
def topcat(samp_env, daemon, tmp_path):
    """TOPCAT itself on a virtual screen, its Java class started directly (stoppable by PID)."""
    _need("Xvfb", "Xvfb")
    _need("topcat", "TOPCAT")
    display = f":{free_port() % 400 + 100}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x1024x24", "-nolisten",
                             "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ, "DISPLAY": display}
    app = subprocess.Popen(["java", "-Xmx1g", "-classpath", "/usr/share/java/starlink-topcat.jar",
                            "uk.ac.starlink.topcat.Driver"], env=env,
                           stdout=(tmp_path / "topcat.log").open("w"), stderr=subprocess.STDOUT)
    try:
        yield app
    finally:
        app.terminate()
        app.wait(timeout=30)
        xvfb.terminate()
        xvfb.wait(timeout=30)


def _peer_named(peer: Listener, name: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for client in peer.client.get_registered_clients():
            if peer.client.get_metadata(client).get("samp.name", "").lower() == name:
                return client
        time.sleep(0.5)
    raise AssertionError(f"{name} did not register with the hub")


def test_topcat_loads_the_result_and_accepts_the_selection(topcat, listener, cone_file):
    path, _ = cone_file
    topcat_id = _peer_named(listener, "topcat")
    deadline = time.monotonic() + 60  # wait until TOPCAT subscribes to table loads
    while "table.load.votable" not in listener.client.get_subscriptions(topcat_id):
        assert time.monotonic() < deadline, "TOPCAT never subscribed to table.load.votable"
        time.sleep(0.5)
    reply = listener.call("table.load.votable", {"url": path.as_uri(), "table-id": "cone-7"})
    assert reply["samp.status"] == "samp.ok", reply
    params, result = listener.next_table()
    rows = [str(r) for r in np.flatnonzero(np.asarray(result["is_member"]))]
    select = {"samp.mtype": "table.select.rowList",
              "samp.params": {"table-id": params["table-id"], "url": params["url"],
                              "row-list": rows}}
    answer: dict = {}
    for _ in range(40):  # TOPCAT answers an error until the broadcast table has loaded
        answer = listener.client.call_and_wait(topcat_id, select, "30")
        if answer.get("samp.status") == "samp.ok":
            break
        time.sleep(0.5)
    assert answer.get("samp.status") == "samp.ok", answer
    unknown = {"samp.mtype": "table.select.rowList",
               "samp.params": {"table-id": "never-sent", "url": "file:///never/sent.vot",
                               "row-list": ["0"]}}
    assert listener.client.call_and_wait(topcat_id, unknown, "30")["samp.status"] != "samp.ok"
    assert topcat.poll() is None  # TOPCAT is still running


@pytest.fixture
def browser():
    """Debian's chromium, headless, driven by Selenium through Debian's chromedriver."""
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        loud_skip("chromium / chromium-driver", "apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def _rows(driver) -> list[dict]:
    return driver.execute_script(
        "return [...document.querySelectorAll('tr.job')].map(tr => ({id: tr.id, "
        "state: tr.className.split(' ')[1], text: tr.children[3].textContent, "
        "links: [...tr.querySelectorAll('a')].map(a => a.href)}));")


def _wait_for_job(driver, known: set[str], state: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for row in _rows(driver):
            if row["id"] not in known and row["state"] == state:
                return row
        time.sleep(0.3)
    raise AssertionError(f"no new {state} job appeared on the page: {_rows(driver)}")


def _submit(driver, base: str, values: dict[str, str]) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver.get(base)
    for name, value in values.items():
        element = driver.find_element(By.ID, name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)
    driver.find_element(By.ID, "save").click()
    # the answer is a new page (/?saved=1, or /options with the problem): wait until it
    # has loaded; chromedriver may fail a query while the old page is being torn down
    WebDriverWait(driver, 30, ignored_exceptions=[WebDriverException]).until(
        lambda d: d.current_url != base and d.execute_script(
            "return document.readyState") == "complete")


def test_jobs_page_in_a_browser_shows_jobs_results_errors_and_sets_options(
        browser, daemon, listener, cone_file, tmp_path):
    """The page a TOPCAT user keeps open: options chosen in a form apply to the next table
    STILTS sends as TOPCAT does; the job appears, finishes with its result and plot; a bad
    table's job shows its error in words."""
    from selenium.webdriver.common.by import By

    _need("stilts", "STILTS")
    _, port = daemon
    base = f"http://127.0.0.1:{port}/"
    _submit(browser, base, {"threshold": "2"})
    assert "threshold must be between 0 and 1" in browser.find_element(By.ID, "problem").text
    _submit(browser, base, {"method": "mixture", "threshold": "0.7"})
    assert browser.find_element(By.ID, "notice").text == "options saved"
    assert "threshold=0.7" in browser.find_element(By.ID, "current").text
    known = {row["id"] for row in _rows(browser)}
    path, _ = cone_file
    sent = subprocess.run(["stilts", "tpipe", f"in={path}", "omode=samp"], capture_output=True,
                          text=True, timeout=180, env=os.environ.copy())
    assert sent.returncode == 0, sent.stderr
    done = _wait_for_job(browser, known, "done")
    assert "members of 3,000 rows" in done["text"]
    table_link, plot_link = done["links"]
    result = Table.read(table_link, format="votable")
    assert result["is_member"].description == "member_prob >= 0.7"  # the form's options
    width = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; const img = new Image();"
        "img.onload = () => done(img.naturalWidth); img.onerror = () => done(0);"
        "img.src = arguments[0];", plot_link)
    assert width > 500
    known.add(done["id"])
    bad = tmp_path / "no astrometry.csv"
    Table({"a": [1.0, 2.0], "b": [3.0, 4.0]}).write(bad)
    subprocess.run(["stilts", "tpipe", f"in={bad}", "ifmt=csv", "omode=samp"],
                   capture_output=True, timeout=180, env=os.environ.copy(), check=True)
    failed = _wait_for_job(browser, known, "failed")
    assert "pmra" in failed["text"] or "column" in failed["text"], failed
    _submit(browser, base, {"method": "", "threshold": ""})  # back to the defaults
    assert "daemon's defaults" in browser.find_element(By.ID, "current").text
