"""Score questions' arithmetic (voting/scored.py), on hand-worked examples.

A ballot that leaves an option unscored abstains on it: it is counted in the option's
abstentions, never as a score. Mean and median are over the ballots that scored the option; the
median of an even count is the mean of the two middle scores. The distribution lists every value
of the scale, the ones nobody gave included.
"""

from voting.scored import OptionScores, median, section, summarize

X, Y, Z = 31, 32, 33


def test_mean_median_and_distribution_count_only_the_ballots_that_scored():
    """7 ballots on a 1–5 scale. X: 5, 5, 3, 1 (3 abstain): mean 14 / 4 = 3.5, median of the even
    count (3 + 5) / 2 = 4. Y: 2, 2, 4 (4 abstain): mean 8 / 3 = 2.6667, median of the odd count 2.
    Z: nobody scored it, so it has no mean and no median, only 7 abstentions."""
    scores = {X: {5: 2, 3: 1, 1: 1}, Y: {2: 2, 4: 1}}

    summary = summarize(scores=scores, ballots=7, options=[X, Y, Z], minimum=1, maximum=5)

    assert summary == [
        OptionScores(
            option=X,
            raters=4,
            abstentions=3,
            mean=3.5,
            median=4.0,
            distribution=((1, 1), (2, 0), (3, 1), (4, 0), (5, 2)),
        ),
        OptionScores(
            option=Y,
            raters=3,
            abstentions=4,
            mean=2.6667,
            median=2.0,
            distribution=((1, 0), (2, 2), (3, 0), (4, 1), (5, 0)),
        ),
        OptionScores(
            option=Z,
            raters=0,
            abstentions=7,
            mean=None,
            median=None,
            distribution=((1, 0), (2, 0), (3, 0), (4, 0), (5, 0)),
        ),
    ]


def test_a_scale_from_zero_lists_zero_as_a_score_given():
    """0–2 scale, 3 ballots all scoring X: 0, 0, 2. A zero is a score here (mean 2 / 3), not an
    abstention."""
    (summary,) = summarize(scores={X: {0: 2, 2: 1}}, ballots=3, options=[X], minimum=0, maximum=2)

    assert (summary.raters, summary.abstentions) == (3, 0)
    assert (summary.mean, summary.median) == (0.6667, 0.0)
    assert summary.distribution == ((0, 2), (1, 0), (2, 1))


def test_the_median_of_an_even_count_is_the_mean_of_the_two_middle_scores():
    assert median([(1, 1), (2, 1), (3, 1), (4, 1)]) == 2.5  # 1 2 | 3 4
    assert median([(1, 2), (4, 0), (9, 2)]) == 5.0  # 1 1 | 9 9
    assert median([(3, 2)]) == 3.0  # 3 | 3
    assert median([(1, 1), (2, 1), (3, 1)]) == 2.0  # 1 [2] 3
    assert median([(1, 0), (2, 0)]) is None


def test_the_section_states_the_scale_and_lists_each_option():
    document = section(
        scores={X: {4: 1}}, ballots=2, options=[X, Y], minimum=3, maximum=4, abstain_allowed=True
    )

    assert document == {
        "min": 3,
        "max": 4,
        "abstain_allowed": True,
        "options": [
            {
                "id": X,
                "raters": 1,
                "abstentions": 1,
                "mean": 4.0,
                "median": 4.0,
                "distribution": [{"score": 3, "ballots": 0}, {"score": 4, "ballots": 1}],
            },
            {
                "id": Y,
                "raters": 0,
                "abstentions": 2,
                "mean": None,
                "median": None,
                "distribution": [{"score": 3, "ballots": 0}, {"score": 4, "ballots": 0}],
            },
        ],
    }
