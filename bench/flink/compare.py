#!/usr/bin/env python3
"""weir against Flink, side by side, on the seed job and weir_bench's workloads.

For each workload the runner starts weir and Flink in turn (weir, Flink, weir, Flink, ...),
each as its own process, and measures every run from outside: wall time, CPU seconds
(user + system of the whole process, every thread included, from wait4's rusage) and peak RSS.
Time to first record, job time and checkpoint percentiles come from each engine's own report
(weir_bench's and flink-bench's JSON line; fault_tolerance's summary and log). It checks that
both engines wrote the same output, then prints one line per workload: the medians of both
engines and the ratio weir/Flink of each figure.

    python3 bench/flink/compare.py [--repeat 3] [--scale 1.0] [--only seed,1key-100ms]

Python 3.11 standard library only. weir's binaries come from build/release/bin (make build);
the Flink jar is built here with Maven when it is missing or older than its sources.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
JAR = HERE / "target" / "flink-bench.jar"


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    what: str
    records: int  # records through the pipeline; the seed job's --end is records - 1
    keys: int = 1
    delay_ms: int = 0
    backend: str = "hashmap"
    checkpoint: str = "1s"  # "off" or an interval such as 1s, 100ms
    mode: str = "EXACTLY_ONCE"
    sink: str = "file"
    incremental: bool = False
    parallelism: int = 1
    seed_program: bool = False  # weir runs examples/fault_tolerance instead of weir_bench
    scalable: bool = True  # --scale applies (not to the seed job, whose size is its point)

    def scaled(self, scale: float) -> Workload:
        if not self.scalable or scale == 1.0:
            return self
        records = max(1000, int(self.records * scale))
        if self.keys == 1:
            records = records // 10 * 10 + 1  # N zeros and a 1000, like the seed's output
        return dataclasses.replace(self, records=records)

    def startup(self) -> Workload | None:
        """The same workload on a hundredth of the records, whose CPU is mostly start-up (a JVM's
        and a MiniCluster's, the first JIT compilations; weir's is milliseconds). None for the
        seed job, which sleeps per record and whose size is its point."""
        if not self.scalable:
            return None
        return dataclasses.replace(self.scaled(0.01) if self.records >= 100_000 else self,
                                   name=f"{self.name}-startup")


# weir_bench's rows in BENCH.md, plus the seed job itself. Sizes keep a run under a minute.
WORKLOADS = [
    Workload("seed", "the seed job: 2,000 zeros and a 1000, 1 ms sleep per record, RocksDB, "
             "exactly-once every 1 s, file", records=2_001, delay_ms=1, backend="rocksdb",
             seed_program=True, scalable=False),
    Workload("seed-nodelay", "the seed job without its sleep (RocksDB, 1 s, file)",
             records=2_000_001, backend="rocksdb"),
    Workload("1key-1s", "1 key, heap, exactly-once every 1 s, file", records=20_000_001),
    Workload("1key-100ms", "1 key, heap, exactly-once every 100 ms, file",
             records=20_000_001, checkpoint="100ms"),
    Workload("1Mkeys-100ms", "1M keys, heap, exactly-once every 100 ms, discard",
             records=10_000_000, keys=1_000_000, checkpoint="100ms", sink="discard"),
    Workload("1Mkeys-rocksdb-1s", "1M keys, RocksDB, exactly-once every 1 s, discard",
             records=2_000_000, keys=1_000_000, backend="rocksdb", sink="discard"),
    Workload("1Mkeys-rocksdb-incr-1s", "1M keys, RocksDB incremental, every 1 s, discard",
             records=2_000_000, keys=1_000_000, backend="rocksdb", sink="discard",
             incremental=True),
]


# Run once before the benchmarks: both engines must write exactly the expected output.
CHECKS = [
    Workload("check-seed", "the seed job at its own size, no sleep: 20,000 zeros and a 1000",
             records=20_001, backend="rocksdb", seed_program=True),
    Workload("check-keys", "1,000 keys, heap, every 100 ms, file: against a model in Python",
             records=200_000, keys=1_000, checkpoint="100ms"),
]


class BenchError(Exception):
    """A failure the user must see; main() prints it and exits 1."""


# ---------------------------------------------------------------------------------------------
# Running one process and measuring it from outside.


@dataclasses.dataclass
class Run:
    engine: str
    workload: str
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    job_s: float | None = None
    records_per_s: float | None = None
    records_per_s_after_first: float | None = None
    records_per_cpu_s: float | None = None  # of the whole process, every thread
    first_record_ms: float | None = None
    first_output_ms: float | None = None
    checkpoints: float | None = None
    checkpoint_p50_ms: float | None = None
    checkpoint_p99_ms: float | None = None
    output_digest: str | None = None
    error: str = ""


class FirstOutputWatcher(threading.Thread):
    """Polls for the first committed output (outside the engine, the same for both).

    weir appends committed lines to its output file; Flink's FileSink renames a finished part
    file into place (in-progress parts are hidden, named with a leading dot)."""

    def __init__(self, path: Path, start: float):
        super().__init__(daemon=True)
        self.path, self.t0 = path, start
        self.found_ms: float | None = None
        self.stop = threading.Event()

    def visible(self) -> bool:
        try:
            if self.path.is_file():
                return self.path.stat().st_size > 0
            with os.scandir(self.path) as entries:
                return any(not e.name.startswith(".") and e.stat().st_size > 0 for e in entries)
        except OSError:
            return False

    def run(self) -> None:
        while not self.stop.is_set():
            if self.visible():
                self.found_ms = (time.monotonic() - self.t0) * 1e3
                return
            time.sleep(0.002)


TIME = "/usr/bin/time"


def measure(cmd: list[str], cwd: Path, log: Path, watch: Path | None) -> tuple:
    """Runs cmd to the end; returns (exit code, wall s, cpu s, peak RSS MiB, first output ms).

    GNU time forks and execs the command and reports what wait4 says of it: user + system
    CPU of every thread, and the peak RSS. It stands between this runner and the command
    because Linux carries a process's peak RSS across exec: a child forked from this Python
    process would report at least Python's own resident set (~35 MiB) as its peak."""
    log.parent.mkdir(parents=True, exist_ok=True)
    usage_file = suffixed(log, ".usage")
    with open(suffixed(log, ".out"), "w") as out, open(suffixed(log, ".err"), "w") as err:
        start = time.monotonic()
        proc = subprocess.Popen([TIME, "-o", str(usage_file), "-f", "%x %U %S %M", *cmd],
                                cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        watcher = FirstOutputWatcher(watch, start) if watch else None
        if watcher:
            watcher.start()
        proc.wait()
        wall = time.monotonic() - start
        if watcher:
            watcher.stop.set()
            watcher.join()
    # The last line is ours; "Command exited with non-zero status" may come before it.
    fields = usage_file.read_text().split("\n")[-2].split()
    if len(fields) != 4:
        return proc.returncode or 1, wall, 0.0, 0.0, None
    code, user, system, rss_kib = int(fields[0]), float(fields[1]), float(fields[2]), int(fields[3])
    return code, wall, user + system, rss_kib / 1024, watcher.found_ms if watcher else None


def suffixed(log: Path, suffix: str) -> Path:
    """The log files of a run: <workload>.<engine>.<run>.out, .err, .usage."""
    return log.with_name(log.name + suffix)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def last_json(path: Path) -> dict:
    for line in reversed(path.read_text(errors="replace").splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line")


def percentile(values: list[float], p: float) -> float:
    """Nearest rank, as weir_bench and flink-bench compute it."""
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(int(p / 100 * (len(v) - 1) + 0.5), len(v) - 1)]


# ---------------------------------------------------------------------------------------------
# The two engines.


class Weir:
    name = "weir"

    def __init__(self, bin_dir: Path):
        self.bench = bin_dir / "weir_bench"
        self.seed = bin_dir / "fault_tolerance"
        for b in (self.bench, self.seed):
            if not os.access(b, os.X_OK):
                raise BenchError(f"{b} is missing: build weir first (cd {REPO} && make build)")
        probe = subprocess.run([self.bench, "--help"], capture_output=True, text=True)
        if "--no-baseline" not in probe.stdout + probe.stderr:
            raise BenchError(f"{self.bench} has no --no-baseline flag: rebuild it (make build)")

    def output(self, work: Path) -> Path:
        return work / "weir" / "sums"

    def command(self, w: Workload, work: Path) -> list[str]:
        d = work / "weir"
        config = ["-D", f"execution.checkpointing.dir={d / 'checkpoints'}",
                  "-D", f"execution.checkpointing.incremental={str(w.incremental).lower()}",
                  "--parallelism", str(w.parallelism)]
        if w.seed_program:
            # The seed job as its own program (it has the sleep); it has no JSON report.
            interval = "off" if w.checkpoint == "off" else w.checkpoint.replace("ms", " ms")
            interval = re.sub(r"(\d)s$", r"\1 s", interval)
            config += ["-D", f"state.backend.type={w.backend}",
                       "-D", f"execution.checkpointing.mode={w.mode}",
                       "-D", f"execution.checkpointing.savepoint-dir={d / 'savepoints'}"]
            if w.checkpoint != "off":
                config += ["-D", f"execution.checkpointing.interval={interval}"]
            if w.sink != "file":
                raise BenchError(f"{w.name}: fault_tolerance always writes a file")
            return [str(self.seed), "--end", str(w.records - 1), "--delay-ms", str(w.delay_ms),
                    "--output", str(self.output(work)), "--no-progress", *config]
        return [str(self.bench), "--json", "--no-baseline", "--records", str(w.records),
                "--keys", str(w.keys), "--backend", w.backend, "--checkpoint", w.checkpoint,
                "--mode", w.mode, "--sink", w.sink, "--dir", str(d), *config]

    def report(self, w: Workload, log: Path, run: Run) -> None:
        if w.seed_program:
            out = suffixed(log, ".out").read_text()
            summary = re.search(r"Job '.*' (\w+) in ([\d.]+) s", out)
            if not summary or summary.group(1) != "FINISHED":
                raise ValueError("no FINISHED summary")
            run.job_s = float(summary.group(2))
            run.records_per_s = w.records / run.job_s
            durations = [float(m) for m in re.findall(
                r"Completed checkpoint \d+ for job \S+ \([^,]+, (\d+) ms",
                suffixed(log, ".err").read_text())]
            run.checkpoints = len(durations)
            run.checkpoint_p50_ms = percentile(durations, 50)
            run.checkpoint_p99_ms = percentile(durations, 99)
            return  # fault_tolerance does not report its first record
        j = last_json(suffixed(log, ".out"))
        if j.get("error"):
            raise ValueError(j["error"])
        run.job_s, run.records_per_s = j["seconds"], j["records_per_s"]
        run.first_record_ms = j.get("first_record_ms")
        run.checkpoints = j["checkpoints"]
        run.checkpoint_p50_ms = j["checkpoint_ms"]["p50"]
        run.checkpoint_p99_ms = j["checkpoint_ms"]["p99"]


class Flink:
    name = "flink"

    def __init__(self, jvm_opts: list[str], file_sink: str):
        self.jvm_opts = jvm_opts
        self.file_sink = file_sink  # "file" (buffered bulk format) or "file-row"

    def output(self, work: Path) -> Path:
        return work / "flink" / "sums"

    def command(self, w: Workload, work: Path) -> list[str]:
        d = work / "flink"
        cmd = ["java", *self.jvm_opts, "-jar", str(JAR), "--records", str(w.records),
               "--keys", str(w.keys), "--delay-ms", str(w.delay_ms),
               "--parallelism", str(w.parallelism), "--checkpoint-interval", w.checkpoint,
               "--mode", w.mode, "--backend", w.backend,
               "--sink", self.file_sink if w.sink == "file" else w.sink,
               "--output", str(self.output(work)), "--checkpoint-dir", str(d / "checkpoints")]
        return cmd + (["--incremental"] if w.incremental else [])

    def report(self, w: Workload, log: Path, run: Run) -> None:
        j = last_json(suffixed(log, ".out"))
        if j.get("error"):
            raise ValueError(j["error"].splitlines()[0])
        run.job_s, run.records_per_s = j["seconds"], j["records_per_s"]
        run.first_record_ms = j["first_record_ms"] if j["first_record_ms"] >= 0 else None
        run.checkpoints = j["checkpoints"]
        run.checkpoint_p50_ms = j["checkpoint_ms"]["p50"]
        run.checkpoint_p99_ms = j["checkpoint_ms"]["p99"]


def output_files(path: Path) -> list[Path]:
    """An output in line order: weir's one file, or Flink's part files by subtask and counter."""
    if path.is_file():
        return [path]
    parts = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]

    def order(p: Path):
        m = re.match(r"(.*)-(\d+)(\.txt)?$", p.name)
        return (m.group(1), int(m.group(2))) if m else (p.name, 0)

    return sorted(parts, key=order)


def digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    for f in output_files(path):
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def expected_digest(w: Workload) -> str | None:
    """The output computed here: the seed's records-1 zeros and a 1000, or for many keys (up to
    a million records) the running sum of 1 + i % 7 per key i % K. None when too big to model."""
    h = hashlib.blake2b(digest_size=16)
    if w.keys != 1:
        if w.records > 1_000_000:
            return None
        sums = [0] * w.keys
        lines = []
        for i in range(w.records):
            sums[i % w.keys] += 1 + i % 7
            lines.append(str(sums[i % w.keys]))
        h.update(("\n".join(lines) + "\n").encode())
        return h.hexdigest()
    left = w.records - 1
    block = b"0\n" * 65536
    while left > 0:
        n = min(left, 65536)
        h.update(block[: 2 * n])
        left -= n
    h.update(b"1000\n")
    return h.hexdigest()


def run_once(engine, w: Workload, work: Path, logs: Path, index: int) -> Run:
    shutil.rmtree(work / engine.name, ignore_errors=True)
    engine.output(work).parent.mkdir(parents=True)
    if engine.name == "flink":
        engine.output(work).mkdir()
    log = logs / f"{w.name}.{engine.name}.{index}"
    watch = engine.output(work) if w.sink == "file" else None
    code, wall, cpu, rss, first_output = measure(engine.command(w, work), work, log, watch)
    run = Run(engine.name, w.name, wall, cpu, rss, first_output_ms=first_output,
              records_per_cpu_s=w.records / cpu if cpu > 0 else None)
    try:
        if code != 0:
            raise ValueError(f"exit code {code}")
        engine.report(w, log, run)
        # Without the fixed cost of starting the job: from the first record to the end.
        if run.first_record_ms is not None and run.job_s > run.first_record_ms / 1e3:
            run.records_per_s_after_first = w.records / (run.job_s - run.first_record_ms / 1e3)
        if w.sink == "file" and w.parallelism == 1:
            run.output_digest = digest(engine.output(work))
    except (ValueError, KeyError, OSError) as e:
        run.error = f"{e} (logs: {log}.out, {log}.err)"
        print(f"  {engine.name} {w.name} run {index} FAILED: {run.error}\n"
              f"{tail(suffixed(log, '.err'))}", file=sys.stderr)
    return run


