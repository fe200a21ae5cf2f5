/**
 * The shell's language, as go tool pprof's interactive mode speaks it (internal/driver/interactive.go
 * and its variables): `name=value` sets an option for the rest of the session, `group=member` picks
 * one of a group (`granularity=lines`, `sort=cum`), a sample type's name alone selects it, `:`
 * clears the filters, and a command line `top20 -cum main -runtime >out.txt` takes a count, `-cum`,
 * focus regexes, `-`ignore regexes and an output file for that one command only.
 *
 * No I/O here: a line becomes an action; the action for a report command is the argv of the matching
 * leakscope command, so the shell prints exactly what that command prints.
 */
import { compileTagFilter } from '../core/tags.js';
import { LeakscopeError } from '../core/errors.js';

export type VarKind = 'bool' | 'int' | 'float' | 'string';

export interface VarDef {
  kind: VarKind;
  /** go tool pprof's value when nothing was set (as its `-flag` default, so that output matches the commands) */
  def: string;
  help: string;
  /** leakscope's long option, when it differs from the name with `_` → `-` */
  flag?: string;
}

/** pprof's options (the ones `o` lists), with its defaults and help. */
export const PPROF_VARS: Record<string, VarDef> = {
  call_tree: { kind: 'bool', def: 'false', help: 'Create a context-sensitive call tree' },
  compact_labels: { kind: 'bool', def: 'false', help: 'Show minimal headers' },
  divide_by: { kind: 'float', def: '1', help: 'Ratio to divide all samples before visualization' },
  drop_negative: { kind: 'bool', def: 'false', help: 'Ignore negative differences' },
  edgefraction: { kind: 'float', def: '0.001', help: 'Hide edges below <f>*total', flag: 'edge-fraction' },
  focus: { kind: 'string', def: '', help: 'Restricts to samples going through a node matching regexp' },
  hide: { kind: 'string', def: '', help: 'Skips nodes matching regexp' },
  ignore: { kind: 'string', def: '', help: 'Skips paths going through any nodes matching regexp' },
  mean: { kind: 'bool', def: 'false', help: 'Average sample value over first value (count)' },
  nodecount: { kind: 'int', def: '-1', help: 'Max number of nodes to show' },
  nodefraction: { kind: 'float', def: '0.005', help: 'Hide nodes below <f>*total', flag: 'node-fraction' },
  noinlines: { kind: 'bool', def: 'false', help: 'Ignore inlines.' },
  normalize: { kind: 'bool', def: 'false', help: 'Scales profile based on the base profile.' },
  output: { kind: 'string', def: '', help: 'Output filename for file-based outputs' },
  prune_from: { kind: 'string', def: '', help: 'Drops any functions below the matched frame.' },
  relative_percentages: { kind: 'bool', def: 'false', help: 'Show percentages relative to focused subgraph' },
  sample_index: { kind: 'string', def: '', help: 'Sample value to report (0-based index or name)' },
  show: { kind: 'string', def: '', help: 'Only show nodes matching regexp' },
  show_from: { kind: 'string', def: '', help: 'Drops functions above the highest matched frame.' },
  source_path: { kind: 'string', def: '', help: 'Search path for source files' },
  tagfocus: { kind: 'string', def: '', help: 'Restricts to samples with tags in range or matched by regexp' },
  taghide: { kind: 'string', def: '', help: 'Skip tags matching this regexp' },
  tagignore: { kind: 'string', def: '', help: 'Discard samples with tags in range or matched by regexp' },
  tagleaf: { kind: 'string', def: '', help: 'Adds pseudo stack frames for labels key/value pairs at the callstack leaf.' },
  tagroot: { kind: 'string', def: '', help: 'Adds pseudo stack frames for labels key/value pairs at the callstack root.' },
  tagshow: { kind: 'string', def: '', help: 'Only consider tags matching this regexp' },
  trim: { kind: 'bool', def: 'true', help: 'Honor nodefraction/edgefraction/nodecount defaults' },
  trim_path: { kind: 'string', def: '', help: 'Path to trim from source paths before search' },
  unit: { kind: 'string', def: 'minimum', help: 'Measurement units to display' },
};

