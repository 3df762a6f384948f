"""Step 5 of the demo: fit the agent back to each simulated participant's choices.

``q_nav`` (softmax Q-learning over the known state sequence, ``darkcontrol.neuro.likelihood``)
is fitted by maximum likelihood, gamma fixed at its true value, twice:

- **replay-blind**: from the online choices alone, as anyone fitting real behaviour must. The
  simulated participants also learned *offline* (replay, simulation, recombination during
  inter-trial intervals and rest), which no choice file records, so the fitted parameters
  absorb it;
- **replay-aware**: the same model also learns from every offline transition of the Trace
  (``Behavior.scored`` = False: values update, no choice is scored). This is the exact
  likelihood of the simulated participant — possible only in simulation, where replay is
  observed — and shows what vicarious learning hides from a behavioural fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from darkcontrol.demo.config import DemoConfig


def behaviour_of(
    trace: pd.DataFrame, n_states: int, n_actions: int, participant: str, offline: bool = False
):
    """A Trace as navigation :class:`darkcontrol.neuro.behavior.Behavior`: its online rows, or
    (``offline=True``) all rows in time order with only the online ones scored."""
    from darkcontrol.neuro.behavior import Behavior

    rows = trace if offline else trace[trace["phase"] == "online"]
    return Behavior(
        task="navigation",
        onset=rows["time"].to_numpy(np.float64),
        state=rows["state"].to_numpy(np.int64),
        choice=rows["action"].to_numpy(np.int64),
        outcome=rows["reward"].to_numpy(np.float64),
        n_states=n_states,
        n_actions=n_actions,
        next_state=rows["next_state"].to_numpy(np.int64),
        terminated=rows["terminated"].to_numpy(bool),
        episode=rows["episode"].to_numpy(np.int64),
        participant=participant,
        scored=(rows["phase"] == "online").to_numpy(bool),
    )


def fit_participants(
    cfg: DemoConfig, participants, progress: bool = False, jobs: int | None = 1
) -> pd.DataFrame:
    """One row per participant: true parameters, replay-blind and replay-aware fits."""
    from darkcontrol.demo.study import _progress, parallel_map

    work = [(cfg, p) for p in participants]
    done = parallel_map(fit_participant, work, jobs)
    rows = list(_progress(done, "5/6 fit behaviour", progress, total=len(work)))
    return pd.DataFrame(rows)


def fit_participant(cfg: DemoConfig, p) -> dict:
    """The replay-blind and replay-aware fits of one participant (a row of the table)."""
    from darkcontrol.neuro.fitting import FitConfig, fit
    from darkcontrol.neuro.likelihood import make_model
    from darkcontrol.simulation import make_env

    env = make_env(cfg.env, **cfg.env_params)
    S, A = env.observation_space.n, env.action_space.n
    model = make_model("q_nav", fixed={"gamma": cfg.gamma})
    fcfg = FitConfig(starts=cfg.fit_starts, seed=cfg.seed, hessian=False)
    label = f"sub-{p.index + 1:02d}"
    blind = fit(model, behaviour_of(p.trace, S, A, label), fcfg)
    aware = fit(model, behaviour_of(p.trace, S, A, label, offline=True), fcfg)
    return {
        "participant": label,
        "alpha_true": p.alpha,
        "alpha_fit": blind.params["alpha"],
        "alpha_fit_aware": aware.params["alpha"],
        "beta_true": p.beta,
        "beta_fit": blind.params["beta"],
        "beta_fit_aware": aware.params["beta"],
        "nll": blind.nll,
        "nll_aware": aware.nll,
        "n_choices": blind.n_choices,
        "converged": bool(blind.converged and aware.converged),
    }
