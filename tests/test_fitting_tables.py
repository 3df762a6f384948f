"""``darkcontrol fit`` on behaviour tables as other toolboxes export them (one long table, a
subject column, 1-based choices, no onsets; two-step second stage coded 1..4) gives exactly
the fits of the same data converted by hand to BIDS events files; fits are saved as they are
made, a kill resumes without refitting, and a failed derived step keeps the fits.

Parameter and model names come from the model registry (never hard-coded)."""

import json
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.cli import main
from darkcontrol.neuro.likelihood import make_model, models_for_task


def _mid_params(model):
    return {p.name: float(np.mean(p.sim_range)) for p in model.free_params}


def _two_step_model() -> str:
    """The richest two-step model of the registry (the full hybrid, whatever its name)."""
    return max(models_for_task("two_step"), key=lambda n: make_model(n).n_free)


def _simulate(model_name, env, n_subjects, n_trials, seed=0):
    m = make_model(model_name)
    params = _mid_params(m)
    return [
        m.simulate(params, gym.make(env), n_trials=n_trials, seed=seed + i, participant=f"s{i}")
        for i in range(n_subjects)
    ]


def _fits(out):
    return pd.read_csv(out / "fits.tsv", sep="\t")


def _same_fits(a: pd.DataFrame, b: pd.DataFrame, free):
    assert list(a["participant"]) == list(b["participant"])
    for col in [*free, "nll", "bic", "n_trials", "n_at_best", *[f"se_{p}" for p in free]]:
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-12)


