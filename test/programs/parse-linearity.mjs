// Times the heap-snapshot parser on hostile inputs at two sizes, for test/hostile-inputs.test.ts:
// each shape is a valid snapshot with one long run (whitespace in every section and between
// sections, after the "nodes" key, a long number, a long string, escapes, a skipped section),
// parsed in one chunk and in small chunks, in the modes the readers use. Linear parsing takes about
// 4× as long for 4× the input; the parser this guards against rescanned runs (16× or hours).
//   node parse-linearity.mjs DIST [SIZE]   → one JSON line: { shape: { small: ms, large: ms } }
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(path.resolve(process.argv[2])).href;
const { HeapSnapshotParser } = await import(`${dist}/src/formats/heapsnapshot.js`);
const SIZE = Number(process.argv[3] ?? 2 * 2 ** 20);

const meta = {
  node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
  node_types: [['hidden', 'object'], 'string', 'number', 'number', 'number', 'number', 'number'],
  edge_fields: ['type', 'name_or_index', 'to_node'],
  edge_types: [['property', 'element'], 'string_or_number', 'node'],
  location_fields: ['object_index', 'script_id', 'line', 'column'],
};
const head = (edges) => `{"snapshot":{"meta":${JSON.stringify(meta)},"node_count":2,"edge_count":${edges}},\n`;
// two nodes (the root holds one object by property "a"); `w` is the hostile run
const shapes = {
  wsNodes: (w) => `${head(1)}"nodes":[1,0,1,0,1,0,0,${' '.repeat(w)}1,1,3,0,0,0,0],"edges":[0,1,7],"strings":["","a"]}`,
  newlinesNodes: (w) => `${head(1)}"nodes":[1,0,1,0,1,0,0${'\n,'.repeat(w >> 1)}1,1,3,0,0,0,0],"edges":[0,1,7],"strings":["","a"]}`,
  wsEdges: (w) => `${head(2)}"nodes":[1,0,1,0,2,0,0,1,1,3,0,0,0,0],"edges":[0,1,7,${' '.repeat(w)}0,1,7],"strings":["","a"]}`,
  wsLocations: (w) => `${head(1)}"nodes":[1,0,1,0,1,0,0,1,1,3,0,0,0,0],"edges":[0,1,7],"locations":[7,1,2,3,${'\t'.repeat(w)}7,1,4,5],"strings":["","a"]}`,
  wsStrings: (w) => `${head(1)}"nodes":[1,0,1,0,1,0,0,1,1,3,0,0,0,0],"edges":[0,1,7],"strings":["",${' \n'.repeat(w >> 1)}"a"]}`,
  wsBetween: (w) => `${head(1)}"nodes":[1,0,1,0,1,0,0,1,1,3,0,0,0,0]${' '.repeat(w)},"edges":[0,1,7]${'\r\n'.repeat(w >> 1)},"strings":["","a"]${' '.repeat(w)}}`,
  longNumber: (w) => `${head(1)}"nodes":[1,0,1,0,1,0,0,1,1,3,${'0'.repeat(w)}7,0,0,0],"edges":[0,1,7],"strings":["","a"]}`,
  longString: (w) => `${head(1)}"nodes":[1,0,1,0,1,0,0,1,1,3,0,0,0,0],"edges":[0,1,7],"strings":["","${'x'.repeat(w)}"]}`,
  escapes: (w) => `${head(1)}"nodes":[1,0,1,0,1,0,0,1,1,3,0,0,0,0],"edges":[0,1,7],"strings":["","${'\\n\\u00e9'.repeat(w >> 3)}"]}`,
  skipped: (w) => `${head(1)}"nodes":[1,0,1,0,1,0,0,1,1,3,0,0,0,0],"edges":[0,1,7],"trace_tree":[${' '.repeat(w >> 1)}"${'\\"'.repeat(w >> 2)}"],"strings":["","a"]}`,
};
// the readers' other modes, on the shapes they read
const modes = {
  wsNodes: [{}, { horizonOnly: true }, { idsOnly: true }],
  wsEdges: [{}, { edgesOnly: true }, { skipEdges: true }],
};

function parse(buf, chunk, opts) {
  const p = new HeapSnapshotParser(opts);
  for (let o = 0; o < buf.length && !p.done; o += chunk) p.push(buf.subarray(o, o + chunk));
  if (opts.horizonOnly) return p.horizon();
  if (opts.edgesOnly) return p.edges();
  const r = p.finish();
  if (r.nodeCount !== 2 || r.strings.length !== (opts.idsOnly ? 0 : 2)) throw new Error('wrong result');
  return r;
}

/** the least of three runs, in ms */
function time(buf, chunk, opts) {
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    parse(buf, chunk, opts);
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

const out = {};
for (const [name, make] of Object.entries(shapes)) {
  const small = Buffer.from(make(SIZE));
  const large = Buffer.from(make(4 * SIZE));
  for (const opts of modes[name] ?? [{}]) {
    for (const chunk of [Infinity, 65536]) {
      const key = `${name}${Object.keys(opts).map((k) => `/${k}`).join('')}/${chunk === Infinity ? 'one chunk' : `${chunk} B chunks`}`;
      out[key] = { small: time(small, chunk, opts), large: time(large, chunk, opts) };
    }
  }
}
// The header (at most 1 MB): whitespace after the "nodes" key, and inside the header object; in
// one chunk, and one byte at a time (a slow network)
const rest = '[1,0,1,0,1,0,0,1,1,3,0,0,0,0],"edges":[0,1,7],"strings":["","a"]}';
const headers = {
  wsAfterNodesKey: (w) => Buffer.from(`${head(1)}"nodes"${' '.repeat(w)}:${rest}`),
  wsInHeader: (w) => Buffer.from(`{${' '.repeat(w)}"snapshot"${'\n'.repeat(w)}:{"meta":${JSON.stringify(meta)},"node_count":2,"edge_count":1}${' '.repeat(w)},"nodes":${rest}`),
};
for (const [name, make] of Object.entries(headers)) {
  for (const chunk of [Infinity, 1]) {
    out[`${name}/${chunk === 1 ? '1 B chunks' : 'one chunk'}`] = { small: time(make(60_000), chunk, {}), large: time(make(240_000), chunk, {}) };
  }
}
process.stdout.write(JSON.stringify(out));
