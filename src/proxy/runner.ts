import type { Scheduler, EventHandle } from '../sim/scheduler.js';
import type { Seconds } from '../types.js';

export interface RunnerConfig {
  /** --iptables-min-sync-period / --ipvs-min-sync-period [1 s]; 0 disables rate limiting. */
  minSyncPeriod: Seconds;
  /** --iptables-sync-period / --ipvs-sync-period [30 s]: a sync runs at least this often. */
  syncPeriod: Seconds;
  /** Runs allowed back to back before the rate limit applies (kube-proxy: 2). */
  burst: number;
}

/**
 * kube-proxy's BoundedFrequencyRunner in virtual time: runs are serialized (a request during a run waits for it
 * to end), requests coalesce (many requests, one run), a token bucket of `burst` tokens refilled at one per
 * minSyncPeriod limits the rate, and a run happens at least every syncPeriod. `fn` does the work and returns
 * how long it takes (modelled seconds); the runner is busy for that long.
 */
export class SyncRunner {
  private tokens: number;
  private lastRefill: Seconds;
  private busyUntil: Seconds = 0;
  private requested = false;
  private timer: EventHandle | null = null;
  private periodic: EventHandle | null = null;
  private running = false;
  runs = 0;

  constructor(
    private readonly sched: Scheduler,
    readonly cfg: RunnerConfig,
    private readonly fn: () => Seconds,
  ) {
    this.tokens = cfg.burst;
    this.lastRefill = sched.now;
  }

  /** Starts the runner: the first run happens at once (kube-proxy syncs on start). */
  start(): void {
    this.request();
  }

  stop(): void {
    if (this.timer) this.sched.cancel(this.timer);
    if (this.periodic) this.sched.cancel(this.periodic);
    this.timer = this.periodic = null;
  }

  /** Asks for a run (kube-proxy's Run()): non-blocking, coalesced. */
  request(): void {
    this.requested = true;
    this.schedule();
  }

  private refill(now: Seconds): void {
    if (this.cfg.minSyncPeriod <= 0) {
      this.tokens = this.cfg.burst;
      return;
    }
    const gained = (now - this.lastRefill) / this.cfg.minSyncPeriod;
    this.tokens = Math.min(this.cfg.burst, this.tokens + gained);
    this.lastRefill = now;
  }

  /** Earliest time a requested run may start. */
  private nextStart(now: Seconds): Seconds {
    this.refill(now);
    let t = Math.max(now, this.busyUntil);
    if (this.cfg.minSyncPeriod > 0 && this.tokens < 1) {
      t = Math.max(t, now + (1 - this.tokens) * this.cfg.minSyncPeriod);
    }
    return t;
  }

  private schedule(): void {
    if (!this.requested || this.running) return;
    const now = this.sched.now;
    const at = this.nextStart(now);
    if (this.timer !== null) {
      if (this.timer.time <= at) return;
      this.sched.cancel(this.timer);
    }
    this.timer = this.sched.at(at, () => this.tryRun(), 'sync-runner');
  }

  private tryRun(): void {
    this.timer = null;
    const now = this.sched.now;
    this.refill(now);
    if (now < this.busyUntil || (this.cfg.minSyncPeriod > 0 && this.tokens < 1 - 1e-9)) {
      this.schedule();
      return;
    }
    this.tokens = Math.max(0, this.tokens - 1);
    this.requested = false;
    this.running = true;
    const duration = this.fn();
    this.running = false;
    this.runs++;
    this.busyUntil = now + duration;
    // the periodic sync: at least one run per syncPeriod after this one
    if (this.periodic) this.sched.cancel(this.periodic);
    this.periodic = this.sched.at(this.busyUntil + this.cfg.syncPeriod, () => this.request(), 'sync-period');
    if (this.requested) this.schedule();
  }

  /** True while a run is in progress (its modelled duration has not passed). */
  busy(now: Seconds): boolean {
    return now < this.busyUntil;
  }
}
