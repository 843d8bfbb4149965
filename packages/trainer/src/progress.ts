// Training progress on the terminal or in a log.
//
// On a TTY: one line redrawn in place ('\r', the line, ESC[K to clear the rest) at most every
// 100 ms, e.g. (elapsed<ETA at the end; without a total, `step 200` and no bar, percentage or ETA)
//   200/1000 [######------------------] 20%  loss 0.4812  lr 0.001000  12,345 samples/s  0:41<2:44
// fitted to the terminal width (the bar shrinks to 10, then lr, samples/s, the times and the loss
// are dropped in that order). Not a TTY:
// one plain line each time the step passes a multiple of everySteps, e.g.
//   step 200/1000  loss 0.4812  lr 0.001000  12,345 samples/s  elapsed 0:41  eta 2:44
// Rates (samples/s, steps/s for the ETA) are measured over the last `windowSeconds` (default 10)
// against the last update before that window (at first, the construction time); the loss shown
// is the mean of the updates inside the window.

/** What a ProgressReporter writes to: process.stderr or anything with `write` (tests). */
export interface ProgressStream {
  write(s: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** The number of steps of the run, when known (enables the bar, percentage and ETA). */
  total?: number;
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream | ProgressStream;
  /** Without a TTY, print a line each time the step passes a multiple of this. */
  everySteps: number;
  /** Milliseconds of a monotonic clock (default performance.now). */
  now?: () => number;
  /** The span of the rate and loss averages, in seconds (default 10). */
  windowSeconds?: number;
}

/** The values of one optimizer step. */
export interface ProgressValues {
  loss: number;
  lr: number;
  /** Samples in this step. */
  samples: number;
}

interface Point {
  t: number;
  step: number;
  /** Samples up to and including this update. */
  samples: number;
  loss: number;
}

const REDRAW_MS = 100;
const CLEAR = '\x1b[K';
const MAX_POINTS = 4096;

export class ProgressReporter {
  private readonly total: number | undefined;
  private readonly stream: ProgressStream;
  private readonly everySteps: number;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly start: number;
  private readonly tty: boolean;
  /** points[base] is the last update at or before the window's start (at first, the start); later ones are in the window. */
  private points: Point[];
  private base = 0;
  private totalSamples = 0;
  private last: { step: number; values: ProgressValues } | null = null;
  /** The step of the last plain line; before one, the step before the first update. */
  private logMark: number | null = null;
  private lastDraw = -Infinity;
  private drawn = false;
  private finished = false;

  constructor(o: ProgressOptions) {
    if (!(Number.isInteger(o.everySteps) && o.everySteps >= 1))
      throw new Error(`Expected an integer >= 1 for everySteps of the progress reporter but received ${o.everySteps}`);
    if (o.total !== undefined && !(Number.isInteger(o.total) && o.total >= 0)) {
      throw new Error(`Expected an integer >= 0 for total of the progress reporter but received ${o.total}`);
    }
    const window = o.windowSeconds ?? 10;
    if (!(window > 0)) throw new Error(`Expected windowSeconds > 0 for the progress reporter but received ${window}`);
    this.total = o.total;
    this.stream = o.stream ?? process.stderr;
    this.everySteps = o.everySteps;
    this.now = o.now ?? (() => performance.now());
    this.windowMs = window * 1000;
    this.tty = this.stream.isTTY === true;
    this.start = this.now();
    // The start's step is set by the first update (a resumed run starts at its step).
    this.points = [{ t: this.start, step: NaN, samples: 0, loss: NaN }];
  }

  /** Records the step just completed (`step` = completed steps) and redraws or prints as due. */
  update(step: number, values: ProgressValues): void {
    if (!(Number.isInteger(step) && step >= 0))
      throw new Error(`Expected an integer step >= 0 for the progress reporter but received ${step}`);
    if (!(Number.isFinite(values.samples) && values.samples >= 0)) {
      throw new Error(
        `Expected a sample count >= 0 for step ${step} of the progress reporter but received ${values.samples}`,
      );
    }
    if (this.finished) return;
    const t = this.now();
    if (Number.isNaN(this.points[0].step)) this.points[0].step = step - 1;
    this.totalSamples += values.samples;
    const p = this.points;
    p.push({ t, step, samples: this.totalSamples, loss: values.loss });
    while (this.base + 1 < p.length - 1 && p[this.base + 1].t <= t - this.windowMs) this.base++;
    if (p.length - this.base > MAX_POINTS) this.base = p.length - MAX_POINTS;
    if (this.base > 1024 && this.base * 2 > p.length) {
      this.points = p.slice(this.base);
      this.base = 0;
    }
    this.last = { step, values };
    if (this.tty) {
      if (t - this.lastDraw >= REDRAW_MS || step === this.total) this.draw(t);
    } else {
      // The first update counts from the step before it, so a resumed run also waits for a multiple.
      const prev = this.logMark ?? step - 1;
      if (Math.floor(step / this.everySteps) > Math.floor(prev / this.everySteps)) {
        this.logMark = step;
        this.stream.write(`${this.plainLine(t)}\n`);
      } else this.logMark = prev;
    }
  }

