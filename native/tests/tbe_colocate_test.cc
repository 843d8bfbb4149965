// Co-located tables (TableConfig::host) and several pooled outputs: a collection whose guest
// tables live inside their hosts' rows must give bit-identical outputs, weights and optimizer
// state to separate collections of plain tables fed the same bags (one per output), and the
// naive reference must agree with the fast kernels on such a layout. Random shapes, every
// optimizer, a fresh seed per run (printed; TSREC_TEST_SEED replays), plus the validation errors.
#include <cstring>
#include <memory>

#include "tbe_test_batches.h"
#include "test_util.h"
#include "tsrec/embedding_collection.h"

using namespace tsrec;
using tsrec_test::BatchSpec;
using tsrec_test::make_batch;
using tsrec_test::RandomBatch;

#define CHECK_CONTAINS(text, part)                                                                             \
  do {                                                                                                         \
    const std::string _t = (text);                                                                             \
    CHECK_MSG(_t.find(part) != std::string::npos, "expected a message containing \"%s\" but got \"%s\"", part, \
              _t.c_str());                                                                                     \
  } while (0)

namespace {

// Every row of every buffer of table ta of a and table tb of b, through ReadRows.
bool same_table(const EmbeddingCollection& a, int ta, const EmbeddingCollection& b, int tb, std::string* why) {
  const int64_t rows = a.layout().tables[ta].rows;
  for (int k = kWeights; k < a.num_states(); ++k) {
    const int64_t w = a.row_width(ta, k);
    std::vector<float> x(rows * w), y(rows * w, -1.0f);
    if (!a.ReadRows(ta, k, 0, rows, x.data()).ok() || !b.ReadRows(tb, k, 0, rows, y.data()).ok()) {
      *why = "ReadRows failed";
      return false;
    }
    if (std::memcmp(x.data(), y.data(), sizeof(float) * x.size()) != 0) {
      int64_t m = 0;
      while (std::memcmp(&x[m], &y[m], 4) == 0) ++m;
      *why = "table '" + a.layout().tables[ta].name + "' buffer " + std::to_string(k) + " element " +
             std::to_string(m) + ": " + std::to_string(x[m]) + " vs " + std::to_string(y[m]);
      return false;
    }
  }
  return true;
}

// A random co-located layout: H hosts with 0-2 guests each (same rows, random dims and
// outputs), features reading hosts (several may share one), NONE only on guest-less tables of output 0.
void random_layout(std::mt19937_64& rng, std::vector<TableConfig>* tables, std::vector<FeatureConfig>* features,
                   int* outputs) {
  const int dims[] = {4, 8, 12, 16, 20, 32};
  const int H = 1 + static_cast<int>(rng() % 4);
  *outputs = 1 + static_cast<int>(rng() % 3);
  std::vector<int> hosts;
  for (int h = 0; h < H; ++h) {
    TableConfig c;
    c.name = "h" + std::to_string(h);
    c.rows = 1 + static_cast<int64_t>(rng() % 40);
    c.dim = dims[rng() % 6];
    c.output = static_cast<int32_t>(rng() % *outputs);
    hosts.push_back(static_cast<int>(tables->size()));
    tables->push_back(c);
    const int guests = static_cast<int>(rng() % 3);
    for (int g = 0; g < guests; ++g) {
      TableConfig gc;
      gc.name = c.name + "_g" + std::to_string(g);
      gc.rows = c.rows;
      gc.dim = dims[rng() % 6];
      gc.output = static_cast<int32_t>(rng() % *outputs);
      gc.host = hosts.back();
      // Guests are listed after their host, sometimes after other tables (order must not matter).
      tables->push_back(gc);
    }
  }
  std::shuffle(tables->begin(), tables->end(), rng);
  // Re-point hosts after the shuffle.
  std::vector<int> at(tables->size());
  for (size_t t = 0; t < tables->size(); ++t) {
    if ((*tables)[t].host == -1) continue;
    const std::string host_name = (*tables)[t].name.substr(0, (*tables)[t].name.find("_g"));
    for (size_t u = 0; u < tables->size(); ++u)
      if ((*tables)[u].name == host_name) (*tables)[t].host = static_cast<int32_t>(u);
  }
  std::vector<int32_t> readable;
  for (size_t t = 0; t < tables->size(); ++t)
    if ((*tables)[t].host == -1) readable.push_back(static_cast<int32_t>(t));
  const int F = static_cast<int>(readable.size()) + static_cast<int>(rng() % 3);
  for (int i = 0; i < F; ++i) {
    FeatureConfig f;
    f.name = "f" + std::to_string(i);
    f.table = i < static_cast<int>(readable.size()) ? readable[i] : readable[rng() % readable.size()];
    bool has_guests = false;
    for (const auto& t : *tables) has_guests |= t.host == f.table;
    const bool none_ok = !has_guests && (*tables)[f.table].output == 0;
    f.pooling = static_cast<Pooling>(rng() % (none_ok ? 3 : 2));
    features->push_back(f);
  }
}

// The same model as separate plain collections, one per output: output o's collection holds
// the tables writing to o and one feature per (feature f, member m of f's table) with m in o,
// in (f, member) order, which is the co-located layout's column order. The NONE features
// (tables of output 0) stay in collection 0.
struct Split {
  std::vector<std::unique_ptr<CpuEmbeddingCollection>> colls;
  std::vector<std::vector<std::pair<int, int>>>
      table_of;                               // per output: (co-located table, table in the split collection)
  std::vector<std::vector<int>> feature_src;  // per output, per feature: the co-located feature it copies
};

Split split_of(const TbeLayout& l, int outputs, const OptimizerConfig& o) {
  Split s;
  s.table_of.resize(outputs);
  s.feature_src.resize(outputs);
  for (int out = 0; out < outputs; ++out) {
    std::vector<TableConfig> tables;
    std::vector<FeatureConfig> features;
    std::vector<int> index(l.tables.size(), -1);
    for (size_t t = 0; t < l.tables.size(); ++t) {
      if (l.tables[t].output != out) continue;
      TableConfig c = l.tables[t];
      c.host = -1;
      c.output = 0;
      index[t] = static_cast<int>(tables.size());
      s.table_of[out].push_back({static_cast<int>(t), index[t]});
      tables.push_back(c);
    }
    for (size_t f = 0; f < l.features.size(); ++f) {
      for (int32_t m : l.members[l.features[f].table]) {
        if (index[m] < 0) continue;
        FeatureConfig fc = l.features[f];
        fc.name += "/" + l.tables[m].name;
        fc.table = index[m];
        features.push_back(fc);
        s.feature_src[out].push_back(static_cast<int>(f));
      }
    }
    if (tables.empty()) {  // an output nobody writes: a placeholder collection is never called
      s.colls.emplace_back();
      continue;
    }
    if (features.empty()) {  // tables of this output, none read (a guest-less host of another output cannot happen)
      s.colls.emplace_back();
      continue;
    }
    s.colls.push_back(tsrec_test::make_cpu_collection(tables, features, o, 1));
    if (!s.colls.back()) ++tsrec_test::failures();
  }
  return s;
}

// The bags of the split collection's features, copied from the co-located batch.
struct SplitBatch {
  std::vector<int64_t> idx, off{0};
  std::vector<float> w;
  TbeBatch batch;
};
void split_batch(const TbeBatch& in, int64_t F, const std::vector<int>& src, SplitBatch* out) {
  const int64_t B = in.batch_size;
  for (int f : src) {
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t i = in.offset(f * B + b); i < in.offset(f * B + b + 1); ++i) {
        out->idx.push_back(in.index(i));
        if (in.weights) out->w.push_back(in.weights[i]);
      }
      out->off.push_back(static_cast<int64_t>(out->idx.size()));
    }
  }
  (void)F;
  out->batch = tsrec_test::view_batch(out->idx, out->off, B, in.weights ? out->w.data() : nullptr);
}

