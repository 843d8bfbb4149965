// FarmHash Fingerprint64 (farmhashna::Hash64, by Geoff Pike, MIT licence), written from the
// published algorithm. Byte strings are split by length into four paths (0-16, 17-32, 33-64 and
// a 64-byte block loop). All arithmetic is mod 2^64; loads are little-endian, which is what the
// frozen test vectors assume, so a big-endian host byte-swaps.
#include "tsrec/hash.h"

#include <cstring>
#include <string>
#include <utility>

namespace tsrec {

namespace {

// Primes between 2^63 and 2^64, from FarmHash.
constexpr uint64_t kK0 = 0xc3a5c85c97cb3127ULL;
constexpr uint64_t kK1 = 0xb492b66fbe98f273ULL;
constexpr uint64_t kK2 = 0x9ae16a3b2f90404fULL;

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  return v;
}

// Right rotation; every caller passes 0 < r < 64.
inline uint64_t RotR(uint64_t v, int r) { return (v >> r) | (v << (64 - r)); }

inline uint64_t ShiftMix(uint64_t v) { return v ^ (v >> 47); }

// Murmur-style mix of two words under a length-dependent multiplier.
inline uint64_t Mix16(uint64_t u, uint64_t v, uint64_t mul) {
  uint64_t a = (u ^ v) * mul;
  a ^= a >> 47;
  uint64_t b = (v ^ a) * mul;
  b ^= b >> 47;
  return b * mul;
}

uint64_t HashUpTo16(const char* s, size_t len) {
  if (len >= 8) {
    const uint64_t mul = kK2 + len * 2;
    const uint64_t a = Load64(s) + kK2;
    const uint64_t b = Load64(s + len - 8);
    const uint64_t c = RotR(b, 37) * mul + a;
    const uint64_t d = (RotR(a, 25) + b) * mul;
    return Mix16(c, d, mul);
  }
  if (len >= 4) {
    const uint64_t mul = kK2 + len * 2;
    return Mix16(len + (Load32(s) << 3), Load32(s + len - 4), mul);
  }
  if (len > 0) {
    const uint32_t first = static_cast<uint8_t>(s[0]);
    const uint32_t middle = static_cast<uint8_t>(s[len >> 1]);
    const uint32_t last = static_cast<uint8_t>(s[len - 1]);
    const uint32_t y = first + (middle << 8);
    const uint32_t z = static_cast<uint32_t>(len) + (last << 2);
    return ShiftMix(y * kK2 ^ z * kK0) * kK2;
  }
  return kK2;
}

uint64_t Hash17To32(const char* s, size_t len) {
  const uint64_t mul = kK2 + len * 2;
  const uint64_t a = Load64(s) * kK1;
  const uint64_t b = Load64(s + 8);
  const uint64_t c = Load64(s + len - 8) * mul;
  const uint64_t d = Load64(s + len - 16) * kK2;
  return Mix16(RotR(a + b, 43) + RotR(c, 30) + d, a + RotR(b + kK2, 18) + c, mul);
}

uint64_t Hash33To64(const char* s, size_t len) {
  const uint64_t mul = kK2 + len * 2;
  const uint64_t a = Load64(s) * kK2;
  const uint64_t b = Load64(s + 8);
  const uint64_t c = Load64(s + len - 8) * mul;
  const uint64_t d = Load64(s + len - 16) * kK2;
  const uint64_t y = RotR(a + b, 43) + RotR(c, 30) + d;
  const uint64_t z = Mix16(y, a + RotR(b + kK2, 18) + c, mul);
  const uint64_t e = Load64(s + 16) * mul;
  const uint64_t f = Load64(s + 24);
  const uint64_t g = (y + Load64(s + len - 32)) * mul;
  const uint64_t h = (z + Load64(s + len - 24)) * mul;
  return Mix16(RotR(e + f, 43) + RotR(g, 30) + h, e + RotR(f + a, 18) + g, mul);
}

// A 16-byte state update from four words and two seeds ("weak" in FarmHash's words: only
// used inside the block loop, whose output is mixed again).
struct Pair {
  uint64_t lo, hi;
};
inline Pair Weak32(const char* s, uint64_t a, uint64_t b) {
  const uint64_t w = Load64(s), x = Load64(s + 8), y = Load64(s + 16), z = Load64(s + 24);
  a += w;
  b = RotR(b + a + z, 21);
  const uint64_t c = a;
  a += x;
  a += y;
  b += RotR(a, 44);
  return {a + z, b + c};
}

// Strings over 64 bytes: 56 bytes of state (v, w, x, y, z) fed 64 bytes at a time; the last
// (possibly overlapping) 64 bytes go through a final round with a state-dependent multiplier.
uint64_t HashOver64(const char* s, size_t len) {
  constexpr uint64_t kSeed = 81;
  uint64_t x = kSeed;
  uint64_t y = kSeed * kK1 + 113;
  uint64_t z = ShiftMix(y * kK2 + 113) * kK2;
  Pair v{0, 0}, w{0, 0};
  x = x * kK2 + Load64(s);

  const char* end = s + ((len - 1) / 64) * 64;
  const char* last64 = s + len - 64;
  do {
    x = RotR(x + y + v.lo + Load64(s + 8), 37) * kK1;
    y = RotR(y + v.hi + Load64(s + 48), 42) * kK1;
    x ^= w.hi;
    y += v.lo + Load64(s + 40);
    z = RotR(z + w.lo, 33) * kK1;
    v = Weak32(s, v.hi * kK1, x + w.lo);
    w = Weak32(s + 32, z + w.hi, y + Load64(s + 16));
    std::swap(z, x);
    s += 64;
  } while (s != end);

  const uint64_t mul = kK1 + ((z & 0xff) << 1);
  s = last64;
  w.lo += (len - 1) & 63;
  v.lo += w.lo;
  w.lo += v.lo;
  x = RotR(x + y + v.lo + Load64(s + 8), 37) * mul;
  y = RotR(y + v.hi + Load64(s + 48), 42) * mul;
  x ^= w.hi * 9;
  y += v.lo * 9 + Load64(s + 40);
  z = RotR(z + w.lo, 33) * mul;
  v = Weak32(s, v.hi * mul, x + w.lo);
  w = Weak32(s + 32, z + w.hi, y + Load64(s + 16));
  std::swap(z, x);
  return Mix16(Mix16(v.lo, w.lo, mul) + ShiftMix(y) * kK0 + z, Mix16(v.hi, w.hi, mul) + x, mul);
}

}  // namespace

