import { formatDuration, groupThousands, ProgressReporter } from './progress';

class FakeStream {
  out = '';
  writes = 0;
  constructor(
    readonly isTTY: boolean,
    public columns?: number,
  ) {}
  write(s: string): boolean {
    this.out += s;
    this.writes++;
    return true;
  }
  /** What a terminal shows: each '\r' returns to the line start, ESC[K clears the rest. */
  screen(): string[] {
    const lines: string[] = [];
    let cur = '';
    const text = this.out;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '\r') cur = '';
      else if (c === '\n') {
        lines.push(cur);
        cur = '';
      } else if (text.startsWith('\x1b[K', i)) i += 2;
      else cur += c;
    }
    if (cur) lines.push(cur);
    return lines;
  }
  /** Every line as drawn (between '\r'/'\n' boundaries), without escape codes. */
  drawn(): string[] {
    return this.out
      .split(/[\r\n]/)
      .map((l) => l.replaceAll('\x1b[K', ''))
      .filter((l) => l.length > 0);
  }
}

describe('plain output (not a TTY)', () => {
  it('prints one grep-able line every everySteps steps, then the summary', () => {
    const s = new FakeStream(false);
    let t = 0;
    const p = new ProgressReporter({ total: 1000, stream: s, everySteps: 200, now: () => t });
    for (let step = 1; step <= 1000; step++) {
      t = step * 10; // 100 steps/s, 128 samples a step
      p.update(step, { loss: 0.5, lr: 0.001, samples: 128 });
    }
    p.log('eval: auc 0.75');
    p.finish('done in 0:10');
    expect(s.out.split('\n')).toEqual([
      'step 200/1000  loss 0.5000  lr 0.001000  12,800 samples/s  elapsed 0:02  eta 0:08',
      'step 400/1000  loss 0.5000  lr 0.001000  12,800 samples/s  elapsed 0:04  eta 0:06',
      'step 600/1000  loss 0.5000  lr 0.001000  12,800 samples/s  elapsed 0:06  eta 0:04',
      'step 800/1000  loss 0.5000  lr 0.001000  12,800 samples/s  elapsed 0:08  eta 0:02',
      'step 1000/1000  loss 0.5000  lr 0.001000  12,800 samples/s  elapsed 0:10  eta 0:00',
      'eval: auc 0.75',
      'done in 0:10',
      '',
    ]);
    expect(s.out).not.toContain('\r');
    expect(s.out).not.toContain('\x1b');
  });

  it('measures rate and loss over the recent window only, prints the last step on finish and has no eta without a total', () => {
    const s = new FakeStream(false);
    let t = 0;
    const p = new ProgressReporter({ stream: s, everySteps: 100, now: () => t, windowSeconds: 10 });
    // 500 fast steps (10 ms), then slow ones (100 ms), 100 samples each; loss = step / 1000
    for (let step = 1; step <= 750; step++) {
      t = step <= 500 ? step * 10 : 5000 + (step - 500) * 100;
      p.update(step, { loss: step / 1000, lr: 1e-5, samples: 100 });
    }
    p.finish();
    const lines = s.out.trimEnd().split('\n');
    expect(lines).toHaveLength(8);
    // step 500 at 5 s: the window still reaches the start: 50,000 samples / 5 s
    expect(lines[4]).toBe('step 500  loss 0.2505  lr 1.00e-5  10,000 samples/s  elapsed 0:05');
    // step 700 at 25 s: the window [15 s, 25 s] starts at step 600: 100 steps × 100 samples / 10 s;
    // the loss is the mean over steps 601..700
    expect(lines[6]).toBe('step 700  loss 0.6505  lr 1.00e-5  1,000 samples/s  elapsed 0:25');
    // step 750 (finish) at 30 s: the window starts at step 650 (t = 20 s): mean loss over 651..750
    expect(lines[7]).toBe('step 750  loss 0.7005  lr 1.00e-5  1,000 samples/s  elapsed 0:30');
  });

  it('waits for the next multiple of everySteps when resumed mid-way', () => {
    const s = new FakeStream(false);
    let t = 0;
    const p = new ProgressReporter({ total: 6000, stream: s, everySteps: 100, now: () => t });
    for (let step = 5001; step <= 5100; step++) {
      t += 50; // 20 steps/s
      p.update(step, { loss: 1, lr: 0.1, samples: 1 });
    }
    expect(s.out).toBe('step 5100/6000  loss 1.0000  lr 0.100000  20 samples/s  elapsed 0:05  eta 0:45\n');
  });

  it('rejects bad options and steps', () => {
    expect(() => new ProgressReporter({ everySteps: 0 })).toThrow(
      new Error('Expected an integer >= 1 for everySteps of the progress reporter but received 0'),
    );
    expect(() => new ProgressReporter({ everySteps: 1, total: -1 })).toThrow(
      new Error('Expected an integer >= 0 for total of the progress reporter but received -1'),
    );
    const p = new ProgressReporter({ everySteps: 1, stream: new FakeStream(false) });
    expect(() => p.update(1.5, { loss: 0, lr: 0, samples: 1 })).toThrow(
      new Error('Expected an integer step >= 0 for the progress reporter but received 1.5'),
    );
    expect(() => p.update(1, { loss: 0, lr: 0, samples: -1 })).toThrow(
      new Error('Expected a sample count >= 0 for step 1 of the progress reporter but received -1'),
    );
  });
});

