"""What the LLM client costs per call, against a server that costs almost nothing.

    python benchmarks/client_overhead.py --articles 2000 --latency 1 3 --concurrency 16 64 256
    python benchmarks/client_overhead.py --articles 2000 --latency 1 --concurrency 256 \\
        --profile 256          # where the client's CPU goes (pyinstrument), per call
    python benchmarks/client_overhead.py ... --variant before=/path/to/old/checkout
    python benchmarks/client_overhead.py ... --loop asyncio uvloop   # both loops, side by side
    python benchmarks/client_overhead.py ... --transport default fast  # both HTTP transports
    python benchmarks/client_overhead.py ... --runs first later  # a first run, then the next

The replies are rendered once, before anything is timed: the corpus goes through the
pipeline in-process against the :class:`~summarizer._testing.ScriptedModel` (an
``httpx.MockTransport``), and every reply body is kept by its step and document id. A
replay server in its own process (``serve``: asyncio, no HTTP library, a dict lookup and a
timer per request) then answers each request with its pre-rendered bytes after
``--latency`` seconds. What the benchmark measures is the client.

Each (latency, concurrency, variant) runs in a fresh process (``run``): wall time against
the wave bound, ceil(calls / concurrency) x latency, which no client can beat when every
call takes the same time; the client process's CPU seconds per call (its own process time,
so the server and other load do not count); and its peak RSS. ``--variant NAME=PATH`` adds
a source tree (another checkout) to compare side by side: its rows run interleaved with
this tree's, against the same server. ``--loop`` picks the client's event loop: ``auto``
(the default) is the one the tree's own command line would use (uvloop when installed and
the tree chooses loops, :mod:`summarizer._eventloop`; asyncio for a tree that does not),
``asyncio`` and ``uvloop`` force one; several run side by side. ``--transport`` does the same
for the HTTP transport (``SUMMARIZER_HTTP_TRANSPORT`` in the client's process: ``default``
is httpx's pool, ``fast`` the httptools one of the ``fast`` extra). The machine's load average
is printed with each row: on a shared machine, CPU per call is the robust number and wall
time is not.

``--runs``: ``first`` is a client meeting the endpoint for the first time (it probes the
structured-output mode with one request while the others wait, and its adaptive level
starts at half the width); ``later`` is the next run against the same endpoint, which
starts from what the first one left in ``endpoints.json`` (the mode, and the width it
reached), as ``summarizer run`` does with its cache on. With ``later``, each row's first run
is measured too, with a state file of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

HERE = Path(__file__).resolve()
_DOC_ID = re.compile(rb'<article-\w+ id=\\"([^\\"]*)\\"|<notes-\w+ id=\\"([^\\"]*)\\"')
_STEP = b"x-summarizer-step:"
LOOPS = ("auto", "asyncio", "uvloop")


def articles(count: int) -> list[Any]:
    from corpus import build_corpus  # type: ignore[import-not-found]

    from summarizer._documents import Document

    texts = build_corpus(count * 3_200, doc_bytes=3_000, seed=11)[:count]
    return [Document.from_text(text, id=f"article-{i:04d}") for i, text in enumerate(texts)]


FIXED_VARIABLE = "CLIENT_OVERHEAD_FIXED"  # set by the driver for --width fixed


def adaptive_option() -> dict[str, Any]:
    """``--width fixed``: every slot from the first call (no adaptive ramp)."""
    return {"adaptive_concurrency": False} if os.environ.get(FIXED_VARIABLE) else {}


def endpoint_state(path: str | None) -> Any:
    """The ``endpoints.json`` at ``path`` (None: no state, a first contact every run)."""
    if path is None:
        return None
    from summarizer._endpoints import EndpointState

    return EndpointState(Path(path))


def summarizer_for(base_url: str, concurrency: int, state: Any = None, **options: Any) -> Any:
    from summarizer import LLMConfig, Summarizer, SummarizerConfig
    from summarizer._client import freeze_startup_objects

    llm = LLMConfig(
        model="gpt-4o-mini",
        base_url=base_url,
        api_key="unused",
        concurrency=concurrency,
        **adaptive_option(),
    )
    config = SummarizerConfig(engine="llm", llm=llm, cache=False)
    if state is None:
        summarizer = Summarizer(config, **options)
    else:  # as make_engine, with the state file but no reply cache (not what is measured)
        from summarizer._client import ChatClient
        from summarizer._engines import LLMEngine

        resolved = config.resolve()
        assert resolved.llm is not None
        client = ChatClient(resolved.llm, state=state, **options)
        summarizer = Summarizer(config, engine=LLMEngine(client, resolved.config))
    freeze_startup_objects()  # as `summarizer run` does: the benchmark owns its process
    return summarizer


# -- the replies, rendered once -------------------------------------------------------------


def reply_key(step: bytes, body: bytes) -> bytes:
    found = _DOC_ID.search(body)
    doc_id = (found.group(1) or found.group(2)) if found else b""
    return step.strip().lower() + b" " + doc_id


def render_replies(count: int, path: Path) -> None:
    """Every reply the pipeline asks for on ``count`` articles, as whole HTTP responses."""
    import httpx

    from summarizer._prompts import STEP_HEADER
    from summarizer._testing import ScriptedModel

    model = ScriptedModel()
    replies: dict[str, str] = {}

    def record(request: httpx.Request) -> httpx.Response:
        response = model.handle(request)
        step = request.headers.get(STEP_HEADER, "extract").encode()
        key = reply_key(step, request.content).decode()
        replies[key] = response.content.decode()
        return response

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
            summarizer = summarizer_for("http://replay.invalid/v1", 16, http_client=http)
            await summarizer.asummarize_many(articles(count))
            await summarizer.aclose()

    asyncio.run(go())
    path.write_text(json.dumps(replies))


class _Replay(asyncio.Protocol):
    """HTTP/1.1 keep-alive, one request at a time per connection, pre-rendered answers."""

    def __init__(self, replies: dict[bytes, bytes], latency: float):
        self.replies = replies
        self.latency = latency
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end]).lower() + b"\r\n"
            length = int(_header(head, b"content-length:") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            step = _header(head, _STEP) or b"extract"
            answer = self.replies.get(reply_key(step, body), _MISSING)
            asyncio.get_running_loop().call_later(self.latency, self._send, answer)

    def _send(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)


def _header(head: bytes, name: bytes) -> bytes | None:
    at = head.find(name)
    return None if at < 0 else head[at + len(name) : head.find(b"\r\n", at)].strip()


def _http(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


_MISSING = _http("404 Not Found", b'{"error": {"message": "no pre-rendered reply"}}')


def serve(replies_path: Path, latency: float) -> None:
    replies = {
        key.encode(): _http("200 OK", body.encode())
        for key, body in json.loads(replies_path.read_text()).items()
    }

    async def go() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Replay(replies, latency), "127.0.0.1", 0, backlog=1024
        )
        port = server.sockets[0].getsockname()[1]
        print(f"http://127.0.0.1:{port}/v1", flush=True)
        await server.serve_forever()

    asyncio.run(go())


# -- one measured run, in a process of its own ----------------------------------------------


async def pipeline_calls(base_url: str, documents: list[Any], width: int, state: Any = None) -> int:
    """Summarise ``documents`` through the whole pipeline; the model calls it made."""
    from summarizer._models import DocumentSummary

    summarizer = summarizer_for(base_url, width, state)
    results = await summarizer.asummarize_many(documents)
    await summarizer.aclose()
    ok = [r for r in results if isinstance(r, DocumentSummary)]
    if len(ok) != len(documents):
        raise SystemExit(f"{len(documents) - len(ok)} documents failed: {results[0]!r}"[:300])
    return sum(r.provenance.usage.requests for r in ok)


def client_prompts(documents: list[Any]) -> list[list[dict[str, str]]]:
    """The extract prompts of ``documents``, built before the clock starts."""
    from summarizer._normalize import normalize_text
    from summarizer._prompts import load_prompt

    template = load_prompt("extract")
    return [
        template.messages(
            summary_words=120, part_note="", doc_id=d.id, article=normalize_text(d.text).text
        )
        for d in documents
    ]


def client_calls(
    base_url: str,
    documents: list[Any],
    prompts: list[list[dict[str, str]]],
    width: int,
    state: Any = None,
) -> Any:
    """The same extract calls straight through ``ChatClient.structured`` on ``prompts``
    (:func:`client_prompts`): the client alone, without normalising or grounding."""
    from summarizer import LLMConfig
    from summarizer._client import ChatClient, freeze_startup_objects
    from summarizer._llm.context import CallContext
    from summarizer._models import ExtractionDraft
    from summarizer._prompts import load_prompt

    template = load_prompt("extract")

    async def go() -> int:
        config = LLMConfig(
            model="gpt-4o-mini",
            base_url=base_url,
            api_key="unused",
            concurrency=width,
            **adaptive_option(),
        )
        client = ChatClient(config, state=state) if state is not None else ChatClient(config)
        freeze_startup_objects()  # as `summarizer run` does
        slots = asyncio.Semaphore(width)

        async def one(doc_id: str, messages: list[dict[str, str]]) -> int:
            async with slots:
                reply = await client.structured(
                    messages, ExtractionDraft, template=template, context=CallContext(doc_id)
                )
                return reply.usage.requests

        calls = await asyncio.gather(
            *(one(d.id, m) for d, m in zip(documents, prompts, strict=True))
        )
        await client.aclose()
        return sum(calls)

    return go()


def loop_factory(loop: str) -> Any:
    """The event-loop factory of ``--loop`` (None: asyncio's own loop)."""
    if loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    if loop == "auto":
        try:
            from summarizer._eventloop import loop_factory as tree_choice
        except ImportError:  # a tree that does not choose: asyncio's loop
            return None
        return tree_choice()
    return None


def run(
    base_url: str,
    count: int,
    concurrency: int,
    profile: bool,
    client_only: bool,
    loop: str,
    state_path: str | None = None,
) -> None:
    documents = articles(count)
    prompts = client_prompts(documents) if client_only else []
    factory = loop_factory(loop)

    def measure(docs: list[Any], width: int, state: Any = None) -> int:
        work = (
            client_calls(base_url, docs, prompts[: len(docs)], width, state)
            if client_only
            else pipeline_calls(base_url, docs, width, state)
        )
        with asyncio.Runner(loop_factory=factory) as runner:  # type: ignore[attr-defined,unused-ignore]
            return int(runner.run(work))

    measure(documents[:4], 4)  # warm-up: imports, encodings, templates (no state kept)
    state = endpoint_state(state_path)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    cpu, started = time.process_time(), time.perf_counter()
    calls = measure(documents, concurrency, state)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    row: dict[str, Any] = {
        "loop": "uvloop" if factory is not None else "asyncio",
        "wall": wall,
        "cpu": cpu,
        "calls": calls,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if profiler is not None:
        profiler.stop()
        row["profile"] = top_costs(profiler, calls)
    print(json.dumps(row))


def _area(path: str) -> str:
    """The library (or summarizer module) a source file belongs to."""
    parts = Path(path).parts
    if "site-packages" in parts:
        rest = parts[parts.index("site-packages") + 1 :]
        return rest[0].split(".")[0] if rest else path
    if "summarizer" in parts:
        return "/".join(parts[parts.index("summarizer") :])
    if "python3" in "".join(parts):
        return "stdlib:" + Path(path).stem
    return Path(path).name


def top_costs(profiler: Any, calls: int) -> dict[str, Any]:
    """Self time by area and by function, and time inside named frames, in ms per call."""
    by_area: dict[str, float] = defaultdict(float)
    by_function: dict[str, float] = defaultdict(float)
    inside: dict[str, float] = defaultdict(float)
    total = 0.0

    def walk(frame: Any, stack: frozenset[str]) -> None:
        nonlocal total
        if frame.function.startswith("["):  # pyinstrument's own: idle, awaiting
            return
        name = f"{_area(frame.file_path or '')}:{frame.function}"
        if name not in stack:
            inside[name] += frame.time
        stack = stack | {name}
        own = frame.total_self_time
        total += own
        by_area[_area(frame.file_path or "")] += own
        by_function[name] += own
        for child in frame.children:
            walk(child, stack)

    root = profiler.last_session.root_frame()
    if root is not None:
        walk(root, frozenset())

    def top(table: dict[str, float], n: int) -> list[tuple[str, float]]:
        ranked = sorted(table.items(), key=lambda item: -item[1])[:n]
        return [(name, round(1000 * seconds / calls, 4)) for name, seconds in ranked]

    return {
        "sampled_ms_per_call": round(1000 * total / calls, 4),
        "self_by_area": top(by_area, 15),
        "self_by_function": top(by_function, 25),
        "inclusive": top({k: v for k, v in inside.items() if "summarizer" in k}, 30),
    }


# -- the driver -----------------------------------------------------------------------------


def start_server(replies: Path, latency: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, str(HERE), "serve", "--replies", str(replies), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def measure_in_child(
    source: str | None,
    url: str,
    count: int,
    concurrency: int,
    profile: bool,
    client_only: bool,
    loop: str,
    transport: str,
    width: str = "adaptive",
    state: Path | None = None,
) -> dict[str, Any]:
    env = dict(os.environ, SUMMARIZER_HTTP_TRANSPORT=transport)
    env.pop(FIXED_VARIABLE, None)
    if width == "fixed":
        env[FIXED_VARIABLE] = "1"
    if source is not None:  # import summarizer from another checkout
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    command = [sys.executable, str(HERE), "run", "--url", url]
    command += ["--articles", str(count), "--concurrency", str(concurrency)]
    command += ["--profile"] if profile else []
    command += ["--client-only"] if client_only else []
    command += ["--loop", loop]
    command += ["--state", str(state)] if state is not None else []
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"run failed ({source or 'this tree'}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def drive(args: argparse.Namespace) -> None:
    variants: list[tuple[str, str | None]] = [
        (label, path) for label, _, path in (v.partition("=") for v in args.variant)
    ]
    for label, path in variants:
        if not (Path(path or ".") / "summarizer" / "__init__.py").is_file():
            raise SystemExit(f"--variant {label}={path}: no summarizer package there")
    if not args.variants_only:
        variants.append(("this tree", None))
    with tempfile.TemporaryDirectory() as folder:
        replies = args.replies or Path(folder) / "replies.json"
        if not replies.exists():
            started = time.perf_counter()
            render_replies(args.articles, replies)
            print(f"rendered {args.articles} replies in {time.perf_counter() - started:.0f}s")
        print(
            "| latency s | in flight | variant | calls | wall s | wave bound s "
            "| wall / wave bound | client CPU s | CPU ms / call | peak RSS MB | load avg |"
        )
        print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        states = itertools.count()
        for latency in args.latency:
            server, url = start_server(replies, latency)
            try:
                for concurrency in args.concurrency:
                    for (label, source), loop, transport, width in itertools.product(
                        variants, args.loop, args.transport, args.width
                    ):
                        profile = concurrency in args.profile
                        state = None
                        if "later" in args.runs:  # a state file of this row's own
                            state = Path(folder) / f"endpoints-{next(states)}.json"
                        for which in ("first", "later") if state is not None else ("first",):
                            row = measure_in_child(
                                source,
                                url,
                                args.articles,
                                concurrency,
                                profile,
                                args.client_only,
                                loop,
                                transport,
                                width,
                                state,
                            )
                            if which not in args.runs:
                                continue
                            name = f"{label} ({row['loop']}, {transport}"
                            name += ", fixed width" if width == "fixed" else ""
                            name += ", later run)" if which == "later" else ")"
                            report(row, latency, concurrency, name)
            finally:
                server.terminate()
                server.wait()


def report(row: dict[str, Any], latency: float, concurrency: int, label: str) -> None:
    waves = math.ceil(row["calls"] / concurrency) * latency
    print(
        f"| {latency:g} | {concurrency} | {label} | {row['calls']} | {row['wall']:.2f} "
        f"| {waves:.2f} | {row['wall'] / waves:.3f} | {row['cpu']:.2f} "
        f"| {1000 * row['cpu'] / row['calls']:.3f} | {row['peak_rss_mb']:.0f} "
        f"| {os.getloadavg()[0]:.1f} |",
        flush=True,
    )
    if "profile" in row:
        print(json.dumps(row["profile"], indent=1), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command")
    serve_parser = commands.add_parser("serve", help="the replay server (internal)")
    serve_parser.add_argument("--replies", type=Path, required=True)
    serve_parser.add_argument("--latency", type=float, default=0.0)
    run_parser = commands.add_parser("run", help="one measured run (internal)")
    run_parser.add_argument("--url", required=True)
    run_parser.add_argument("--articles", type=int, required=True)
    run_parser.add_argument("--concurrency", type=int, required=True)
    run_parser.add_argument("--profile", action="store_true")
    run_parser.add_argument("--client-only", action="store_true")
    run_parser.add_argument("--loop", choices=LOOPS, default="auto")
    run_parser.add_argument("--state", help="the endpoints.json the client reads and writes")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--latency", type=float, nargs="+", default=[1.0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--profile", type=int, nargs="*", default=[], metavar="CONCURRENCY")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument(
        "--loop",
        nargs="+",
        choices=LOOPS,
        default=["auto"],
        help="the client's event loop (auto: what the tree's command line uses)",
    )
    parser.add_argument(
        "--transport",
        nargs="+",
        choices=("default", "fast"),
        default=["default"],
        help="the client's HTTP transport (SUMMARIZER_HTTP_TRANSPORT); several side by side",
    )
    parser.add_argument(
        "--width",
        nargs="+",
        choices=("adaptive", "fixed"),
        default=["adaptive"],
        help="adaptive: the client's default ramp from half the width; fixed: every slot "
        "from the first call (adaptive_concurrency=False, --fixed-concurrency)",
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        choices=("first", "later"),
        default=["first"],
        help="first: a first contact with the endpoint; later: the next run, from the "
        "endpoints.json the first left (each later row runs its first run before it)",
    )
    parser.add_argument(
        "--variants-only", action="store_true", help="measure the --variant trees, not this one"
    )
    parser.add_argument(
        "--client-only",
        action="store_true",
        help="time ChatClient.structured alone on the prompts, not the whole pipeline",
    )
    parser.add_argument(
        "--replies", type=Path, help="keep the rendered replies in this file (reused if present)"
    )
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.replies, args.latency)
    elif args.command == "run":
        run(
            args.url,
            args.articles,
            args.concurrency,
            args.profile,
            args.client_only,
            args.loop,
            args.state,
        )
    else:
        drive(args)


if __name__ == "__main__":
    main()