# ---------------------------------------------------------------------------------------------
# The table.

FIGURES = [  # (column, Run field, format)
    ("wall s", "wall_s", "{:.2f}"),
    ("job s", "job_s", "{:.2f}"),
    ("records/s", "records_per_s", "rate"),
    ("rec/s after 1st", "records_per_s_after_first", "rate"),
    ("CPU s", "cpu_s", "{:.2f}"),
    ("rec/CPU-s", "records_per_cpu_s", "rate"),
    ("peak RSS MiB", "peak_rss_mib", "{:.0f}"),
    ("first record ms", "first_record_ms", "{:.0f}"),
    ("first output ms", "first_output_ms", "{:.0f}"),
    ("checkpoints", "checkpoints", "{:.0f}"),
    ("ckpt p50 ms", "checkpoint_p50_ms", "{:.0f}"),
    ("ckpt p99 ms", "checkpoint_p99_ms", "{:.0f}"),
]


def fmt(value: float | None, style: str) -> str:
    if value is None:
        return "n/a"
    if style == "rate":
        if value >= 1e6:
            return f"{value / 1e6:.2f}M"
        return f"{value / 1e3:.0f}K" if value >= 1e4 else f"{value:.0f}"
    return style.format(value)


def median(runs: list[Run], field: str) -> float | None:
    values = [getattr(r, field) for r in runs if not r.error and getattr(r, field) is not None]
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "n/a"
    r = a / b
    return f"{r:.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 1 else f"{r:.2g}x"


