// Set-up draws of the connectivity, in C++ (components/native/draws.py loads this with ctypes).
//
// spark_fan_in: for each post neuron j, NumPy's Generator(PCG64).choice(m, k, replace=False),
// drawn from the same stream in the same order, so the synapses are those of the NumPy loop
// in components/projection.py (tests/test_setup_draws.py compares them for many m, k, seeds).
// The steps, as NumPy 2 does them (Generator.choice without p, shuffle on):
//  * a bounded integer in [0, r] (r < 2^32 - 1) is Lemire's method on 32-bit draws: x * (r+1)
//    as a 64-bit product, rejected while its low word is below (2^32 - 1 - r) mod (r + 1);
//    the result is the high word;
//  * a 32-bit draw is the low half of the next 64-bit PCG64 output, whose high half is kept
//    for the next 32-bit draw (the bit generator's has_uint32 / uinteger);
//  * PCG64 (XSL-RR 128/64): state = state * MULT + inc, output rotr64(hi ^ lo, state >> 122);
//  * population m > 10000 and k > m / 50: a partial Fisher-Yates shuffle of 0 .. m-1, i from
//    m-1 down to max(m-k, 1) swapping i with a draw in [0, i]; the result is the last k;
//  * otherwise Floyd's method: for i = m-k .. m-1 draw v in [0, i]; take v unless taken before,
//    else take i; then the k taken are shuffled: i from k-1 down to 1, swap i with [0, i].
// ``excl`` skips post neuron j's own index (indices >= j move up by one).
//
// spark_sort_rows: the (post, pre) rows ordered by pre, then post (a counting sort).
#include <cstdint>
#include <algorithm>
#include <new>
#include <vector>

namespace {

typedef unsigned __int128 u128;

struct Pcg64 {
  u128 state, inc;
  bool has32;
  uint32_t buf32;

  uint64_t next64() {
    const u128 mult = ((u128)2549297995355413924ULL << 64) | 4865540595714422341ULL;
    state = state * mult + inc;
    const uint64_t x = (uint64_t)(state >> 64) ^ (uint64_t)state;
    const unsigned rot = (unsigned)(state >> 122);
    return (x >> rot) | (x << ((64 - rot) & 63));
  }

  uint32_t next32() {
    if (has32) {
      has32 = false;
      return buf32;
    }
    const uint64_t x = next64();
    has32 = true;
    buf32 = (uint32_t)(x >> 32);
    return (uint32_t)x;
  }

  // a whole number in [0, r], r < 2^32 - 1
  uint32_t bounded(uint32_t r) {
    if (r == 0) return 0;
    const uint64_t excl = (uint64_t)r + 1;
    uint64_t prod = (uint64_t)next32() * excl;
    uint32_t low = (uint32_t)prod;
    if (low < excl) {
      const uint32_t threshold = (uint32_t)((UINT32_MAX - r) % excl);
      while (low < threshold) {
        prod = (uint64_t)next32() * excl;
        low = (uint32_t)prod;
      }
    }
    return (uint32_t)(prod >> 32);
  }
};

void load(Pcg64& g, const uint64_t* s) {
  g.state = ((u128)s[0] << 64) | s[1];
  g.inc = ((u128)s[2] << 64) | s[3];
  g.has32 = s[4] != 0;
  g.buf32 = (uint32_t)s[5];
}

void store(const Pcg64& g, uint64_t* s) {
  s[0] = (uint64_t)(g.state >> 64);
  s[1] = (uint64_t)g.state;
  s[2] = (uint64_t)(g.inc >> 64);
  s[3] = (uint64_t)g.inc;
  s[4] = g.has32 ? 1 : 0;
  s[5] = g.buf32;
}

}  // namespace

