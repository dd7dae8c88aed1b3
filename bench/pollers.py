"""
500 waiting patients, each an open status card: one keep-alive connection per patient,
asking for its own card, then waiting the card's interval (0.5x..1.5x at random, so
the cards are spread out as real page loads are) before asking again.

wrk cannot measure this: with a per-request delay its Debian build (4.1) counts the
wait in the latency (a do-nothing view showed p50 1.8 s at 30 req/s). This asyncio
loop times each request from its first byte sent to its last byte read.
"""

import asyncio
import random
import time


async def patient(host, port, session_key, path, interval, until, latencies, errors):
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nHX-Request: true\r\n"
        f"Accept-Encoding: gzip, deflate, br\r\nCookie: sessionid={session_key}\r\n\r\n"
    ).encode()
    reader = writer = None
    await asyncio.sleep(random.uniform(0, interval))  # page loads are spread over an interval
    while time.monotonic() < until:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            keep_alive = True
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                    keep_alive = False
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                errors.append(status)
            if not keep_alive:
                writer.close()
                reader = writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            errors.append(type(error).__name__)
            if writer is not None:
                writer.close()
            reader = writer = None
        await asyncio.sleep(random.uniform(interval / 2, interval * 3 / 2))
    if writer is not None:
        writer.close()


async def _run(port, targets, interval, seconds):
    latencies, errors = [], []
    until = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(
        *(patient("127.0.0.1", port, key, path, interval, until, latencies, errors) for key, path in targets)
    )
    return latencies, errors, time.monotonic() - started


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def run(port: int, targets: list[tuple[str, str]], interval: float, seconds: int) -> dict:
    latencies, errors, elapsed = asyncio.run(_run(port, targets, interval, seconds))
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_us": percentile(latencies, 0.50) * 1e6,
        "p95_us": percentile(latencies, 0.95) * 1e6,
        "p99_us": percentile(latencies, 0.99) * 1e6,
        "max_us": max(latencies, default=0) * 1e6,
        "errors": len(errors),
    }
