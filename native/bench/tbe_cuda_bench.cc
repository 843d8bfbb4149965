// CUDA TBE benchmark on the workloads at batch 4096: milliseconds per forward and per
// forward + fused row-wise Adagrad step through the public CudaEmbeddingCollection API (so the
// figures include the host->device batch/gradient copy and the device->host output copy), with
// achieved GB/s from a byte-count model of the embedding traffic:
//   forward: rows gathered (nnz * dim * 4) + pooled output written (B * sum(dim) * 4)
//   step:    forward bytes + gradient rows read (nnz * dim * 4) + unique rows read and written
//            (2 * U * dim * 4) + row-wise state read and written (2 * U * 4)
// Prints "SKIP: no CUDA device" and exits 0 when there is no GPU.
//
//   tbe_cuda_bench [--workload dlrm26|multihot20|wide128] [--iters N] [--device D]
//   TSREC_CUDA_BENCH_JSON=path also writes {"results":[...]} as the CPU bench does.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tsrec/embedding_collection.h"
#include "tsrec/tbe_cuda.h"

using namespace tsrec;

namespace {

struct Workload {
  std::string name;
  std::vector<int64_t> rows;  // one table per feature
  int dim;
  int bag;        // ids per bag
  double zipf_s;  // 0: uniform
  Pooling pooling;
};

std::vector<Workload> workloads() {
  Workload dlrm{"dlrm26", std::vector<int64_t>(25, 1000000), 16, 1, 1.05, Pooling::kSum};
  dlrm.rows.push_back(10000000);
  return {dlrm,
          {"multihot20", {10000000}, 64, 20, 0.0, Pooling::kSum},
          {"wide128", {1000000}, 128, 20, 1.05, Pooling::kMean}};
}

// Zipf(s) over [0, rows) by inverting the continuous power law, then scattered over the table
// by a multiplicative hash, so hot ids are not neighbours (as hashed feature ids are not).
int64_t draw_id(std::mt19937_64& rng, int64_t rows, double s) {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  if (s <= 0.0) return static_cast<int64_t>(u * static_cast<double>(rows)) % rows;
  const double a = 1.0 - s;
  const double x = std::pow((std::pow(static_cast<double>(rows), a) - 1.0) * u + 1.0, 1.0 / a);  // in [1, rows]
  const uint64_t rank = std::min<uint64_t>(static_cast<uint64_t>(x) - 1, static_cast<uint64_t>(rows - 1));
  return static_cast<int64_t>((rank * 0x9E3779B97F4A7C15ull) % static_cast<uint64_t>(rows));
}

struct Batch {
  std::vector<int32_t> idx;
  std::vector<int32_t> off;
  TbeBatch view;
  int64_t unique_rows = 0;
};

Batch make_batch(const Workload& w, int64_t B, std::mt19937_64& rng) {
  Batch b;
  b.off.push_back(0);
  for (size_t f = 0; f < w.rows.size(); ++f) {
    const size_t first = b.idx.size();
    for (int64_t s = 0; s < B; ++s) {
      for (int i = 0; i < w.bag; ++i) b.idx.push_back(static_cast<int32_t>(draw_id(rng, w.rows[f], w.zipf_s)));
      b.off.push_back(static_cast<int32_t>(b.idx.size()));
    }
    std::vector<int32_t> u(b.idx.begin() + first, b.idx.end());
    std::sort(u.begin(), u.end());
    b.unique_rows += std::unique(u.begin(), u.end()) - u.begin();
  }
  b.view.indices = b.idx.data();
  b.view.num_indices = static_cast<int64_t>(b.idx.size());
  b.view.offsets = b.off.data();
  b.view.num_offsets = static_cast<int64_t>(b.off.size());
  b.view.batch_size = B;
  return b;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double time_ms(int iters, F&& f) {
  for (int i = 0; i < 3; ++i) f(i);  // warm-up: scratch buffers reach their size
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f(i);
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  return median(t);
}

struct Row {
  std::string workload, op;
  double ms, lookups_per_s, gb_per_s;
};

}  // namespace

int main(int argc, char** argv) {
  std::string only;
  int iters = 20, device = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--workload") && i + 1 < argc)
      only = argv[++i];
    else if (!std::strcmp(argv[i], "--iters") && i + 1 < argc)
      iters = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
      device = std::atoi(argv[++i]);
  }
  if (CudaDeviceCount() == 0) {
    std::printf("SKIP: no CUDA device (%s)\n", CudaDeviceDescription(0).c_str());
    return 0;
  }
  std::printf("device %d: %s\n", device, CudaDeviceDescription(device).c_str());
  std::printf("%-11s %-16s %10s %14s %9s\n", "workload", "op", "median_ms", "lookups/s", "GB/s");
  const int64_t B = 4096;
  std::vector<Row> rows;
  for (const Workload& w : workloads()) {
    if (!only.empty() && only != w.name) continue;
    std::vector<TableConfig> tables;
    std::vector<FeatureConfig> features;
    for (size_t t = 0; t < w.rows.size(); ++t) {
      tables.push_back({"t" + std::to_string(t), w.rows[t], w.dim, 0.0f, 0.0f});
      features.push_back({"f" + std::to_string(t), static_cast<int32_t>(t), w.pooling});
    }
    OptimizerConfig o;
    o.type = OptimType::kRowwiseAdagrad;
    std::unique_ptr<CudaEmbeddingCollection> c;
    Status s = CudaEmbeddingCollection::Create(tables, features, o, 1, device, &c);
    if (!s.ok()) {
      std::printf("%-11s create failed: %s\n", w.name.c_str(), s.message().c_str());
      return 1;
    }
    std::mt19937_64 rng(7);
    const int kBatches = 8;
    std::vector<Batch> batches;
    for (int i = 0; i < kBatches; ++i) batches.push_back(make_batch(w, B, rng));
    const int64_t P = c->layout().pooled_dim;
    std::vector<float> pooled(B * P), grad(B * P);
    for (auto& v : grad) v = std::uniform_real_distribution<float>(-1e-3f, 1e-3f)(rng);
    const double nnz = static_cast<double>(batches[0].view.num_indices);
    double unique = 0;
    for (auto& b : batches) unique += static_cast<double>(b.unique_rows);
    unique /= kBatches;
    const double row_bytes = w.dim * 4.0;
    const double fwd_bytes = nnz * row_bytes + static_cast<double>(B * P) * 4.0;
    const double step_bytes = fwd_bytes + nnz * row_bytes + 2.0 * unique * row_bytes + 2.0 * unique * 4.0;

    Status err;
    const double fwd = time_ms(iters, [&](int i) {
      Status st = c->Forward(batches[i % kBatches].view, pooled.data(), nullptr);
      if (!st.ok()) err = st;
    });
    const double step = time_ms(iters, [&](int i) {
      const TbeBatch& b = batches[i % kBatches].view;
      Status st = c->Forward(b, pooled.data(), nullptr);
      if (st.ok()) st = c->BackwardAndUpdate(b, grad.data(), nullptr, 0.01f);
      if (!st.ok()) err = st;
    });
    if (!err.ok()) {
      std::printf("%-11s failed: %s\n", w.name.c_str(), err.message().c_str());
      return 1;
    }
    rows.push_back({w.name, "forward", fwd, nnz / (fwd * 1e-3), fwd_bytes / (fwd * 1e-3) / 1e9});
    rows.push_back({w.name, "rowwise_adagrad", step, nnz / (step * 1e-3), step_bytes / (step * 1e-3) / 1e9});
    for (size_t r = rows.size() - 2; r < rows.size(); ++r)
      std::printf("%-11s %-16s %10.3f %14.3e %9.1f\n", rows[r].workload.c_str(), rows[r].op.c_str(), rows[r].ms,
                  rows[r].lookups_per_s, rows[r].gb_per_s);
    std::printf("%-11s (nnz %.0f, unique rows %.0f; times include the batch/gradient upload and the output download)\n",
                "", nnz, unique);
  }
  if (const char* path = std::getenv("TSREC_CUDA_BENCH_JSON")) {
    if (FILE* f = std::fopen(path, "w")) {
      std::fprintf(f, "{\"device\":\"%s\",\"results\":[", CudaDeviceDescription(device).c_str());
      for (size_t r = 0; r < rows.size(); ++r)
        std::fprintf(f,
                     "%s{\"workload\":\"%s\",\"op\":\"%s\",\"threads\":0,\"median_ms\":%.4f,\"lookups_per_s\":%.1f,"
                     "\"gb_per_s\":%.2f}",
                     r ? "," : "", rows[r].workload.c_str(), rows[r].op.c_str(), rows[r].ms, rows[r].lookups_per_s,
                     rows[r].gb_per_s);
      std::fprintf(f, "]}\n");
      std::fclose(f);
    }
  }
  return 0;
}