void run_case(std::mt19937_64& rng, int optim_type, const BatchSpec& spec, int steps) {
  std::vector<TableConfig> tables;
  std::vector<FeatureConfig> features;
  int outputs = 1;
  random_layout(rng, &tables, &features, &outputs);
  const OptimizerConfig o = tsrec_test::random_optimizer(optim_type, rng);
  const uint64_t seed = rng();
  auto co = tsrec_test::make_cpu_collection(tables, features, o, seed);
  auto ref = tsrec_test::make_cpu_collection(tables, features, o, seed);
  CHECK(co && ref);
  const TbeLayout& l = co->layout();
  // Initial values: table t of a co-located collection equals table t of a plain one (same seed).
  {
    std::vector<TableConfig> plain = tables;
    for (auto& t : plain) t.host = -1;
    std::vector<FeatureConfig> pf = features;
    for (auto& f : pf) f.pooling = f.pooling == Pooling::kNone ? Pooling::kSum : f.pooling;
    auto flat = tsrec_test::make_cpu_collection(plain, pf, o, seed);
    CHECK(flat != nullptr);
    std::string why;
    for (int t = 0; t < co->num_tables(); ++t) CHECK_MSG(same_table(*co, t, *flat, t, &why), "init: %s", why.c_str());
  }
  Split split = split_of(l, l.num_outputs(), o);
  // The split tables start from the co-located ones' values (WriteRows of every buffer).
  for (int out = 0; out < l.num_outputs(); ++out) {
    if (!split.colls[out]) continue;
    for (auto [t, u] : split.table_of[out]) {
      for (int k = kWeights; k < co->num_states(); ++k) {
        std::vector<float> v(l.tables[t].rows * co->row_width(t, k));
        CHECK(co->ReadRows(t, k, 0, l.tables[t].rows, v.data()).ok());
        CHECK(split.colls[out]->WriteRows(u, k, 0, l.tables[t].rows, v.data()).ok());
      }
    }
  }
  std::string why;
  for (int step = 1; step <= steps; ++step) {
    RandomBatch rb;
    make_batch(l, spec, rng, &rb);
    const int64_t B = spec.B, F = static_cast<int64_t>(l.features.size());
    std::vector<std::vector<float>> pc(l.num_outputs()), pr(l.num_outputs()), gp(l.num_outputs());
    std::vector<float*> pcp, prp;
    std::vector<const float*> gpp;
    for (int out = 0; out < l.num_outputs(); ++out) {
      pc[out].assign(B * l.pooled_dims[out], -7.f);
      pr[out].assign(B * l.pooled_dims[out], -9.f);
      gp[out].resize(B * l.pooled_dims[out]);
      for (auto& v : gp[out]) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
      pcp.push_back(pc[out].data());
      prp.push_back(pr[out].data());
      gpp.push_back(gp[out].data());
    }
    const int64_t S = SequenceOutputSize(l, rb.batch);
    std::vector<float> sc(S, -7.f), sr(S, -9.f), gs(S);
    for (auto& v : gs) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
    Status st = co->Forward(rb.batch, pcp.data(), l.num_outputs(), sc.data());
    CHECK_MSG(st.ok(), "%s", st.message().c_str());
    TbeForwardReference(l, ref->tables(), rb.batch, prp.data(), sr.data());
    for (int out = 0; out < l.num_outputs(); ++out) {
      int64_t m = tsrec_test::first_mismatch(pc[out].data(), pr[out].data(), B * l.pooled_dims[out], 1e-5f, 1e-5f);
      CHECK_MSG(m < 0, "reference: output %d [%ld] %g vs %g", out, (long)m, pc[out][m], pr[out][m]);
    }
    // Separate plain collections: bit-identical outputs.
    for (int out = 0; out < l.num_outputs(); ++out) {
      if (!split.colls[out]) continue;
      SplitBatch sb;
      split_batch(rb.batch, F, split.feature_src[out], &sb);
      const TbeLayout& sl = split.colls[out]->layout();
      std::vector<float> p(B * sl.pooled_dim, -5.f), seq(SequenceOutputSize(sl, sb.batch), -5.f);
      CHECK(split.colls[out]->Forward(sb.batch, p.data(), seq.data()).ok());
      CHECK_MSG(p.size() == pc[out].size() && std::memcmp(p.data(), pc[out].data(), 4 * p.size()) == 0,
                "output %d differs from separate tables", out);
      if (out == 0)
        CHECK_MSG(seq.size() == sc.size() && std::memcmp(seq.data(), sc.data(), 4 * seq.size()) == 0,
                  "sequence differs");
      // The split backward: the same gradients, its own positions.
      CHECK(split.colls[out]->BackwardAndUpdate(sb.batch, gp[out].data(), out == 0 ? gs.data() : nullptr, 0.05f).ok());
    }
    st = co->BackwardAndUpdate(rb.batch, gpp.data(), l.num_outputs(), gs.data(), 0.05f);
    CHECK_MSG(st.ok(), "%s", st.message().c_str());
    ref->set_step(step);
    TbeBackwardReference(l, ref->tables(), o, MakeOptimStep(o, 0.05f, step), rb.batch, gpp.data(), gs.data());
    for (int out = 0; out < l.num_outputs(); ++out) {
      if (!split.colls[out]) continue;
      for (auto [t, u] : split.table_of[out])
        CHECK_MSG(same_table(*co, t, *split.colls[out], u, &why), "%s step %d vs separate tables: %s",
                  optim_name(o.type), step, why.c_str());
    }
    for (int t = 0; t < co->num_tables(); ++t) {
      for (int k = kWeights; k < co->num_states(); ++k) {
        const int64_t n = l.tables[t].rows * co->row_width(t, k);
        std::vector<float> x(n), y(n);
        CHECK(co->ReadRows(t, k, 0, l.tables[t].rows, x.data()).ok());
        CHECK(ref->ReadRows(t, k, 0, l.tables[t].rows, y.data()).ok());
        int64_t m = tsrec_test::first_mismatch(x.data(), y.data(), n, 2e-5f, 2e-5f);
        CHECK_MSG(m < 0, "%s step %d vs reference: table %d buffer %d [%ld] %g vs %g", optim_name(o.type), step, t, k,
                  (long)m, x[m], y[m]);
      }
    }
  }
}

}  // namespace

