"""Which bars of a backtest a model trained or validated on (``seen_overlap``), and the one
line a run's marks read as."""

from __future__ import annotations

from datetime import UTC, datetime

from tradewind.pipelines.models import describe_marks, mark_tags, seen_overlap

RANGE = {
    "instrument": "EUR_USD",
    "timeframe": "H1",
    "side": "mid",
    "train": {"first_bar": "2024-01-01T00:00:00+00:00", "last_bar": "2024-02-19T23:00:00+00:00"},
    "validation": {
        "first_bar": "2024-02-20T00:00:00+00:00",
        "last_bar": "2024-03-09T23:00:00+00:00",
    },
    "test": {"first_bar": "2024-03-10T00:00:00+00:00", "last_bar": "2024-03-31T23:00:00+00:00"},
}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_test_split_alone_is_out_of_sample() -> None:
    assert seen_overlap(RANGE, ["EUR_USD"], "H1", at(2024, 3, 10), at(2024, 3, 31, 23)) is None


def test_a_period_reaching_into_validation_is_in_sample_with_the_overlap() -> None:
    got = seen_overlap(RANGE, ["EUR_USD"], "H1", at(2024, 3, 1), at(2024, 3, 31, 23))
    assert got == {
        "splits": ["validation"],
        "start": "2024-03-01T00:00:00+00:00",
        "end": "2024-03-09T23:00:00+00:00",
    }
    got = seen_overlap(RANGE, ["EUR_USD"], "H1", at(2023, 6, 1), at(2024, 12, 1))
    assert got is not None
    assert got["splits"] == ["train", "validation"]
    assert got["start"] == "2024-01-01T00:00:00+00:00"


def test_one_bar_of_overlap_counts() -> None:
    got = seen_overlap(RANGE, ["EUR_USD"], "H1", at(2024, 3, 9, 23), at(2024, 3, 20))
    assert got is not None
    assert got["splits"] == ["validation"]


def test_other_instruments_and_timeframes_are_not_the_models_data() -> None:
    assert seen_overlap(RANGE, ["GBP_USD"], "H1", at(2024, 1, 1), at(2024, 3, 1)) is None
    assert seen_overlap(RANGE, ["EUR_USD"], "M5", at(2024, 1, 1), at(2024, 3, 1)) is None


def test_an_unknown_data_range_is_in_sample_as_unknown() -> None:
    assert seen_overlap(None, ["EUR_USD"], "H1", at(2024, 1, 1), at(2024, 3, 1)) == {
        "splits": ["unknown"]
    }


def test_marks_read_as_one_line_and_as_tags() -> None:
    assert describe_marks(None) == ""
    assert describe_marks({}) == ""
    assert mark_tags(None) == ""
    marks = {
        "in_sample": [
            {
                "strategy": "ppo",
                "model": "models:/m/2",
                "splits": ["train", "validation"],
                "start": "2024-01-01T00:00:00+00:00",
                "end": "2024-03-09T23:00:00+00:00",
            }
        ],
        "allowed": [
            {
                "strategy": "ppo",
                "model": "models:/m/2",
                "check": "instrument",
                "trained_on": "EUR_USD",
                "run_on": "GBP_USD",
                "flag": "--allow-other-instrument",
            }
        ],
    }
    line = describe_marks(marks)
    assert mark_tags(marks) == "in-sample, other instrument"
    assert mark_tags({"allowed": marks["allowed"]}) == "other instrument"
    assert line == (
        "IN-SAMPLE ppo: models:/m/2 train/validation 2024-01-01..2024-03-09; "
        "ALLOWED ppo: models:/m/2 trained on EUR_USD, run on GBP_USD (--allow-other-instrument)"
    )
