// Spark's host I/O handler: a call back into Python between two blocks of steps of one compiled
// run (engine/operations.py, Simulation.operate).
//
// Built on first use by components/native/hostio.py, like kernels.cc. The compiled program holds
// no address: it passes a slot number (an int32 operand) to the handler, and the slot table below
// says, in this process only, which function to call and which host buffers to use. A program
// taken from JAX's persistent compilation cache by another process therefore calls whatever that
// process bound to the slot, never a stale pointer.
//
// One call: copy the block's host-read values (`aux`: watched values, spike counts, the
// finiteness flag) into the slot's host buffer, call the bound function (a ctypes callback,
// which takes the GIL itself; the calling thread released it while XLA runs), check that the
// host-fed parameter buffer it leaves holds only finite floats, and copy that buffer out as the
// parameters of the next block, followed by one word (the block number) that the program
// carries to its end: so the call is never dead code although it is not marked as having side
// effects (which would take JAX's fast dispatch path away, ~0.5 ms a run). A nonzero return of the function, or a non-finite input, stops
// the run with an error (the Python side re-raises the user's exception).

#include <cstdint>
#include <cstring>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

extern "C" {
typedef int (*SparkHostFn)(int64_t slot, int64_t block);
}

namespace {

constexpr int64_t kSlots = 64;

struct Slot {
  SparkHostFn fn = nullptr;
  uint32_t* aux = nullptr;   // host copy of the block's aux buffer (Python reads it)
  int64_t aux_n = 0;
  const uint32_t* fed = nullptr;  // host-fed parameter buffer (Python writes it)
  int64_t fed_n = 0;
  int64_t f32_lo = 0, f32_hi = 0;  // words of float32 values in `fed`
  int64_t f64_lo = 0, f64_hi = 0;  // words of float64 values (two each, high word second)
};

Slot g_slots[kSlots];

// True when no float in `fed` has all exponent bits set (NaN or infinity). No early exit: the
// float32 loop then vectorises (the usual case is a clean buffer, read whole either way).
bool fed_finite(const Slot& s) {
  uint32_t bad = 0;
  for (int64_t i = s.f32_lo; i < s.f32_hi; ++i)
    bad |= static_cast<uint32_t>((s.fed[i] & 0x7F800000u) == 0x7F800000u);
  for (int64_t i = s.f64_lo + 1; i < s.f64_hi; i += 2)
    bad |= static_cast<uint32_t>((s.fed[i] & 0x7FF00000u) == 0x7FF00000u);
  return bad == 0;
}

ffi::Error HostCall(ffi::Buffer<ffi::S32> slot_buf, ffi::Buffer<ffi::S32> block_buf,
                    ffi::Buffer<ffi::U32> aux, ffi::ResultBuffer<ffi::U32> fed_out) {
  const int64_t k = slot_buf.typed_data()[0];
  if (k < 0 || k >= kSlots || g_slots[k].fn == nullptr)
    return ffi::Error(ffi::ErrorCode::kFailedPrecondition,
                      "spark host call: no operation bound to this slot");
  const Slot& s = g_slots[k];
  if (static_cast<int64_t>(aux.element_count()) != s.aux_n ||
      static_cast<int64_t>(fed_out->element_count()) != s.fed_n + 1)
    return ffi::Error(ffi::ErrorCode::kInvalidArgument,
                      "spark host call: buffer sizes differ from the bound ones");
  if (s.aux_n) std::memcpy(s.aux, aux.typed_data(), s.aux_n * sizeof(uint32_t));
  if (s.fn(k, block_buf.typed_data()[0]) != 0)
    return ffi::Error(ffi::ErrorCode::kCancelled, "spark operation stopped the run");
  if (!fed_finite(s))
    return ffi::Error(ffi::ErrorCode::kInvalidArgument,
                      "spark operation wrote a NaN or infinite input");
  uint32_t* out = fed_out->typed_data();
  if (s.fed_n) std::memcpy(out, s.fed, s.fed_n * sizeof(uint32_t));
  out[s.fed_n] = static_cast<uint32_t>(block_buf.typed_data()[0]);
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparkHostCall, HostCall,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::S32>>()   /* slot */
                                  .Arg<ffi::Buffer<ffi::S32>>()   /* block */
                                  .Arg<ffi::Buffer<ffi::U32>>()   /* aux */
                                  .Ret<ffi::Buffer<ffi::U32>>()); /* host-fed params + 1 */

// Bind slot `k` (fn == nullptr unbinds it). Returns 0, or 1 for a slot out of range.
extern "C" int spark_hostio_bind(int64_t k, SparkHostFn fn, uint32_t* aux, int64_t aux_n,
                                 const uint32_t* fed, int64_t fed_n, int64_t f32_lo,
                                 int64_t f32_hi, int64_t f64_lo, int64_t f64_hi) {
  if (k < 0 || k >= kSlots) return 1;
  Slot& s = g_slots[k];
  s.fn = nullptr;
  s.aux = aux;
  s.aux_n = aux_n;
  s.fed = fed;
  s.fed_n = fed_n;
  s.f32_lo = f32_lo;
  s.f32_hi = f32_hi;
  s.f64_lo = f64_lo;
  s.f64_hi = f64_hi;
  s.fn = fn;
  return 0;
}

extern "C" int64_t spark_hostio_slots() { return kSlots; }
