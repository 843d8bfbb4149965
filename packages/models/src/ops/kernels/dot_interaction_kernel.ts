/**
 * DLRM dot interaction of x [B, N, D]: the inner products of every pair i < j, in row-major
 * upper-triangle order (torch.triu_indices(N, N, 1), as TorchEasyRec's InteractionArch):
 *   out[b, p(i,j)] = ⟨x[b,i], x[b,j]⟩   → [B, N(N−1)/2]
 * gradient: dx[b,i] += g·x[b,j] and dx[b,j] += g·x[b,i] for each pair.
 */
export const dotInteractionKernel = {
  forward(x: Float32Array, B: number, N: number, D: number, out: Float32Array): void {
    const P = (N * (N - 1)) / 2;
    for (let b = 0; b < B; b++) {
      const base = b * N * D;
      let p = b * P;
      for (let i = 0; i < N; i++) {
        for (let j = i + 1; j < N; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += x[base + i * D + d] * x[base + j * D + d];
          out[p++] = s;
        }
      }
    }
  },
  backward(x: Float32Array, dOut: Float32Array, B: number, N: number, D: number, dx: Float32Array): void {
    const P = (N * (N - 1)) / 2;
    dx.fill(0);
    for (let b = 0; b < B; b++) {
      const base = b * N * D;
      let p = b * P;
      for (let i = 0; i < N; i++) {
        for (let j = i + 1; j < N; j++) {
          const g = dOut[p++];
          if (g === 0) continue;
          for (let d = 0; d < D; d++) {
            dx[base + i * D + d] += g * x[base + j * D + d];
            dx[base + j * D + d] += g * x[base + i * D + d];
          }
        }
      }
    }
  },
};
