import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Batch } from './batch';
import { DataLoader, type DataLoaderOptions } from './data_loader';
import { ByteRecycler } from './row_pipeline';
import { criteoFeatureConfigs, writeCriteoTsv } from './synthetic/criteo_synthetic';
import { workerScript } from './worker_pool';

// Workers run the compiled script (dist/featurize_worker.js): the test target builds first.
const built = (() => {
  try {
    workerScript();
    return true;
  } catch {
    return false;
  }
})();
const maybe = built ? describe : describe.skip;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-workers-'));
const tsv = path.join(dir, 'syn.tsv');
writeCriteoTsv(tsv, { rows: 3000, seed: 9, cardinalityScale: 0.01 });
const base: DataLoaderOptions = {
  inputPath: tsv,
  batchSize: 512,
  features: {
    featureConfigs: criteoFeatureConfigs({ hashBucketSize: 5000 }),
    fgMode: 'FG_NORMAL',
    labelFields: ['label'],
  },
};

async function collect(o: DataLoaderOptions): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of new DataLoader(o)) out.push(b);
  return out;
}

maybe('worker threads', () => {
  it('give the same batches, in the same order, as featurizing inline', async () => {
    const inline = await collect({ ...base, shuffle: true, seed: 3 });
    const threaded = await collect({ ...base, shuffle: true, seed: 3, numWorkers: 2, prefetch: 3 });
    expect(threaded.length).toBe(inline.length);
    for (let i = 0; i < inline.length; i++) {
      expect(threaded[i].batchSize).toBe(inline[i].batchSize);
      expect(Array.from(threaded[i].sparse.values)).toEqual(Array.from(inline[i].sparse.values));
      expect(Array.from(threaded[i].sparse.offsets)).toEqual(Array.from(inline[i].sparse.offsets));
      expect(Array.from(threaded[i].dense)).toEqual(Array.from(inline[i].dense));
      expect(Array.from(threaded[i].labels.label)).toEqual(Array.from(inline[i].labels.label));
    }
    expect(threaded[0].sparse.bag('C1', 0).length).toBeLessThanOrEqual(1);
  });

  it("hand each row batch's bytes back, and the next row batches are copied into them", async () => {
    const give = jest.spyOn(ByteRecycler.prototype, 'give');
    const take = jest.spyOn(ByteRecycler.prototype, 'take');
    try {
      const inline = await collect(base);
      give.mockClear();
      take.mockClear();
      const threaded = await collect({ ...base, numWorkers: 1, prefetch: 1 });
      const given = new Set(give.mock.calls.map((c) => c[0]));
      expect(given.size).toBeGreaterThan(0);
      const reused = take.mock.results.filter((r) => given.has((r.value as Buffer).buffer as ArrayBuffer));
      expect(reused.length).toBeGreaterThan(0);
      expect(threaded.map((b) => Array.from(b.sparse.values))).toEqual(inline.map((b) => Array.from(b.sparse.values)));
      expect(threaded.map((b) => Array.from(b.dense))).toEqual(inline.map((b) => Array.from(b.dense)));
    } finally {
      give.mockRestore();
      take.mockRestore();
    }
  });

  it('surface a worker error in the main thread with file:line:column, and shut down', async () => {
    const bad = path.join(dir, 'bad.tsv');
    fs.writeFileSync(
      bad,
      `${fs.readFileSync(tsv, 'utf8').replace(/\n1\t/, '\n1\toops\t').split('\n').slice(0, 1500).join('\n')}\n`,
    );
    const lines = fs.readFileSync(bad, 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes('oops')) + 1;
    await expect(collect({ ...base, inputPath: bad, numWorkers: 2 })).rejects.toThrow(
      new RegExp(`bad\\.tsv:${line}:\\d+: expected 40 fields but found 41`),
    );
  });

  // Linux keeps a niceness per thread (/proc/self/task/<tid>/stat, field 19).
  const linux = process.platform === 'linux' && fs.existsSync('/proc/self/task');
  const threadNiceness = (): Map<string, number> => {
    const m = new Map<string, number>();
    for (const tid of fs.readdirSync('/proc/self/task')) {
      try {
        const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        m.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
      } catch {
        // the thread ended meanwhile
      }
    }
    return m;
  };
  (linux ? it : it.skip)('run at the configured niceness (default 19) without lowering the main thread', async () => {
    const mainBefore = os.getPriority();
    // How many more threads run at `level` while the loader runs than before it (read at the
    // second batch: with results in round-robin order, both workers have made one by then).
    const extraAt = async (o: DataLoaderOptions, level: number): Promise<number> => {
      const count = () => [...threadNiceness().values()].filter((n) => n === level).length;
      const before = count();
      let n = 0;
      let extra = -1;
      for await (const _ of new DataLoader({ ...o, numWorkers: 2 })) {
        if (++n < 2) continue;
        extra = count() - before;
        break;
      }
      return extra;
    };
    expect(await extraAt(base, 19)).toBe(2);
    expect(os.getPriority()).toBe(mainBefore);
    expect(await extraAt({ ...base, workerNiceness: 5 }, 5)).toBe(2);
    expect(await extraAt({ ...base, workerNiceness: 0 }, 19)).toBe(0);
  });

  it('stop at a close message, also right after starting (no terminate() while a worker still loads its modules)', async () => {
    const terminate = jest.spyOn(Worker.prototype, 'terminate');
    try {
      // The first next() starts the workers; close before they can have loaded their modules.
      const early = new DataLoader({ ...base, numWorkers: 2 });
      const first = early[Symbol.asyncIterator]().next();
      await early.close();
      await early.close(); // a second close is a no-op
      await expect(first).rejects.toThrow(/closed/);
      const loader = new DataLoader({ ...base, numWorkers: 2 });
      let n = 0;
      for await (const b of loader) n += b.batchSize;
      expect(n).toBe(3000);
      await loader.close();
      expect(terminate).not.toHaveBeenCalled();
    } finally {
      terminate.mockRestore();
    }
  });

  it('stop cleanly when the consumer breaks early', async () => {
    const loader = new DataLoader({ ...base, numWorkers: 2, numEpochs: 5 });
    let n = 0;
    for await (const b of loader) {
      n += b.batchSize;
      if (n >= 1024) break;
    }
    expect(n).toBe(1024);
    await loader.close();
  });
});
