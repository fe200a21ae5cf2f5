/**
 * profile.proto codec: bytes (uncompressed) ↔ Profile. gzip is the caller's business (node/ layer),
 * so this module stays pure. Field numbers follow perftools.profiles (see docs/ARCHITECTURE.md).
 *
 * Decoding is two passes over the top-level message: the first decodes the small tables (sample
 * types, mappings, locations, functions, strings) and remembers where each sample message lies;
 * the second decodes samples straight into flat typed arrays, resolving location ids to indices.
 */
import { LeakscopeError } from '../core/errors.js';
import {
  type Location,
  type Mapping,
  type Profile,
  type ProfileFunction,
  type ValueType,
  SampleTableBuilder,
  StringPool,
} from '../core/profile.js';
import { decodeByteString } from './byte-strings.js';
import { ProtoReader, ProtoWriter, WIRE_LEN, WIRE_VARINT } from './protobuf.js';

interface RawValueType {
  type: number;
  unit: number;
}
interface RawLine {
  fnId: number;
  line: number;
  column: number;
}
interface RawLocation {
  id: number;
  mappingId: number;
  address: bigint;
  lines: RawLine[];
  isFolded: boolean;
}
interface RawFunction {
  id: number;
  name: number;
  systemName: number;
  filename: number;
  startLine: number;
}
interface RawMapping {
  id: number;
  memoryStart: bigint;
  memoryLimit: bigint;
  fileOffset: bigint;
  file: number;
  buildId: number;
  hasFunctions: boolean;
  hasFilenames: boolean;
  hasLineNumbers: boolean;
  hasInlineFrames: boolean;
}

function malformed(msg: string): LeakscopeError {
  return new LeakscopeError('E_MALFORMED', `malformed profile: ${msg}`);
}

function readValueType(r: ProtoReader, end: number): RawValueType {
  const saved = r.end;
  r.end = end;
  const vt: RawValueType = { type: 0, unit: 0 };
  while (r.pos < end) {
    const tag = r.readVarint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_VARINT) vt.type = r.readVarint32();
    else if (field === 2 && wire === WIRE_VARINT) vt.unit = r.readVarint32();
    else r.skip(wire);
  }
  r.end = saved;
  return vt;
}

function readMapping(r: ProtoReader, end: number): RawMapping {
  const saved = r.end;
  r.end = end;
  const m: RawMapping = {
    id: 0,
    memoryStart: 0n,
    memoryLimit: 0n,
    fileOffset: 0n,
    file: 0,
    buildId: 0,
    hasFunctions: false,
    hasFilenames: false,
    hasLineNumbers: false,
    hasInlineFrames: false,
  };
  while (r.pos < end) {
    const tag = r.readVarint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire !== WIRE_VARINT) {
      r.skip(wire);
      continue;
    }
    switch (field) {
      case 1: m.id = r.readId('mapping'); break;
      case 2: m.memoryStart = r.readUint64Big(); break;
      case 3: m.memoryLimit = r.readUint64Big(); break;
      case 4: m.fileOffset = r.readUint64Big(); break;
      case 5: m.file = r.readVarint32(); break;
      case 6: m.buildId = r.readVarint32(); break;
      case 7: m.hasFunctions = r.readBool(); break;
      case 8: m.hasFilenames = r.readBool(); break;
      case 9: m.hasLineNumbers = r.readBool(); break;
      case 10: m.hasInlineFrames = r.readBool(); break;
      default: r.skip(wire);
    }
  }
  r.end = saved;
  return m;
}

function readLine(r: ProtoReader, end: number): RawLine {
  const saved = r.end;
  r.end = end;
  const l: RawLine = { fnId: 0, line: 0, column: 0 };
  while (r.pos < end) {
    const tag = r.readVarint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire !== WIRE_VARINT) r.skip(wire);
    else if (field === 1) l.fnId = r.readId('function');
    else if (field === 2) l.line = r.readInt64();
    else if (field === 3) l.column = r.readInt64();
    else r.skip(wire);
  }
  r.end = saved;
  return l;
}

