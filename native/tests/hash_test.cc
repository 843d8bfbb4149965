// FarmHash Fingerprint64 against its published, frozen test vectors:
// - FarmHash's own self-test (google/farmhash src/farmhash.cc, namespace farmhashnaTest): a 1 MiB
//   pseudo-random buffer, hashes of data[i*i, i*i + i) for i = 0..113 (every length path) and of the
//   whole buffer (the block loop over 16384 blocks);
// - TensorFlow's Fingerprint64 test (core/platform/fingerprint_test.cc) and string_to_hash_bucket_fast
//   test (['a','b','c','d'] into 10 buckets -> [9, 2, 2, 5]);
// - the string table of tecnickcom/farmhash64 (a port of farmhashna::Hash64), lengths 0..445.
#include "tsrec/hash.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

using namespace tsrec;

namespace {

constexpr uint64_t kK0 = 0xc3a5c85c97cb3127ULL;
constexpr int kDataSize = 1 << 20;

// The self-test's input: bytes of a simple 64-bit recurrence, seeded 9 and 777.
const std::vector<char>& SelfTestData() {
  static std::vector<char> data = [] {
    std::vector<char> d(kDataSize);
    uint64_t a = 9, b = 777;
    for (int i = 0; i < kDataSize; ++i) {
      a += b;
      b += a;
      a = (a ^ (a >> 41)) * kK0;
      b = (b ^ (b >> 41)) * kK0 + static_cast<uint64_t>(i);
      d[i] = static_cast<char>(static_cast<uint8_t>(b >> 37));
    }
    return d;
  }();
  return data;
}

// Fingerprint64(data + i*i, i) for i = 0, 1, ... (the self-test's third pair per case).
const uint64_t kSelfTest[] = {
    0x9ae16a3b2f90404fULL, 0x541150e87f415e96ULL, 0x0f3786a4b25827c1ULL, 0xef923a7a1af78eabULL, 0x11df592596f41d88ULL,
    0x831f448bdc5600b3ULL, 0x3eca803e70304894ULL, 0x1b5a063fb4c7f9f1ULL, 0xa0f10149a0e538d6ULL, 0xfb8d9c70660b910bULL,
    0x236827beae282a46ULL, 0xc385e435136ecf7cULL, 0xe3f6828b6017086dULL, 0x851fff285561dca0ULL, 0x61152a63595a96d9ULL,
    0x44473e03be306c88ULL, 0x03ead5f21d344056ULL, 0x6abbfde37ee03b5bULL, 0x0943e7ed63b3c080ULL, 0xd72ce05171ef8a1aULL,
    0x4182832b52d63735ULL, 0xd6cdae892584a2cbULL, 0x5c8e90bc267c5ee4ULL, 0xbbd7f30ac310a6f3ULL, 0x36a097aa49519d97ULL,
    0x0dc78cb032c49217ULL, 0x441593e0da922dfeULL, 0x2ba3883d71cc2133ULL, 0xf2b6d2adf8423600ULL, 0x38fffe7f3680d63cULL,
    0xb7477bf0b9ce37c6ULL, 0x55bdb0e71e3edebdULL, 0x0782fa1b08b475e7ULL, 0x09deb3da5e16b5b8ULL, 0x0ee347d647f95396ULL,
    0x02ccf9db44ffcadcULL, 0xd76f044822fad20bULL, 0x4565c9a1f6cf7563ULL, 0xde0ec95b0dd50728ULL, 0x1e916689df731452ULL,
    0x01596fbb269fb44eULL, 0x3d0cc12df012fdc6ULL, 0x18871267759f9e9eULL, 0xcf1fd8413d56223aULL, 0x2324170a136a5d06ULL,
    0x0f5a57eadc6c581dULL, 0x896893fc0b705345ULL, 0xc59c4e1a7f4fe221ULL, 0x01601bbbc1db4a56ULL, 0x2784c6a7cd48179eULL,
    0x7e1714daf34531b9ULL, 0x52364482fbd72b69ULL, 0xda99dc3d65ec5ea5ULL, 0xa26c6862d8f398cfULL, 0x9340980e344ed13aULL,
    0xed560843e0444b29ULL, 0x434da74b2ba4e026ULL, 0xc0a50b576285052cULL, 0x84bf2c6955012ddaULL, 0x52a098bd016ec185ULL,
    0x5f4a05c2bb909857ULL, 0x2c1aa859228c620aULL, 0xe8a86180173c94bdULL, 0xa8edbff858475437ULL, 0xdef74bf4c9f1bc1bULL,
    0x3cceab392bc39b3fULL, 0x9b97f76002f66a94ULL, 0x546d5de7a7d7751bULL, 0x37da9fddb4f01efeULL, 0xdd3551cc9c9ab11eULL,
    0xdabb0d9d0fb2a854ULL, 0xd47e7c1f46fcdf8aULL, 0xa3c3d1c8f623c250ULL, 0x875e2c13b2660e08ULL, 0x2f70bfc44293f142ULL,
    0x37df2a50500cd289ULL, 0x4587b6d460c6a7e8ULL, 0xa23934f5737eac9dULL, 0x06d4e97f38e8852fULL, 0x68b80257af01bc8fULL,
    0x93ffa56c72e1911aULL, 0x63b3f14a80122fe7ULL, 0x9d215fcb4fc187c3ULL, 0x4f94edba7c40f003ULL, 0xa3ba25f225f1fd77ULL,
    0x7bbd7dbb185c99dcULL, 0x8930e3bea0728443ULL, 0x9bcfd4da75c02684ULL, 0xd25f7d5d58d4a1fbULL, 0xfe9e6f6e71de6b5aULL,
    0xded448f29841dad8ULL, 0x85628801a71635feULL, 0x7702ef00320a3339ULL, 0xd3463da3e9055e34ULL, 0xd9eb18e531eadb52ULL,
    0x1a1ccdba1ce27666ULL, 0x1262318f0fffe11eULL, 0xfcf0dc0da9df5e16ULL, 0xafbacd177d4af13bULL, 0x677366425bbd9874ULL,
    0x05ad36f677825ce0ULL, 0x557388ca06f3e5e4ULL, 0x3488c3fe80b25222ULL, 0x14077c2e7841d062ULL, 0x384fa4dc64ff2808ULL,
    0x0f81ff041e23cacbULL, 0xdde4877c5a1136c1ULL, 0x41caf1407c857f51ULL, 0x93860b2842c21cdaULL, 0xa967a32bf028cacbULL,
    0xe6da7d91081d01ceULL, 0x654b958a53a7cffeULL, 0x6b9d5fac98b5ffd2ULL, 0xfe9f80a8b710e6b2ULL,
};

uint64_t Fp(const std::string& s) { return Fingerprint64(s.data(), s.size()); }

struct StringVector {
  uint64_t expected;
  const char* input;
};
const StringVector kStrings[] = {
    {0x9ae16a3b2f90404fULL, ""},
    {0xb3454265b6df75e3ULL, "a"},
    {0xaa8d6e5242ada51eULL, "ab"},
    {0x24a5b3a074e7f369ULL, "abc"},
    {0x1a5502de4a1f8101ULL, "abcd"},
    {0xc22f4663e54e04d4ULL, "abcde"},
    {0xc329379e6a03c2cdULL, "abcdef"},
    {0x3c40c92b1ccb7355ULL, "abcdefg"},
    {0xfee9d22990c82909ULL, "abcdefgh"},
    {0x332c8ed4dae5ba42ULL, "abcdefghi"},
    {0xad052244b781c4ebULL, "0123456789"},
    {0x3ef4c03514208c77ULL, "0123456789 "},
    {0x496841e83a33cc91ULL, "0123456789-0"},
    {0xd81bcb9f3679ac0cULL, "0123456789~01"},
    {0x5da5a6a117c606f6ULL, "0123456789#012"},
    {0x5361eae17c1ff6bcULL, "0123456789@0123"},
    {0x4283d4ef43627f64ULL, "0123456789'01234"},
    {0x46a7416ed4861e3bULL, "0123456789=012345"},
    {0xa4abb4e0da2c594cULL, "0123456789+0123456"},
    {0xcf1c7d3ad54f9215ULL, "0123456789*01234567"},
    {0x07adf50b2ac764fcULL, "0123456789&012345678"},
    {0xdebcba8e6f3eabd1ULL, "0123456789^0123456789"},
    {0xd78d5f852d522e6aULL, "0123456789$0123456789!0"},
    {0x80d73b843ba57db8ULL, "size:  a.out:  bad magic"},
    {0x8eb3808d1ccfc779ULL, "Nepal premier won't resign."},
    {0xb944f8a16261e414ULL, "C is as portable as Stonehedge!!"},
    {0xe8f89ab6df9bdd25ULL, "Discard medicine more than two years old."},
    {0xa9961670ce2a46d9ULL, "I wouldn't marry him with a ten foot pole."},
    {0xbdd69b798d6ba37aULL, "If the enemy is within range, then so are you."},
    {0xc2f8db8624fefc0eULL, "The major problem is with sendmail.  -Mark Horton"},
    {0x5a0a6efd52e84e2aULL, "How can you write a big system without C++?  -Paul Glick"},
    {0x786d7e1987023ca9ULL, "He who has a shady past knows that nice guys finish last."},
    {0x5d14f96c18fe3d5eULL, "Free! Free!/A trip/to Mars/for 900/empty jars/Burma Shave"},
    {0xec8848fd3b266c10ULL, "His money is twice tainted: 'taint yours and 'taint mine."},
    {0x2a578b80bb82147cULL, "The days of the digital watch are numbered.  -Tom Stoppard"},
    {0x55182f8859eca4ceULL, "For every action there is an equal and opposite government program."},
    {0xabcdb319fcf2826cULL, "You remind me of a TV show, but that's all right: I watch it anyway."},
    {0x1d85702503ac7eb4ULL, "It's well we cannot hear the screams/That we create in others' dreams."},
    {0xa2b8bf3032021993ULL, "Give me a rock, paper and scissors and I will move the world.  CCFestoon"},
    {0x38aa3175b37f305cULL, "It's a tiny change to the code and not completely disgusting. - Bob Manchek"},
    {0x7e85d7b050ed2967ULL, "There is no reason for any individual to have a computer in their home. -Ken Olsen, 1977"},
    {0x5a05644eb66e435eULL, "Even if I could be Shakespeare, I think I should still choose to be Faraday. - A. Huxley"},
    {0x098eff6958c5e91aULL,
     "The fugacity of a constituent in a mixture of gases at a given temperature is proportional to its mole fraction. "
     " "
     "Lewis-Randall Rule"},
    {0xc3f02c4ffd5d71e6ULL,
     "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore "
     "magna "
     "aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo "
     "consequat. "
     "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur "
     "sint "
     "occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum."},
};

ByteRanges RangesOf(const std::string& buf, const std::vector<int32_t>& starts, const std::vector<int32_t>& ends) {
  ByteRanges r;
  r.bytes = reinterpret_cast<const uint8_t*>(buf.data());
  r.num_bytes = static_cast<int64_t>(buf.size());
  r.starts = starts.data();
  r.ends = ends.data();
  r.count = static_cast<int64_t>(starts.size());
  return r;
}

}  // namespace

