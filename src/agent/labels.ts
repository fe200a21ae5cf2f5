/**
 * `leakscope/labels`: a service says which route (trace, tenant…) the work it starts belongs to,
 * in the spirit of Go's `pprof.Do`. The agent's creation-stack window (`async?stacks=1&seconds=N`)
 * records, for each async resource created during the window, the labels current where it was
 * created, and serves them as string labels on the profile's samples.
 *
 * Labels live in one `AsyncLocalStorage` shared through a global symbol (two copies of the package
 * in one process share it too). It is entered only while a window is recording: outside one,
 * `withLabels` calls `fn` directly, so a service that labels every request pays a counter check per
 * request and nothing else (on Node 20 and 22 an entered AsyncLocalStorage keeps a promise hook on
 * for every promise). The price: work started before the window
 * began carries no labels. The storage is disabled again when the window ends.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Label key → value. Keys and values are strings, as pprof's string labels are. */
export type Labels = Readonly<Record<string, string>>;

/** At most this many keys in one label set; further keys are dropped. */
export const MAX_LABEL_KEYS = 16;
/** Keys and values are cut to this many characters. */
export const MAX_LABEL_LENGTH = 200;

interface LabelState {
  readonly als: AsyncLocalStorage<Labels>;
  /** windows recording now (the agent runs one at a time) */
  recording: number;
}

const STATE_KEY = Symbol.for('leakscope.labels.v1');

/** The process-wide label state (one per isolate). @internal used by the agent's window. */
export function labelState(): LabelState {
  const g = globalThis as Record<symbol, LabelState | undefined>;
  let s = g[STATE_KEY];
  if (!s) {
    s = { als: new AsyncLocalStorage<Labels>(), recording: 0 };
    Object.defineProperty(g, STATE_KEY, { value: s, enumerable: false, configurable: true });
  }
  return s;
}

/** @internal The agent starts recording labels when a window opens… */
export function startRecordingLabels(): void {
  labelState().recording++;
}

/** @internal …and stops when it closes; the storage's hook (Node 20/22) goes off with the last. */
export function stopRecordingLabels(): void {
  const s = labelState();
  if (s.recording > 0) s.recording--;
  if (s.recording === 0) s.als.disable();
}

function cut(s: string): string {
  return s.length > MAX_LABEL_LENGTH ? s.slice(0, MAX_LABEL_LENGTH) : s;
}

/**
 * `inner` over `outer`: keys of `inner` replace those of `outer`; a key whose value is
 * `undefined` or `null` in `inner` removes it. Values become strings; keys and values are cut to
 * MAX_LABEL_LENGTH characters, empty keys are dropped, and at most MAX_LABEL_KEYS keys are kept
 * (those of `outer` first). The result is frozen.
 */
export function mergeLabels(outer: Labels | undefined, inner: Record<string, unknown>): Labels {
  const out: Record<string, string> = {};
  let n = 0;
  if (outer) {
    for (const k of Object.keys(outer)) {
      if (n >= MAX_LABEL_KEYS) break;
      out[k] = outer[k]!;
      n++;
    }
  }
  for (const k0 of Object.keys(inner)) {
    const k = cut(k0);
    if (k === '') continue;
    const v = inner[k0];
    if (v === undefined || v === null) {
      if (Object.prototype.hasOwnProperty.call(out, k)) {
        delete out[k];
        n--;
      }
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(out, k)) {
      if (n >= MAX_LABEL_KEYS) continue;
      n++;
    }
    out[k] = cut(String(v));
  }
  return Object.freeze(out);
}

/**
 * Runs `fn(...args)` with `labels` merged over the labels already current (nesting merges; an inner
 * value replaces an outer one, `undefined` removes a key). Returns what `fn` returns. Async work
 * that `fn` starts (timers, sockets, promises, callbacks) carries the labels with it. Outside a
 * creation-stack window this is a plain call of `fn`.
 */
export function withLabels<R, A extends unknown[]>(labels: Record<string, unknown>, fn: (...args: A) => R, ...args: A): R {
  if (typeof fn !== 'function') throw new TypeError('withLabels(labels, fn): fn must be a function');
  if (labels === null || typeof labels !== 'object') throw new TypeError('withLabels(labels, fn): labels must be an object of strings');
  const s = labelState();
  if (s.recording === 0) return fn(...args);
  return s.als.run(mergeLabels(s.als.getStore(), labels), fn, ...args);
}

/**
 * The labels current here, while a window is recording; `undefined` otherwise (no window, or no
 * labels set on this path).
 */
export function currentLabels(): Labels | undefined {
  const s = labelState();
  return s.recording === 0 ? undefined : s.als.getStore();
}

/** The parts of a Node/express/connect request the middleware reads. */
export interface LabelledRequest {
  method?: string;
  url?: string;
  originalUrl?: string;
  baseUrl?: string;
  headers?: Record<string, string | string[] | undefined>;
}

export interface LabelsMiddlewareOptions<Req extends LabelledRequest = LabelledRequest> {
  /**
   * The labels of one request. Default: `route` = the request's path without its query string
   * (express's `originalUrl`), and `trace_id` from a W3C `traceparent` header when there is one.
   * Give your own to keep the number of distinct values small (`/users/123` → `/users/:id`).
   */
  labels?: (req: Req) => Record<string, unknown>;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/;

/** The default labels of a request: its path as `route`, and `trace_id` from `traceparent`. */
export function requestLabels(req: LabelledRequest): Record<string, string> {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  const out: Record<string, string> = { route: q >= 0 ? url.slice(0, q) : url };
  const tp = req.headers?.traceparent;
  const m = typeof tp === 'string' ? TRACEPARENT.exec(tp) : null;
  if (m) out.trace_id = m[1]!;
  return out;
}

/**
 * An express/connect middleware: the rest of the request (later middleware, the handler, the work
 * they start) runs under the request's labels. Mount it first: `app.use(labelsMiddleware())`.
 */
export function labelsMiddleware<Req extends LabelledRequest = LabelledRequest>(
  opts: LabelsMiddlewareOptions<Req> = {},
): (req: Req, res: unknown, next: (err?: unknown) => void) => void {
  const pick = opts.labels ?? requestLabels;
  return (req, _res, next) => {
    if (labelState().recording === 0) return next();
    let labels: Record<string, unknown>;
    try {
      labels = pick(req);
    } catch {
      // a labelling function that throws must not fail the request
      return next();
    }
    withLabels(labels, next);
  };
}