function readLocation(r: ProtoReader, end: number): RawLocation {
  const saved = r.end;
  r.end = end;
  const loc: RawLocation = { id: 0, mappingId: 0, address: 0n, lines: [], isFolded: false };
  while (r.pos < end) {
    const tag = r.readVarint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 4 && wire === WIRE_LEN) {
      const n = r.readLength('line');
      const e = r.pos + n;
      loc.lines.push(readLine(r, e));
      r.pos = e;
    } else if (wire !== WIRE_VARINT) r.skip(wire);
    else if (field === 1) loc.id = r.readId('location');
    else if (field === 2) loc.mappingId = r.readId('mapping');
    else if (field === 3) loc.address = r.readUint64Big();
    else if (field === 5) loc.isFolded = r.readBool();
    else r.skip(wire);
  }
  r.end = saved;
  return loc;
}

function readFunction(r: ProtoReader, end: number): RawFunction {
  const saved = r.end;
  r.end = end;
  const f: RawFunction = { id: 0, name: 0, systemName: 0, filename: 0, startLine: 0 };
  while (r.pos < end) {
    const tag = r.readVarint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire !== WIRE_VARINT) r.skip(wire);
    else if (field === 1) f.id = r.readId('function');
    else if (field === 2) f.name = r.readVarint32();
    else if (field === 3) f.systemName = r.readVarint32();
    else if (field === 4) f.filename = r.readVarint32();
    else if (field === 5) f.startLine = r.readInt64();
    else r.skip(wire);
  }
  r.end = saved;
  return f;
}

/** id → index lookup: a dense array when ids are compact (the usual case), else a Map. */
class IdIndex {
  private dense: Int32Array | null = null;
  private sparse: Map<number, number> | null = null;
  constructor(ids: number[], what: string) {
    let max = 0;
    for (const id of ids) if (id > max) max = id;
    if (max <= ids.length * 4 + 1024) {
      const d = new Int32Array(max + 1).fill(-1);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (d[id] !== -1) throw malformed(`multiple ${what}s with the same id ${id}`);
        d[id] = i;
      }
      this.dense = d;
    } else {
      const m = new Map<number, number>();
      for (let i = 0; i < ids.length; i++) {
        if (m.has(ids[i]!)) throw malformed(`multiple ${what}s with the same id ${ids[i]}`);
        m.set(ids[i]!, i);
      }
      this.sparse = m;
    }
  }
  get(id: number): number {
    if (this.dense) return id < this.dense.length ? this.dense[id]! : -1;
    const v = this.sparse!.get(id);
    return v === undefined ? -1 : v;
  }
}

/** Cheap check used by format sniffing: does this look like an uncompressed profile.proto? */
export function looksLikeProfile(buf: Uint8Array): boolean {
  if (buf.length === 0) return false;
  const tag = buf[0]!;
  const field = tag >>> 3;
  const wire = tag & 7;
  return field >= 1 && field <= 15 && (wire === WIRE_VARINT || wire === WIRE_LEN);
}

/**
 * Decodes an uncompressed profile.proto message. Throws LeakscopeError (E_TRUNCATED, E_CORRUPT,
 * E_MALFORMED, E_NOT_PROFILE) on bad input; never reads past `buf`.
 */