TEST_CASE(farmhash_self_test_vectors_every_length_path) {
  const auto& d = SelfTestData();
  const int n = static_cast<int>(sizeof(kSelfTest) / sizeof(kSelfTest[0]));
  CHECK(n == 114);
  for (int i = 0; i < n; ++i) {
    const uint64_t got = Fingerprint64(d.data() + i * i, static_cast<size_t>(i));
    CHECK_MSG(got == kSelfTest[i], "len %d: expected %016llx got %016llx", i, (unsigned long long)kSelfTest[i],
              (unsigned long long)got);
  }
}

TEST_CASE(farmhash_self_test_vectors_long_inputs) {
  const auto& d = SelfTestData();
  // The self-test's last two cases: the final length of i = 299, i += i / 7 below 2^20, then 2^20.
  int i = 299;
  int last = i;
  while (i < kDataSize) {
    last = i;
    i += i / 7;
  }
  CHECK(Fingerprint64(d.data(), static_cast<size_t>(last)) == 0xdd8e83ed443749feULL);
  CHECK(Fingerprint64(d.data(), kDataSize) == 0xf853fb08a3c22903ULL);
}

TEST_CASE(tensorflow_fingerprint64_is_forever_frozen) {
  CHECK(Fp("Hello") == 15404698994557526151ULL);
  CHECK(Fp("World") == 18308117990299812472ULL);
  CHECK(Fp("a") == 12917804110809363939ULL);
  CHECK(Fp("b") == 11795596070477164822ULL);
  CHECK(Fp("c") == 11430444447143000872ULL);
  CHECK(Fp("d") == 4470636696479570465ULL);
}

