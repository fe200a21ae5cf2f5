/** An error the agent answers with a status code and a one-line message. */
export class AgentHttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'AgentHttpError';
    this.status = status;
  }
}
