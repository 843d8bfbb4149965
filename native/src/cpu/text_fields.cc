// Fast paths of packages/data's field splitting, id hashing and decimal parsing (see
// tsrec/text_fields.h). They mirror delimited_splitter.ts (splitFields, firstInvalidUtf8),
// tokens.ts + id_feature.ts (tokenizeBytes, truncateTokens, assembleIds with a hash mapper) and
// number_parser.ts (parseNumber's fast path) step by step; keep them in sync.
#include "tsrec/text_fields.h"

#include <cstring>
#include <string>

#include "tsrec/hash.h"

// TSREC_TEXT_FIELDS_PORTABLE=1 forces the plain-C++ chunk masks (what non-x86 builds get), so
// the text_fields_scalar_test target checks them on x86 too.
#if !defined(TSREC_TEXT_FIELDS_PORTABLE) && (defined(__AVX2__) || defined(__SSE2__))
#define TSREC_TEXT_FIELDS_SIMD 1
#include <immintrin.h>
#endif

namespace tsrec {

namespace {

// Whether bytes[s, e) is valid UTF-8 by firstInvalidUtf8's rules (no overlongs, no surrogates,
// nothing above U+10FFFF, no sequence cut by the end).
bool ValidUtf8(const uint8_t* b, int64_t s, int64_t e) {
  int64_t i = s;
  while (i < e) {
    const uint32_t c0 = b[i];
    if (c0 < 0x80) {
      ++i;
      continue;
    }
    int need;
    uint32_t min;
    if (c0 >= 0xc2 && c0 <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c0 >= 0xe0 && c0 <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c0 >= 0xf0 && c0 <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + need >= e) return false;
    uint32_t cp = c0 & (0x3fu >> need);
    for (int j = 1; j <= need; ++j) {
      const uint32_t c = b[i + j];
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

// 10^0 .. 10^22: every one is an exact double.
constexpr double kPow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// parseNumber's fast path over b[s, e) (non-empty); false where it would call slow() or give NaN.
bool ParseDecimal(const uint8_t* b, int64_t s, int64_t e, double* out) {
  int64_t i = s;
  while (i < e && b[i] == ' ') ++i;
  while (e > i && b[e - 1] == ' ') --e;
  if (i >= e) return false;
  bool neg = false;
  if (b[i] == '-' || b[i] == '+') {
    neg = b[i] == '-';
    ++i;
  }
  double mant = 0;
  int digits = 0, frac = 0;
  bool any = false;
  while (i < e) {
    const int d = static_cast<int>(b[i]) - '0';
    if (d < 0 || d > 9) break;
    mant = mant * 10 + d;
    if (mant != 0) ++digits;
    any = true;
    ++i;
  }
  if (i < e && b[i] == '.') {
    ++i;
    while (i < e) {
      const int d = static_cast<int>(b[i]) - '0';
      if (d < 0 || d > 9) break;
      mant = mant * 10 + d;
      if (mant != 0) ++digits;
      ++frac;
      any = true;
      ++i;
    }
  }
  if (!any) return false;
  int64_t exp = 0;
  if (i < e && (b[i] == 'e' || b[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < e && (b[i] == '-' || b[i] == '+')) {
      eneg = b[i] == '-';
      ++i;
    }
    int ed = 0;
    while (i < e) {
      const int d = static_cast<int>(b[i]) - '0';
      if (d < 0 || d > 9) break;
      if (exp < 1000000000) exp = exp * 10 + d;  // saturates: anything this big is out of range anyway
      ++ed;
      ++i;
    }
    if (ed == 0) return false;
    if (eneg) exp = -exp;
  }
  if (i != e) return false;
  exp -= frac;
  if (digits > 15 || exp < -22 || exp > 22) return false;
  const double v = exp >= 0 ? mant * kPow10[exp] : mant / kPow10[-exp];
  *out = neg ? -v : v;
  return true;
}

}  // namespace

namespace {

// Bit i of each mask says whether byte p[i] (i < 32) is the delimiter, the quote, or >= 0x80.
struct ChunkMasks {
  uint32_t delim, quote, high;
};

#if defined(TSREC_TEXT_FIELDS_SIMD) && defined(__AVX2__)
inline ChunkMasks Masks32(const uint8_t* p, uint8_t delim, uint8_t quote) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return {static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(static_cast<char>(delim))))),
          static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(static_cast<char>(quote))))),
          static_cast<uint32_t>(_mm256_movemask_epi8(v))};
}
#elif defined(TSREC_TEXT_FIELDS_SIMD)
inline ChunkMasks Masks32(const uint8_t* p, uint8_t delim, uint8_t quote) {
  const __m128i d = _mm_set1_epi8(static_cast<char>(delim)), q = _mm_set1_epi8(static_cast<char>(quote));
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
  auto m = [](__m128i x, __m128i y) {
    return static_cast<uint32_t>(_mm_movemask_epi8(x)) | (static_cast<uint32_t>(_mm_movemask_epi8(y)) << 16);
  };
  return {m(_mm_cmpeq_epi8(a, d), _mm_cmpeq_epi8(b, d)), m(_mm_cmpeq_epi8(a, q), _mm_cmpeq_epi8(b, q)), m(a, b)};
}
#else
inline ChunkMasks Masks32(const uint8_t* p, uint8_t delim, uint8_t quote) {
  ChunkMasks m{0, 0, 0};
  for (int i = 0; i < 32; ++i) {
    m.delim |= static_cast<uint32_t>(p[i] == delim) << i;
    m.quote |= static_cast<uint32_t>(p[i] == quote) << i;
    m.high |= static_cast<uint32_t>(p[i] >> 7) << i;
  }
  return m;
}
#endif

