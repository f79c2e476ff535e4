"""The support matcher: directional, many-to-one, numbers/names/polarity, explained."""

from __future__ import annotations

import pytest

from summarizer._eval.support import (
    article_weights,
    length_penalty,
    split,
    terms,
    unit_support,
)

VOTES = "Aydian Dowling has 40,000 votes - 30,000 more than his closest rival."


def test_more_detail_in_the_prediction_still_supports_the_unit() -> None:
    decision = unit_support("Aydian Dowling has 40,000 votes", [VOTES])
    assert decision.supported and decision.coverage == 1.0 and decision.missing == []
    assert decision.support == VOTES


def test_a_different_quantity_blocks_and_says_which() -> None:
    decision = unit_support("Aydian Dowling has 50,000 votes", [VOTES])
    assert not decision.supported
    assert decision.reason == "number(s) 50000 not in the support"


def test_number_words_are_words_not_numbers() -> None:
    assert terms("Two men were arrested on Friday.").numbers == frozenset()
    assert terms("The 25-year-old won 6-3, 6-4.").numbers == {"25", "6", "3", "4"}


def test_a_missing_name_blocks_even_when_most_words_match() -> None:
    decision = unit_support(
        "The deal was signed by Tomas Berdych", ["The deal was signed by Andy Murray"]
    )
    assert not decision.supported and decision.reason.startswith("name(s)")
    assert "berdych" in decision.reason


def test_a_name_of_the_same_root_counts() -> None:
    decision = unit_support(
        "Chinese leaders worry about the troops", ["China's leaders worry about the troops"]
    )
    assert decision.supported


def test_one_sentence_supports_several_units_and_a_unit_may_span_two_sentences() -> None:
    summary = split(
        "Filmmaker Michael König from Cologne made a video of the sun. "
        "It uses footage from Nasa's Solar Dynamics Observatory."
    )
    units = [
        "Michael König is a filmmaker.",
        "Michael König is from Cologne.",
        "Michael König made a video with footage from Nasa's Solar Dynamics Observatory.",
    ]
    decisions = [unit_support(u, summary) for u in units]
    assert all(d.supported for d in decisions)
    assert " … " in decisions[2].support  # joined from both sentences


def test_negation_in_the_support_blocks_an_affirmed_unit() -> None:
    decision = unit_support(
        "The minister approved the plan.", ["The minister never approved the plan."]
    )
    assert not decision.supported and decision.reason.startswith("polarity differs")
    both = unit_support(
        "The minister did not approve the plan.", ["The minister never approved the plan."]
    )
    assert both.supported


def test_negation_elsewhere_in_the_sentence_does_not_block() -> None:
    decision = unit_support(
        "David Ospina clashed with Oscar.",
        ["Chelsea weren't awarded a penalty for David Ospina's clash with Oscar."],
    )
    assert decision.supported


def test_a_one_letter_typo_in_a_long_word_is_tolerated_but_short_words_must_match() -> None:
    assert unit_support(
        "Families are fleeing western Irqa.", ["Families flee western Iraq."]
    ).supported
    assert not unit_support("The cat sat.", ["The hat sat."]).supported


def test_too_little_of_the_unit_is_not_support() -> None:
    decision = unit_support(
        "Michael König filmed solar flares over five years in Cologne.",
        ["Michael König lives in Cologne."],
    )
    assert not decision.supported
    assert decision.reason.startswith("coverage") and "solar" in decision.missing


def test_empty_inputs_are_explained() -> None:
    assert unit_support("the of and", ["x"]).reason == "the unit has no content words"
    assert unit_support("Votes were counted.", []).reason == "nothing to support it"


def test_article_weights_count_rare_terms_more() -> None:
    article = "Sterling plays. Sterling scores. Sterling waits. Sterling signs a contract."
    weight = article_weights(article)
    assert weight("contract") > weight("sterl")
    # the frequent subject alone does not carry a unit whose rare terms are missing
    assert not unit_support("Sterling signs a contract", ["Sterling plays."], weight).supported


@pytest.mark.parametrize(
    ("summary", "expected"),
    [("one two three", 1.0), ("a b c d e f", pytest.approx(0.6065, abs=1e-4))],
)
def test_length_penalty_only_punishes_longer_summaries(summary: str, expected: float) -> None:
    assert length_penalty(summary, "x y z") == expected
