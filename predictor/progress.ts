/** Epoch, loss and ETA on one self-rewriting line, only when stderr is a terminal. */
export class ProgressBar {
  private readonly started = Date.now();
  private epoch = 0;
  private epochs = 1;
  private loss = Number.NaN;
  private valLoss: number | undefined;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  onEpoch(epoch: number, epochs: number, loss: number, valLoss: number | undefined): void {
    this.epoch = epoch;
    this.epochs = epochs;
    this.loss = loss;
    this.valLoss = valLoss;
    this.render(0, 1);
  }

  onBatch(batch: number, batches: number): void {
    this.render(batch, batches);
  }

  private render(batch: number, batches: number): void {
    if (!this.enabled) return;
    const done = (this.epoch + batch / batches) / this.epochs;
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = done > 0 ? elapsed / done - elapsed : Number.NaN;
    const width = 24;
    const filled = Math.min(width, Math.round(done * width));
    const bar = `${"#".repeat(filled)}${".".repeat(width - filled)}`;
    const loss = Number.isNaN(this.loss) ? "-" : this.loss.toFixed(4);
    const val = this.valLoss === undefined ? "" : ` val ${this.valLoss.toFixed(4)}`;
    this.stream.write(
      `\repoch ${Math.min(this.epoch + 1, this.epochs)}/${this.epochs} [${bar}] loss ${loss}${val} ETA ${Number.isNaN(eta) ? "?" : `${Math.ceil(eta)}s`}   `,
    );
  }

  done(): void {
    if (this.enabled) this.stream.write("\n");
  }
}
