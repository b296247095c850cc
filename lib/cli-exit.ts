/** An error a command raises to end with a message and a chosen exit code, without a stack trace. */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliExit";
  }
}