TEST_CASE(colocated_equals_separate_tables_every_optimizer) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() ^ 0xC0C0);
  for (int trial = 0; trial < 10; ++trial) {
    for (int opt = 0; opt < 4; ++opt) {
      BatchSpec s;
      s.B = 1 + static_cast<int64_t>(rng() % 20);
      s.max_bag = static_cast<int>(rng() % 6);
      s.int64_indices = rng() % 2;
      s.int64_offsets = rng() % 2;
      s.weighted = rng() % 2;
      const int before = tsrec_test::failures();
      run_case(rng, opt, s, 3);
      if (tsrec_test::failures() != before) return;
    }
  }
}

TEST_CASE(colocated_large_batch_multithreaded) {
  std::mt19937_64 rng(tsrec_test::seed_from_env() ^ 0xB16);
  for (int opt = 0; opt < 4; ++opt) {
    BatchSpec s;
    s.B = 700;  // thousands of indices: the pool's parallel forward and sliced backward
    s.max_bag = 5;
    s.weighted = opt % 2;
    run_case(rng, opt, s, 2);
  }
}

TEST_CASE(colocated_rows_round_trip) {
  std::vector<TableConfig> t(2);
  t[0].name = "deep";
  t[0].rows = 5;
  t[0].dim = 8;
  t[1].name = "deep_wide";
  t[1].rows = 5;
  t[1].dim = 4;
  t[1].host = 0;
  t[1].output = 1;
  std::vector<FeatureConfig> f(1);
  f[0].name = "x";
  OptimizerConfig o;
  o.type = OptimType::kRowwiseAdagrad;
  auto c = tsrec_test::make_cpu_collection(t, f, o, 3);
  CHECK(c != nullptr);
  CHECK(!c->contiguous(0, kWeights) && !c->contiguous(1, kWeights) && c->contiguous(1, 0));
  CHECK(c->layout().stride[0] == 12 && c->layout().stride[1] == 12 && c->layout().row_offset[1] == 8);
  CHECK(c->layout().pooled_dims.size() == 2 && c->layout().pooled_dims[0] == 8 && c->layout().pooled_dims[1] == 4);
  std::vector<float> w(8), back(20);
  for (int i = 0; i < 8; ++i) w[i] = 100.0f + i;
  CHECK(c->WriteRows(1, kWeights, 2, 2, w.data()).ok());
  CHECK(c->ReadRows(1, kWeights, 0, 5, back.data()).ok());
  for (int i = 0; i < 8; ++i) CHECK(back[8 + i] == w[i]);
  // The host's rows 2-3 are untouched by the guest's write.
  std::vector<float> host(40);
  CHECK(c->ReadRows(0, kWeights, 0, 5, host.data()).ok());
  for (float v : host) CHECK(v > -1.0f && v < 1.0f);
  CHECK(c->table_bytes(0) == 5 * 8 * 4 + 5 * 4 && c->table_bytes(1) == 5 * 4 * 4 + 5 * 4);
}