TEST_CASE(string_vectors) {
  for (const auto& v : kStrings) {
    const uint64_t got = Fp(v.input);
    CHECK_MSG(got == v.expected, "\"%s\": expected %016llx got %016llx", v.input, (unsigned long long)v.expected,
              (unsigned long long)got);
  }
}

TEST_CASE(hash_buckets_matches_tensorflow_to_hash_bucket_fast) {
  const std::string buf = "abcd";
  const std::vector<int32_t> s = {0, 1, 2, 3}, e = {1, 2, 3, 4};
  std::vector<int32_t> out(4, -1);
  CHECK(HashBuckets(RangesOf(buf, s, e), 10, out.data()).ok());
  CHECK(out[0] == 9 && out[1] == 2 && out[2] == 2 && out[3] == 5);
  CHECK(HashBuckets(RangesOf(buf, s, e), 1, out.data()).ok());
  CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0);
}

TEST_CASE(batch_ranges_may_overlap_and_be_empty) {
  const std::string buf = "HelloWorld";
  const std::vector<int32_t> s = {0, 5, 3, 10}, e = {5, 10, 3, 10};
  std::vector<uint64_t> out(4);
  CHECK(Fingerprint64Batch(RangesOf(buf, s, e), out.data()).ok());
  CHECK(out[0] == 15404698994557526151ULL);
  CHECK(out[1] == 18308117990299812472ULL);
  CHECK(out[2] == 0x9ae16a3b2f90404fULL && out[3] == 0x9ae16a3b2f90404fULL);
  std::vector<int32_t> b(4);
  CHECK(HashBuckets(RangesOf(buf, s, e), 2147483647ULL, b.data()).ok());
  CHECK(b[0] == static_cast<int32_t>(15404698994557526151ULL % 2147483647ULL));
}

