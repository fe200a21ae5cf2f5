/**
 * A streaming V8 `.heapsnapshot` parser. Push byte (or string) chunks in any sizes; `finish()`
 * returns the snapshot as flat typed arrays. Pure: no I/O, no clock.
 *
 * Why hand-written: a snapshot of a big heap is several GB of JSON. V8 strings stop near 512 MB
 * and JSON.parse of a 500 MB file needs many times its size in memory. Here the header (`snapshot`
 * with `meta`) is the only part handed to JSON.parse; `nodes`, `edges` and `locations` go through a
 * decimal scanner straight into typed arrays pre-sized from `node_count` / `edge_count`, and the
 * `strings` section is tokenized string by string. Sections we do not use (`trace_tree`, `samples`,
 * …) are skipped with a bracket-depth scanner.
 *
 * Every field and type is resolved by name from `snapshot.meta`: Node 24 dropped `trace_node_id`,
 * Node 18 has no `object shape`, and `node_types.length` need not equal `node_fields.length`.
 *
 * Invariants of the result:
 * - node data is columnar, indexed by node ordinal (0 = the root);
 * - `firstEdge` has nodeCount + 1 entries; node i's edges are firstEdge[i] .. firstEdge[i+1]-1;
 * - `edgeTo` holds node ordinals (the file's `to_node` divided by the node field count);
 * - `edgeNameOrIndex` is a string index for named edge types and an element index otherwise;
 * - `locations` holds (node ordinal, script id, line, column) quadruples sorted by ordinal, with
 *   the 0-based line and column as V8 writes them.
 */
import { LeakscopeError } from '../core/errors.js';

export interface HeapSnapshotMeta {
  nodeFields: string[];
  nodeTypes: string[];
  edgeFields: string[];
  edgeTypes: string[];
  locationFields: string[];
}

export interface RawHeapSnapshot {
  meta: HeapSnapshotMeta;
  nodeCount: number;
  edgeCount: number;
  /** index into meta.nodeTypes */
  nodeType: Uint8Array;
  /** index into strings */
  nodeName: Uint32Array;
  /** stable object id; a Float64Array only when some id exceeds 2^32 - 1 */
  nodeId: Uint32Array | Float64Array;
  nodeSelfSize: Float64Array;
  firstEdge: Uint32Array;
  /** index into meta.edgeTypes */
  edgeType: Uint8Array;
  edgeNameOrIndex: Uint32Array;
  edgeTo: Uint32Array;
  /** (ordinal, scriptId, line, column) quadruples, sorted by ordinal */
  locations: Uint32Array;
  strings: string[];
}

/** The parsed header object (`{"snapshot": {"meta": …, "node_count": …, "edge_count": …}}`). */
type SnapshotHeader = { snapshot?: { meta?: Record<string, unknown>; node_count?: unknown; edge_count?: unknown } };

/** The `edges` section as columns, parsed apart from the rest (see `edgesApart` / `edgesOnly`). */
export interface EdgeColumns {
  edgeType: Uint8Array;
  edgeNameOrIndex: Uint32Array;
  edgeTo: Uint32Array;
  /** the largest string index an edge of a named type holds (checked against the strings) */
  maxName: number;
}

export interface HeapSnapshotParserOptions {
  /** read only the `nodes` section and stop; `finish()` returns nodes, no edges, no strings */
  idsOnly?: boolean;
  /** read only what an id horizon needs (see `horizon()`) */
  horizonOnly?: boolean;
  /** pass over the `edges` section (class counts and diffs need no edges) */
  skipEdges?: boolean;
  /**
   * the `edges` section is parsed elsewhere (by an `edgesOnly` parser of the same bytes, e.g. on
   * another thread): pass over it, and take its columns through `attachEdges()` before `finish()`
   */
  edgesApart?: boolean;
  /**
   * read the header, pass over `nodes` (one memchr for its closing bracket), parse `edges` and
   * stop; `edges()` gives the result (the other half of `edgesApart`)
   */
  edgesOnly?: boolean;
  /** the size of the whole input, when known: a header announcing more is refused early */
  inputBytes?: number;
  /**
   * when `inputBytes` is a bound rather than the input's size (gzip'd or streamed input): what
   * the bound is, for the message (E_TOO_LARGE) that refuses a header announcing more
   */
  inputBound?: string;
  /** called as each section's value starts */
  onSection?: (name: string) => void;
  /**
   * the index of `byte` in buf from `from` on, or -1: used to pass over skipped sections. The
   * default is `Uint8Array.prototype.indexOf` (≈ 0.7 ns a byte); a host can give a memchr.
   */
  indexOfByte?: (buf: Uint8Array, byte: number, from: number) => number;
}

const enum Phase {
  Header,
  Key,
  Colon,
  Value,
  Numbers,
  Strings,
  Skip,
  Done,
}

const enum Target {
  Nodes,
  Edges,
  Locations,
}

/** The first call of a number section's scanner gets at most this many bytes (see push). */
const FIRST_PIECE = 16381;

/** The largest header we accept before deciding the input is not a heap snapshot. */
const MAX_HEADER_BYTES = 1 << 20;

const ascii = new TextDecoder('latin1');

function bad(msg: string): LeakscopeError {
  return new LeakscopeError('E_SNAPSHOT', msg);
}

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * Reads `k` comma/newline separated decimal numbers starting at buf[i] into out. Returns the index
 * just after the last digit, or -1 (nothing consumed) if the row is not plain numbers within
 * buf[i .. limit-1] — the caller then takes its byte-by-byte path.
 */
function readRow(buf: Uint8Array, i: number, k: number, out: Float64Array, limit: number): number {
  let j = i;
  for (let f = 0; f < k; f++) {
    let c = buf[j]!;
    while (c === 44 || c === 10 || c === 32 || c === 13 || c === 9) {
      if (++j >= limit) return -1;
      c = buf[j]!;
    }
    if (c < 48 || c > 57) return -1;
    let v = 0;
    do {
      v = v * 10 + (c - 48);
      if (++j >= limit) return -1;
      c = buf[j]!;
    } while (c >= 48 && c <= 57);
    out[f] = v;
  }
  return j;
}

/** where the number rowStart or commaNumber read ends */
let fieldEnd = 0;

/**
 * A row's first number, after whatever separators come before it (its end in `fieldEnd`), or -1
 * when the next thing is not a number.
 */
function rowStart(buf: Uint8Array, j: number): number {
  let c = buf[j]!;
  while (c === 44 || c === 10 || c === 32 || c === 13 || c === 9) c = buf[++j]!;
  if (c < 48 || c > 57) return -1;
  let v = c - 48;
  while ((c = buf[++j]!) >= 48 && c <= 57) v = v * 10 + (c - 48);
  fieldEnd = j;
  return v;
}

/**
 * Inside a row of V8's shape: the comma at j and the number after it (its end in `fieldEnd`), or
 * -1 when the bytes are anything else (the careful path takes the row).
 */
function commaNumber(buf: Uint8Array, j: number): number {
  if (buf[j] !== 44) return -1;
  let c = buf[++j]!;
  if (c < 48 || c > 57) return -1;
  let v = c - 48;
  while ((c = buf[++j]!) >= 48 && c <= 57) v = v * 10 + (c - 48);
  fieldEnd = j;
  return v;
}

/**
 * Where scanNodeRows and scanEdgeRows start and leave off: the next row (node or edge ordinal)
 * and the largest string index a row names so far.
 */
interface RowRun {
  row: number;
  maxName: number;
}
const rowRun: RowRun = { row: 0, maxName: 0 };

