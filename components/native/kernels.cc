// Spark's native CPU kernels: event-driven spike delivery and plasticity as XLA FFI handlers.
//
// Built on first use by components/native/__init__.py (g++ -O2, no floating-point contraction,
// so every sum and product is rounded as XLA:CPU rounds it) and called from inside the jitted
// chunk with jax.ffi.ffi_call. Each handler does, in one call, what the XLA "serial" strategy
// does with one while-loop iteration per spiking neuron (components/projection.py,
// components/spike_history.py, components/event_plasticity.py): the same visits in the same
// order (ascending bit index: ring slot, then neuron; within a row, ascending column) and the
// same float operations, so the results are the same as the XLA path's (the tests compare them).
// A loop iteration costs XLA:CPU about a microsecond; here a spike costs its fan-out.
//
// Layouts (row-major, as the components store them):
//   words   uint32 bit sets: bit b of word q is neuron 32 q + b (spike_words)
//   ring    (depth, nw) bit sets of the last `depth` steps; step u lives in slot u % depth
//   targets (n_pre + 1, F) int32 post indices per pre neuron; padding holds n_post (or more)
//   weights (n_pre + 1, F) per synapse, same layout

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

inline int64_t floor_mod(int64_t a, int64_t m) {
  int64_t r = a % m;
  return r < 0 ? r + m : r;
}

// f(q, b) for every set bit b of words[0 .. n), ascending.
template <typename Fn>
inline void for_each_bit(const uint32_t* words, int64_t n, Fn&& f) {
  for (int64_t q = 0; q < n; ++q) {
    uint32_t x = words[q];
    while (x) {
      f(q, __builtin_ctz(x));
      x &= x - 1;
    }
  }
}

// min(max(v, 0), hi) with NaN passed through (as jnp.clip).
template <typename V>
inline V clip0(V v, V hi) {
  V lo = v < V(0) ? V(0) : v;
  return hi < lo ? hi : lo;
}

// f(c) for the columns of row i whose synapse has delay k: with `spread`, the segment
// seg_perm[i, seg_start[i, k] .. seg_start[i, k + 1]) (the row's columns ordered by delay,
// ascending within a delay); without, every column.
template <typename Fn>
inline void for_each_column(int64_t i, int64_t k, int64_t fan, bool spread, const int32_t* perm,
                            const int32_t* start, int64_t width, Fn&& f) {
  if (!spread) {
    for (int64_t c = 0; c < fan; ++c) f(c);
    return;
  }
  const int32_t* row = perm + i * fan;
  const int32_t* st = start + i * width;
  for (int32_t m = st[k]; m < st[k + 1]; ++m) f(static_cast<int64_t>(row[m]));
}

constexpr int64_t kAhead = 4;  // rows fetched ahead (10^5 neurons: 7-15 % faster)

// --- static projections: the rows of the spiking neurons summed --------------------------------
template <ffi::DataType T>
ffi::Error Propagate(ffi::Buffer<ffi::U32> words, ffi::Buffer<ffi::S32> targets,
                     ffi::Buffer<T> weights, ffi::ResultBuffer<T> out) {
  using V = ffi::NativeType<T>;
  const int64_t rows = targets.dimensions()[0], fan = targets.dimensions()[1];
  const int64_t n_out = static_cast<int64_t>(out->element_count());
  V* acc = out->typed_data();
  const int32_t* tg = targets.typed_data();
  const V* w = weights.typed_data();
  // The spiking rows, listed first (ascending), so that the rows a few spikes ahead can be
  // fetched from memory while the current one is added: a large network's tables do not fit in
  // the caches, and a row's first cache lines would otherwise each cost a memory latency.
  static thread_local std::vector<int64_t> list;
  list.clear();
  for_each_bit(words.typed_data(), static_cast<int64_t>(words.element_count()),
               [&](int64_t q, int b) {
                 const int64_t i = q * 32 + b;
                 if (i < rows - 1) list.push_back(i);  // the last row is the "no spike" row
               });
  const int64_t n_rows = static_cast<int64_t>(list.size());
  const int64_t row_bytes_t = fan * int64_t(sizeof(int32_t)), row_bytes_w = fan * int64_t(sizeof(V));
  auto fetch = [&](int64_t k) {
    const int64_t a = list[k] * fan;
    const char* pt = reinterpret_cast<const char*>(tg + a);
    const char* pw = reinterpret_cast<const char*>(w + a);
    for (int64_t o = 0; o < row_bytes_t; o += 64) __builtin_prefetch(pt + o);
    for (int64_t o = 0; o < row_bytes_w; o += 64) __builtin_prefetch(pw + o);
  };
  // the first rows are requested before the output is cleared, which hides part of their wait
  for (int64_t k = 0; k < std::min(kAhead, n_rows); ++k) fetch(k);
  std::fill(acc, acc + n_out, V(0));
  for (int64_t k = 0; k < n_rows; ++k) {
    if (k + kAhead < n_rows) fetch(k + kAhead);
    const int64_t i = list[k];
    const int32_t* t = tg + i * fan;
    const V* ww = w + i * fan;
    for (int64_t c = 0; c < fan; ++c) {
      const int32_t j = t[c];
      if (j >= 0 && j < n_out) acc[j] += ww[c];
    }
  }
  return ffi::Error::Success();
}