describe('TTY output', () => {
  it('redraws one line at most every 100 ms, with bar, percentage, rate, loss, lr, elapsed and eta', () => {
    const s = new FakeStream(true, 120);
    let t = 0;
    const p = new ProgressReporter({ total: 100, stream: s, everySteps: 10, now: () => t });
    for (let step = 1; step <= 100; step++) {
      t = step * 10;
      p.update(step, { loss: 0.25, lr: 0.001, samples: 10 });
    }
    // draws at steps 1, 11, ..., 91 (100 ms apart) and at the last step
    expect(s.writes).toBe(11);
    const drawn = s.drawn();
    expect(drawn[5]).toBe(
      '51/100 [###############---------------] 51%  loss 0.2500  lr 0.001000  1,000 samples/s  0:00<0:00',
    );
    expect(drawn[10]).toBe(
      '100/100 [##############################] 100%  loss 0.2500  lr 0.001000  1,000 samples/s  0:01<0:00',
    );
    expect(s.out.startsWith('\r')).toBe(true);
    expect(s.out.endsWith('\x1b[K')).toBe(true);
    p.finish('trained 100 steps');
    expect(s.screen()).toEqual([drawn[10], 'trained 100 steps']);
  });

  it('prints log lines above the progress line and redraws it', () => {
    const s = new FakeStream(true, 100);
    let t = 0;
    const p = new ProgressReporter({ total: 1000, stream: s, everySteps: 10, now: () => t });
    p.log('before any step');
    t = 1000;
    p.update(10, { loss: 1, lr: 0.01, samples: 50 });
    t = 1050;
    p.log('checkpoint saved');
    t = 2000;
    p.update(20, { loss: 3, lr: 0.01, samples: 50 });
    const screen = s.screen();
    expect(screen.slice(0, 2)).toEqual(['before any step', 'checkpoint saved']);
    // The start counts as step 9 (the step before the first update): 11 steps and 100 samples in
    // 2 s: 50 samples/s, eta (1000 - 20) / 5.5 s = 2:58; the loss is the mean of 1 and 3.
    expect(screen[2]).toBe(
      '20/1000 [------------------------------] 2%  loss 2.0000  lr 0.010000  50 samples/s  0:02<2:58',
    );
    expect(screen).toHaveLength(3);
  });

  it('never draws a line longer than the terminal width (minus one column)', () => {
    for (const columns of [200, 100, 80, 60, 40, 30, 20, 12, 5]) {
      for (const total of [undefined, 1000000]) {
        const s = new FakeStream(true, columns);
        let t = 0;
        const p = new ProgressReporter({ total, stream: s, everySteps: 1, now: () => t });
        for (let step = 1; step <= 30; step++) {
          t += 1000;
          p.update(step * 9999, { loss: 123456.789, lr: 0.0123, samples: 98765432 });
        }
        p.log('x');
        p.finish();
        for (const line of s.drawn().filter((l) => l !== 'x'))
          expect([columns, total, line, line.length <= Math.max(10, columns - 1)]).toEqual([
            columns,
            total,
            line,
            true,
          ]);
      }
    }
    // At 80 columns the bar shrinks to 10 to keep every field; with a longer lr (10.500000) lr
    // goes and the bar takes the room (23 of 30).
    // Steps every 205 ms: at step 200 (41 s) the window starts at step 151 (30.955 s): 49 steps
    // in 10.045 s, eta 800 / 4.878 = 164 s = 2:44, 49 × 308 samples / 10.045 s = 1,502/s.
    const run = (columns: number, lr: number) => {
      const s = new FakeStream(true, columns);
      let t = 0;
      const p = new ProgressReporter({ total: 1000, stream: s, everySteps: 1, now: () => t });
      for (let step = 1; step <= 200; step++) {
        t = step * 205;
        p.update(step, { loss: 0.4812, lr, samples: 308 });
      }
      return s.drawn().pop();
    };
    expect(run(80, 0.001)).toBe('200/1000 [##--------] 20%  loss 0.4812  lr 0.001000  1,502 samples/s  0:41<2:44');
    expect(run(80, 0.001)).toHaveLength(79);
    expect(run(80, 10.5)).toBe('200/1000 [####-------------------] 20%  loss 0.4812  1,502 samples/s  0:41<2:44');
  });

  it('shows the step without a bar when the total is unknown', () => {
    const s = new FakeStream(true, 100);
    let t = 0;
    const p = new ProgressReporter({ stream: s, everySteps: 1, now: () => t });
    t = 2000;
    p.update(1, { loss: 0.5, lr: 0.002, samples: 4096 });
    expect(s.drawn()).toEqual(['step 1  loss 0.5000  lr 0.002000  2,048 samples/s  0:02']);
  });
});

describe('formatting', () => {
  it('formats durations and thousands', () => {
    expect([0, 41, 61, 3599, 3600, 3723, 360000].map(formatDuration)).toEqual([
      '0:00',
      '0:41',
      '1:01',
      '59:59',
      '1:00:00',
      '1:02:03',
      '100:00:00',
    ]);
    expect(formatDuration(Infinity)).toBe('?');
    expect([0, 999, 1000, 12345, 1234567, -1234].map(groupThousands)).toEqual([
      '0',
      '999',
      '1,000',
      '12,345',
      '1,234,567',
      '-1,234',
    ]);
  });
});
