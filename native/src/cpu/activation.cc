#include "tsrec/activation.h"

namespace tsrec {

void ApplyActivation(Activation act, float* y, int64_t rows, int64_t width, float leaky_alpha, const float* prelu_alpha,
                     int64_t prelu_len) {
  const int64_t n = rows * width;
  switch (act) {
    case Activation::kLinear:
      return;
    case Activation::kRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = ReluF(y[i]);
      return;
    case Activation::kRelu6:
      for (int64_t i = 0; i < n; ++i) y[i] = Relu6F(y[i]);
      return;
    case Activation::kSigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = SigmoidF(y[i]);
      return;
    case Activation::kElu:
      for (int64_t i = 0; i < n; ++i) y[i] = EluF(y[i]);
      return;
    case Activation::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = LeakyF(y[i], leaky_alpha);
      return;
    case Activation::kPrelu:
      if (prelu_len == 1) {
        for (int64_t i = 0; i < n; ++i) y[i] = LeakyF(y[i], prelu_alpha[0]);
      } else {
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < width; ++j) y[r * width + j] = LeakyF(y[r * width + j], prelu_alpha[j]);
      }
      return;
  }
}

}  // namespace tsrec
