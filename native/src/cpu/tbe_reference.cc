// Naive TBE references: the plainest code that states the contract. Tests compare the fast
// kernels against these, and the benchmark reports speed-ups over them. The optimizer maths is
// deliberately written out here again, longhand, instead of calling the shared rules.
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "tsrec/tbe_cpu.h"

namespace tsrec {

void TbeForwardReference(const TbeLayout& l, const TbeTables& tabs, const TbeBatch& batch, float* const* pooled,
                         float* sequence) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  std::vector<int64_t> seq_off;
  SequenceOffsets(l, batch, &seq_off);
  for (int64_t f = 0; f < F; ++f) {
    const auto& fc = l.features[f];
    const int64_t stride = l.stride[fc.table];
    for (int64_t b = 0; b < B; ++b) {
      const int64_t s = batch.offset(f * B + b), e = batch.offset(f * B + b + 1);
      if (fc.pooling == Pooling::kNone) {
        const int dim = l.tables[fc.table].dim;
        const float* W = tabs.weights[fc.table];
        for (int64_t i = s; i < e; ++i) {
          float w = batch.weights ? batch.weights[i] : 1.0f;
          for (int d = 0; d < dim; ++d)
            sequence[seq_off[f] + (i - batch.offset(f * B)) * dim + d] = w * W[batch.index(i) * stride + d];
        }
        continue;
      }
      // The feature's table and the tables co-located in its rows, each into its own output.
      const auto& members = l.members[fc.table];
      for (size_t mi = 0; mi < members.size(); ++mi) {
        const int32_t m = members[mi];
        const int dim = l.tables[m].dim;
        const int o = l.tables[m].output;
        const float* W = tabs.weights[m];
        float* out = pooled[o] + b * l.pooled_dims[o] + l.member_col[f][mi];
        for (int d = 0; d < dim; ++d) {
          float acc = 0.0f;
          for (int64_t i = s; i < e; ++i)
            acc += (batch.weights ? batch.weights[i] : 1.0f) * W[batch.index(i) * stride + d];
          if (fc.pooling == Pooling::kMean && e > s) acc *= 1.0f / static_cast<float>(e - s);
          out[d] = acc;
        }
      }
    }
  }
}

void TbeBackwardReference(const TbeLayout& l, const TbeTables& tabs, const OptimizerConfig& oc, const OptimStep& p,
                          const TbeBatch& batch, const float* const* grad_pooled, const float* grad_sequence) {
  const int64_t F = static_cast<int64_t>(l.features.size()), B = batch.batch_size;
  std::vector<int64_t> seq_off;
  SequenceOffsets(l, batch, &seq_off);
  for (size_t t = 0; t < l.tables.size(); ++t) {
    const int dim = l.tables[t].dim;
    // A co-located table is read through its host's features, as member `mi` of the host's row.
    const int32_t host = l.tables[t].host == -1 ? static_cast<int32_t>(t) : l.tables[t].host;
    const auto& hm = l.members[host];
    const size_t mi = static_cast<size_t>(std::find(hm.begin(), hm.end(), static_cast<int32_t>(t)) - hm.begin());
    const int o = l.tables[t].output;
    const int64_t stride = l.stride[t];
    // row -> summed gradient, accumulated in increasing position order
    std::map<int64_t, std::vector<float>> grads;
    std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> contributions;  // row -> (position, flat bag)
    for (int64_t f = 0; f < F; ++f) {
      if (l.features[f].table != host) continue;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = batch.offset(f * B + b); i < batch.offset(f * B + b + 1); ++i)
          contributions[batch.index(i)].push_back({i, f * B + b});
    }
    for (auto& [row, list] : contributions) {
      std::sort(list.begin(), list.end());
      std::vector<float> g(dim, 0.0f);
      for (auto [i, k] : list) {
        const int64_t f = k / B, b = k % B;
        const auto& fc = l.features[f];
        float s = batch.weights ? batch.weights[i] : 1.0f;
        for (int d = 0; d < dim; ++d) {
          float go;
          if (fc.pooling == Pooling::kNone) {
            go = grad_sequence[seq_off[f] + (i - batch.offset(f * B)) * dim + d];
          } else {
            go = grad_pooled[o][b * l.pooled_dims[o] + l.member_col[f][mi] + d];
          }
          float sc = s;
          if (fc.pooling == Pooling::kMean) sc /= static_cast<float>(batch.offset(k + 1) - batch.offset(k));
          if (oc.max_gradient > 0) go = std::fmin(std::fmax(go, -oc.max_gradient), oc.max_gradient);
          g[d] += sc * go;
        }
      }
      grads[row] = g;
    }
    for (auto& [row, g] : grads) {
      float* w = tabs.weights[t] + row * stride;
      const float lambda = oc.weight_decay;
      if (oc.weight_decay_mode == WeightDecayMode::kL2)
        for (int d = 0; d < dim; ++d) g[d] += lambda * w[d];
      const float decouple = oc.weight_decay_mode == WeightDecayMode::kDecouple ? 1.0f : 0.0f;
      switch (oc.type) {
        case OptimType::kSgd:
          for (int d = 0; d < dim; ++d) w[d] = w[d] - p.lr * g[d] - decouple * p.lr * lambda * w[d];
          break;
        case OptimType::kAdagrad: {
          float* G = tabs.state[t][0] + row * dim;
          for (int d = 0; d < dim; ++d) {
            G[d] += g[d] * g[d];
            w[d] = w[d] - p.lr * g[d] / (std::sqrt(G[d]) + oc.eps) - decouple * p.lr * lambda * w[d];
          }
          break;
        }
        case OptimType::kRowwiseAdagrad: {
          float& m = tabs.state[t][0][row];
          float sq = 0.0f;
          for (int d = 0; d < dim; ++d) sq += g[d] * g[d];
          m += sq / static_cast<float>(dim);
          const float mult = p.lr / (std::sqrt(m) + oc.eps);
          for (int d = 0; d < dim; ++d) w[d] = w[d] - mult * g[d] - decouple * p.lr * lambda * w[d];
          break;
        }
        case OptimType::kAdam: {
          float* m = tabs.state[t][0] + row * dim;
          float* v = tabs.state[t][1] + row * dim;
          for (int d = 0; d < dim; ++d) {
            m[d] = oc.beta1 * m[d] + (1 - oc.beta1) * g[d];
            v[d] = oc.beta2 * v[d] + (1 - oc.beta2) * g[d] * g[d];
            const float mhat = m[d] / p.bias_correction1, vhat = v[d] / p.bias_correction2;
            w[d] = w[d] - p.lr * mhat / (std::sqrt(vhat) + oc.eps) - decouple * p.lr * lambda * w[d];
          }
          break;
        }
      }
      if (oc.max_norm > 0) {
        float n2 = 0.0f;
        for (int d = 0; d < dim; ++d) n2 += w[d] * w[d];
        const float n = std::sqrt(n2);
        if (n > oc.max_norm)
          for (int d = 0; d < dim; ++d) w[d] *= oc.max_norm / n;
      }
    }
  }
}

}  // namespace tsrec
