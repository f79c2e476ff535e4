"""Start-up time of the command line: ``summarizer --help`` and ``summarizer run --help``
against a bare ``python -c pass``, median of several runs, each a fresh process.

    .venv/bin/python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = shutil.which("summarizer", path=str(Path(sys.executable).parent))
    if script is None:
        sys.exit("summarizer is not installed beside this Python (pip install -e .)")
    bare = median_seconds([sys.executable, "-c", "pass"], args.runs)
    print(f"{'command':<28} {'median':>8} {'above bare':>11}")
    print(f"{'python -c pass':<28} {bare:>7.3f}s {'':>11}")
    for label, extra in (
        ("summarizer --help", ["--help"]),
        ("summarizer run --help", ["run", "--help"]),
    ):
        seconds = median_seconds([script, *extra], args.runs)
        print(f"{label:<28} {seconds:>7.3f}s {seconds - bare:>10.3f}s")


if __name__ == "__main__":
    main()
