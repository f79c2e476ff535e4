"""The parts of the model client, composed by :class:`summarizer._client.ChatClient`:

- :mod:`.transport`: the openai SDK clients (pooled per event loop), retries with backoff
  that honours Retry-After, and SDK errors mapped to the typed ones;
- :mod:`.http11`: the opt-in fast HTTP transport (keep-alive connections, httptools);
- :mod:`.modes`: which structured-output mode the endpoint accepts, and the request body;
- :mod:`.replies`: a reply checked (refusal, content filter) and parsed into the schema;
- :mod:`.accounting`: usage and cost of every attempt, and the budget.
"""
