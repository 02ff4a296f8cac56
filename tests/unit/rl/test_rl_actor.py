"""``DiscreteActor``: PPO/A2C discrete actions straight from the policy's layers, equal to
SB3's ``model.predict(obs, deterministic=True)`` one row at a time (the live path) and in
batches; the policies it does not reproduce keep SB3's own path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tradewind.rl import train_rl
from tradewind.rl.actor import DiscreteActor

SMALL = {"n_steps": 128, "batch_size": 64, "n_epochs": 2}


def _obs(dim: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """Normalised observations: typical (N(0, 1)), wide (N(0, 5), past VecNormalize's clip
    range) and exact zeros."""
    x = np.concatenate(
        [rng.standard_normal((n, dim)), 5 * rng.standard_normal((n, dim)), np.zeros((2, dim))]
    )
    return x.astype(np.float32)


@pytest.mark.parametrize(("algo", "hyper"), [("ppo", SMALL), ("a2c", {})])
def test_actions_equal_sb3_predict(data, make_cfg, algo, hyper) -> None:
    cfg = make_cfg(
        learner={"algo": algo, "recipe": "mlp_small", "hyperparams": hyper},
        env={"actions": {"kind": "discrete"}},
    )
    policy = train_rl(cfg, data, timesteps=256).policy
    actor = policy._actor
    assert actor is not None, "PPO/A2C with discrete actions on an MLP take the fast path"
    obs = _obs(policy.builder.obs_dim, np.random.default_rng(3), 300)
    reference, _ = policy.model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(actor.actions(obs), reference)
    assert len(set(reference.tolist())) > 1, "one action everywhere: a weak test"
    for row in obs:  # one row at a time, as the live trader asks
        single, _ = policy.model.predict(row[None, :], deterministic=True)
        assert actor.actions(row[None, :]).tolist() == single.tolist()
    # SB3Policy's own entry point goes through it and agrees
    np.testing.assert_array_equal(policy._predict(obs), reference)


def test_nan_logits_are_refused_like_sb3(data, make_cfg) -> None:
    cfg = make_cfg(learner={"algo": "ppo", "hyperparams": SMALL})
    policy = train_rl(cfg, data, timesteps=128).policy
    assert policy._actor is not None
    obs = np.full((1, policy.builder.obs_dim), np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match="logits"):
        policy.model.predict(obs, deterministic=True)
    with pytest.raises(ValueError, match="NaN"):
        policy._actor.actions(obs)


def test_maskable_actions_equal_sb3_predict_with_and_without_masks(data, make_cfg) -> None:
    cfg = make_cfg(
        learner={"algo": "maskable_ppo", "hyperparams": {"n_steps": 128, "batch_size": 64}},
        env={"min_hold_bars": 4},
    )
    policy = train_rl(cfg, data, timesteps=256).policy
    actor = policy._actor
    assert actor is not None
    assert actor.maskable
    rng = np.random.default_rng(7)
    obs = _obs(policy.builder.obs_dim, rng, 200)
    n_actions = len(policy.contract.actions.targets)
    masks = rng.random((len(obs), n_actions)) < 0.6
    masks[:5] = True  # everything allowed
    masks[5:10] = False  # nothing allowed: SB3 answers the first action
    masks[10:20] = False
    masks[10:20, 2] = True  # one action allowed
    for m in (masks, None):
        reference, _ = policy.model.predict(obs, deterministic=True, action_masks=m)
        np.testing.assert_array_equal(actor.actions(obs, m), reference)
        for i, row in enumerate(obs):  # one row at a time, as the live trader asks
            one = None if m is None else m[i : i + 1]
            single, _ = policy.model.predict(row[None, :], deterministic=True, action_masks=one)
            assert actor.actions(row[None, :], one).tolist() == single.tolist(), i
    assert set(actor.actions(obs[10:20], masks[10:20]).tolist()) == {2}
    np.testing.assert_array_equal(
        policy._predict(obs, masks),
        policy.model.predict(obs, deterministic=True, action_masks=masks)[0],
    )


def test_masks_for_a_policy_without_them_are_refused(data, make_cfg) -> None:
    cfg = make_cfg(learner={"algo": "ppo", "hyperparams": SMALL})
    policy = train_rl(cfg, data, timesteps=128).policy
    obs = np.zeros((1, policy.builder.obs_dim), dtype=np.float32)
    with pytest.raises(ValueError, match="masks"):
        policy._actor.actions(obs, np.ones((1, 3), dtype=bool))


@pytest.mark.parametrize(
    ("algo", "kind", "hyper"),
    [
        ("a2c", "continuous", {}),
        ("dqn", "discrete", {"learning_starts": 64, "buffer_size": 2_000, "batch_size": 32}),
    ],
)
def test_other_policies_keep_sb3s_path(data, make_cfg, algo, kind, hyper) -> None:
    cfg = make_cfg(
        learner={"algo": algo, "recipe": "mlp_small", "hyperparams": hyper},
        env={"actions": {"kind": kind}},
    )
    policy = train_rl(cfg, data, timesteps=128).policy
    assert policy._actor is None
    assert DiscreteActor.of(policy.model.policy) is None
    obs = _obs(policy.builder.obs_dim, np.random.default_rng(4), 5)
    reference, _ = policy.model.predict(obs, deterministic=True)
    got = policy._predict(obs)
    np.testing.assert_array_equal(got.reshape(reference.shape), reference)


def test_a_tie_resolves_as_sb3_resolves_it(data, make_cfg) -> None:
    """Two actions with the same weights and bias: their logits tie exactly, the clear-lead
    shortcut steps aside and softmax's argmax picks as SB3's does (the first)."""
    cfg = make_cfg(learner={"algo": "ppo", "hyperparams": SMALL})
    policy = train_rl(cfg, data, timesteps=128).policy
    head = policy.model.policy.action_net
    with torch.no_grad():
        head.weight[2] = head.weight[1]
        head.bias[2] = head.bias[1]
        head.weight[0] *= 0
        head.bias[0] = -1e3  # action 0 never: the tie between 1 and 2 decides every row
    obs = _obs(policy.builder.obs_dim, np.random.default_rng(5), 20)
    reference, _ = policy.model.predict(obs, deterministic=True)
    assert set(reference.tolist()) == {1}
    for row in obs:
        assert policy._actor.actions(row[None, :]).tolist() == [1]
    np.testing.assert_array_equal(policy._actor.actions(obs), reference)


def test_clear_lead_shortcut() -> None:
    from tradewind.rl.actor import _clear_argmax

    logits = np.array([[0.1, 2.0, -1.0]], dtype=np.float32)
    assert _clear_argmax(logits).tolist() == [1]
    assert _clear_argmax(np.array([[1.0, 1.0 + 1e-6, 0.0]], dtype=np.float32)) is None
    assert _clear_argmax(np.array([[np.inf, 0.0, 0.0]], dtype=np.float32)) is None
    both = np.array([[0.0, 3.0, 1.0], [5.0, 1.0, 1.0]], dtype=np.float32)
    assert _clear_argmax(both).tolist() == [1, 0]
    assert _clear_argmax(np.array([[0.0, 3.0, 3.0], [5.0, 1.0, 1.0]], dtype=np.float32)) is None
    # masks: the largest allowed logit, against the next allowed one
    one = np.array([[5.0, 1.0, 2.0]], dtype=np.float32)
    assert _clear_argmax(one, np.array([[False, True, True]])).tolist() == [2]
    assert _clear_argmax(one, np.array([[False, False, True]])) is None  # one allowed
    tie = np.array([[2.0, 1.0, 2.0]], dtype=np.float32)  # a masked twin of the best
    assert _clear_argmax(tie, np.array([[False, True, True]])).tolist() == [2]
    both = np.concatenate([one, tie])
    allowed = np.array([[False, True, True], [False, True, True]])
    assert _clear_argmax(both, allowed).tolist() == [2, 2]
    assert _clear_argmax(np.array([[2e6, 0.0, 1.0]], dtype=np.float32)) is None  # too large


def test_normalise_is_vecnormalize_bit_for_bit(data, make_cfg) -> None:
    """``ObservationBuilder.normalise`` (the live and backtest path) gives VecNormalize's own
    ``np.clip((obs - mean) / sqrt(var + eps), -clip, clip)``, bit for bit, NaN and inf too."""
    cfg = make_cfg(learner={"algo": "ppo", "hyperparams": SMALL})
    policy = train_rl(cfg, data, timesteps=128).policy
    norm = policy.contract.obs_normaliser
    assert norm is not None
    mean, var = np.asarray(norm.mean), np.asarray(norm.var)
    obs = 50 * _obs(policy.builder.obs_dim, np.random.default_rng(6), 50).astype(np.float64)
    obs[0, :3] = [np.nan, np.inf, -np.inf]
    want = np.clip((obs - mean) / np.sqrt(var + norm.epsilon), -norm.clip, norm.clip)
    got = policy.builder.normalise(obs)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))
