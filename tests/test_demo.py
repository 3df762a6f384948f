"""The main job: `darkcontrol demo` on a reduced configuration recovers what it planted and
writes a report whose every figure renders."""

import base64
import html as htmllib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from darkcontrol.demo import DemoConfig, run_demo


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    lines = []
    result, report = run_demo(DemoConfig.quick(), out, log=lines.append)
    return result, report, out, lines


# -- rendering in a real browser -------------------------------------------------------------
# flags that work on a closed network as root (see the machine notes): no sandbox, no GPU and
# no background connections
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# appended to a copy of the report: after load, every <img> is decoded (naturalWidth), laid
# out (a box of non-zero size, not hidden) and drawn on a canvas to measure its pixel spread
_CHECK = """<script>
window.addEventListener('load', () => {
  const out = [...document.images].map((im, i) => {
    const r = im.getBoundingClientRect(), st = getComputedStyle(im);
    let sd = -1;
    if (im.naturalWidth > 0) {
      const c = document.createElement('canvas'); c.width = 64; c.height = 64;
      const g = c.getContext('2d'); g.drawImage(im, 0, 0, 64, 64);
      const d = g.getImageData(0, 0, 64, 64).data; let s = 0, s2 = 0, n = 0;
      for (let k = 0; k < d.length; k += 4) {
        const y = (d[k] + d[k + 1] + d[k + 2]) / 3; s += y; s2 += y * y; n++; }
      sd = Math.sqrt(Math.max(s2 / n - (s / n) ** 2, 0));
    }
    return {i: i, w: im.naturalWidth, h: im.naturalHeight, box_w: r.width, box_h: r.height,
            shown: st.display !== 'none' && st.visibility !== 'hidden', sd: sd,
            inline: im.src.startsWith('data:image/png;base64,')};
  });
  const pre = document.createElement('pre'); pre.id = 'render-check';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"""


def _find_chromium():
    for name in CHROMIUM_NAMES:
        if shutil.which(name):
            return shutil.which(name)
    return None


def _install_chromium():
    """apt-get install chromium (after apt-get update if the first try fails), one worker at
    a time: apt fails at once while another apt holds its lock, so pytest-xdist workers queue
    on a file lock and a worker that waited finds Chromium installed."""
    import fcntl

    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/bin"}
    with open(Path(tempfile.gettempdir()) / "darkcontrol-chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for cmd in (["apt-get", "install", "-y", "chromium"], ["apt-get", "update"],
                    ["apt-get", "install", "-y", "chromium"]):  # fmt: skip
            if _find_chromium() is not None:
                break
            try:
                subprocess.run(cmd, capture_output=True, timeout=900, env=env)
            except (OSError, subprocess.TimeoutExpired):
                break
    return _find_chromium()


@pytest.fixture(scope="session")
def chromium():
    """The system Chromium; installed with apt-get when missing (as root), else skipped."""
    exe = _find_chromium()
    if exe is None and shutil.which("apt-get"):
        exe = _install_chromium()
    if exe is None:
        pytest.skip("no Chromium: 'apt-get install chromium' failed or is unavailable here")
    return exe