/**
 * The nodes' fast path for V8's layout (type, name, id, self_size, edge_count first; whatever
 * follows — trace_node_id, detachedness — stepped over), as scanEdgeRows for edges: whole rows
 * from a row boundary until `safeEnd`, an id past 32 bits or anything unusual, which the careful
 * path in scanNodes takes.
 */
function scanNodeRows(
  buf: Uint8Array,
  i: number,
  safeEnd: number,
  n: number,
  st: RowRun,
  nodeCount: number,
  edgeCount: number,
  nf: number,
  typeLimit: number,
  types: Uint8Array,
  names: Uint32Array,
  ids: Uint32Array,
  self: Float64Array,
  first: Uint32Array,
): number {
  let ord = st.row;
  let maxName = st.maxName;
  let j = i;
  rows: while (j < safeEnd && ord < nodeCount) {
    // between rows: any separators; inside a row: exactly one comma (V8's output; anything else
    // goes to the careful path)
    const ty = rowStart(buf, j);
    if (ty < 0) break;
    const nm = commaNumber(buf, fieldEnd);
    if (nm < 0) break;
    const id = commaNumber(buf, fieldEnd);
    if (id < 0) break;
    const sz = commaNumber(buf, fieldEnd);
    if (sz < 0) break;
    const ec = commaNumber(buf, fieldEnd);
    if (ec < 0) break;
    for (let q = 5; q < nf; q++) if (commaNumber(buf, fieldEnd) < 0) break rows;
    j = fieldEnd;
    if (j >= n || id > 0xffffffff) break;
    if (ty >= typeLimit) throw bad(`malformed heap snapshot: node type ${ty} out of range`);
    const next = first[ord]! + ec;
    if (next > edgeCount) throw bad('malformed heap snapshot: node edge counts exceed edge_count');
    first[ord + 1] = next;
    types[ord] = ty;
    names[ord] = nm > 0xffffffff ? 0xffffffff : nm;
    if (nm > maxName) maxName = nm;
    ids[ord] = id;
    self[ord] = sz;
    ord++;
    i = j;
  }
  st.row = ord;
  st.maxName = maxName;
  return i;
}

/**
 * The edges' fast path, for V8's layout (type, name_or_index, to_node: every version so far;
 * other layouts take scanEdges' careful path): whole rows in a run from a row boundary, until
 * `safeEnd` or anything unusual. A row is committed only once all its fields have parsed and
 * ended inside the chunk; returns where the last committed row ends (the careful path goes on
 * from there). A small function of its own for a fixed layout: V8 compiles it in a fraction of
 * the time the whole scanner took, so a cold run leaves the interpreter sooner (the 20 MB bench
 * snapshot's edges: 120 → 90 ms cold, 51 → 47 ms warm).
 */
function scanEdgeRows(
  buf: Uint8Array,
  i: number,
  safeEnd: number,
  n: number,
  st: RowRun,
  edgeCount: number,
  nf: number,
  nodeCount: number,
  typeLimit: number,
  to: Uint32Array,
  names: Uint32Array,
  types: Uint8Array,
  namedType: Uint8Array,
): number {
  let e = st.row;
  let maxName = st.maxName;
  let j = i;
  while (j < safeEnd && e < edgeCount) {
    // type; name or index, to_node (inside a row: exactly one comma, as V8 writes)
    const ty = rowStart(buf, j);
    if (ty < 0) break;
    const nm = commaNumber(buf, fieldEnd);
    if (nm < 0) break;
    const tv = commaNumber(buf, fieldEnd);
    if (tv < 0) break;
    j = fieldEnd;
    if (j >= n) break;
    const o = tv < 2147483648 ? (tv / nf) | 0 : Math.floor(tv / nf);
    if (o * nf !== tv || o >= nodeCount) throw bad(`malformed heap snapshot: edge ${e} points to ${tv}, not a node`);
    if (ty >= typeLimit) throw bad(`malformed heap snapshot: edge type ${ty} out of range`);
    to[e] = o;
    names[e] = nm > 0xffffffff ? 0xffffffff : nm;
    types[e] = ty;
    if (nm > maxName && namedType[ty] === 1) maxName = nm;
    e++;
    i = j;
  }
  st.row = e;
  st.maxName = maxName;
  return i;
}

const NODES_KEY = [34, 110, 111, 100, 101, 115, 34]; // "nodes"

/** Where findNodesKey resumes: the header arrives in chunks, and is searched once, not per chunk. */
interface KeySearch {
  /** the first byte not yet ruled out as the start of `"nodes"` */
  from: number;
  /** when `"nodes"` matched at `from` and only whitespace followed up to the end: where it ended */
  wsAt: number;
}

/**
 * Where `"nodes"` followed by optional whitespace and `:` starts and ends in buf, if it does. The
 * search resumes where the previous one (over a shorter prefix of the same header) left off, so a
 * header split into many chunks — even one byte each, or with a long whitespace run after the key —
 * costs time linear in its size.
 */
function findNodesKey(buf: Uint8Array, st: KeySearch): { index: number; end: number } | undefined {
  const n = buf.length;
  for (let i = buf.indexOf(34, st.from); i >= 0; i = buf.indexOf(34, i + 1)) {
    let k = 1;
    while (k < NODES_KEY.length && i + k < n && buf[i + k] === NODES_KEY[k]) k++;
    if (k < NODES_KEY.length) {
      if (i + k < n) continue; // not the key
      st.from = i; // the key may go on in the next chunk
      return undefined;
    }
    let j = Math.max(i + k, st.wsAt);
    while (j < n && isWs(buf[j]!)) j++;
    if (j === n) {
      st.from = i;
      st.wsAt = j;
      return undefined;
    }
    st.wsAt = 0;
    if (buf[j] === 58) return { index: i, end: j + 1 };
  }
  st.from = n;
  return undefined;
}

export class HeapSnapshotParser {
  private phase = Phase.Header;
  /** the header's bytes so far, when it spans chunks (a copy: callers may reuse their buffers) */
  private header: Uint8Array | null = null;
  private headerBytes = 0;
  private readonly keySearch: KeySearch = { from: 0, wsAt: 0 };
  private key = '';
  private keyInProgress = false;

  // header-derived layout
  private meta!: HeapSnapshotMeta;
  private nodeCount = 0;
  private edgeCount = 0;
  private nodeFieldCount = 0;
  private edgeFieldCount = 0;
  private nfType = -1;
  private nfName = -1;
  private nfId = -1;
  private nfSelf = -1;
  private nfEdges = -1;
  private efType = -1;
  private efName = -1;
  private efTo = -1;
  private lfObject = -1;
  private lfScript = -1;
  private lfLine = -1;
  private lfColumn = -1;
  private locationFieldCount = 0;

  // columns
  private nodeType = new Uint8Array(0);
  private nodeName = new Uint32Array(0);
  private nodeId: Uint32Array | Float64Array = new Uint32Array(0);
  private nodeSelfSize = new Float64Array(0);
  private firstEdge = new Uint32Array(1);
  private edgeType: Uint8Array = new Uint8Array(0);
  private edgeName: Uint32Array = new Uint32Array(0);
  private edgeTo: Uint32Array = new Uint32Array(0);
  /** (ordinal, script, line, column) quadruples so far, in a buffer grown by doubling */
  private locs = new Uint32Array(1024);
  private locLen = 0;
  private addLocation(ord: number, script: number, line: number, column: number): void {
    let l = this.locs;
    const k = this.locLen;
    if (k + 4 > l.length) {
      const grown = new Uint32Array(l.length * 2);
      grown.set(l);
      this.locs = l = grown;
    }
    l[k] = ord;
    l[k + 1] = script;
    l[k + 2] = line;
    l[k + 3] = column;
    this.locLen = k + 4;
  }
  private locRow: number[] = [];
  private strings: string[] = [];