// --- per-synapse delays: arrivals of the ring's spikes at step t ------------------------------
// Slot s holds the spikes of age k = (t - 1 - s) mod depth + 1; only ages >= d_min arrive, and
// with `spread` a synapse receives the spike only at its own delay (delays[i, c] == k).
template <ffi::DataType T>
ffi::Error DeliverDelayed(ffi::Buffer<ffi::U32> ring, ffi::Buffer<ffi::S32> t_buf,
                          ffi::Buffer<ffi::S32> targets, ffi::Buffer<ffi::S32> seg_perm,
                          ffi::Buffer<ffi::S32> seg_start, ffi::Buffer<T> sign,
                          ffi::Buffer<T> weights, ffi::ResultBuffer<T> out, int64_t d_min,
                          int64_t spread) {
  using V = ffi::NativeType<T>;
  const int64_t depth = ring.dimensions()[0], nw = ring.dimensions()[1];
  const int64_t rows = targets.dimensions()[0], fan = targets.dimensions()[1];
  const int64_t width = seg_start.dimensions()[1];
  const int64_t n_out = static_cast<int64_t>(out->element_count());
  const int64_t t = t_buf.typed_data()[0];
  V* acc = out->typed_data();
  std::fill(acc, acc + n_out, V(0));
  const int32_t* tg = targets.typed_data();
  const int32_t *pm = seg_perm.typed_data(), *ss = seg_start.typed_data();
  const V* w = weights.typed_data();
  const V* sg = sign.typed_data();
  for_each_bit(ring.typed_data(), depth * nw, [&](int64_t q, int b) {
    const int64_t slot = q / nw, i = (q % nw) * 32 + b;
    const int64_t k = floor_mod(t - 1 - slot, depth) + 1;
    if (k < d_min || i >= rows - 1) return;
    const V s = sg[i];
    for_each_column(i, k, fan, spread, pm, ss, width, [&](int64_t c) {
      const int64_t e = i * fan + c;
      const int32_t j = tg[e];
      if (j >= 0 && j < n_out) acc[j] += w[e] * s;
    });
  });
  return ffi::Error::Success();
}

