#!/usr/bin/env python3
"""weir against Flink on the Nexmark queries, side by side (make bench-nexmark).

For each query the runner starts weir's nexmark_bench and Flink's NexmarkBench in turn (weir,
Flink, weir, Flink, ...), each as its own process with the same flags, so both see the same
events. Each run is measured from outside: the CPU seconds of the whole process (user + system
of every thread, the JVM's included, from wait4's rusage) and its wall time; the events per
second come from the engine's own JSON line (events / the job's run time, as the Flink
NexmarkBench reports it). It prints, per query, the medians of both engines and the ratio
weir / Flink, written like 12.3x.

A JVM's start-up costs Flink seconds of CPU whatever the event count, so each round also runs
both engines on a few events (--startup-events); the "steady" columns are the events per
CPU-second past start-up, the figure to compare engines on.

    python3 bench/nexmark/compare.py [--build build/release] [--events 2000000]
        [--parallelism 2] [--repeat 3] [--rate 10000000] [--queries q0,q3]
        [--backend hashmap] [--checkpoint-interval off] [--startup-events 10000]

Python 3 standard library only. nexmark_bench comes from BUILD/bin; the Flink jar is built by
flink_jar.sh when it is missing or older than its sources.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def run(cmd: list[str]) -> dict:
    """Runs cmd; returns its JSON line plus the process's cpu_seconds and wall."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        # wait4 reaps the child and gives its rusage: every thread's CPU time.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        out_text, err_text = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({proc.returncode}):\n{err_text[-3000:]}")
    lines = [l for l in out_text.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"compare.py: no JSON line from {' '.join(cmd)}:\n{out_text[-2000:]}")
    result = json.loads(lines[-1])
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    result["process_wall_seconds"] = wall
    return result


def rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.0f}K"
    return f"{x:.0f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=str(REPO / "build" / "release"))
    p.add_argument("--events", type=int, default=2_000_000)
    p.add_argument("--parallelism", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--rate", type=int, default=10_000_000)
    p.add_argument("--queries", default="", help="comma-separated; default: every query weir has")
    p.add_argument("--backend", default="hashmap", choices=["hashmap", "rocksdb"])
    p.add_argument("--checkpoint-interval", default="off")
    p.add_argument("--startup-events", type=int, default=10_000,
                   help="events of the short runs that measure each engine's start-up CPU "
                        "(0: no such runs)")
    a = p.parse_args()
    if a.events < 1 or a.parallelism < 1 or a.repeat < 1 or a.rate < 1:
        sys.exit("compare.py: --events, --parallelism, --repeat and --rate must be positive")
    if a.startup_events < 0 or a.startup_events >= a.events:
        sys.exit("compare.py: --startup-events must be at least 0 and below --events")

    bench = Path(a.build) / "bin" / "nexmark_bench"
    if not bench.exists():
        sys.exit(f"compare.py: {bench} is missing: build the nexmark_bench target")
    jar = subprocess.run([str(HERE / "flink_jar.sh")], stdout=subprocess.PIPE, text=True)
    if jar.returncode != 0:
        sys.exit("compare.py: no Flink jar (see the message above)")
    jar_path = jar.stdout.strip()

    usage = subprocess.run([str(bench), "--help"], stdout=subprocess.PIPE, text=True).stdout
    known = next(l for l in usage.splitlines() if l.strip().startswith("--query")).split("one of")[1].split()
    queries = [q for q in a.queries.split(",") if q] or known
    for q in queries:
        if q not in known:
            sys.exit(f"compare.py: weir has no query {q} (it has {' '.join(known)})")

    checkpoint_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "nexmark-compare-checkpoints"

    def flags(events: int) -> list[str]:
        return ["--events", str(events), "--parallelism", str(a.parallelism), "--rate",
                str(a.rate), "--backend", a.backend, "--checkpoint-interval",
                a.checkpoint_interval, "--checkpoint-dir", str(checkpoint_dir), "--output", "none"]

    commands = {"weir": [str(bench)], "flink": ["java", "-jar", jar_path]}
    print(f"Nexmark, {a.events:,} events, parallelism {a.parallelism}, {a.backend}, checkpoints "
          f"{a.checkpoint_interval}, median of {a.repeat} (weir and Flink alternating)")
    header = (f"{'query':<6}{'weir ev/s':>12}{'weir ev/CPU-s':>15}{'Flink ev/s':>12}"
              f"{'Flink ev/CPU-s':>16}{'ev/s':>9}{'ev/CPU-s':>10}")
    if a.startup_events:
        header += f"{'weir steady':>13}{'Flink steady':>14}{'steady':>8}"
    print(header)
    print("-" * len(header))
    for q in queries:
        runs: dict[str, list[dict]] = {"weir": [], "flink": []}
        short: dict[str, list[dict]] = {"weir": [], "flink": []}
        for _ in range(a.repeat):
            for engine, cmd in commands.items():
                runs[engine].append(run([*cmd, "--query", q, *flags(a.events)]))
                if a.startup_events:
                    short[engine].append(run([*cmd, "--query", q, *flags(a.startup_events)]))
        med = {}
        for engine, rs in runs.items():
            med[engine] = (statistics.median(r["events_per_second"] for r in rs),
                           statistics.median(a.events / r["cpu_seconds"] for r in rs))
        (w_rate, w_cpu), (f_rate, f_cpu) = med["weir"], med["flink"]
        line = (f"{q:<6}{rate(w_rate):>12}{rate(w_cpu):>15}{rate(f_rate):>12}{rate(f_cpu):>16}"
                f"{w_rate / f_rate:>8.1f}x{w_cpu / f_cpu:>9.1f}x")
        if a.startup_events:
            # The CPU the extra events cost, start-up (a JVM's, a MiniCluster's, JIT warm-up up to
            # the short run's size) taken out: what a long-running job pays per event.
            steady = {}
            for engine in commands:
                extra_cpu = (statistics.median(r["cpu_seconds"] for r in runs[engine]) -
                             statistics.median(r["cpu_seconds"] for r in short[engine]))
                steady[engine] = (a.events - a.startup_events) / extra_cpu if extra_cpu > 0 else 0
            w_steady, f_steady = steady["weir"], steady["flink"]
            ratio = f"{w_steady / f_steady:>7.1f}x" if w_steady and f_steady else f"{'n/a':>8}"
            line += f"{rate(w_steady) if w_steady else 'n/a':>13}" \
                    f"{rate(f_steady) if f_steady else 'n/a':>14}{ratio}"
        print(line, flush=True)
    print("ev/s: events / the job's run time (each engine's JSON line); ev/CPU-s: events / the "
          "whole process's user+system CPU seconds (JVM start included); ratios are weir / Flink.")
    if a.startup_events:
        print(f"steady: events per CPU-second past start-up, (events - {a.startup_events:,}) / "
              f"(CPU of the full run - CPU of a {a.startup_events:,}-event run), medians of each.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