export function decodeProfile(buf: Uint8Array): Profile {
  if (buf.length === 0) throw new LeakscopeError('E_NOT_PROFILE', 'empty input: not a pprof profile');
  const r = new ProtoReader(buf);
  const sampleTypes: RawValueType[] = [];
  const mappings: RawMapping[] = [];
  const locations: RawLocation[] = [];
  const functions: RawFunction[] = [];
  const strings: string[] = [];
  const comments: number[] = [];
  let sampleSpans = new Uint32Array(256);
  let sampleCount = 0;
  let dropFrames = 0;
  let keepFrames = 0;
  let timeNanos = 0n;
  let durationNanos = 0n;
  let periodType: RawValueType | undefined;
  let period = 0;
  let defaultSampleType = 0;
  let docUrl = 0;

  const readBigField = (): bigint => {
    const v = r.readInt64();
    return r.lastBig !== undefined ? r.lastBig : BigInt(v);
  };

  while (r.pos < r.end) {
    const tag = r.readVarint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new LeakscopeError('E_CORRUPT', `corrupt protobuf: field number 0 at offset ${r.pos}`);
    if (wire === WIRE_LEN) {
      const n = r.readLength(fieldName(field));
      const start = r.pos;
      const end = start + n;
      switch (field) {
        case 1: sampleTypes.push(readValueType(r, end)); break;
        case 2:
          if (sampleCount * 2 + 2 > sampleSpans.length) {
            const s = new Uint32Array(sampleSpans.length * 2);
            s.set(sampleSpans);
            sampleSpans = s;
          }
          sampleSpans[sampleCount * 2] = start;
          sampleSpans[sampleCount * 2 + 1] = end;
          sampleCount++;
          break;
        case 3: mappings.push(readMapping(r, end)); break;
        case 4: locations.push(readLocation(r, end)); break;
        case 5: functions.push(readFunction(r, end)); break;
        case 6: r.pos = start - 0; strings.push(readStringAt(r, start, n)); break;
        case 11: periodType = readValueType(r, end); break;
        case 13: {
          // packed comments
          const saved = r.end;
          r.end = end;
          while (r.pos < end) comments.push(r.readVarint32());
          r.end = saved;
          break;
        }
        default: break;
      }
      r.pos = end;
      continue;
    }
    if (wire === WIRE_VARINT) {
      switch (field) {
        case 7: dropFrames = r.readVarint32(); break;
        case 8: keepFrames = r.readVarint32(); break;
        case 9: timeNanos = readBigField(); break;
        case 10: durationNanos = readBigField(); break;
        case 12: period = r.readInt64(); break;
        case 13: comments.push(r.readVarint32()); break;
        case 14: defaultSampleType = r.readVarint32(); break;
        case 15: docUrl = r.readVarint32(); break;
        default: r.readInt64();
      }
      continue;
    }
    if (field > 15 && r.pos < 16) {
      throw new LeakscopeError('E_NOT_PROFILE', 'not a pprof profile (unexpected protobuf layout)');
    }
    r.skip(wire);
  }

  if (strings.length === 0) {
    if (sampleTypes.length === 0 && sampleCount === 0 && locations.length === 0) {
      throw new LeakscopeError('E_NOT_PROFILE', 'not a pprof profile: no string table, sample types or samples');
    }
    throw malformed('missing string table');
  }
  if (strings[0] !== '') throw malformed('string_table[0] must be ""');
  const str = (i: number, what: string): string => {
    if (i >= strings.length) throw malformed(`${what} refers to string ${i}, beyond the string table (${strings.length} strings)`);
    return strings[i]!;
  };
  const vt = (v: RawValueType, what: string): ValueType => ({ type: str(v.type, what), unit: str(v.unit, what) });

  // Functions
  const fns: ProfileFunction[] = functions.map((f) => {
    if (f.id === 0) throw malformed('found function with reserved ID=0');
    return {
      id: f.id,
      name: str(f.name, 'function name'),
      systemName: str(f.systemName, 'function system name'),
      filename: str(f.filename, 'function filename'),
      startLine: f.startLine,
    };
  });
  const fnIndex = new IdIndex(functions.map((f) => f.id), 'function');

  const maps: Mapping[] = mappings.map((m) => {
    if (m.id === 0) throw malformed('found mapping with reserved ID=0');
    return {
      id: m.id,
      memoryStart: m.memoryStart,
      memoryLimit: m.memoryLimit,
      fileOffset: m.fileOffset,
      file: str(m.file, 'mapping file'),
      buildId: str(m.buildId, 'mapping build id'),
      hasFunctions: m.hasFunctions,
      hasFilenames: m.hasFilenames,
      hasLineNumbers: m.hasLineNumbers,
      hasInlineFrames: m.hasInlineFrames,
    };
  });
  const mapIndex = new IdIndex(mappings.map((m) => m.id), 'mapping');

  const locs: Location[] = locations.map((l) => {
    if (l.id === 0) throw malformed('found location with reserved ID=0');
    let mapping = -1;
    if (l.mappingId !== 0) {
      mapping = mapIndex.get(l.mappingId);
      if (mapping < 0) throw malformed(`location ${l.id} refers to mapping ${l.mappingId}, which does not exist`);
    }
    return {
      id: l.id,
      mapping,
      address: l.address,
      isFolded: l.isFolded,
      lines: l.lines.map((ln) => {
        let fn = -1;
        if (ln.fnId !== 0) {
          fn = fnIndex.get(ln.fnId);
          if (fn < 0) throw malformed(`location ${l.id} refers to function ${ln.fnId}, which does not exist`);
        }
        return { fn, line: ln.line, column: ln.column };
      }),
    };
  });
  const locIndex = new IdIndex(locations.map((l) => l.id), 'location');

  // Samples
  const nt = sampleTypes.length;
  // Every sample must carry nt values of at least one byte each: refuse before allocating
  // sampleCount × nt slots (tiny inputs could otherwise ask for many gigabytes).
  if (nt > 0 && sampleCount * nt > buf.length) {
    throw malformed(`${sampleCount} samples × ${nt} sample types cannot fit in ${buf.length} bytes (values missing)`);
  }
  // Count stack entries and labels first, so the typed arrays are allocated once, exactly.
  let stackTotal = 0;
  let labelTotal = 0;
  for (let s = 0; s < sampleCount; s++) {
    const end = sampleSpans[s * 2 + 1]!;
    r.pos = sampleSpans[s * 2]!;
    r.end = end;
    while (r.pos < end) {
      const tag = r.readVarint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 && wire === WIRE_LEN) {
        const n = r.readLength('location ids');
        const e = r.pos + n;
        for (let i = r.pos; i < e; i++) if (buf[i]! < 0x80) stackTotal++;
        r.pos = e;
      } else if (field === 1 && wire === WIRE_VARINT) {
        r.readInt64();
        stackTotal++;
      } else {
        if (field === 3 && wire === WIRE_LEN) labelTotal++;
        r.skip(wire);
      }
    }
  }
  const b = new SampleTableBuilder(nt, sampleCount + 1, stackTotal, labelTotal);
  const nstr = strings.length;
  for (let s = 0; s < sampleCount; s++) {
    const end = sampleSpans[s * 2 + 1]!;
    r.pos = sampleSpans[s * 2]!;
    r.end = end;
    let nv = 0;
    while (r.pos < end) {
      const tag = r.readVarint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1) {
        if (wire === WIRE_LEN) {
          const n = r.readLength('location ids');
          const e = r.pos + n;
          r.end = e;
          while (r.pos < e) {
            const id = r.readInt64();
            const li = id >= 0 && r.lastBig === undefined ? locIndex.get(id) : -1;
            if (li < 0) throw malformed(`sample refers to location ${r.lastBig ?? id}, which does not exist`);
            b.pushLocation(li);
          }
          r.end = end;
        } else if (wire === WIRE_VARINT) {
          const id = r.readInt64();
          const li = id >= 0 && r.lastBig === undefined ? locIndex.get(id) : -1;
          if (li < 0) throw malformed(`sample refers to location ${r.lastBig ?? id}, which does not exist`);
          b.pushLocation(li);
        } else r.skip(wire);
      } else if (field === 2) {
        if (wire === WIRE_LEN) {
          const n = r.readLength('values');
          const e = r.pos + n;
          r.end = e;
          while (r.pos < e) {
            const v = r.readInt64();
            if (nv < nt) {
              if (r.lastBig !== undefined) b.setBigValue(nv, r.lastBig);
              else b.setValue(nv, v);
            }
            nv++;
          }
          r.end = end;
        } else if (wire === WIRE_VARINT) {
          const v = r.readInt64();
          if (nv < nt) {
            if (r.lastBig !== undefined) b.setBigValue(nv, r.lastBig);
            else b.setValue(nv, v);
          }
          nv++;
        } else r.skip(wire);
      } else if (field === 3 && wire === WIRE_LEN) {
        const n = r.readLength('label');
        const e = r.pos + n;
        r.end = e;
        let key = 0;
        let sv = 0;
        let num = 0;
        let unit = 0;
        while (r.pos < e) {
          const t = r.readVarint32();
          const f = t >>> 3;
          const w = t & 7;
          if (w !== WIRE_VARINT) r.skip(w);
          else if (f === 1) key = r.readVarint32();
          else if (f === 2) sv = r.readVarint32();
          else if (f === 3) num = r.readInt64();
          else if (f === 4) unit = r.readVarint32();
          else r.skip(w);
        }
        if (key >= nstr || sv >= nstr || unit >= nstr) {
          throw malformed(`label refers to a string beyond the string table (${nstr} strings)`);
        }
        b.pushLabel(key, sv, num, unit);
        r.end = end;
      } else r.skip(wire);
    }
    if (nv !== nt) throw malformed(`mismatch: sample has ${nv} values vs. ${nt} types`);
    b.endSample();
  }

  const commentStrings = comments.map((c) => str(c, 'comment'));
  return {
    sampleTypes: sampleTypes.map((v) => vt(v, 'sample type')),
    samples: b.build(),
    mappings: maps,
    locations: locs,
    functions: fns,
    strings,
    dropFrames: str(dropFrames, 'drop_frames'),
    keepFrames: str(keepFrames, 'keep_frames'),
    timeNanos,
    durationNanos,
    periodType: periodType ? vt(periodType, 'period type') : undefined,
    period,
    comments: commentStrings,
    defaultSampleType: str(defaultSampleType, 'default_sample_type'),
    docUrl: str(docUrl, 'doc_url'),
  };
}