/** pprof's option groups: exactly one member is set. */
export const PPROF_GROUPS: Record<string, { def: string; members: Record<string, string> }> = {
  granularity: {
    def: 'functions',
    members: {
      functions: 'Aggregate at the function level.',
      filefunctions: 'Aggregate at the function level.',
      files: 'Aggregate at the file level.',
      lines: 'Aggregate at the source code line level.',
      addresses: 'Aggregate at the address level.',
    },
  },
  sort: { def: 'flat', members: { cum: 'Sort entries based on cumulative weight', flat: 'Sort entries based on own weight' } },
};

/** The commands the shell runs, with pprof's help lines; `param` ones take a regex first. */
export const SHELL_COMMANDS: Record<string, { help: string; param?: boolean }> = {
  dot: { help: 'Outputs a graph in DOT format' },
  list: { help: 'Output annotated source for functions matching regexp', param: true },
  peek: { help: 'Output callers/callees of functions matching regexp', param: true },
  svg: { help: 'Outputs a graph in SVG format' },
  tags: { help: 'Outputs all tags in the profile' },
  text: { help: 'Outputs top entries in text form' },
  top: { help: 'Outputs top entries in text form' },
  traces: { help: 'Outputs all profile samples in text form' },
  tree: { help: 'Outputs a text rendering of call graph' },
  web: { help: "Serves leakscope's web UI (flame graph, top, graph, source) on this profile" },
};

/** pprof commands leakscope's shell does not have (a clear line instead of "unrecognized"). */
const PPROF_ONLY = ['callgrind', 'comments', 'disasm', 'eog', 'evince', 'gif', 'gv', 'kcachegrind', 'pdf', 'png', 'proto', 'ps', 'raw', 'topproto', 'weblist'];

/** The leakscope option a pprof variable maps to. */
export function flagOf(name: string): string {
  return PPROF_VARS[name]?.flag ?? name.replace(/_/g, '-');
}

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

export type Action =
  | { kind: 'none' }
  | { kind: 'quit' }
  | { kind: 'options' }
  | { kind: 'help'; topic: string }
  | { kind: 'set'; message?: string }
  /** argv: the leakscope command and its flags; params (a regex) go before the sources */
  | { kind: 'run'; command: string; argv: string[]; params: string[]; output?: string };

/**
 * The session's options. `supported` is the report flag table of the leakscope commands: an option
 * is offered when its leakscope flag exists there (so flags added to the commands appear here too).
 */
export class ShellState {
  readonly values = new Map<string, string>();
  readonly groups = new Map<string, string>();

  constructor(
    private readonly supported: FlagSpec,
    /** sample_index's check and canonical name (pprof's SampleIndexByName), from the loaded profile */
    private readonly checkSampleIndex: (v: string) => string,
    private readonly checkRegex: (re: string, what: string) => void,
    readonly sampleTypes: string[],
    /** the sample type shown when none was chosen */
    readonly defaultSampleType: string,
  ) {
    for (const [n, v] of Object.entries(PPROF_VARS)) this.values.set(n, v.def);
    for (const [g, d] of Object.entries(PPROF_GROUPS)) this.groups.set(g, d.def);
  }

  /** Whether leakscope's commands take this pprof option. */
  isSupported(name: string): boolean {
    if (name === 'output' || name === 'trim') return true;
    const f = this.supported[flagOf(name)];
    return f !== undefined && (PPROF_VARS[name]!.kind === 'bool') === (f.type === 'boolean');
  }

