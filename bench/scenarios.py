"""The scenarios. Each returns a dict of figures; ``bench.__main__`` puts them in the report."""

import asyncio
import bisect
import itertools
import json
import logging
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import data, infra, servers
from bench.load import Meter, citizen_ip, closed_loop, percentile

JSON = {"Content-Type": "application/json"}


def _headers(uid: int) -> dict[str, str]:
    return {**JSON, "X-Session-Token": data.citizen_token(uid), "X-Forwarded-For": citizen_ip(uid)}


class Ctx:
    def __init__(self, ds: data.DataSet, layout: servers.Layout, args, cores: int) -> None:
        self.ds, self.layout, self.args, self.cores = ds, layout, args, cores
        self.rng = random.Random(66)
        self.children: list = []

    @property
    def ports(self) -> list[int]:
        """Where HTTP goes: gunicorn's one port (split layout) or the daphne processes' ports."""
        return self.layout.http_ports

    @property
    def read_clients(self) -> int:
        """Clients for the latency-only runs (reads, poll list): one per core that serves HTTP,
        so requests do not queue behind each other (daphne: one per process)."""
        return min(self.layout.http_processes, self.cores)

    def loop(
        self, name, next_request, *, clients=None, duration, keep_body=None, pids=None, ports=None
    ):
        return asyncio.run(
            closed_loop(
                name, ports or self.ports, next_request,
                clients=clients or self.args.clients, duration=duration,
                server_pids=pids or self.layout.http_pids, cores=self.cores, keep_body=keep_body,
                counter_pids=self.layout.counter_pids,
            )
        )  # fmt: skip

    def ballot_stream(self, poll_ids: list[int], citizens: int | None = None):
        """Ballots over ``poll_ids``: each by a citizen who has not voted in that poll yet.

        Ballot k goes to citizen k mod C in poll (k mod C + k div C) mod P: every (citizen, poll)
        pair at most once, citizens in turn (C is a multiple of P). None when all are used.
        ``citizens``: only the first that many (C)."""
        ds, counter = self.ds, itertools.count()
        bodies = {
            p: [json.dumps({"options": [o]}).encode() for o in ds.options[p]] for p in poll_ids
        }
        weights = {p: [len(ds.options[p]) - j for j in range(len(ds.options[p]))] for p in poll_ids}
        usable = ds.citizens - 1  # the last citizen is kept for the SQL capture
        if citizens is not None:
            usable = min(usable, citizens)
        rng = self.rng

        def next_request():
            k = next(counter)
            rounds, uid0 = divmod(k, usable)
            if rounds >= len(poll_ids):
                return None
            poll = poll_ids[(uid0 + rounds) % len(poll_ids)]
            body = rng.choices(bodies[poll], weights=weights[poll])[0]
            return "POST", f"/api/v1/polls/{poll}/ballots/", body, _headers(uid0 + 1), 201

        return next_request


# Raw (collapsed) stacks of one HTTP worker during the hot run (``--profile``): summarised in the
# report; any flame-graph tool (inferno, speedscope) draws them.
INGEST_PROFILE = infra.LOGS / "ingest_profile.txt"
# Where a request starts in a WSGI or an ASGI server: the profile's share is of these samples.
REQUEST_ROOTS = (
    "WSGIHandler.__call__ (django/core/handlers/wsgi.py)",
    "ASGIHandler.handle (django/core/handlers/asgi.py)",
)