  // number scanner state
  private target = Target.Nodes;
  private numVal = 0;
  private inNum = false;
  private count = 0; // numbers seen in the current array
  private fpos = 0; // field position within the current row
  private row = 0; // current row (node ordinal, edge index, location index)
  private fieldsPerRow = 1;
  private seen = new Set<string>();

  // string scanner state
  private inStr = false;
  private esc = 0; // 0 none, 1 after backslash, 2..5 in \uXXXX
  private hex = 0;
  private cur = '';
  /**
   * UTF-16 units of the current string not yet in `cur`: escapes and short plain stretches are
   * gathered here and appended in pieces, not one `+=` each (a string of a million escapes made a
   * million-deep rope, and the collector's work grew faster than the input).
   */
  private units = new Uint16Array(1024);
  private nUnits = 0;
  private addUnit(u: number): void {
    if (this.nUnits === this.units.length) this.flushUnits();
    this.units[this.nUnits++] = u;
  }
  private flushUnits(): void {
    if (this.nUnits === 0) return;
    this.cur += String.fromCharCode.apply(null, this.units.subarray(0, this.nUnits) as unknown as number[]);
    this.nUnits = 0;
  }
  private utf8: InstanceType<typeof TextDecoder> | null = null;

  private rowVals = new Float64Array(8);
  private maxNodeName = 0;
  private maxEdgeName = 0;
  /** per edge type: 1 when name_or_index is a string index (not `element` or `hidden`) */
  private namedEdgeType = new Uint8Array(0);

  // skip scanner state
  private depth = 0;
  private skipInStr = false;
  /** the current number section's scanner has not been called yet */
  private firstPiece = false;
  private skipEsc = false;

  /** total bytes pushed so far */
  bytes = 0;
  private readonly stopAfterNodes: boolean;
  /** read nodes, locations and strings but pass over `edges` (enough for class counts and diffs) */
  private readonly skipEdges: boolean;
  private stopped = false;

  /**
   * @param opts.horizonOnly read only the largest odd id and the even ids (see `horizon()`)
   * @param opts.idsOnly read only the `nodes` section and stop: enough to know which objects
   *   exist (the leak finder needs no more of every snapshot but the last). `finish()` then returns
   *   nodes with no edges and no strings.
   */
  constructor(opts: HeapSnapshotParserOptions = {}) {
    this.horizonOnly = opts.horizonOnly === true;
    this.stopAfterNodes = opts.idsOnly === true || this.horizonOnly;
    this.skipEdges = opts.skipEdges === true;
    this.edgesApart = opts.edgesApart === true;
    this.edgesOnly = opts.edgesOnly === true;
    this.inputBytes = opts.inputBytes;
    this.inputBound = opts.inputBound;
    this.onSection = opts.onSection;
    this.indexOfByte = opts.indexOfByte ?? ((buf, byte, from) => buf.indexOf(byte, from));
  }
  private readonly edgesApart: boolean;
  private readonly edgesOnly: boolean;
  private readonly onSection: ((name: string) => void) | undefined;
  private readonly indexOfByte: (buf: Uint8Array, byte: number, from: number) => number;
  /** edgesApart: the `edges` section has been reached (and passed over) */
  private edgesSeen = false;
  private edgesAttached = false;
  private readonly inputBytes: number | undefined;
  private readonly inputBound: string | undefined;
  /**
   * read only what an id horizon needs (core/heap/ids.ts): the largest odd id and every even id of
   * the `nodes` section, nothing stored per node; then stop. `horizon()` gives the result.
   */
  private readonly horizonOnly: boolean;
  private hMaxOdd = 0;
  private hEvens: number[] = [];

  /** edgesApart: whether the input has an `edges` section, whose columns attachEdges() then takes */
  get edgesReached(): boolean {
    return this.edgesSeen;
  }

  /** edgesApart: the `edges` columns, parsed elsewhere (by an `edgesOnly` parser) */
  attachEdges(cols: EdgeColumns): void {
    if (!this.edgesApart) throw new Error('attachEdges(): the parser was not made with edgesApart');
    const m = this.edgeCount;
    if (cols.edgeType.length !== m || cols.edgeNameOrIndex.length !== m || cols.edgeTo.length !== m) {
      throw new Error(`attachEdges(): expected ${m} edges`);
    }
    this.edgeType = cols.edgeType;
    this.edgeName = cols.edgeNameOrIndex;
    this.edgeTo = cols.edgeTo;
    this.maxEdgeName = cols.maxName;
    this.edgesAttached = true;
  }

  /** edgesOnly: the section's columns, once its closing `]` has been read */
  edges(): EdgeColumns {
    if (!this.edgesOnly) throw new Error('edges(): the parser was not made with edgesOnly');
    if (!this.stopped) throw new LeakscopeError('E_TRUNCATED', `truncated heap snapshot (input ends inside "edges" after ${this.bytes} bytes)`);
    return { edgeType: this.edgeType, edgeNameOrIndex: this.edgeName, edgeTo: this.edgeTo, maxName: this.maxEdgeName };
  }

  /** true once the parser needs no more input (ids-only mode after `nodes`) */
  get done(): boolean {
    return this.stopped;
  }

  push(chunk: Uint8Array | string): void {
    if (this.stopped) return;
    // A plain Uint8Array view: subarray() of a Node Buffer builds a Buffer through its species
    // constructor, which costs more than the short strings it is taken for.
    const buf = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.bytes += buf.length;
    let i = 0;
    if (this.phase === Phase.Header) {
      i = this.takeHeader(buf);
      if (i < 0) return;
    }
    const n = buf.length;
    while (i < n) {
      switch (this.phase) {
        case Phase.Key:
          i = this.scanKey(buf, i);
          break;
        case Phase.Colon: {
          const c = buf[i]!;
          if (c === 58) this.phase = Phase.Value;
          else if (!isWs(c)) throw bad(`malformed heap snapshot: expected ':' after "${this.key}"`);
          i++;
          break;
        }
        case Phase.Value:
          i = this.startValue(buf, i);
          break;
        case Phase.Numbers: {
          // The first call of a section's scanner gets only FIRST_PIECE bytes: the piece ends
          // mid-row, so the scanner's careful path and its exit run while V8 is still collecting
          // type feedback. Fed a whole 4 MB chunk at once, the code V8 optimizes meets those paths
          // for the first time at the chunk's end and deoptimizes, and the section's next
          // megabytes run unoptimized until it recompiles (Node 20: four times per section, ≈ 80 ms
          // on a 20 MB file). One piece, not many: Node 22+'s Maglev marks a scanner called many
          // times as hot and optimizes it for short calls, which made Node 24 slower (BENCHMARKS.md).
          let piece = buf;
          if (this.firstPiece) {
            this.firstPiece = false;
            if (i + FIRST_PIECE < n) piece = buf.subarray(0, i + FIRST_PIECE);
          }
          i =
            this.target === Target.Nodes
              ? this.horizonOnly
                ? this.scanNodeHorizon(piece, i)
                : this.scanNodes(piece, i)
              : this.target === Target.Edges
                ? this.scanEdges(piece, i)
                : this.scanNumbers(piece, i);
          break;
        }
        case Phase.Strings:
          i = this.scanStringLines(buf, i);
          break;
        case Phase.Skip:
          i = this.scanSkip(buf, i);
          break;
        case Phase.Done:
          if (this.stopped) return;
          for (; i < n; i++) if (!isWs(buf[i]!)) throw bad('malformed heap snapshot: data after the end of the JSON object');
          break;
        default:
          throw bad('malformed heap snapshot');
      }
    }
  }

