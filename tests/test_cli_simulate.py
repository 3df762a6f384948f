"""`darkcontrol simulate`: Traces on disk, one run per seed, reproducible, clear errors."""

import numpy as np
import pandas as pd
import pytest

from darkcontrol.cli import main
from darkcontrol.trace import read_trace


def test_simulate_writes_one_run_per_seed_with_config(tmp_path, capsys):
    out = tmp_path / "t.parquet"
    code = main(
        [
            "simulate",
            "--env",
            "darkcontrol/DynaMaze-v0",
            "--agent",
            "q_learning",
            "--set",
            "alpha=0.5",
            "--episodes",
            "3",
            "--seeds",
            "2",
            "--max-steps",
            "300",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    trace = read_trace(out)
    assert sorted(trace["run"].unique()) == [0, 1]
    assert (trace["phase"] == "online").all()  # Q-learning has no offline processing
    cfg = trace.attrs["darkcontrol"]["config"]
    assert cfg["params"] == {"alpha": 0.5} and cfg["seeds"] == [0, 1]
    assert trace.attrs["darkcontrol"]["darkcontrol_version"]
    # the default clock: a 1-s trial then a 1-s inter-trial interval
    assert cfg["clock"] == {"trial_s": 1.0, "iti_s": 1.0, "rest_s": 0.0, "offline_dt": None}
    r0 = trace[(trace["run"] == 0) & (trace["episode"] == 0)]
    assert r0["time"].diff().dropna().eq(2.0).all()
    assert "wrote" in capsys.readouterr().out


def test_same_seed_same_trace(tmp_path):
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    for p in paths:
        assert (
            main(
                [
                    "simulate",
                    "--agent",
                    "q_learning",
                    "--episodes",
                    "2",
                    "--max-steps",
                    "200",
                    "--out",
                    str(p),
                    "--quiet",
                ]
            )
            == 0
        )
    pd.testing.assert_frame_equal(read_trace(paths[0]), read_trace(paths[1]))


@pytest.mark.parametrize("agent", ["q_learning", "dyna_q", "dmn"])
def test_clock_flags_set_the_onsets_of_every_agent(tmp_path, agent):
    """--trial-duration, --iti and --offline-dt reach the one runner for every agent, the DMN
    included (they used to be dropped on its own code path)."""
    out = tmp_path / "t.parquet"
    argv = ["simulate", "--agent", agent, "--episodes", "2", "--max-steps", "40", "--quiet"]
    argv += ["--trial-duration", "7", "--iti", "3", "--offline-dt", "0.05", "--out", str(out)]
    assert main(argv) == 0
    trace = read_trace(out)
    online = trace[trace["phase"] == "online"]
    # trial k starts at 10 k s (7 s trial + 3 s ITI; <= 60 offline steps 0.05 s apart fit in it)
    assert online["time"].to_numpy().tolist() == [10.0 * k for k in range(len(online))]
    assert trace.attrs["darkcontrol"]["config"]["clock"]["trial_s"] == 7.0
    offline = trace[trace["phase"] == "offline"]
    if agent != "q_learning":
        assert len(offline) > 0
        # every offline step lies in an ITI, 7 to 10 s after its trial's onset, the steps of
        # one ITI 0.05 s apart from its start
        t = offline["time"].to_numpy()
        window = np.floor(t / 10.0 + 1e-9)
        since = t - 10.0 * window
        assert ((since >= 7.0 - 1e-9) & (since < 10.0)).all()
        for w in np.unique(window):
            np.testing.assert_allclose(
                since[window == w], 7.0 + 0.05 * np.arange((window == w).sum())
            )


def test_dmn_agent_from_the_command_line(tmp_path):
    out = tmp_path / "dmn.parquet"
    code = main(
        [
            "simulate",
            "--agent",
            "dmn",
            "--set",
            "account=sentinel",
            "--episodes",
            "2",
            "--max-steps",
            "150",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    trace = read_trace(out)
    assert (trace["phase"] == "offline").any()
    assert trace["time"].is_monotonic_increasing


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--agent", "nonesuch"], "unknown agent 'nonesuch'"),
        (["--env", "darkcontrol/Nowhere-v0"], "unknown environment"),
        (["--set", "alpha"], "expected key=value"),
        (["--set", "alpha=2.0"], "alpha must be in (0, 1], got 2"),
        (["--set", "learning_rate=0.1"], "unknown parameter(s) ['learning_rate']"),
        (["--episodes", "0"], "--episodes: must be >= 1"),
        (["--max-steps", "0"], "--max-steps: must be >= 1"),
        (["--set", "alpha=abc"], "alpha must be a number"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(tmp_path, capsys, argv, message):
    code = main(["simulate", *argv, "--out", str(tmp_path / "x.parquet"), "--quiet"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.parquet").exists()


def test_list(capsys):
    assert main(["simulate", "--list"]) == 0
    out = capsys.readouterr().out
    assert "darkcontrol/DynaMaze-v0" in out and "dyna_q" in out and "dmn" in out


def test_existing_out_is_replaced_only_with_force(tmp_path, capsys):
    out = tmp_path / "t.parquet"
    argv = ["simulate", "--env", "darkcontrol/Bandit-v0", "--episodes", "1", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    before = out.read_bytes()
    out.write_bytes(b"mine")
    assert main([*argv, "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"mine"
    assert main([*argv, "--out", str(out), "--force"]) == 0
    assert out.read_bytes() == before  # same seed, same Trace
