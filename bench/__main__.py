"""``python -m bench [--quick] [--layout split|daphne] [--http-server S] [--ws-server S]
[--http-workers W] [--processes N]``: the whole benchmark, one report.

Order: services → fresh database → migrate → data → servers and the counter → warm-up → HTTP and
WebSocket scenarios (the counter service running, as deployed) → counter stopped → counting
throughput → PostgreSQL ceilings → close and count to the end → recount (verify_tallies) →
notifications → report (stdout, bench/results/<timestamp>.json, latest.json, latest.txt) → stop
what was started.
"""

import argparse
import contextlib
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import infra, servers


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data, short runs (< 2 min)")
    parser.add_argument(
        "--layout", choices=("split", "daphne"), default="split",
        help="split (production, default): HTTP on gunicorn sync workers (WSGI), WebSockets on "
             "daphne; daphne: daphne processes serve both (the former layout, for comparison)",
    )  # fmt: skip
    parser.add_argument(
        "--http-workers", type=int, default=HTTP_WORKERS,
        help=f"gunicorn workers in the split layout (default {HTTP_WORKERS}: the best of 3, 4 and "
             "6 measured on the 2-core development machine; see docs/performance.md)",
    )  # fmt: skip
    parser.add_argument(
        "--http-worker-class", choices=("sync", "gthread"), default="sync",
        help="gunicorn worker class (default sync, as deployed)",
    )  # fmt: skip
    parser.add_argument(
        "--http-threads", type=int, default=2,
        help="threads per gthread worker, blocking threads per granian worker (default 2)",
    )  # fmt: skip
    servers.add_arguments(parser)
    parser.add_argument(
        "--processes", type=int, default=2,
        help="WebSocket server processes (default 2: one per core of the 2-core development "
             "machine); in the split layout they serve the WebSockets only",
    )  # fmt: skip
    parser.add_argument("--duration", type=float, help="seconds per ingest run (30; quick 8)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent ballot clients")
    parser.add_argument("--dashboards", type=int, help="dashboard sockets (1000; quick 200)")
    parser.add_argument("--citizens", type=int, help="citizens (100000; quick 20000)")
    parser.add_argument(
        "--envelopes",
        type=int,
        help="sealed envelopes for the counting scenario (100000; quick 20000)",
    )
    parser.add_argument("--watch", type=int, default=4,
                        help="dashboards watching the hot poll for the end-to-end latency "
                             "(default 4)")  # fmt: skip
    parser.add_argument("--profile", action="store_true",
                        help="py-spy one HTTP server process (a gunicorn worker; daphne 0 in "
                             "the daphne layout) during the hot run "
                             "(raw stacks in bench/results/logs/ingest_profile.txt, summarised "
                             "in the report; costs some CPU), and the counter "
                             "process of the counting scenario "
                             "(bench/results/logs/count_profile.txt, summarised in the "
                             "report)")  # fmt: skip
    args = parser.parse_args(argv)
    quick = args.quick
    args.duration = args.duration or (8.0 if quick else 30.0)
    args.dashboards = args.dashboards or (200 if quick else 1000)
    args.citizens = args.citizens or (20_000 if quick else 100_000)
    args.citizens -= args.citizens % 20  # a multiple of the spread run's 20 polls
    args.envelopes = args.envelopes or (20_000 if quick else 100_000)
    args.read_big = 100_000 if quick else 1_000_000
    args.read_small = 1_000
    return args