// --- event-driven plasticity: the row and column passes of components/event_plasticity.py -----
//   dK_ij = g [alpha + beta y_j] s_ij + g [gamma + delta x_ij] r_j,  K <- clip(K + dK, 0, w_max)
// with g = dt eta m, the coefficients of the synapse's kind (coef rows: alpha, beta, gamma,
// delta, w_max; 4 kinds each). Rows: synapses receiving a spike this step (both terms, clipped
// once). Columns: synapses into a post neuron that spiked and receiving no spike (second term).
template <ffi::DataType T>
ffi::Error PlasticUpdate(ffi::Buffer<ffi::U32> ring, ffi::Buffer<ffi::S32> t_buf,
                         ffi::Buffer<T> W_in, ffi::Buffer<ffi::S32> targets,
                         ffi::Buffer<ffi::S32> seg_perm, ffi::Buffer<ffi::S32> seg_start,
                         ffi::Buffer<ffi::S32> kinds,
                         ffi::Buffer<ffi::S32> tpre, ffi::Buffer<ffi::S32> tpost, ffi::Buffer<T> y,
                         ffi::Buffer<T> r, ffi::Buffer<T> x, ffi::Buffer<T> sf, ffi::Buffer<T> g_buf,
                         ffi::Buffer<T> coef, ffi::Buffer<ffi::S32> col_pos,
                         ffi::Buffer<ffi::S32> col_src, ffi::Buffer<ffi::S32> col_delay,
                         ffi::Buffer<ffi::S32> col_kind, ffi::Buffer<ffi::PRED> col_valid,
                         ffi::ResultBuffer<T> W_out, int64_t d_min, int64_t spread) {
  using V = ffi::NativeType<T>;
  const int64_t depth = ring.dimensions()[0], nw = ring.dimensions()[1];
  const int64_t fan = targets.dimensions()[1];
  const int64_t n_pre = sf.dimensions()[1];
  const int64_t n_post = static_cast<int64_t>(r.element_count());
  const int64_t g_cols = col_pos.dimensions()[1];
  const int64_t t = t_buf.typed_data()[0];
  const V g = g_buf.typed_data()[0];
  V* W = W_out->typed_data();
  if (W != W_in.typed_data())
    std::memcpy(W, W_in.typed_data(), W_in.element_count() * sizeof(V));
  const V* alpha = coef.typed_data();
  const V* beta = alpha + 4;
  const V* gamma = alpha + 8;
  const V* delta = alpha + 12;
  const V* w_max = alpha + 16;
  const int32_t *tg = targets.typed_data(), *kd = kinds.typed_data();
  const int32_t *pm = seg_perm.typed_data(), *ss = seg_start.typed_data();
  const int64_t width = seg_start.dimensions()[1];
  const int32_t *tp = tpre.typed_data(), *tq = tpost.typed_data();
  const V *yv = y.typed_data(), *rv = r.typed_data(), *xv = x.typed_data(), *sv = sf.typed_data();
  const int64_t xs = depth * n_pre;  // stride of x between post types

  for_each_bit(ring.typed_data(), depth * nw, [&](int64_t q, int b) {
    const int64_t slot = q / nw, i = (q % nw) * 32 + b;
    const int64_t k = floor_mod(t - 1 - slot, depth) + 1;
    if (k < d_min || i >= n_pre) return;
    const V* yrow = yv + tp[i] * n_post;
    for_each_column(i, k, fan, spread, pm, ss, width, [&](int64_t c) {
      const int64_t e = i * fan + c;
      const int32_t j = tg[e];
      if (j < 0 || j >= n_post) return;
      const int32_t s = kd[e];
      const V xj = xv[tq[j] * xs + slot * n_pre + i];
      const V a = alpha[s] + beta[s] * yrow[j];
      const V d = (gamma[s] + delta[s] * xj) * rv[j];
      const V dw = g * (a + d);
      W[e] = clip0<V>(W[e] + dw, w_max[s]);
    });
  });

  const int32_t *cp = col_pos.typed_data(), *cs = col_src.typed_data();
  const int32_t *cd = col_delay.typed_data(), *ck = col_kind.typed_data();
  const bool* cv = col_valid.typed_data();
  int64_t slot_of[64];  // ring slot of the spikes of age d (no division per synapse)
  const bool small = depth < 64;
  if (small)
    for (int64_t d = 0; d <= depth; ++d) slot_of[d] = floor_mod(t - d, depth);
  for (int64_t j = 0; j < n_post; ++j) {
    if (!(rv[j] > V(0))) continue;
    const int64_t xoff = tq[j] * xs;
    for (int64_t c = 0; c < g_cols; ++c) {
      const int64_t e = j * g_cols + c;
      if (!cv[e]) break;  // a post neuron's synapses fill its row from column 0
      const int64_t slot = small ? slot_of[cd[e]] : floor_mod(t - cd[e], depth);
      const int64_t src = cs[e];
      if (sv[slot * n_pre + src] > V(0)) continue;  // arrived: done in the row pass
      const int32_t s = ck[e];
      const V dw = g * (gamma[s] + delta[s] * xv[xoff + slot * n_pre + src]);
      W[cp[e]] = clip0<V>(W[cp[e]] + dw, w_max[s]);
    }
  }
  return ffi::Error::Success();
}

// --- the leaky integrate-and-fire step of components/lif.py, in one pass -----------------------
// Every argument is (rows, last) row-major with rows in {1, B} and last in {1, n}, where (B, n) is
// the shape of v (B = 1 outside vmap): a parameter shared by every neuron or every batch member
// is read with stride 0 along that axis. The arithmetic is XLA's for LIF.step: the same operations
// in the same order, and the two multiply-adds of the exact update fused as XLA:CPU fuses them.
constexpr int32_t kBig = 1 << 30;  // components/lif.py BIG

