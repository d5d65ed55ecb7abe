"""The scenarios. Each returns a dict of figures; ``bench.__main__`` puts them in the report."""

import asyncio
import bisect
import itertools
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import data, infra
from bench.load import Meter, citizen_ip, closed_loop, percentile

JSON = {"Content-Type": "application/json"}


def _headers(uid: int) -> dict[str, str]:
    return {**JSON, "X-Session-Token": data.citizen_token(uid), "X-Forwarded-For": citizen_ip(uid)}


class Ctx:
    def __init__(self, ds: data.DataSet, layout: infra.Layout, args, cores: int) -> None:
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

    def loop(self, name, next_request, *, clients=None, duration, keep_body=None, pids=None):
        return asyncio.run(
            closed_loop(
                name, self.ports, next_request,
                clients=clients or self.args.clients, duration=duration,
                server_pids=pids or self.layout.http_pids, cores=self.cores, keep_body=keep_body,
            )
        )  # fmt: skip

    def ballot_stream(self, poll_ids: list[int]):
        """Ballots over ``poll_ids``: each by a citizen who has not voted in that poll yet.

        Ballot k goes to citizen k mod C in poll (k mod C + k div C) mod P: every (citizen, poll)
        pair at most once, citizens in turn (C is a multiple of P). None when all are used."""
        ds, counter = self.ds, itertools.count()
        bodies = {
            p: [json.dumps({"options": [o]}).encode() for o in ds.options[p]] for p in poll_ids
        }
        weights = {p: [len(ds.options[p]) - j for j in range(len(ds.options[p]))] for p in poll_ids}
        usable = ds.citizens - 1  # the last citizen is kept for the SQL capture
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


