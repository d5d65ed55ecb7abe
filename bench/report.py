"""The text report: every figure of the JSON report, on one screen."""


def _f(value, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        value = f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value}{unit}"


def _run(label: str, r: dict) -> str:
    cpu = r.get("cpu", {})
    return (
        f"  {label:<28} {_f(r['per_s']):>9}/s  p50 {_f(r['p50_ms'])} p95 {_f(r['p95_ms'])} "
        f"p99 {_f(r['p99_ms'])} ms  errors {r['errors']}"
        + (f" {r['statuses']}" if r["errors"] else "")
        + f"\n  {'':<28} {_f(r.get('per_server_core_s'))}/s per server core; cpu: load client "
        f"{_f(cpu.get('load_client_pct_of_one_core'))}% of a core, servers "
        f"{_f(cpu.get('servers_pct_of_machine'))}%, postgres "
        f"{_f(cpu.get('postgres_pct_of_machine'))}% of the machine, counter "
        f"{_f(cpu.get('counter_pct_of_one_core'))}% of a core; machine busy "
        f"{_f(cpu.get('machine_busy_pct'))}%"
        + (" (stopped: out of citizens)" if r.get("stopped_early_out_of_citizens") else "")
    )


def _profile_lines(profile: dict | None, top: int = 10) -> list[str]:
    """A py-spy summary (scenarios.summarise_profile): the heaviest functions."""
    if not profile:
        return []
    lines = [
        f"  {'':<28} profile of one HTTP worker ({profile['samples']} samples, waiting included):"
    ]
    for kind in ("self_pct", "inclusive_pct"):
        top_frames = ", ".join(f"{f} {p}%" for f, p in profile[kind][:top])
        lines.append(f"  {'':<28}   {kind[:-4]}: {top_frames}")
    return lines


def _warm_lines(warm: dict | None) -> list[str]:
    if not warm:
        return []
    return [
        _run("hot, warm tokens", warm),
        f"  {'':<28} ÷ cold {_f(warm.get('ratio_to_cold'))}  ÷ C {_f(warm.get('ratio_to_drf'))}"
        f"  ÷ D {_f(warm.get('ratio_to_noop'))}; board ballots = the 201s: "
        f"{warm.get('ballots_in_db_equal_201s')}; out of citizens: "
        f"{warm.get('stopped_early_out_of_citizens')}",
    ]