# gunicorn workers in the split layout: see docs/performance.md, "Server layout, by measurement".
HTTP_WORKERS = 3


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor())  # fmt: skip
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))  # fmt: skip
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu_model": model,
        "kernel": platform.release(),
        "hostname": platform.node(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict:
    from django.db import connection

    out = {"python": platform.python_version()}
    for dist in ("django", "djangorestframework", "psycopg", "psycopg-pool", "gunicorn", "daphne",
                 "twisted", "channels", "channels-redis", "django-allauth", "aiohttp",
                 "granian", "uvicorn", "uvloop", "httptools", "websockets"):  # fmt: skip
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        out["postgres_server"] = cursor.fetchone()[0]
    import redis

    out["redis_server"] = redis.Redis.from_url(infra.REDIS_URL).info("server")["redis_version"]
    return out


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    prefix = f"bench_{stamp}_{os.getpid()}"
    services = infra.Services()
    layout = None
    ctx = None

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    import warnings

    # Production serves collected static files; the API and sockets measured here use none.
    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers")
    infra.RESULTS.mkdir(parents=True, exist_ok=True)
    # 1,000 sockets need more than the usual 1,024 descriptors in the dashboard client; raised
    # to the hard limit here and inherited by the servers, as any deployment configures it.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    infra.LOGS.mkdir(parents=True, exist_ok=True)
    try:
        step = _stepper(started)
        step("services")
        services.ensure()
        step(f"fresh database {infra.DB_NAME}")
        infra.recreate_database()
        keys = infra.ballot_keys()
        env = infra.server_env(prefix, keys)  # web processes: the public keys only
        counter_env = infra.counter_env(env, keys)  # the counter (and this process): all four
        os.environ.update(counter_env)
        with open(infra.LOGS / "migrate.log", "w") as log:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput"],
                cwd=infra.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=True,
                timeout=300,
            )  # fmt: skip
        import django

        django.setup()
        from django.urls import get_resolver

        # Import every view now: the servers run the code as it is at this moment, and so must
        # the in-process measurements, even if someone edits the product during the run.
        get_resolver().url_patterns  # noqa: B018
        from bench import bare_scenario, ceilings, data, scenarios

        step(f"data: {args.citizens} citizens, {args.read_big} ballots for the big read")
        ds = data.load(
            citizens=args.citizens, officials=args.dashboards,
            read_big=args.read_big, read_small=args.read_small,
        )  # fmt: skip
        report: dict = {
            "timestamp": stamp,
            "mode": "quick" if args.quick else "full",
            "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
            "machine": machine(),
            "versions": versions(),
            "source": infra.source_state(),
            "server_layout": {
                "why": "docs/performance.md, 'Server layout, by measurement': HTTP on WSGI "
                "workers (Django's ASGI handler costs about 2x the CPU per request), "
                "WebSockets on one ASGI process per core; --http-server/--ws-server compare "
                "the servers",
                "proxy": "none: clients connect to the servers' loopback ports (HTTP to the HTTP "
                "server, /ws/ to the WebSocket servers, as nginx routes them), sending "
                "X-Forwarded-For (distinct per citizen) as the production nginx does",
                "database_pool": "Django psycopg pool, project defaults (DATABASE_POOL_MIN/MAX "
                "2/20)",
                "env": "DEBUG=false, DJANGO_SETTINGS_MODULE=bench.settings, "
                "SECURE_SSL_REDIRECT=false, "
                "REDIS_URL set (channels-redis + Redis cache), a fresh set of ballot keys (public "
                "halves to every process, private ones to the counter only), everything else as "
                "deployed",
            },
            "data": ds.counts,
            "durations_s": {},
            "clients": args.clients,
            "profiled": "py-spy on one HTTP server process (a gunicorn worker in the split "
            "layout) during the hot run"
            if args.profile
            else None,
        }
        layout = servers.Layout(args, env, counter_env)
        report["server_layout"].update(layout.describe())
        step(f"servers: {report['server_layout']['summary']}")
        layout.start()
        report["server_layout"].update(layout.describe())  # now with the ports
        cores = os.cpu_count() or 1
        ctx = scenarios.Ctx(ds, layout, args, cores)
        d = args.duration
        short = max(3.0, min(d, 20.0) * (0.5 if args.quick else 0.7))
        step("warm-up")
        scenarios.warm_up(ctx, 2.0 if args.quick else 4.0)

        step(f"1. hot-poll ingest ({args.clients} clients, {d:.0f} s, {args.watch} dashboards)")
        hot_run, e2e = scenarios.ingest(
            ctx, [ds.poll("hot")], d, "hot", profile=args.profile, watch=args.watch
        )
        hot = hot_run.summary(cores)
        if args.profile and scenarios.INGEST_PROFILE.exists():
            hot["profile"] = scenarios.summarise_profile(
                scenarios.INGEST_PROFILE, root=scenarios.REQUEST_ROOTS
            )
            hot["profile_file"] = str(scenarios.INGEST_PROFILE.relative_to(infra.ROOT))
        warm_poll = ds.polls["open_other"][1]
        step(f"1b. hot ingest, warm tokens: the hot run's {hot['ok']:,} citizens, another poll")
        warm = scenarios.ingest_warm(ctx, warm_poll, d, citizens=hot["ok"]).summary(cores)
        step(f"2. spread ingest over 20 polls ({d:.0f} s)")
        spread = scenarios.ingest(ctx, ds.polls["spread"], d, "spread").summary(cores)
        step(f"3C. plain DRF CreateAPIView ({short:.0f} s)")
        drf = scenarios.drf_baseline(ctx, short).summary(cores)
        drf["consistency"] = scenarios.drf_consistency(ds, drf["ok"])
        step(f"3D. no-op endpoint ({short:.0f} s)")
        noop = scenarios.noop(ctx, short).summary(cores)
        noop_wrk = scenarios.noop_wrk(ctx, int(max(3, short * 0.6)))
        step(f"3E. bare Django, no middleware, same server layout ({short:.0f} s)")
        bare = bare_scenario.bare(ctx, short)
        bare_wrk = bare_scenario.bare_wrk(ctx, int(max(3, short * 0.6)))
        bare_scenario.ratios(noop, bare, noop_wrk, bare_wrk)
        step(f"4+7. fan-out: {args.dashboards} dashboards, ingest {short:.0f} s")
        fanout, ws = scenarios.fanout(ctx, args.dashboards, short)
        reads_s = max(2.0, short / 2)
        step(f"5. result reads ({reads_s:.0f} s each)")
        reads = scenarios.reads(ctx, reads_s)
        step(f"6. poll list ({reads_s:.0f} s)")
        polls = scenarios.poll_list(ctx, reads_s)
        step("counter service stopped")
        layout.counter.stop()
        step(f"9. counting: {args.envelopes} sealed envelopes, one counter process")
        counted = scenarios.count(ctx, counter_env, args.envelopes, profile=args.profile)
        step(f"3A. floor: pgbench one-row unique insert, 16 clients ({short:.0f} s)")
        floor = ceilings.floor(16, int(short))
        step(f"3B. product's cast SQL replayed with pgbench ({short:.0f} s)")
        product_sql = ceilings.product_sql(ds, int(short))
        step("close the ingest polls, count to the end, recount (verify_tallies)")
        closing = [
            ds.poll("hot"), warm_poll, *ds.polls["spread"], ds.poll("fanout"), ds.poll("drf")
        ]  # fmt: skip
        finished = scenarios.finish_counting(ds, closing)
        verified = scenarios.verify(
            [*closing, ds.poll("read_small"), ds.poll("read_big"), ds.poll("count"),
             *ds.polls["product_sql"], ds.polls["open_other"][0]],
        )  # fmt: skip
        verified["finish_counting"] = finished
        step(f"8. notifications: a city-wide poll to {ds.citizens} citizens, 2 Celery workers")
        notified = scenarios.notifications(ctx, env, workers=2)

        figures = verified["figures"]

        def on_board(poll_ids: list[int]) -> tuple[bool, int, int]:
            """(every poll verified and final, ballots counted, envelopes still sealed)."""
            rows = [figures.get(p, {}) for p in poll_ids]
            ok = all(r.get("ok") and r.get("final") for r in rows)
            return ok, sum(r.get("counted", 0) for r in rows), sum(r.get("sealed", 0) for r in rows)

        hot_poll = ds.poll("hot")
        hot["ballots_per_s"] = hot["per_s"]
        hot["recount"] = verified["polls"].get(hot_poll)
        hot["recount_ok"], hot["ballots_on_board"], sealed = on_board([hot_poll])
        hot["ballots_on_board"] -= ds.preloaded.get(hot_poll, 0)
        hot["ballots_in_db_equal_201s"] = hot["ballots_on_board"] == hot["ok"] and sealed == 0
        for key, base in (("floor", floor), ("product_sql", product_sql), ("drf", drf),
                          ("noop", noop)):  # fmt: skip
            hot[f"ratio_to_{key}"] = ratio(hot["per_s"], base["per_s"])
        hot["ratio_to_noop_wrk"] = ratio(hot["per_s"], noop_wrk["per_s"]) if noop_wrk else None
        warm["ballots_per_s"] = warm["per_s"]
        warm["recount_ok"], warm["ballots_on_board"], sealed = on_board([warm_poll])
        warm["ballots_in_db_equal_201s"] = warm["ballots_on_board"] == warm["ok"] and sealed == 0
        warm["ratio_to_cold"] = ratio(warm["per_s"], hot["per_s"])
        for key, base in (("drf", drf), ("noop", noop)):
            warm[f"ratio_to_{key}"] = ratio(warm["per_s"], base["per_s"])
        spread["ballots_per_s"] = spread["per_s"]
        spread["recount_ok"], spread["ballots_on_board"], sealed = on_board(ds.polls["spread"])
        spread["ballots_in_db_equal_201s"] = (
            spread["ballots_on_board"] == spread["ok"] and sealed == 0
        )
        spread["ratio_to_floor"] = ratio(spread["per_s"], floor["per_s"])
        _ok, fanout["ballots_on_board"], sealed = on_board([ds.poll("fanout")])
        fanout["ballots_on_board"] -= ds.preloaded.get(ds.poll("fanout"), 0)
        fanout["ballots_on_board_equal_201s"] = (
            fanout["ballots_on_board"] == fanout["ballots_ok"] and sealed == 0
        )
        drf["consistency"]["after_count"] = figures.get(ds.poll("drf"))
        cast_sql = {
            "per_s": product_sql["per_s"],
            "p50_ms": product_sql["p50_ms"],
            "p99_ms": product_sql["p99_ms"],
            "failed": product_sql["failed"],
            "clients": product_sql["clients"],
            "statements": product_sql["statements"],
            "floor_per_s": floor["per_s"],
            "ratio_to_floor": ratio(product_sql["per_s"], floor["per_s"]),
            "goal": "ratio_to_floor >= 0.25",
            "same_as": "ceilings.product_sql",
        }
        e2e["watched_poll_counted_at_start"] = ds.preloaded.get(hot_poll, 0)
        e2e["goal_met"] = (
            e2e["beyond_batching_p99_ms"] is not None and e2e["beyond_batching_p99_ms"] <= 1000
        )
        counted["goal_met"] = bool(counted["per_s"] and counted["per_s"] >= 10_000)
        report.update(
            ingest={"hot": hot, "hot_warm": warm, "spread": spread},
            ceilings={
                "floor": floor,
                "product_sql": product_sql,
                "drf": drf,
                "noop": noop,
                "noop_wrk": noop_wrk,
                "bare": bare,
                "bare_wrk": bare_wrk,
            },
            cast_sql=cast_sql,
            count=counted,
            e2e=e2e,
            fanout=fanout,
            ws=ws,
            reads=reads,
            polls=polls,
            recount=verified,
            notifications=notified,
        )
        report["durations_s"] = {"ingest": d, "others": short, "reads": reads_s}
        report["wall_s"] = round(time.monotonic() - started, 1)
        report["data"]["count_envelopes"] = args.envelopes
        report["data_load_s"] = ds.timings
        report["notes"] = [
            "Load generator, servers, the counter, PostgreSQL and Redis share the machine: see "
            "each run's cpu.",
            "Other work on the machine disturbs figures: see machine.loadavg_at_start and each "
            "run's cpu.machine_busy_pct; figures from a quiet machine replace noisy ones.",
        ]
        write_report(report)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: stopping what was started", file=sys.stderr)
        return 130
    finally:
        if ctx is not None:
            for child in ctx.children:
                if child.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.pid, signal.SIGKILL)
        if layout is not None:
            layout.stop()
        infra.cleanup_redis(prefix)
        try:
            from django.db import connections

            for conn in connections.all():
                if getattr(conn, "pool", None) is not None:
                    conn.close_pool()
        except Exception:  # noqa: S110 — Django may not be set up yet
            pass
        services.restore()


def _stepper(started: float):
    def step(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    return step


def write_report(report: dict) -> None:
    from bench.report import render

    text = render(report)
    print(text)
    blob = json.dumps(report, indent=1, ensure_ascii=False, default=str)
    (infra.RESULTS / f"{report['timestamp']}.json").write_text(blob + "\n")
    (infra.RESULTS / "latest.json").write_text(blob + "\n")
    (infra.RESULTS / "latest.txt").write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