// splitFields' loop for one row (a row holding the quote byte somewhere): false when a field
// starts with the quote, the field count is not num_cols, or the bytes are not UTF-8.
bool SplitRowScalar(const uint8_t* b, int32_t rs, int32_t re, uint8_t dl, int quote, int64_t num_cols,
                    int64_t col_stride, int64_t r, int32_t* field_starts, int32_t* field_ends) {
  int64_t c = 0;
  int32_t p = rs;
  uint32_t high = 0;
  for (;;) {
    const int32_t fs = p;
    if (quote >= 0 && p < re && b[p] == quote) return false;
    while (p < re && b[p] != dl) high |= b[p++];
    if (c < num_cols) {
      field_starts[c * col_stride + r] = fs;
      field_ends[c * col_stride + r] = p;
    }
    ++c;
    if (p >= re) break;
    ++p;  // the delimiter
    if (p == re) {
      if (c < num_cols) field_starts[c * col_stride + r] = field_ends[c * col_stride + r] = re;
      ++c;
      break;
    }
  }
  return c == num_cols && (!(high & 0x80) || ValidUtf8(b, rs, re));
}

}  // namespace

// Rows are scanned 32 bytes at a time: one compare gives a bit mask of the delimiters, and
// each set bit ends a field (a byte loop mispredicts a branch at every field end, and Criteo
// fields average 6 bytes). Rows holding the quote byte go through the byte loop, which checks
// whether a field starts with it.
Status SplitDelimitedFast(const ByteRanges& rows, int delim, int quote, int64_t num_cols, int64_t col_stride,
                          int32_t* field_starts, int32_t* field_ends, bool* handled) {
  *handled = false;
  if (delim < 0 || delim > 255 || quote > 255)
    return Status::InvalidArgument("splitDelimited: delimiter and quote must be bytes");
  if (num_cols < 1 || col_stride < rows.count)
    return Status::InvalidArgument("splitDelimited: need num_cols >= 1 and col_stride >= rows");
  TSREC_RETURN_IF_ERROR(ValidateByteRanges(rows, "splitDelimited", "row"));
  const uint8_t* b = rows.bytes;
  const uint8_t dl = static_cast<uint8_t>(delim);
  // A quote byte that cannot occur when there is none: the delimiter itself (masked out below).
  const uint8_t qb = quote >= 0 ? static_cast<uint8_t>(quote) : dl;
  const uint32_t quote_on = quote >= 0 && quote != delim ? ~0u : 0u;
  uint8_t tail[32];
  for (int64_t r = 0; r < rows.count; ++r) {
    const int32_t rs = rows.starts[r], re = rows.ends[r];
    int64_t c = 0;
    int32_t fs = rs;
    uint32_t high = 0, quotes = 0;
    for (int32_t p = rs; p < re; p += 32) {
      ChunkMasks m;
      if (p + 32 <= rows.num_bytes) {
        m = Masks32(b + p, dl, qb);
      } else {
        std::memset(tail, 0, sizeof(tail));
        std::memcpy(tail, b + p, static_cast<size_t>(rows.num_bytes - p));
        m = Masks32(tail, dl, qb);
      }
      if (re - p < 32) {
        const uint32_t keep = (1u << (re - p)) - 1;
        m.delim &= keep;
        m.quote &= keep;
        m.high &= keep;
      }
      high |= m.high;
      quotes |= m.quote & quote_on;
      for (uint32_t d = m.delim; d != 0; d &= d - 1) {
        const int32_t at = p + __builtin_ctz(d);
        if (c < num_cols) {
          field_starts[c * col_stride + r] = fs;
          field_ends[c * col_stride + r] = at;
        }
        ++c;
        fs = at + 1;
      }
    }
    if (c < num_cols) {
      field_starts[c * col_stride + r] = fs;
      field_ends[c * col_stride + r] = re;
    }
    ++c;
    if (quotes != 0) {
      if (!SplitRowScalar(b, rs, re, dl, quote, num_cols, col_stride, r, field_starts, field_ends)) return Status::Ok();
      continue;
    }
    if (c != num_cols) return Status::Ok();
    if (high != 0 && !ValidUtf8(b, rs, re)) return Status::Ok();
  }
  *handled = true;
  return Status::Ok();
}

