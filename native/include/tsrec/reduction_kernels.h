// Float32 reductions for the `tsrec` tfjs backend. A reduction over one contiguous group of axes
// is a [outer, reduce, inner] problem: out[o, i] = Σ_r x[o, r, i]. Accumulates in double, as
// tfjs's cpu Sum (a JS number) does; a contiguous row (inner == 1) in 8 lane partials combined
// in a fixed order (vectorised; deterministic, not sequential).
#pragma once
#include <cstdint>

namespace tsrec {

/** out[o * inner + i] = Σ_r x[(o * reduce + r) * inner + i]. */
void SumReduce(const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner);

}  // namespace tsrec