TEST_CASE(colocation_validation_errors) {
  auto err = [](std::vector<TableConfig> t, std::vector<FeatureConfig> f) {
    Status st;
    auto c = tsrec_test::make_cpu_collection(t, f, OptimizerConfig{}, 1, &st);
    return st.ok() ? std::string("OK") : st.message();
  };
  std::vector<TableConfig> t(3);
  for (int i = 0; i < 3; ++i) {
    t[i].name = "t" + std::to_string(i);
    t[i].rows = 10;
    t[i].dim = 4;
  }
  std::vector<FeatureConfig> f(1);
  f[0].name = "x";
  auto bad_rows = t;
  bad_rows[1].host = 0;
  bad_rows[1].rows = 9;
  CHECK_CONTAINS(err(bad_rows, f),
                 "Expected the rows of co-located table 't1' to equal those of its host 't0' (10) but received 9");
  auto chain = t;
  chain[1].host = 0;
  chain[2].host = 1;
  CHECK_CONTAINS(err(chain, f), "table 't2' is co-located with 't1', which is itself co-located with 't0'");
  auto self = t;
  self[1].host = 1;
  CHECK_CONTAINS(err(self, f), "table 't1' names host table 1");
  auto guest_read = t;
  guest_read[1].host = 0;
  auto fg = f;
  fg[0].table = 1;
  CHECK_CONTAINS(err(guest_read, fg), "feature 'x' reads table 't1', which is co-located with 't0'");
  auto none = t;
  none[1].host = 0;
  auto fn = f;
  fn[0].pooling = Pooling::kNone;
  CHECK_CONTAINS(err(none, fn), "feature 'x' has pooling NONE but its table 't0' hosts co-located tables");
  auto out = t;
  out[2].output = kMaxPooledOutputs;
  CHECK_CONTAINS(err(out, f), "Expected an output in [0, 8) for table 't2' but received 8");
  // The number of pooled arrays must match the outputs.
  auto two = t;
  two[1].host = 0;
  two[1].output = 1;
  std::unique_ptr<CpuEmbeddingCollection> c = tsrec_test::make_cpu_collection(two, f, OptimizerConfig{}, 1);
  CHECK(c != nullptr);
  const std::vector<int32_t> idx{3}, off{0, 1};
  const TbeBatch b = tsrec_test::view_batch(idx, off, 1);
  float p0[4], p1[4];
  float* one[1] = {p0};
  CHECK_CONTAINS(c->Forward(b, one, 1, nullptr).message(), "Expected 2 pooled outputs but received 1");
  float* both[2] = {p0, p1};
  CHECK(c->Forward(b, both, 2, nullptr).ok());
  std::vector<float> r0(4), r1(4);
  CHECK(c->ReadRows(0, kWeights, 3, 1, r0.data()).ok() && c->ReadRows(1, kWeights, 3, 1, r1.data()).ok());
  CHECK(std::memcmp(p0, r0.data(), 16) == 0 && std::memcmp(p1, r1.data(), 16) == 0);
}