Status HashIdFields(const ByteRanges& fields, const HashIdSpec& spec, int32_t* values, int64_t capacity,
                    int32_t* lengths, int64_t* count) {
  *count = 0;
  if (spec.num_buckets < 1 || spec.num_buckets > 0x7fffffffULL) {
    return Status::InvalidArgument("hashIdFields: num_buckets must be in [1, 2147483647] but is " +
                                   std::to_string(spec.num_buckets));
  }
  if (spec.separator > 255 || spec.max_values < 0 || spec.default_id < -1)
    return Status::InvalidArgument("hashIdFields: bad separator, max_values or default_id");
  TSREC_RETURN_IF_ERROR(ValidateByteRanges(fields, "hashIdFields", "field"));
  const uint8_t* b = fields.bytes;
  const char* base = reinterpret_cast<const char*>(b);
  const BucketMod mod(spec.num_buckets);
  const int64_t limit = spec.max_values > 0 ? spec.max_values : INT64_MAX;
  int64_t n = 0;
  auto emit = [&](int32_t s, int32_t e) {
    if (n < capacity) values[n] = static_cast<int32_t>(mod(Fingerprint64(base + s, static_cast<size_t>(e - s))));
    ++n;
  };
  for (int64_t r = 0; r < fields.count; ++r) {
    int32_t s = fields.starts[r];
    const int32_t e = fields.ends[r];
    int64_t k = 0;
    if (spec.separator < 0) {
      if (e > s) {
        emit(s, e);
        k = 1;
      }
    } else {
      const uint8_t sep = static_cast<uint8_t>(spec.separator);
      int32_t p = s;
      while (k < limit) {
        while (p < e && b[p] != sep) ++p;
        if (p > s) {
          emit(s, p);
          ++k;
        }
        if (p >= e) break;
        s = ++p;
      }
    }
    if (k == 0 && spec.default_id >= 0) {
      if (n < capacity) values[n] = spec.default_id;
      ++n;
      k = 1;
    }
    lengths[r] = static_cast<int32_t>(k);
  }
  *count = n;
  return Status::Ok();
}

Status ParseDecimalFields(const ByteRanges& fields, double empty_value, double* out, int32_t* slow_rows,
                          int64_t* num_slow) {
  *num_slow = 0;
  TSREC_RETURN_IF_ERROR(ValidateByteRanges(fields, "parseDecimalFields", "field"));
  int64_t slow = 0;
  for (int64_t r = 0; r < fields.count; ++r) {
    const int32_t s = fields.starts[r], e = fields.ends[r];
    if (s == e) {
      out[r] = empty_value;
      continue;
    }
    if (!ParseDecimal(fields.bytes, s, e, &out[r])) slow_rows[slow++] = static_cast<int32_t>(r);
  }
  *num_slow = slow;
  return Status::Ok();
}

}  // namespace tsrec
