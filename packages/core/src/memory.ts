/**
 * Live and peak bytes per category. Every backend owns one tracker and reports each allocation,
 * free and re-categorisation to it; the meta backend does nothing else.
 */
export type MemoryCategory = 'parameter' | 'gradient' | 'optimizer' | 'activation' | 'other';

export const MEMORY_CATEGORIES: readonly MemoryCategory[] = [
  'parameter',
  'gradient',
  'optimizer',
  'activation',
  'other',
];

export interface MemorySnapshot {
  /** Bytes alive now, per category. */
  live: Record<MemoryCategory, number>;
  /** Highest live bytes each category reached since the last reset. */
  peak: Record<MemoryCategory, number>;
  totalLive: number;
  /** Highest total live bytes since the last reset (not the sum of per-category peaks). */
  totalPeak: number;
  /** Live bytes per category at the moment the total peak was reached. */
  atPeak: Record<MemoryCategory, number>;
  liveAllocations: number;
}

function zeros(): Record<MemoryCategory, number> {
  return { parameter: 0, gradient: 0, optimizer: 0, activation: 0, other: 0 };
}

export class MemoryTracker {
  private live = zeros();
  private peak = zeros();
  private atPeak = zeros();
  private totalLive = 0;
  private totalPeak = 0;
  private allocations = 0;

  allocated(bytes: number, category: MemoryCategory): void {
    this.allocations++;
    this.add(bytes, category);
  }

  freed(bytes: number, category: MemoryCategory): void {
    this.allocations--;
    this.live[category] -= bytes;
    this.totalLive -= bytes;
  }

  retagged(bytes: number, from: MemoryCategory, to: MemoryCategory): void {
    if (from === to) return;
    this.live[from] -= bytes;
    this.totalLive -= bytes;
    this.add(bytes, to);
  }

  snapshot(): MemorySnapshot {
    return {
      live: { ...this.live },
      peak: { ...this.peak },
      totalLive: this.totalLive,
      totalPeak: this.totalPeak,
      atPeak: { ...this.atPeak },
      liveAllocations: this.allocations,
    };
  }

  /** Starts measuring peaks from now: every peak becomes the current live figure. */
  resetPeak(): void {
    this.peak = { ...this.live };
    this.atPeak = { ...this.live };
    this.totalPeak = this.totalLive;
  }

  private add(bytes: number, category: MemoryCategory): void {
    this.live[category] += bytes;
    this.totalLive += bytes;
    if (this.live[category] > this.peak[category]) this.peak[category] = this.live[category];
    if (this.totalLive > this.totalPeak) {
      this.totalPeak = this.totalLive;
      this.atPeak = { ...this.live };
    }
  }
}
