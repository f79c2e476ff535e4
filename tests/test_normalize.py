from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from summarizer._normalize import find_date, is_boilerplate, normalize_text


def seed(seeds_dir: Path, prefix: str) -> str:
    [path] = seeds_dir.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def assert_maps_back(original: str, normalized) -> None:
    """Every word of the normalized text sits at its mapped place in the original."""
    for match in re.finditer(r"\S+", normalized.text):
        start, end = normalized.span_to_original(match.start(), match.end())
        assert original[start:end] == match.group(), match.group()


def test_seed_000_repeated_title_and_paragraphs_are_dropped(seeds_dir: Path) -> None:
    original = seed(seeds_dir, "000")
    result = normalize_text(original)
    assert result.removed_counts()["duplicate_lines"] == 4
    assert result.text.count("China Torn Between Alliances") == 1
    assert result.text.count("The alliance has been viewed in Beijing") == 1
    assert result.text.count("The upcoming months will be crucial") == 1
    assert result.title == "China Torn Between Alliances as North Korea Sends Troops to Ukraine"
    assert_maps_back(original, result)


def test_seed_002_web_boilerplate_is_dropped(seeds_dir: Path) -> None:
    original = seed(seeds_dir, "002")
    result = normalize_text(original)
    removed = {line.text for line in result.removed if line.kind == "boilerplate"}
    assert removed == {
        "Home » North Korean Troops in Ukraine Cause Headache for China – Foreign Policy",
        "by alex",
        "Related topics:",
        "More news",
        "You may also like",
        "Leave a Comment",
    }
    assert "Leave a Comment" not in result.text
    assert result.text.startswith("North Korean Troops in Ukraine Cause Headache for China")
    assert (
        result.title == "North Korean Troops in Ukraine Cause Headache for China – Foreign Policy"
    )
    assert "\n\n\n" not in result.text
    assert_maps_back(original, result)


def test_seed_003_date_header_becomes_the_date(seeds_dir: Path) -> None:
    original = seed(seeds_dir, "003")
    result = normalize_text(original)
    assert result.date == "2024-11-06"
    assert result.removed_counts()["date_header_lines"] == 1
    assert not result.text.startswith("date")
    assert result.title == (
        "North Korea's involvement in Ukraine draws China into a delicate balancing act"
    )
    assert "In October 1950" in result.text  # dates inside the body are content
    assert_maps_back(original, result)


def test_seed_001_and_004_are_kept_whole(seeds_dir: Path) -> None:
    for prefix in ("001", "004"):
        original = seed(seeds_dir, prefix)
        result = normalize_text(original)
        assert result.removed == ()
        assert result.text.split() == original.split()
    assert normalize_text(seed(seeds_dir, "004")).title is None


def test_whitespace_noise_and_crlf() -> None:
    original = "Title  here\r\n\r\n\r\nFirst\t\tline   of\u00a0text.  \r\nSecond line.\rThird."
    result = normalize_text(original)
    assert result.text == "Title here\n\nFirst line of text.\nSecond line.\nThird."
    assert_maps_back(original, result)


def test_content_sentences_that_mention_boilerplate_words_stay() -> None:
    assert is_boilerplate("Share this article")
    assert is_boilerplate("Subscribe to our newsletter")
    assert not is_boilerplate(
        "Readers were asked to subscribe to the new service, which launched in May 2024."
    )
    assert not is_boilerplate("By the end of the year, prices had doubled across the region.")


def test_dates_in_common_formats() -> None:
    assert (find_date("Published November 6, 2024") or ("",))[0] == "2024-11-06"
    assert (find_date("6 Nov 2024 | World") or ("",))[0] == "2024-11-06"
    assert find_date("2024/02/30") is None


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300))
def test_any_text_maps_back(text: str) -> None:
    assert_maps_back(text, normalize_text(text))


_GAPS = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u200b", " \u2009 ", "\x0b", "\u3000"])


@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(_GAPS, st.text("ab1", min_size=1, max_size=4)), max_size=6),
            st.sampled_from(["", " ", "\t"]),  # what ends the line
            st.booleans(),  # a blank line after it
        ),
        min_size=1,
        max_size=8,
    )
)
def test_clean_and_noisy_lines_collapse_alike(
    lines: list[tuple[list[tuple[str, str]], str, bool]],
) -> None:
    """Clean lines (taken as they are) and noisy ones (split into words) give the same
    single-spaced text, and every word maps back."""
    raw = [
        f"L{index}" + "".join(gap + word for gap, word in words) + end + ("\n" if blank else "")
        for index, (words, end, blank) in enumerate(lines)
    ]
    original = "\n".join(raw)
    result = normalize_text(original)
    split = re.split(r"\r\n|\r|\n", original)
    expected = "\n".join(" ".join(re.findall(r"[^\s\u200b]+", line)) for line in split)
    assert result.text == re.sub(r"\n{3,}", "\n\n", expected.strip())
    assert_maps_back(original, result)
