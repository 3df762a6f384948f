"""Analyses of Traces: replay direction events and the two-step stay-probability regression.

- Replay sequences (Mattar & Daw 2018, Nature Neuroscience 21:1609-1617, their Figure 3):
  :func:`replay_events` finds runs of same-direction replayed steps in the Trace of a
  :class:`darkcontrol.agents.mattar_daw.MattarDawReplay` agent, :func:`direction_summary`
  counts forward vs reverse replay by where it happened.
- The two-step task (Daw, Gershman, Seymour, Dayan & Dolan 2011, Neuron 69:1204-1215, Fig. 2):
  :func:`two_step_trials` extracts one row per trial, :func:`stay_probabilities` tabulates
  P(repeat the stage-1 choice) by the previous trial's reward x transition, and
  :func:`stay_regression` fits logit P(stay) = b0 + b1 r + b2 t + b3 r t by maximum likelihood:
  model-free choice shows a reward main effect (b1), model-based choice a reward x transition
  interaction (b3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from darkcontrol.agents.tabular import check_count
from darkcontrol.agents.two_step import STAGE1, STAGE2


# -- replay direction ----------------------------------------------------------------------
def replay_events(trace: pd.DataFrame, min_length: int = 4) -> pd.DataFrame:
    """Sequential replay events: maximal runs of >= ``min_length`` consecutive replayed steps in
    the same direction within a bout (the reference code's criterion: >= 5 states, i.e. 4
    transitions). One row per event: run, episode, replay_bout, replay_at, direction, length
    (steps continuing the sequence), first and last (``replay_order`` of the event's first and
    last replayed transitions: the first is the row the sequence continues from)."""
    check_count("min_length", min_length, 1)
    off = _replay_rows(trace)
    rows = []
    for (run, bout), g in off.groupby(["run", "replay_bout"], sort=True):
        dirs = g["direction"].tolist()
        orders = g["replay_order"].tolist()
        where, ep = g["replay_at"].iloc[0], int(g["episode"].iloc[0])
        i = 0
        while i < len(dirs):
            j = i
            while j + 1 < len(dirs) and dirs[j + 1] == dirs[i]:
                j += 1
            if dirs[i] != "none" and j - i + 1 >= min_length:
                # the step before the run is the event's first state (its "none" or other row)
                first = orders[i - 1] if i > 0 else orders[i]
                rows.append((run, ep, bout, where, dirs[i], j - i + 1, int(first), int(orders[j])))
            i = j + 1
    cols = ["run", "episode", "replay_bout", "replay_at", "direction", "length", "first", "last"]
    return pd.DataFrame(rows, columns=cols)


def direction_summary(trace: pd.DataFrame, min_length: int = 4) -> pd.DataFrame:
    """Forward vs reverse replay by where replay happened (``replay_at``).

    Columns: ``n_rows`` (replayed steps), ``forward``/``reverse`` (steps continuing a forward /
    reverse sequence), ``forward_share`` = forward / (forward + reverse), and the same for
    events of >= ``min_length`` steps (``forward_events``, ``reverse_events``,
    ``forward_event_share``)."""
    off = _replay_rows(trace)
    ev = replay_events(trace, min_length)
    out = []
    for where in sorted(off["replay_at"].unique()):
        g = off[off["replay_at"] == where]
        e = ev[ev["replay_at"] == where]
        f, r = int((g["direction"] == "forward").sum()), int((g["direction"] == "reverse").sum())
        fe, re_ = int((e["direction"] == "forward").sum()), int((e["direction"] == "reverse").sum())
        out.append(
            {
                "replay_at": where,
                "n_rows": len(g),
                "forward": f,
                "reverse": r,
                "forward_share": f / (f + r) if f + r else np.nan,
                "forward_events": fe,
                "reverse_events": re_,
                "forward_event_share": fe / (fe + re_) if fe + re_ else np.nan,
            }
        )
    return pd.DataFrame(out).set_index("replay_at")


def _replay_rows(trace: pd.DataFrame) -> pd.DataFrame:
    need = {"replay_bout", "replay_order", "replay_at", "direction"}
    missing = need - set(trace.columns)
    if missing:
        raise ValueError(
            f"the Trace has no {sorted(missing)} columns: record it with a MattarDawReplay agent "
            "in 'full' mode"
        )
    off = trace[(trace["phase"] == "offline") & trace["replay_bout"].notna()]
    return off.sort_values(["run", "replay_bout", "replay_order"], kind="stable")


# -- the two-step task ---------------------------------------------------------------------
TRIAL_COLUMNS = ("participant", "trial", "choice1", "state2", "choice2", "reward", "common")


def two_step_trials(trace: pd.DataFrame, common_prob: float = 0.7) -> pd.DataFrame:
    """One row per trial of a two-step Trace: participant (``run``), trial (``episode``),
    choice1, state2, choice2, reward, common.

    ``common`` comes from the Trace's ``common`` column when there is one, else from the task's
    layout (action a commonly leads to state a + 1 when ``common_prob`` > 0.5). A trial without
    both a stage-1 and a stage-2 online row raises ValueError."""
    need = {"run", "episode", "phase", "state", "action", "next_state", "reward"}
    missing = need - set(trace.columns)
    if missing:
        raise ValueError(f"the Trace lacks columns {sorted(missing)}")
    on = trace[trace["phase"] == "online"]
    st = on["state"].astype("float64")
    s1 = on[st == STAGE1]
    s2 = on[st.isin(STAGE2)]
    keys = ["run", "episode"]
    if s1.duplicated(keys).any() or s2.duplicated(keys).any():
        raise ValueError("a trial (run, episode) has more than one row for the same stage")
    a = pd.DataFrame(
        {
            "participant": s1["run"].to_numpy(np.int64),
            "trial": s1["episode"].to_numpy(np.int64),
            "choice1": s1["action"].to_numpy(np.int64),
            "state2": s1["next_state"].to_numpy(np.int64),
        }
    )
    b = pd.DataFrame(
        {
            "participant": s2["run"].to_numpy(np.int64),
            "trial": s2["episode"].to_numpy(np.int64),
            "choice2": s2["action"].to_numpy(np.int64),
            "reward": s2["reward"].to_numpy(np.float64),
            "_state": s2["state"].to_numpy(np.int64),
        }
    )
    if "common" in trace.columns:
        a["common"] = s1["common"].to_numpy()
    trials = a.merge(b, on=["participant", "trial"], how="outer", indicator=True)
    bad = trials[trials["_merge"] != "both"]
    if len(bad):
        first = bad.iloc[0]
        raise ValueError(
            f"{len(bad)} trial(s) lack a stage-1 or a stage-2 row (first: participant "
            f"{first['participant']}, trial {first['trial']}); pass complete trials"
        )
    if (trials["_state"] != trials["state2"]).any():
        raise ValueError("stage-2 rows do not start where the stage-1 rows ended")
    if "common" not in trials:
        if common_prob == 0.5:
            raise ValueError(
                "with common_prob = 0.5 no transition is common; pass a 'common' column"
            )
        expected = trials["choice1"] + 1 if common_prob > 0.5 else 2 - trials["choice1"]
        trials["common"] = trials["state2"] == expected
    trials["common"] = trials["common"].astype(bool)
    out = trials.sort_values(["participant", "trial"], kind="stable").reset_index(drop=True)
    return out[list(TRIAL_COLUMNS)]


def stay_data(trials: pd.DataFrame) -> pd.DataFrame:
    """Per trial t >= 1 of each participant: ``stay`` (choice1 repeated), ``prev_reward`` (bool,
    reward > 0 on trial t-1), ``prev_common`` (trial t-1's transition was common)."""
    missing = {"participant", "trial", "choice1", "reward", "common"} - set(trials.columns)
    if missing:
        raise ValueError(f"trials lack columns {sorted(missing)} (see two_step_trials)")
    t = trials.sort_values(["participant", "trial"], kind="stable")
    g = t.groupby("participant", sort=False)
    prev_trial = g["trial"].shift(1)
    keep = prev_trial.notna()
    if (t.loc[keep, "trial"] - prev_trial[keep] != 1).any():
        raise ValueError("trials of a participant must be consecutive (trial t-1 before t)")
    return pd.DataFrame(
        {
            "participant": t["participant"][keep].to_numpy(),
            "trial": t["trial"][keep].to_numpy(),
            "stay": (t["choice1"] == g["choice1"].shift(1))[keep].to_numpy(bool),
            "prev_reward": (g["reward"].shift(1)[keep] > 0).to_numpy(bool),
            "prev_common": g["common"].shift(1)[keep].astype(bool).to_numpy(),
        }
    )


def stay_probabilities(trials: pd.DataFrame) -> pd.DataFrame:
    """P(stay) by previous reward x previous transition (Daw et al. 2011, Fig. 2).

    Index (prev_reward in {"rewarded", "unrewarded"}, prev_transition in {"common", "rare"});
    columns ``mean`` (mean over participants of their stay probability), ``sem`` (standard
    error over participants; NaN with one), ``n_participants``, ``n_trials``."""
    d = stay_data(trials)
    d["prev_reward"] = np.where(d["prev_reward"], "rewarded", "unrewarded")
    d["prev_transition"] = np.where(d["prev_common"], "common", "rare")
    per = d.groupby(["participant", "prev_reward", "prev_transition"])["stay"].agg(["mean", "size"])
    per = per.reset_index()
    out = per.groupby(["prev_reward", "prev_transition"]).agg(
        mean=("mean", "mean"),
        sem=("mean", lambda x: x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan),
        n_participants=("mean", "size"),
        n_trials=("size", "sum"),
    )
    return out


REGRESSION_TERMS = ("intercept", "reward", "transition", "reward_x_transition")


def stay_regression(trials: pd.DataFrame, se: str = "cluster") -> pd.DataFrame:
    """Logistic regression of stay on the previous trial's reward and transition type.

    logit P(stay) = b0 + b1 r + b2 t + b3 r t, with r = +1 rewarded / -1 not, t = +1 common /
    -1 rare (Daw et al. 2011): b1 is the model-free signature (reward main effect), b3 the
    model-based one (reward x transition interaction). Fitted by Newton-Raphson maximum
    likelihood on the pooled trials. ``se="model"``: SE from the inverse Hessian (Fisher
    information); ``"cluster"``: sandwich SE clustered by participant (trials of a participant
    are not independent), with the G / (G - 1) small-sample factor.

    Returns a frame indexed by term (:data:`REGRESSION_TERMS`) with ``coef, se, z, p,
    ci_low, ci_high`` (Wald, 95 %)."""
    from scipy import stats

    if se not in ("model", "cluster"):
        raise ValueError(f"se must be 'model' or 'cluster', got {se!r}")
    d = stay_data(trials)
    r = np.where(d["prev_reward"], 1.0, -1.0)
    t = np.where(d["prev_common"], 1.0, -1.0)
    X = np.column_stack([np.ones_like(r), r, t, r * t])
    y = d["stay"].to_numpy(np.float64)
    beta, H = _logistic_fit(X, y)
    cov = np.linalg.inv(H)
    if se == "cluster":
        groups = d["participant"].to_numpy()
        labels, idx = np.unique(groups, return_inverse=True)
        G = len(labels)
        if G < 2:
            raise ValueError("se='cluster' needs at least 2 participants; use se='model'")
        p = _sigmoid(X @ beta)
        scores = np.zeros((G, X.shape[1]))
        np.add.at(scores, idx, X * (y - p)[:, None])
        cov = cov @ (scores.T @ scores) @ cov * (G / (G - 1))
    sd = np.sqrt(np.diag(cov))
    z = beta / sd
    return pd.DataFrame(
        {
            "coef": beta,
            "se": sd,
            "z": z,
            "p": 2.0 * stats.norm.sf(np.abs(z)),
            "ci_low": beta - 1.959963984540054 * sd,
            "ci_high": beta + 1.959963984540054 * sd,
        },
        index=pd.Index(REGRESSION_TERMS, name="term"),
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow


def _logistic_fit(X: np.ndarray, y: np.ndarray, max_iter: int = 100, tol: float = 1e-10):
    """Maximum-likelihood logistic regression by Newton-Raphson; returns (beta, Hessian of the
    negative log-likelihood at beta). Raises ValueError on (quasi-)separation."""
    if len(y) <= X.shape[1]:
        raise ValueError(f"need more than {X.shape[1]} trials for the regression, got {len(y)}")
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        p = _sigmoid(X @ beta)
        H = (X * (p * (1.0 - p))[:, None]).T @ X
        g = X.T @ (y - p)
        step = np.linalg.solve(H, g)
        beta = beta + step
        if np.abs(beta).max() > 30.0:
            raise ValueError(
                "the logistic regression diverges (separation: some reward x transition cell is "
                "all stay or all switch); simulate more trials or participants"
            )
        if np.abs(step).max() < tol:
            p = _sigmoid(X @ beta)
            return beta, (X * (p * (1.0 - p))[:, None]).T @ X
    raise ValueError(f"the logistic regression did not converge in {max_iter} Newton steps")
