#!/usr/bin/env python3
"""Benchmarks of `topk run` on 127.0.0.1 at a fixed append rate to a followed file.

latency: cached top-K query latency under wrk load while the server ingests.
staleness: time from appending events until the published state, which every query reads,
includes them.

Usage: bench-host.py latency|staleness [--topk PATH] [--seconds N] [--rate EVENTS_PER_SECOND]
"""

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_server(topk, folder, log_path):
    """Starts `topk run` following an empty NDJSON file; returns (process, base URL, file path)."""
    events = os.path.join(folder, "events.ndjson")
    open(events, "wb").close()
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [topk, "run", events, "--follow", "--format", "ndjson", "--item", "/ip", "--bind", "127.0.0.1:0",
         "--state", os.path.join(folder, "state.redb"), "--max-k", "100", "--dashboard", os.path.join(folder, "none")],
        stdout=subprocess.PIPE, stderr=log, cwd=ROOT, env={**os.environ, "RUST_LOG": "warn"})
    line = process.stdout.readline().decode()
    if not line.startswith("listening on "):
        process.kill()
        sys.exit(f"topk did not start: {line!r}; see {log_path}")
    return process, line.split("listening on ", 1)[1].strip(), events


def make_chunk(lines, rng):
    """Returns `lines` NDJSON events whose ips follow a skewed distribution over 100k values."""
    out = []
    for _ in range(lines):
        rank = int(rng.random() ** 4 * 100_000)
        out.append('{"ip":"10.%d.%d.%d"}\n' % (rank >> 16, (rank >> 8) & 255, rank & 255))
    return "".join(out).encode()


def append_at_rate(path, rate, seconds, stop, markers=None):
    """Appends events at `rate` per second in 10 ms steps. Every 100 ms it also appends to
    `markers` the file size after the step and the time of the append, as (offset, time)."""
    rng = random.Random(7)
    per_step = max(1, rate // 100)
    chunks = [make_chunk(per_step, rng) for _ in range(8)]
    written = 0
    with open(path, "ab", buffering=0) as file:
        started = time.monotonic()
        step = 0
        while not stop.is_set() and time.monotonic() - started < seconds:
            file.write(chunks[step % len(chunks)])
            written += per_step
            if markers is not None and step % 10 == 0:
                markers.append((file.tell(), time.monotonic()))
            step += 1
            delay = started + step * 0.01 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return written


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def latency(args):
    with tempfile.TemporaryDirectory() as folder:
        process, base, events = start_server(args.topk, folder, os.path.join(folder, "topk.log"))
        stop = threading.Event()
        writer = threading.Thread(target=append_at_rate, args=(events, args.rate, args.seconds + 10, stop))
        writer.start()
        try:
            time.sleep(3)
            url = f"{base}/api/v1/heavy-hitters?k=10&window=last_hour"
            before = get_json(f"{base}/api/v1/windows")["counters"]["events"]
            # Paced rows: each connection waits 1 ms after every response (wrk's delay hook),
            # so 11 connections offer about 10,000 requests/s, the rate of the target.
            paced = os.path.join(folder, "paced.lua")
            with open(paced, "w") as script:
                script.write("function delay()\n  return 1\nend\n")
            runs = [("closed loop", 1, []), ("closed loop", 2, []), ("closed loop", 4, []), ("closed loop", 8, []),
                    ("paced 1 ms", 11, ["-s", paced]), ("paced 1 ms", 16, ["-s", paced])]
            results = []
            for mode, connections, extra in runs:
                output = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, args.seconds // 4)}s", "--latency", *extra, url],
                                        capture_output=True, text=True, check=True).stdout
                results.append((mode, connections, parse_wrk(output)))
            after = get_json(f"{base}/api/v1/windows")["counters"]["events"]
            print(f"ingest during the runs: {after - before} events")
            print("| load | connections | requests/s | p50 | p90 | p99 |")
            print("|---|---|---|---|---|---|")
            for mode, connections, result in results:
                print(f"| {mode} | {connections} | {result['rps']:.0f} | {result['50%']} | {result['90%']} | {result['99%']} |")
        finally:
            stop.set()
            writer.join()
            process.terminate()
            process.wait()


def parse_wrk(output):
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percentile in ("50%", "90%", "99%"):
        result[percentile] = re.search(rf"{percentile}\s+([\d.]+\w+)", output).group(1)
    return result


def staleness(args):
    with tempfile.TemporaryDirectory() as folder:
        process, base, events = start_server(args.topk, folder, os.path.join(folder, "topk.log"))
        stop = threading.Event()
        markers = []
        counts = {}
        writer = threading.Thread(target=lambda: counts.update(written=append_at_rate(events, args.rate, args.seconds, stop, markers)))
        writer.start()
        delays = []
        checked = 0
        try:
            started = time.monotonic()
            while writer.is_alive() or checked < len(markers):
                if checked >= len(markers):
                    time.sleep(0.002)
                    continue
                offset, appended = markers[checked]
                while True:
                    # The published offset covers every event before it: the appended lines are
                    # visible to queries once it reaches the file size after the append.
                    body = get_json(f"{base}/api/v1/windows")
                    if body["offsets"].get(events, 0) >= offset:
                        delays.append(time.monotonic() - appended)
                        break
                    if time.monotonic() - appended > 30:
                        delays.append(float("inf"))
                        break
                    time.sleep(0.01)
                checked += 1
            elapsed = time.monotonic() - started
            writer.join()
            counted = get_json(f"{base}/api/v1/windows")["counters"]["events"]
        finally:
            stop.set()
            process.terminate()
            process.wait()

        finite = sorted(delay for delay in delays if delay != float("inf"))
        written = counts.get("written", 0)
        print(f"appended {written} events in {args.seconds} s ({written / args.seconds:.0f}/s); counted {counted} after {elapsed:.1f} s")
        print(f"probes: {len(delays)}, never visible within 30 s: {len(delays) - len(finite)}")
        if finite:
            p99 = finite[min(len(finite) - 1, int(len(finite) * 0.99))]
            print(f"staleness p50 {statistics.median(finite) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {finite[-1] * 1000:.0f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=["latency", "staleness"])
    parser.add_argument("--topk", default=os.path.join(ROOT, "target/release/topk"), help="the topk binary (default target/release/topk)")
    parser.add_argument("--seconds", type=int, default=20, help="duration of the measurement, in seconds (default 20)")
    parser.add_argument("--rate", type=int, default=None, help="events appended per second (default: 100000 for latency, 1000000 for staleness)")
    args = parser.parse_args()
    if args.rate is None:
        args.rate = 100_000 if args.benchmark == "latency" else 1_000_000
    {"latency": latency, "staleness": staleness}[args.benchmark](args)


if __name__ == "__main__":
    main()