def test_long_bandit_table_with_1_based_choices_equals_the_converted_bids_files(tmp_path, capsys):
    behaviors = _simulate("q_learning", "darkcontrol/RestlessBandit-v0", 20, 80)
    # the long table a toolbox exports: subjID, trial, 1-based choice, outcome; no onsets
    table = pd.concat(
        [
            pd.DataFrame(
                {
                    "subjID": i + 1,
                    "trial": np.arange(1, b.n_trials + 1),
                    "choice": b.choice + 1,
                    "outcome": b.outcome,
                }
            )
            for i, b in enumerate(behaviors)
        ]
    )
    csv = tmp_path / "bandit.csv"
    table.to_csv(csv, index=False)
    cols = "subject=subjID,choice=choice,outcome=outcome"
    args = ["--agent", "q_learning", "--starts", "2", "--quiet"]
    # a misnamed subject column is an error, not one big participant
    bad = ["--columns", "subject=subject_id", *args, "--out", str(tmp_path / "x")]
    assert main(["fit", str(csv), *bad]) == 2
    assert "no subject column 'subject_id'" in capsys.readouterr().err
    # 1-based choices without --choice-base are an error that says what to pass
    assert main(["fit", str(csv), "--columns", cols, *args, "--out", str(tmp_path / "x")]) == 2
    assert "--choice-base 1" in capsys.readouterr().err
    out = tmp_path / "table"
    assert main(["fit", str(csv), "--columns", cols, "--choice-base", "1", *args,
                 "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "read 20 participant(s), 1600 trials" in printed and "4 actions" in printed
    # the hand conversion the issue describes: per subject, 0-based, onsets invented
    files = []
    for sid, rows in table.groupby("subjID", sort=False):
        ev = pd.DataFrame(
            {
                "onset": 3.0 * np.arange(len(rows)),
                "duration": 2.0,
                "choice": rows["choice"].to_numpy() - 1,
                "outcome": rows["outcome"].to_numpy(),
            }
        )
        path = tmp_path / "bids" / f"sub-{sid}_task-bandit_events.tsv"
        path.parent.mkdir(exist_ok=True)
        ev.to_csv(path, sep="\t", index=False)
        files.append(str(path))
    ref = tmp_path / "ref"
    assert main(["fit", *files, "--n-actions", "4", *args, "--out", str(ref)]) == 0
    free = make_model("q_learning").free_names
    a, b = _fits(out), _fits(ref)
    assert list(a["participant"]) == [f"sub-{i}" for i in range(1, 21)]
    _same_fits(a, b, free)
    # natural-scale SEs are the delta method of the unbounded ones: se = |dx/du| se_u
    m = make_model("q_learning")
    for p in m.free_params:
        x = a[p.name].to_numpy(float)
        ok = a[f"at_bound_{p.name}"].to_numpy() == "no"
        u = p.to_unbounded(x)
        dxdu = (p.to_natural(u + 1e-6) - p.to_natural(u - 1e-6)) / 2e-6
        np.testing.assert_allclose(
            a[f"se_{p.name}"].to_numpy(float)[ok], (dxdu * a[f"se_u_{p.name}"])[ok], rtol=1e-4
        )
        assert a[f"se_{p.name}"][~ok].isna().all()
    assert ((a["n_at_best"] >= 1) & (a["n_at_best"] <= a["n_starts"])).all()
    # the trial-wise traces exist and run over trial indices (no onsets in the table)
    tr = pd.read_csv(out / "trialwise.tsv", sep="\t")
    assert len(tr) == 1600 and tr.groupby("run")["time"].max().eq(79).all()


def test_random_choices_put_beta_at_its_lower_bound_and_flag_it(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    table = pd.DataFrame({"sub": "a", "resp": rng.integers(1, 3, n), "rew": rng.integers(0, 2, n)})
    path = tmp_path / "random.tsv"
    table.to_csv(path, sep="\t", index=False)
    out = tmp_path / "o"
    code = main(["fit", str(path), "--columns", "subject=sub,choice=resp,outcome=rew",
                 "--choice-base", "1", "--starts", "3", "--quiet", "--out", str(out)])  # fmt: skip
    assert code == 0
    row = _fits(out).iloc[0]
    m = make_model("q_learning")
    temp = [p for p in m.free_params if p.transform == "log"]  # the inverse temperature
    assert temp, "q_learning has a log-scaled inverse temperature"
    name = temp[0].name
    assert row[f"at_bound_{name}"] == "lower" and pd.isna(row[f"se_{name}"])
    assert row[name] < 1e-2


def test_reversal_learning_table_equals_the_converted_files(tmp_path, capsys):
    behaviors = _simulate("q_learning", "darkcontrol/ReversalBandit-v0", 6, 100, seed=10)
    table = pd.concat(
        [
            pd.DataFrame(
                {
                    "participant_id": f"P{i:02d}",
                    "onset": b.onset,
                    "response": b.choice + 1,
                    "feedback": b.outcome,
                }
            )
            for i, b in enumerate(behaviors)
        ],
        ignore_index=True,
    )
    table.loc[5, "response"] = np.nan  # a missed response, exported as NA
    tsv = tmp_path / "reversal.tsv"
    table.to_csv(tsv, sep="\t", index=False, na_rep="n/a")
    cols = ["--columns", "subject=participant_id", "--columns", "choice=response,outcome=feedback"]
    args = ["--choice-base", "1", "--starts", "2", "--quiet"]
    # an n/a choice without --allow-missed: the message says what to pass
    assert main(["fit", str(tsv), *cols, *args, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "line 7 (row 5), column 'response'" in err and "--allow-missed" in err
    out = tmp_path / "t"
    assert main(["fit", str(tsv), *cols, *args, "--allow-missed", "--out", str(out)]) == 0
    files = []
    for pid, rows in table.groupby("participant_id", sort=False):
        ev = rows.rename(columns={"response": "choice", "feedback": "outcome"})
        ev = ev.assign(choice=ev["choice"] - 1).drop(columns="participant_id")
        path = tmp_path / f"sub-{pid}_task-reversal_events.tsv"
        ev.to_csv(path, sep="\t", index=False, na_rep="n/a")
        files.append(str(path))
    ref = tmp_path / "ref"
    code = main(["fit", *files, "--starts", "2", "--quiet", "--allow-missed", "--out", str(ref)])
    assert code == 0
    a, b = _fits(out), _fits(ref)
    _same_fits(a, b, make_model("q_learning").free_names)
    assert a["n_trials"].tolist() == [99, 100, 100, 100, 100, 100]


def test_two_step_table_with_second_stage_1_to_4_equals_the_converted_files(tmp_path, capsys):
    name = _two_step_model()
    behaviors = _simulate(name, "darkcontrol/TwoStep-v0", 4, 80, seed=20)
    # first stage 1/2, second stage 1..4 (1, 2 in state 1; 3, 4 in state 2), no onsets
    table = pd.concat(
        [
            pd.DataFrame(
                {
                    "subj": f"{i + 1}",
                    "stage1": b.choice + 1,
                    "stage2": 2 * (b.next_state - 1) + b.choice2 + 1,
                    "money": b.outcome,
                }
            )
            for i, b in enumerate(behaviors)
        ]
    )
    csv = tmp_path / "twostep.csv"
    table.to_csv(csv, index=False)
    out = tmp_path / "t"
    cols = "subject=subj,choice=stage1,choice2=stage2,outcome=money"
    code = main(["fit", str(csv), "--agent", name, "--columns", cols, "--choice-base", "1",
                 "--starts", "2", "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    share = np.mean([np.mean(b.next_state - 1 == b.choice) for b in behaviors])
    assert f"common-transition share: mean {share:.2f}" in printed and 0.6 < share < 0.8
    files = []
    for i, b in enumerate(behaviors):
        ev = pd.DataFrame(
            {
                "onset": b.onset,
                "choice": b.choice,
                "state2": b.next_state,
                "choice2": b.choice2,
                "outcome": b.outcome,
            }
        )
        path = tmp_path / f"sub-{i + 1}_task-twostep_events.tsv"
        ev.to_csv(path, sep="\t", index=False)
        files.append(str(path))
    ref = tmp_path / "ref"
    args = ["fit", *files, "--agent", name, "--starts", "2", "--quiet", "--out", str(ref)]
    # the converted files have onsets but no onset2: the fits are saved, the traces fail with
    # a message that says how to finish; --resume with the fix refits nobody
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "fits of all 4 participants are saved" in err and "--stage2-delay" in err
    assert len(_fits(ref)) == 4 and not (ref / "trialwise.parquet").exists()
    before = {p.name: p.stat().st_mtime_ns for p in (ref / "participants").iterdir()}
    assert main([*args, "--resume", "--stage2-delay", "1.5"]) == 0
    assert "resumed: 4 participant(s) read back" in capsys.readouterr().out
    assert before == {p.name: p.stat().st_mtime_ns for p in (ref / "participants").iterdir()}
    assert (ref / "trialwise.parquet").exists()
    _same_fits(_fits(out), _fits(ref), make_model(name).free_names)
    # an existing fit is never silently replaced
    assert main(args) == 2 and "--resume" in capsys.readouterr().err


def test_bids_dataset_folder_and_entities(tmp_path):
    behaviors = _simulate("q_learning", "darkcontrol/Bandit-v0", 3, 40, seed=30)
    from darkcontrol.neuro.behavior import write_events

    for i, b in enumerate(behaviors):
        for task in ("bandit", "other"):
            write_events(b, tmp_path / "ds" / f"sub-{i + 1:02d}" / "func"
                         / f"sub-{i + 1:02d}_task-{task}_run-1_events.tsv")  # fmt: skip
    out = tmp_path / "o"
    # two tasks in the dataset: the user must choose one
    assert main(["fit", str(tmp_path / "ds"), "--quiet", "--out", str(out)]) == 2
    args = ["fit", str(tmp_path / "ds"), "--bids-task", "bandit", "--starts", "2", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    assert list(_fits(out)["participant"]) == ["sub-01", "sub-02", "sub-03"]


def test_a_killed_fit_resumes_without_refitting_finished_participants(tmp_path):
    """SIGKILL the CLI after some participants' files exist; --resume reads them back
    (their files untouched) and the result equals an uninterrupted fit."""
    behaviors = _simulate("q_learning", "darkcontrol/RestlessBandit-v0", 24, 150, seed=40)
    table = pd.concat(
        [
            pd.DataFrame({"subject": i, "choice": b.choice, "outcome": b.outcome})
            for i, b in enumerate(behaviors)
        ]
    )
    path = tmp_path / "long.tsv"
    table.to_csv(path, sep="\t", index=False)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "darkcontrol.cli", "fit", str(path), "--starts", "6",
           "--n-actions", "4", "--quiet", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parts = out / "participants"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.exists() and len(list(parts.glob("*_fit.json"))) >= 3:
            break
        time.sleep(0.005)
    if proc.poll() is not None:
        pytest.fail(f"the fit ended before it could be killed: {proc.communicate()[1][-500:]}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in parts.glob("*_fit.json")}
    assert 3 <= len(done) < 24
    # fits.tsv is rewritten after each participant's file: it holds all of them, or all but
    # the last if the kill fell between the two writes
    assert len(_fits(out)) >= len(done) - 1
    res = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert f"resumed: {len(done)} participant(s) read back" in res.stdout
    assert {n: (parts / n).stat().st_mtime_ns for n in done} == done
    assert not list(out.rglob(".*.tmp"))  # no temporary file of a killed write is left
    ref = tmp_path / "ref"
    assert main(["fit", str(path), "--starts", "6", "--n-actions", "4", "--quiet",
                 "--out", str(ref)]) == 0  # fmt: skip
    _same_fits(_fits(out), _fits(ref), make_model("q_learning").free_names)
    meta = json.loads((out / "fit.json").read_text())
    assert len(meta["fits"]) == 24


def test_resume_refuses_fits_made_from_other_data(tmp_path, capsys):
    behaviors = _simulate("q_learning", "darkcontrol/Bandit-v0", 2, 60, seed=50)
    table = pd.concat(
        [
            pd.DataFrame({"subject": i, "choice": b.choice, "outcome": b.outcome})
            for i, b in enumerate(behaviors)
        ],
        ignore_index=True,
    )
    path = tmp_path / "t.tsv"
    table.to_csv(path, sep="\t", index=False)
    args = ["fit", str(path), "--n-actions", "2", "--starts", "2", "--quiet"]
    out = tmp_path / "o"
    assert main([*args, "--out", str(out)]) == 0
    table.loc[3, "outcome"] = 1 - table.loc[3, "outcome"]  # the data changed since
    table.to_csv(path, sep="\t", index=False)
    capsys.readouterr()
    assert main([*args, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "sub-0_fit.json was fitted from other data or another configuration" in err
    assert main([*args, "--out", str(out), "--starts", "3", "--force"]) == 0  # refit all
    assert (_fits(out)["n_starts"] == 3).all()


def test_reader_mappings_on_a_tiny_table(tmp_path):
    """The documented codings, value by value: 1-based choices, the action count over all
    participants, and the two-step option column (options 1, 2 in state 1; 3, 4 in state 2)."""
    from darkcontrol.neuro.behavior import read_behavior_table

    path = tmp_path / "tiny.csv"
    pd.DataFrame({"id": ["A", "A", "B", "B"], "c": [1, 2, 3, 1], "r": [0, 1, 1, 0]}).to_csv(
        path, index=False
    )
    a, b = read_behavior_table(path, "bandit", columns={"subject": "id", "choice": "c",
                                                        "outcome": "r"}, choice_base=1)  # fmt: skip
    assert (a.participant, b.participant) == ("sub-A", "sub-B")
    assert a.n_actions == b.n_actions == 3  # A never chose 3: the group's action set
    np.testing.assert_array_equal(a.choice, [0, 1])
    np.testing.assert_array_equal(b.choice, [2, 0])
    assert not a.timed and list(a.onset) == [0.0, 1.0]
    path = tmp_path / "ts.tsv"
    pd.DataFrame({"s": 1, "c1": [1, 2, 1, 2], "c2": [1, 2, 3, 4], "r": [1, 0, 0, 1]}).to_csv(
        path, sep="\t", index=False
    )
    (ts,) = read_behavior_table(path, "two_step", columns={"subject": "s", "choice": "c1",
                                "choice2": "c2", "outcome": "r"}, choice_base=1)  # fmt: skip
    np.testing.assert_array_equal(ts.choice, [0, 1, 0, 1])
    np.testing.assert_array_equal(ts.next_state, [1, 1, 2, 2])
    np.testing.assert_array_equal(ts.choice2, [0, 1, 0, 1])
    # an option outside 1..4 names its row and the coding
    pd.DataFrame({"s": 1, "c1": [1], "c2": [5], "r": [1]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"line 2 \(row 0\), column 'c2': 5 is outside the "
                       r"second-stage options \(1..4, 1-based\)"):  # fmt: skip
        read_behavior_table(path, "two_step", columns={"subject": "s", "choice": "c1",
                            "choice2": "c2", "outcome": "r"}, choice_base=1)  # fmt: skip