function readStringAt(r: ProtoReader, start: number, n: number): string {
  // readString expects to read the length itself; we already did, so decode in place.
  r.pos = start;
  const saved = r.end;
  r.end = start + n;
  const s = decodeUtf8(r.buf, start, start + n);
  r.end = saved;
  return s;
}

function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return '';
  if (n < 64) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
      return s;
    }
  }
  // bytes that are not UTF-8 are kept (escaped), so that reports print them as pprof does
  return decodeByteString(buf, start, end);
}

function fieldName(field: number): string {
  return (
    ['', 'sample_type', 'sample', 'mapping', 'location', 'function', 'string_table', 'drop_frames', 'keep_frames',
      'time_nanos', 'duration_nanos', 'period_type', 'period', 'comment', 'default_sample_type', 'doc_url'][field] ??
    `field ${field}`
  );
}

/**
 * Encodes a Profile as uncompressed profile.proto. Ids are written as stored (they must be
 * non-zero and unique, as decodeProfile guarantees); the string table is rebuilt.
 */
export function encodeProfile(p: Profile): Uint8Array {
  const pool = new StringPool();
  const s = (x: string) => pool.intern(x);
  const w = new ProtoWriter(64 * 1024 + p.samples.count * 16);
  const m = new ProtoWriter(256);
  const writeVT = (field: number, v: ValueType) => {
    m.reset();
    m.fieldInt(1, s(v.type));
    m.fieldInt(2, s(v.unit));
    w.fieldMessage(field, m);
  };
  for (const st of p.sampleTypes) writeVT(1, st);

  // samples
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const packed = new ProtoWriter(256);
  const labelKeyMap = new Map<number, number>();
  const ls = (i: number): number => {
    let v = labelKeyMap.get(i);
    if (v === undefined) {
      v = s(p.strings[i] ?? '');
      labelKeyMap.set(i, v);
    }
    return v;
  };
  for (let i = 0; i < t.count; i++) {
    m.reset();
    const a = t.stackStart[i]!;
    const z = t.stackStart[i + 1]!;
    if (z > a) {
      packed.reset();
      for (let k = a; k < z; k++) packed.varint(p.locations[t.stack[k]!]!.id);
      m.fieldMessage(1, packed);
    }
    if (nt > 0) {
      packed.reset();
      for (let k = 0; k < nt; k++) {
        const big = t.bigValues?.get(i * nt + k);
        if (big !== undefined) packed.int64Big(big);
        else packed.int64(t.values[i * nt + k]!);
      }
      m.fieldMessage(2, packed);
    }
    for (let k = t.labelStart[i]!; k < t.labelStart[i + 1]!; k++) {
      packed.reset();
      packed.fieldInt(1, ls(t.labelKey[k]!));
      packed.fieldInt(2, ls(t.labelStr[k]!));
      packed.fieldInt(3, t.labelNum[k]!);
      packed.fieldInt(4, ls(t.labelUnit[k]!));
      m.fieldMessage(3, packed);
    }
    w.fieldMessage(2, m);
  }

  for (const mp of p.mappings) {
    m.reset();
    m.fieldInt(1, mp.id);
    m.fieldBig(2, mp.memoryStart);
    m.fieldBig(3, mp.memoryLimit);
    m.fieldBig(4, mp.fileOffset);
    m.fieldInt(5, s(mp.file));
    m.fieldInt(6, s(mp.buildId));
    m.fieldBool(7, mp.hasFunctions);
    m.fieldBool(8, mp.hasFilenames);
    m.fieldBool(9, mp.hasLineNumbers);
    m.fieldBool(10, mp.hasInlineFrames);
    w.fieldMessage(3, m);
  }

  const lw = new ProtoWriter(64);
  for (const loc of p.locations) {
    m.reset();
    m.fieldInt(1, loc.id);
    if (loc.mapping >= 0) m.fieldInt(2, p.mappings[loc.mapping]!.id);
    m.fieldBig(3, loc.address);
    for (const ln of loc.lines) {
      lw.reset();
      if (ln.fn >= 0) lw.fieldInt(1, p.functions[ln.fn]!.id);
      lw.fieldInt(2, ln.line);
      lw.fieldInt(3, ln.column);
      m.fieldMessage(4, lw);
    }
    m.fieldBool(5, loc.isFolded);
    w.fieldMessage(4, m);
  }

  for (const f of p.functions) {
    m.reset();
    m.fieldInt(1, f.id);
    m.fieldInt(2, s(f.name));
    m.fieldInt(3, s(f.systemName));
    m.fieldInt(4, s(f.filename));
    m.fieldInt(5, f.startLine);
    w.fieldMessage(5, m);
  }

  // Intern every remaining string before writing the table.
  const drop = s(p.dropFrames);
  const keep = s(p.keepFrames);
  const periodType = p.periodType;
  const ptType = periodType ? s(periodType.type) : 0;
  const ptUnit = periodType ? s(periodType.unit) : 0;
  const comments = p.comments.map(s);
  const dst = s(p.defaultSampleType);
  const doc = s(p.docUrl);

  for (const str of pool.strings) w.fieldString(6, str);
  w.fieldInt(7, drop);
  w.fieldInt(8, keep);
  w.fieldBig(9, p.timeNanos);
  w.fieldBig(10, p.durationNanos);
  if (periodType) {
    m.reset();
    m.fieldInt(1, ptType);
    m.fieldInt(2, ptUnit);
    w.fieldMessage(11, m);
  }
  w.fieldInt(12, p.period);
  if (comments.length > 0) {
    packed.reset();
    for (const c of comments) packed.varint(c);
    w.fieldMessage(13, packed);
  }
  w.fieldInt(14, dst);
  w.fieldInt(15, doc);
  return w.finish();
}
