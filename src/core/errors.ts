/**
 * Typed errors with stable codes. Library code throws these; shells (CLI, agent) turn them into a
 * one-line message and an exit code / HTTP status. Never throw strings.
 */
export type ErrorCode =
  | 'E_USAGE' // bad flags or arguments (exit 2)
  | 'E_NOT_PROFILE' // input is not a pprof profile at all
  | 'E_TRUNCATED' // input ends before a field it announces
  | 'E_CORRUPT' // input decodes but breaks a protobuf rule
  | 'E_MALFORMED' // decodes, but the profile is invalid (dangling id, reserved id, …)
  | 'E_INCOMPATIBLE' // profiles cannot be combined (different sample types)
  | 'E_SAMPLE_INDEX' // no such sample type
  | 'E_REGEX' // invalid regular expression in a filter
  | 'E_FETCH' // URL could not be fetched
  | 'E_IO' // file could not be read or written
  | 'E_TOO_LARGE' // input exceeds a safety bound
  | 'E_SNAPSHOT' // heap snapshot is invalid
  | 'E_NO_DATA'; // nothing to report

export class LeakscopeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LeakscopeError';
    this.code = code;
  }
}

export function isLeakscopeError(e: unknown): e is LeakscopeError {
  return e instanceof LeakscopeError;
}