  /** Accumulates the header until `"nodes"`; returns the offset in buf after it, or -1. */
  private takeHeader(buf: Uint8Array): number {
    if (this.headerBytes === 0) {
      let k = 0;
      while (k < buf.length && isWs(buf[k]!)) k++;
      if (k < buf.length && buf[k] !== 123) throw bad('not a heap snapshot (does not start with a JSON object)');
    }
    const prevBytes = this.headerBytes;
    const take = Math.min(buf.length, MAX_HEADER_BYTES - prevBytes + 16);
    const piece = buf.subarray(0, take);
    this.headerBytes += take;
    // The first chunk usually holds the whole header: it is searched in place (a copy of up to
    // 1 MB of fresh memory costs more than the rest of the header's handling). Bytes kept for the
    // next chunk are copied, as the caller may reuse its buffer, into a buffer grown by doubling
    // (a header in many small chunks is copied a bounded number of times, not once per chunk).
    let all = piece;
    if (this.header) {
      if (this.header.length < this.headerBytes) {
        const grown = new Uint8Array(Math.max(this.header.length * 2, this.headerBytes));
        grown.set(this.header.subarray(0, prevBytes));
        this.header = grown;
      }
      this.header.set(piece, prevBytes);
      all = this.header.subarray(0, this.headerBytes);
    }
    // Only the header (a few KB) is decoded: the key is found in the bytes first.
    const m = findNodesKey(all, this.keySearch);
    if (!m) {
      if (this.headerBytes > MAX_HEADER_BYTES) throw bad('not a heap snapshot (no "nodes" section in the first 1 MB)');
      if (take < buf.length) throw bad('not a heap snapshot');
      if (!this.header) {
        this.header = new Uint8Array(Math.max(4096, 2 * take));
        this.header.set(piece);
      }
      return -1;
    }
    // the bytes before `"nodes"`, less the trailing separators, closed: a backward scan, not
    // a regular expression (`[\s,]+$` backtracks over every whitespace run: quadratic)
    let headEnd = m.index;
    while (headEnd > 0 && (isWs(all[headEnd - 1]!) || all[headEnd - 1] === 44)) headEnd--;
    const headText = ascii.decode(all.subarray(0, headEnd)) + '}';
    let head: SnapshotHeader;
    try {
      head = JSON.parse(headText) as typeof head;
    } catch {
      throw bad('not a heap snapshot (header is not valid JSON)');
    }
    this.setHeader(head);
    this.header = null;
    this.key = 'nodes';
    this.phase = Phase.Value;
    const end = m.end; // offset in the accumulated header
    return end - prevBytes; // offset in this chunk (header is ASCII: chars = bytes)
  }

  private setHeader(head: SnapshotHeader): void {
    const s = head.snapshot;
    const meta = s?.meta;
    if (!s || !meta || typeof meta !== 'object') throw bad('not a heap snapshot (no snapshot.meta)');
    const strArr = (v: unknown, what: string): string[] => {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(`heap snapshot meta: ${what} is missing or not a list of names`);
      return v as string[];
    };
    const nodeFields = strArr(meta.node_fields, 'node_fields');
    const edgeFields = strArr(meta.edge_fields, 'edge_fields');
    const nt = meta.node_types as unknown[];
    const et = meta.edge_types as unknown[];
    if (!Array.isArray(nt) || !Array.isArray(et)) throw bad('heap snapshot meta: node_types/edge_types missing');
    // Types are positional with the fields: the enum sits at the position of the `type` field.
    const nodeTypes = strArr(nt[nodeFields.indexOf('type')], 'node_types[type]');
    const edgeTypes = strArr(et[edgeFields.indexOf('type')], 'edge_types[type]');
    const locationFields = meta.location_fields === undefined ? [] : strArr(meta.location_fields, 'location_fields');
    this.meta = { nodeFields, nodeTypes, edgeFields, edgeTypes, locationFields };
    this.namedEdgeType = Uint8Array.from(edgeTypes, (name) => (name === 'element' || name === 'hidden' ? 0 : 1));
    const need = (arr: string[], name: string, what: string): number => {
      const k = arr.indexOf(name);
      if (k < 0) throw bad(`heap snapshot meta: ${what} has no "${name}"`);
      return k;
    };
    this.nfType = need(nodeFields, 'type', 'node_fields');
    this.nfName = need(nodeFields, 'name', 'node_fields');
    this.nfId = need(nodeFields, 'id', 'node_fields');
    this.nfSelf = need(nodeFields, 'self_size', 'node_fields');
    this.nfEdges = need(nodeFields, 'edge_count', 'node_fields');
    this.efType = need(edgeFields, 'type', 'edge_fields');
    this.efName = need(edgeFields, 'name_or_index', 'edge_fields');
    this.efTo = need(edgeFields, 'to_node', 'edge_fields');
    this.nodeFieldCount = nodeFields.length;
    this.edgeFieldCount = edgeFields.length;
    this.locationFieldCount = locationFields.length;
    this.lfObject = locationFields.indexOf('object_index');
    this.lfScript = locationFields.indexOf('script_id');
    this.lfLine = locationFields.indexOf('line');
    this.lfColumn = locationFields.indexOf('column');
    if (nodeTypes.length > 255 || edgeTypes.length > 255) throw bad('heap snapshot meta: too many node or edge types');
    const nc = s.node_count;
    const ec = s.edge_count;
    if (typeof nc !== 'number' || !Number.isInteger(nc) || nc < 1) throw bad('heap snapshot: node_count is missing or invalid');
    if (typeof ec !== 'number' || !Number.isInteger(ec) || ec < 0) throw bad('heap snapshot: edge_count is missing or invalid');
    if (nc >= 2 ** 32 - 1 || ec >= 2 ** 32 - 1) throw new LeakscopeError('E_TOO_LARGE', `heap snapshot too large: ${nc} nodes, ${ec} edges`);
    // Each number takes at least two bytes ("0,"): a header announcing more than the input can
    // hold is refused before anything is allocated.
    if (this.inputBytes !== undefined && nc * this.nodeFieldCount * 2 + (this.stopAfterNodes || this.skipEdges ? 0 : ec * this.edgeFieldCount * 2) > this.inputBytes) {
      if (this.inputBound !== undefined) throw new LeakscopeError('E_TOO_LARGE', `heap snapshot header announces ${nc} nodes and ${ec} edges, more than ${this.inputBound} can hold`);
      throw bad(`malformed heap snapshot: header announces ${nc} nodes and ${ec} edges, more than ${this.inputBytes} bytes can hold`);
    }
    this.nodeCount = nc;
    this.edgeCount = ec;
    // Memory is bounded by the input: each node takes at least nodeFieldCount*2 bytes of JSON.
    // We cannot know the file size here, so we allocate from the header; a lying header fails in
    // finish() ("nodes section shorter than node_count") after at most these arrays were allocated.
    if (this.horizonOnly) return;
    try {
      if (!this.edgesOnly) {
        this.nodeType = new Uint8Array(nc);
        this.nodeName = new Uint32Array(nc);
        this.nodeId = new Uint32Array(nc);
        this.nodeSelfSize = new Float64Array(nc);
        this.firstEdge = new Uint32Array(nc + 1);
      }
      if (!this.stopAfterNodes && !this.skipEdges && !this.edgesApart) {
        this.edgeType = new Uint8Array(ec);
        this.edgeName = new Uint32Array(ec);
        this.edgeTo = new Uint32Array(ec);
      }
    } catch {
      throw new LeakscopeError('E_TOO_LARGE', `heap snapshot too large to load: ${nc} nodes, ${ec} edges`);
    }
  }

