"""Projection: spikes of a pre-synaptic pool -> weighted spike arrivals on a post-synaptic pool.

A spike of pre neuron i at step t delivers sum_j w_ij to post neuron j at step t + delay_steps
(delay_steps >= 1, exact to the step). Connect ``events`` to a pool's ``syn`` input for an
exponential current synapse (I_syn += w, decaying with the pool's tau_syn), or to its ``jump``
input for an instantaneous voltage jump (v += w).

Connectivity (drawn once per seed): all_to_all; fixed_probability (each pair independently with
probability p); one_to_one (i -> i, needs equal sizes); fixed_fan_in (each post neuron picks
fan_in distinct pre neurons). ``autapses = false`` removes i -> i synapses (for a pool projecting
onto itself).

Weights: magnitude |weight| times a random factor: constant 1; uniform U(1-s, 1+s); normal
1 + s N(0,1); log-normal with mean 1 and coefficient of variation s (sigma^2 = ln(1+s^2),
mu = -sigma^2/2); s = weight_spread. Factors below zero are clipped to zero so a synapse never
changes sign (Dale's law). Sign: excitatory (+), inhibitory (-), or mixed: the first
round(excitatory_fraction * n_pre) pre neurons are excitatory, the others inhibitory with
magnitude scaled by inhibitory_ratio.

Propagation is event-driven (cost grows with spikes x fan-out; the spiking neurons are found
through a bit set, one per loop iteration) or dense (a matrix product, for small or dense
projections); ``auto`` picks dense when the connectivity is dense or n_pre * n_post <= 65,536.
Both give the same sums.

Per-synapse delays (``max_delay_steps`` > ``delay_steps``): every synapse draws its own delay d_ij,
uniform on the whole numbers delay_steps .. max_delay_steps (drawn after the weights, from the
same per-node stream), and a spike of i at step t reaches j at step t + d_ij exactly. Such a
projection always propagates event-driven from a ring of the last max_delay_steps steps' spike
bit sets (components/spike_history.py) and is never fused with others. ``max_delay_steps`` 0
(default) or equal to ``delay_steps``: one delay for the whole projection, as before.
"""
from __future__ import annotations

import math
import os

import jax.numpy as jnp
import numpy as np
from jax import lax

from .base import EVENTS, SPIKES, STATE_VALUES, Component, Param, Port

DENSE_AUTO_LIMIT = 65_536
DRAW_BLOCK = 2**18          # uniform numbers drawn at once for fixed_probability (2 MiB)


def draw_connectivity(cfg, n_pre: int, n_post: int, rng: np.random.Generator):
    """Return (pre indices, post indices) of the synapses, sorted by pre then post."""
    kind = cfg["connectivity"]
    if kind == "all_to_all":
        pre, post = np.divmod(np.arange(n_pre * n_post, dtype=np.int64), n_post)
    elif kind == "one_to_one":
        pre = post = np.arange(n_pre, dtype=np.int64)
    elif kind == "fixed_probability":
        # one uniform number per (pre, post) pair, drawn row after row: in C++, else NumPy
        from .native import draws
        listed = draws.pairs_below(rng, n_pre, n_post, cfg["p"],
                                   synapse_count(cfg, n_pre, n_post))
        pre, post = listed if listed is not None else _pairs_below(rng, n_pre, n_post, cfg["p"])
    elif kind == "fixed_fan_in":
        from .fan_in import draw_rows
        from .native import draws
        rows = draw_rows(cfg, n_pre, n_post, rng)
        # ordered by pre, then post: a counting sort in the native library, else (the same
        # order: the pairs are distinct) a sort of their combined keys, one integer each
        listed = draws.sort_rows(rows, n_pre)
        if listed is not None:
            pre, post = listed
        else:
            keys = rows.astype(np.int64) * np.int64(n_post)   # pre * n_post + post
            keys += np.arange(n_post, dtype=np.int64)[:, None]
            keys = np.sort(keys.reshape(-1))
            pre, post = np.divmod(keys, np.int64(n_post))
    else:  # pragma: no cover - validated
        raise ValueError(kind)
    if not cfg["autapses"] and n_pre == n_post and kind != "fixed_fan_in":
        keep = pre != post
        pre, post = pre[keep], post[keep]
    return pre, post