uint64_t Fingerprint64(const char* s, size_t len) {
  if (len <= 16) return HashUpTo16(s, len);
  if (len <= 32) return Hash17To32(s, len);
  if (len <= 64) return Hash33To64(s, len);
  return HashOver64(s, len);
}

Status ValidateByteRanges(const ByteRanges& r, const char* what, const char* item) {
  const std::string w(what), it(item);
  if (r.count < 0) return Status::InvalidArgument(w + ": negative " + it + " count " + std::to_string(r.count));
  if (r.count > 0 && (r.starts == nullptr || r.ends == nullptr))
    return Status::InvalidArgument(w + ": missing starts/ends arrays");
  if (r.num_bytes > 0 && r.bytes == nullptr) return Status::InvalidArgument(w + ": missing byte buffer");
  for (int64_t i = 0; i < r.count; ++i) {
    const int64_t s = r.starts[i], e = r.ends[i];
    if (s < 0 || e < s || e > r.num_bytes) {
      return Status::OutOfRange(w + ": " + it + " " + std::to_string(i) + " has range [" + std::to_string(s) + ", " +
                                std::to_string(e) + ") outside the " + std::to_string(r.num_bytes) +
                                "-byte buffer (expected 0 <= start <= end <= " + std::to_string(r.num_bytes) + ")");
    }
  }
  return Status::Ok();
}

Status HashBuckets(const ByteRanges& r, uint64_t num_buckets, int32_t* out) {
  if (num_buckets < 1 || num_buckets > 0x7fffffffULL) {
    return Status::InvalidArgument("hash: num_buckets must be in [1, 2147483647] but is " +
                                   std::to_string(num_buckets));
  }
  TSREC_RETURN_IF_ERROR(ValidateByteRanges(r));
  const char* base = reinterpret_cast<const char*>(r.bytes);
  const BucketMod mod(num_buckets);
  for (int64_t i = 0; i < r.count; ++i) {
    const int32_t s = r.starts[i];
    out[i] = static_cast<int32_t>(mod(Fingerprint64(base + s, static_cast<size_t>(r.ends[i] - s))));
  }
  return Status::Ok();
}

Status Fingerprint64Batch(const ByteRanges& r, uint64_t* out) {
  TSREC_RETURN_IF_ERROR(ValidateByteRanges(r));
  const char* base = reinterpret_cast<const char*>(r.bytes);
  for (int64_t i = 0; i < r.count; ++i) {
    const int32_t s = r.starts[i];
    out[i] = Fingerprint64(base + s, static_cast<size_t>(r.ends[i] - s));
  }
  return Status::Ok();
}

}  // namespace tsrec
