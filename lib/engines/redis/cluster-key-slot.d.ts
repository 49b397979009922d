/** The package ships no types: the one function the engine uses (last-seen.ts). */
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0-16383) of a key, hash tags taken into account. */
  export default function calculateSlot(key: string): number;
}
