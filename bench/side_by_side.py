"""Helpers the analysis side-by-side scripts share (bench/tsne_speed.py, bench/hdbscan_speed.py):
finding the peers' Python, building and running emb's benchmark binaries, reading JSON lines,
and describing the machine and its load, so every result says what it ran on.
"""
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("EMB_BENCH_CACHE", pathlib.Path.home() / ".cache/emb/bench"))


def peers_python(explicit=None):
    """The Python with scikit-learn: --python, else $EMB_PEERS_PYTHON, else bench/setup-peers'."""
    chosen = explicit or os.environ.get("EMB_PEERS_PYTHON")
    if chosen:
        return chosen
    return subprocess.run([str(ROOT / "bench/setup-peers")], check=True, capture_output=True,
                          text=True).stdout.strip()


def build(binary):
    """Builds one emb-bench binary (release) and returns its path."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "emb-bench", "--bin", binary],
                   cwd=ROOT, check=True)
    return ROOT / "target/release" / binary


def run_events(command):
    """Runs a command that prints JSON lines; returns them (the last of each "event" kind wins)
    with the 1-minute load average just before the run, and the wall time and CPU time (user +
    system, every thread) of the whole process."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                            check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({result.returncode}):\n{result.stderr}")
    events = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            events[event.pop("event", "result")] = event
    return events, {"load": load, "process_wall_seconds": wall, "process_cpu_seconds": cpu}


def emit(**fields):
    print(json.dumps(fields), flush=True)


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def machine():
    model = None
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), None)
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version()}


def git_commit():
    result = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() or None
