"""Reading behaviour from BIDS events.tsv: round trips, and bad input named by its row."""

import numpy as np
import pandas as pd
import pytest

from darkcontrol.neuro.behavior import (
    Behavior,
    EventColumns,
    EventsError,
    behavior_from_frame,
    make_onsets,
    read_events,
    write_events,
)

BANDIT = """onset\tduration\ttrial_type\tchoice\toutcome
1.0\t2.0\ttrial\t0\t1
4.5\t2.0\ttrial\t1\t0
8.0\t2.0\ttrial\t1\t1
11.0\t2.0\ttrial\t0\t0
"""


def _write(tmp_path, text, name="sub-07_task-bandit_events.tsv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_a_bandit_file(tmp_path):
    b = read_events(_write(tmp_path, BANDIT))
    assert b.participant == "sub-07"
    assert b.task == "bandit" and b.n_trials == 4 and b.n_actions == 2
    np.testing.assert_array_equal(b.choice, [0, 1, 1, 0])
    np.testing.assert_array_equal(b.outcome, [1, 0, 1, 0])
    np.testing.assert_array_equal(b.onset, [1.0, 4.5, 8.0, 11.0])
    np.testing.assert_array_equal(b.state, 0)  # no state column: one state
    assert b.terminated.all() and b.n_choices == 4


@pytest.mark.parametrize(
    "row, message",
    [
        ("8.0\t2.0\ttrial\t2\t1", r"line 4 \(row 2\), column 'choice': 2 is outside the action"),
        ("8.0\t2.0\ttrial\t0.5\t1", r"line 4 \(row 2\), column 'choice': 0.5 is not an integer"),
        ("8.0\t2.0\ttrial\tleft\t1", r"line 4 \(row 2\), column 'choice': 'left' is not a number"),
        ("8.0\t2.0\ttrial\tn/a\t1", r"line 4 \(row 2\), column 'choice': is n/a"),
        ("8.0\t2.0\ttrial\t1\tNaN", r"line 4 \(row 2\), column 'outcome': is NaN"),
        ("8.0\t2.0\ttrial\t1\tn/a", r"line 4 \(row 2\), column 'outcome': is n/a"),
        ("8.0\t2.0\ttrial\t1\tinf", r"line 4 \(row 2\), column 'outcome': 'inf' is not finite"),
        ("3.0\t2.0\ttrial\t1\t1", r"line 4 \(row 2\), column 'onset': 3 goes backwards"),
        ("n/a\t2.0\ttrial\t1\t1", r"line 4 \(row 2\), column 'onset': is n/a"),
        ("8.0\t-1\ttrial\t1\t1", r"line 4 \(row 2\), column 'duration': is negative"),
    ],
)
def test_bad_rows_are_named(tmp_path, row, message):
    lines = BANDIT.splitlines()
    lines[3] = row  # data row 2 = file line 4
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(EventsError, match=message) as info:
        read_events(path, n_actions=2)
    assert str(path) in str(info.value)


def test_missing_and_unknown_columns(tmp_path):
    path = _write(tmp_path, BANDIT.replace("outcome", "reward"))
    with pytest.raises(EventsError, match=r"missing column\(s\) \['outcome'\]"):
        read_events(path)
    b = read_events(path, columns={"outcome": "reward"})  # renamed role reads fine
    np.testing.assert_array_equal(b.outcome, [1, 0, 1, 0])
    with pytest.raises(ValueError, match=r"unknown column role\(s\) \['reward'\]"):
        read_events(path, columns={"reward": "reward"})


def test_action_set_size_and_state_column():
    df = pd.DataFrame(
        {"onset": [0.0, 1.0, 2.0], "choice": [0, 3, 2], "outcome": [1, 0, 1], "state": [0, 1, 1]}
    )
    b = behavior_from_frame(df, "bandit", n_actions=4)
    assert b.n_states == 2 and b.n_actions == 4
    with pytest.raises(EventsError, match=r"row 1\), column 'choice': 3 is outside the action set"):
        behavior_from_frame(df, "bandit", n_actions=3)
    with pytest.raises(ValueError, match="n_actions must be a positive integer"):
        behavior_from_frame(df, "bandit", n_actions=0)


def test_missed_trials_are_kept_not_dropped(tmp_path):
    lines = BANDIT.splitlines()
    lines[2] = "4.5\t2.0\ttrial\tn/a\tn/a"
    path = _write(tmp_path, "\n".join(lines) + "\n")
    b = read_events(path, allow_missed=True)
    assert b.n_trials == 4  # the row is still there, marked missed
    np.testing.assert_array_equal(b.choice, [0, -1, 1, 0])
    np.testing.assert_array_equal(b.valid, [True, False, True, True])
    assert b.n_choices == 3
    # a response with an n/a outcome is still an error, even with allow_missed
    lines[2] = "4.5\t2.0\ttrial\t1\tn/a"
    with pytest.raises(EventsError, match=r"line 3 \(row 1\), column 'outcome'"):
        read_events(_write(tmp_path, "\n".join(lines) + "\n"), allow_missed=True)


def test_trial_type_selection_keeps_row_numbers(tmp_path):
    text = (
        "onset\tduration\ttrial_type\tchoice\toutcome\n"
        "0.0\t1.0\tcue\tn/a\tn/a\n"
        "1.0\t2.0\tchoice\t0\t1\n"
        "3.0\t1.0\tcue\tn/a\tn/a\n"
        "4.0\t2.0\tchoice\t5\t0\n"
    )
    path = _write(tmp_path, text)
    with pytest.raises(EventsError, match=r"line 5 \(row 3\), column 'choice': 5"):
        read_events(path, trial_type="choice", n_actions=2)
    with pytest.raises(EventsError, match="no row has trial_type == 'feedback'"):
        read_events(path, trial_type="feedback")


@pytest.mark.parametrize("task", ["bandit", "two_step", "navigation"])
def test_write_then_read_round_trip(tmp_path, task):
    rng = np.random.default_rng(0)
    T = 30
    onset = make_onsets(T, rng)
    kw = {}
    if task == "two_step":
        kw = dict(next_state=rng.integers(1, 3, T), choice2=rng.integers(0, 2, T))
        kw["onset2"] = onset + 1.5
    if task == "navigation":
        term = np.zeros(T, bool)
        term[[9, 19, 29]] = True
        kw = dict(next_state=rng.integers(0, 6, T), terminated=term)
    choice = rng.integers(0, 2, T)
    choice[5] = -1  # one missed trial
    b = Behavior(
        task=task,
        onset=onset,
        state=rng.integers(0, 6, T) if task == "navigation" else np.zeros(T, int),
        choice=choice,
        outcome=np.where(choice >= 0, rng.integers(0, 2, T), np.nan),
        n_states=6 if task == "navigation" else 1,
        n_actions=2,
        duration=np.full(T, 2.0),
        participant="sub-03",
        **kw,
    )
    if task == "navigation":
        np.testing.assert_array_equal(b.episode, np.repeat([0, 1, 2], 10))
    path = write_events(b, tmp_path / "sub-03_task-x_events.tsv")
    back = read_events(path, task, n_actions=2, allow_missed=True, n_states=b.n_states)
    for name in ("onset", "state", "choice", "next_state", "terminated", "episode"):
        np.testing.assert_array_equal(getattr(back, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(back.outcome, b.outcome)  # NaN where missed
    if task == "two_step":
        np.testing.assert_array_equal(back.choice2, b.choice2)
        np.testing.assert_allclose(back.onset2, b.onset2)
    assert "n/a" in path.read_text()  # BIDS missing values


def test_two_step_errors_name_rows():
    df = pd.DataFrame(
        {
            "onset": [0.0, 3.0, 6.0],
            "onset2": [1.5, 4.5, 5.0],
            "choice": [0, 1, 0],
            "state2": [1, 2, 1],
            "choice2": [1, 0, 1],
            "outcome": [1, 0, 1],
        }
    )
    b = behavior_from_frame(df.assign(onset2=[1.5, 4.5, 7.5]), "two_step")
    assert b.n_choices == 6 and b.n_states == 4
    with pytest.raises(EventsError, match=r"row 2\), column 'onset2': is before the trial"):
        behavior_from_frame(df, "two_step")
    with pytest.raises(EventsError, match=r"row 1\), column 'state2': 3 is outside"):
        behavior_from_frame(df.assign(onset2=[1.5, 4.5, 7.5], state2=[1, 3, 1]), "two_step")
    with pytest.raises(EventsError, match=r"missing column\(s\) \['choice2'\]"):
        behavior_from_frame(df.drop(columns="choice2"), "two_step")


def test_navigation_needs_action_set_and_consistent_episodes():
    df = pd.DataFrame(
        {
            "onset": [0.0, 1.0, 2.0, 3.0],
            "episode": [0, 0, 0, 1],
            "state": [0, 1, 2, 0],
            "choice": [1, 1, 1, 0],
            "next_state": [1, 2, 3, 1],
            "outcome": [0, 0, 1, 0],
            "terminated": [0, 1, 1, 0],
        }
    )
    with pytest.raises(ValueError, match="navigation needs n_actions"):
        behavior_from_frame(df, "navigation")
    with pytest.raises(EventsError, match=r"row 1\), column 'terminated': ends an episode"):
        behavior_from_frame(df, "navigation", n_actions=4)
    ok = behavior_from_frame(df.assign(terminated=[0, 0, 1, 0]), "navigation", n_actions=4)
    assert ok.n_states == 4
    np.testing.assert_array_equal(ok.episode, [0, 0, 0, 1])


def test_columns_config_validates():
    with pytest.raises(TypeError, match="non-empty str"):
        EventColumns(choice="")
    with pytest.raises(ValueError, match="task must be one of"):
        behavior_from_frame(pd.DataFrame({"onset": [0.0]}), "maze")
