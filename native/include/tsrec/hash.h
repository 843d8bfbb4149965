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

/**
 * x % d for 64-bit x by a precomputed divisor d in [1, 2^32): Lemire, Kaser and Kurz's
 * "direct remainder" (fastmod_u64, 2019) with a 128-bit reciprocal, four multiplications instead
 * of a 64-bit division (~40 cycles on x86). Exact for every x (hash_test checks it against %).
 */
class BucketMod {
 public:
  explicit BucketMod(uint64_t d) : d_(d) {
#ifdef __SIZEOF_INT128__
    m_ = ~static_cast<unsigned __int128>(0) / d + 1;  // wraps to 0 for d = 1, which gives 0: right
#endif
  }
  uint64_t operator()(uint64_t x) const {
#ifdef __SIZEOF_INT128__
    const unsigned __int128 low = m_ * x;
    const unsigned __int128 bottom = (static_cast<unsigned __int128>(static_cast<uint64_t>(low)) * d_) >> 64;
    const unsigned __int128 top = static_cast<unsigned __int128>(static_cast<uint64_t>(low >> 64)) * d_;
    return static_cast<uint64_t>((bottom + top) >> 64);
#else
    return x % d_;
#endif
  }

 private:
  uint64_t d_;
#ifdef __SIZEOF_INT128__
  unsigned __int128 m_ = 0;
#endif
};

/**
 * Checks every range lies in [0, num_bytes] with start <= end; the message names the first bad
 * one as "<what>: <item> i has range [s, e) outside ...".
 */
Status ValidateByteRanges(const ByteRanges& r, const char* what = "hash", const char* item = "string");

/** out[i] = Fingerprint64(string i) % num_buckets, for num_buckets in [1, 2^31 - 1]. */
Status HashBuckets(const ByteRanges& r, uint64_t num_buckets, int32_t* out);

/** out[i] = Fingerprint64(string i). */
Status Fingerprint64Batch(const ByteRanges& r, uint64_t* out);

}  // namespace tsrec
