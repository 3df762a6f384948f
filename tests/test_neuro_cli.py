"""`darkcontrol regressors` and `darkcontrol glm` end to end, and the HTML report."""

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest

from darkcontrol.cli import main
from darkcontrol.neuro.design import DesignConfig, make_design
from darkcontrol.neuro.events import read_events, trace_to_events, write_events
from darkcontrol.neuro.synthetic import SyntheticConfig, simulate_bold
from darkcontrol.trace import TraceRecorder, write_trace


@pytest.fixture(autouse=True)
def _offline_nilearn(tmp_path, monkeypatch):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))


def assert_images_decode(html_path):
    import matplotlib.image as mpimg

    text = html_path.read_text()
    srcs = re.findall(r'<img src="([^"]+)"', text)
    assert len(srcs) >= 3
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        img = mpimg.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")
        assert img.shape[0] > 50 and img.shape[1] > 50


STEM = "sub-01_task-sim_run-1"  # Trace run 0 of a Trace without an env in its metadata


def bandit_trace(path):
    from darkcontrol.simulation import simulate

    # one 1-s trial after the other (no inter-trial interval): the 110 scans below cover them
    trace, _ = simulate("darkcontrol/Bandit-v0", "q_learning", episodes=1, clock={"iti_s": 0.0})
    write_trace(trace, path, config={"test": True})
    return trace


