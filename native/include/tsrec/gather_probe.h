// Random-gather bandwidth probe used by the TBE benchmark (see gather_probe.cc).
#pragma once
#include "tsrec/tbe_cpu.h"

namespace tsrec {

/** How the probe touches the looked-up rows. Values are part of the JS API. */
enum class GatherProbeMode : int32_t { kIndexSelect = 0, kReadOnly = 1 };

/** Seconds to gather every row the batch looks up, once, with all pool threads; sink defeats DCE. */
double GatherProbeSeconds(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, GatherProbeMode mode,
                          ThreadPool& pool, float* sink);

}  // namespace tsrec
