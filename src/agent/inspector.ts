/**
 * A small promise layer over an inspector Session connected to the main thread: every call has a
 * deadline (an inspector reply that never comes must not hang an HTTP request forever), and
 * exclusive sections serialise users of shared domains (the census and the stack dump both use
 * the Debugger).
 */
import { Session } from 'node:inspector';
import { AgentHttpError } from './errors.js';

export class Inspector {
  readonly session: Session;
  private locks = new Map<string, Promise<void>>();
  private debuggerOn: Promise<unknown> | undefined;

  constructor(session: Session) {
    this.session = session;
  }

  post<T = Record<string, unknown>>(method: string, params: object = {}, timeoutMs = 30_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        reject(new AgentHttpError(503, `the inspector did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      try {
        (this.session.post as (m: string, p: object, cb: (err: Error | null, r?: unknown) => void) => void)(
          method,
          params,
          (err, r) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            if (err) reject(new AgentHttpError(500, `${method}: ${err.message}`));
            else resolve(r as T);
          },
        );
      } catch (e) {
        done = true;
        clearTimeout(timer);
        reject(new AgentHttpError(500, `${method}: ${(e as Error).message}`));
      }
    });
  }

  /**
   * Enables the Debugger once and leaves it on (with no breakpoint it costs the host nothing
   * measurable). Disabling it again is what costs: after Debugger.disable, V8's CPU profiler
   * charged a hot interpreted function's samples to its caller until the next full GC.
   */
  enableDebugger(): Promise<unknown> {
    this.debuggerOn ??= this.post('Debugger.enable').catch((e: unknown) => {
      this.debuggerOn = undefined;
      throw e;
    });
    return this.debuggerOn;
  }

  /** Turns the Debugger off (drops a pause request still pending). */
  async disableDebugger(): Promise<void> {
    this.debuggerOn = undefined;
    await this.post('Debugger.disable').catch(() => {});
  }

  /** Runs `fn` after every earlier holder of `name` finished. */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = prev.then(() => mine);
    this.locks.set(name, chained);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(name) === chained) this.locks.delete(name);
    }
  }
}
