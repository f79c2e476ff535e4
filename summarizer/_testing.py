"""Fakes of an OpenAI-compatible model for tests and benchmarks (no network needed).

:class:`ScriptedModel` answers a chat-completions request body the way a cooperative
model would, from the request alone: for an article it returns the first sentences as the
summary and checkable sentences as claims with verbatim quotes; for section notes, a
summary of the notes. Knobs make it misbehave on purpose: fabricated quotes, documents
whose calls always fail, truncated replies for long inputs.

:class:`FakeServer` serves a ScriptedModel over HTTP on 127.0.0.1 with a fixed latency,
counting requests and prompt tokens. For in-process tests, :meth:`ScriptedModel.handle`
answers respx routes, or an ``httpx.MockTransport(model.handle)``, directly.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from summarizer._prompts import STEP_HEADER
from summarizer._text import attribution, split_sentences
from summarizer._tokens import load_encoding

_ARTICLE = re.compile(
    r'<article-(?P<fence>\w+) id="(?P<id>[^"]*)">\n(?P<text>.*)\n</article-(?P=fence)>', re.S
)
_NOTES = re.compile(
    r'<notes-(?P<fence>\w+) id="(?P<id>[^"]*)">\n(?P<text>.*)\n</notes-(?P=fence)>', re.S
)
FABRICATED_QUOTE = "The minister resigned on Tuesday after the vote."


@dataclass
class ScriptedModel:
    claims_per_part: int = 4
    fabricate_in: set[str] = field(default_factory=set)
    fail_documents: set[str] = field(default_factory=set)
    truncate_over_tokens: int | None = None
    requests: int = 0
    prompt_tokens: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def respond(self, body: dict[str, Any], step: str = "extract") -> tuple[int, dict[str, Any]]:
        """Status and reply body for a request ``body`` serving ``step`` (the
        ``STEP_HEADER``): ``reduce`` answers section notes, anything else an article."""
        encoding = load_encoding("o200k_base")
        messages = body["messages"]
        prompt = sum(encoding.count(m["content"]) + 4 for m in messages) + 3
        with self._lock:
            self.requests += 1
            self.prompt_tokens.append(prompt)
        reducing = step.split(".")[0] == "reduce"
        article = None if reducing else _ARTICLE.search(messages[1]["content"])
        notes = _NOTES.search(messages[1]["content"]) if reducing else None
        found = article or notes
        doc_id = html.unescape(found.group("id")) if found else ""
        if doc_id in self.fail_documents:
            return 500, {"error": {"message": "internal error", "type": "server_error"}}
        if article:
            part = article.group("text")
            if self.truncate_over_tokens and encoding.count(part) > self.truncate_over_tokens:
                return 200, completion(
                    '{"summary": "', finish_reason="length", prompt_tokens=prompt
                )
            content = self._extract(part, doc_id)
        elif notes:
            budget = re.search(r"Word budget for the summary: (\d+)", messages[1]["content"])
            words = int(budget.group(1)) if budget else 100
            firsts = re.findall(r"Summary: ([^\n]*)", notes.group("text"))
            summary = " ".join(" ".join(firsts).split()[:words])
            points = [" ".join(f.split()[:12]) for f in firsts[:2]]
            content = {"summary": summary, "key_points": points}
        else:
            content = {"summary": "", "key_points": [], "claims": []}
        raw = json.dumps(content)
        return 200, completion(raw, prompt_tokens=prompt, completion_tokens=encoding.count(raw))

    def handle(self, request: httpx.Request) -> httpx.Response:
        """An httpx handler: for respx routes and ``httpx.MockTransport``."""
        step = request.headers.get(STEP_HEADER, "extract")
        status, body = self.respond(json.loads(request.content), step)
        return httpx.Response(status, json=body)

    def _extract(self, part: str, doc_id: str) -> dict[str, Any]:
        sentences = [s.text for s in split_sentences(part) if len(s.text.split()) >= 6]
        claims = [
            {"claim": s, "evidence": s, "speaker": attribution(s), "kind": "fact"}
            for s in sentences[: self.claims_per_part]
        ]
        if doc_id in self.fabricate_in:  # a model that keeps inventing, even when re-asked
            claims.append(
                {
                    "claim": FABRICATED_QUOTE,
                    "evidence": FABRICATED_QUOTE,
                    "speaker": None,
                    "kind": "fact",
                }
            )
        return {"summary": " ".join(sentences[:2]), "key_points": sentences[:3], "claims": claims}


def completion(
    content: str | dict[str, Any] | None,
    *,
    finish_reason: str = "stop",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cached_tokens: int | None = None,
    refusal: str | None = None,
    model: str = "fake-model",
    completion_id: str = "chatcmpl-fake",
) -> dict[str, Any]:
    """A chat-completion response body, as an OpenAI-compatible server sends it (the one
    builder the fakes, the replay engine and the tests share)."""
    if isinstance(content, dict):
        content = json.dumps(content)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": message}],
        "usage": usage,
    }


class FakeServer:
    """A ScriptedModel at ``http://127.0.0.1:PORT/v1`` with a fixed latency per request.

    With ``slots``, at most that many requests are served at a time and the others wait
    in a queue, as on a llama.cpp server with one slot; a request whose client gave up is
    still served, as such servers do. ``busiest`` is the most requests in the server at
    once (served or queued)."""

    def __init__(
        self,
        model: ScriptedModel,
        *,
        latency: float = 0.0,
        port: int = 0,
        slots: int | None = None,
    ):
        self.model = model
        self.latency = latency
        self.busiest = 0
        self._inside = 0
        self._count_lock = threading.Lock()
        self._slots = threading.Semaphore(slots) if slots else None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                step = self.headers.get(STEP_HEADER, "extract")
                status, reply = owner.serve(body, step)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002
                return

        class Server(ThreadingHTTPServer):
            request_queue_size = 512  # read by listen() in __init__: many concurrent clients
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
                return  # a client that went away (killed mid-request) is not an error here

        self._server = Server(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def serve(self, body: dict[str, Any], step: str) -> tuple[int, dict[str, Any]]:
        """One request: wait for a slot (if slots are limited), take the latency, answer."""
        with self._count_lock:
            self._inside += 1
            self.busiest = max(self.busiest, self._inside)
        try:
            if self._slots is not None:
                self._slots.acquire()
            try:
                if self.latency:
                    time.sleep(self.latency)
                return self.model.respond(body, step)
            finally:
                if self._slots is not None:
                    self._slots.release()
        finally:
            with self._count_lock:
                self._inside -= 1

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def batch_step(custom_id: str) -> str:
    """The step a batch request serves: the second-to-last ``:`` field of its custom_id
    (``DOC:CHUNK:STEP:HASH``), the batch counterpart of the ``STEP_HEADER``."""
    parts = custom_id.rsplit(":", 2)
    return parts[1] if len(parts) == 3 else "extract"


def _multipart_file(request: httpx.Request) -> tuple[str, bytes]:
    """The file name and bytes of the ``file`` part of a multipart upload."""
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"content-type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return part.get_filename() or "upload.jsonl", bytes(payload or b"")
    raise ValueError("no file part in the upload")


@dataclass
class FakeBatchAPI:
    """The files and batches endpoints of the OpenAI Batch API, answering every request
    line with a :class:`ScriptedModel` (and chat completions live, for a live run).

    A batch runs when first retrieved after ``polls_to_finish`` polls. Knobs: the next
    ``expire_next`` batches expire with half of their lines answered (the others in the
    error file as ``batch_expired``, unless ``expired_error_lines`` is off); lines whose
    custom_id contains one of ``error_ids`` go to the error file (once each)."""

    model: ScriptedModel = field(default_factory=ScriptedModel)
    polls_to_finish: int = 0
    expire_next: int = 0
    expired_error_lines: bool = True  # as the OpenAI API: the unrun lines in the error file
    error_ids: set[str] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: int = 0
    batch_lines: int = 0
    live_requests: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.split("/v1", 1)[-1]
        if request.method == "POST" and path == "/chat/completions":
            self.live_requests += 1
            return self.model.handle(request)
        if request.method == "POST" and path == "/files":
            name, data = _multipart_file(request)
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = data
            self.uploads += 1
            return httpx.Response(200, json=self._file(file_id, name, "batch"))
        if request.method == "GET" and path.startswith("/files/") and path.endswith("/content"):
            file_id = path.split("/")[2]
            if file_id not in self.files:
                return httpx.Response(404, json={"error": {"message": "no such file"}})
            return httpx.Response(200, content=self.files[file_id])
        if request.method == "POST" and path == "/batches":
            body = json.loads(request.content)
            batch_id = f"batch-{len(self.batches) + 1}"
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body["endpoint"],
                "input_file_id": body["input_file_id"],
                "completion_window": body["completion_window"],
                "status": "validating",
                "created_at": int(time.time()),
                "output_file_id": None,
                "error_file_id": None,
                "polls": 0,
            }
            return httpx.Response(200, json=self._public(batch_id))
        if request.method == "GET" and path == "/batches":
            newest_first = [self._public(b) for b in reversed(self.batches)]
            return httpx.Response(
                200, json={"object": "list", "data": newest_first, "has_more": False}
            )
        if request.method == "GET" and path.startswith("/batches/"):
            batch_id = path.split("/")[2]
            if batch_id not in self.batches:
                return httpx.Response(404, json={"error": {"message": "no such batch"}})
            self._advance(batch_id)
            return httpx.Response(200, json=self._public(batch_id))
        return httpx.Response(404, json={"error": {"message": f"no route {path}"}})

    def _file(self, file_id: str, name: str, purpose: str) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(self.files[file_id]),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": purpose,
            "status": "processed",
        }

    def _public(self, batch_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[batch_id].items() if k != "polls"}

    def _advance(self, batch_id: str) -> None:
        batch = self.batches[batch_id]
        if batch["status"] not in ("validating", "in_progress"):
            return
        batch["polls"] += 1
        if batch["polls"] <= self.polls_to_finish:
            batch["status"] = "in_progress"
            return
        lines = self.files[batch["input_file_id"]].decode().splitlines()
        expire = self.expire_next > 0
        outputs: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        if expire:
            self.expire_next -= 1
            lines, unrun = lines[: len(lines) // 2], lines[len(lines) // 2 :]
            if self.expired_error_lines:
                errors += [_expired_line(json.loads(line)["custom_id"]) for line in unrun]
        for line in lines:
            item = json.loads(line)
            custom_id = item["custom_id"]
            self.batch_lines += 1
            failing = next((e for e in self.error_ids if e in custom_id), None)
            if failing is not None:
                self.error_ids.discard(failing)
                reply = {"error": {"message": "internal error", "type": "server_error"}}
                errors.append(batch_line(custom_id, 500, reply))
                continue
            status, body = self.model.respond(item["body"], batch_step(custom_id))
            (outputs if status == 200 else errors).append(batch_line(custom_id, status, body))
        for key, found in (("output_file_id", outputs), ("error_file_id", errors)):
            if found:
                file_id = f"file-{len(self.files) + 1}"
                self.files[file_id] = "".join(json.dumps(o) + "\n" for o in found).encode()
                batch[key] = file_id
        batch["status"] = "expired" if expire else "completed"


def _expired_line(custom_id: str) -> dict[str, Any]:
    message = "This request could not be executed before the completion window expired."
    return {
        "id": f"batch_req_{custom_id[-8:]}",
        "custom_id": custom_id,
        "response": None,
        "error": {"code": "batch_expired", "message": message},
    }


def batch_line(custom_id: str, status: int, body: dict[str, Any]) -> dict[str, Any]:
    """One line of a batch output (or error) file, as the Batch API and ``vllm run-batch``
    write it."""
    return {
        "id": f"batch_req_{custom_id[-8:]}",
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": f"req-{custom_id[-8:]}", "body": body},
        "error": None,
    }


class HandlerServer:
    """An httpx handler (``request -> response``, as :meth:`FakeBatchAPI.handle`) served at
    ``http://127.0.0.1:PORT/v1``: the batch fakes over a real loopback connection."""

    def __init__(self, handle: Any, *, port: int = 0):
        lock = threading.Lock()  # the fakes' counters are plain ints: one request at a time

        def answer(handler: BaseHTTPRequestHandler, method: str) -> None:
            length = int(handler.headers.get("content-length", 0))
            request = httpx.Request(
                method,
                f"http://127.0.0.1{handler.path}",
                headers=dict(handler.headers.items()),
                content=handler.rfile.read(length) if length else b"",
            )
            with lock:
                response: httpx.Response = handle(request)
            data = response.read()
            handler.send_response(response.status_code)
            handler.send_header("content-type", response.headers.get("content-type", "text/plain"))
            handler.send_header("content-length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                answer(self, "GET")

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                answer(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> HandlerServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(argv: list[str] | None = None) -> None:
    """``python -m summarizer._testing --latency 0.2``: serve a ScriptedModel until killed.

    Prints the base URL on the first line of stdout.
    """
    import argparse

    parser = argparse.ArgumentParser(description=serve.__doc__)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--slots", type=int, default=None, help="requests served at a time")
    args = parser.parse_args(argv)
    fake = FakeServer(ScriptedModel(), latency=args.latency, port=args.port, slots=args.slots)
    with fake as server:
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    serve()