  /** `name=value` (pprof's variables.set, with values checked as they are set). */
  set(name: string, raw: string): void {
    const def = PPROF_VARS[name];
    if (!def) throw new LeakscopeError('E_USAGE', `unrecognized option: ${name}`);
    if (!this.isSupported(name)) throw new LeakscopeError('E_USAGE', `option ${name} is not supported by leakscope`);
    let value = raw;
    switch (def.kind) {
      case 'bool': {
        const b = parseBool(value);
        if (b === undefined) throw new LeakscopeError('E_USAGE', `unrecognized value for ${name}: "${value}", want a boolean`);
        value = String(b);
        break;
      }
      case 'int':
        if (!/^[-+]?\d+$/.test(value)) throw new LeakscopeError('E_USAGE', `unrecognized value for ${name}: "${value}", want an integer`);
        value = String(Number(value));
        break;
      case 'float':
        if (value.trim() === '' || !Number.isFinite(Number(value))) throw new LeakscopeError('E_USAGE', `unrecognized value for ${name}: "${value}", want a number`);
        break;
      case 'string':
        if (name === 'sample_index') value = this.checkSampleIndex(value);
        else if (value !== '' && (name === 'focus' || name === 'ignore' || name === 'hide' || name === 'show' || name === 'show_from' || name === 'prune_from' || name === 'tagshow' || name === 'taghide')) this.checkRegex(value, name);
        else if (name === 'tagfocus' || name === 'tagignore') compileTagFilter(name, value, new Map()); // its regexes and ranges, checked as it is set
        break;
    }
    this.values.set(name, value);
  }

  setGroup(group: string, member: string): void {
    this.groups.set(group, member);
  }

