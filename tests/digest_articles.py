"""Generated news articles for the digest tests and benchmark: distinct stories on varied
topics that share the everyday words and names real distinct articles share ("Monday",
"police", "said", "Reuters", "the United States"), and near-duplicate copies with small
edits. Deterministic for a seed."""

from __future__ import annotations

import random

SYLLABLES = (
    "ka lo ren vi tas mor el dan sul ira po qen bar tol mia ves ank ori lun zed fa gu hel jin "
    "kor lam nes oth pra quo rim sef tuv ul vor wix yal zan bre cil dro fen gar hux ix jov kel "
    "mav nor pel rux sta tri vex wol"
).split()
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
SHARED = ["Reuters", "the United States", "the European Union", "London", "the Associated Press"]
TOPICS = [
    "{p1}, the coach of {org}, said on {day} that the team would sign {n1} new players before "
    "the season opens in {place}. Police said {n2} fans gathered outside the {org} stadium.",
    "Heavy rain flooded parts of {place} on {day}, and police said {n1} homes were evacuated. "
    "The {org} weather service warned that {n2} millimetres could fall by the weekend.",
    "A court in {place} sentenced {p1} to {n1} years in prison on {day} for fraud at {org}. "
    "Prosecutors said {n2} investors lost money.",
    "Shares in {org} rose {n1} percent on {day} after the company reported higher profits. "
    "Chief executive {p1} said demand in {place} was strong.",
    "Scientists at the {org} observatory in {place} said on {day} they had found {n1} new "
    "comets. {p1}, who led the study, said the finding surprised the team.",
    "Voters in {place} go to the polls on {day} to choose between {p1} and {p2} of the {org} "
    "party. Police said {n1} officers would guard polling stations.",
    "A fire destroyed a warehouse owned by {org} in {place} on {day}. Police said {n1} "
    "firefighters fought the blaze and {p1}, a neighbour, said the smoke was visible for miles.",
    "Doctors at {org} hospital in {place} said on {day} that {n1} patients had recovered from "
    "a rare infection. Health minister {p1} praised the staff.",
    "Trains between {place} and {place2} were cancelled on {day} after {org} workers went on "
    "strike. Union leader {p1} said {n1} members had walked out.",
    "The {org} museum in {place} opened an exhibition of {n1} paintings by {p1} on {day}. "
    "Curator {p2} said the show took {n2} years to prepare.",
    "Police in {place} arrested {n1} people on {day} after a robbery at a {org} branch. "
    "Detective {p1} said officers recovered most of the money.",
    "Teachers at {n1} schools in {place} protested on {day} against cuts announced by {org}. "
    "Education official {p1} said talks would continue.",
]
LEADS = [
    "{p1} and {p2} of {org} were in {place} when the news broke.",
    "In {place}, {org} officials including {p1} met {p2} late on {day}.",
    "{p2} said {p1} had warned {org} about {place} weeks ago.",
]
FILLER = [
    "The announcement drew comment from {shared}, which has followed the issue for months.",
    "Local media reported the news on {day} morning, citing {shared2}.",
    "{p2} told {shared} that the situation remained uncertain.",
]
# Everyday sentences, with slots filled from word lists so that two distinct articles
# share their everyday words about as rarely as real ones do.
EVERYDAY = [
    "{a1} {n1} {v1} the {a2} {n2} near the {n3}.",
    "Officials {v1} that the {n1} would {v2} the {n2} within weeks.",
    "Several {n1} {v1} a {a1} {n2} after the {n3} was {a2}.",
    "The {a1} {n1} had been {v1} since the {n2} began.",
    "Critics said the {n1} was too {a1} and {v1} a {a2} {n2}.",
    "Many {n1} were {a1} about the {n2}, and some {v1} the {n3}.",
]
ADJECTIVES = (
    "local regional national quiet busy sudden costly modest early late rural urban coastal "
    "northern southern eastern western public private senior junior rapid gradual fragile "
    "sturdy ancient modern temporary permanent formal informal crowded empty narrow broad"
).split()
NOUNS = (
    "bridge harbour council budget festival harvest village market tunnel library airport "
    "factory orchard stadium garden pipeline reservoir highway clinic theatre bakery ferry "
    "railway warehouse vineyard shelter quarry lighthouse canal archive tramline depot "
    "laboratory pension subsidy tariff contract lawsuit petition ballot ceremony exhibition"
).split()
VERBS = (
    "criticised welcomed delayed expanded reviewed inspected funded blocked approved "
    "questioned repaired doubled halved postponed relocated audited renovated closed reopened"
).split()


def _name(rng: random.Random, words: int) -> str:
    """An invented name (random syllables: two articles rarely share one by chance)."""
    return " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()
        for _ in range(words)
    )


def _word(rng: random.Random) -> str:
    """A rare word: articles on different stories mostly differ in their rarer words."""
    return rng.choice(NOUNS) + "-" + "".join(rng.choice(SYLLABLES) for _ in range(2))


def story_values(rng: random.Random) -> dict[str, str]:
    """The people, places, organisation, day and numbers of one invented story."""
    values = {
        "p1": _name(rng, 2),
        "p2": _name(rng, 2),
        "org": _name(rng, 1),
        "place": _name(rng, 1),
        "place2": _name(rng, 1),
        "day": rng.choice(DAYS),
        "n1": str(rng.randint(2, 900)),
        "n2": str(rng.randint(2, 900)),
    }
    values["shared"], values["shared2"] = rng.sample(SHARED, 2)
    return values


def article(rng: random.Random, values: dict[str, str], topic: int) -> str:
    """One article on the story ``values`` from the angle ``topic``, in its own words."""
    body = TOPICS[topic % len(TOPICS)].format(**values)
    everyday = [
        template.format(
            **{f"a{i}": rng.choice(ADJECTIVES) for i in (1, 2)},
            **{f"n{i}": _word(rng) for i in (1, 2, 3)},
            **{f"v{i}": rng.choice(VERBS) for i in (1, 2)},
        ).capitalize()
        for template in rng.sample(EVERYDAY, 4)
    ]
    extra = [f.format(**values) for f in rng.sample(FILLER, 1)]
    return " ".join([rng.choice(LEADS).format(**values), body, *everyday, *extra])


def distinct_article(rng: random.Random, index: int) -> str:
    """A news article of its own: invented people, places and organisations."""
    return article(rng, story_values(rng), index)


def distinct_articles(count: int, seed: int = 17) -> list[str]:
    rng = random.Random(seed)
    return [distinct_article(rng, i) for i in range(count)]


def edited_copy(text: str, rng: random.Random) -> str:
    """A syndicated copy with small edits: a word dropped, a sentence added, a word changed."""
    words = text.split()
    del words[rng.randrange(len(words))]
    words[rng.randrange(len(words))] = rng.choice(["reportedly", "also", "then", "now"])
    return " ".join(words) + rng.choice(["", " Reporting by staff.", " (Updated.)"])
