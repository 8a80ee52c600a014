/**
 * Integration-test support for the packages that use contracts (`@ehrflow/contracts/testing`):
 * the schema registry of the local stack (`deploy/local/stack`) with a codec on it, and
 * registering a schema given as JSON. Test files and `src/testing/` helpers only.
 */
import { localStack } from '@ehrflow/testing';
import { canonicalText } from '../avro.ts';
import { createCodec, type Codec } from '../codec.ts';
import { createRegistry, type SchemaRegistry } from '../registry.ts';

/** A registry client on the local stack and a codec that encodes and decodes through it. */
export interface LocalRegistry {
  readonly registry: SchemaRegistry;
  readonly codec: Codec;
}

/**
 * `refreshMs`: how long the codec uses a subject's latest version before it asks again; 0 uses a
 * version registered during a test at once. The codec's default otherwise.
 */
export function localRegistry(options: { readonly refreshMs?: number } = {}): LocalRegistry {
  const registry = createRegistry({ url: localStack().registryUrl });
  const { refreshMs } = options;
  return { registry, codec: createCodec(registry, refreshMs === undefined ? {} : { refreshMs }) };
}

/** Registers a schema given as JSON (as its canonical text) under a subject; its id and version. */
export function registerJson(
  registry: SchemaRegistry,
  subject: string,
  schema: unknown,
): Promise<{ id: number; version: number }> {
  return registry.register(subject, canonicalText(schema));
}