namespace {

struct HostSpec {
  int dim;
  std::vector<std::pair<int, int>> guests;  // (dim, output)
  int features = 1;
  bool guests_first = false;  // list the guests before their host
};

// Tables and features of a co-located layout from host specs (feature pooling alternates SUM / MEAN).
void build_layout(std::mt19937_64& rng, const std::vector<HostSpec>& hosts, std::vector<TableConfig>* tables,
                  std::vector<FeatureConfig>* features) {
  for (size_t h = 0; h < hosts.size(); ++h) {
    const HostSpec& hs = hosts[h];
    const int64_t rows = 50 + static_cast<int64_t>(rng() % 2000);
    const int32_t n = static_cast<int32_t>(tables->size());
    const int32_t host = hs.guests_first ? n + static_cast<int32_t>(hs.guests.size()) : n;
    auto push_guests = [&] {
      for (size_t g = 0; g < hs.guests.size(); ++g) {
        TableConfig c;
        c.name = "h" + std::to_string(h) + "_g" + std::to_string(g);
        c.rows = rows;
        c.dim = hs.guests[g].first;
        c.host = host;
        c.output = hs.guests[g].second;
        tables->push_back(c);
      }
    };
    if (hs.guests_first) push_guests();
    TableConfig c;
    c.name = "h" + std::to_string(h);
    c.rows = rows;
    c.dim = hs.dim;
    tables->push_back(c);
    if (!hs.guests_first) push_guests();
    for (int f = 0; f < hs.features; ++f)
      features->push_back({"f" + std::to_string(h) + "_" + std::to_string(f), host,
                           (features->size() % 2) ? Pooling::kMean : Pooling::kSum});
  }
}

}  // namespace