  private scanKey(buf: Uint8Array, i: number): number {
    const n = buf.length;
    if (!this.keyInProgress) {
      for (; i < n; i++) {
        const c = buf[i]!;
        if (c === 34) {
          this.keyInProgress = true;
          this.key = '';
          i++;
          break;
        }
        if (c === 125) {
          this.phase = Phase.Done;
          return i + 1;
        }
        if (!isWs(c) && c !== 44) throw bad('malformed heap snapshot: expected a section name');
      }
      if (!this.keyInProgress) return i;
    }
    const start = i;
    for (; i < n; i++) if (buf[i] === 34) break;
    this.key += ascii.decode(buf.subarray(start, i));
    if (this.key.length > 256) throw bad('malformed heap snapshot: section name too long');
    if (i < n) {
      this.keyInProgress = false;
      this.phase = Phase.Colon;
      i++;
    }
    return i;
  }

  private beginNumbers(target: Target): void {
    this.phase = Phase.Numbers;
    this.target = target;
    this.fpos = 0;
    this.row = 0;
    // (the horizon scanner is all careful path: nothing to warm up)
    this.firstPiece = !this.horizonOnly;
    this.fieldsPerRow = target === Target.Nodes ? this.nodeFieldCount : target === Target.Edges ? this.edgeFieldCount : Math.max(1, this.locationFieldCount);
  }

