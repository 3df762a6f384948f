"""The main job: the whole study on the embedded default, with an HTML report.

``darkcontrol demo`` (and ``make demo``) simulate DMN agents, derive region regressors,
synthesise a multi-participant fMRI dataset with planted effects, fit ROI and voxelwise GLMs,
fit the agent back to behaviour, relate the node series to policy and value changes
(descriptive; the test of the node hypotheses is scripts/dmn_node_hypotheses.py) and write
``report.html``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from darkcontrol.demo.config import DemoConfig


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS on one thread while the demo runs (restored after). Its linear algebra is small
    (L-BFGS-B on 2 parameters, 200-scan GLMs): a second BLAS thread does not speed it up, its
    spin-waits after every call cost the fits 4x their CPU time on a 2-core machine. The
    numbers do not change (BLAS threads split rows, not the order of any sum)."""
    try:
        import scipy.linalg  # noqa: F401  (load scipy's BLAS too, before the limit)
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn (nilearn)
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def run_demo(
    config: DemoConfig | None = None,
    out_dir: str | Path = "demo_output",
    *,
    progress: bool = False,
    log=print,
    argv: list[str] | None = None,
    jobs: int | None = None,
):
    """Run the study and write the report; returns (DemoResult, path of report.html).

    ``jobs``: worker processes for the first-level GLMs and the glass brains (None: the
    machine's cores, at most 2; 1: all in this process). The numbers do not depend on it."""
    from darkcontrol import __version__
    from darkcontrol.demo.report import write_outputs, write_report
    from darkcontrol.demo.study import run_study, write_example_run

    config = config or DemoConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with single_threaded_blas():
        result = run_study(config, progress=progress, log=log, jobs=jobs)
        write_outputs(result, out_dir, __version__)
        write_example_run(result, out_dir)  # sub-01_bold.nii.gz, _events.tsv, _beh.tsv
        report = write_report(result, out_dir, __version__, argv, jobs=jobs)
    log(f"wrote {report}")
    return result, report


__all__ = ["DemoConfig", "run_demo"]