def steady_rate(w: Workload, runs: list[Run], short: Workload | None,
                short_runs: list[Run]) -> float | None:
    """Records per CPU-second past start-up: the records the full run has beyond the short one,
    over the CPU they cost (medians of each). What a long-running job pays per record."""
    if short is None:
        return None
    cpu, short_cpu = median(runs, "cpu_s"), median(short_runs, "cpu_s")
    if cpu is None or short_cpu is None or cpu <= short_cpu:
        return None
    return (w.records - short.records) / (cpu - short_cpu)


def table_line(w: Workload, weir_runs: list[Run], flink_runs: list[Run], verdict: str,
               steady: tuple[float | None, float | None]) -> str:
    cells = [w.name]
    for _, field, style in FIGURES:
        a, b = median(weir_runs, field), median(flink_runs, field)
        if field == "checkpoints":  # a count, for context: no ratio
            cells.append(f"{fmt(a, style)} / {fmt(b, style)}")
            continue
        cells.append(f"{fmt(a, style)} / {fmt(b, style)} = {ratio(a, b)}")
        if field == "records_per_cpu_s":
            a, b = steady
            cells.append(f"{fmt(a, 'rate')} / {fmt(b, 'rate')} = {ratio(a, b)}")
    cells.append(verdict)
    return "| " + " | ".join(cells) + " |"