  /** `o`: pprof's printCurrentOptions layout, for the options leakscope takes. */
  optionsText(): string {
    const rows: string[] = [];
    for (const n of Object.keys(PPROF_VARS)) {
      if (n === 'source_path' || !this.isSupported(n)) continue;
      let v = this.values.get(n)!;
      let comment = '';
      if (n === 'sample_index') {
        if (v === '') v = this.defaultSampleType;
        comment = '[' + this.sampleTypes.join(' | ') + ']';
      } else if (n === 'nodecount' && v === '-1') comment = 'default';
      else if (v === '') v = '""';
      rows.push(`  ${n.padEnd(25)} = ${v.padEnd(20)} ${comment ? `//: ${comment}` : ''}`);
    }
    for (const [g, d] of Object.entries(PPROF_GROUPS)) {
      rows.push(`  ${g.padEnd(25)} = ${this.groups.get(g)!.padEnd(20)} //: [${Object.keys(d.members).sort().join(' | ')}]`);
    }
    rows.sort();
    return rows.join('\n') + '\n';
  }

  /** The leakscope flags of the current options plus one command's own (count, -cum, focus, ignore). */
  flags(command: string, extra: { nodecount?: string; cum?: boolean; focus?: string; ignore?: string }): string[] {
    const v = new Map(this.values);
    if (extra.nodecount !== undefined) v.set('nodecount', extra.nodecount);
    if (extra.focus) v.set('focus', catRegex(v.get('focus')!, extra.focus));
    if (extra.ignore) v.set('ignore', catRegex(v.get('ignore')!, extra.ignore));
    if (v.get('nodecount') === '-1' && (command === 'top' || command === 'text')) v.set('nodecount', '10');
    // pprof: trim=false drops every limit, whatever was set (a count given to the command too)
    if (v.get('trim') === 'false') {
      v.set('nodecount', '0');
      v.set('nodefraction', '0');
      v.set('edgefraction', '0');
    }
    const out: string[] = [];
    for (const [n, def] of Object.entries(PPROF_VARS)) {
      if (n === 'output' || n === 'trim') continue;
      const value = v.get(n)!;
      if (value === def.def || (n === 'nodecount' && value === '-1')) continue;
      if (!this.isSupported(n)) continue;
      if (def.kind === 'bool') {
        if (value === 'true') out.push(`--${flagOf(n)}`);
      } else out.push(`--${flagOf(n)}=${value}`);
    }
    const g = this.groups.get('granularity')!;
    if (g !== 'functions') out.push(`--granularity=${g}`);
    if (extra.cum || this.groups.get('sort') === 'cum') out.push('--cum');
    return out;
  }

  /**
   * One input line → an action. Throws LeakscopeError (E_USAGE, E_REGEX, E_SAMPLE_INDEX) with the
   * one line to print; the state is unchanged then.
   */
  parse(line: string): Action {
    const input = line.trim();
    if (input === '') return { kind: 'none' };
    if (input === ':') {
      for (const n of ['focus', 'ignore', 'hide', 'tagfocus', 'tagignore']) this.values.set(n, '');
      return { kind: 'set' };
    }
    // a sample type's name alone selects it (pprof's profileShortcuts), total_X too (mean=0)
    const st = this.sampleTypes.find((t) => t === input || `total_${t}` === input);
    if (st !== undefined) {
      this.set('sample_index', st);
      return { kind: 'set' };
    }
    if (this.sampleTypes.some((t) => `mean_${t}` === input)) throw new LeakscopeError('E_USAGE', 'option mean is not supported by leakscope');
    const eq = input.indexOf('=');
    if (eq >= 0) {
      const name = input.slice(0, eq).trim();
      let value = input.slice(eq + 1);
      const comment = value.lastIndexOf('//:');
      if (comment !== -1) value = value.slice(0, comment);
      value = value.trim();
      const def = PPROF_VARS[name];
      if (def) {
        if (def.kind !== 'bool' && value === '') throw new LeakscopeError('E_USAGE', `please input a value, e.g. ${name}=<val>`);
        this.set(name, value === '' ? 'true' : value);
        return { kind: 'set' };
      }
      const group = PPROF_GROUPS[name];
      if (group) {
        if (!Object.hasOwn(group.members, value)) {
          throw new LeakscopeError('E_USAGE', `unrecognized value for ${name}: "${value}". Use one of ${Object.keys(group.members).sort().join(', ')}`);
        }
        this.setGroup(name, value);
        return { kind: 'set' };
      }
      // a group member as a boolean: lines=true, cum=1
      for (const [g, d] of Object.entries(PPROF_GROUPS)) {
        if (Object.hasOwn(d.members, name)) {
          const b = parseBool(value === '' ? 'true' : value);
          if (b === undefined) throw new LeakscopeError('E_USAGE', `unrecognized value for ${name}: "${value}", want a boolean`);
          if (b) this.setGroup(g, name);
          else if (this.groups.get(g) === name) this.setGroup(g, PPROF_GROUPS[g]!.def);
          return { kind: 'set' };
        }
      }
    }
    const tokens = input.split(/\s+/);
    const first = tokens[0]!;
    switch (first) {
      case 'o':
      case 'options':
        return { kind: 'options' };
      case 'q':
      case 'exit':
      case 'quit':
        return { kind: 'quit' };
      case 'help':
        return { kind: 'help', topic: tokens.slice(1).join(' ') };
    }
    let name = first;
    let args = tokens.slice(1);
    if (!Object.hasOwn(SHELL_COMMANDS, name)) {
      const d = /\d+$/.exec(name)?.[0];
      if (d !== undefined && d !== name && Object.hasOwn(SHELL_COMMANDS, name.slice(0, -d.length))) {
        name = name.slice(0, -d.length);
        args = [d, ...args];
      }
    }
    const cmd = Object.hasOwn(SHELL_COMMANDS, name) ? SHELL_COMMANDS[name]! : undefined;
    if (!cmd) {
      if (Object.hasOwn(PPROF_VARS, name) || Object.hasOwn(PPROF_GROUPS, name)) throw new LeakscopeError('E_USAGE', `did you mean: ${name}=${args[0] ?? '<value>'}`);
      if (PPROF_ONLY.includes(name)) throw new LeakscopeError('E_USAGE', `command ${name} is not available in leakscope (type "help" for the commands)`);
      throw new LeakscopeError('E_USAGE', `unrecognized command: "${name}"`);
    }
    const params: string[] = [];
    if (cmd.param) {
      if (args.length === 0) throw new LeakscopeError('E_USAGE', `command ${name} requires an argument`);
      params.push(args[0]!);
      this.checkRegex(args[0]!, name);
      args = args.slice(1);
    }
    const extra: { nodecount?: string; cum?: boolean; focus?: string; ignore?: string } = {};
    let output = this.values.get('output') || undefined;
    for (let i = 0; i < args.length; i++) {
      const t = args[i]!;
      if (/^[-+]?\d+$/.test(t) && Math.abs(Number(t)) < 2 ** 31) {
        extra.nodecount = String(Number(t));
        continue;
      }
      if (t.startsWith('>')) {
        output = t.slice(1);
        if (output === '') {
          i++;
          if (i >= args.length) throw new LeakscopeError('E_USAGE', 'unexpected end of line after >');
          output = args[i]!;
        }
      } else if (t === '-cum' || t === '--cum') extra.cum = true;
      else if (t.startsWith('-')) extra.ignore = catRegex(extra.ignore ?? '', t.slice(1));
      else extra.focus = catRegex(extra.focus ?? '', t);
    }
    if (extra.focus) this.checkRegex(extra.focus, 'focus');
    if (extra.ignore) this.checkRegex(extra.ignore, 'ignore');
    if (extra.nodecount !== undefined && Number(extra.nodecount) < 0) extra.nodecount = '-1';
    const flags = this.flags(name, extra);
    let argv: string[];
    if (name === 'top' || name === 'text') argv = ['top', ...flags];
    else if (name === 'dot' || name === 'svg') argv = ['graph', `--format=${name}`, ...flags];
    else argv = [name, ...flags];
    return output === undefined ? { kind: 'run', command: name, argv, params } : { kind: 'run', command: name, argv, params, output };
  }

  /** `help` and `help <cmd|option>`, in pprof's layout, for what leakscope's shell has. */
  help(topic: string): string {
    if (topic === '') {
      const lines = ['  Commands:'];
      for (const [n, c] of Object.entries(SHELL_COMMANDS)) lines.push(`    ${n.padEnd(16)} ${c.help}`);
      lines.push(`    ${'o/options'.padEnd(16)} List options and their current values`);
      lines.push(`    ${'q/quit/exit/^D'.padEnd(16)} Exit the shell`, '', '  Options:');
      for (const [n, v] of Object.entries(PPROF_VARS)) if (this.isSupported(n)) lines.push(`    ${n.padEnd(16)} ${v.help}`);
      lines.push('', '  Option groups (only set one per group):');
      for (const [g, d] of Object.entries(PPROF_GROUPS)) {
        lines.push(`    ${g.padEnd(16)} `);
        for (const [m, h] of Object.entries(d.members)) lines.push(`      ${m.padEnd(16)} ${h}`);
      }
      lines.push('  :   Clear focus/ignore/hide/tagfocus/tagignore', '', '  type "help <cmd|option>" for more information');
      return lines.join('\n') + '\n';
    }
    if (Object.hasOwn(SHELL_COMMANDS, topic)) {
      const c = SHELL_COMMANDS[topic]!;
      const usage = c.param ? `${topic} <regexp> [n] [focus_regex]* [-ignore_regex]* [-cum] [>f]` : `${topic} [n] [focus_regex]* [-ignore_regex]* [-cum] [>f]`;
      return `${c.help}\n  Usage:\n    ${usage}\n    Include up to n samples\n    Include samples matching focus_regex, and exclude ignore_regex.\n`;
    }
    if (Object.hasOwn(PPROF_VARS, topic)) {
      let h = PPROF_VARS[topic]!.help + '\n';
      if (topic === 'sample_index') h += `Or use sample_index=name, with name in [${this.sampleTypes.join(' ')}].\n`;
      return h;
    }
    if (Object.hasOwn(PPROF_GROUPS, topic)) return `${topic}: one of ${Object.keys(PPROF_GROUPS[topic]!.members).join(', ')}\n`;
    throw new LeakscopeError('E_USAGE', `Unknown command: ${topic}`);
  }
}

function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

function catRegex(a: string, b: string): string {
  return a !== '' && b !== '' ? `${a}|${b}` : a + b;
}