  private startValue(buf: Uint8Array, i: number): number {
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf[i]!;
      if (isWs(c)) continue;
      const k = this.key;
      if (c === 91 && (k === 'nodes' || k === 'edges' || k === 'locations' || k === 'strings')) {
        if (this.seen.has(k)) throw bad(`malformed heap snapshot: duplicate "${k}" section`);
        this.seen.add(k);
        this.count = 0;
        this.inNum = false;
        this.numVal = 0;
        this.onSection?.(k);
        if (k === 'strings') {
          this.phase = Phase.Strings;
          this.inStr = false;
        } else if ((k === 'edges' && (this.skipEdges || this.edgesApart)) || (k === 'nodes' && this.edgesOnly)) {
          if (k === 'edges' && this.edgesApart) this.edgesSeen = true;
          // only digits, commas and whitespace until the closing bracket
          this.phase = Phase.Skip;
          this.depth = 1;
          this.skipInStr = false;
          this.skipEsc = false;
        } else {
          if (k === 'edges' && !this.seen.has('nodes')) throw bad('malformed heap snapshot: "edges" before "nodes"');
          this.beginNumbers(k === 'nodes' ? Target.Nodes : k === 'edges' ? Target.Edges : Target.Locations);
        }
        return i + 1;
      }
      if (k === 'nodes' || k === 'edges' || k === 'strings') throw bad(`malformed heap snapshot: "${k}" is not an array`);
      this.phase = Phase.Skip;
      this.depth = 0;
      this.skipInStr = false;
      this.skipEsc = false;
      return i;
    }
    return i;
  }

  /** The hot loop for `nodes`: every field handled inline, state kept in locals. */
  private scanNodes(buf: Uint8Array, i: number): number {
    const n = buf.length;
    const nf = this.nodeFieldCount;
    const fType = this.nfType;
    const fName = this.nfName;
    const fId = this.nfId;
    const fSelf = this.nfSelf;
    const fEdges = this.nfEdges;
    const nodeCount = this.nodeCount;
    const edgeCount = this.edgeCount;
    const typeLimit = this.meta.nodeTypes.length;
    const types = this.nodeType;
    const names = this.nodeName;
    const self = this.nodeSelfSize;
    const first = this.firstEdge;
    let ids = this.nodeId;
    let f = this.fpos;
    let ord = this.row;
    let val = this.numVal;
    let inNum = this.inNum;
    // the largest string index a node names: checked against the strings count in finish()
    let maxName = this.maxNodeName;
    let count = this.count;
    const rowVals = this.rowVals.length >= nf ? this.rowVals : (this.rowVals = new Float64Array(nf));
    const safeEnd = n - 32 * nf;
    // V8's layout (every version so far): type, name, id, self_size, edge_count, then the rest
    const standard = fType === 0 && fName === 1 && fId === 2 && fSelf === 3 && fEdges === 4;
    for (; i < n; i++) {
      // Fast path: a whole row at once, at a row boundary, far from the chunk's end. It commits
      // nothing unless the row parses completely; anything unusual falls to the careful path.
      // It starts only on a row's first digit: a run of separators it scanned and refused (one
      // longer than the rest of the chunk) is then stepped over once by the careful path, not
      // rescanned from each of its bytes (that was quadratic in the run's length).
      if (standard && f === 0 && !inNum && i < safeEnd && ord < nodeCount && ids instanceof Uint32Array && buf[i]! >= 48 && buf[i]! <= 57) {
        const rows = rowRun;
        rows.row = ord;
        rows.maxName = maxName;
        const j = scanNodeRows(buf, i, safeEnd, n, rows, nodeCount, edgeCount, nf, typeLimit, types, names, ids, self, first);
        count += (rows.row - ord) * nf;
        ord = rows.row;
        maxName = rows.maxName;
        i = j;
        if (i >= n) break;
      }
      if (f === 0 && !inNum && i < safeEnd && ord < nodeCount && buf[i]! >= 48 && buf[i]! <= 57) {
        const j = readRow(buf, i, nf, rowVals, n);
        if (j > 0) {
          const id = rowVals[fId]!;
          if (id > 0xffffffff && ids instanceof Uint32Array) {
            ids = Float64Array.from(ids);
            this.nodeId = ids;
          }
          ids[ord] = id;
          const next = first[ord]! + rowVals[fEdges]!;
          if (next > edgeCount) throw bad('malformed heap snapshot: node edge counts exceed edge_count');
          first[ord + 1] = next;
          const nm = rowVals[fName]!;
          names[ord] = nm > 0xffffffff ? 0xffffffff : nm;
          if (nm > maxName) maxName = nm;
          self[ord] = rowVals[fSelf]!;
          const ty = rowVals[fType]!;
          if (ty >= typeLimit) throw bad(`malformed heap snapshot: node type ${ty} out of range`);
          types[ord] = ty;
          count += nf;
          ord++;
          i = j - 1;
          continue;
        }
      }
      let c = buf[i]!;
      if (c >= 48 && c <= 57) {
        val = val * 10 + (c - 48);
        while (++i < n && (c = buf[i]!) >= 48 && c <= 57) val = val * 10 + (c - 48);
        if (i === n) {
          inNum = true;
          break;
        }
        inNum = true;
      }
      if (inNum) {
        if (ord >= nodeCount) throw bad('malformed heap snapshot: "nodes" is longer than node_count says');
        if (f === fId) {
          if (val > 0xffffffff && ids instanceof Uint32Array) {
            ids = Float64Array.from(ids);
            this.nodeId = ids;
          }
          ids[ord] = val;
        } else if (f === fEdges) {
          const next = first[ord]! + val;
          if (next > edgeCount) throw bad('malformed heap snapshot: node edge counts exceed edge_count');
          first[ord + 1] = next;
        } else if (f === fName) {
          names[ord] = val > 0xffffffff ? 0xffffffff : val;
          if (val > maxName) maxName = val;
        }
        else if (f === fSelf) self[ord] = val;
        else if (f === fType) {
          if (val >= typeLimit) throw bad(`malformed heap snapshot: node type ${val} out of range`);
          types[ord] = val;
        }
        count++;
        if (++f === nf) {
          f = 0;
          ord++;
        }
        val = 0;
        inNum = false;
      }
      if (c === 44 || c === 10 || c === 32 || c === 13 || c === 9) continue;
      if (c === 93) {
        this.count = count;
        this.fpos = f;
        this.row = ord;
        this.maxNodeName = maxName;
        this.endNumbers();
        this.numVal = 0;
        this.inNum = false;
        this.phase = this.stopAfterNodes ? Phase.Done : Phase.Key;
        if (this.stopAfterNodes) this.stopped = true;
        return this.stopAfterNodes ? n : i + 1;
      }
      throw bad(`malformed heap snapshot: unexpected character '${String.fromCharCode(c)}' in "nodes"`);
    }
    this.count = count;
    this.fpos = f;
    this.row = ord;
    this.maxNodeName = maxName;
    this.numVal = val;
    this.inNum = inNum;
    return i;
  }

  /**
   * `nodes` for an id horizon: every number is stepped over, only the id field is decoded, and
   * nothing is stored per node.
   */
  private scanNodeHorizon(buf: Uint8Array, i: number): number {
    const n = buf.length;
    const nf = this.nodeFieldCount;
    const fId = this.nfId;
    const nodeCount = this.nodeCount;
    const evens = this.hEvens;
    let maxOdd = this.hMaxOdd;
    let f = this.fpos;
    let rows = this.row;
    let val = this.numVal;
    let inNum = this.inNum;
    let count = this.count;
    for (; i < n; i++) {
      let c = buf[i]!;
      if (c >= 48 && c <= 57) {
        if (f === fId) {
          val = val * 10 + (c - 48);
          while (++i < n && (c = buf[i]!) >= 48 && c <= 57) val = val * 10 + (c - 48);
        } else {
          while (++i < n && (c = buf[i]!) >= 48 && c <= 57);
        }
        inNum = true;
        if (i === n) break;
      }
      if (inNum) {
        if (rows >= nodeCount) throw bad('malformed heap snapshot: "nodes" is longer than node_count says');
        if (f === fId) {
          if (val % 2 === 1) {
            if (val > maxOdd) maxOdd = val;
          } else evens.push(val);
          val = 0;
        }
        inNum = false;
        count++;
        if (++f === nf) {
          f = 0;
          rows++;
        }
      }
      if (c === 44 || c === 10 || c === 32 || c === 13 || c === 9) continue;
      if (c === 93) {
        if (count !== nodeCount * nf) throw bad(`malformed heap snapshot: "nodes" has ${count} numbers, expected ${nodeCount} × ${nf}`);
        this.hMaxOdd = maxOdd;
        this.count = count;
        this.numVal = 0;
        this.inNum = false;
        this.phase = Phase.Done;
        this.stopped = true;
        return n;
      }
      throw bad(`malformed heap snapshot: unexpected character '${String.fromCharCode(c)}' in "nodes"`);
    }
    this.hMaxOdd = maxOdd;
    this.fpos = f;
    this.row = rows;
    this.numVal = val;
    this.inNum = inNum;
    this.count = count;
    return i;
  }

  /**
   * In horizonOnly mode, once the `nodes` section has been read: the largest odd (JavaScript
   * object) id and the even (native) ids, sorted.
   */
  horizon(): { maxJsId: number; nativeIds: Uint32Array | Float64Array } {
    if (!this.horizonOnly) throw new Error('horizon(): the parser was not made with horizonOnly');
    if (!this.stopped) {
      if (this.phase === Phase.Header) throw bad(this.headerBytes === 0 ? 'not a heap snapshot (empty input)' : 'not a heap snapshot (no "nodes" section)');
      throw new LeakscopeError('E_TRUNCATED', `truncated heap snapshot (input ends inside "nodes" after ${this.bytes} bytes)`);
    }
    const evens = this.hEvens;
    const wide = evens.some((x) => x > 0xffffffff);
    const nativeIds = wide ? Float64Array.from(evens) : Uint32Array.from(evens);
    nativeIds.sort();
    return { maxJsId: this.hMaxOdd, nativeIds };
  }

  /** The hot loop for `edges`. */
  private scanEdges(buf: Uint8Array, i: number): number {
    const n = buf.length;
    const ef = this.edgeFieldCount;
    const nf = this.nodeFieldCount;
    const fType = this.efType;
    const fName = this.efName;
    const fTo = this.efTo;
    const edgeCount = this.edgeCount;
    const nodeCount = this.nodeCount;
    const typeLimit = this.meta.edgeTypes.length;
    const types = this.edgeType;
    const names = this.edgeName;
    const to = this.edgeTo;
    let f = this.fpos;
    let e = this.row;
    let val = this.numVal;
    let inNum = this.inNum;
    let count = this.count;
    // the largest string index an edge of a named type names: checked in finish()
    let maxName = this.maxEdgeName;
    const namedType = this.namedEdgeType;
    const safeEnd = n - 32 * ef;
    // V8's layout (every version so far): type, name_or_index, to_node
    const standard = ef === 3 && fType === 0 && fName === 1 && fTo === 2;
    for (; i < n; i++) {
      // (only on a row's first digit, as for nodes: a refused separator run is not rescanned)
      if (standard && f === 0 && !inNum && i < safeEnd && e < edgeCount && buf[i]! >= 48 && buf[i]! <= 57) {
        const rows = rowRun;
        rows.row = e;
        rows.maxName = maxName;
        const j = scanEdgeRows(buf, i, safeEnd, n, rows, edgeCount, nf, nodeCount, typeLimit, to, names, types, namedType);
        count += (rows.row - e) * ef;
        e = rows.row;
        maxName = rows.maxName;
        i = j;
        if (i >= n) break;
      }
      let c = buf[i]!;
      if (c >= 48 && c <= 57) {
        val = val * 10 + (c - 48);
        while (++i < n && (c = buf[i]!) >= 48 && c <= 57) val = val * 10 + (c - 48);
        if (i === n) {
          inNum = true;
          break;
        }
        inNum = true;
      }
      if (inNum) {
        if (e >= edgeCount) throw bad('malformed heap snapshot: "edges" is longer than edge_count says');
        if (f === fTo) {
          const o = val < 2147483648 ? (val / nf) | 0 : Math.floor(val / nf);
          if (o * nf !== val || o >= nodeCount) throw bad(`malformed heap snapshot: edge ${e} points to ${val}, not a node`);
          to[e] = o;
        } else if (f === fName) names[e] = val > 0xffffffff ? 0xffffffff : val;
        else if (f === fType) {
          if (val >= typeLimit) throw bad(`malformed heap snapshot: edge type ${val} out of range`);
          types[e] = val;
        }
        count++;
        if (++f === ef) {
          if (names[e]! > maxName && namedType[types[e]!]) maxName = names[e]!;
          f = 0;
          e++;
        }
        val = 0;
        inNum = false;
      }
      if (c === 44 || c === 10 || c === 32 || c === 13 || c === 9) continue;
      if (c === 93) {
        this.count = count;
        this.fpos = f;
        this.row = e;
        this.maxEdgeName = maxName;
        this.endNumbers();
        this.numVal = 0;
        this.inNum = false;
        if (this.edgesOnly) {
          this.phase = Phase.Done;
          this.stopped = true;
          return n;
        }
        this.phase = Phase.Key;
        return i + 1;
      }
      throw bad(`malformed heap snapshot: unexpected character '${String.fromCharCode(c)}' in "edges"`);
    }
    this.count = count;
    this.fpos = f;
    this.row = e;
    this.maxEdgeName = maxName;
    this.numVal = val;
    this.inNum = inNum;
    return i;
  }

  private scanNumbers(buf: Uint8Array, i: number): number {
    const n = buf.length;
    let val = this.numVal;
    let inNum = this.inNum;
    const lf = this.locationFieldCount;
    const rowVals = this.rowVals.length >= lf ? this.rowVals : (this.rowVals = new Float64Array(lf));
    const fast = this.target === Target.Locations && lf > 0 && this.lfObject >= 0;
    const safeEnd = n - 32 * lf;
    for (; i < n; i++) {
      // `locations`: whole rows at once, as for nodes and edges
      if (fast && this.fpos === 0 && !inNum && i < safeEnd && buf[i]! >= 48 && buf[i]! <= 57) {
        const j = readRow(buf, i, lf, rowVals, n);
        if (j > 0) {
          const obj = rowVals[this.lfObject]!;
          const nf = this.nodeFieldCount;
          const ord = Math.floor(obj / nf);
          if (ord * nf === obj && ord < this.nodeCount) {
            this.addLocation(ord, this.lfScript >= 0 ? rowVals[this.lfScript]! : 0, this.lfLine >= 0 ? rowVals[this.lfLine]! : 0, this.lfColumn >= 0 ? rowVals[this.lfColumn]! : 0);
          }
          this.count += lf;
          this.row++;
          i = j - 1;
          continue;
        }
      }
      const c = buf[i]!;
      if (c >= 48 && c <= 57) {
        val = val * 10 + (c - 48);
        inNum = true;
        continue;
      }
      if (inNum) {
        this.emit(val);
        val = 0;
        inNum = false;
      }
      if (c === 44 || isWs(c)) continue;
      if (c === 93) {
        this.endNumbers();
        this.numVal = 0;
        this.inNum = false;
        this.phase = Phase.Key;
        return i + 1;
      }
      throw bad(`malformed heap snapshot: unexpected character '${String.fromCharCode(c)}' in "${this.key}"`);
    }
    this.numVal = val;
    this.inNum = inNum;
    return i;
  }

  private emit(v: number): void {
    const k = this.count++;
    const f = this.fpos;
    const ord = this.row;
    if (++this.fpos === this.fieldsPerRow) {
      this.fpos = 0;
      this.row++;
    }
    if (this.target === Target.Nodes) {
      if (ord >= this.nodeCount) throw bad('malformed heap snapshot: "nodes" is longer than node_count says');
      if (f === this.nfType) {
        if (v >= this.meta.nodeTypes.length) throw bad(`malformed heap snapshot: node type ${v} out of range`);
        this.nodeType[ord] = v;
      } else if (f === this.nfName) this.nodeName[ord] = v > 0xffffffff ? 0xffffffff : v;
      else if (f === this.nfId) {
        if (v > 0xffffffff && this.nodeId instanceof Uint32Array) this.nodeId = Float64Array.from(this.nodeId);
        this.nodeId[ord] = v;
      } else if (f === this.nfSelf) this.nodeSelfSize[ord] = v;
      else if (f === this.nfEdges) {
        const next = this.firstEdge[ord]! + v;
        if (next > this.edgeCount) throw bad('malformed heap snapshot: node edge counts exceed edge_count');
        this.firstEdge[ord + 1] = next;
      }
    } else if (this.target === Target.Edges) {
      const e = ord;
      if (e >= this.edgeCount) throw bad('malformed heap snapshot: "edges" is longer than edge_count says');
      if (f === this.efType) {
        if (v >= this.meta.edgeTypes.length) throw bad(`malformed heap snapshot: edge type ${v} out of range`);
        this.edgeType[e] = v;
      } else if (f === this.efName) this.edgeName[e] = v > 0xffffffff ? 0xffffffff : v;
      else if (f === this.efTo) {
        const nf = this.nodeFieldCount;
        const ord = Math.floor(v / nf);
        if (ord * nf !== v || ord >= this.nodeCount) throw bad(`malformed heap snapshot: edge ${e} points to ${v}, not a node`);
        this.edgeTo[e] = ord;
      }
    } else {
      const lf = this.locationFieldCount;
      if (lf === 0 || k < 0) return;
      const row = this.locRow;
      row[f] = v;
      if (f === lf - 1) {
        const obj = this.lfObject >= 0 ? row[this.lfObject]! : 0;
        const nf = this.nodeFieldCount;
        const ord = Math.floor(obj / nf);
        if (this.lfObject >= 0 && ord * nf === obj && ord < this.nodeCount) {
          this.addLocation(ord, this.lfScript >= 0 ? row[this.lfScript]! : 0, this.lfLine >= 0 ? row[this.lfLine]! : 0, this.lfColumn >= 0 ? row[this.lfColumn]! : 0);
        }
      }
    }
  }

  private endNumbers(): void {
    if (this.target === Target.Nodes) {
      if (this.count !== this.nodeCount * this.nodeFieldCount) {
        throw bad(`malformed heap snapshot: "nodes" has ${this.count} numbers, expected ${this.nodeCount} × ${this.nodeFieldCount}`);
      }
      if (this.firstEdge[this.nodeCount] !== this.edgeCount) {
        throw bad(`malformed heap snapshot: node edge counts add up to ${this.firstEdge[this.nodeCount]}, edge_count is ${this.edgeCount}`);
      }
    } else if (this.target === Target.Edges) {
      if (this.count !== this.edgeCount * this.edgeFieldCount) {
        throw bad(`malformed heap snapshot: "edges" has ${this.count} numbers, expected ${this.edgeCount} × ${this.edgeFieldCount}`);
      }
    }
  }

  /**
   * The `strings` section, fast: V8 writes one string per line, and a raw newline byte can never
   * be inside a JSON string, so the complete lines of a chunk are whole elements. They go to
   * JSON.parse in one piece (a native scan, several times faster than building each string here);
   * the partial lines at the chunk's two ends, and anything JSON.parse refuses, go through the
   * byte scanner below, which keeps its state across chunks.
   */
  private scanStringLines(buf: Uint8Array, i: number): number {
    const a = buf.indexOf(10, i);
    if (a < 0 || this.esc !== 0) return this.scanStrings(buf, i);
    const head = this.scanStrings(buf.subarray(0, a + 1), i);
    if (this.phase !== Phase.Strings) return head;
    // a raw newline inside a string (not V8's output): the byte scanner takes the rest
    if (this.inStr) return this.scanStrings(buf, a + 1);
    const b = buf.lastIndexOf(10);
    if (b > a) {
      let end = b;
      while (end > a && isWs(buf[end]!)) end--;
      let parsed: unknown;
      if (buf[end] === 44) {
        try {
          parsed = JSON.parse(`[${(this.lineDecoder ??= new TextDecoder('utf-8')).decode(buf.subarray(a + 1, end))}]`);
        } catch {
          parsed = undefined;
        }
      }
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) {
        const strings = this.strings;
        for (let k = 0; k < parsed.length; k++) strings.push(parsed[k] as string);
      } else {
        const j = this.scanStrings(buf.subarray(0, b + 1), a + 1);
        if (this.phase !== Phase.Strings) return j;
      }
    }
    return this.scanStrings(buf, Math.max(a, b) + 1);
  }
  private lineDecoder: InstanceType<typeof TextDecoder> | null = null;

  private scanStrings(buf: Uint8Array, i: number): number {
    const n = buf.length;
    while (i < n) {
      if (!this.inStr) {
        const c = buf[i++]!;
        if (c === 34) {
          this.inStr = true;
          this.cur = '';
          this.esc = 0;
        } else if (c === 93) {
          this.phase = Phase.Key;
          return i;
        } else if (c !== 44 && !isWs(c)) throw bad('malformed heap snapshot: unexpected character in "strings"');
        continue;
      }
      if (this.esc === 0) {
        let j = i;
        let hi = 0;
        let c = 0;
        for (; j < n; j++) {
          c = buf[j]!;
          if (c === 34 || c === 92) break;
          hi |= c;
        }
        if (j > i) {
          if (hi < 0x80 && this.utf8 === null) {
            if (j - i <= 32) for (let k = i; k < j; k++) this.addUnit(buf[k]!);
            else {
              this.flushUnits();
              this.cur += j - i < 2048 ? String.fromCharCode.apply(null, buf.subarray(i, j) as unknown as number[]) : ascii.decode(buf.subarray(i, j));
            }
          } else {
            // raw UTF-8 (V8 escapes non-ASCII, other writers may not); may be split across chunks
            this.flushUnits();
            this.utf8 ??= new TextDecoder('utf-8');
            this.cur += this.utf8.decode(buf.subarray(i, j), { stream: true });
          }
        }
        if (j === n) return n;
        if (this.utf8 !== null) {
          this.cur += this.utf8.decode();
          this.utf8 = null;
        }
        if (c === 34) {
          this.flushUnits();
          this.strings.push(this.cur);
          this.cur = '';
          this.inStr = false;
        } else this.esc = 1;
        i = j + 1;
      } else if (this.esc === 1) {
        const c = buf[i++]!;
        switch (c) {
          case 110:
            this.addUnit(10);
            break;
          case 116:
            this.addUnit(9);
            break;
          case 114:
            this.addUnit(13);
            break;
          case 98:
            this.addUnit(8);
            break;
          case 102:
            this.addUnit(12);
            break;
          case 117:
            this.esc = 2;
            this.hex = 0;
            continue;
          default:
            if (c === 34 || c === 92 || c === 47) this.addUnit(c);
            else throw bad('malformed heap snapshot: bad escape in "strings"');
        }
        this.esc = 0;
      } else {
        const c = buf[i++]!;
        const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (d < 0) throw bad('malformed heap snapshot: bad \\u escape in "strings"');
        this.hex = this.hex * 16 + d;
        if (++this.esc === 6) {
          this.addUnit(this.hex);
          this.esc = 0;
        }
      }
    }
    return i;
  }

  private scanSkip(buf: Uint8Array, i: number): number {
    const n = buf.length;
    if ((this.key === 'edges' || this.key === 'nodes') && this.depth === 1) {
      // skipped edges or nodes hold only numbers: the next ']' closes them
      const j = this.indexOfByte(buf, 93, i);
      if (j < 0) return n;
      this.depth = 0;
      this.phase = Phase.Key;
      return j + 1;
    }
    for (; i < n; i++) {
      const c = buf[i]!;
      if (this.skipInStr) {
        if (this.skipEsc) this.skipEsc = false;
        else if (c === 92) this.skipEsc = true;
        else if (c === 34) {
          this.skipInStr = false;
          if (this.depth === 0) {
            this.phase = Phase.Key;
            return i + 1;
          }
        }
        continue;
      }
      if (c === 34) this.skipInStr = true;
      else if (c === 91 || c === 123) this.depth++;
      else if (c === 93 || c === 125) {
        if (this.depth === 0) {
          // a scalar value ended by the closing brace of the top-level object
          this.phase = Phase.Key;
          return i;
        }
        if (--this.depth === 0) {
          this.phase = Phase.Key;
          return i + 1;
        }
      } else if (c === 44 && this.depth === 0) {
        this.phase = Phase.Key;
        return i;
      }
    }
    return i;
  }

  /** Validates and returns the snapshot. Throws E_TRUNCATED when the input ended early. */
  finish(): RawHeapSnapshot {
    if (this.phase === Phase.Header) {
      if (this.headerBytes === 0) throw bad('not a heap snapshot (empty input)');
      throw bad('not a heap snapshot (no "nodes" section)');
    }
    if (this.stopped) {
      return {
        meta: this.meta,
        nodeCount: this.nodeCount,
        edgeCount: 0,
        nodeType: this.nodeType,
        nodeName: this.nodeName,
        nodeId: this.nodeId,
        nodeSelfSize: this.nodeSelfSize,
        firstEdge: new Uint32Array(this.nodeCount + 1),
        edgeType: new Uint8Array(0),
        edgeNameOrIndex: new Uint32Array(0),
        edgeTo: new Uint32Array(0),
        locations: new Uint32Array(0),
        strings: [],
      };
    }
    if (this.phase !== Phase.Done) {
      throw new LeakscopeError('E_TRUNCATED', `truncated heap snapshot (input ends inside "${this.key}" after ${this.bytes} bytes)`);
    }
    for (const k of ['nodes', 'edges', 'strings']) if (!this.seen.has(k)) throw bad(`malformed heap snapshot: no "${k}" section`);
    if (this.edgesApart && !this.edgesAttached) throw new Error('finish(): the edges parsed apart were not attached');
    const strings = this.strings;
    const ns = strings.length;
    const nodeName = this.nodeName;
    // the scanners kept the largest string index named: walk the rows only to name a bad one
    if (this.maxNodeName >= ns) {
      for (let i = 0; i < this.nodeCount; i++) if (nodeName[i]! >= ns) throw bad(`malformed heap snapshot: node ${i} names string ${nodeName[i]}, only ${ns} strings`);
    }
    const named = this.namedEdgeType;
    const et = this.edgeType;
    const en = this.edgeName;
    const edgeCount = this.skipEdges ? 0 : this.edgeCount;
    if (this.maxEdgeName >= ns) {
      for (let e = 0; e < edgeCount; e++) if (named[et[e]!] && en[e]! >= ns) throw bad(`malformed heap snapshot: edge ${e} names string ${en[e]}, only ${ns} strings`);
    }
    // locations: quadruples sorted by ordinal
    const locs = this.locs;
    const q = this.locLen / 4;
    let sorted = true;
    for (let k = 1; k < q; k++) {
      if (locs[k * 4]! < locs[(k - 1) * 4]!) {
        sorted = false;
        break;
      }
    }
    let locations: Uint32Array;
    if (sorted) locations = locs.slice(0, this.locLen);
    else {
      // V8 need not write them in node order. Sort (ordinal, position) keys, packed into one
      // number each, with the typed array's native sort; stable, as equal ordinals keep their order.
      let order: ArrayLike<number>;
      if (this.nodeCount * q < 2 ** 53) {
        const keys = new Float64Array(q);
        for (let k = 0; k < q; k++) keys[k] = locs[k * 4]! * q + k;
        keys.sort();
        for (let k = 0; k < q; k++) keys[k] = keys[k]! % q;
        order = keys;
      } else order = Array.from({ length: q }, (_, k) => k).sort((x, y) => locs[x * 4]! - locs[y * 4]! || x - y);
      locations = new Uint32Array(this.locLen);
      for (let k = 0; k < q; k++) {
        const src = order[k]! * 4;
        const dst = k * 4;
        locations[dst] = locs[src]!;
        locations[dst + 1] = locs[src + 1]!;
        locations[dst + 2] = locs[src + 2]!;
        locations[dst + 3] = locs[src + 3]!;
      }
    }
    this.locs = new Uint32Array(0);
    this.locLen = 0;
    return {
      meta: this.meta,
      nodeCount: this.nodeCount,
      edgeCount,
      nodeType: this.nodeType,
      nodeName: this.nodeName,
      nodeId: this.nodeId,
      nodeSelfSize: this.nodeSelfSize,
      firstEdge: this.skipEdges ? new Uint32Array(this.nodeCount + 1) : this.firstEdge,
      edgeType: this.edgeType,
      edgeNameOrIndex: this.edgeName,
      edgeTo: this.edgeTo,
      locations,
      strings,
    };
  }
}

/** Parses a whole snapshot held in memory (tests, small inputs). */
export function parseHeapSnapshot(input: Uint8Array | string, chunkSize = 1 << 20): RawHeapSnapshot {
  const p = new HeapSnapshotParser();
  if (typeof input === 'string') p.push(input);
  else for (let o = 0; o < input.length; o += chunkSize) p.push(input.subarray(o, Math.min(input.length, o + chunkSize)));
  return p.finish();
}