def ingest(
    ctx: Ctx,
    poll_ids: list[int],
    duration: float,
    name: str,
    profile: bool = False,
    watch: int = 0,
):
    """Ballots for ``duration`` s. With ``watch`` > 0 (one poll), that many dashboards watch the
    poll meanwhile and the run's end-to-end latency is measured (``e2e``): returns (run, e2e)."""
    profiler = None
    if profile:
        profiler = subprocess.Popen(  # noqa: S603
            [str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking",
             "--idle", "--format", "raw", "-o", str(INGEST_PROFILE),
             "--pid", str(ctx.layout.profile_pid()), "--duration", str(int(min(duration, 10)))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    if not watch:
        run = ctx.loop(name, ctx.ballot_stream(poll_ids), duration=duration)
        if profiler is not None:
            profiler.wait(timeout=60)
        return run
    (poll,) = poll_ids
    errors0 = infra.relay_errors()
    screens = Dashboards(ctx, poll, watch)
    screens.open()
    time.sleep(1.0)  # every socket open, its first snapshot in
    bodies: list[bytes] = []
    run = ctx.loop(name, ctx.ballot_stream(poll_ids), duration=duration, keep_body=bodies.append)
    if profiler is not None:
        profiler.wait(timeout=60)
    _settle(poll)
    captured = screens.close()
    e2e = delivery(run, bodies, captured["frames"], poll)
    e2e.update(
        dashboards=screens.connected,
        dashboard_client_cpu_s=round(captured["cpu_s"], 2),
        relay_layer_errors=infra.relay_errors() - errors0,
    )
    return run, e2e


def _settle(poll_id: int, *, quiet: float = 1.0, limit: float = 15.0) -> None:
    """Wait until the counter has counted what it will count while the poll is open (fewer than
    2k envelopes left), plus ``quiet`` s for the last snapshot to reach every dashboard."""
    from django.conf import settings

    from voting.models import Envelope

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if Envelope.objects.filter(poll_id=poll_id).count() < 2 * settings.BALLOT_BATCH_MIN:
            break
        time.sleep(0.1)
    time.sleep(quiet)


class Dashboards:
    """``n`` dashboard sockets on one poll, in a child process (``bench.dashboards``): officials'
    session cookies, spread over the WebSocket processes; every frame's arrival and total."""

    def __init__(self, ctx: Ctx, poll: int, n: int, *, connect_timeout: float = 90) -> None:
        ds = ctx.ds
        n = min(n, ds.officials)
        ws_ports = ctx.layout.ws_ports
        self.ctx, self.n, self.processes = ctx, n, len(ws_ports)
        self.tmp = tempfile.mkdtemp(prefix="bench-dashboards-")
        self.config = {
            "urls": [
                f"ws://127.0.0.1:{ws_ports[i % len(ws_ports)]}/ws/polls/{poll}/" for i in range(n)
            ],
            "cookies": [data.official_token(ds.citizens + 1 + i) for i in range(n)],
            # The dashboard page's own origin, port included (origins are compared exactly:
            # core/websocket.py).
            "origins": [f"http://127.0.0.1:{ws_ports[i % len(ws_ports)]}" for i in range(n)],
            "connect_timeout": connect_timeout,
            "out": f"{self.tmp}/frames.json",
        }
        self.child: subprocess.Popen | None = None
        self.ready: dict = {}

    @property
    def connected(self) -> int:
        return self.ready.get("connected", 0)

    def open(self) -> dict:
        Path(f"{self.tmp}/config.json").write_text(json.dumps(self.config))
        self.child = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "bench.dashboards", f"{self.tmp}/config.json"],
            cwd=infra.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.ctx.children.append(self.child)
        ready_line = self.child.stdout.readline()
        if not ready_line.startswith("READY"):
            raise RuntimeError(f"dashboard client failed: {ready_line!r}")
        self.ready = json.loads(ready_line[6:])
        return self.ready

    def close(self) -> dict:
        self.child.stdin.write("STOP\n")
        self.child.stdin.flush()
        self.child.stdout.readline()  # DONE
        self.child.wait(timeout=60)
        return json.loads(Path(self.config["out"]).read_text())


def delivery(run, bodies: list[bytes], frames: list, poll_id: int, max_pairs: int = 400_000):
    """201 → counted → on the dashboards, per (ballot, dashboard), exactly: each 201's receipt
    gives its tracker, the board the batch that counted it, and the running total through that
    batch; the first frame at a dashboard whose total reaches it shows the ballot.

    The batching wait of the i-th ballot (in 201 order) is the time until the (i+k)-th 201: while
    a poll is open the counter never counts the newest k envelopes, so no ballot can be counted
    before k later ones have arrived. ``beyond_batching`` = arrival − max(own 201, that 201). The
    newest k ballots of the run wait for ballots that never come, and are left out."""
    from django.conf import settings

    from voting import receipts
    from voting.models import BoardEntry

    k = settings.BALLOT_BATCH_MIN
    answers = sorted(zip(run.ok_times, bodies, strict=True), key=lambda pair: pair[0])
    times = [t for t, _ in answers]
    trackers = [receipts.tracker(json.loads(body)["receipt"]) for _, body in answers]
    wall_to_mono = time.time() - time.monotonic()
    batch_of, through, started = {}, {}, {}
    running_total = 0
    entries = BoardEntry.objects.filter(poll_id=poll_id).order_by("seq")
    for seq, size, entry_trackers, counted_at in entries.values_list(
        "seq", "size", "trackers", "counted_at"
    ):
        running_total += size
        through[seq] = running_total
        started[seq] = counted_at.timestamp() - wall_to_mono
        for tracker in entry_trackers:
            batch_of[tracker] = seq
    screens = []
    for frame_list in frames:
        if not frame_list:
            continue
        highest, running = -1, []
        for _t, total in frame_list:
            highest = max(highest, total)
            running.append(highest)
        screens.append(([t for t, _ in frame_list], running))
    eligible = max(0, len(times) - k)
    step = max(1, eligible * max(1, len(screens)) // max_pairs)
    raw, beyond, waits, to_batch = [], [], [], []
    not_counted = not_seen = sampled = 0
    for i in range(0, eligible, step):
        sampled += 1
        seq = batch_of.get(trackers[i])
        if seq is None:
            not_counted += 1
            continue
        t201, ready = times[i], max(times[i], times[i + k])
        waits.append((ready - t201) * 1000)
        to_batch.append((started[seq] - t201) * 1000)
        for frame_times, running in screens:
            j = bisect.bisect_left(running, through[seq])
            if j == len(running):
                not_seen += 1
                continue
            raw.append((frame_times[j] - t201) * 1000)
            beyond.append(max(0.0, (frame_times[j] - ready) * 1000))
    for values in (raw, beyond, waits, to_batch):
        values.sort()

    def ms(values, q):
        return round(percentile(values, q), 1) if values else None

    sizes = [through[s] - through.get(s - 1, 0) for s in through]
    return {
        "p50_ms": ms(raw, 0.5),
        "p99_ms": ms(raw, 0.99),
        "max_ms": round(raw[-1], 1) if raw else None,
        "beyond_batching_p50_ms": ms(beyond, 0.5),
        "beyond_batching_p99_ms": ms(beyond, 0.99),
        "beyond_batching_max_ms": round(beyond[-1], 1) if beyond else None,
        "batching_wait_p50_ms": ms(waits, 0.5),
        "batching_wait_p99_ms": ms(waits, 0.99),
        "to_batch_start_p50_ms": ms(to_batch, 0.5),
        "to_batch_start_p99_ms": ms(to_batch, 0.99),
        "ballots": len(times),
        "ballots_sampled": sampled,
        "samples": len(raw),
        "newest_k_left_out": len(times) - eligible,
        "not_counted_by_the_end": not_counted,
        "not_seen_on_a_dashboard": not_seen,
        "batches": len(sizes),
        "batch_size_mean": round(sum(sizes) / len(sizes), 1) if sizes else None,
        "batch_size_max": max(sizes, default=None),
        "k": k,
        "count_interval_s": settings.COUNT_INTERVAL,
        "goal": "beyond_batching_p99_ms <= 1000",
        "method": (
            "per (ballot, dashboard): the first frame whose total reaches the running board "
            "total through the batch holding the ballot's tracker (from its 201's receipt), "
            "minus the 201's arrival (raw), or minus the later of it and the (i+k)-th 201 "
            "(beyond the batching wait); to_batch_start = the batch's counted_at (taken when "
            "its transaction began) minus the 201"
        ),
    }


def ingest_warm(ctx: Ctx, poll_id: int, duration: float, citizens: int):
    """1b. The hot run again on another poll, by the citizens who just voted in the hot one: their
    session tokens were used seconds ago, so the servers find them in the cache, as they find a
    citizen's who opened the app's list or the poll before voting. The hot run itself is the
    worst case: every ballot from a citizen the servers have never seen. Stops early when those
    citizens have all voted (``stopped_early_out_of_citizens``)."""
    return ctx.loop("hot-warm", ctx.ballot_stream([poll_id], citizens=citizens), duration=duration)


def warm_up(ctx: Ctx, seconds: float) -> None:
    """Open every connection and fill every pool, on a poll no scenario measures."""
    ctx.loop("warm-up", ctx.ballot_stream([ctx.ds.polls["open_other"][0]]), duration=seconds)


def drf_baseline(ctx: Ctx, duration: float):
    poll = ctx.ds.poll("drf")
    options = ctx.ds.options[poll]
    counter = itertools.count(1)
    limit = ctx.ds.citizens - 1

    def next_request():
        uid = next(counter)
        if uid > limit:
            return None
        body = json.dumps({"poll": poll, "option": ctx.rng.choice(options)}).encode()
        return "POST", "/bench/drf/ballots/", body, _headers(uid), 201

    return ctx.loop("drf", next_request, duration=duration)


def noop(ctx: Ctx, duration: float):
    body = json.dumps({"options": [1]}).encode()
    cycle = itertools.cycle(range(1, ctx.ds.citizens))

    def next_request():
        return "POST", "/bench/noop/", body, _headers(next(cycle)), 200

    return ctx.loop("noop", next_request, duration=duration)


def noop_wrk(
    ctx: Ctx, duration: int, *, path: str = "/bench/noop/", ports=None, pids=None
) -> dict | None:
    """The no-op with wrk (or, with ``path``, ``ports`` and ``pids``, the bare-Django ceiling)."""
    import shutil

    wrk = shutil.which("wrk")
    if not wrk:
        return None
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "noop.lua"
        script.write_text(
            'wrk.method = "POST"\nwrk.body = \'{"options": [1]}\'\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["X-Session-Token"] = "{data.citizen_token(2)}"\n'
            f'wrk.headers["X-Forwarded-For"] = "{citizen_ip(2)}"\n'
        )
        ports = ports or ctx.ports
        per = max(1, ctx.args.clients // len(ports))
        with Meter(pids or ctx.layout.http_pids) as meter:
            procs = [
                subprocess.Popen(  # noqa: S603
                    [
                        wrk,
                        "-t1",
                        f"-c{per}",
                        f"-d{duration}s",
                        "--latency",
                        "-s",
                        str(script),
                        f"http://127.0.0.1:{port}{path}",
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for port in ports
            ]
            outputs = [p.communicate(timeout=duration + 30)[0] for p in procs]
    import re

    rps = sum(float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1)) for o in outputs)
    p99 = [re.search(r"99%\s+([\d.]+)(us|ms|s)\b", o) for o in outputs]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    non2xx = sum(int(m.group(1)) for o in outputs if (m := re.search(r"Non-2xx.*?(\d+)", o)))
    return {
        "per_s": round(rps, 1),
        "p99_ms": max(float(m.group(1)) * scale[m.group(2)] for m in p99 if m),
        "non_2xx": non2xx,
        "connections": per * len(ports),
        "cpu_machine_busy_pct": round(meter.busy_pct, 1),
        "servers_cpu_s": round(meter.server, 2),
        "per_server_core_s": round(rps * meter.wall / meter.server, 1) if meter.server else None,
        "note": "wrk (C, one thread per server port); one token for every request",
    }


def fanout(ctx: Ctx, dashboards: int, duration: float) -> tuple[dict, dict]:
    """Dashboards on the fan-out poll, the handshake storm, RSS per socket, then ingest."""
    from voting import tallies

    poll = ctx.ds.poll("fanout")
    screens = Dashboards(ctx, poll, dashboards)
    dashboards = screens.n
    ws_pids = ctx.layout.ws_pids()
    rss0 = {pid: infra.proc_rss_kb(pid) for pid in ws_pids}
    errors0 = infra.relay_errors()
    ready = screens.open()
    time.sleep(2.0)  # idle: every socket open, its first snapshot sent
    rss1 = {pid: infra.proc_rss_kb(pid) for pid in ws_pids}
    delta_kb = sum(rss1[p] - rss0[p] for p in rss0)
    ws = {
        "connections": ready["connected"],
        "rss_before_kb": rss0,
        "rss_idle_kb": rss1,
        "kb_per_connection": round(delta_kb / max(1, ready["connected"]), 1),
    }

    # CPU of every server process: the HTTP workers take the ballots, daphne relays the frames.
    bodies: list[bytes] = []
    run = ctx.loop(
        "fanout-ingest", ctx.ballot_stream([poll]), duration=duration, pids=ctx.layout.all_pids,
        keep_body=bodies.append,
    )  # fmt: skip
    t_end = time.monotonic()
    _settle(poll, quiet=2.0)  # the last batch counted, its frame (0.1 s apart at most) everywhere
    db_total = tallies.read(poll).overall.ballots
    captured = screens.close()
    frames = captured["frames"]
    latency = delivery(run, bodies, frames, poll)
    t_start = t_end - run.wall_s
    per_dashboard_rate, last_equal = [], 0
    for frame_list in frames:
        if not frame_list:
            continue
        in_window = sum(1 for t, _ in frame_list if t_start <= t <= t_end + 0.5)
        per_dashboard_rate.append(in_window / max(0.001, run.wall_s))
        if frame_list[-1][1] == db_total:
            last_equal += 1
    summary = run.summary(ctx.cores)
    never = latency["not_seen_on_a_dashboard"] + latency["not_counted_by_the_end"] * max(
        1, len(per_dashboard_rate)
    )
    result = {
        "dashboards": dashboards,
        "processes": screens.processes,
        "connected": ready["connected"],
        "failed_handshakes": ready["failed"],
        "handshake_failure_reasons": ready["reasons"],
        "connect_all_s": ready["connect_all_s"],
        "ballots_per_s": summary["per_s"],
        "ballot_errors": summary["errors"],
        "ballot_p99_ms": summary["p99_ms"],
        "ballots_ok": summary["ok"],
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
        "max_ms": latency["max_ms"],
        "beyond_batching_p50_ms": latency["beyond_batching_p50_ms"],
        "beyond_batching_p99_ms": latency["beyond_batching_p99_ms"],
        "batching_wait_p99_ms": latency["batching_wait_p99_ms"],
        "latency_samples": latency["samples"],
        "ballots_never_seen": never,
        "ballots_never_seen_pct": round(100 * never / max(1, never + latency["samples"]), 1),
        "msgs_per_s_per_dashboard_mean": round(
            sum(per_dashboard_rate) / max(1, len(per_dashboard_rate)), 2
        ),
        "msgs_per_s_per_dashboard_max": round(max(per_dashboard_rate, default=0), 2),
        "db_tally": db_total,
        "last_frame_equals_tally": last_equal,
        "last_frame_differs": ready["connected"] - last_equal,
        "dashboard_client_cpu_s": round(captured["cpu_s"], 2),
        # Failed relay receives in daphne meanwhile (each followed by a back-off of 0.5-10 s).
        "relay_layer_errors": infra.relay_errors() - errors0,
        "ingest_cpu": summary["cpu"],
        "latency": latency,
        "method": (
            "latency per (ballot, dashboard) = arrival of the first frame whose total includes "
            "the ballot (its receipt's tracker on the board: the running total through its "
            "batch) minus the ballot's 201; ballots are counted in batches by the counter "
            "process (the newest k left while the poll is open), so this includes the batching "
            "wait; beyond_batching_* leaves it out (see e2e.method). Ballots sampled."
        ),
    }
    return result, ws


def reads(ctx: Ctx, duration: float) -> dict:
    out = {}
    for key, role in (("small", "read_small"), ("big", "read_big")):
        poll = ctx.ds.poll(role)
        totals = []
        headers = _headers(2)

        def next_request(poll=poll, headers=headers):
            return "GET", f"/api/v1/polls/{poll}/results/", None, headers, 200

        ctx.loop("warm", next_request, clients=ctx.read_clients, duration=1)
        run = ctx.loop(
            f"results-{key}", next_request, clients=ctx.read_clients, duration=duration,
            keep_body=lambda b, totals=totals: totals.append(b) if not totals else None,
        )  # fmt: skip
        summary = run.summary(ctx.cores)
        summary["ballots"] = ctx.ds.counts[f"{role}_ballots"]
        summary["total_in_answer"] = json.loads(totals[0])["total"] if totals else None
        out[key] = summary
    out["ratio_1m_to_1k"] = round(out["big"]["mean_ms"] / out["small"]["mean_ms"], 2)
    out["p99_ms_1m"] = out["big"]["p99_ms"]
    out["p99_ms_1k"] = out["small"]["p99_ms"]
    out["clients"] = ctx.read_clients
    return out


def poll_list(ctx: Ctx, duration: float) -> dict:
    from django.test import Client

    uid = ctx.ds.list_citizen
    headers = _headers(uid)
    bodies = []

    def next_request():
        return "GET", "/api/v1/polls/", None, headers, 200

    ctx.loop("warm", next_request, clients=ctx.read_clients, duration=1)
    run = ctx.loop(
        "poll-list", next_request, clients=ctx.read_clients, duration=duration,
        keep_body=lambda b: bodies.append(b) if not bodies else None,
    )  # fmt: skip
    summary = run.summary(ctx.cores)
    answer = json.loads(bodies[0]) if bodies else {}
    from bench.ceilings import all_queries

    client = Client()
    with all_queries() as queries:
        response = client.get(
            "/api/v1/polls/",
            HTTP_X_SESSION_TOKEN=data.citizen_token(uid),
            HTTP_X_FORWARDED_FOR=citizen_ip(uid),
        )
    summary.update(
        queries=len(queries),
        query_check_status=response.status_code,
        polls_in_db=ctx.ds.counts["polls"],
        open_to_citizen=answer.get("count"),
        expected_open_to_citizen=ctx.ds.counts["polls_open_to_list_citizen"],
        page_size=len(answer.get("results", [])),
        clients=ctx.read_clients,
    )
    return summary


VERIFY_LINE = re.compile(
    r"ok \((?P<counted>\d+) ballots counted, (?P<sealed>\d+) sealed, "
    r"(?P<participations>\d+) participations\)"
)


def finish_counting(ds: data.DataSet, close: list[int]) -> dict:
    """Close ``close`` (their close time moves past the grace) and run the counter to the end:
    ``voting.counting.count_all`` with a real ``sealing.Counter`` (what ``count_ballots --once``
    runs; no counter service runs by now), in this process, until every one of them is final."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from voting import counting, sealing
    from voting.models import CountState, Poll

    grace = timedelta(seconds=settings.BALLOT_CLOSE_GRACE_SECONDS + 1)
    Poll.objects.filter(pk__in=close).update(closes_at=timezone.now() - grace)
    counter = sealing.Counter()
    started, rounds, counted, final = time.monotonic(), 0, 0, set()
    log = logging.getLogger("voting.counting")
    level = log.level
    log.setLevel(logging.WARNING)  # a line per batch is the counter service's log, not the bench's
    try:
        while rounds < 5 and not final >= set(close):
            rounds += 1
            counted += counting.count_all(counter=counter)
            final = set(
                CountState.objects.filter(poll_id__in=close, final=True).values_list(
                    "poll_id", flat=True
                )
            )
    finally:
        log.setLevel(level)
    return {
        "closed": len(close),
        "final": len(final & set(close)),
        "counted": counted,
        "rounds": rounds,
        "seconds": round(time.monotonic() - started, 2),
    }


def verify(polls: list[int]) -> dict:
    """``manage.py verify_tallies`` on ``polls`` (its command, run here: no second start-up): per
    poll the board (chain, every signature, batches of at least k), its recount against the
    counters, participations = counted + sealed."""
    import io

    from django.core.management import call_command

    from voting.models import CountState

    out, err, code = io.StringIO(), io.StringIO(), 0
    try:
        call_command("verify_tallies", *map(str, polls), stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code or 0
    per_poll: dict[int, str] = {}
    for line in out.getvalue().strip().splitlines():
        if line.startswith("poll "):
            pid, rest = line[5:].split(":", 1)
            pid = int(pid)
            rest = rest.strip()
            per_poll[pid] = rest if pid not in per_poll else f"{per_poll[pid]}; {rest}"
    figures = {}
    final = set(CountState.objects.filter(final=True).values_list("poll_id", flat=True))
    for pid, text in per_poll.items():
        match = VERIFY_LINE.fullmatch(text)
        figures[pid] = {
            "ok": match is not None,
            "final": pid in final,
            **({k: int(v) for k, v in match.groupdict().items()} if match else {}),
        }
    return {
        "ok": code == 0 and len(per_poll) == len(set(polls)),
        "polls": per_poll,
        "figures": figures,
        "stderr": err.getvalue()[-500:],
    }


def drf_consistency(ds: data.DataSet, ok: int) -> dict:
    """The DRF baseline's ballots, in one snapshot (one statement; the counter may be counting
    them meanwhile): every participation is a sealed envelope or a counted ballot."""
    from django.db import connection

    poll = ds.poll("drf")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM voting_participation WHERE poll_id = %s),"
            " (SELECT count(*) FROM voting_envelope WHERE poll_id = %s),"
            " (SELECT coalesce(sum(size), 0) FROM voting_boardentry WHERE poll_id = %s)",
            [poll, poll, poll],
        )
        participations, sealed, counted = cursor.fetchone()
    return {
        "ballots": participations,  # the baseline's ballots: one participation each
        "counter": sealed + int(counted),  # what the box holds of them: sealed or counted
        "participations": participations,
        "sealed": sealed,
        "counted": int(counted),
        "equal": participations == sealed + counted == ok,
    }


def count(ctx: Ctx, counter_env: dict, n: int, *, profile: bool = False) -> dict:
    """The counting throughput of ONE counter process: ``n`` sealed envelopes (sealed by the
    product's ``seal_envelope``, copied in) on a closed poll; then a fresh process runs the
    counter's ``count_all`` with a real ``sealing.Counter`` (what ``count_ballots --once`` runs)
    until all are counted. No other counter runs meanwhile."""
    from django.db import connection

    from voting.models import BoardEntry, CountState

    ds, poll = ctx.ds, ctx.ds.poll("count")
    command = [sys.executable, "-m", "bench.count_probe", "--wait"]
    profile_file = infra.LOGS / "count_profile.txt"  # raw stacks (2 MB): kept with the logs
    if profile:
        command = [
            str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking",
            "--rate", "250", "--idle", "--format", "raw", "-o", str(profile_file), "--",
            *command,
        ]  # fmt: skip
    # The probe starts first: its start-up overlaps the loading, and is not measured.
    probe = subprocess.Popen(  # noqa: S603
        command, cwd=infra.ROOT, env=counter_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    ctx.children.append(probe)
    t0 = time.monotonic()
    data.load_envelopes(poll, ds.options[poll], n, gus=ds.gus, rng=random.Random(12))
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk load: the planner's statistics.
        cursor.execute("ANALYZE voting_envelope")
    load_s = time.monotonic() - t0
    ready = ""
    while not ready.startswith("READY"):  # (py-spy, when profiling, may say something first)
        ready = probe.stdout.readline()
        if not ready:
            raise RuntimeError(f"count probe failed to start: {probe.stderr.read()[-2000:]}")
    pg0 = infra.postgres_cpu_seconds()
    machine0 = infra.machine_cpu()
    t1 = time.monotonic()
    stdout, stderr = probe.communicate("GO\n", timeout=900)
    wall = time.monotonic() - t1
    busy, total = infra.machine_cpu()
    postgres_s = sum(
        max(0.0, cpu - pg0.get(pid, 0.0)) for pid, cpu in infra.postgres_cpu_seconds().items()
    )
    line = next((x for x in stdout.splitlines() if x.startswith("COUNTED ")), None)
    if line is None:
        raise RuntimeError(f"count probe failed: {stderr[-2000:]}")
    figures = json.loads(line[8:])
    state = CountState.objects.filter(poll_id=poll).first()
    counted = state.counted if state else 0
    entries = BoardEntry.objects.filter(poll_id=poll).count()
    result = {
        "envelopes": n,
        "per_s": round(counted / figures["seconds"], 1) if figures["seconds"] else None,
        "counted": counted,
        "all_counted": counted == n and bool(state and state.final),
        "counted_in_all_polls": figures["counted"],
        "seconds": figures["seconds"],
        "process_cpu_s": figures["cpu_s"],
        "process_cpu_pct_of_one_core": round(100 * figures["cpu_s"] / figures["seconds"], 1)
        if figures["seconds"]
        else None,
        "backend_cpu_s": figures["backend_cpu_s"],
        "postgres_s": round(postgres_s, 2),
        "machine_busy_pct": round(100 * (busy - machine0[0]) / max(1, total - machine0[1]), 1),
        "startup_s": figures["startup_s"],
        "per_s_wall": round(counted / wall, 1) if wall else None,
        "batches": entries,
        "batch_max": figures["batch_max"],
        "load_s": round(load_s, 2),
        "goal": "per_s >= 10000",
        "profiled": bool(profile),
        "method": (
            "a fresh process (python -m bench.count_probe: django.setup(), sealing.Counter(), "
            "then voting.counting.count_all(), as count_ballots --once) on a closed poll holding "
            "only these envelopes; per_s = ballots counted / time in count_all; its own CPU and "
            "PostgreSQL's over the run"
        ),
    }
    if profile and profile_file.exists():
        result["profile"] = summarise_profile(profile_file)
        result["profile_file"] = str(profile_file.relative_to(infra.ROOT))
    return result


def summarise_profile(
    path: Path, root: str | tuple[str, ...] = "count_all (voting/counting.py)", top: int = 15
) -> dict:
    """py-spy's raw (collapsed) stacks, sampled with --idle (waiting counts): the share of the
    samples under ``root`` (the count itself, not Django's start-up or idle pool threads) in each
    function, itself (self: ``Connection.wait`` is waiting for PostgreSQL) and with what it calls
    (inclusive)."""
    roots = (root,) if isinstance(root, str) else root
    own: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        found = next((r for r in roots if r in frames), None)
        if not n.isdigit() or found is None:
            continue
        frames = frames[frames.index(found) :]
        n = int(n)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n

    def share(counter: Counter) -> list[list]:
        return [[frame, round(100 * n / total, 1)] for frame, n in counter.most_common(top)]

    return {
        "root": " | ".join(roots),
        "samples": total,
        "self_pct": share(own),
        "inclusive_pct": share(inclusive),
    }


def notifications(ctx: Ctx, env: dict, workers: int) -> dict:
    """8. A city-wide poll published to every citizen: from the publishing commit to the last
    push, through the outbox and ``workers`` real Celery worker processes on Redis.

    The push backend counts and drops (``bench.push.NullPushBackend``): what is measured is the
    product's part, not a provider's. Figures: time to the first and the last inbox row and push,
    and rows per second."""
    from django.utils import timezone

    from notifications.models import Notification, OutboxEvent
    from voting import services
    from voting.models import Poll

    log_dir = infra.LOGS
    worker_env = {**env, "PUSH_BACKEND": "bench.push.NullPushBackend", "NOTIFY_QUIET_HOURS": ""}
    procs = []
    for i in range(workers):
        log = open(log_dir / f"celery-{i}.log", "w")  # noqa: SIM115 (closed with the process)
        command = [
            str(Path(sys.executable).parent / "celery"), "-A", "config", "worker",
            "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
            f"--hostname=bench-{i}@%h",
        ]  # fmt: skip
        child = subprocess.Popen(  # noqa: S603
            command, cwd=infra.ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        ctx.children.append(child)
        procs.append(child)
    time.sleep(4.0)  # workers connect to Redis and PostgreSQL
    now = timezone.now()
    poll = Poll.objects.create(
        title="알림 벤치마크: 서울 전체 투표",
        kind=Poll.Kind.SINGLE,
        opens_at=now,
        closes_at=now + timezone.timedelta(days=7),
    )
    poll.options.create(label="찬성", position=0)
    poll.options.create(label="반대", position=1)
    started = time.monotonic()
    services.publish_poll(poll=poll, by=None)  # the event commits here; the task follows
    event = OutboxEvent.objects.get(dedupe_key=f"poll_opened:{poll.pk}")
    rows = Notification.objects.filter(event=event)
    first_row = first_push = all_rows = None
    expected = ctx.ds.citizens
    deadline = started + 600
    while time.monotonic() < deadline:
        written = rows.count()
        pushed = rows.filter(pushed_at__isnull=False).count()
        at = time.monotonic() - started
        if written and first_row is None:
            first_row = at
        if pushed and first_push is None:
            first_push = at
        if written >= expected and all_rows is None:
            all_rows = at
        if pushed >= expected:
            break
        time.sleep(0.05)
    total = time.monotonic() - started
    for child in procs:
        child.terminate()
    for child in procs:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
    pushed = rows.filter(pushed_at__isnull=False).count()
    return {
        "workers": workers,
        "recipients": expected,
        "inbox_rows": rows.count(),
        "pushed": pushed,
        "complete": pushed == expected == rows.count(),
        "first_inbox_row_s": round(first_row, 2) if first_row is not None else None,
        "first_push_s": round(first_push, 2) if first_push is not None else None,
        "all_inbox_rows_s": round(all_rows, 2) if all_rows is not None else None,
        "all_pushed_s": round(total, 2),
        "pushed_per_s": round(pushed / total, 1) if total else None,
        "batches": {
            "fanout": env.get("NOTIFY_FANOUT_BATCH", 5000),
            "push": env.get("NOTIFY_PUSH_BATCH", 500),
        },
    }