TEST_CASE(colocated_lean_walks_match_generic_walks) {
  // Co-located layouts against the generic walks, every optimizer, forward in every order:
  //  - DeepFM's [deep | wide] rows with output 0 a multiple of 64 bytes wide (aligned outputs:
  //    the host's columns streamed while the guest's are stored),
  //  - the same with other host dims (output 0 not streamable),
  //  - the cases that must fall back in part or whole: a guest on its host's own output, guests
  //    listed before their host, two guests, a dim-8 guest, a host read by two features (lean
  //    forward, generic backward), a dim-12 host.
  // Outputs, weights and optimizer state must be equal bit for bit.
  struct LeanGuard {
    ~LeanGuard() { SetTbeLeanWalks(true); }
  } guard;
  std::mt19937_64 rng(tsrec_test::seed_from_env() ^ 0x1EA4);
  const std::vector<std::vector<HostSpec>> layouts = {
      {{16, {{4, 1}}}, {32, {{4, 1}}}, {64, {{4, 1}}}, {16, {{4, 1}}}},
      {{16, {{4, 1}}}, {8, {{4, 1}}}, {32, {{4, 1}}}, {4, {{4, 1}}}, {64, {{4, 1}}}},
      {{16, {{4, 0}}},
       {16, {{4, 1}}, 1, true},
       {8, {{4, 1}, {4, 1}}},
       {32, {{8, 1}}},
       {16, {{4, 1}}, 2},
       {12, {{4, 1}}},
       {16, {}}},
  };
  for (size_t li = 0; li < layouts.size(); ++li) {
    std::vector<TableConfig> tables;
    std::vector<FeatureConfig> features;
    build_layout(rng, layouts[li], &tables, &features);
    for (int opt = 0; opt < 4; ++opt) {
      const OptimizerConfig o = tsrec_test::random_optimizer(opt, rng);
      const uint64_t seed = rng();
      auto lean = tsrec_test::make_cpu_collection(tables, features, o, seed),
           generic = tsrec_test::make_cpu_collection(tables, features, o, seed);
      CHECK(lean && generic);
      if (!lean || !generic) return;
      const TbeLayout& l = lean->layout();
      CHECK(l.num_outputs() == 2);
      if (li == 0) CHECK(l.pooled_dims[0] * 4 % 64 == 0);
      for (int step = 1; step <= 3; ++step) {
        BatchSpec s;
        s.B = step == 1 ? 5 : 700;
        s.max_bag = step == 3 ? 6 : 2;
        s.int64_indices = rng() % 2;
        s.int64_offsets = rng() % 2;
        s.weighted = rng() % 2;
        RandomBatch rb;
        make_batch(l, s, rng, &rb);
        // pa[ord][out]: order 0 the collection's own (auto) choice, 1-3 forced; 64-byte aligned.
        std::vector<std::vector<std::shared_ptr<HostBuffer>>> pa(4);
        std::vector<std::vector<float*>> pap(4);
        std::vector<std::shared_ptr<HostBuffer>> pb;
        std::vector<float*> pbp;
        std::vector<std::vector<float>> gp(2);
        std::vector<const float*> gpp;
        for (int out = 0; out < 2; ++out) {
          const int64_t n = s.B * l.pooled_dims[out];
          for (int ord = 0; ord < 4; ++ord) {
            pa[ord].push_back(HostBuffer::Allocate(n));
            std::fill(pa[ord].back()->data(), pa[ord].back()->data() + n, -7.f);
            pap[ord].push_back(pa[ord].back()->data());
          }
          pb.push_back(HostBuffer::Allocate(n));
          std::fill(pb.back()->data(), pb.back()->data() + n, -9.f);
          pbp.push_back(pb.back()->data());
          gp[out].resize(n);
          for (auto& v : gp[out]) v = std::uniform_real_distribution<float>(-0.2f, 0.2f)(rng);
          gpp.push_back(gp[out].data());
        }
        const int64_t S = SequenceOutputSize(l, rb.batch);
        CHECK(S == 0);
        SetTbeLeanWalks(true);
        CHECK(lean->Forward(rb.batch, pap[0].data(), 2, nullptr).ok());
        const TbeForwardOrder orders[] = {TbeForwardOrder::kFeatureMajor, TbeForwardOrder::kSampleMajor,
                                          TbeForwardOrder::kBlocked};
        for (int ord = 1; ord < 4; ++ord)
          TbeForwardCpu(l, lean->tables(), rb.batch, pap[ord].data(), nullptr, ThreadPool::global(), orders[ord - 1]);
        CHECK(lean->BackwardAndUpdate(rb.batch, gpp.data(), 2, nullptr, 0.05f).ok());
        SetTbeLeanWalks(false);
        CHECK(generic->Forward(rb.batch, pbp.data(), 2, nullptr).ok());
        CHECK(generic->BackwardAndUpdate(rb.batch, gpp.data(), 2, nullptr, 0.05f).ok());
        for (int ord = 0; ord < 4; ++ord)
          for (int out = 0; out < 2; ++out)
            CHECK_MSG(std::memcmp(pap[ord][out], pbp[out], 4 * s.B * l.pooled_dims[out]) == 0,
                      "layout %zu, %s step %d: order %d output %d differs", li, optim_name(o.type), step, ord, out);
        std::string why;
        for (int t = 0; t < lean->num_tables(); ++t)
          CHECK_MSG(same_table(*lean, t, *generic, t, &why), "layout %zu, %s step %d, lean vs generic: %s", li,
                    optim_name(o.type), step, why.c_str());
      }
    }
  }
}

int main() {
  std::printf("seed %llu (set TSREC_TEST_SEED to replay)\n",
              static_cast<unsigned long long>(tsrec_test::seed_from_env()));
  return tsrec_test::run_all("tbe_colocate");
}
