/**
 * Source locations of closures, from the snapshot's `locations` section (0-based line/column per
 * closure) and the script name reached through closure → shared → script. Lines are reported
 * 1-based, as editors and stack traces show them.
 */
import type { HeapGraph } from './graph.js';

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export class Locations {
  private readonly g: HeapGraph;
  private readonly scripts = new Map<number, string>();

  constructor(g: HeapGraph) {
    this.g = g;
  }

  /** the location V8 recorded for node v (a closure), or null */
  of(v: number): SourceLocation | null {
    const loc = this.g.raw.locations;
    let lo = 0;
    let hi = loc.length / 4 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const o = loc[mid * 4]!;
      if (o < v) lo = mid + 1;
      else if (o > v) hi = mid - 1;
      else {
        const scriptId = loc[mid * 4 + 1]!;
        const file = this.scriptName(v, scriptId);
        if (!file) return null;
        return { file, line: loc[mid * 4 + 2]! + 1, column: loc[mid * 4 + 3]! + 1 };
      }
    }
    return null;
  }

  private scriptName(closure: number, scriptId: number): string {
    const cached = this.scripts.get(scriptId);
    if (cached !== undefined) return cached;
    const g = this.g;
    const shared = g.child(closure, 'shared');
    let script = -1;
    if (shared >= 0) {
      script = g.child(shared, 'script_or_debug_info');
      if (script < 0) script = g.child(shared, 'script');
      // Some V8 versions put a DebugInfo in between.
      if (script >= 0 && g.name(script).startsWith('system /')) {
        const s2 = g.child(script, 'script');
        if (s2 >= 0) script = s2;
      }
    }
    let name = script >= 0 ? g.name(script) : '';
    if (name.startsWith('system /')) name = '';
    if (name.startsWith('file://')) {
      try {
        name = decodeURIComponent(name.slice('file://'.length));
      } catch {
        name = name.slice('file://'.length);
      }
    }
    if (name) this.scripts.set(scriptId, name);
    return name;
  }

  /**
   * The function a suspended generator or async function runs (V8's JSGeneratorObject and
   * JSAsyncFunctionObject, `Generator` in a snapshot, hold it by an internal `function` edge): a
   * promise parked on `await` keeps one of these alive, and it is named by that function. -1 when
   * v is not one.
   */
  generatorFunction(v: number): number {
    const g = this.g;
    if (g.type(v) !== g.t.object) return -1;
    const fn = g.child(v, 'function', g.t.eInternal);
    return fn >= 0 && g.type(fn) === g.t.closure && g.child(v, 'parameters_and_registers') >= 0 ? fn : -1;
  }

  /** Where a program object comes from: its own location (closures), the function a suspended
   * generator or async function runs, else the first closure among its properties with a location
   * in user code, else its constructor's. */
  describe(v: number): SourceLocation | null {
    const g = this.g;
    if (g.type(v) === g.t.closure) return this.of(v);
    const gen = this.generatorFunction(v);
    if (gen >= 0) {
      const l = this.of(gen);
      if (l && isUserFile(l.file)) return l;
    }
    const fe = g.raw.firstEdge;
    for (let e = fe[v]!; e < fe[v + 1]!; e++) {
      const ty = g.raw.edgeType[e];
      if (ty !== g.t.eProperty && ty !== g.t.eContext) continue;
      const w = g.raw.edgeTo[e]!;
      if (g.type(w) !== g.t.closure) continue;
      const l = this.of(w);
      if (l && isUserFile(l.file)) return l;
    }
    return this.constructorOf(v);
  }

  /** where the constructor of object v is defined (a user file only), or null */
  constructorOf(v: number): SourceLocation | null {
    const g = this.g;
    // through the prototype (class instances), else the map's back pointers
    const proto = g.child(v, '__proto__');
    let ctor = proto >= 0 ? g.child(proto, 'constructor', g.t.eProperty) : -1;
    if (ctor < 0) {
      let map = g.child(v, 'map');
      for (let hops = 0; map >= 0 && ctor < 0 && hops < 64; hops++) {
        ctor = g.child(map, 'constructor');
        if (ctor < 0) ctor = g.child(map, 'constructor_or_back_pointer');
        if (ctor >= 0 && g.type(ctor) !== g.t.closure) {
          map = ctor;
          ctor = -1;
          continue;
        }
        if (ctor < 0) map = g.child(map, 'back_pointer');
      }
    }
    if (ctor >= 0 && g.type(ctor) === g.t.closure) {
      const l = this.of(ctor);
      if (l && isUserFile(l.file)) return l;
    }
    return null;
  }
}

/** Node's own modules (`node:…`) are not where a user would look for a leak. */
export function isUserFile(file: string): boolean {
  return !file.startsWith('node:') && !file.startsWith('internal/');
}

export function formatLocation(l: SourceLocation | null): string | null {
  return l ? `${l.file}:${l.line}` : null;
}
