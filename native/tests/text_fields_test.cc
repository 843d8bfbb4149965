// The text field kernels against small hand-checked cases: what they handle, and that they
// decline (handled = false / slow rows) exactly the cases the TypeScript paths must take.
// packages/data/src/native_fields.test.ts compares them with the TypeScript paths on random data.
#include "tsrec/text_fields.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"
#include "tsrec/hash.h"

using namespace tsrec;

namespace {

// Rows of `text` split at '\n' (no trailing newline needed).
struct Framed {
  std::string text;
  std::vector<int32_t> starts, ends;
  ByteRanges rows() const {
    ByteRanges r;
    r.bytes = reinterpret_cast<const uint8_t*>(text.data());
    r.num_bytes = static_cast<int64_t>(text.size());
    r.starts = starts.data();
    r.ends = ends.data();
    r.count = static_cast<int64_t>(starts.size());
    return r;
  }
};

Framed Frame(const std::string& text) {
  Framed f{text, {}, {}};
  size_t p = 0;
  while (p <= text.size()) {
    size_t q = text.find('\n', p);
    if (q == std::string::npos) q = text.size();
    f.starts.push_back(static_cast<int32_t>(p));
    f.ends.push_back(static_cast<int32_t>(q));
    p = q + 1;
  }
  return f;
}

struct Split {
  bool handled = false;
  std::vector<std::vector<std::string>> fields;  // [row][col]
};

Split DoSplit(const std::string& text, int64_t cols, int quote = '"') {
  Framed f = Frame(text);
  const int64_t stride = static_cast<int64_t>(f.starts.size()) + 3;
  std::vector<int32_t> fs(cols * stride, -1), fe(cols * stride, -1);
  Split out;
  Status st = SplitDelimitedFast(f.rows(), '\t', quote, cols, stride, fs.data(), fe.data(), &out.handled);
  if (!st.ok()) std::abort();
  for (size_t r = 0; r < f.starts.size() && out.handled; ++r) {
    out.fields.emplace_back();
    for (int64_t c = 0; c < cols; ++c)
      out.fields[r].push_back(text.substr(fs[c * stride + r], fe[c * stride + r] - fs[c * stride + r]));
  }
  return out;
}

}  // namespace

TEST_CASE(split_plain_rows_long_and_short) {
  // Rows longer than one 32-byte chunk, a trailing delimiter, empty fields, an empty row of one column.
  const std::string long_field(70, 'x');
  Split s = DoSplit("a\tb\t\n" + long_field + "\t\t" + long_field + "\n\t\t", 3);
  CHECK(s.handled);
  CHECK(s.fields[0][0] == "a" && s.fields[0][1] == "b" && s.fields[0][2] == "");
  CHECK(s.fields[1][0] == long_field && s.fields[1][1] == "" && s.fields[1][2] == long_field);
  CHECK(s.fields[2][0] == "" && s.fields[2][1] == "" && s.fields[2][2] == "");
  Split one = DoSplit("", 1);
  CHECK(one.handled && one.fields[0][0] == "");
}

TEST_CASE(split_declines_quoted_ragged_and_invalid_utf8) {
  CHECK(!DoSplit("a\t\"b\"", 2).handled);  // a field starting with the quote
  CHECK(DoSplit("a\tb\"c\"", 2).handled);  // a quote inside a field is a plain byte
  CHECK(DoSplit("a\tb\"c\"", 2).fields[0][1] == "b\"c\"");
  CHECK(DoSplit("a\t\"b\"", 2, -1).handled);      // no quoting
  CHECK(!DoSplit("a\tb\tc", 2).handled);          // too many fields
  CHECK(!DoSplit("a", 2).handled);                // too few
  CHECK(DoSplit("h\xc3\xa9\tx", 2).handled);      // UTF-8 e-acute
  CHECK(!DoSplit("h\xc3\tx", 2).handled);         // a cut sequence
  CHECK(!DoSplit("\xed\xa0\x80\tx", 2).handled);  // a surrogate
  CHECK(!DoSplit("\xc0\xaf\tx", 2).handled);      // an overlong
}