template <typename V>
struct Strided {
  const V* p;
  int64_t row, col;  // strides
  template <ffi::DataType T>
  static Strided of(const ffi::Buffer<T>& b, int64_t B, int64_t n) {
    const auto d = b.dimensions();
    const int64_t last = d.size() == 0 ? 1 : d.back();
    const int64_t rows = last ? static_cast<int64_t>(b.element_count()) / last : 0;
    return {b.typed_data(), (rows == B && B > 1) ? last : 0, (last == n && n > 1) ? 1 : 0};
  }
};

template <typename V>
inline V mul_add(V a, V b, V c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

constexpr int64_t kBlock = 512;  // neurons per block

// One neuron's step. Every value is read unconditionally and the outcome chosen by selects, so
// the loops below vectorise without branches or masked loads. ``vinf + (v0 - vinf) e_m`` and
// ``+ I_syn k_syn`` are the two multiply-adds XLA:CPU fuses.
template <typename V>
inline void lif_one(V v, V isyn, V cur, V syn, V jump, int32_t since, V v_rest, V v_reset,
                    V v_th, V e_m, V k_syn, V e_syn, int32_t nref, V& v_out, V& i_out,
                    int32_t& since_out, V& spike) {
  const int32_t s1 = since + 1;
  const int32_t s = s1 < kBig ? s1 : kBig;
  const bool refractory = s < nref;
  const V v0 = v + (s <= (nref > 1 ? nref : 1) ? V(0) : jump);
  const V is = isyn + syn;
  const V vinf = v_rest + cur;
  const V vnew = mul_add(is, k_syn, mul_add(v0 - vinf, e_m, vinf));
  const V v1 = refractory ? v0 : vnew;
  const bool fired = (v1 > v_th) && !refractory;
  v_out = fired ? v_reset : v1;
  since_out = fired ? 0 : s;
  i_out = is * e_syn;
  spike = fired ? V(1) : V(0);
}

// Pointers to the block's values of every argument: straight into the buffer when the argument
// varies along the neurons, else into `fill`, a block of its broadcast value. The loop has no
// dependence between neurons (v, I_syn and since are read and written at the same index only).
template <typename V>
struct LifArgs {
  const V *v, *isyn, *cur, *syn, *jump, *v_rest, *v_reset, *v_th, *e_m, *k_syn, *e_syn;
  const int32_t *since, *n_ref;
  V *v_out, *i_out, *spike;
  int32_t* since_out;
};

template <typename V>
__attribute__((optimize("O3"))) void lif_block(const LifArgs<V>& a, int64_t len) {
  const V *v = a.v, *isyn = a.isyn, *cur = a.cur, *syn = a.syn, *jump = a.jump;
  const V *v_rest = a.v_rest, *v_reset = a.v_reset, *v_th = a.v_th, *e_m = a.e_m;
  const V *k_syn = a.k_syn, *e_syn = a.e_syn;
  const int32_t *since = a.since, *n_ref = a.n_ref;
  V *v_out = a.v_out, *i_out = a.i_out, *spike = a.spike;
  int32_t* since_out = a.since_out;
#pragma GCC ivdep
  for (int64_t i = 0; i < len; ++i)
    lif_one(v[i], isyn[i], cur[i], syn[i], jump[i], since[i], v_rest[i], v_reset[i], v_th[i],
            e_m[i], k_syn[i], e_syn[i], n_ref[i], v_out[i], i_out[i], since_out[i], spike[i]);
}

// The parameters of a row that every neuron shares (a lone pool, or a group whose members have
// equal values): read once, held in registers, and only the state and inputs streamed.
template <typename V>
struct LifShared {
  V v_rest, v_reset, v_th, e_m, k_syn, e_syn;
  int32_t n_ref;
};

template <typename V>
__attribute__((optimize("O3"))) void lif_block_shared(const LifArgs<V>& a, const LifShared<V>& p,
                                                      int64_t len) {
  const V *v = a.v, *isyn = a.isyn, *cur = a.cur, *syn = a.syn, *jump = a.jump;
  const int32_t* since = a.since;
  V *v_out = a.v_out, *i_out = a.i_out, *spike = a.spike;
  int32_t* since_out = a.since_out;
  const V v_rest = p.v_rest, v_reset = p.v_reset, v_th = p.v_th, e_m = p.e_m;
  const V k_syn = p.k_syn, e_syn = p.e_syn;
  const int32_t n_ref = p.n_ref;
#pragma GCC ivdep
  for (int64_t i = 0; i < len; ++i)
    lif_one(v[i], isyn[i], cur[i], syn[i], jump[i], since[i], v_rest, v_reset, v_th, e_m, k_syn,
            e_syn, n_ref, v_out[i], i_out[i], since_out[i], spike[i]);
}

// The block's pointer into `b` for row r from neuron i0 (the broadcast block when `b` is shared
// along the neurons; it is filled once per row).
template <typename V>
struct Source {
  Strided<V> s;
  V fill[kBlock];
  int64_t filled_row = -1;
  const V* at(int64_t r, int64_t i0) {
    if (s.col) return s.p + r * s.row + i0;
    if (filled_row != r * s.row) {
      std::fill(fill, fill + kBlock, s.p[r * s.row]);
      filled_row = r * s.row;
    }
    return fill;
  }
};

template <ffi::DataType T>
ffi::Error LifStep(ffi::Buffer<T> v_in, ffi::Buffer<T> i_in, ffi::Buffer<ffi::S32> since_in,
                   ffi::Buffer<T> current, ffi::Buffer<T> syn, ffi::Buffer<T> jump,
                   ffi::Buffer<T> v_rest, ffi::Buffer<T> v_reset, ffi::Buffer<T> v_th,
                   ffi::Buffer<T> e_m, ffi::Buffer<T> k_syn, ffi::Buffer<T> e_syn,
                   ffi::Buffer<ffi::S32> n_ref, ffi::ResultBuffer<T> v_out,
                   ffi::ResultBuffer<T> i_out, ffi::ResultBuffer<ffi::S32> since_out,
                   ffi::ResultBuffer<T> spikes) {
  using V = ffi::NativeType<T>;
  const auto dims = v_in.dimensions();
  const int64_t n = dims.size() == 0 ? 1 : dims.back();
  const int64_t B = n ? static_cast<int64_t>(v_in.element_count()) / n : 0;
  // the state is (B, n) like v: read in place
  const V *v0 = v_in.typed_data(), *i0p = i_in.typed_data();
  const int32_t* s0 = since_in.typed_data();
  static thread_local Source<V> src[9];
  static thread_local Source<int32_t> nref_src;
  const ffi::Buffer<T>* bufs[9] = {&current, &syn, &jump, &v_rest, &v_reset,
                                   &v_th, &e_m, &k_syn, &e_syn};
  for (int k = 0; k < 9; ++k) {
    src[k].s = Strided<V>::of(*bufs[k], B, n);
    src[k].filled_row = -1;
  }
  nref_src.s = Strided<int32_t>::of(n_ref, B, n);
  nref_src.filled_row = -1;
  V *vo = v_out->typed_data(), *io = i_out->typed_data(), *so = spikes->typed_data();
  int32_t* sio = since_out->typed_data();
  // the parameters (arguments 3-8 and n_ref) are the same along every row's neurons
  bool shared = nref_src.s.col == 0;
  for (int k = 3; k < 9; ++k) shared = shared && src[k].s.col == 0;
  for (int64_t r = 0; r < B; ++r) {
    if (shared) {
      auto at = [&](int k) { return src[k].s.p[r * src[k].s.row]; };
      const LifShared<V> p{at(3), at(4), at(5), at(6), at(7), at(8),
                           nref_src.s.p[r * nref_src.s.row]};
      for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
        const int64_t len = std::min(kBlock, n - i0), e = r * n + i0;
        LifArgs<V> a{v0 + e, i0p + e, src[0].at(r, i0), src[1].at(r, i0), src[2].at(r, i0),
                     nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, s0 + e, nullptr,
                     vo + e, io + e, so + e, sio + e};
        lif_block_shared(a, p, len);
      }
      continue;
    }
    for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
      const int64_t len = std::min(kBlock, n - i0), e = r * n + i0;
      LifArgs<V> a{v0 + e, i0p + e, src[0].at(r, i0), src[1].at(r, i0), src[2].at(r, i0),
                   src[3].at(r, i0), src[4].at(r, i0), src[5].at(r, i0), src[6].at(r, i0),
                   src[7].at(r, i0), src[8].at(r, i0), s0 + e, nref_src.at(r, i0),
                   vo + e, io + e, so + e, sio + e};
      lif_block(a, len);
    }
  }
  return ffi::Error::Success();
}

}  // namespace

