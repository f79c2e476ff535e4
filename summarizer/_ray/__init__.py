"""Running the pipeline on Ray Data (the optional ``summarizer[ray]`` extra).

:func:`summarize_dataset` maps the pipeline over a Ray Dataset of articles with a pool of
actors, each owning one Summarizer; :func:`run_with_ray` is ``summarizer run --executor
ray``. Importing this package imports ray; ``import summarizer`` never does.
"""

from summarizer._ray.executor import read_articles, summarize_dataset
from summarizer._ray.run import run_with_ray

__all__ = ["read_articles", "run_with_ray", "summarize_dataset"]
