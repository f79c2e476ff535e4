"""Peak memory, CPU and wall time of ``summarizer digest`` (the CLI, offline engine) on a
generated corpus, for this tree and a base tree side by side.

    python benchmarks/digest_cli.py [--sizes 1000 5000 10000] [--base DIR]

The corpus is :func:`benchmarks.digest_scale.corpus` (a few very large stories of
near-duplicate copies, a power-law tail, distinct articles) written as one ``.txt`` file
per article. Each size runs ``python -m summarizer digest FOLDER -o OUT -q --no-log`` once
per tree, one after the other, each in a fresh process (``PYTHONPATH`` picks the tree):
the whole command, the extractive engine's summarising included. CPU seconds are user +
system of the command and of the digest's worker processes (``os.wait4``); the peak is
the largest maximum RSS among them (the command's, in practice). The last column is a
SHA-1 of the three outputs (``created`` zeroed): the same on both trees means the same
digest. ``--base`` is a copy of another commit's tree (``git archive main | tar -x -C
DIR``); without it only this tree runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.digest_scale import corpus  # noqa: E402


def write_corpus(size: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, text, _, _ in corpus(size):
        (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")


def outputs_sha1(out: Path) -> str:
    """One SHA-1 of digest.json (its ``created`` zeroed), digest.md and digest.html."""
    sha = hashlib.sha1()
    for name in ("digest.json", "digest.md", "digest.html"):
        data = (out / name).read_bytes()
        sha.update(re.sub(rb'"created": [0-9.e+-]+', b'"created": 0', data))
    return sha.hexdigest()[:12]


def run(tree: Path, folder: Path, out: Path) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak MiB, outputs SHA-1) of one ``summarizer digest``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "summarizer", "digest", str(folder), "-o", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen([*command, "-q", "--no-log"], env=env, cwd=folder.parent)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"summarizer digest failed ({process.returncode}) on {tree}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, outputs_sha1(out)


def imported_from(tree: Path, where: Path) -> str:
    """Where the package comes from, run as :func:`run` runs it (from ``where``)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = "import summarizer; print(summarizer.__file__)"
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, env=env, cwd=where, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--base", type=Path, help="another commit's tree to compare with")
    args = parser.parse_args()
    trees = [("base", args.base.resolve())] if args.base else []
    trees.append(("this", REPO))
    print("| articles | tree | wall s | CPU s | peak MiB | outputs |")
    print("|---:|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="digest-cli-") as scratch:
        for name, tree in trees:
            print(f"{name}: {imported_from(tree, Path(scratch))}", file=sys.stderr)
        for size in args.sizes:
            folder = Path(scratch) / f"corpus-{size}"
            write_corpus(size, folder)
            for name, tree in trees:
                out = Path(scratch) / f"out-{size}-{name}"
                wall, cpu, peak, sha = run(tree, folder, out)
                print(f"| {size:,} | {name} | {wall:.1f} | {cpu:.1f} | {peak:.0f} | {sha} |")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