TEST_CASE(split_reads_nothing_past_the_buffer) {
  // The last row ends at the buffer's end, 1..40 bytes long: the tail chunk is copied, not over-read
  // (ASan/valgrind would catch an over-read; here the fields must still be right).
  for (int n = 1; n <= 40; ++n) {
    std::string text(static_cast<size_t>(n), 'y');
    text[static_cast<size_t>(n / 2)] = '\t';
    Split s = DoSplit(text, 2);
    CHECK(s.handled);
    CHECK(s.fields[0][0] + "\t" + s.fields[0][1] == text);
  }
}

TEST_CASE(hash_id_fields_tokens_truncation_and_defaults) {
  const std::string text = "a|b||c\n\n|\nd";
  Framed f = Frame(text);
  HashIdSpec spec;
  spec.separator = '|';
  spec.num_buckets = 1000;
  spec.default_id = 7;
  std::vector<int32_t> values(16, -1), lengths(4, -1);
  int64_t n = 0;
  CHECK(HashIdFields(f.rows(), spec, values.data(), 16, lengths.data(), &n).ok());
  auto h = [](const char* s) { return static_cast<int32_t>(Fingerprint64(s, std::strlen(s)) % 1000); };
  CHECK(n == 6);
  CHECK(lengths[0] == 3 && lengths[1] == 1 && lengths[2] == 1 && lengths[3] == 1);
  CHECK(values[0] == h("a") && values[1] == h("b") && values[2] == h("c") && values[3] == 7 && values[4] == 7 &&
        values[5] == h("d"));
  spec.max_values = 2;
  spec.default_id = -1;
  CHECK(HashIdFields(f.rows(), spec, values.data(), 16, lengths.data(), &n).ok());
  CHECK(n == 3 && lengths[0] == 2 && lengths[1] == 0 && lengths[2] == 0 && lengths[3] == 1);
  // Too little room: the count and the lengths are still complete.
  spec.max_values = 0;
  CHECK(HashIdFields(f.rows(), spec, values.data(), 1, lengths.data(), &n).ok());
  CHECK(n == 4 && lengths[0] == 3);
  spec.separator = -1;  // whole fields
  CHECK(HashIdFields(f.rows(), spec, values.data(), 16, lengths.data(), &n).ok());
  CHECK(n == 3 && values[0] == h("a|b||c") && lengths[1] == 0 && values[1] == h("|"));
  spec.num_buckets = 0;
  CHECK(!HashIdFields(f.rows(), spec, values.data(), 16, lengths.data(), &n).ok());
}

TEST_CASE(parse_decimal_fields_fast_cases_and_declines) {
  const char* fast[] = {"0",    "-0",   "12", " 7 ", "+3.25", "-1e3", "1E-3", ".5", "5.", "123456789012345",
                        "1e22", "4e-22"};
  const double want[] = {0, -0.0, 12, 7, 3.25, -1000, 0.001, 0.5, 5, 123456789012345.0, 1e22, 4e-22};
  const char* slow[] = {"inf", "0x10", "1e400", "12.5.1", "  ", "1234567890123456", "1e23", "-", "1e", "abc", "1,5"};
  std::string text;
  for (const char* s : fast) text += std::string(s) + "\n";
  for (const char* s : slow) text += std::string(s) + "\n";
  text += "";  // an empty last field: the empty value
  Framed f = Frame(text);
  std::vector<double> out(f.starts.size(), -99);
  std::vector<int32_t> slow_rows(f.starts.size());
  int64_t k = 0;
  CHECK(ParseDecimalFields(f.rows(), 42.0, out.data(), slow_rows.data(), &k).ok());
  const int nf = sizeof(fast) / sizeof(fast[0]), ns = sizeof(slow) / sizeof(slow[0]);
  for (int i = 0; i < nf; ++i)
    CHECK_MSG(out[i] == want[i] && std::signbit(out[i]) == std::signbit(want[i]), "%s -> %.17g", fast[i], out[i]);
  CHECK(k == ns);
  for (int i = 0; i < ns; ++i) CHECK(slow_rows[i] == nf + i);
  CHECK(out.back() == 42.0);
}

int main() { return ::tsrec_test::run_all("text_fields"); }
