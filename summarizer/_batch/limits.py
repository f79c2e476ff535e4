"""The Batch API's limits and price, as defaults (a light module: the CLI's parser reads
them without importing the client)."""

MAX_REQUESTS_PER_BATCH = 50_000  # the OpenAI Batch API's limits
MAX_FILE_BYTES = 200 * 1024 * 1024
BATCH_PRICE_FACTOR = 0.5  # batches cost half the live price
