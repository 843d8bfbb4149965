/**
 * FM second-order interaction of x [B, N, D] (TorchEasyRec's FactorizationMachine):
 *   out[b, d] = ½((Σ_n x[b,n,d])² − Σ_n x[b,n,d]²)   → [B, D]
 * and its gradient dx[b,n,d] = dout[b,d] · (Σ_m x[b,m,d] − x[b,n,d]). One pass each.
 */
export const fmInteractionKernel = {
  forward(x: Float32Array, B: number, N: number, D: number, out: Float32Array): void {
    for (let b = 0; b < B; b++) {
      const base = b * N * D;
      for (let d = 0; d < D; d++) {
        let s = 0;
        let sq = 0;
        for (let n = 0; n < N; n++) {
          const v = x[base + n * D + d];
          s += v;
          sq += v * v;
        }
        out[b * D + d] = 0.5 * (s * s - sq);
      }
    }
  },
  backward(x: Float32Array, dOut: Float32Array, B: number, N: number, D: number, dx: Float32Array): void {
    for (let b = 0; b < B; b++) {
      const base = b * N * D;
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += x[base + n * D + d];
        const g = dOut[b * D + d];
        for (let n = 0; n < N; n++) dx[base + n * D + d] = g * (s - x[base + n * D + d]);
      }
    }
  },
};
