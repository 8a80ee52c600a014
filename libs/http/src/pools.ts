import { Pool } from 'undici';

/** Connection settings shared by every pool of a client. */
export interface PoolOptions {
  /** Connections per origin. Default 10. */
  readonly connections?: number;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Default 30 s. */
  readonly headersTimeoutMs?: number;
  /** Default 60 s. */
  readonly bodyTimeoutMs?: number;
  /** Most origins with an open pool. Default 4. */
  readonly maxOrigins?: number;
}

/** Bounded undici pools, one per origin. */
export interface PoolCache {
  get(origin: string): Pool;
  close(): Promise<void>;
}

/** One bounded pool per origin; beyond `maxOrigins`, the least recently used pool is closed. */
export function createPoolCache(options: PoolOptions): PoolCache {
  const pools = new Map<string, Pool>();
  const maxOrigins = options.maxOrigins ?? 4;
  return {
    get(origin) {
      let pool = pools.get(origin);
      if (pool !== undefined) {
        pools.delete(origin);
        pools.set(origin, pool);
        return pool;
      }
      pool = new Pool(origin, {
        connections: options.connections ?? 10,
        connect: { timeout: options.connectTimeoutMs ?? 10_000 },
        headersTimeout: options.headersTimeoutMs ?? 30_000,
        bodyTimeout: options.bodyTimeoutMs ?? 60_000,
      });
      pools.set(origin, pool);
      if (pools.size > maxOrigins) {
        const [oldest, oldPool] = pools.entries().next().value as [string, Pool];
        pools.delete(oldest);
        void oldPool.close().catch(() => undefined);
      }
      return pool;
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.close()));
    },
  };
}
