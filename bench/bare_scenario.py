"""3E. The bare-Django ceiling: the no-op's request (same body, headers and clients) to a Django
view with no middleware and no authentication (``bench/bare_urls.py``), on a second HTTP server of
the same kind, workers and flags as the product's, measured right after the no-op (3D), same run.

``ceilings.noop.ratio_to_bare`` = no-op ÷ bare, answers per second; ``ratio_to_bare_per_core`` the
same per second of server CPU, which the load client's own limit and other work on the machine
disturb less (at several thousand answers a second the aiohttp client, not the bare server, may be
the limit: see ``cpu.load_client_pct_of_one_core``). With wrk installed, both again by wrk.
"""

import itertools
import json

from bench import data, scenarios
from bench.load import citizen_ip


def bare(ctx: "scenarios.Ctx", duration: float) -> dict:
    body = json.dumps({"options": [1]}).encode()
    cycle = itertools.cycle(range(1, ctx.ds.citizens))

    def next_request():
        uid = next(cycle)
        # The no-op's headers, token included: the bare view reads none of them.
        headers = {
            **scenarios.JSON,
            "X-Session-Token": data.citizen_token(uid),
            "X-Forwarded-For": citizen_ip(uid),
        }
        return "POST", "/bench/bare/", body, headers, 200

    layout = ctx.layout
    ctx.loop("warm", next_request, duration=1, ports=layout.bare_ports, pids=layout.bare_pids)
    run = ctx.loop(
        "bare", next_request, duration=duration, ports=layout.bare_ports, pids=layout.bare_pids
    )
    result = run.summary(ctx.cores)
    result["server"] = layout.describe()["bare"]
    return result


def bare_wrk(ctx: "scenarios.Ctx", duration: int) -> dict | None:
    return scenarios.noop_wrk(
        ctx, duration, path="/bench/bare/", ports=ctx.layout.bare_ports, pids=ctx.layout.bare_pids
    )


def ratios(noop: dict, bare_run: dict, noop_wrk: dict | None, bare_wrk_run: dict | None) -> None:
    """The no-op's ratios to the bare ceiling, written into the no-op's own dicts."""

    def ratio(a, b):
        return round(a / b, 3) if a and b else None

    noop["ratio_to_bare"] = ratio(noop["per_s"], bare_run["per_s"])
    noop["ratio_to_bare_per_core"] = ratio(
        noop.get("per_server_core_s"), bare_run.get("per_server_core_s")
    )
    if noop_wrk is not None and bare_wrk_run is not None:
        noop_wrk["ratio_to_bare"] = ratio(noop_wrk["per_s"], bare_wrk_run["per_s"])
        noop["ratio_to_bare_wrk"] = noop_wrk["ratio_to_bare"]
