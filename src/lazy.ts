// Packages that only some deployments or some requests use, loaded at their first use instead of
// at start: PostgreSQL's and Redis's clients on an SQLite deployment, the SMTP client without
// GATEHOUSE_SMTP_URL, the passkey, QR-code, upstream-provider and bundler libraries until a
// request needs them. Loading them all at start cost about 45 MiB of a server's idle resident
// memory (docs/performance.md, "Memory").
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A CommonJS package, required (synchronously) the first time the returned function is called. */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}

/** An ES module, imported the first time the returned function is called (one import shared by all callers). */
export function lazyImport<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
}