TEST_CASE(bad_ranges_and_bucket_counts_are_reported) {
  const std::string buf = "abc";
  std::vector<int32_t> out(2);
  Status st = HashBuckets(RangesOf(buf, {0, 2}, {1, 4}), 10, out.data());
  CHECK(!st.ok() && st.code() == StatusCode::kOutOfRange);
  CHECK_MSG(
      st.message() == "hash: string 1 has range [2, 4) outside the 3-byte buffer (expected 0 <= start <= end <= 3)",
      "%s", st.message().c_str());
  st = HashBuckets(RangesOf(buf, {2}, {1}), 10, out.data());
  CHECK(!st.ok());
  st = HashBuckets(RangesOf(buf, {-1}, {1}), 10, out.data());
  CHECK(!st.ok());
  st = HashBuckets(RangesOf(buf, {0}, {1}), 0, out.data());
  CHECK(!st.ok() && st.message() == "hash: num_buckets must be in [1, 2147483647] but is 0");
  st = HashBuckets(RangesOf(buf, {0}, {1}), 2147483648ULL, out.data());
  CHECK(!st.ok());
}

TEST_CASE(bucket_mod_equals_the_remainder) {
  // Edges, then random 64-bit values against random divisors of every magnitude (fresh seed).
  const uint64_t xs[] = {0,     1,         2,          0x7fffffffULL,   0x80000000ULL, 0xffffffffULL, 0x100000000ULL,
                         ~0ULL, ~0ULL - 1, 1ULL << 63, (1ULL << 63) - 1};
  const uint64_t ds[] = {
      1, 2, 3, 7, 10, 1000000, 1u << 20, (1u << 20) + 1, 0x7ffffffeULL, 0x7fffffffULL, 0x80000000ULL, 0xffffffffULL};
  for (uint64_t d : ds) {
    const BucketMod mod(d);
    for (uint64_t x : xs) CHECK_MSG(mod(x) == x % d, "x=%llu d=%llu", (unsigned long long)x, (unsigned long long)d);
  }
  const uint64_t seed = ::tsrec_test::seed_from_env();
  std::mt19937_64 rng(seed);
  for (int k = 0; k < 2000; ++k) {
    const uint64_t d = 1 + (rng() >> (32 + rng() % 32));  // [1, 2^32)
    const BucketMod mod(d);
    for (int i = 0; i < 500; ++i) {
      const uint64_t x = rng() >> (rng() % 64);
      CHECK_MSG(mod(x) == x % d, "x=%llu d=%llu (TSREC_TEST_SEED=%llu)", (unsigned long long)x, (unsigned long long)d,
                (unsigned long long)seed);
    }
  }
}

int main() { return ::tsrec_test::run_all("hash"); }
