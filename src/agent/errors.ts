/** An error the agent answers with a status code, a one-line message and any extra headers. */
export class AgentHttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'AgentHttpError';
    this.status = status;
    this.headers = headers;
  }
}
