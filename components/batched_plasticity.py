"""Batched passes of the event-driven plastic projections (``plasticity_pass`` = batched).

Same rule and the same synapses as the per-spike loops of components/event_plasticity.py, but
each loop iteration takes up to ``CAP`` spiking neurons at once (the first ones in index order,
found with a fixed-size ``nonzero``) and handles all their synapses as one vectorised gather,
update and scatter. The loop runs again only while spiking neurons remain, so the result does
not depend on CAP; on XLA:CPU an iteration costs about as much as one per-spike iteration, so
with tens of spikes per step this is several times faster. Each synapse still changes once per
step with the same formula; sums of arriving weights may differ in the last bit (they are added
in another order).

    deliver:     rows of the pre neurons that spiked d_min .. depth steps ago; a synapse
                 contributes sign_i K_ij when its own delay matches (s_ij = 1)
    row_pass:    the same rows; synapses with s_ij = 1 change by
                 g (alpha + beta y_j + (gamma + delta x_ij) r_j), clipped
    column_pass: columns of the post neurons that spiked; synapses with s_ij = 0 change by
                 g (gamma + delta x_ij), clipped
"""
from __future__ import annotations

import jax.numpy as jnp
from jax import lax

CAP = 64


def for_each_batch(mask, cap: int, body, carry):
    """``carry = body(carry, idx)`` with idx the indices of up to ``cap`` set entries of the
    bool vector ``mask`` (padded with len(mask)), until every set entry has been visited."""
    n = mask.shape[0]
    cap = min(cap, n)

    def step(c):
        acc, m = c
        idx = jnp.nonzero(m, size=cap, fill_value=n)[0].astype(jnp.int32)
        return body(acc, idx), m.at[idx].set(False, mode="drop")

    return lax.while_loop(lambda c: jnp.any(c[1]), step, (carry, mask))[0]


def _arrived_rows(comp, st, t):
    """Pre neurons with a spike of age d_min .. depth (any of them may arrive this step)."""
    depth = comp.depth
    ages = jnp.arange(comp.d_min, depth + 1)
    return jnp.any(st["sf"][(t - ages) % depth] > 0, axis=0)


def _rows(comp, st, t, c, idx):
    """For rows idx (padded with n_pre): targets, slot of each synapse's delayed spike, its
    delayed spike s and the clipped row index."""
    n_pre, depth = comp.n_pre, comp.depth
    i = jnp.minimum(idx, n_pre - 1)[:, None]
    tg = c["targets"][idx]
    slot = (t - c["delays"][idx]) % depth
    s = jnp.where(tg < comp.n_post, st["sf"][slot, i], 0.0)
    return tg, slot, s, i


def deliver(comp, st, t, c):
    """Weighted spike arrivals of this step (the ``events`` output)."""
    def body(acc, idx):
        tg, _slot, s, _i = _rows(comp, st, t, c, idx)
        w = st["weights"][idx] * c["sign"][idx][:, None] * s
        return acc.at[tg].add(w)

    out = for_each_batch(_arrived_rows(comp, st, t), CAP, body,
                         jnp.zeros(comp.n_post + 1, st["weights"].dtype))
    return out[:comp.n_post]


def row_pass(comp, st, t, y, r, g, c):
    """Synapses receiving a spike this step (see the module docstring)."""
    y_pad = jnp.concatenate([y, jnp.zeros((2, 1), y.dtype)], axis=1)
    r_pad = jnp.concatenate([r, jnp.zeros(1, r.dtype)])

    def body(W, idx):
        tg, slot, s, i = _rows(comp, st, t, c, idx)
        kd = c["kinds"][idx]
        yv = y_pad[c["tpre"][idx][:, None], tg]
        xv = st["x"][c["tpost"][tg], slot, i]
        dw = g * (c["alpha"][kd] + c["beta"][kd] * yv
                  + (c["gamma"][kd] + c["delta"][kd] * xv) * r_pad[tg])
        rows = W[idx]
        new = jnp.where(s > 0, jnp.clip(rows + dw, 0.0, c["w_max"][kd]), rows)
        return W.at[idx].set(new)

    return for_each_batch(_arrived_rows(comp, st, t), CAP, body, st["weights"])


def column_pass(comp, st, W, t, r, g, c):
    """Synapses into post neurons that spiked and receive no spike this step."""
    n_post, depth = comp.n_post, comp.depth
    shape = W.shape

    def body(Wf, jdx):
        j = jnp.minimum(jdx, n_post - 1)
        ok = c["col_valid"][j] & (jdx < n_post)[:, None]
        # padding (and the padding of the batch) -> the spare row's first entry, never a
        # synapse of a real post neuron (which may be in this batch too)
        ps = jnp.where(ok, c["col_pos"][j], comp.n_pre * shape[1])
        sr, kd = c["col_src"][j], c["col_kind"][j]
        slot = (t - c["col_delay"][j]) % depth
        arrived = st["sf"][slot, sr] > 0
        xv = st["x"][c["tpost"][j][:, None], slot, sr]
        w = Wf[ps]
        new = jnp.clip(w + g * (c["gamma"][kd] + c["delta"][kd] * xv), 0.0, c["w_max"][kd])
        return Wf.at[ps].set(jnp.where(ok & ~arrived, new, w))

    return for_each_batch(r > 0, CAP, body, W.reshape(-1)).reshape(shape)
