"""SentimentScorer: VADER plus market words, labels at ±0.05."""

import pytest

from pipelines.enrich import SentimentScorer


@pytest.fixture(scope="module")
def scorer():
    return SentimentScorer()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("$TSLA to the moon 🚀🚀", "positive"),  # scores 0 in stock VADER (GOTCHAS.md)
        ("RELIANCE hits upper circuit", "positive"),
        ("Very bullish on INFY, breakout above 1600", "positive"),
        ("Multibagger in the making", "positive"),
        ("TCS rally continues", "positive"),
        ("SL hit on TCS", "negative"),
        ("YESBANK stuck in lower circuit again", "negative"),
        ("Bearish on INFY, loading puts", "negative"),
        ("Market crash, dump everything", "negative"),
        ("RELIANCE closes flat", "neutral"),
        ("SBIN board meeting on Friday", "neutral"),
        ("", "neutral"),
    ],
)
def test_it_labels_market_chatter(scorer, text, label):
    assert scorer.score(text)[0] == label


def test_market_words_move_the_score_that_stock_vader_leaves_at_zero(scorer):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    stock = SentimentIntensityAnalyzer()
    for text in ("$TSLA to the moon", "bullish breakout", "hit the upper circuit"):
        assert stock.polarity_scores(text)["compound"] == 0.0
        assert scorer.score(text)[1] > 0.3


def test_the_label_follows_the_compound_at_five_hundredths():
    assert SentimentScorer.label(0.05) == "positive"
    assert SentimentScorer.label(0.0499) == "neutral"
    assert SentimentScorer.label(-0.0499) == "neutral"
    assert SentimentScorer.label(-0.05) == "negative"


def test_emoji_count_like_vader_describes_them(scorer):
    assert scorer.score("results today 😞")[0] == "negative"
    assert scorer.score("results today 😀")[0] == "positive"


def test_a_batch_scores_like_one_by_one(scorer):
    texts = ["bullish $TCS", "bearish $TCS", "bullish $TCS", "RELIANCE closes flat"]
    assert scorer.score_many(texts) == [scorer.score(t) for t in texts]


def test_extra_words_can_be_added():
    scorer = SentimentScorer(extra_lexicon={"Zordo": 3.0})
    assert scorer.score("zordo")[0] == "positive"