def ingest(ctx: Ctx, poll_ids: list[int], duration: float, name: str, profile: bool = False):
    profiler = None
    if profile:
        profiler = subprocess.Popen(  # noqa: S603
            [str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking",
             "-o", str(infra.RESULTS / "profile.svg"), "--pid", str(ctx.layout.profile_pid()),
             "--duration", str(int(min(duration, 10)))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    run = ctx.loop(name, ctx.ballot_stream(poll_ids), duration=duration)
    if profiler is not None:
        profiler.wait(timeout=60)
    return run


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


def noop_wrk(ctx: Ctx, duration: int) -> dict | None:
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
        per = max(1, ctx.args.clients // len(ctx.ports))
        with Meter(ctx.layout.http_pids) as meter:
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
                        f"http://127.0.0.1:{port}/bench/noop/",
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for port in ctx.ports
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
        "connections": per * len(ctx.ports),
        "cpu_machine_busy_pct": round(meter.busy_pct, 1),
        "note": "wrk (C, one thread per server port); one token for every request",
    }


def fanout(ctx: Ctx, dashboards: int, duration: float) -> tuple[dict, dict]:
    """Dashboards on the fan-out poll, the handshake storm, RSS per socket, then ingest."""
    from voting import tallies

    ds, poll = ctx.ds, ctx.ds.poll("fanout")
    first_official = ds.citizens + 1
    dashboards = min(dashboards, ds.officials)
    ws_ports = ctx.layout.ws_ports  # daphne; the ballots meanwhile go to the HTTP server
    config = {
        "urls": [
            f"ws://127.0.0.1:{ws_ports[i % len(ws_ports)]}/ws/polls/{poll}/"
            for i in range(dashboards)
        ],
        "cookies": [data.official_token(first_official + i) for i in range(dashboards)],
        "origin": "http://127.0.0.1",
        "connect_timeout": 90,
    }
    tmp = tempfile.mkdtemp(prefix="bench-fanout-")
    config["out"] = f"{tmp}/frames.json"
    Path(f"{tmp}/config.json").write_text(json.dumps(config))
    ws_pids = ctx.layout.ws_pids()
    rss0 = {pid: infra.proc_rss_kb(pid) for pid in ws_pids}
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bench.dashboards", f"{tmp}/config.json"],
        cwd=infra.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    ctx.children.append(child)
    ready_line = child.stdout.readline()
    if not ready_line.startswith("READY"):
        raise RuntimeError(f"dashboard client failed: {ready_line!r}")
    ready = json.loads(ready_line[6:])
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
    run = ctx.loop(
        "fanout-ingest", ctx.ballot_stream([poll]), duration=duration, pids=ctx.layout.all_pids
    )
    t_end = time.monotonic()
    time.sleep(2.0)  # let the last coalesced frame (0.1 s apart at most) arrive everywhere
    db_total = tallies.read(poll).overall.ballots
    child.stdin.write("STOP\n")
    child.stdin.flush()
    child.stdout.readline()  # DONE
    child.wait(timeout=60)
    captured = json.loads(Path(config["out"]).read_text())
    frames = captured["frames"]

    ok_times = sorted(run.ok_times)
    t_start = t_end - run.wall_s
    # Per (ballot, dashboard): from the ballot's 201 (the i-th answer: by then at least i ballots
    # had committed) to the first frame at that dashboard whose total is >= i. Ballots sampled.
    step = max(1, len(ok_times) * max(1, dashboards) // 400_000)
    samples = list(range(1, len(ok_times) + 1, step))
    latencies, missed = [], 0
    per_dashboard_rate, last_equal = [], 0
    for frame_list in frames:
        if not frame_list:
            continue
        times = [t for t, _ in frame_list]
        running, highest = [], -1
        for _, total in frame_list:
            highest = max(highest, total)
            running.append(highest)
        for i in samples:
            j = bisect.bisect_left(running, i)
            if j == len(running):
                missed += 1
            else:
                latencies.append((times[j] - ok_times[i - 1]) * 1000)
        in_window = sum(1 for t in times if t_start <= t <= t_end + 0.5)
        per_dashboard_rate.append(in_window / max(0.001, run.wall_s))
        if frame_list[-1][1] == db_total:
            last_equal += 1
    latencies.sort()
    summary = run.summary(ctx.cores)
    result = {
        "dashboards": dashboards,
        "processes": len(ws_ports),
        "connected": ready["connected"],
        "failed_handshakes": ready["failed"],
        "handshake_failure_reasons": ready["reasons"],
        "connect_all_s": ready["connect_all_s"],
        "ballots_per_s": summary["per_s"],
        "ballot_errors": summary["errors"],
        "ballot_p99_ms": summary["p99_ms"],
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "latency_samples": len(latencies),
        "ballots_never_seen": missed,
        "ballots_never_seen_pct": round(100 * missed / max(1, missed + len(latencies)), 1),
        "msgs_per_s_per_dashboard_mean": round(
            sum(per_dashboard_rate) / max(1, len(per_dashboard_rate)), 2
        ),
        "msgs_per_s_per_dashboard_max": round(max(per_dashboard_rate, default=0), 2),
        "db_tally": db_total,
        "last_frame_equals_tally": last_equal,
        "last_frame_differs": ready["connected"] - last_equal,
        "dashboard_client_cpu_s": round(captured["cpu_s"], 2),
        "ingest_cpu": summary["cpu"],
        "method": (
            "latency per (ballot, dashboard) = arrival of the first frame whose total >= i, minus "
            "the time of the i-th 201 answer (by then at least i ballots had committed); this "
            "leaves out the commit-to-201 leg, so it reads slightly low by up to the ballots' p50"
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


def verify(ds: data.DataSet, env: dict) -> dict:
    polls = [
        ds.poll("hot"), *ds.polls["spread"], ds.poll("fanout"), ds.poll("read_small"),
        ds.poll("read_big"), *ds.polls["product_sql"],
    ]  # fmt: skip
    out = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "verify_tallies", *map(str, polls)],
        cwd=infra.ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = out.stdout.strip().splitlines()
    per_poll = {}
    for line in lines:
        if line.startswith("poll "):
            pid, rest = line[5:].split(":", 1)
            per_poll[int(pid)] = rest.strip()
    return {"ok": out.returncode == 0, "polls": per_poll, "stderr": out.stderr[-500:]}


def drf_consistency(ds: data.DataSet) -> dict:
    from django.db import connection

    poll = ds.poll("drf")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM voting_ballot WHERE poll_id = %s", [poll])
        ballots = cursor.fetchone()[0]
        cursor.execute(
            "SELECT coalesce(sum(count), 0) FROM voting_tallycell WHERE poll_id = %s", [poll]
        )
        counted = cursor.fetchone()[0]
    return {"ballots": ballots, "counter": int(counted), "equal": ballots == counted}


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
