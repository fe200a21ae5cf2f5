/**
 * Builds small .heapsnapshot JSON texts by hand, for tests that need exact graphs: node types,
 * edge types and field orders can be varied the way different V8 versions vary them.
 */
export interface BuildEdge {
  type: string;
  /** property name, or element index for element/hidden edges */
  name: string | number;
  to: number;
}

export interface BuildNode {
  type: string;
  name: string;
  id: number;
  self: number;
  edges?: BuildEdge[];
}

export interface BuildOptions {
  nodeFields?: string[];
  nodeTypes?: string[];
  edgeTypes?: string[];
  /** [ordinal, scriptId, line, column] */
  locations?: number[][];
  /** extra top-level sections written before "strings" */
  extra?: string;
}

export const DEFAULT_NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape'];
export const DEFAULT_EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

export function buildSnapshot(nodes: BuildNode[], opts: BuildOptions = {}): string {
  const nodeFields = opts.nodeFields ?? ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
  const nodeTypes = opts.nodeTypes ?? DEFAULT_NODE_TYPES;
  const edgeTypes = opts.edgeTypes ?? DEFAULT_EDGE_TYPES;
  const strings: string[] = ['<dummy>'];
  const index = new Map<string, number>();
  const str = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    return i;
  };
  const nf = nodeFields.length;
  const nodeNums: number[] = [];
  const edgeNums: number[] = [];
  for (const n of nodes) {
    for (const f of nodeFields) {
      if (f === 'type') nodeNums.push(nodeTypes.indexOf(n.type));
      else if (f === 'name') nodeNums.push(str(n.name));
      else if (f === 'id') nodeNums.push(n.id);
      else if (f === 'self_size') nodeNums.push(n.self);
      else if (f === 'edge_count') nodeNums.push(n.edges?.length ?? 0);
      else nodeNums.push(0);
    }
    for (const e of n.edges ?? []) {
      const numeric = e.type === 'element' || e.type === 'hidden';
      edgeNums.push(edgeTypes.indexOf(e.type), numeric ? Number(e.name) : str(String(e.name)), e.to * nf);
    }
  }
  const nodeTypesMeta: unknown[] = nodeFields.map((f) => (f === 'type' ? nodeTypes : f === 'name' ? 'string' : 'number'));
  const meta = {
    node_fields: nodeFields,
    node_types: nodeTypesMeta,
    edge_fields: ['type', 'name_or_index', 'to_node'],
    edge_types: [edgeTypes, 'string_or_number', 'node'],
    location_fields: ['object_index', 'script_id', 'line', 'column'],
  };
  const loc = (opts.locations ?? []).map(([o, s, l, c]) => [o! * nf, s, l, c]).flat();
  return (
    `{"snapshot":{"meta":${JSON.stringify(meta)},"node_count":${nodes.length},"edge_count":${edgeNums.length / 3},"trace_function_count":0},\n` +
    `"nodes":[${nodeNums.join(',')}],\n"edges":[${edgeNums.join(',')}],\n` +
    `"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n"locations":[${loc.join(',')}],\n` +
    (opts.extra ?? '') +
    `"strings":[${strings.map((s) => JSON.stringify(s)).join(',\n')}]}`
  );
}