def render(r: dict) -> str:
    m, v, lay = r["machine"], r["versions"], r["server_layout"]
    hot, spread = r["ingest"]["hot"], r["ingest"]["spread"]
    c = r["ceilings"]
    fo, ws, rd, pl = r["fanout"], r["ws"], r["reads"], r["polls"]
    e2e = r["e2e"]
    lines = [
        f"mVoting benchmark — {r['timestamp']} ({r['mode']}, {r['wall_s']} s)",
        f"machine  {m['cores']} cores, {m['memory_gb']} GB, {m['cpu_model']}, "
        f"kernel {m['kernel']}, load at start {m['loadavg_at_start']}",
        f"versions python {v['python']}, django {v['django']}, drf {v['djangorestframework']}, "
        f"psycopg {v['psycopg']}, gunicorn {v.get('gunicorn')}, daphne {v['daphne']}, twisted "
        f"{v['twisted']}, channels "
        f"{v['channels']}, channels-redis {v['channels-redis']}, postgres {v['postgres_server']}, "
        f"redis {v['redis_server']}, aiohttp {v['aiohttp']}, granian {v.get('granian')}, "
        f"uvicorn {v.get('uvicorn')}",
        f"source   commit {r.get('source', {}).get('commit')}, uncommitted product files "
        f"{r.get('source', {}).get('uncommitted_files')} (digest "
        f"{r.get('source', {}).get('uncommitted_sha256')})",
        f"servers  {lay.get('summary') or str(lay['processes']) + ' × daphne'}, on 127.0.0.1 "
        "(no proxy)",
        f"data     {r['data']['citizens']:,} citizens in {r['data']['gu']} gu / "
        f"{r['data']['dongs']} dongs, {r['data']['polls']:,} polls, "
        f"{r['data']['read_big_ballots']:,} + {r['data']['read_small_ballots']:,} "
        "preloaded counted ballots"
        + (
            f", {r['data']['count_envelopes']:,} sealed envelopes to count"
            if r["data"].get("count_envelopes")
            else ""
        ),
        "",
        f"1-2. ballot ingest ({r['durations_s']['ingest']:.0f} s, "
        f"{r.get('clients', 64)} clients, each ballot a distinct citizen)",
        _run("hot poll", hot),
        f"  {'':<28} closed and counted to the end: {hot['recount']} — board ballots = the "
        f"201s: {hot['ballots_in_db_equal_201s']}",
        *_profile_lines(hot.get("profile")),
        *_warm_lines(r["ingest"].get("hot_warm")),
        _run("spread over 20 polls", spread),
        f"  {'':<28} recount ok and final on all 20: {spread['recount_ok']} — board ballots "
        f"({_f(spread.get('ballots_on_board'))}) = the 201s: "
        f"{spread.get('ballots_in_db_equal_201s')}",
        "",
        "3. ceilings (same run)",
        f"  A floor, pgbench unique insert {_f(c['floor']['per_s']):>9}/s  p50 "
        f"{_f(c['floor']['p50_ms'])} p99 {_f(c['floor']['p99_ms'])} ms  (16 clients)",
        f"  B product cast SQL via pgbench {_f(c['product_sql']['per_s']):>9}/s  p50 "
        f"{_f(c['product_sql']['p50_ms'])} p99 {_f(c['product_sql']['p99_ms'])} ms  "
        f"({c['product_sql']['statements_per_ballot']} statements/ballot, failed "
        f"{c['product_sql']['failed']}); ÷ A {_f(r['cast_sql']['ratio_to_floor'])} "
        "(goal ≥ 0.25)",
        f"  {'':<31}{', '.join(c['product_sql'].get('statements', []))}",
        _run("C plain DRF CreateAPIView", c["drf"]),
        f"  {'':<28} participations = sealed + counted = 201s: {c['drf']['consistency']['equal']}",
        _run("D no-op (same auth)", c["noop"]),
    ]
    if c.get("noop_wrk"):
        lines.append(
            f"  {'D no-op, wrk':<28} {_f(c['noop_wrk']['per_s']):>9}/s  p99 "
            f"{_f(c['noop_wrk']['p99_ms'])} ms  non-2xx {c['noop_wrk']['non_2xx']}"
        )
    if c.get("bare"):
        lines.append(_run("E bare Django, no middleware", c["bare"]))
        if c.get("bare_wrk"):
            lines.append(
                f"  {'E bare Django, wrk':<28} {_f(c['bare_wrk']['per_s']):>9}/s  p99 "
                f"{_f(c['bare_wrk']['p99_ms'])} ms  non-2xx {c['bare_wrk']['non_2xx']}"
            )
        lines.append(
            f"  no-op ÷ bare Django {_f(c['noop'].get('ratio_to_bare'))}, per server core "
            f"{_f(c['noop'].get('ratio_to_bare_per_core'))}"
            + (
                f", by wrk {_f(c['noop_wrk'].get('ratio_to_bare'))} (per server core "
                f"{_f(c['noop_wrk'].get('per_server_core_s'))} vs "
                f"{_f(c['bare_wrk'].get('per_server_core_s'))}/s)"
                if c.get("noop_wrk") and c.get("bare_wrk")
                else ""
            )
            + " (goal ≥ 0.4)"
        )
    lines += [
        f"  hot ingest ÷ A {_f(hot['ratio_to_floor'])}  ÷ B {_f(hot['ratio_to_product_sql'])}  "
        f"÷ C {_f(hot['ratio_to_drf'])}  ÷ D {_f(hot['ratio_to_noop'])}"
        + (
            f"  (÷ D by wrk {_f(hot['ratio_to_noop_wrk'])})" if hot.get("ratio_to_noop_wrk") else ""
        ),
        "",
        f"e2e: ballot 201 → counted → dashboard, hot run ({e2e['dashboards']} dashboards, one "
        f"counter process every {e2e['count_interval_s']} s, k = {e2e['k']}): raw p50 "
        f"{_f(e2e['p50_ms'])} p99 {_f(e2e['p99_ms'])} ms; beyond the batching wait p50 "
        f"{_f(e2e['beyond_batching_p50_ms'])} p99 {_f(e2e['beyond_batching_p99_ms'])} ms "
        "(goal ≤ 1,000)",
        f"  batching wait p50 {_f(e2e['batching_wait_p50_ms'])} p99 "
        f"{_f(e2e['batching_wait_p99_ms'])} ms; 201 → its batch began p50 "
        f"{_f(e2e['to_batch_start_p50_ms'])} p99 {_f(e2e['to_batch_start_p99_ms'])} ms; "
        f"{e2e['batches']} batches, mean {_f(e2e['batch_size_mean'])} ballots; "
        f"{e2e['samples']} samples, {e2e['newest_k_left_out']} newest left out, "
        f"{e2e['not_counted_by_the_end']} not counted, {e2e['not_seen_on_a_dashboard']} not "
        f"seen; relay errors (WebSocket servers) {e2e.get('relay_layer_errors')}",
        "",
        f"4. live fan-out: {fo['connected']}/{fo['dashboards']} dashboards over {fo['processes']} "
        f"processes, failed handshakes {fo['failed_handshakes']} "
        f"{fo['handshake_failure_reasons'] or ''}"
        f"(all connected in {fo['connect_all_s']} s)",
        f"  ingest meanwhile {_f(fo['ballots_per_s'])}/s (errors {fo['ballot_errors']}); "
        f"201→counted→dashboard p50 {_f(fo['p50_ms'])} p99 {_f(fo['p99_ms'])} max "
        f"{_f(fo['max_ms'])} ms, beyond batching p99 {_f(fo.get('beyond_batching_p99_ms'))} ms; "
        f"never seen {fo['ballots_never_seen_pct']}% of (ballot, dashboard) samples",
        f"  msgs/s per dashboard mean {_f(fo['msgs_per_s_per_dashboard_mean'])} max "
        f"{_f(fo['msgs_per_s_per_dashboard_max'])}; last frame = DB tally ({fo['db_tally']}) on "
        f"{fo['last_frame_equals_tally']}/{fo['connected']}; dashboard client cpu "
        f"{_f(fo['dashboard_client_cpu_s'])} s; relay errors (WebSocket servers) "
        f"{fo.get('relay_layer_errors')}",
        "",
        f"5. result reads ({rd['clients']} clients): {r['data']['read_small_ballots']:,} ballots "
        f"mean {_f(rd['small']['mean_ms'])} p99 {_f(rd['small']['p99_ms'])} ms; "
        f"{r['data']['read_big_ballots']:,} ballots mean {_f(rd['big']['mean_ms'])} p99 "
        f"{_f(rd['big']['p99_ms'])} ms; ratio {_f(rd['ratio_1m_to_1k'])}; errors "
        f"{rd['small']['errors'] + rd['big']['errors']}",
        f"6. poll list: {pl['polls_in_db']:,} polls, {pl['open_to_citizen']} open to the citizen "
        f"(expected {pl['expected_open_to_citizen']}): {_f(pl['per_s'])}/s p50 {_f(pl['p50_ms'])} "
        f"p99 {_f(pl['p99_ms'])} ms, {pl['queries']} queries per request",
        f"7. memory: {_f(ws['kb_per_connection'])} KB RSS per idle WebSocket "
        f"({ws['connections']} connections)",
    ]
    nt = r.get("notifications")
    if nt:
        lines.append(
            f"8. notifications: a city-wide poll to {nt['recipients']:,} citizens through the "
            f"outbox, {nt['workers']} Celery workers: first push {_f(nt['first_push_s'])} s, all "
            f"inbox rows {_f(nt['all_inbox_rows_s'])} s, all pushed {_f(nt['all_pushed_s'])} s "
            f"({_f(nt['pushed_per_s'])}/s); complete {nt['complete']}"
        )
    ct = r.get("count")
    if ct:
        lines.append(
            f"9. counting: {ct['envelopes']:,} sealed envelopes, one counter process: "
            f"{_f(ct['per_s'])}/s (goal ≥ 10,000) in {_f(ct['seconds'])} s, {ct['batches']} "
            f"batches of ≤ {ct['batch_max']:,}; its cpu {_f(ct['process_cpu_s'])} s, its "
            f"postgres backend {_f(ct.get('backend_cpu_s'))} s; all counted and final: "
            f"{ct['all_counted']}" + (" (profiled)" if ct.get("profiled") else "")
        )
        for kind in ("self_pct", "inclusive_pct"):
            if ct.get("profile"):
                top = ", ".join(f"{f} {p}%" for f, p in ct["profile"][kind][:8])
                lines.append(f"   profile {kind[:-4]}: {top}")
    fin = r["recount"].get("finish_counting", {})
    lines += [
        "",
        f"recount (verify_tallies): {'all ok' if r['recount']['ok'] else 'MISMATCH'} over "
        f"{len(r['recount']['polls'])} polls; {fin.get('final')}/{fin.get('closed')} closed "
        f"polls counted to the end in {_f(fin.get('seconds'))} s",
    ]
    bad = [f"poll {p}: {t}" for p, t in r["recount"]["polls"].items() if not t.startswith("ok")]
    lines += [f"  {line}" for line in bad[:10]]
    return "\n".join(lines)
