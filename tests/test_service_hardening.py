"""What `vocluster serve` exposes: loopback unless told, complete results only."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from vocluster.atomic import remove_stale_temporaries
from vocluster.cli.main import main
from vocluster.service.http import ServiceHTTPServer
from vocluster.service.tasks import ServiceSettings


def test_http_on_every_interface_needs_an_explicit_flag(tmp_path, capsys):
    code = main(["serve", "--results-dir", str(tmp_path), "--http", "0.0.0.0:0"])
    # (other tests' server threads may print to stderr meanwhile: look at ours only)
    err = [line for line in capsys.readouterr().err.splitlines()
           if line.startswith("vocluster:")]
    assert code == 2 and len(err) == 1 and err[0].startswith("vocluster: error:")
    assert "--allow-remote-clients" in err[0] and "unauthenticated" in err[0]


@pytest.fixture
def http_server(tmp_path):
    server = ServiceHTTPServer(("127.0.0.1", 0), ServiceSettings(results_dir=tmp_path))
    server.start()
    yield server
    server.shutdown()
    server.server_close()


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_results_with_odd_names_are_served_and_temporaries_never(http_server, tmp_path):
    odd = tmp_path / "NGC 2682+run 2.vot"
    odd.write_text("<VOTABLE/>")
    hidden = tmp_path / ".NGC_2682.vot.k2j3.vot"
    hidden.write_text("<VOTABLE")  # half-written
    assert _get(http_server.url_for(odd)) == 200
    assert _get(http_server.url_for(hidden)) == 404
    assert _get(f"{http_server.base_url}/results/%2E{hidden.name[1:]}") == 404
    assert _get(f"{http_server.base_url}/results/{'x' * 5000}.vot") == 404  # answered
    assert _get(f"{http_server.base_url}/plots/{'x' * 5000}.png") == 404


def test_stale_temporaries_are_removed_and_results_kept(tmp_path):
    (tmp_path / "members.vot").write_text("<VOTABLE/>")
    (tmp_path / ".members.vot.abc.vot").write_text("<VOT")
    (tmp_path / ".hidden-config").write_text("keep")
    removed = remove_stale_temporaries(tmp_path, (".vot", ".json"))
    assert [p.name for p in removed] == [".members.vot.abc.vot"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden-config", "members.vot"]


@pytest.mark.parametrize(("params", "words"), [
    ({"url": ["file:///tmp/a.vot"]}, "parameter url must be a string, got a list"),
    ({"url": {"x": "1"}}, "parameter url must be a string, got a map"),
    ({"url": "x", "colour": "red"}, "unknown parameter(s) colour"),
    ({"name": "n" * 5000}, "parameter name is 5000 characters long"),
])
def test_samp_parameters_are_checked_by_type_and_length(params, words):
    from vocluster.errors import VoclusterError
    from vocluster.service.requests import TABLE_LOAD_PARAMS, check_params

    with pytest.raises(VoclusterError) as error:
        check_params(params, TABLE_LOAD_PARAMS, "table.load.votable")
    assert words in str(error.value) and "\n" not in str(error.value)


def test_samp_requests_are_parsed_into_values_without_a_hub():
    from vocluster.service.requests import (
        classify_request,
        position,
        split_list,
        table_request,
    )

    loaded = table_request("table.load.fits", {"url": "http://127.0.0.1:9/x%20y.fits",
                                               "table-id": "t1"})
    assert (loaded.format, loaded.name, loaded.table_id) == ("fits", "x y.fits", "t1")
    named = table_request("vocluster.members", {"url": "file:/tmp/a.vot", "name": "M67"})
    assert (named.format, named.name, named.table_id) == ("votable", "M67", None)
    assert position("vocluster.cone", {"ra": "-10", "dec": "20", "radius": "0.3"}) == (
        position("vocluster.cone", {"ra": "350", "dec": "20", "radius": "0.3"}))
    request = classify_request("vocluster.classify", {"url": "file:/tmp/c.vot",
                                                      "images": "a.fits, b.fits c.fits",
                                                      "threshold": "0.7"})
    assert request.images == ("a.fits", "b.fits", "c.fits") and request.threshold == 0.7
    assert split_list(" ,a,, b ") == ["a", "b"]


@pytest.mark.parametrize(("call", "params", "words"), [
    ("table", {"url": "x", "format": "csv"}, "format must be votable or fits, got csv"),
    ("table", {"name": "x"}, "no url parameter"),
    ("position", {"ra": "12h"}, "ra must be a number in degrees, got '12h'"),
    ("position", {"ra": "1"}, "missing parameter dec"),
    ("position", {"ra": "1", "dec": "91"}, "dec must be within [-90, 90]"),
    ("position", {"ra": "1", "dec": "2", "radius": "-1"}, "radius must be within (0, 10]"),
    ("classify", {"url": "x", "threshold": "high"}, "threshold must be a number"),
])
def test_bad_samp_requests_are_one_line_errors(call, params, words):
    from vocluster.errors import VoclusterError
    from vocluster.service.requests import classify_request, position, table_request

    parse = {"table": table_request, "position": position, "classify": classify_request}
    with pytest.raises(VoclusterError) as error:
        parse[call]("vocluster.members", params)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_long_table_names_give_short_result_names():
    from vocluster.service.tasks import safe_stem

    assert len(safe_stem("cluster " * 60)) <= 80 and safe_stem("...") == "table"


def test_stopping_answers_every_waiting_caller_and_refuses_new_jobs():
    import threading

    from vocluster.errors import VoclusterError
    from vocluster.service.jobs import JobQueue

    queue = JobQueue(workers=1, capacity=8)
    release = threading.Event()
    answers: dict[str, str] = {}

    def done(job_id, result, error):
        answers[job_id] = "ok" if error is None else str(error)

    first = queue.submit("blocks", lambda job: release.wait(10), done)
    waiting = [queue.submit(f"waits {k}", lambda job: "never", done) for k in range(3)]
    while queue.records()[-1]["state"] != "running":  # the first job has started
        threading.Event().wait(0.01)
    stopper = threading.Thread(target=queue.shutdown, kwargs={"cancel": True})
    stopper.start()
    release.set()
    stopper.join(timeout=30)
    assert answers[first] == "ok"
    assert all("cancelled" in answers[job] for job in waiting)
    states = {r["job_id"]: r["state"] for r in queue.records()}
    assert [states[job] for job in waiting] == ["failed"] * 3
    with pytest.raises(VoclusterError, match="stopping"):
        queue.submit("late", lambda job: None, done)
