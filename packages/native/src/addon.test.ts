import { loadAddon } from './addon';
import { buildInfo } from './index';

describe('addon loader', () => {
  test('explains every failed candidate and the fixes', () => {
    expect(() => loadAddon(['/nonexistent/tsrec_native.node'])).toThrow(
      /Could not load the tsrec native addon\.\nTried:\n- \/nonexistent\/tsrec_native\.node: Cannot find module[\s\S]*Possible solutions:\n- Build it: npm install/,
    );
  });

  test('reports BLAS, CUDA and threads', () => {
    const info = buildInfo();
    expect(info.threads).toBeGreaterThan(0);
    expect(info.blas).toMatch(/openblas|built-in/);
    if (!info.cudaCompiled || info.cudaDevices === 0) expect(typeof info.cudaDescription).toBe('string');
  });
});
