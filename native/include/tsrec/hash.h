// 64-bit fingerprint hashing of ids: FarmHash's Fingerprint64 (farmhashna::Hash64), the function
// TensorFlow's Fingerprint64 and `string_to_hash_bucket_fast` use, so a string id lands in the
// same bucket as in TensorFlow / EasyRec (`Fingerprint64(s) % num_buckets`). Its outputs are
// frozen forever by FarmHash; native/tests/hash_test.cc checks the published test vectors.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tsrec/status.h"

namespace tsrec {

/** FarmHash Fingerprint64 of `len` bytes at `s` (little-endian result, as on x86/ARM). */
uint64_t Fingerprint64(const char* s, size_t len);

/**
 * Many byte strings inside one buffer: string i is bytes[starts[i], ends[i]).
 * The ranges may overlap, leave gaps and come in any order (they usually point straight into
 * the lines of a read file, so nothing is copied).
 */
struct ByteRanges {
  const uint8_t* bytes = nullptr;
  int64_t num_bytes = 0;
  const int32_t* starts = nullptr;
  const int32_t* ends = nullptr;
  int64_t count = 0;
};

/** Checks every range lies in [0, num_bytes] with start <= end; the message names the first bad one. */
Status ValidateByteRanges(const ByteRanges& r);

/** out[i] = Fingerprint64(string i) % num_buckets, for num_buckets in [1, 2^31 - 1]. */
Status HashBuckets(const ByteRanges& r, uint64_t num_buckets, int32_t* out);

/** out[i] = Fingerprint64(string i). */
Status Fingerprint64Batch(const ByteRanges& r, uint64_t* out);

}  // namespace tsrec
