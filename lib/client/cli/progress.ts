import { formatCount, formatRate } from './output.js';

/**
 * A one-line progress bar on a terminal: the share of the input read, records written and
 * the rate. Redrawn at most every 100 ms; erased before the summary line.
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly totalBytes: number,
  ) {}

  update(bytesRead: number, written: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const share = this.totalBytes > 0 ? Math.min(1, bytesRead / this.totalBytes) : 0;
    const width = 30;
    const filled = Math.round(share * width);
    const bar = `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}`;
    const line = `[${bar}] ${String(Math.floor(share * 100)).padStart(3)}%  ${formatCount(written)} records  ${formatRate(written, now - this.started)} records/s`;
    this.stream.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
