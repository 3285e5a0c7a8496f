// At most N migrations per run; what was left out is said once.
import type { CommonConfig } from '../types.ts';
import type { Ledger } from './ledger.ts';

export class Budget {
  private skipped = 0;
  constructor(
    private readonly ledger: Ledger,
    private readonly config: CommonConfig,
  ) {}

  get left(): number {
    return Math.max(0, this.config.maxMigrationsPerRun - this.ledger.migrations.length);
  }

  /** True when one more migration fits; otherwise counts it as skipped. */
  take(): boolean {
    if (this.left > 0) return true;
    this.skipped += 1;
    return false;
  }

  /** Adds the "limit reached" reason if anything was held back. */
  close(): void {
    if (this.skipped > 0) {
      this.ledger.reasons.push(
        `limit of ${this.config.maxMigrationsPerRun} migration(s) per run reached; ${this.skipped} more wanted, left for a later run`,
      );
    }
  }
}