def _pairs_below(rng, n_pre: int, n_post: int, p: float):
    """The (pre, post) pairs whose ``rng.random()`` is below p, one number per pair, row after
    row (the same stream as one row per call), in blocks of rows that keep memory bounded."""
    pres, posts = [], []
    rows = max(1, DRAW_BLOCK // max(n_post, 1))
    for i0 in range(0, n_pre, rows):
        r = min(rows, n_pre - i0)
        ii, js = np.nonzero(rng.random((r, n_post)) < p)
        pres.append(ii.astype(np.int64) + i0)
        posts.append(js.astype(np.int64))
    return (np.concatenate(pres) if pres else np.zeros(0, np.int64),
            np.concatenate(posts) if posts else np.zeros(0, np.int64))


def synapse_count(cfg, n_pre: int, n_post: int) -> int:
    """How many synapses ``draw_connectivity`` draws (for fixed_probability: the mean plus
    five standard deviations), computed without drawing them."""
    kind = cfg["connectivity"]
    if kind == "all_to_all":
        return n_pre * n_post
    if kind == "one_to_one":
        return n_pre
    if kind == "fixed_fan_in":
        return int(cfg["fan_in"]) * n_post
    pairs = n_pre * n_post
    p = float(cfg["p"])
    return int(p * pairs + 5.0 * math.sqrt(p * (1.0 - p) * pairs)) + 1


def draw_weights(cfg, pre: np.ndarray, n_pre: int, rng: np.random.Generator):
    """Signed weights for synapses whose pre indices are ``pre``."""
    n = pre.size
    s = cfg["weight_spread"]
    init = cfg["weight_init"]
    if init == "constant":
        f = np.ones(n)
    elif init == "uniform":
        f = rng.uniform(1.0 - s, 1.0 + s, n)
    elif init == "normal":
        f = 1.0 + s * rng.standard_normal(n)
    else:  # lognormal
        sig2 = np.log1p(s * s)
        f = rng.lognormal(-sig2 / 2.0, np.sqrt(sig2), n)
    # in place (10^8 synapses make each temporary 800 MB); the same numbers as
    # |weight| * clip(f, 0), negated or times -inhibitory_ratio for inhibitory pre neurons
    w = np.maximum(f, 0.0, out=f)
    w *= abs(cfg["weight"])
    sign = cfg["sign"]
    if sign == "inhibitory":
        np.negative(w, out=w)
    elif sign == "mixed":
        n_exc = int(round(cfg["excitatory_fraction"] * n_pre))
        first = int(np.searchsorted(pre, n_exc)) if _ascending(pre) else None
        if first is not None:
            w[first:] *= -cfg["inhibitory_ratio"]
        else:
            inh = pre >= n_exc
            w[inh] *= -cfg["inhibitory_ratio"]
    return w


def _ascending(a: np.ndarray) -> bool:
    """Whether ``a`` is in ascending order (ties allowed); compared in blocks (no temporary as
    large as ``a``)."""
    n, b = a.size, DRAW_BLOCK
    return all(bool(np.all(a[i + 1:min(i + b, n - 1) + 1] >= a[i:min(i + b, n - 1)]))
               for i in range(0, n - 1, b))


def order_by_pre_post(pre, post, n_post: int):
    """The permutation sorting synapses by pre, then post, stable (as ``np.lexsort((post,
    pre))``): one stable sort of a combined integer key, which is fast on the already sorted
    runs that concatenated projections give. None when they are in that order already."""
    key = pre.astype(np.int64, copy=False) * np.int64(n_post + 1)
    key += post     # in place: one array of keys, no temporaries
    if _ascending(key):   # already in order (one projection)
        return None
    return np.argsort(key, kind="stable")


def padded_tables(pre, post, w, n_pre: int, sentinel: int, dtype):
    """Per-pre-neuron target lists padded to the largest fan-out (padding -> ``sentinel``),
    of synapses ordered by pre neuron (``pre`` ascending): each row takes its pre neuron's
    synapses in the order given, in blocks of rows (no index arrays as large as ``pre``)."""
    from .fan_in import leading_blocks
    counts = np.bincount(pre, minlength=n_pre) if pre.size else np.zeros(n_pre, np.int64)
    fan = max(int(counts.max()) if n_pre else 0, 1)
    targets = np.full((n_pre + 1, fan), sentinel, np.int32)  # extra row: the "no spike" row
    weights = np.zeros((n_pre + 1, fan), dtype)
    for i0, r, e0, e1, used in leading_blocks(counts):
        targets[i0:i0 + r][used] = post[e0:e1]
        weights[i0:i0 + r][used] = w[e0:e1]
    return targets, weights


def spike_words(spikes):
    """The spiking neurons as a bit set: bit b of word k is set when neuron 32 k + b spiked."""
    n = spikes.shape[0]
    bits = jnp.concatenate([spikes > 0, jnp.zeros((-n) % 32, bool)]).reshape(-1, 32)
    return jnp.sum(bits.astype(jnp.uint32) << jnp.arange(32, dtype=jnp.uint32), axis=1,
                   dtype=jnp.uint32)


def word_bits(words, n: int):
    """The spike vector (bool) of ``n`` neurons from its bit set (``spike_words``)."""
    bits = (words[:, None] >> jnp.arange(32, dtype=jnp.uint32)) & jnp.uint32(1)
    return bits.reshape(-1)[:n] > 0


def event_propagate(spikes, targets, weights, n_out: int):
    """Sum the target rows of the spiking neurons into a vector of ``n_out``.

    ``targets``/``weights`` have one more row than ``spikes`` has entries (the no-spike row) and
    padding entries point at index ``n_out`` (a spill slot that is dropped). See
    ``event_propagate_words`` for the loop.
    """
    return event_propagate_words(spike_words(spikes), targets, weights, n_out)


FLAT_WORDS = 1024   # up to this many words (32,768 neurons) the spikes are found in one level


def _lowest_bit(x):
    """(index of the lowest set bit of the uint32 ``x``, that bit alone)."""
    low = x & (~x + jnp.uint32(1))
    return (31 - lax.clz(low)).astype(jnp.int32), low


def _summary(words):
    """The words padded to a multiple of 32, and one word per 32 of them whose bit j says
    whether word 32 s + j is non-zero."""
    n = -(-words.shape[0] // 32)
    padded = jnp.concatenate([words, jnp.zeros(n * 32 - words.shape[0], jnp.uint32)])
    nonzero = (padded.reshape(n, 32) != 0).astype(jnp.uint32)
    return padded, jnp.sum(nonzero << jnp.arange(32, dtype=jnp.uint32), axis=1,
                           dtype=jnp.uint32)


PROPAGATION_ENV = "SPARK_PROPAGATION"
PARALLEL_BLOCK = 256   # spiking neurons whose rows one iteration of the parallel strategy adds


def propagation_strategy() -> str:
    """How spikes are propagated, decided when a model is traced: "native" (the C++ kernels of
    components/native: one call per projection and step, a spike costing only its fan-out: what
    one CPU core does best), "serial" (the same in XLA, one loop iteration per spiking neuron:
    the CPU fallback without a C++ compiler or with ``SPARK_NATIVE=0``) or "parallel" (the
    spiking neurons listed at once, their rows added PARALLEL_BLOCK at a time: what a GPU does
    best). The default (``SPARK_PROPAGATION`` unset or "auto") is native (else serial) on the CPU
    and parallel on any other backend. All three give the same spikes."""
    import jax
    from . import native
    choice = os.environ.get(PROPAGATION_ENV, "auto").strip().lower()
    if choice not in ("auto", "native", "serial", "parallel"):
        raise ValueError(f"{PROPAGATION_ENV}={choice!r}: expected auto, native, serial or parallel")
    if choice == "native":
        if jax.default_backend() != "cpu" or not native.available():
            raise RuntimeError(f"{PROPAGATION_ENV}=native: {native.status()} on the "
                               f"{jax.default_backend()} backend (the kernels are CPU only)")
        return choice
    if choice != "auto":
        return choice
    if jax.default_backend() != "cpu":
        return "parallel"
    return "native" if native.available() else "serial"


def event_propagate_words(words, targets, weights, n_out: int):
    """``event_propagate`` for spikes given as a bit set (``spike_words``), by the strategy of
    ``propagation_strategy()``; all add the rows in ascending neuron order."""
    strategy = propagation_strategy()
    if strategy == "native":
        from . import native
        return native.propagate(words, targets, weights, n_out)
    if strategy == "parallel":
        return _propagate_parallel(words, targets, weights, n_out)
    return _propagate_serial(words, targets, weights, n_out)


def _propagate_parallel(words, targets, weights, n_out: int):
    """The spiking neurons' indices in ascending order (one pass over the bits: a prefix sum,
    parallel on a GPU), then their rows scatter-added PARALLEL_BLOCK neurons per iteration;
    the iterations stop after the last spiking neuron. A block past the last one reads the
    no-spike row (index n), whose entries add nothing to real targets."""
    n = targets.shape[0] - 1
    b = PARALLEL_BLOCK
    bits = word_bits(words, n)
    count = jnp.sum(bits, dtype=jnp.int32)
    idx = jnp.nonzero(bits, size=n + b, fill_value=n)[0].astype(jnp.int32)

    def body(carry):
        acc, i = carry
        rows = lax.dynamic_slice(idx, (i,), (b,))
        acc = acc.at[targets[rows].reshape(-1)].add(weights[rows].reshape(-1),
                                                     mode="promise_in_bounds")
        return acc, i + b

    out, _ = lax.while_loop(lambda c: c[1] < count, body,
                            (jnp.zeros(n_out + 1, weights.dtype), jnp.int32(0)))
    return out[:n_out]


def _propagate_serial(words, targets, weights, n_out: int):
    """The serial strategy.

    Each loop iteration finds the lowest spiking neuron and adds its row, so any number of
    spikes is delivered exactly, in ascending neuron order (the sums are the same, bit for
    bit, whichever search is used). The search: up to ``FLAT_WORDS`` words, the first non-zero
    word (an argmax over the words) and its lowest set bit (a count of leading zeros), n/32 per
    spike. Above, a hierarchy of summary words (bit j of a summary word: word 32 s + j of the
    level below is non-zero) is built once per step, up to a top level of at most 64 words, and
    each spike is found from the top down, about 64 + 32 per level per spike: the work is
    spikes x fan-out plus n/32 per step, not spikes x n/32 (at 10^6 neurons and 1,000 spikes a
    step, 2-7 times faster; benchmarks/README.md).
    """
    levels = [words]
    if words.shape[0] > FLAT_WORDS:
        while levels[-1].shape[0] > 64:
            levels[-1], up = _summary(levels[-1])
            levels.append(up)
    depth = len(levels)

    def body(carry):
        acc, lv = carry
        lv = list(lv)
        k = jnp.argmax(lv[-1] != 0)
        path = []
        for level in range(depth - 1, -1, -1):      # top down: word k of each level
            x = lv[level][k]
            b, low = _lowest_bit(x)
            path.append((level, k, x, low))
            if level:
                k = k * 32 + b
        i = k * 32 + b
        acc = acc.at[targets[i]].add(weights[i], mode="promise_in_bounds")
        empty = jnp.bool_(True)                     # bottom up: clear the bit; a word that
        for level, kk, x, low in reversed(path):    # becomes zero clears its summary bit
            x2 = jnp.where(empty, x ^ low, x)
            lv[level] = lv[level].at[kk].set(x2)
            empty = empty & (x2 == 0)
        return acc, tuple(lv)

    out, _ = lax.while_loop(lambda c: jnp.any(c[1][-1] != 0), body,
                            (jnp.zeros(n_out + 1, weights.dtype), tuple(levels)))
    return out[:n_out]


class Projection(Component):
    type_name = "projection"
    title = "Projection"
    category = "Projections"
    description = "Synapses from one pool to another: connectivity, weights, sign and delay"
    latched = True
    params = (
        Param("connectivity", "choice", "fixed_probability",
              choices=("all_to_all", "fixed_probability", "one_to_one", "fixed_fan_in"),
              help="how pre and post neurons are connected"),
        Param("p", "float", 0.1, min=0.0, max=1.0, structural=True,
              help="connection probability (fixed_probability)"),
        Param("fan_in", "int", 10, min=1, help="pre neurons per post neuron (fixed_fan_in)"),
        Param("autapses", "bool", True,
              help="allow i -> i synapses when pre and post have the same size"),
        Param("weight", "float", 1.0, "mV", min=0.0, structural=True, start=3.0,
              help="weight magnitude (the sign comes from 'sign')"),
        Param("weight_init", "choice", "constant",
              choices=("constant", "uniform", "normal", "lognormal"),
              help="distribution of the weight factor"),
        Param("weight_spread", "float", 0.0, min=0.0, structural=True,
              help="relative spread of the weight factor (see the docstring)"),
        Param("sign", "choice", "excitatory", choices=("excitatory", "inhibitory", "mixed"),
              help="sign of the weights (Dale's law per pre neuron for 'mixed')"),
        Param("excitatory_fraction", "float", 0.8, min=0.0, max=1.0, structural=True,
              help="fraction of pre neurons that are excitatory (sign = mixed)"),
        Param("inhibitory_ratio", "float", 1.0, min=0.0, structural=True,
              help="inhibitory weight magnitude relative to excitatory (sign = mixed)"),
        Param("delay_steps", "int", 1, min=1, max=10_000,
              help="transmission delay in time steps (a spike at t arrives at t + delay)"),
        Param("propagation", "choice", "auto", choices=("auto", "event", "dense"),
              help="event-driven, dense matrix product, or chosen automatically"),
        Param("max_delay_steps", "int", 0, min=0, max=10_000,
              help="0: every synapse has delay_steps. Larger: each synapse draws its own delay, "
                   "uniform on delay_steps .. max_delay_steps (whole steps, exact; always "
                   "event-driven)"),
    )

    @classmethod
    def ports(cls, p):
        return ([Port("pre", SPIKES, "n_pre", required=True, help="pre-synaptic spikes")],
                [Port("events", EVENTS, "n_post", help="weighted spike arrivals for post")])

    @classmethod
    def check(cls, p):
        return delay_range_problems(p)

    @classmethod
    def check_sizes(cls, p, sizes):
        if p["connectivity"] == "one_to_one" and sizes.get("n_pre") != sizes.get("n_post"):
            return [("connectivity", f"one_to_one needs equal sizes, got {sizes.get('n_pre')} "
                                     f"pre and {sizes.get('n_post')} post neurons")]
        if p["connectivity"] == "fixed_fan_in":
            avail = sizes.get("n_pre", 0) - (
                1 if (not p["autapses"] and sizes.get("n_pre") == sizes.get("n_post")) else 0)
            if p["fan_in"] > avail:
                return [("fan_in", f"fan_in {p['fan_in']} exceeds the {avail} available pre neurons")]
        return []

    @property
    def n_pre(self):
        return self.sizes["n_pre"]

    @property
    def n_post(self):
        return self.sizes["n_post"]

    @property
    def per_synapse_delays(self) -> bool:
        """True when every synapse has its own delay (never dense, never fused)."""
        return self.config.get("max_delay_steps", 0) > self.config["delay_steps"]

    @property
    def dense(self) -> bool:
        if self.per_synapse_delays:
            return False
        return self.is_dense(self.config, self.n_pre, self.n_post)

    @staticmethod
    def is_dense(c: dict, n_pre: int, n_post: int) -> bool:
        """Whether a projection with parameters ``c`` between these sizes propagates densely
        (one with per-synapse delays never does: see ``per_synapse_delays``)."""
        if c.get("max_delay_steps", 0) > c.get("delay_steps", 0):
            return False
        mode = c["propagation"]
        if mode != "auto":
            return mode == "dense"
        return (c["connectivity"] == "all_to_all" or
                (c["connectivity"] == "fixed_probability" and c["p"] >= 0.25) or
                n_pre * n_post <= DENSE_AUTO_LIMIT)

    @classmethod
    def memory(cls, p, sizes, itemsize):
        """Synapses: drawing them holds pre and post indices, weight factors and weights
        (64-bit, 32 bytes each), then the padded target and weight tables and their device
        copy (measured: 55 bytes per synapse at the peak in float32); dense propagation adds
        the n_pre x n_post matrix (and the copies made while building it). The delay buffer
        holds delay_steps spike vectors of n_pre."""
        n_pre, n_post = int(sizes.get("n_pre") or 0), int(sizes.get("n_post") or 0)
        n = synapse_count(p, n_pre, n_post)
        syn = n * (44 + 4 * itemsize)
        if cls.is_dense({"propagation": "auto", **p}, n_pre, n_post):
            syn += 3 * n_pre * n_post * itemsize
        return {"synapses": syn,
                "delay buffers": 3 * max(p["delay_steps"], p.get("max_delay_steps", 0))
                * n_pre * itemsize,
                "state": STATE_VALUES * (n_pre + n_post) * itemsize}

    def synapses(self, rng):
        """(pre, post, w) arrays of this projection's synapses, drawn from ``rng``."""
        pre, post = draw_connectivity(self.config, self.n_pre, self.n_post, rng)
        return pre, post, draw_weights(self.config, pre, self.n_pre, rng)

    def init(self, key, rng):
        c = self.config
        if c["connectivity"] == "fixed_fan_in" and not self.dense and not self.per_synapse_delays:
            from .fan_in import fan_in_tables   # the same tables, without the synapse arrays
            t, wt = fan_in_tables(c, self.n_pre, self.n_post, rng, self.dtype)
            const = {"targets": t, "weights": wt}
        else:
            pre, post, w = self.synapses(rng)
            if self.per_synapse_delays:
                return self._init_spread(pre, post, w, rng)
            if self.dense:
                const = {"W": self.weight_matrix(pre, post, w)}
            else:
                t, wt = padded_tables(pre, post, w, self.n_pre, self.n_post, self.dtype)
                const = {"targets": t, "weights": wt}
        return const, {"buf": np.zeros((c["delay_steps"], self.n_pre), self.dtype)}

    def weight_matrix(self, pre, post, w) -> np.ndarray:
        """The synapses (``synapses``) as a dense n_pre x n_post matrix (repeats summed)."""
        W = np.zeros((self.n_pre, self.n_post), self.dtype)
        np.add.at(W, (pre, post), w)
        return W

    def deliver(self, spikes, const):
        if "W" in const:
            return spikes @ const["W"]
        return event_propagate(spikes, const["targets"], const["weights"], self.n_post)

    def _init_spread(self, pre, post, w, rng):
        from .spike_history import delay_segments, draw_delays, empty_ring
        c = self.config
        d = draw_delays(rng, pre.size, c["delay_steps"], c["max_delay_steps"])
        t, wt = padded_tables(pre, post, w, self.n_pre, self.n_post, self.dtype)
        _, dt_ = padded_tables(pre, post, d, self.n_pre, self.n_post, np.int32)
        perm, start = delay_segments(t, dt_, self.n_post, c["max_delay_steps"])
        const = {"targets": t, "weights": wt, "delays": dt_,
                 "sign": np.ones(self.n_pre + 1, self.dtype), "seg_perm": perm,
                 "seg_start": start}
        return const, {"ring": empty_ring(c["max_delay_steps"], self.n_pre)}

    def read(self, p, state, ctx):
        if self.per_synapse_delays:
            from .spike_history import deliver
            c = self.config
            return {"events": deliver(state["ring"], ctx.t, c["delay_steps"], ctx.const,
                                      ctx.const["weights"], self.n_post, True)}
        from .spike_history import read_slot
        return {"events": self.deliver(read_slot(state["buf"], ctx.t), ctx.const)}

    def update(self, p, state, inputs, ctx):
        if self.per_synapse_delays:
            from .spike_history import push_words
            return {"ring": push_words(state["ring"], ctx.t, inputs["pre"])}
        from .spike_history import store_slot
        return {"buf": store_slot(state["buf"], ctx.t, inputs["pre"])}


def delay_range_problems(p):
    """The check of per-synapse delays: max_delay_steps is 0 (off) or at least delay_steps."""
    m = p.get("max_delay_steps", 0)
    if 0 < m < p["delay_steps"]:
        return [("max_delay_steps", f"max_delay_steps ({m}) must be 0 (one delay for all "
                                    f"synapses) or at least delay_steps ({p['delay_steps']})")]
    return []


def dense_matrix(const, n_pre, n_post):
    """The projection's weight matrix (n_pre x n_post) from either storage, for display."""
    if "W" in const:
        return np.asarray(const["W"])
    t = np.asarray(const["targets"])[:n_pre]
    w = np.asarray(const["weights"])[:n_pre]
    W = np.zeros((n_pre, n_post + 1), w.dtype)
    rows = np.repeat(np.arange(n_pre), t.shape[1])
    np.add.at(W, (rows, t.ravel()), w.ravel())
    return W[:, :n_post]