  /** Prints a line above the progress line (which is redrawn after it on a TTY). */
  log(line: string): void {
    if (this.tty && this.drawn) {
      this.stream.write(`\r${CLEAR}${line}\n`);
      this.draw(this.now());
    } else this.stream.write(`${line}\n`);
  }

  /** Ends the progress line (printing the last step when it was not shown) and prints `summary`. */
  finish(summary?: string): void {
    if (this.finished) return;
    this.finished = true;
    const t = this.now();
    if (this.tty) {
      if (this.last) this.draw(t);
      if (this.drawn) this.stream.write('\n');
    } else if (this.last && this.last.step !== this.logMark) {
      this.logMark = this.last.step;
      this.stream.write(`${this.plainLine(t)}\n`);
    }
    if (summary !== undefined) this.stream.write(`${summary}\n`);
  }

  private draw(t: number): void {
    this.lastDraw = t;
    this.drawn = true;
    this.stream.write(`\r${this.ttyLine(t)}${CLEAR}`);
  }

  /** Samples/s and steps/s over the window (null before time has passed). */
  private rates(t: number): { samples: number; steps: number } | null {
    const base = this.points[this.base];
    const head = this.points[this.points.length - 1];
    const dt = (Math.max(t, head.t) - base.t) / 1000;
    if (!(dt > 0) || this.points.length - this.base < 2) return null;
    return { samples: (head.samples - base.samples) / dt, steps: (head.step - base.step) / dt };
  }

  private smoothedLoss(): number {
    let sum = 0;
    for (let i = this.base + 1; i < this.points.length; i++) sum += this.points[i].loss;
    return sum / (this.points.length - this.base - 1);
  }

  private fields(t: number): {
    step: string;
    loss: string;
    lr: string;
    rate: string;
    elapsed: string;
    eta: string | null;
  } {
    const last = this.last;
    const step = last?.step ?? 0;
    const r = this.rates(t);
    let eta: string | null = null;
    if (this.total !== undefined) {
      if (step >= this.total) eta = formatDuration(0);
      else eta = r && r.steps > 0 ? formatDuration((this.total - step) / r.steps) : '?';
    }
    return {
      step: this.total !== undefined ? `${step}/${this.total}` : `${step}`,
      loss: last ? formatLoss(this.smoothedLoss()) : '?',
      lr: last ? formatLr(last.values.lr) : '?',
      rate: r ? groupThousands(Math.round(r.samples)) : '?',
      elapsed: formatDuration((t - this.start) / 1000),
      eta,
    };
  }

  private plainLine(t: number): string {
    const f = this.fields(t);
    return `step ${f.step}  loss ${f.loss}  lr ${f.lr}  ${f.rate} samples/s  elapsed ${f.elapsed}${f.eta !== null ? `  eta ${f.eta}` : ''}`;
  }

  private ttyLine(t: number): string {
    const f = this.fields(t);
    const width = Math.max(10, (this.stream.columns ?? 80) - 1); // the last column would wrap on some terminals
    const fraction =
      this.total === undefined ? null : this.total === 0 ? 1 : Math.min(1, (this.last?.step ?? 0) / this.total);
    const head = fraction === null ? `step ${f.step}` : f.step;
    const percent = fraction === null ? '' : ` ${Math.floor(fraction * 100)}%`;
    const parts: [string, string][] = [
      ['loss', `loss ${f.loss}`],
      ['lr', `lr ${f.lr}`],
      ['rate', `${f.rate} samples/s`],
      ['time', f.eta === null ? f.elapsed : `${f.elapsed}<${f.eta}`],
    ];
    // Narrow terminals lose the bar's length first, then fields in this order.
    const dropOrder = ['lr', 'rate', 'time', 'loss'];
    for (let dropped = 0; dropped <= dropOrder.length; dropped++) {
      const gone = dropOrder.slice(0, dropped);
      const tail = parts
        .filter(([k]) => !gone.includes(k))
        .map(([, text]) => `  ${text}`)
        .join('');
      if (fraction !== null) {
        const room = width - head.length - percent.length - tail.length - 3; // ' [' and ']'
        if (room >= 10) {
          const barWidth = Math.min(30, room);
          const filled = Math.floor(fraction * barWidth);
          return `${head} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${percent}${tail}`;
        }
      } else if (head.length + tail.length <= width) return `${head}${tail}`;
    }
    return `${head}${percent}`.slice(0, width);
  }
}

/** 0:41, 12:03, 1:02:03 (seconds rounded down). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** 12,345 (locale-independent). */
export function groupThousands(n: number): string {
  const neg = n < 0;
  const digits = String(Math.abs(Math.round(n)));
  const groups: string[] = [];
  for (let i = digits.length; i > 0; i -= 3) groups.unshift(digits.slice(Math.max(0, i - 3), i));
  return (neg ? '-' : '') + groups.join(',');
}

/** Four decimals, or four significant digits in exponent form below 0.001 (and for huge values). */
function formatLoss(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : x.toFixed(4);
}

/** Six decimals (0.001000), or three significant digits in exponent form below 0.0001. */
function formatLr(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return x !== 0 && Math.abs(x) < 1e-4 ? x.toExponential(2) : x.toFixed(6);
}
