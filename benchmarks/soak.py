"""Soak: many articles through every fault kind at once, against a loopback server.

A scripted model answers on 127.0.0.1; a seeded share of requests instead gets one fault:
HTTP 500, 429 with Retry-After, an empty body, an HTML page, ``choices: []``,
``choices: null``, invalid JSON content, a truncated reply, a dropped connection, or a reply
dripped slower than the attempt deadline. The run goes through ``summarizer run``'s own
code path (the runner and output writer). It reports: articles in and out (every article
must end with a result or a typed error), requests the server answered that no result
accounts for ("paid but lost"), wall time and requests per article.

    python benchmarks/soak.py --articles 500 --fault-rate 0.3
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from summarizer import Document, DocumentFailure, LLMConfig, Summarizer, SummarizerConfig
from summarizer._documents import LoadResult
from summarizer._prompts import STEP_HEADER
from summarizer._runner import run
from summarizer._testing import ScriptedModel, completion

FAULTS = [
    "500", "429", "empty", "html", "choices_empty", "choices_null", "bad_json", "truncated",
    "drop", "drip",
]  # fmt: skip


class Server:
    """The scripted model behind a handler that injects faults at ``rate``."""

    def __init__(self, rate: float, seed: int):
        self.model = ScriptedModel()
        self.rate = rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with owner.lock:
                    fault = (
                        owner.random.choice(FAULTS) if owner.random.random() < owner.rate else "ok"
                    )
                    owner.counts[fault] += 1
                owner.answer(self, body, fault)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002
                return

        class Threaded(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 512

            def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
                return

        self.http = Threaded(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"

    def answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any], fault: str) -> None:
        status, reply = self.model.respond(body, handler.headers.get(STEP_HEADER, "extract"))
        data = json.dumps(reply).encode()
        headers = {"content-type": "application/json"}
        if fault == "500":
            status, data = 500, b'{"error": {"message": "boom", "type": "server_error"}}'
        elif fault == "429":
            status, data = 429, b'{"error": {"message": "slow down", "type": "rate_limit"}}'
            headers["retry-after"] = "0.2"
        elif fault == "empty":
            data = b""
        elif fault == "html":
            data, headers["content-type"] = b"<html>502 Bad Gateway</html>", "text/html"
        elif fault in ("choices_empty", "choices_null"):
            data = json.dumps(
                {**reply, "choices": [] if fault == "choices_empty" else None}
            ).encode()
        elif fault == "bad_json":
            data = json.dumps(completion('{"summary": "cut off', prompt_tokens=10)).encode()
        elif fault == "truncated":
            data = json.dumps(completion('{"summary": "', finish_reason="length")).encode()
        elif fault == "drop":
            handler.close_connection = True
            handler.connection.close()
            return
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        if fault == "drip":
            for index in range(min(len(data), 40)):
                handler.wfile.write(data[index : index + 1])
                handler.wfile.flush()
                time.sleep(0.1)  # 4 s: past the 2 s deadline the soak run sets
            return
        handler.wfile.write(data)

    def close(self) -> None:
        self.http.shutdown()


def documents(count: int) -> list[Document]:
    topics = ["bridge", "harbour", "school", "election", "storm", "court", "market", "clinic"]
    return [
        Document.from_text(
            f"Officials said {n % 97 + 3} people were helped after the {topics[n % 8]} "
            f"incident in district {n} on Monday. The mayor said repairs to site {n} would "
            f"finish by Friday, according to a statement. Residents of ward {n // 8} said "
            "they had waited for hours.",
            id=f"article-{n:05d}.txt",
        )
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    server = Server(args.fault_rate, args.seed)
    llm = LLMConfig(
        base_url=server.base_url, api_key="sk-soak", concurrency=args.concurrency,
        max_attempts=4, backoff_seconds=0.05, max_backoff_seconds=0.2, timeout_seconds=2.0,
    )  # fmt: skip
    docs = documents(args.articles)
    with tempfile.TemporaryDirectory() as folder:
        config = SummarizerConfig(engine="llm", llm=llm, cache_path=Path(folder) / "c.sqlite3")
        began = time.perf_counter()
        with Summarizer(config) as summarizer:
            report = run(
                summarizer, LoadResult(documents=docs), out=Path(folder) / "out", quiet=True
            )
        wall = time.perf_counter() - began
        written = len((Path(folder) / "out" / "results.jsonl").read_text().splitlines())
    server.close()
    results = report.done
    failures = Counter(r.error_type for r in results if isinstance(r, DocumentFailure))
    counted = sum(
        (r.usage if isinstance(r, DocumentFailure) else r.provenance.usage).requests
        for r in results
    )
    served = sum(server.counts.values())
    print(f"articles in {len(docs)}, results {len(results)}, results.jsonl lines {written}")
    print(f"ok {len(results) - sum(failures.values())}, failed {dict(failures)}")
    print(f"server requests {served} ({dict(server.counts)})")
    print(f"requests counted in results {counted}; paid but lost {served - counted}")
    print(f"wall {wall:.1f} s, {served / len(docs):.2f} requests per article")
    if len(results) != len(docs) or written != len(docs):
        sys.exit("articles were lost")


if __name__ == "__main__":
    main()