def render_check(chromium_exe: str, report: Path, tmp_path: Path) -> list[dict]:
    """Open a copy of ``report`` alone in an empty folder in headless Chromium; the image
    check of every ``<img>`` after load (see _CHECK)."""
    page = tmp_path / "alone" / "report.html"
    page.parent.mkdir()
    text = Path(report).read_text()
    page.write_text(text.replace("</body>", _CHECK + "</body>"))
    proc = subprocess.run(
        [chromium_exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'<pre id="render-check">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"the check did not run: {proc.stdout[-500:]} {proc.stderr[-500:]}"
    return json.loads(htmllib.unescape(found.group(1)))


def _assert_all_visible(images: list[dict], at_least: int) -> None:
    assert len(images) >= at_least
    for im in images:
        assert im["inline"], f"image {im['i']} is not embedded"
        assert im["w"] > 100 and im["h"] > 100, f"image {im['i']} did not decode: {im}"
        assert im["shown"] and im["box_w"] > 50 and im["box_h"] > 50, f"image {im['i']}: {im}"
        assert im["sd"] > 2, f"image {im['i']} is blank: {im}"


def test_browser_check_sees_decoded_and_broken_images(chromium, tmp_path):
    """The check itself: a real figure passes, a corrupt PNG and a hidden image fail."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from darkcontrol.demo.html import Report

    rep = Report(tmp_path / "r", "check")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    rep.figure(fig, "line")
    bad = base64.b64encode(b"\x89PNG\r\n\x1a\n-not-a-png").decode()
    rep.parts.append(f"<img src='data:image/png;base64,{bad}'>")
    rep.parts.append(f"<img style='display:none' src='data:image/png;base64,{bad}'>")
    images = render_check(chromium, rep.write(), tmp_path)
    assert len(images) == 3 and not list((tmp_path / "r").glob("figures"))
    good, broken, hidden = images
    _assert_all_visible([good], 1)
    assert broken["w"] == 0 and not hidden["shown"]


@pytest.mark.slow
def test_report_renders_in_headless_chromium(demo, chromium, tmp_path):
    """The demo's report alone in an empty folder (as if mailed): every figure is embedded,
    decodes, is laid out visibly and is not blank."""
    _, report, out, _ = demo
    assert not (out / "figures").exists()
    _assert_all_visible(render_check(chromium, Path(report), tmp_path), at_least=10)


@pytest.mark.slow
def test_report_figures_render(demo):
    import io

    import matplotlib.image as mpimg

    _, report, _, _ = demo
    parser = _Images()
    parser.feed(Path(report).read_text())
    assert len(parser.srcs) >= 10
    for src in parser.srcs:
        assert src.startswith("data:image/png;base64,"), src[:40]
        img = mpimg.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))  # decodes
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
        assert img[..., :3].std() > 0.01, "blank figure"


@pytest.mark.slow
def test_planted_effects_are_recovered_without_bias_and_power_is_reported(demo):
    """Planted effects of 0.2-0.5 % signal change: detection is not certain, so the test is
    that every estimate is consistent with its planted value (within 3 SE), unplanted cells
    rarely survive FDR, and the report states the detections and each effect's power."""
    result, report, _, _ = demo
    rec = result.recovery
    planted = rec[rec["planted"] != 0]
    assert len(planted) == 4
    assert planted["planted"].abs().between(0.2, 0.5).all()
    assert ((planted["recovered"] - planted["planted"]).abs() <= 3 * planted["se"]).all(), planted
    false_pos = rec[(rec["planted"] == 0) & rec["significant"]]
    assert len(false_pos) <= 1, false_pos
    html = Path(report).read_text()
    found = re.search(r"Detected <b>(\d) of 4</b> planted effects; expected from the "
                      r"estimated powers: ([\d.]+)", html)  # fmt: skip
    assert found and int(found.group(1)) == int(planted["significant"].sum())
    assert 0 < float(found.group(2)) <= 4
    powers = [float(x) for x in re.findall(r"detected at power ([\d.]+)", html)]
    assert len(powers) == 4 and all(0 <= x <= 1 for x in powers)


def test_detection_power_matches_the_noncentral_t_and_fdr():
    """The simulated power of a planted cell with noncentrality d: ~0.05-ish at d = 0 for a
    lone cell, rising with d, and exactly the analytic two-sided power when it is the only
    cell (BH over one test is the plain test)."""
    import pandas as pd
    from scipy import stats

    from darkcontrol.demo.report import detection_power

    cfg = DemoConfig.quick()
    df = cfg.n_participants - 1
    tc = stats.t.ppf(1 - cfg.alpha_level / 2, df)
    for d in (1.0, 3.0):
        rec = pd.DataFrame({"planted": [d * 0.1], "se": [0.1]})
        exact = stats.nct.sf(tc, df, d) + stats.nct.cdf(-tc, df, d)
        assert detection_power(rec, cfg, n_sims=20000)[0] == pytest.approx(exact, abs=0.015)
    # among many null cells the FDR correction costs power
    rec = pd.DataFrame({"planted": [0.3] + [0.0] * 30, "se": [0.1] * 31})
    alone = detection_power(rec.iloc[:1], cfg)[0]
    crowd = detection_power(rec, cfg)
    assert crowd[0] < alone and np.isnan(crowd[1:]).all()


@pytest.mark.slow
def test_voxelwise_maps_have_no_false_positives_and_empty_maps_stay_empty(demo):
    """With realistic effects little may survive voxelwise FDR; what must hold: almost no
    voxel outside the planted nodes survives, a map with an infinite threshold (nothing
    survives) is empty, and its glass brain says so instead of plotting noise."""
    result, report, _, _ = demo
    vox = result.voxel["table"].set_index("regressor")
    assert (vox["false_positive_share"] < 0.01).all()
    for reg, m in result.voxel["maps"].items():
        n = int(np.count_nonzero(np.asarray(m["thresholded"].dataobj)))
        assert (n == 0) == (not np.isfinite(m["threshold"])), reg
    html = Path(report).read_text()
    empty = [r for r, m in result.voxel["maps"].items() if not np.isfinite(m["threshold"])]
    assert html.count("no voxel survives") >= len(empty)


@pytest.mark.slow
def test_behaviour_and_outputs(demo):
    result, report, out, lines = demo
    fits = result.fits
    # with replay known, the fit is the exact likelihood: recovery must be good
    assert np.corrcoef(fits["alpha_true"], fits["alpha_fit_aware"])[0, 1] > 0.8
    assert np.corrcoef(fits["beta_true"], fits["beta_fit_aware"])[0, 1] > 0.8
    for name in ("traces.parquet", "roi_recovery.tsv", "behaviour_fits.tsv", "config.json"):
        assert (out / name).exists(), name
    assert len(list((out / "events").glob("sub-*_events.tsv"))) == result.config.n_participants
    html = Path(report).read_text()
    assert result.config.to_dict()["seed"] == 0 and "darkcontrol" in html
    # the README walk-through quotes these step lines
    assert [re.match(r"\[(\d)/6\]", line).group(1) for line in lines[:6]] == list("123456")


@pytest.mark.slow
def test_node_hypotheses_are_reported_as_claims_with_controls(demo):
    """Step 6 in the results format: per-participant effects, CIs, a shuffled-map control, and
    the statement that the dissociation study is the test of the hypotheses."""
    from darkcontrol.results import read_results

    result, report, out, lines = demo
    doc = read_results(out)
    assert doc["study"] == "demo_node_hypotheses"
    n = result.config.n_participants
    assert len(doc["config"]["seeds"]) == n
    assert [c["name"] for c in doc["claims"]] == list(result.hypotheses["claim"])
    for c, (_, row) in zip(doc["claims"], result.hypotheses.iterrows()):
        assert c["n"] == n and c["ci"][0] <= c["effect"] <= c["ci"][1]
        assert c["holds"] == bool(row["holds"]) and "dmn_node_hypotheses.py" in c["reason"]
        assert [k["name"] for k in c["controls"]] == ["shuffled_map"]
        assert c["controls"][0]["holds"] == bool(row["shuffled_map_holds"])
    assert -1 <= doc["checks"]["policy_value_r"]["mean"] <= 1
    assert (out / "node_hypotheses.tsv").exists()
    step6 = lines[5]
    assert step6.startswith("[6/6]") and "scripts/dmn_node_hypotheses.py" in step6
    html = Path(report).read_text()
    section = html[html.index("8. The paper") :]
    assert "descriptive" in section and "scripts/dmn_node_hypotheses.py" in section
    assert "shuffled map" in section and "95 % CI" in section


def test_demo_help_explains_the_steps():
    out = subprocess.run(
        [sys.executable, "-m", "darkcontrol.cli", "demo", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert "synthesise" in out.stdout and "--quick" in out.stdout


def test_demo_config_rejects_bad_values():
    with pytest.raises(ValueError, match="n_participants"):
        DemoConfig(n_participants=2)
    with pytest.raises(ValueError, match="alpha_range"):
        DemoConfig(alpha_range=(0.5, 0.2))
    with pytest.raises(ValueError, match="unknown parameter"):
        DemoConfig.quick(n_subjects=3)
    # unknown names are refused before any work, with every valid name listed
    from darkcontrol.agents import AGENTS
    from darkcontrol.envs import ENV_IDS

    with pytest.raises(ValueError, match="unknown env") as info:
        DemoConfig(env="darkcontrol/Nope-v0")
    assert all(e in str(info.value) for e in ENV_IDS)
    with pytest.raises(ValueError, match="unknown agent") as info:
        DemoConfig(agent="nope")
    assert all(a in str(info.value) for a in AGENTS)
    with pytest.raises(ValueError, match="unknown account 'nope'; available"):
        DemoConfig(account="nope")
    with pytest.raises(ValueError, match=r"unknown regressor\(s\) \['amygdala'\]"):
        DemoConfig(regressors=("vmPFC", "amygdala"))