#define SPARK_PROPAGATE(name, T)                                                        \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(name, Propagate<T>,                                     \
                                ffi::Ffi::Bind()                                        \
                                    .Arg<ffi::Buffer<ffi::U32>>()                       \
                                    .Arg<ffi::Buffer<ffi::S32>>()                       \
                                    .Arg<ffi::Buffer<T>>()                              \
                                    .Ret<ffi::Buffer<T>>());
SPARK_PROPAGATE(SparkPropagateF32, ffi::F32)
SPARK_PROPAGATE(SparkPropagateF64, ffi::F64)

#define SPARK_DELIVER(name, T)                                                          \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(name, DeliverDelayed<T>,                                \
                                ffi::Ffi::Bind()                                        \
                                    .Arg<ffi::Buffer<ffi::U32>>()                       \
                                    .Arg<ffi::Buffer<ffi::S32>>()                       \
                                    .Arg<ffi::Buffer<ffi::S32>>()                       \
                                    .Arg<ffi::Buffer<ffi::S32>>()                       \
                                    .Arg<ffi::Buffer<ffi::S32>>()                       \
                                    .Arg<ffi::Buffer<T>>()                              \
                                    .Arg<ffi::Buffer<T>>()                              \
                                    .Ret<ffi::Buffer<T>>()                              \
                                    .Attr<int64_t>("d_min")                             \
                                    .Attr<int64_t>("spread"));
