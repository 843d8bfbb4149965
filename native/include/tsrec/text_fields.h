// Byte-level kernels for the CSV reader's featurize step (packages/data runs them in its worker
// threads): splitting rows into fields, turning id fields into hash buckets, and parsing decimal
// fields. Each is the fast path of a TypeScript function in packages/data and handles the common
// case exactly as that function does; anything else (a quoted field, a ragged row, invalid
// UTF-8, a number that needs JavaScript's Number()) is reported back as "not handled" so the
// TypeScript code processes it and keeps every error message and rare case. Equality with the
// TypeScript paths is tested on random data in packages/data/src/native_fields.test.ts.
#pragma once
#include <cstdint>

#include "tsrec/hash.h"
#include "tsrec/status.h"

namespace tsrec {

// Rows and fields are ByteRanges (tsrec/hash.h): row r is bytes[starts[r], ends[r]).

/**
 * Splits every row at `delim` into exactly `num_cols` fields, written column-major:
 * field c of row r is [field_starts[c * col_stride + r], field_ends[...]) (a trailing delimiter
 * makes one more, empty field). Sets *handled = false, possibly after writing some fields, when
 * any row has another field count, a field that starts with `quote` (quote < 0: none) or invalid
 * UTF-8: the caller then splits the whole set itself. Requires col_stride >= rows.count.
 */
Status SplitDelimitedFast(const ByteRanges& rows, int delim, int quote, int64_t num_cols, int64_t col_stride,
                          int32_t* field_starts, int32_t* field_ends, bool* handled);

/** How id fields become embedding rows (hash_bucket_size ids). */
struct HashIdSpec {
  /** Multi-value separator byte, or -1: the whole field is one id. Empty tokens are dropped. */
  int separator = -1;
  /** Keep at most this many ids per row (the first ones); 0 keeps all. */
  int64_t max_values = 0;
  /** Fingerprint64(token) % num_buckets, num_buckets in [1, 2^31 - 1]. */
  uint64_t num_buckets = 1;
  /** The id of a row without tokens (default_value's bucket), or -1 for an empty bag. */
  int32_t default_id = -1;
};

/**
 * Tokens of each field (field r is row r) hashed into buckets: values holds the ids row after
 * row, lengths[r] the count of row r. *count is the total; when it exceeds `capacity` only the
 * lengths are complete and the caller retries with room for *count values.
 */
Status HashIdFields(const ByteRanges& fields, const HashIdSpec& spec, int32_t* values, int64_t capacity,
                    int32_t* lengths, int64_t* count);

/**
 * Decimal fields: out[r] = the number in field r (spaces around it allowed), or `empty_value`
 * for an empty field. A field that is not a plain decimal whose value is exact in one rounding
 * (at most 15 significant digits, a power of ten within 1e±22) — such as "inf", "0x1f", "1e400",
 * "12.5.1" or "" after trimming — is listed in slow_rows (room for rows.count) with *num_slow,
 * and its out[r] is left as is for the caller to parse.
 */
Status ParseDecimalFields(const ByteRanges& fields, double empty_value, double* out, int32_t* slow_rows,
                          int64_t* num_slow);

}  // namespace tsrec