// rows[j * k + c]: the c-th pre neuron of post neuron j. st: the PCG64 state (state hi, lo,
// inc hi, lo, has_uint32, uinteger), read and written back. Returns 0, 1 (out of memory) or
// 2 (sizes out of range: 0 <= k <= m < 2^31).
extern "C" int spark_fan_in(uint64_t* st, int64_t m, int64_t k, int64_t n_post, int32_t excl,
                            int32_t* rows) {
  if (m < 0 || k < 0 || k > m || m >= ((int64_t)1 << 31) || n_post < 0) return 2;
  Pcg64 g;
  load(g, st);
  const bool tail = m > 10000 && k > m / 50;
  try {
    // Floyd: seen[v] == stamp marks v as taken in the current row (stamp = row + 1); for a
    // large population an open-addressing set of the row's values (taken[] == -1: free)
    const bool small = m <= (1 << 24);
    std::vector<uint32_t> seen(tail || !small ? 0 : (size_t)m, 0u);
    uint64_t mask = 1;
    while (mask < 2 * (uint64_t)k) mask <<= 1;
    std::vector<int64_t> taken(small ? 0 : (size_t)mask, -1);
    mask -= 1;
    std::vector<int32_t> pool(tail ? (size_t)m : 0);   // tail shuffle: 0 .. m-1, restored
    for (size_t i = 0; i < pool.size(); ++i) pool[i] = (int32_t)i;
    std::vector<int32_t> idx((size_t)k);
    std::vector<int64_t> touched;
    uint32_t stamp = 0;
    for (int64_t j = 0; j < n_post; ++j) {
      int32_t* out = rows + j * k;
      if (tail) {
        const int64_t first = m - k > 1 ? m - k : 1;
        touched.clear();
        for (int64_t i = m - 1; i >= first; --i) {
          const int64_t s = g.bounded((uint32_t)i);
          const int32_t t = pool[i];
          pool[i] = pool[s];
          pool[s] = t;
          touched.push_back(s);
        }
        for (int64_t c = 0; c < k; ++c) out[c] = pool[m - k + c];
        // put back 0 .. m-1 for the next row
        for (int64_t i = m - 1; i >= first; --i) pool[i] = (int32_t)i;
        for (int64_t s : touched) pool[s] = (int32_t)s;
      } else {
        if (++stamp == 0) {   // wrapped: clear the marks
          std::fill(seen.begin(), seen.end(), 0u);
          stamp = 1;
        }
        for (int64_t i = m - k; i < m; ++i) {
          const uint32_t v = g.bounded((uint32_t)i);
          uint32_t take = v;
          if (small) {
            if (seen[v] == stamp) take = (uint32_t)i;
            seen[take] = stamp;
          } else {
            uint64_t h = v & mask;
            while (taken[h] != -1 && taken[h] != (int64_t)v) h = (h + 1) & mask;
            if (taken[h] == (int64_t)v) {   // v taken before: take i (never taken: > all)
              take = (uint32_t)i;
              h = take & mask;
              while (taken[h] != -1) h = (h + 1) & mask;
            }
            taken[h] = take;
          }
          idx[i - (m - k)] = (int32_t)take;
        }
        if (!small) std::fill(taken.begin(), taken.end(), -1);   // O(k): empty for the next row
        for (int64_t i = k - 1; i >= 1; --i) {
          const int64_t s = g.bounded((uint32_t)i);
          const int32_t t = idx[i];
          idx[i] = idx[s];
          idx[s] = t;
        }
        for (int64_t c = 0; c < k; ++c) out[c] = idx[c];
      }
      if (excl)
        for (int64_t c = 0; c < k; ++c) out[c] += out[c] >= j ? 1 : 0;
    }
  } catch (const std::bad_alloc&) {
    return 1;
  }
  store(g, st);
  return 0;
}

