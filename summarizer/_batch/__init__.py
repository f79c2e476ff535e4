"""The Batch API as an execution mode: prepare the requests ``run`` would send as JSONL,
submit them as batches (or write them for ``vllm run-batch``), collect the answers into
the same results, with follow-up batches for re-asks and reduce steps. Private: the CLI
(``summarizer batch``) is its public face."""
