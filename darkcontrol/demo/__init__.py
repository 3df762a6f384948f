"""The main job: the whole study on the embedded default, with an HTML report.

``darkcontrol demo`` (and ``make demo``) simulate DMN agents, derive region regressors,
synthesise a multi-participant fMRI dataset with planted effects, fit ROI and voxelwise GLMs,
fit the agent back to behaviour, test the paper's node hypotheses and write ``report.html``.
"""

from __future__ import annotations

from pathlib import Path

from darkcontrol.demo.config import DemoConfig


def run_demo(
    config: DemoConfig | None = None,
    out_dir: str | Path = "demo_output",
    *,
    progress: bool = False,
    log=print,
    argv: list[str] | None = None,
):
    """Run the study and write the report; returns (StudyResult, path of report.html)."""
    from darkcontrol import __version__
    from darkcontrol.demo.report import write_outputs, write_report
    from darkcontrol.demo.study import run_study, write_example_run

    config = config or DemoConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = run_study(config, progress=progress, log=log)
    write_outputs(result, out_dir, __version__)
    write_example_run(result, out_dir)  # sub-01_bold.nii.gz, _events.tsv, _beh.tsv
    report = write_report(result, out_dir, __version__, argv)
    log(f"wrote {report}")
    return result, report


__all__ = ["DemoConfig", "run_demo"]
