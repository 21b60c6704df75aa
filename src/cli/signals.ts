// SignalWatch: catches the stop signals from the start, so a signal during loading still cleans up.

export class SignalWatch {
  private received: NodeJS.Signals | undefined;
  private readonly waiting = new Set<(signal: NodeJS.Signals) => void>();
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly handler = (signal: NodeJS.Signals): void => {
    this.received ??= signal;
    for (const resolve of this.waiting) resolve(signal);
    this.waiting.clear();
  };

  constructor(private readonly signals: readonly NodeJS.Signals[]) {
    for (const s of signals) process.on(s, this.handler);
  }

  /** The first signal received, waiting for one if none came yet. */
  next(): Promise<NodeJS.Signals> {
    if (this.received) return Promise.resolve(this.received);
    // Nothing else may keep the event loop alive while only a signal is awaited.
    this.keepAlive ??= setInterval(() => undefined, 1 << 30);
    return new Promise((resolve) => this.waiting.add(resolve));
  }

  /** Removes the handlers: the signals get their default effect (end the process) again. */
  stop(): void {
    for (const s of this.signals) process.removeListener(s, this.handler);
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    this.waiting.clear();
  }
}
