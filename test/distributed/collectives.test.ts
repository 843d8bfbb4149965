/**
 * The communicator over real MPI ranks (mpirun -np 2 and 4, loopback): every collective equals the
 * in-process simulation bit for bit, byte counters equal the formulas, a rank waiting for a late
 * peer keeps its event loop running and does not burn a core, and a collective timeout turns a
 * hang into an error and a fast end of the job.
 */
import { describeWithMpi, mpirun, worker } from './mpi';

describeWithMpi('collectives under mpirun', () => {
  it.each([2, 4])('-np %i: collectives equal the simulation, counters equal the formulas', (np) => {
    const seed = Date.now() % 100000;
    const r = mpirun(np, ['node', worker('collectives.js')], { TSREC_DIST_SEED: String(seed) });
    if (r.code !== 0) throw new Error(`mpirun exited ${r.code} (seed ${seed}):\n${r.stdout}\n${r.stderr}`);
    expect(r.json.map((j) => j.rank).sort()).toEqual(Array.from({ length: np }, (_, i) => i));
    for (const j of r.json) {
      expect({ rank: j.rank, failures: j.failures }).toEqual({ rank: j.rank, failures: [] });
      expect(j.kind).toMatch(/^mpi \(Open MPI/);
      // Ranks 1.. waited ~1 s for rank 0 at the barrier: timers kept firing, little CPU spent.
      if (j.rank !== 0) {
        expect(j.ticks as number).toBeGreaterThan(50);
        expect(j.waitCpuS as number).toBeLessThan(0.5);
      }
    }
  });

  it('a collective timeout fails the waiting rank within the limit and ends the job', () => {
    const r = mpirun(2, ['node', worker('timeout.js')], { TSREC_TEST_TIMEOUT_S: '1' }, 60);
    const first = r.json.find((j) => 'error' in j);
    expect(first?.error).toMatch(
      /barrier did not complete within 1 s \(collective timeout\): another rank is gone or stuck/,
    );
    expect(first?.seconds as number).toBeLessThan(3);
    expect(r.json.find((j) => 'again' in j)?.again).toMatch(/collective timeout/);
    expect(r.code).not.toBe(0);
    expect(r.seconds).toBeLessThan(20); // the other rank sleeps 120 s: it was ended by the abort
  });
});
