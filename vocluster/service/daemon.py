"""`vocluster serve`: a SAMP peer next to TOPCAT and Aladin (pyvo.samp, standard profile).

Calls are answered at once with nothing; the work runs in the job queue and the
reply (samp.ok with a summary, or samp.error with samp.errortxt) goes back when
the job ends, so a long run never blocks the hub. Results are broadcast as
`table.load.votable`, and the members are selected in the sender's own table.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from astropy.table import Table
from pyvo.samp import SAMP_STATUS_ERROR, SAMP_STATUS_OK, SAMPIntegratedClient
from pyvo.samp import conf as samp_conf

from vocluster import __version__
from vocluster.errors import QueueFullError, VoclusterError, error_text
from vocluster.membership.pipeline import find_members
from vocluster.service.jobs import JobQueue
from vocluster.service.requests import (
    CLASSIFY_PARAMS,
    CONE_PARAMS,
    MEMBER_PARAMS,
    NEXT_TABLE_PARAMS,
    POINT_AT_PARAMS,
    TABLE_LOAD_PARAMS,
    VALIDATE_PARAMS,
    TableRequest,
    check_params,
    classify_request,
    cone_radius,
    position,
    table_request,
)
from vocluster.service.tasks import (
    Outcome,
    ServiceSettings,
    check_sent_images,
    classify_outcome,
    cone_members,
    members_outcome,
    options_with,
    read_url_table,
    resolver,
    validation_outcome,
    write_result,
)
from vocluster.vo.gaia import DEFAULT_RADIUS_FACTOR

log = logging.getLogger("vocluster.samp")
# What a plain table.load.* (TOPCAT's "Send table to") runs: chosen on the jobs page.
ON_TABLE = ("members", "classify", "validate")
# A peer that subscribes to table.select.rowList but never answers must not hold anything
# for long: each call waits at most SELECT_CALL_TIMEOUT_S, all tries SELECT_DEADLINE_S.
SELECT_CALL_TIMEOUT_S = 5
SELECT_DEADLINE_S = 20.0
SELECT_THREADS = 2
MAX_PENDING_SELECTIONS = 16
# pyvo.samp otherwise probes http://google.com on every connect (internet_on()): a SAMP
# peer on loopback has no business talking to the internet.
samp_conf.use_internet = False

DOC_URL = "https://github.com/vocluster/vocluster#samp"
# Shipped with the package and given as a file URL: it shows offline, and the hub never
# makes TOPCAT fetch anything from outside the machine.
ICON_URL = (Path(__file__).resolve().parents[1] / "data" / "icon.png").as_uri()


class SampDaemon:
    """Registers with the hub, turns messages into jobs, keeps serving through bad input."""

    def __init__(self, settings: ServiceSettings, *, workers: int = 1, queue_size: int = 8,
                 point_at: bool = False, point_at_radius: float = 1.0,
                 url_for: Callable[[Path], str] | None = None,
                 select_deadline: float = SELECT_DEADLINE_S):
        self.settings = settings
        self.jobs = JobQueue(workers, queue_size)
        self.point_at = point_at
        self.point_at_radius = point_at_radius
        self.url_for = url_for or (lambda path: path.resolve().as_uri())
        self.select_deadline = select_deadline
        # Row selections run beside the jobs: a peer that never answers holds one of
        # these threads until the deadline, never a job worker.
        self._selections = ThreadPoolExecutor(SELECT_THREADS, thread_name_prefix="select")
        self._pending_selections = threading.BoundedSemaphore(MAX_PENDING_SELECTIONS)
        self.client: SAMPIntegratedClient | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._runs = 0
        # What a plain table.load.* from TOPCAT runs, set from the jobs page's form.
        self._next_params: dict[str, str] = {}
        self._on_table_kind = settings.on_table

    # -- options for the next table (the jobs page's form) -------------------------------
    def set_next_options(self, params: dict[str, str]) -> dict[str, str]:
        """Check and keep the options that tables sent from TOPCAT will run with.

        `params` are the SAMP parameter names (method, target, pmra/pmdec/parallax,
        candidate, threshold, force) plus `on-table` (members, classify or validate);
        empty values are left out. Raises `InputError` naming a bad value; nothing changes
        then.
        """
        params = {k: str(v).strip() for k, v in params.items() if str(v).strip()}
        kind = params.pop("on-table", self._on_table_kind)
        if kind not in ON_TABLE:
            raise VoclusterError(f"on-table must be {', '.join(ON_TABLE)}, got {kind!r}")
        if kind == "classify" and not self.settings.classify_images:
            raise VoclusterError("classify needs band images: start serve with --images")
        if kind == "validate" and importlib.util.find_spec("ocelot") is None:
            raise VoclusterError("validate needs the simulator: pip install "
                                 "'vocluster[validate]'")
        check_params(params, NEXT_TABLE_PARAMS, "options")
        options_with(self.settings, params)  # raises on a bad value or an unknown target
        with self._lock:
            self._next_params, self._on_table_kind = params, kind
        return self.next_options()

    def next_options(self) -> dict[str, str]:
        with self._lock:
            return {**self._next_params, "on-table": self._on_table_kind}

    # -- connection -------------------------------------------------------------------
    def _new_client(self) -> SAMPIntegratedClient:
        client = SAMPIntegratedClient(
            name="vocluster", description="Open-cluster membership and cluster classification",
            metadata={"samp.name": "vocluster", "samp.documentation.url": DOC_URL,
                      "samp.description.text": "Finds open-cluster members in Gaia tables "
                                               "and sends them back with probabilities.",
                      "samp.icon.url": ICON_URL,
                      "author.name": "vocluster developers", "vocluster.version": __version__},
            addr="127.0.0.1")
        return client

    def _subscribe(self, client: SAMPIntegratedClient) -> None:
        """Bind calls and notifications (a notification has no msg-id to reply to)."""
        handlers = {"table.load.votable": self._on_table, "table.load.fits": self._on_table,
                    "coord.pointAt.sky": self._on_point_at, "vocluster.members": self._on_members,
                    "vocluster.classify": self._on_classify,
                    "vocluster.cone": self._on_cone, "vocluster.status": self._on_status,
                    "vocluster.validate": self._on_validate}
        for mtype, handler in handlers.items():
            client.bind_receive_call(mtype, handler)
            client.bind_receive_notification(
                mtype, lambda key, sender, mt, params, extra, handler=handler:
                handler(key, sender, None, mt, params, extra))

    def connect(self) -> bool:
        """Register with the running hub (SAMP_HUB / lockfile rules); False if none."""
        client = self._new_client()
        try:
            client.connect()
            self._subscribe(client)
        except Exception as exc:  # no hub, stale lockfile, refused connection
            log.debug("no hub: %s", exc)
            return False
        with self._lock:
            self.client = client
        log.info("registered with the SAMP hub as %s", client.get_public_id())
        return True

    def _hub_alive(self) -> bool:
        client = self.client
        if client is None:
            return False
        try:
            client.ping()
            return True
        except Exception:
            return False

    def serve_forever(self, check_every: float = 1.0, max_backoff: float = 30.0) -> None:
        """Stay registered: reconnect with back-off whenever the hub goes away."""
        backoff = check_every
        while not self._stop.is_set():
            if self._hub_alive():
                backoff = check_every
                self._stop.wait(check_every)
                continue
            self._drop_client()
            if self.connect():
                backoff = check_every
                continue
            log.info("no SAMP hub; retrying in %.0f s", backoff)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)

    def _drop_client(self) -> None:
        with self._lock:
            client, self.client = self.client, None
        if client is None:
            return
        try:
            client.disconnect()
        except Exception:  # the hub is already gone: just stop our own XML-RPC server
            with contextlib.suppress(Exception):
                client.client.stop()

    def stop(self, cancel_jobs: bool = False) -> None:
        """Finish (or cancel) jobs, then unregister: leaves no half-written files."""
        self._stop.set()
        self.jobs.shutdown(cancel=cancel_jobs)
        self._selections.shutdown(wait=False, cancel_futures=True)
        self._drop_client()

    # -- replies and broadcasts ---------------------------------------------------------
    def _reply(self, msg_id: str | None, result: dict | None = None,
               error: BaseException | None = None) -> None:
        if msg_id is None or self.client is None:
            return
        try:
            if error is None:
                self.client.ereply(msg_id, SAMP_STATUS_OK, result=result or {})
            else:
                self.client.ereply(msg_id, SAMP_STATUS_ERROR,
                                   error={"samp.errortxt": error_text(error)})
        except Exception:
            log.exception("reply to %s failed", msg_id)

    def _progress(self, job_id: str, text: str) -> None:
        log.info("%s: %s", job_id, text)
        self.jobs.progress(job_id, text)
        client = self.client
        if client is None:
            return
        try:
            client.notify_all({"samp.mtype": "vocluster.job.progress",
                               "samp.params": {"job-id": job_id, "message": text}})
        except Exception:
            log.debug("progress notification failed", exc_info=True)

    def _broadcast_table(self, path: Path, name: str) -> str:
        url = self.url_for(path)
        table_id = f"vocluster:{path.name}"
        if self.client is not None:
            self.client.notify_all({"samp.mtype": "table.load.votable",
                                    "samp.params": {"url": url, "table-id": table_id,
                                                    "name": name}})
        return url

    def _select_rows(self, sender: str, table_id: str, url: str, rows: list[int]) -> str:
        """Ask the sender to select `rows` in its table, beside the job: "requested", or
        "0" when it does not subscribe to table.select.rowList (STILTS, scripts), is
        gone, or too many selections are already waiting."""
        client = self.client
        try:
            if client is None or "table.select.rowList" not in client.get_subscriptions(sender):
                return "0"
        except Exception:  # the sender has gone
            return "0"
        if not self._pending_selections.acquire(blocking=False):
            log.warning("row selection for %s skipped: %d already waiting", table_id,
                        MAX_PENDING_SELECTIONS)
            return "0"
        message = {"samp.mtype": "table.select.rowList",
                   "samp.params": {"table-id": table_id, "url": url,
                                   "row-list": [str(r) for r in rows]}}

        def select() -> None:
            try:
                self._send_selection(sender, message)
            finally:
                self._pending_selections.release()

        try:
            self._selections.submit(select)
        except RuntimeError:  # shutting down
            self._pending_selections.release()
            return "0"
        return "requested"

    def _send_selection(self, sender: str, message: dict) -> bool:
        """table.select.rowList, retried while the sender is still loading the table, for
        at most `select_deadline` seconds in all."""
        deadline = time.monotonic() + self.select_deadline
        attempt = 0
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            client = self.client
            if client is None or left <= 0:
                break
            attempt += 1
            try:
                timeout = str(max(1, int(min(SELECT_CALL_TIMEOUT_S, left))))
                reply = client.call_and_wait(sender, message, timeout)
                if reply.get("samp.status") != "samp.error":
                    return True
            except Exception as exc:
                log.debug("select attempt %d failed: %s", attempt, exc)
            self._stop.wait(0.5)
        log.info("row selection in %s's table gave up after %d attempt(s)", sender, attempt)
        return False

    # -- message handlers (run on the SAMP thread: validate, queue, return) ----------------
    def _accept(self, msg_id: str | None, description: str,
                work: Callable[[str], dict]) -> None:
        def done(job_id: str, result: object, error: BaseException | None) -> None:
            if error is not None:
                log.warning("%s failed: %s", job_id, error)
            self._reply(msg_id, result if isinstance(result, dict) else None, error)

        try:
            self.jobs.submit(description, work, done)
        except QueueFullError as exc:
            self._reply(msg_id, error=exc)

    def _guarded(self, msg_id, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:  # bad parameters: answer now, keep serving
            self._reply(msg_id, error=exc)

    def _on_table(self, private_key, sender_id, msg_id, mtype, params, extra=None):
        def start() -> None:
            request = table_request(mtype, check_params(params, TABLE_LOAD_PARAMS, mtype))
            chosen = self.next_options()
            kind = chosen.pop("on-table")
            if kind == "classify":
                threshold = float(chosen["threshold"]) if "threshold" in chosen else None
                self._start_url_job(msg_id, sender_id, request,
                                    self._classify(None, threshold,
                                                   list(self.settings.classify_images)))
            elif kind == "validate":
                options = options_with(self.settings, chosen)
                self._start_url_job(msg_id, sender_id, request, self._validate(options, {}))
            else:
                self._start_url_job(msg_id, sender_id, request,
                                    self._members(options_with(self.settings, chosen)))

        self._guarded(msg_id, start)

    def _on_members(self, private_key, sender_id, msg_id, mtype, params, extra=None):
        def start() -> None:
            check_params(params, MEMBER_PARAMS, mtype)
            options = options_with(self.settings, params)
            if "url" in params:
                self._start_url_job(msg_id, sender_id, table_request(mtype, params),
                                    self._members(options))
            elif "ra" in params or "dec" in params:
                cone = position(mtype, params)
                self._start_cone(msg_id, options, cone.ra, cone.dec, cone.radius,
                                 params.get("target") or f"cone {cone.ra},{cone.dec}")
            elif "target" in params:
                self._start_cone(msg_id, options, None, None, cone_radius(mtype, params),
                                 params["target"])
            else:
                raise VoclusterError(f"{mtype}: give url, target, or ra and dec")

        self._guarded(msg_id, start)

    def _start_url_job(self, msg_id, sender_id: str, request: TableRequest,
                       analyse: Callable[[Table], Outcome]) -> None:
        """A peer's table by URL: analysed, broadcast, and the chosen rows selected in the
        sender's own table."""

        def work(job_id: str) -> dict:
            self._progress(job_id, f"fetching {request.name}")
            table = read_url_table(request.url, request.format, self.settings)
            self._progress(job_id, f"analysing {len(table)} rows")
            outcome = analyse(table)
            reply = self._finish(job_id, outcome, request.name)
            if request.table_id:
                reply["selected"] = self._select_rows(sender_id, request.table_id,
                                                      request.url, outcome.rows)
            return reply

        self._accept(msg_id, f"table {request.name}", work)

    def _on_validate(self, private_key, sender_id, msg_id, mtype, params, extra=None):
        def start() -> None:
            check_params(params, VALIDATE_PARAMS, mtype)
            if "url" not in params:
                raise VoclusterError(f"{mtype}: no url parameter (the field table)")
            request = table_request(mtype, params)
            options = options_with(self.settings, params)
            self._start_url_job(msg_id, sender_id, request, self._validate(options, params))

        self._guarded(msg_id, start)

    @staticmethod
    def _validate(options, params: dict[str, str]) -> Callable[[Table], Outcome]:
        return lambda table: validation_outcome(table, options, params, log.info)

    def _members(self, options) -> Callable[[Table], Outcome]:
        return lambda table: members_outcome(find_members(table, options))

    def _on_classify(self, private_key, sender_id, msg_id, mtype, params, extra=None):
        def start() -> None:
            check_params(params, CLASSIFY_PARAMS, mtype)
            if not params.get("url"):
                raise VoclusterError(f"{mtype}: no url parameter (the catalogue)")
            request = classify_request(mtype, params)
            check_sent_images(list(request.images), self.settings)
            images = list(request.images) or list(self.settings.classify_images)
            if not images:
                raise VoclusterError(f"{mtype}: no images parameter and no --images configured")
            self._start_url_job(msg_id, sender_id, request.table,
                                self._classify(request.model, request.threshold, images))

        self._guarded(msg_id, start)

    def _classify(self, model: str | None, threshold: float | None,
                  images: list[str]) -> Callable[[Table], Outcome]:
        model = model or self.settings.model
        return lambda table: classify_outcome(table, images, model, threshold, self.settings)

    def _on_cone(self, private_key, sender_id, msg_id, mtype, params, extra=None):
        def start() -> None:
            check_params(params, CONE_PARAMS, mtype)
            cone = position(mtype, params)
            self._start_cone(msg_id, options_with(self.settings, params), cone.ra, cone.dec,
                             cone.radius, f"cone {cone.ra},{cone.dec}")

        self._guarded(msg_id, start)

    def _start_cone(self, msg_id, options, ra: float | None, dec: float | None,
                    radius: float | None, label: str) -> None:
        """A Gaia cone at (ra, dec), or around the options' target when no position is
        given; the radius defaults to 1.5 r50 of a target, else 0.5 deg."""
        if ra is None:
            ra, dec = options.target.ra, options.target.dec
            radius = radius or DEFAULT_RADIUS_FACTOR * options.target.r50
        radius = radius or 0.5

        def work(job_id: str) -> dict:
            self._progress(job_id, f"fetching the Gaia cone {ra:.4f} {dec:.4f} r={radius:.3f}")
            result = cone_members(ra, dec, radius, self.settings, options)
            return self._finish(job_id, members_outcome(result), label)

        self._accept(msg_id, label, work)

    def _finish(self, job_id: str, outcome: Outcome, name: str) -> dict:
        """Write, broadcast under a name that tells runs apart, and reply with counts that
        say what they count."""
        path = write_result(outcome.table, self.settings, name)
        with self._lock:
            self._runs += 1
            run = self._runs
        url = self._broadcast_table(path, f"{name} #{run} [{outcome.kind}]")
        self._progress(job_id, "done")
        return {"summary": outcome.summary, "rows": str(len(outcome.rows)),
                outcome.kind: str(len(outcome.rows)), "table-rows": str(len(outcome.table)),
                "run": str(run), "url": url}

    def _on_point_at(self, private_key, sender_id, msg_id, mtype, params, extra=None):
        def start() -> None:
            if not self.point_at:
                self._reply(msg_id, {"ignored": "pointAt handling is off (--point-at)"})
                return
            sky = position(mtype, check_params(params, POINT_AT_PARAMS, mtype))
            nearest = resolver(self.settings).nearest(sky.ra, sky.dec, self.point_at_radius)
            if nearest is None:
                self._reply(msg_id, {"ignored": f"no known cluster within "
                                                f"{self.point_at_radius} deg"})
                return
            cluster = nearest[0]
            self._start_cone(msg_id, options_with(self.settings, {"target": cluster.name}),
                             None, None, None, cluster.name)

        self._guarded(msg_id, start)

    def _on_status(self, private_key, sender_id, msg_id, mtype, params, extra=None):
        status = self.jobs.status()
        self._reply(msg_id, {"version": __version__, "running": str(len(status["running"])),
                             "queued": str(status["queued"]),
                             "finished": str(status["finished"]),
                             "failed": str(status["failed"]),
                             "results-dir": str(self.settings.results_dir.resolve())})