// The synapses of rows (n_post x k, distinct within a row) ordered by pre, then post:
// out_pre ascending, out_post ascending within each pre neuron. A counting sort in two passes
// that keep memory access local (a direct scatter into 10^8 places costs a cache and TLB miss
// each): first the (pre, post) pairs go to one of at most 1024 groups of consecutive pre
// neurons, in order (few write streams), then each group is scattered into its own slice of
// the output, which fits in the cache. Returns 0, 1 (out of memory) or 2 (a pre index
// outside 0 .. n_pre-1).
extern "C" int spark_sort_rows(const int32_t* rows, int64_t n_post, int64_t k, int64_t n_pre,
                               int64_t* out_pre, int64_t* out_post) {
  const int64_t n = n_post * k;
  int shift = 0;
  while ((n_pre >> shift) >= 1024) ++shift;
  const int64_t groups = (n_pre >> shift) + 1;
  try {
    std::vector<int64_t> next((size_t)n_pre + 1, 0);
    for (int64_t e = 0; e < n; ++e) {
      if (rows[e] < 0 || rows[e] >= n_pre) return 2;
      ++next[rows[e] + 1];
    }
    for (int64_t i = 0; i < n_pre; ++i) next[i + 1] += next[i];   // next[i]: where i starts
    for (int64_t i = 0; i < n_pre; ++i)
      for (int64_t e = next[i]; e < next[i + 1]; ++e) out_pre[e] = i;
    std::vector<int64_t> at((size_t)groups + 1);   // where each group starts
    for (int64_t g = 0; g <= groups; ++g) at[g] = next[std::min(g << shift, n_pre)];
    // the pairs (pre << 32) | post, grouped, are first kept in out_post itself
    uint64_t* pairs = reinterpret_cast<uint64_t*>(out_post);
    std::vector<int64_t> fill(at.begin(), at.end() - 1);
    for (int64_t j = 0; j < n_post; ++j) {
      const int32_t* row = rows + j * k;
      for (int64_t c = 0; c < k; ++c)
        pairs[fill[row[c] >> shift]++] = ((uint64_t)row[c] << 32) | (uint64_t)j;
    }
    std::vector<uint64_t> group;
    for (int64_t g = 0; g < groups; ++g) {
      group.assign(pairs + at[g], pairs + at[g + 1]);
      for (const uint64_t p : group) out_post[next[p >> 32]++] = (int64_t)(p & 0xFFFFFFFFu);
    }
  } catch (const std::bad_alloc&) {
    return 1;
  }
  return 0;
}

// The padded target table of the synapses rows[j] -> j: row p of ``targets`` (n_pre x fan,
// filled beforehand with the padding value) gets pre neuron p's post neurons in ascending
// order from its first entry on. Returns 0 or 2 (a pre index out of range, or more than fan
// synapses for one pre neuron).
extern "C" int spark_fill_targets(const int32_t* rows, int64_t n_post, int64_t k, int64_t n_pre,
                                  int64_t fan, int32_t* targets) {
  std::vector<int64_t> used((size_t)n_pre, 0);
  for (int64_t j = 0; j < n_post; ++j) {
    const int32_t* row = rows + j * k;
    for (int64_t c = 0; c < k; ++c) {
      const int64_t p = row[c];
      if (p < 0 || p >= n_pre || used[p] >= fan) return 2;
      targets[p * fan + used[p]++] = (int32_t)j;
    }
  }
  return 0;
}

// fixed_probability: for each (pre i, post j), row after row, NumPy's Generator.random() (the
// next 64-bit output's top 53 bits times 2^-53) below p makes a synapse: the pairs, in that
// order, into out_pre / out_post (at most ``capacity``). Returns how many, or -1 when there are
// more than ``capacity`` (the state ``st`` is then left as it was).
extern "C" int64_t spark_pairs_below(uint64_t* st, int64_t n_rows, int64_t n_cols, double p,
                                     int64_t* out_pre, int64_t* out_post, int64_t capacity) {
  Pcg64 g;
  load(g, st);
  int64_t n = 0;
  for (int64_t i = 0; i < n_rows; ++i)
    for (int64_t j = 0; j < n_cols; ++j) {
      const double u = (double)(g.next64() >> 11) * (1.0 / 9007199254740992.0);
      if (u < p) {
        if (n == capacity) return -1;
        out_pre[n] = i;
        out_post[n] = j;
        ++n;
      }
    }
  store(g, st);
  return n;
}
