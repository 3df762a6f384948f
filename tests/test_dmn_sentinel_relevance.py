"""The sentinel detects relevance, not rarity (issue 12, item 2).

Ground truth: in the sentinel world a cue's stake is set by the experimenter (a threat costs
-10 unless escaped, a social cue of value 0 is of no consequence) and its rate by p_cue. A
Q-learner (epsilon 0.25: a cue's stake is known only once both responses were tried there)
with hippocampal replay (10 backups per step unless the step was salient) practises
for 3000 steps; over the next 3000 we count the cue occurrences whose offline window the
sentinel suspended. Seeds 0-7 are reported; the threshold (1 reward unit) was set before
looking; the world's size and the learner's epsilon were chosen on seeds 100-104.
"""

from __future__ import annotations

import numpy as np
import pytest

from darkcontrol.agents.model import WorldModel
from darkcontrol.agents.registry import make_agent
from darkcontrol.dmn.memory import ExperienceMemory
from darkcontrol.dmn.sentinel import Sentinel
from darkcontrol.envs.sentinel import Sentinel as SentinelWorld
from darkcontrol.trace import TraceRecorder

SEEDS = range(8)
PRACTICE, TEST = 3000, 3000
#: a loop of 4 places: each cue state is met often enough in practice for its stake to be
#: learnt (with 8 places the rare social cue, whose value shows only once 'respond' was tried
#: there, reached 0.74 on the calibration seeds 100-104; 4 places: 0.90)
N_POSITIONS = 4


def suspension_rates(seed: int, salience: str, **world) -> dict[str, float]:
    """Share of the occurrences of each cue (after practice) whose offline window was
    suspended."""
    env = SentinelWorld(n_positions=N_POSITIONS, episode_length=PRACTICE + TEST, **world)
    seeds = [int(x.generate_state(1)[0]) for x in np.random.SeedSequence(seed).spawn(2)]
    agent = make_agent(
        "q_learning",
        env,
        seed=seeds[0],
        recorder=TraceRecorder(),
        gamma=0.9,
        alpha=0.2,
        epsilon=0.25,
    )
    memory = ExperienceMemory(100_000, seed=seeds[1])
    model = WorldModel(env.n_states, 2)
    sentinel = Sentinel(salience=salience)
    s, info = env.reset(seed=seed)
    agent.reset()
    hits: dict[str, list[bool]] = {}
    for t in range(PRACTICE + TEST):
        a = agent.act(s)
        s2, r, term, trunc, info = env.step(a)
        spe = model.update(s, a, r, s2, term)
        memory.add(s, a, r, s2, term)
        Q = agent.q_values()
        if salience == "relevance":
            sal = sentinel.salience(spe, stake=sentinel.stake(model, Q, s2, 0.9, term))
        else:  # the earlier rule's cue value: max(|r|, the spread of Q(s', .) as it stands)
            value = abs(r) if term else max(abs(r), float(Q[s2].max() - Q[s2].min()))
            sal = sentinel.salience(spe, 0.0, value)
        salient = sentinel.is_salient(sal)
        agent.observe(s, a, r, s2, term, trunc)
        if t >= PRACTICE:
            hits.setdefault(info["cue"], []).append(salient)
        if not salient:
            for _ in range(10):
                agent.learn_offline(*memory.get(memory.sample()), source="replay")
        s = s2
    return {cue: float(np.mean(h)) for cue, h in hits.items()}


RARE_NULL = {"p_threat": 0.0, "p_social": 0.02, "social_reward": 0.0}  # rare, no value
RARE_THREAT = {"p_threat": 0.02, "p_social": 0.0}
COMMON_THREAT = {"p_threat": 0.3, "p_social": 0.0}
RARE_SOCIAL = {"p_threat": 0.0, "p_social": 0.02}  # rare, of high value (+10)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("world", "cue", "low", "high"),
    [
        (RARE_NULL, "social", 0.0, 0.10),
        (RARE_THREAT, "threat", 0.80, 1.0),
        (COMMON_THREAT, "threat", 0.80, 1.0),
        (RARE_SOCIAL, "social", 0.80, 1.0),
    ],
    ids=["rare_zero_value", "rare_threat", "common_threat", "rare_social"],
)
def test_relevance_sentinel_suspends_for_stake_not_rarity(world, cue, low, high):
    runs = [suspension_rates(seed, "relevance", **world) for seed in SEEDS]
    rates = np.array([run[cue] for run in runs])
    assert low <= rates.mean() <= high, rates
    # the routine (no cue) is almost never salient
    assert max(run["none"] for run in runs) <= 0.02


@pytest.mark.slow
def test_rarity_sentinel_is_fooled_by_a_rare_valueless_cue():
    """The earlier rule (surprise + 0.05 cue value >= 1) suspends at a rare cue of zero value
    most of the time: the contrast the relevance sentinel removes."""
    rates = np.array([suspension_rates(seed, "rarity", **RARE_NULL)["social"] for seed in SEEDS])
    assert rates.mean() >= 0.3, rates  # 0.39 on seeds 100-104 (relevance: 0.0)


def test_sentinel_refuses_bad_values():
    with pytest.raises(ValueError, match="salience must be one of"):
        Sentinel(salience="loud")
    with pytest.raises(ValueError, match="value_scale must be > 0, got 0"):
        Sentinel(value_scale=0)
    with pytest.raises(ValueError, match="engagement must be one of"):
        Sentinel(engagement="sometimes")
    s = Sentinel(salience="relevance")
    assert s.salience(0.5, stake=4.0) == 2.0
    assert Sentinel(salience="rarity").salience(0.5, 0.0, 4.0) == pytest.approx(0.5 + 0.05 * 4)
    m = WorldModel(3, 2)
    m.update(0, 0, 1.0, 1, False)
    m.update(0, 1, -3.0, 2, False)
    Q = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 0.0]])
    assert s.stake(m, Q, 0, 0.5, terminated=False) == pytest.approx(1.0 + 0.5 * 2.0 + 3.0)
    assert s.stake(m, Q, 0, 0.5, terminated=True) == 0.0
    assert s.stake(m, Q, 1, 0.5, terminated=False) == 0.0  # nothing tried in state 1
