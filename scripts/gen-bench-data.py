#!/usr/bin/env python3
"""Generate access-log benchmark files in the shape of the real Apache log.

Each event has ip, time, method, path, status, bytes, referrer and user agent. Client IPs and
paths follow Zipf distributions over a fixed number of distinct values, so a few items are
heavy and the tail is long. The same events are written as NDJSON and as CSV, so the two files
are comparable. The CSV file has a header, and its user agents are quoted because they contain
commas.

Example:
    python3 scripts/gen-bench-data.py --out-dir target/bench-data --size-mb 1100 \
        --distinct-ips 1000000 --name access
writes target/bench-data/access.ndjson and access.csv of at least 1100 MB each (the NDJSON one;
the CSV file is about 20% smaller) plus access.truth.json with the exact top-10 IPs and paths.

Needs numpy. Deterministic for a given --seed.
"""

import argparse
import json
import os
import sys
import time
from collections import Counter

import numpy as np

METHODS = np.array(["GET"] * 90 + ["POST"] * 7 + ["HEAD"] * 3)
STATUSES = np.array([200] * 85 + [304] * 6 + [404] * 5 + [301] * 2 + [500] * 1 + [206] * 1)
USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.107 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:27.0) Gecko/20100101 Firefox/27.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_0_4 like Mac OS X) AppleWebKit/537.51.1 (KHTML, like Gecko) Version/7.0 Mobile/11B554a Safari/9537.53",
    "UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/",
    "Tiny Tiny RSS/1.11 (http://tt-rss.org/)",
]
REFERRERS = [
    "-",
    "http://semicomplete.com/presentations/logstash-puppetconf-2012/",
    "https://www.google.com/search?q=logstash+kibana",
    "http://www.semicomplete.com/projects/xdotool/",
    "http://logstash.net/docs/1.1.13/",
]
SECTIONS = ["images", "blog", "presentations", "projects", "articles", "files", "style"]
EXTENSIONS = ["png", "html", "css", "js", "gif", "jpg", "xml"]


def zipf_sampler(rng, distinct, exponent):
    """Returns a function drawing n ranks in [0, distinct) with P(rank r) ~ 1 / (r + 1)^exponent."""
    weights = 1.0 / np.power(np.arange(1, distinct + 1, dtype=np.float64), exponent)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]

    def draw(n):
        return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), distinct - 1)

    return draw


def ip_strings(ranks):
    """Maps ranks to IPv4 strings through a fixed 32-bit mixing function (a bijection)."""
    x = (ranks.astype(np.uint64) * np.uint64(2654435761) + np.uint64(0x9E3779B9)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(15)
    octets = [((x >> np.uint64(shift)) & np.uint64(255)).astype(np.int64) for shift in (24, 16, 8, 0)]
    return [f"{a}.{b}.{c}.{d}" for a, b, c, d in zip(*(o.tolist() for o in octets))]


def path_strings(ranks):
    ranks = ranks.tolist()
    return [f"/{SECTIONS[r % 7]}/item-{r}.{EXTENSIONS[(r // 7) % 7]}" for r in ranks]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default="target/bench-data", help="output folder (created)")
    parser.add_argument("--name", default="access", help="file name stem")
    parser.add_argument("--size-mb", type=float, default=1100, help="minimum NDJSON size in MB (10^6 bytes)")
    parser.add_argument("--distinct-ips", type=int, default=1_000_000, help="number of distinct client IPs")
    parser.add_argument("--distinct-paths", type=int, default=100_000, help="number of distinct paths")
    parser.add_argument("--ip-exponent", type=float, default=1.1, help="Zipf exponent of the IPs")
    parser.add_argument("--path-exponent", type=float, default=1.0, help="Zipf exponent of the paths")
    parser.add_argument("--formats", default="ndjson,csv", help="comma-separated: ndjson, csv")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    formats = args.formats.split(",")
    rng = np.random.default_rng(args.seed)
    draw_ip = zipf_sampler(rng, args.distinct_ips, args.ip_exponent)
    draw_path = zipf_sampler(rng, args.distinct_paths, args.path_exponent)

    outputs = {}
    if "ndjson" in formats:
        outputs["ndjson"] = open(os.path.join(args.out_dir, f"{args.name}.ndjson"), "w", buffering=1 << 20)
    if "csv" in formats:
        outputs["csv"] = open(os.path.join(args.out_dir, f"{args.name}.csv"), "w", buffering=1 << 20)
        outputs["csv"].write("ip,time,method,path,status,bytes,referrer,user_agent\n")

    ip_counts = Counter()
    path_counts = Counter()
    target = args.size_mb * 1e6
    written = 0
    events = 0
    started = time.time()
    chunk = 200_000
    base_time = 1431857103  # 2015-05-17T10:05:03Z, the first event of the real log

    while written < target:
        ips = ip_strings(draw_ip(chunk))
        paths = path_strings(draw_path(chunk))
        methods = METHODS[rng.integers(0, len(METHODS), chunk)].tolist()
        statuses = STATUSES[rng.integers(0, len(STATUSES), chunk)].tolist()
        sizes = rng.integers(0, 300_000, chunk).tolist()
        agents = rng.integers(0, len(USER_AGENTS), chunk).tolist()
        referrers = rng.integers(0, len(REFERRERS), chunk).tolist()
        seconds = (base_time + (events + np.arange(chunk)) // 50).tolist()
        times = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s)) for s in seconds]

        ip_counts.update(ips)
        path_counts.update(paths)

        if "ndjson" in outputs:
            lines = [
                f'{{"ip":"{ip}","time":"{t}","method":"{m}","path":"{p}","status":{s},"bytes":{b},'
                f'"referrer":"{REFERRERS[r]}","user_agent":"{USER_AGENTS[a]}"}}\n'
                for ip, t, m, p, s, b, r, a in zip(ips, times, methods, paths, statuses, sizes, referrers, agents)
            ]
            text = "".join(lines)
            outputs["ndjson"].write(text)
            written += len(text)
        if "csv" in outputs:
            lines = [
                f'{ip},{t},{m},{p},{s},{b},{REFERRERS[r]},"{USER_AGENTS[a]}"\n'
                for ip, t, m, p, s, b, r, a in zip(ips, times, methods, paths, statuses, sizes, referrers, agents)
            ]
            text = "".join(lines)
            outputs["csv"].write(text)
            if "ndjson" not in outputs:
                written += len(text)
        events += chunk
        print(f"\r{events:,} events, {written / 1e6:,.0f} MB", end="", file=sys.stderr)

    for output in outputs.values():
        output.close()

    def top(counts):
        rows = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:10]
        return [{"item": item, "count": count} for item, count in rows]

    truth = {
        "events": events,
        "distinct_ips": len(ip_counts),
        "distinct_paths": len(path_counts),
        "top_ips": top(ip_counts),
        "top_paths": top(path_counts),
    }
    with open(os.path.join(args.out_dir, f"{args.name}.truth.json"), "w") as handle:
        json.dump(truth, handle, indent=1)
    print(f"\n{events:,} events, {len(ip_counts):,} distinct IPs, in {time.time() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