def test_regressors_cli_writes_events_design_figure_and_diagnostics(tmp_path, capsys):
    trace_path = tmp_path / "trace.parquet"
    trace = bandit_trace(trace_path)
    out = tmp_path / "reg"
    code = main(
        [
            "regressors",
            str(trace_path),
            "--tr",
            "2",
            "--n-scans",
            "110",
            "--quantities",
            "rpe,vmPFC",
            "--hrf",
            "spm + derivative",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert "run 0" in capsys.readouterr().out
    events = read_events(out / f"{STEM}_events.tsv")
    n = int((trace["phase"] == "online").sum())
    # the vmPFC node's regressor is named after its quantity, Q(s, a)
    assert events["trial_type"].value_counts().to_dict() == {"trial": n, "rpe": n, "q": n}
    design = pd.read_csv(out / f"{STEM}_design.tsv", sep="\t", index_col=0)
    assert {"rpe", "rpe_derivative", "q", "trial"} <= set(design.columns)
    assert design.shape[0] == 110
    assert (out / f"{STEM}_design.png").stat().st_size > 1000
    assert (out / f"{STEM}_vif.tsv").exists() and (out / f"{STEM}_design.json").exists()


def test_regressors_cli_reports_offline_collisions_as_a_usage_error(tmp_path, capsys):
    from darkcontrol.simulation import simulate

    # offline_dt=0: every replay step of a burst shares the onset of its ITI
    trace, _ = simulate("darkcontrol/TwoStep-v0", "dyna_q", episodes=20, clock={"offline_dt": 0.0})
    path = tmp_path / "dyna.parquet"
    write_trace(trace, path)
    args = [
        "regressors",
        str(path),
        "--tr",
        "2",
        "--n-scans",
        "40",
        "--quantities",
        "PMC",
        "--phases",
        "online,offline",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(args) == 2
    assert "SUM" in capsys.readouterr().err  # replay steps at one instant would be summed
    assert main([*args, "--collisions", "sum"]) == 0


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One participant, two runs of synthetic BOLD with BIDS events and fMRIPrep confounds."""
    root = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(0)
    paths = {"bold": [], "events": [], "confounds": []}
    for run in range(2):
        rec = TraceRecorder(run=run)
        rec.begin_episode()
        for t in range(28):
            rec.time = 7.0 * t + rng.uniform(0, 2)
            rec.online(rpe=rng.normal(), q=rng.normal())
        ev = trace_to_events(rec.to_frame(), quantities=("rpe",), online_duration=2.0)
        dm = make_design(ev, DesignConfig(t_r=2.0, n_scans=100))
        sim = simulate_bold(dm, {"rTPJ": {"rpe": 5.0}}, SyntheticConfig(), seed=10 + run)
        paths["bold"].append(root / f"run-{run}_bold.nii.gz")
        sim.img.to_filename(paths["bold"][-1])
        paths["events"].append(write_events(ev, root / f"run-{run}_events.tsv")[0])
        paths["confounds"].append(root / f"run-{run}_confounds.tsv")
        sim.confounds.to_csv(paths["confounds"][-1], sep="\t", index=False, na_rep="n/a")
    return root, paths


def test_glm_cli_fits_reports_and_finds_the_planted_node(study, capsys):
    root, paths = study
    out = root / "glm"
    code = main(
        [
            "glm",
            "--bold",
            *map(str, paths["bold"]),
            "--events",
            *map(str, paths["events"]),
            "--confounds",
            *map(str, paths["confounds"]),
            "--confound-strategy",
            "motion12",
            "--confound-nan",
            "fill_first_row",
            "--tr",
            "2",
            "--contrasts",
            "rpe",
            "--scaling",
            "none",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "mask: nilearn MNI152 brain mask" in printed
    table = pd.read_csv(out / "roi_table.tsv", sep="\t")
    fixed = table[table["run"] == "fixed"].set_index(["roi", "regressor"])
    assert fixed.loc[("rTPJ", "rpe"), "p"] < 1e-8
    assert abs(fixed.loc[("rTPJ", "rpe"), "beta"] - 5.0) < 3 * fixed.loc[("rTPJ", "rpe"), "se"]
    nulls = fixed.xs("rpe", level="regressor").drop(index="rTPJ")
    assert (nulls["p"] > 0.05 / len(nulls)).all()
    assert (out / "zmap_rpe.nii.gz").exists() and (out / "zmap_rpe_thresholded.nii.gz").exists()
    assert '"darkcontrol_version"' in (out / "config.json").read_text()
    assert_images_decode(out / "report.html")
    html = (out / "report.html").read_text()
    assert "ROI x regressor" in html and "darkcontrol" in html


def test_glm_cli_input_errors_are_clear(study, capsys):
    root, paths = study
    base = ["glm", "--bold", str(paths["bold"][0]), "--events", str(paths["events"][0])]
    assert main([*base, "--tr", "2.5", "--out", str(root / "x")]) == 2
    assert "pixdim[4] = 2 s" in capsys.readouterr().err
    assert (
        main(
            [
                *base,
                "--tr",
                "2",
                "--confounds",
                str(paths["confounds"][0]),
                "--confound-strategy",
                "motion24",
                "--out",
                str(root / "x"),
            ]
        )
        == 2
    )
    assert "--confound-nan fill_first_row" in capsys.readouterr().err
    assert main(["glm", "--bold", "a.nii.gz", "--tr", "2"]) == 2  # events or trace required


@pytest.mark.slow
def test_glm_cli_from_a_trace(study, tmp_path):
    root, paths = study
    rec = TraceRecorder()
    rec.begin_episode()
    rng = np.random.default_rng(5)
    for t in range(25):
        rec.time = 7.5 * t
        rec.online(rpe=rng.normal(), q=rng.normal())
    write_trace(rec.to_frame(), tmp_path / "t.parquet")
    out = tmp_path / "glm"
    code = main(
        [
            "glm",
            "--bold",
            str(paths["bold"][0]),
            "--trace",
            str(tmp_path / "t.parquet"),
            "--quantities",
            "rpe,q",
            "--tr",
            "2",
            "--contrasts",
            "q",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    table = pd.read_csv(out / "roi_table.tsv", sep="\t")
    assert set(table["regressor"]) == {"trial", "rpe", "q"}
    assert_images_decode(out / "report.html")


def test_regressors_n_scans_auto_covers_each_run(tmp_path, capsys):
    rec = TraceRecorder(run=0)
    rec.begin_episode()
    for t in (0.0, 40.0, 99.0):
        rec.time = t
        rec.online(rpe=float(t))
    rec2 = TraceRecorder(run=1)
    rec2.begin_episode()
    for t in (0.0, 10.0, 30.5):
        rec2.time = t
        rec2.online(rpe=float(t))
    trace = pd.concat([rec.to_frame(), rec2.to_frame()], ignore_index=True)
    write_trace(trace, tmp_path / "t.parquet", {})
    argv = ["regressors", str(tmp_path / "t.parquet"), "--tr", "2", "--n-scans", "auto"]
    argv += ["--quiet", "--out", str(tmp_path / "reg")]
    assert main(argv) == 0, capsys.readouterr().err
    # ceil((last onset + 1 s duration + 16 s HRF tail) / TR)
    for run, n in ((0, 58), (1, 24)):
        design = pd.read_csv(
            tmp_path / "reg" / f"sub-{run + 1:02d}_task-sim_run-1_design.tsv", sep="\t", index_col=0
        )
        assert len(design) == n
    assert main(argv) == 2 and "--force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0
