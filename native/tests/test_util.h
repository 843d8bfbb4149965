// Minimal test harness for the C++ tests run by ctest (no external framework offline).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace tsrec_test {

struct Case {
  std::string name;
  std::function<void()> fn;
};
inline std::vector<Case>& cases() {
  static std::vector<Case> c;
  return c;
}
inline int& failures() {
  static int f = 0;
  return f;
}
struct Register {
  Register(const char* n, std::function<void()> f) { cases().push_back({n, std::move(f)}); }
};

#define TEST_CASE(name)                                  \
  static void name();                                    \
  static ::tsrec_test::Register reg_##name(#name, name); \
  static void name()

#define CHECK(cond)                                                                     \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "  CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      ++::tsrec_test::failures();                                                       \
      return;                                                                           \
    }                                                                                   \
  } while (0)

#define CHECK_MSG(cond, ...)                                                            \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "  CHECK failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                \
      std::fprintf(stderr, "\n");                                                       \
      ++::tsrec_test::failures();                                                       \
      return;                                                                           \
    }                                                                                   \
  } while (0)

/** Max |a-b| / (atol + rtol*|b|) style check over two arrays; returns the first bad index or -1. */
inline int64_t first_mismatch(const float* a, const float* b, int64_t n, float atol, float rtol) {
  for (int64_t i = 0; i < n; ++i) {
    if (!(std::fabs(a[i] - b[i]) <= atol + rtol * std::fabs(b[i]))) return i;
  }
  return -1;
}

inline uint64_t seed_from_env() {
  if (const char* s = std::getenv("TSREC_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  static uint64_t seed = static_cast<uint64_t>(std::random_device{}()) * 2654435761u;
  return seed;
}

/** Runs every registered case; the seed comes from TSREC_TEST_SEED or the clock, and is printed. */
inline int run_all(const char* suite) {
  int ran = 0;
  for (auto& c : cases()) {
    int before = failures();
    c.fn();
    ++ran;
    std::printf("%s %s.%s\n", failures() == before ? "[ OK ]" : "[FAIL]", suite, c.name.c_str());
  }
  std::printf("%s: %d cases, %d failed (seed %llu; TSREC_TEST_SEED=%llu repeats it)\n", suite, ran, failures(),
              static_cast<unsigned long long>(seed_from_env()), static_cast<unsigned long long>(seed_from_env()));
  return failures() == 0 ? 0 : 1;
}

}  // namespace tsrec_test