def header_cells() -> list[str]:
    cells = []
    for column, field, _ in FIGURES:
        cells.append(column)
        if field == "records_per_cpu_s":
            cells.append("rec/CPU-s past start-up")
    return cells


def check_outputs(w: Workload, runs: list[Run]) -> str:
    """'same' when every run of both engines wrote identical output (and the seed's is right)."""
    if w.sink != "file" or w.parallelism != 1:
        return "not compared"
    digests = {r.output_digest for r in runs if not r.error}
    if not digests:
        return "no output"
    expected = expected_digest(w)
    if len(digests) > 1 or (expected and expected not in digests):
        return "OUTPUT DIFFERS"
    return "same, as expected" if expected else "same"


# ---------------------------------------------------------------------------------------------


def check_tools() -> None:
    for tool, package in ((TIME, "time"), ("java", "openjdk-17-jdk-headless")):
        if not shutil.which(tool):
            raise BenchError(f"{tool} is not installed (apt-get install {package})")


def build_flink_jar() -> None:
    sources = [HERE / "pom.xml", *(HERE / "src").rglob("*")]
    if JAR.exists() and (HERE / "target" / "lib").is_dir() and all(
            s.stat().st_mtime <= JAR.stat().st_mtime for s in sources if s.is_file()):
        return
    if not shutil.which("mvn"):
        raise BenchError("mvn is not installed (apt-get install maven)")
    base = ["mvn", "-q", "-B", "-DskipTests", "package"]
    print("building the Flink jar (mvn package)...", file=sys.stderr)
    # Offline first: fast when ~/.m2 already holds everything; online otherwise.
    if subprocess.run(base[:3] + ["-o"] + base[3:], cwd=HERE,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        if subprocess.run(base, cwd=HERE).returncode != 0:
            raise BenchError("mvn package failed in bench/flink")


def machine_state() -> str:
    load = os.getloadavg()
    mem = next((line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")),
               "0")
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return (f"machine: {os.cpu_count()} cores, {int(mem) / 1048576:.0f} GiB, "
            f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; kernel {os.uname().release}; "
            f"{java.splitlines()[0] if java else 'java ?'}; weir {commit}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3, help="runs per engine and workload (3)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply the record counts of the throughput workloads (1.0)")
    p.add_argument("--only", default="", help="comma-separated workload names")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--no-check", action="store_true",
                   help="skip the correctness runs before the benchmarks")
    p.add_argument("--weir-bin", type=Path, default=REPO / "build" / "release" / "bin")
    p.add_argument("--jvm-opts", default="", help="extra JVM flags for Flink, e.g. '-Xmx2g'")
    p.add_argument("--flink-file-sink", choices=("file", "file-row"), default="file",
                   help="Flink's exactly-once FileSink: buffered bulk format (file, default) or "
                        "row format (file-row, unbuffered on a local disk)")
    p.add_argument("--work", type=Path, help="work directory (default: a new temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    p.add_argument("--results", type=Path, help="also write every run as JSON lines here")
    a = p.parse_args()

    if a.list:
        for w in WORKLOADS:
            print(f"{w.name:24} {w.records:>12,} records  {w.what}")
        return 0
    names = [n for n in a.only.split(",") if n]
    unknown = set(names) - {w.name for w in WORKLOADS}
    if unknown:
        print(f"compare.py: unknown workload(s) {', '.join(sorted(unknown))}; --list shows them",
              file=sys.stderr)
        return 2
    if a.repeat < 1 or a.scale <= 0:
        print("compare.py: --repeat and --scale must be positive", file=sys.stderr)
        return 2
    workloads = [w.scaled(a.scale) for w in WORKLOADS if not names or w.name in names]

    work = a.work or Path(tempfile.mkdtemp(prefix="weir-vs-flink-"))
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    try:
        check_tools()
        build_flink_jar()
        engines = [Weir(a.weir_bin.resolve()), Flink(a.jvm_opts.split(), a.flink_file_sink)]
        print(machine_state())
        if not a.no_check:
            for w in CHECKS:
                every = [run_once(e, w, work, logs, 0) for e in engines]
                verdict = check_outputs(w, every)
                print(f"correctness, {w.name} ({w.what}): {verdict}", flush=True)
                if verdict not in ("same", "same, as expected") or any(r.error for r in every):
                    raise BenchError(f"{w.name}: the engines' outputs differ or a run failed; "
                                     f"logs in {logs}")
        print(f"{a.repeat} runs per engine, interleaved; medians; each cell is "
              "weir / Flink = ratio weir/Flink")
        print("| workload | " + " | ".join(header_cells()) + " | output |")
        print("|---" * (len(header_cells()) + 2) + "|")
        failed = False
        all_runs: list[Run] = []
        for w in workloads:
            short = w.startup()
            runs = {e.name: [] for e in engines}
            short_runs = {e.name: [] for e in engines}
            for i in range(a.repeat):
                for e in engines:
                    runs[e.name].append(run_once(e, w, work, logs, i))
                    if short:
                        short_runs[e.name].append(run_once(e, short, work, logs, i))
            every = runs["weir"] + runs["flink"]
            all_runs += every + short_runs["weir"] + short_runs["flink"]
            verdict = check_outputs(w, every)
            failed |= verdict == "OUTPUT DIFFERS" or any(r.error for r in every)
            failed |= any(r.error for r in short_runs["weir"] + short_runs["flink"])
            steady = tuple(steady_rate(w, runs[e.name], short, short_runs[e.name])
                           for e in engines)
            print(table_line(w, runs["weir"], runs["flink"], verdict, steady), flush=True)
        print()
        for w in workloads:
            print(f"  {w.name}: {w.what}; {w.records:,} records")
        print("  rec/CPU-s past start-up: (records - those of a run on a hundredth of them) / "
              "(CPU of the full run - CPU of that run), medians of each")
        if a.results:
            with open(a.results, "w") as f:
                for r in all_runs:
                    f.write(json.dumps(dataclasses.asdict(r)) + "\n")
        if failed:
            print(f"some runs failed or outputs differ; logs in {logs}", file=sys.stderr)
            a.keep = True
        return 1 if failed else 0
    except BenchError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 1
    finally:
        if not a.keep and not a.work:
            shutil.rmtree(work, ignore_errors=True)
        elif a.keep:
            print(f"work directory kept: {work}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
