"""How the corpus digest scales: synthetic corpora of 100, 1,000 and 10,000 articles.

    python benchmarks/digest_scale.py [--sizes 100 1000 10000]

Each size runs in its own process (so peak memory is that size's own): the offline
extractive pipeline, then the digest (clusters, claim alignment, contradictions). Stories
of about eight articles each have invented people, places and numbers; every article
states a random subset of its story's facts in one of two phrasings plus filler, one in
five is a near-duplicate rewrite of another, and one in ten changes a number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import time

SYLLABLES = (
    "ka lo ren vi tas mor el dan sul ira po qen bar tol mia ves ank ori lun zed fa gu hel jin "
    "kor lam nes oth pra quo rim sef tuv ul vor wix yal zan bre cil dro fen gar hux ix jov kel "
    "mav nor pel rux sta tri vex wol"
).split()
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = ["January", "March", "May", "June", "September", "November"]
FACTS = [
    (
        "{p1} said {n1} {unit} had arrived in {place} on {day}.",
        "On {day}, {n1} {unit} reached {place}, according to {p1}.",
    ),
    (
        "{org} signed a security agreement with {place2} in {month} {year}.",
        "In {month} {year}, {place2} and {org} agreed a security pact.",
    ),
    (
        "{p2}, a professor at the {inst} Institute, warned that {place} faces a long crisis.",
        "A long crisis awaits {place}, warns {p2} of the {inst} Institute.",
    ),
    (
        "Trade between {place} and {place2} fell by {n2} percent last year.",
        "Last year {place}'s trade with {place2} dropped {n2} percent.",
    ),
    (
        "The {org} ministry did not comment on the reports from {place}.",
        "Officials of {org} declined to comment on reports from {place}.",
    ),
    (
        "{p1} met {p2} in {place2} to discuss the {inst} plan.",
        "In {place2}, {p2} and {p1} discussed the {inst} plan.",
    ),
    (
        "At least {n3} families left {place} after the floods on {day}.",
        "The {day} floods forced {n3} families out of {place}.",
    ),
    (
        "{org} will hold elections in {month}, {p1} announced.",
        "{p1} announced that {org} votes in {month}.",
    ),
]
FILLER_SUBJECTS = [
    "Observers",
    "Residents",
    "Analysts",
    "Diplomats",
    "Economists",
    "Officials",
    "Reporters",
    "Farmers",
    "Teachers",
    "Engineers",
    "Traders",
    "Doctors",
]
FILLER_VERBS = [
    "expect",
    "describe",
    "caution about",
    "question",
    "debate",
    "doubt",
    "welcome",
    "fear",
    "track",
    "dispute",
]
FILLER_OBJECTS = [
    "new developments",
    "a tense atmosphere",
    "early conclusions",
    "the figures",
    "similar disputes",
    "the harvest",
    "rising prices",
    "the border talks",
    "the water supply",
    "school closures",
    "the power cuts",
    "the rail line",
]


def name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def story_values(rng: random.Random) -> dict[str, str]:
    return {
        "p1": f"{name(rng, 2)} {name(rng, 3)}",
        "p2": f"{name(rng, 2)} {name(rng, 2)}",
        "place": name(rng, 3),
        "place2": name(rng, 3),
        "org": name(rng, 2) + "land",
        "inst": name(rng, 3),
        "unit": rng.choice(["troops", "engineers", "advisers", "observers"]),
        "day": rng.choice(WEEKDAYS),
        "month": rng.choice(MONTHS),
        "year": str(rng.randint(2015, 2025)),
        "n1": f"{rng.randint(2, 90) * 100:,}",
        "n2": str(rng.randint(3, 60)),
        "n3": str(rng.randint(20, 900)),
        # words only this story uses: real stories have their own vocabulary
        "topic": " ".join(name(rng, 2).lower() for _ in range(6)),
    }


def corpus(size: int, seed: int = 3) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    articles: list[tuple[str, str]] = []
    stories = [story_values(rng) for _ in range(max(1, size // 8))]
    while len(articles) < size:
        index = rng.randrange(len(stories))
        values = dict(stories[index])
        doc_id = f"s{index:05d}-a{len(articles):05d}.txt"
        same_story = [text for other, text in articles if other.startswith(f"s{index:05d}-")]
        if same_story and rng.random() < 0.2:  # a near-duplicate rewrite
            lines = same_story[-1].split("\n")
            rng.shuffle(lines)
            articles.append((doc_id, "\n".join(lines[:-1])))
            continue
        if rng.random() < 0.1:  # a source that disagrees on a number
            values["n1"] = f"{int(values['n1'].replace(',', '')) + 1000:,}"
        lines = [f"{values['place']} crisis: {values['p1']} speaks"]
        for template in rng.sample(FACTS, 6):
            lines.append(rng.choice(template).format(**values))
        lines += [
            f"{rng.choice(FILLER_SUBJECTS)} {rng.choice(FILLER_VERBS)} {rng.choice(FILLER_OBJECTS)}"
            f" in {values['place']}."
            for _ in range(2)
        ]
        topic = values["topic"].split()
        lines += [
            " ".join(rng.sample(topic, 4)).capitalize() + " were discussed." for _ in range(2)
        ]
        articles.append((doc_id, "\n".join(lines)))
    return articles


async def digest_run(size: int) -> dict[str, float]:
    from summarizer import Document, Summarizer, SummarizerConfig
    from summarizer._digest import build_digest

    documents = [Document.from_text(text, id=doc_id) for doc_id, text in corpus(size)]
    summarizer = Summarizer(SummarizerConfig(engine="extractive"))
    started = time.perf_counter()
    results = await summarizer.asummarize_many(documents)
    summarized = time.perf_counter()
    report = await build_digest(results, documents)
    finished = time.perf_counter()
    claims = sum(len(r.claims) for r in results if hasattr(r, "claims"))
    return {
        "articles": size,
        "claims": claims,
        "stories": len(report.stories),
        "near_duplicates": sum(len(s.near_duplicates) for s in report.stories),
        "contradictions": sum(len(s.contradictions) for s in report.stories),
        "summarize_s": summarized - started,
        "digest_s": finished - summarized,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(digest_run(args.one))))
        return
    print(
        "| articles | claims | stories | near-dup pairs | contradictions | pipeline s "
        "| digest s | digest µs / claim | peak MiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        per_claim = row["digest_s"] / max(1, row["claims"]) * 1e6
        print(
            f"| {row['articles']:,} | {row['claims']:,} | {row['stories']:,} | "
            f"{row['near_duplicates']:,} | {row['contradictions']:,} | {row['summarize_s']:.1f} | "
            f"{row['digest_s']:.1f} | {per_claim:.0f} | {row['peak_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
