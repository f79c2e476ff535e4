"""``summarizer doctor``: probe an endpoint once, say what it does, remember it.

Reachability and the models listed (``GET /models``), the context length where the server
says it (llama.cpp's ``/props`` ``n_ctx`` or ``/v1/models`` ``meta.n_ctx_train``, vLLM's
``max_model_len``), then one small structured request in each mode (``json_schema``,
``json_object``, the schema in the prompt) with latency and tokens per second. Prints a
verdict and the settings it recommends, and records the mode and the context length in
``endpoints.json`` next to the reply cache, so the first real run starts in the right mode.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summarizer._cli.common import EXIT_OK, EXIT_USAGE, _add_model_arguments, _command, above_zero

PROBE_ARTICLE = (
    "The city council approved a new budget on Monday. Mayor Ana Ruiz said the plan adds "
    "two bus lines. The vote was 7 to 2."
)
PROBE_OUTPUT_TOKENS = 400
TYPICAL_OUTPUT_TOKENS = 800  # what one article's reply is planned at, for the timeout


@dataclass
class ModeProbe:
    mode: str
    accepted: bool
    valid: bool = False
    seconds: float = 0.0
    completion_tokens: int = 0
    detail: str = ""

    @property
    def tokens_per_second(self) -> float | None:
        if not self.completion_tokens or self.seconds <= 0:
            return None
        return self.completion_tokens / self.seconds


RUNNING_CONTEXT_KEYS = ("max_model_len", "n_ctx", "context_length", "context_window")
TRAINING_CONTEXT_KEYS = ("n_ctx_train",)  # what the model was trained on, not what it serves


def _context_from(data: Any, keys: tuple[str, ...] = RUNNING_CONTEXT_KEYS) -> int | None:
    """The first context length under one of ``keys`` in a /models or /props body."""
    if isinstance(data, dict):
        for key in keys:
            value = data.get(key)
            if isinstance(value, int) and value > 0:
                return value
        data = list(data.values())
    if isinstance(data, list):
        for item in data:
            found = _context_from(item, keys)
            if found:
                return found
    return None


async def _listing(config: Any) -> tuple[list[str], int | None, str | None]:
    """Model ids, a context length if the server says one, and an error if unreachable."""
    import httpx

    from summarizer._llm.redact import redact_url

    base = (config.base_url or "https://api.openai.com/v1").rstrip("/")
    headers = {"Authorization": f"Bearer {config.resolved_api_key()}"}
    timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as http:
        try:
            listed = await http.get(f"{base}/models")
        except httpx.HTTPError as error:
            where = redact_url(f"{base}/models")
            return [], None, f"cannot reach {where}: {type(error).__name__}"
        body = listed.json() if listed.is_success else {}
        entries = body.get("data", []) if isinstance(body, dict) else []
        ids = [str(e.get("id")) for e in entries if isinstance(e, dict)]
        ours = [e for e in entries if isinstance(e, dict) and e.get("id") == config.model]
        # the context the server runs with (llama.cpp's /props n_ctx, vLLM's
        # max_model_len) before the one the model was trained on (/models n_ctx_train)
        context = _context_from(ours or entries)
        if context is None and base.endswith("/v1"):
            try:  # llama.cpp's server
                props = await http.get(f"{base[: -len('/v1')]}/props")
                context = _context_from(props.json()) if props.is_success else None
            except (httpx.HTTPError, ValueError):
                context = None
        if context is None:
            context = _context_from(ours or entries, TRAINING_CONTEXT_KEYS)
    return ids, context, None if listed.is_success else f"GET /models: HTTP {listed.status_code}"


async def _probe_mode(config: Any, mode: Any) -> ModeProbe:
    from summarizer._client import ChatClient
    from summarizer._errors import ModelError, ModelRequestError
    from summarizer._models import ExtractionDraft
    from summarizer._prompts import load_prompt

    template = load_prompt("extract")
    messages = template.messages(
        summary_words=30, part_note="", doc_id="probe", article=PROBE_ARTICLE
    )
    settings = {"structured_modes": (mode,), "max_attempts": 1, "max_reasks": 0}
    client = ChatClient(config.model_copy(update=settings))
    started = time.perf_counter()
    try:
        reply = await client.structured(
            messages, ExtractionDraft, template=template, max_output_tokens=PROBE_OUTPUT_TOKENS
        )
    except ModelRequestError as error:
        return ModeProbe(mode.value, False, detail=error.detail[:160])
    except ModelError as error:  # accepted, but the reply was no use
        seconds = time.perf_counter() - started
        tokens = error.usage.completion_tokens if error.usage else 0
        return ModeProbe(mode.value, True, False, seconds, tokens, error.detail[:160])
    finally:
        await client.aclose()
    seconds = time.perf_counter() - started
    return ModeProbe(mode.value, True, True, seconds, reply.usage.completion_tokens)


async def diagnose(config: Any) -> tuple[list[str], int | None, str | None, list[ModeProbe]]:
    from summarizer._config import StructuredMode

    ids, context, unreachable = await _listing(config)
    if unreachable and not ids:
        return ids, context, unreachable, []
    probes = [await _probe_mode(config, mode) for mode in StructuredMode]
    return ids, context, unreachable, probes


def cmd_doctor(args: argparse.Namespace) -> int:
    """Probe an endpoint and print a verdict with recommended settings."""
    from summarizer._config import LLMConfig, default_cache_path
    from summarizer._endpoints import EndpointState
    from summarizer._llm.redact import redact_url

    given = {"model": args.model, "base_url": args.base_url, "api_key": args.api_key}
    config = LLMConfig.from_env(**given, timeout_seconds=args.timeout)
    endpoint = redact_url(config.base_url or "https://api.openai.com/v1")
    print(f"endpoint {endpoint}, model {config.model}")
    ids, context, problem, probes = asyncio.run(diagnose(config))
    if problem and not ids:
        print(f"unreachable: {problem}")
        return EXIT_USAGE
    listed = "listed" if config.model in ids else "NOT listed"
    print(f"reachable; {len(ids)} model(s) listed ({', '.join(ids[:5]) or 'none'}); {listed}")
    print(f"context length: {context:,} tokens" if context else "context length: not said")
    for probe in probes:
        speed = probe.tokens_per_second
        rate = f", {speed:.1f} tokens/s" if speed else ""
        outcome = "valid" if probe.valid else "accepted, invalid" if probe.accepted else "refused"
        detail = f" ({probe.detail})" if probe.detail else ""
        print(f"  mode {probe.mode:<11} {outcome}: {probe.seconds:.1f}s{rate}{detail}")
    best = next((p for p in probes if p.valid), None) or next(
        (p for p in probes if p.accepted), None
    )
    if best is None:
        print("verdict: no structured mode works with this endpoint and model")
        return EXIT_USAGE
    cache = Path(args.cache) if args.cache else default_cache_path()
    state = EndpointState.beside(cache)
    state.update(asyncio.run(_client_endpoint(config)), config.model, mode=best.mode)
    if context:
        state.update(asyncio.run(_client_endpoint(config)), config.model, context_window=context)
    print(f"verdict: usable, in mode {best.mode} (remembered in {state.path})")
    print("recommended: " + " ".join(_recommend(best, context)))
    return EXIT_OK


async def _client_endpoint(config: Any) -> str:
    """The endpoint as the model client names it (the key of the state file)."""
    from summarizer._client import ChatClient

    client = ChatClient(config)
    await client.aclose()
    return client.endpoint


def _recommend(best: ModeProbe, context: int | None) -> list[str]:
    """Settings for a real run: a deadline that holds a typical reply at the measured
    speed four times over, and the context window when the server said it."""
    options = []
    speed = best.tokens_per_second
    if speed:
        needed = best.seconds + TYPICAL_OUTPUT_TOKENS / speed
        options.append(f"--timeout {max(60, math.ceil(needed * 4 / 10) * 10)}")
    if context:
        options.append(f"--context-window {context}")
    if speed and speed < 50:
        options.append("(a slow server: the adaptive concurrency will settle low by itself)")
    return options or ["the defaults"]


def _add_doctor(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = _command(commands, "doctor", "probe a model endpoint and recommend settings")
    _add_model_arguments(doctor)
    doctor.add_argument(
        "--timeout", type=above_zero, default=120.0, help="seconds per probe (default 120)"
    )
    doctor.add_argument("--cache", help="cache file whose folder keeps what is learned")
    doctor.set_defaults(handler=cmd_doctor)
