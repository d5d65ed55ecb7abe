"""Dashboard sockets, in a process of their own: ``python -m bench.dashboards CONFIG.json``.

Opens all sockets at once (the handshake storm), prints ``READY {...}`` on stdout, then records for
every frame its arrival time (``time.monotonic``, the same clock as the ballot clients') and the
poll's ``total``. On ``STOP`` (stdin) it writes everything to the output file and prints ``DONE``.
Only the top-level ``"total"`` is read from each frame (the first one in the text: the server
writes the keys in a fixed order), so the client costs little per frame.
"""

import asyncio
import json
import re
import resource
import sys
import time
from collections import Counter

import aiohttp

TOTAL = re.compile(r'"total":\s*(\d+)')


async def main(config_path: str) -> None:
    with open(config_path) as source:
        config = json.load(source)
    urls: list[str] = config["urls"]
    cookies: list[str] = config["cookies"]
    frames: list[list[tuple[float, int]]] = [[] for _ in urls]
    failures: Counter = Counter()
    sockets: list = [None] * len(urls)
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
    )

    async def connect(i: int) -> None:
        try:
            ws = await http.ws_connect(
                urls[i],
                headers={"Cookie": f"sessionid={cookies[i]}", "Origin": config["origins"][i]},
                timeout=aiohttp.ClientWSTimeout(ws_close=2),
                autoping=True,
                max_msg_size=0,
                compress=0,
            )
        except aiohttp.WSServerHandshakeError as exc:
            failures[f"handshake {exc.status}"] += 1
            return
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            errno = getattr(exc, "errno", None)
            failures[f"{type(exc).__name__} errno={errno} {str(exc)[-60:]}"] += 1
            return
        sockets[i] = ws
        record = frames[i].append
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                t = time.monotonic()
                match = TOTAL.search(message.data)
                record((t, int(match.group(1)) if match else -1))
            elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break

    t0 = time.monotonic()
    readers = [asyncio.create_task(connect(i)) for i in range(len(urls))]
    # Connected = the handshake finished and the first snapshot frame arrived.
    deadline = t0 + config.get("connect_timeout", 60)
    while time.monotonic() < deadline:
        done = sum(1 for i in range(len(urls)) if frames[i])
        if done + sum(failures.values()) >= len(urls):
            break
        await asyncio.sleep(0.05)
    connect_s = time.monotonic() - t0
    connected = sum(1 for f in frames if f)
    print(
        "READY " + json.dumps({
            "connected": connected,
            "failed": len(urls) - connected,
            "reasons": dict(failures),
            "connect_all_s": round(connect_s, 3),
        }),
        flush=True,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # STOP
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(config["out"], "w") as out:
        json.dump({"frames": frames, "cpu_s": usage.ru_utime + usage.ru_stime, "closed": 0}, out)
    print("DONE", flush=True)
    for r in readers:
        r.cancel()
    for ws in sockets:
        if ws is not None:
            ws._response.close()  # drop the connection, no closing handshake for 1,000 sockets
    await http.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
