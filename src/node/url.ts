/**
 * Whether a source argument is an http(s) URL rather than a file. A module of its own so that the
 * snapshot id reader's worker can use it without loading the profile decoders.
 */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}
