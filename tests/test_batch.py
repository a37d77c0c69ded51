"""`vocluster batch` on real Dask processes: files, HATS through LSDB, TAP against DaCHS.

The scheduler and workers are `dask scheduler` / `dask worker` processes on 127.0.0.1,
started here; the HATS catalogue is built with hats-import from generated fields with
clusters in them. Every run checks its members against the injected truth.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from astropy.table import Table, vstack
from helpers import f1_score
from helpers.dachs_server import free_port

from vocluster.batch import (
    BatchCluster,
    FileTables,
    HatsCones,
    TapCones,
    clusters_from_table,
    complete_from_catalogue,
    run_batch,
)
from vocluster.batch.engine import dask_client
from vocluster.cli.main import main
from vocluster.core.known_clusters import lookup_cluster
from vocluster.datasets.synthetic import make_cone
from vocluster.vo.services import Config, TapSettings

PRESETS = ("NGC 2682", "Melotte 22", "NGC 2516", "NGC 2632")


def _cone(name: str, seed: int) -> Table:
    return make_cone(name, seed=seed, n_stars=4000, n_members=250)


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> Path:
    """One generated field per preset, named after the cluster, as a user's downloads are."""
    folder = tmp_path_factory.mktemp("tables")
    for seed, name in enumerate(PRESETS):
        _cone(name, seed).write(folder / f"{name.replace(' ', '_')}.fits")
    return folder


def _truth(folder: Path, name: str) -> np.ndarray:
    return np.asarray(Table.read(folder / f"{name.replace(' ', '_')}.fits")["true_member"])


LOOPBACK = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]