SPARK_DELIVER(SparkDeliverDelayedF32, ffi::F32)
SPARK_DELIVER(SparkDeliverDelayedF64, ffi::F64)

#define SPARK_PLASTIC(name, T)                                                          \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(name, PlasticUpdate<T>,                                 \
                                ffi::Ffi::Bind()                                        \
                                    .Arg<ffi::Buffer<ffi::U32>>()  /* ring */           \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* t */              \
                                    .Arg<ffi::Buffer<T>>()         /* W */              \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* targets */        \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* seg_perm */       \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* seg_start */      \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* kinds */          \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* tpre */           \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* tpost */          \
                                    .Arg<ffi::Buffer<T>>()         /* y */              \
                                    .Arg<ffi::Buffer<T>>()         /* r */              \
                                    .Arg<ffi::Buffer<T>>()         /* x */              \
                                    .Arg<ffi::Buffer<T>>()         /* sf */             \
                                    .Arg<ffi::Buffer<T>>()         /* g */              \
                                    .Arg<ffi::Buffer<T>>()         /* coef */           \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* col_pos */        \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* col_src */        \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* col_delay */      \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* col_kind */       \
                                    .Arg<ffi::Buffer<ffi::PRED>>() /* col_valid */      \
                                    .Ret<ffi::Buffer<T>>()                              \
                                    .Attr<int64_t>("d_min")                             \
                                    .Attr<int64_t>("spread"));
SPARK_PLASTIC(SparkPlasticUpdateF32, ffi::F32)
SPARK_PLASTIC(SparkPlasticUpdateF64, ffi::F64)

#define SPARK_LIF(name, T)                                                              \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(name, LifStep<T>,                                       \
                                ffi::Ffi::Bind()                                        \
                                    .Arg<ffi::Buffer<T>>()         /* v */              \
                                    .Arg<ffi::Buffer<T>>()         /* I_syn */          \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* since */          \
                                    .Arg<ffi::Buffer<T>>()         /* current */        \
                                    .Arg<ffi::Buffer<T>>()         /* syn */            \
                                    .Arg<ffi::Buffer<T>>()         /* jump */           \
                                    .Arg<ffi::Buffer<T>>()         /* v_rest */         \
                                    .Arg<ffi::Buffer<T>>()         /* v_reset */        \
                                    .Arg<ffi::Buffer<T>>()         /* v_th */           \
                                    .Arg<ffi::Buffer<T>>()         /* e_m */            \
                                    .Arg<ffi::Buffer<T>>()         /* k_syn */          \
                                    .Arg<ffi::Buffer<T>>()         /* e_syn */          \
                                    .Arg<ffi::Buffer<ffi::S32>>()  /* n_ref */          \
                                    .Ret<ffi::Buffer<T>>()         /* v */              \
                                    .Ret<ffi::Buffer<T>>()         /* I_syn */          \
                                    .Ret<ffi::Buffer<ffi::S32>>()  /* since */          \
                                    .Ret<ffi::Buffer<T>>());       /* spikes */
SPARK_LIF(SparkLifStepF32, ffi::F32)
SPARK_LIF(SparkLifStepF64, ffi::F64)
