/** What a storm generator counts per phase (bench/storm/clients.ts) and the driver adds up (bench/storm.ts). */
export interface Totals {
  statuses: Record<string, number>;
  networkErrors: number;
  /** Replies refusing with advice to come back (handshakeRate, over a cap...). */
  refusedWithAdvice: number;
  /** Replies refusing with `reconnect: none`. */
  refusedForGood: number;
  refusals: Record<string, number>;
  errors: Record<string, number>;
}

export const emptyTotals = (): Totals => ({
  statuses: {},
  networkErrors: 0,
  refusedWithAdvice: 0,
  refusedForGood: 0,
  refusals: {},
  errors: {},
});