def start_dask(n_workers: int) -> tuple[str, list[subprocess.Popen]]:
    """`dask scheduler` and `dask worker` processes, every address on 127.0.0.1."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen(["dask", "scheduler", "--port", str(port), *LOOPBACK],
                                  **quiet)]
    processes += [subprocess.Popen(["dask", "worker", address, "--nthreads", "1", *LOOPBACK],
                                   **quiet) for _ in range(n_workers)]
    with Client(address, timeout="60s") as client:
        client.wait_for_workers(n_workers, timeout=120)
    return address, processes


def stop_dask(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def dask_processes():
    """A real scheduler and two workers, each its own process."""
    address, processes = start_dask(2)
    yield address, processes[1:]
    stop_dask(processes)


@pytest.mark.slow
def test_a_cluster_list_with_bad_rows_is_run_and_reported_per_row(tables, dask_processes,
                                                                 tmp_path):
    address, _ = dask_processes
    listing = Table({"name": ["NGC 2682", "Melotte 22", "Nowhere 1", "", "NGC 2682"]})
    listing.write(tmp_path / "list.csv")
    empty = _cone("NGC 2516", 9)[:0]
    empty.write(tables / "Empty_1.fits", overwrite=True)
    Table({"name": ["Empty 1"]}).write(tmp_path / "empty.csv")
    out = tmp_path / "out"
    code = main(["batch", str(tmp_path / "list.csv"), "-o", str(out), "--tables", str(tables),
                 "--scheduler", address])
    assert code == 1  # some rows failed: scripts must notice
    summary = Table.read(out / "summary.vot")
    assert list(summary["status"]) == ["ok", "ok", "failed", "failed", "failed"]
    reasons = list(summary["reason"])
    assert "no table for Nowhere 1" in reasons[2]
    assert "has no name" in reasons[3] and "duplicate name 'NGC 2682'" in reasons[4]
    assert summary["name"][3] == "row 4" and summary["n_members"][0] > 100
    for name in ("NGC 2682", "Melotte 22"):
        members = Table.read(out / f"{name.replace(' ', '_')}.vot")
        assert f1_score(np.asarray(members["is_member"]), _truth(tables, name)) > 0.9
    assert str(summary["significance"].unit) == "sigma" and summary["pmra"].unit == "mas/yr"
    assert len(Table.read(out / "summary.parquet")) == 5
    assert main(["batch", str(tmp_path / "empty.csv"), "-o", str(tmp_path / "e"), "--tables",
                 str(tables), "--scheduler", address]) == 1
    row = Table.read(tmp_path / "e" / "summary.vot")[0]
    assert row["status"] == "failed" and row["name"] == "Empty 1" and "has no rows" in row["reason"]


@pytest.mark.slow
def test_a_worker_killed_mid_batch_has_its_clusters_redone(tables, tmp_path):
    """SIGKILL one of two worker processes while it runs a cluster: the scheduler gives
    its task to the other, and every cluster still ends ok with complete outputs."""
    address, procs = start_dask(2)
    killed: list[int] = []

    def kill_the_other_worker(done: int, total: int, row: dict) -> None:
        if killed:
            return
        finished = int(row["worker"].rsplit(":", 1)[1])
        workers = [c for p in procs[1:] for c in psutil.Process(p.pid).children(recursive=True)]
        victim = next(w for w in workers if w.pid != finished and "python" in w.name())
        killed.append(victim.pid)
        victim.send_signal(signal.SIGKILL)

    clusters = [BatchCluster(name) for name in PRESETS * 2]
    clusters = [BatchCluster(c.name if k < 4 else f"{c.name} copy") for k, c in
                enumerate(clusters)]
    for name in PRESETS:
        (tables / f"{name.replace(' ', '_')}_copy.fits").write_bytes(
            (tables / f"{name.replace(' ', '_')}.fits").read_bytes())
    try:
        summary = run_batch(clusters, FileTables(tables), tmp_path / "out", scheduler=address,
                            progress=kill_the_other_worker)
    finally:
        stop_dask(procs)
    assert killed
    assert list(summary["status"]) == ["ok"] * 8
    assert all(not w.endswith(f":{killed[0]}") for w in summary["worker"])
    assert not [p for p in (tmp_path / "out").rglob(".*") if p.is_file()]


@pytest.mark.slow
def test_an_interrupted_batch_resumes_with_nothing_half_written(tables, tmp_path):
    listing = tmp_path / "list.csv"
    Table({"name": list(PRESETS)}).write(listing)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "vocluster.cli.main", "batch", str(listing), "-o", str(out),
               "--tables", str(tables), "--workers", "1"]
    # Ctrl-C's default action in the child even when the suite runs with SIGINT ignored
    # (started in the background, or under nohup), which the child would inherit.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                signal.default_int_handler))
    deadline = time.monotonic() + 240
    while not list((out / "status").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err.decode()
    summary = Table.read(out / "summary.vot")
    assert "ok" in list(summary["status"]) and "not run" in list(summary["status"])
    finished = {p.name: p.stat().st_mtime_ns for p in out.glob("*.vot") if p.name != "summary.vot"}
    assert len(finished) == list(summary["status"]).count("ok")
    (out / ".NGC_2516.vot.abc123.vot").write_text("half")  # what a SIGKILL leaves
    assert not [p for p in out.rglob(".*") if p.is_file() and "abc123" not in p.name]
    result = subprocess.run(command, capture_output=True, timeout=600)
    assert result.returncode == 0, result.stderr.decode()
    summary = Table.read(out / "summary.vot")
    assert list(summary["status"]) == ["ok"] * len(PRESETS)
    assert not [p for p in out.rglob(".*") if p.is_file()]
    for name, mtime in finished.items():  # done before: skipped, not rewritten
        assert (out / name).stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_the_private_cluster_listens_on_loopback_only():
    me = psutil.Process()
    with dask_client(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        listening = [c.laddr for p in [me, *me.children(recursive=True)]
                     for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening)


@pytest.fixture(scope="module")
def hats_catalogue(tmp_path_factory):
    """Two generated fields with their clusters, imported into HATS with hats-import."""
    from distributed import Client, LocalCluster
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.pipeline import pipeline_with_client

    work = tmp_path_factory.mktemp("hats")
    cones = [_cone("NGC 2682", 21), _cone("NGC 2516", 22)]
    stars = vstack(cones, metadata_conflicts="silent")
    stars.meta.clear()
    stars["source_id"] = np.arange(len(stars), dtype=np.int64)
    stars.write(work / "stars.parquet")
    arguments = ImportArguments(output_path=work, output_artifact_name="gaia",
                                input_file_list=[str(work / "stars.parquet")],
                                file_reader="parquet", ra_column="ra", dec_column="dec",
                                pixel_threshold=1500, progress_bar=False, tmp_dir=work / "tmp")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        pipeline_with_client(arguments, client)
    return work / "gaia", stars


@pytest.mark.slow
def test_clusters_are_read_from_a_hats_catalogue_through_lsdb(hats_catalogue, dask_processes,
                                                               tmp_path):
    catalogue, stars = hats_catalogue
    address, _ = dask_processes
    m67, ngc2516 = lookup_cluster("M67"), lookup_cluster("NGC 2516")
    clusters = complete_from_catalogue(
        [BatchCluster("NGC 2682"), BatchCluster("NGC 2516", pmra=ngc2516.pmra,
                                                pmdec=ngc2516.pmdec, parallax=ngc2516.parallax),
         BatchCluster("empty sky", ra=200.0, dec=-30.0, radius=0.2)], lookup_cluster)
    summary = run_batch(clusters, HatsCones(str(catalogue)), tmp_path / "out",
                        scheduler=address)
    assert list(summary["status"]) == ["ok", "ok", "failed"]
    assert "no stars in the cone of empty sky" in summary["reason"][2]
    assert not summary["guided"][0] and summary["guided"][1]
    ids = np.asarray(stars["source_id"])
    for name, cluster in (("NGC_2682", m67), ("NGC_2516", ngc2516)):
        members = Table.read(tmp_path / "out" / f"{name}.vot")
        truth = np.isin(np.asarray(members["source_id"]),
                        ids[np.asarray(stars["true_member"])])
        assert f1_score(np.asarray(members["is_member"]), truth) > 0.9
        separation = np.hypot((np.asarray(members["ra"]) - cluster.ra)
                              * np.cos(np.radians(cluster.dec)),
                              np.asarray(members["dec"]) - cluster.dec)
        assert separation.max() <= 1.5 * cluster.r50 * 1.001  # only the cone was read


@pytest.mark.slow
def test_batch_over_tap_fetches_each_cone_from_dachs(tap_server, tmp_path):
    config = Config(gaia_url=tap_server.url, cache_dir=tmp_path / "cache",
                    tap=TapSettings(timeout=20, retries=1, backoff=0.05))
    clusters = complete_from_catalogue(
        clusters_from_table(Table({"name": ["NGC 2682", "sky"], "ra": [np.nan, 250.0],
                                   "dec": [np.nan, 60.0], "radius": [np.nan, 0.1]})),
        lookup_cluster)
    summary = run_batch(clusters, TapCones(config), tmp_path / "out", workers=1)
    m67 = lookup_cluster("M67")
    gaia = tap_server.gaia
    separation = np.hypot((np.asarray(gaia["ra"]) - m67.ra) * np.cos(np.radians(m67.dec)),
                          np.asarray(gaia["dec"]) - m67.dec)
    inside = separation <= 1.5 * m67.r50
    assert summary["status"][0] == "ok"
    assert abs(int(summary["n_rows"][0]) - int(inside.sum())) <= 2  # flat-sky edge rows
    assert summary["status"][1] == "failed" and "no stars in the cone" in summary["reason"][1]
    status = json.loads((tmp_path / "out" / "status" / "NGC_2682.json").read_text())
    assert status["n_members"] == summary["n_members"][0] > 100


def test_pure_cluster_list_rules():
    table = Table({"Cluster": ["A 1", "B/2", "A 1"], "RA_ICRS": [10.0, 20.0, 30.0],
                   "DE_ICRS": [1.0, 2.0, 3.0], "r50": [0.1, np.nan, 0.2],
                   "pmRA": [1.0, np.nan, 1.0], "pmDE": [2.0, 2.0, 2.0],
                   "Plx": [0.5, 0.5, 0.5]})
    clusters = clusters_from_table(table)
    assert clusters[0].radius == pytest.approx(0.15) and clusters[0].target is not None
    assert clusters[1].key == "B_2" and clusters[1].target is None  # runs blind
    assert clusters[1].radius is None and clusters[2].problem == "duplicate name 'A 1'"
    assert os.sep not in clusters[1].key


@pytest.mark.slow
def test_image_sets_are_classified_on_dask_as_classify_does(dask_processes, tmp_path):
    """One task per image set on the worker processes; each set's table equals what
    `vocluster classify` writes for it, bad sets are failed rows, and a rerun skips."""
    from helpers.stamp_images import write_band_images

    from vocluster.classification.pipeline import classify_table
    from vocluster.classification.store import load_classifier
    from vocluster.io.images import read_band_images

    address, _ = dask_processes
    rows = []
    for seed in range(3):
        folder = tmp_path / f"set{seed}"
        folder.mkdir()
        paths, table, _ = write_band_images(folder, 12, seed=seed)
        table.write(folder / "candidates.ecsv")
        rows.append({"name": f"field {seed}", "catalog": f"set{seed}/candidates.ecsv",
                     "images": ";".join(str(p.relative_to(tmp_path)) for p in paths)})
    rows.append({**rows[0], "name": "three bands",
                 "images": ";".join(rows[0]["images"].split(";")[:3])})
    rows.append({**rows[0], "name": "no catalog", "catalog": "set0/none.ecsv"})
    Table(rows=rows).write(tmp_path / "manifest.csv")
    out = tmp_path / "out"
    argv = ["classify-batch", str(tmp_path / "manifest.csv"), "-o", str(out), "--scheduler",
            address]
    assert main(argv) == 1
    summary = Table.read(out / "summary.vot")
    assert list(summary["status"]) == ["ok", "ok", "ok", "failed", "failed"]
    assert "takes 5 bands" in summary["reason"][3] and "not found" in summary["reason"][4]
    assert list(summary["device"][:3]) == ["cpu"] * 3 and set(summary["n_classified"][:3]) == {12}
    classifier = load_classifier("vocluster-sim-starcnet")
    for seed in range(3):
        folder = tmp_path / f"set{seed}"
        direct = classify_table(Table.read(folder / "candidates.ecsv"),
                                read_band_images(sorted(folder.glob("*.fits"))), classifier)
        batch = Table.read(out / f"field_{seed}.vot")
        assert np.allclose(np.asarray(batch["cluster_prob"]), np.asarray(direct["cluster_prob"]),
                           atol=1e-5)
    written = (out / "field_0.vot").stat().st_mtime_ns
    assert main(argv) == 1  # the two bad sets fail again; the others are skipped
    assert (out / "field_0.vot").stat().st_mtime_ns == written


def test_the_largest_items_start_first():
    from vocluster.batch.runner import _ranks

    items = {k: BatchCluster(f"c{k}", radius=r) for k, r in enumerate((0.1, 2.0, 0.1, 0.5))}
    ranks = _ranks(items, lambda c: c.radius**2)
    assert sorted(items, key=ranks.get, reverse=True) == [1, 3, 0, 2]
    assert _ranks(items, None) == {0: 3, 1: 2, 2: 1, 3: 0}  # no hint: the list's order
