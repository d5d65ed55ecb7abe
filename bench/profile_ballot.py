"""CPU per ballot, in process: ``python -m bench.profile_ballot [N] [--warm]``.

Runs after ``make bench`` (which keeps the database ``mvoting_bench``): N ballots (default 400)
through the product's full request path (Django's test client, WSGI handler, every middleware),
each by a citizen who has not voted in an open city-wide poll, under ``cProfile`` counting CPU
time (``time.process_time``), so other load on the machine barely moves the figure. ``--warm``
first sends each citizen's list request, as the app does, so the ballot finds the session in the
cache; without it every ballot pays the cold session lookup, as the bench's hot run does.
Prints the CPU per ballot (profiled: the profiler roughly doubles it; compare runs of this
command only) and the heaviest functions of the product.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

from bench import data, infra
from bench.load import citizen_ip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_ballot")
    parser.add_argument("ballots", nargs="?", type=int, default=400)
    parser.add_argument("--warm", action="store_true", help="each token used once before")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)

    # The servers' environment (bench/infra.py); views inline, as config/wsgi.py runs them.
    os.environ.update(infra.server_env("profile", infra.ballot_keys()))
    os.environ["API_WORKER_THREADS"] = "0"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.id, min(o.id) FROM voting_poll p JOIN voting_option o ON o.poll_id = p.id
            WHERE p.published AND p.opens_at < now() AND p.closes_at > now()
              AND NOT EXISTS (SELECT 1 FROM voting_poll_districts d WHERE d.poll_id = p.id)
              AND NOT EXISTS (SELECT 1 FROM voting_poll_groups g WHERE g.poll_id = p.id)
              AND p.min_age IS NULL AND p.max_age IS NULL
            GROUP BY p.id ORDER BY p.id DESC LIMIT 1"""
        )
        poll, option = cursor.fetchone()
        cursor.execute(
            """SELECT u.id FROM accounts_user u
            WHERE u.is_active AND u.phone IS NOT NULL AND u.verification >= 10
              AND NOT EXISTS (SELECT 1 FROM voting_participation x
                              WHERE x.poll_id = %s AND x.voter_id = u.id)
            ORDER BY random() LIMIT %s""",
            [poll, args.ballots],
        )
        citizens = [row[0] for row in cursor.fetchall()]
    client = Client()

    def headers(uid: int) -> dict[str, str]:
        return {
            "HTTP_X_SESSION_TOKEN": data.citizen_token(uid),
            "HTTP_X_FORWARDED_FOR": citizen_ip(uid),
        }

    client.get("/api/v1/polls/")  # imports and the URLconf, outside the profile
    if args.warm:
        for uid in citizens:
            client.get("/api/v1/polls/", **headers(uid))
    profile = cProfile.Profile(time.process_time)
    statuses: dict[int, int] = {}
    started = time.process_time()
    profile.enable()
    for uid in citizens:
        response = client.post(
            f"/api/v1/polls/{poll}/ballots/",
            data={"options": [option]},
            content_type="application/json",
            **headers(uid),
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    profile.disable()
    cpu_ms = 1000 * (time.process_time() - started) / max(1, len(citizens))
    print(
        f"poll {poll}, {'warm' if args.warm else 'cold'} tokens: answers {statuses}, "
        f"{cpu_ms:.2f} ms CPU per ballot (profiled)"
    )
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(r"/(voting|accounts|core|config)/", args.top)
    sys.stdout.write(out.getvalue())


if __name__ == "__main__":
    main()
