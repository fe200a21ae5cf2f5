/**
 * Frame resolution through source maps, for the agent: reads a script's `sourceMappingURL` (a
 * file next to it or a data: URL), decodes the map with the pure decoder and caches it per script.
 * Scripts without a map, maps that fail to parse and files that cannot be read resolve to the
 * plain JS frame; nothing here throws.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type SourceMapIndex,
  decodeDataUrl,
  findSourceMappingURL,
  lookupSourceMap,
  parseSourceMap,
} from '../core/agent-sourcemap.js';
import { type FrameResolver, type ResolvedFrame, type V8CallFrame, defaultResolveFrame } from '../formats/v8-profiles.js';

const MAX_SCRIPT_BYTES = 64 * 1024 * 1024;
const MAX_MAPS = 2000;

export class SourceMapResolver {
  private readonly maps = new Map<string, { map: SourceMapIndex; dir: string } | null>();

  /** The resolver function to hand to the converters. */
  readonly resolve: FrameResolver = (frame: V8CallFrame): ResolvedFrame => {
    const plain = defaultResolveFrame(frame);
    if (frame.lineNumber < 0 || !frame.url) return plain;
    const entry = this.load(frame.url);
    if (!entry) return plain;
    const pos = lookupSourceMap(entry.map, frame.lineNumber, Math.max(0, frame.columnNumber));
    if (!pos) return plain;
    let file = pos.source;
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file);
      } catch {
        // keep as written
      }
    } else if (!/^[a-z]+:/i.test(file)) file = resolvePath(entry.dir, file);
    return { name: plain.name, file, line: pos.line, column: pos.column + 1 };
  };

  private load(url: string): { map: SourceMapIndex; dir: string } | null {
    const hit = this.maps.get(url);
    if (hit !== undefined) return hit;
    let entry: { map: SourceMapIndex; dir: string } | null = null;
    try {
      entry = this.read(url);
    } catch {
      entry = null;
    }
    if (this.maps.size >= MAX_MAPS) this.maps.clear();
    this.maps.set(url, entry);
    return entry;
  }

  private read(url: string): { map: SourceMapIndex; dir: string } | null {
    let path: string;
    if (url.startsWith('file://')) path = fileURLToPath(url);
    else if (url.startsWith('/')) path = url;
    else return null;
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_SCRIPT_BYTES) return null;
    const text = readFileSync(path, 'utf8');
    const ref = findSourceMappingURL(text);
    if (!ref) return null;
    const dir = dirname(path);
    let json: string | undefined;
    let mapDir = dir;
    if (ref.startsWith('data:')) json = decodeDataUrl(ref);
    else {
      const mapPath = ref.startsWith('file://') ? fileURLToPath(ref) : resolvePath(dir, decodeURIComponent(ref));
      const ms = statSync(mapPath);
      if (!ms.isFile() || ms.size > MAX_SCRIPT_BYTES) return null;
      json = readFileSync(mapPath, 'utf8');
      mapDir = dirname(mapPath);
    }
    if (json === undefined) return null;
    return { map: parseSourceMap(json), dir: mapDir };
  }
}
