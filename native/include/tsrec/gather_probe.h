// Random-gather bandwidth probe used by the TBE benchmark (see gather_probe.cc).
#pragma once
#include "tsrec/tbe_cpu.h"

namespace tsrec {

/** Seconds to read every row the batch looks up, once, with all pool threads; sink defeats DCE. */
double GatherProbeSeconds(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, ThreadPool& pool, float* sink);

}  // namespace tsrec
