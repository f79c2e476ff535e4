"""The eval harness: hand-labelled fixtures, claim alignment, scores, reports and gates."""
