import { PipelineError } from '@ehrflow/errors';
import { compileMapping, type MappableContract, type Mapping } from './mapper.ts';

const TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;

/** The mappings of every FHIR contract a validator serves, by resource type. */
export interface MappingSet {
  readonly resourceTypes: readonly string[];
  /** @throws PipelineError UNKNOWN_RESOURCE_TYPE when no contract exists for the type. */
  mappingFor(resourceType: string): Mapping;
}

/**
 * Compiles every contract once (at start-up, so a bad contract fails the service before it
 * consumes anything).
 * @throws PipelineError CONTRACT_VIOLATION from {@link compileMapping}, or when two contracts map one type.
 */
export function compileMappings(contracts: Iterable<MappableContract>): MappingSet {
  const byType = new Map<string, Mapping>();
  for (const contract of contracts) {
    const mapping = compileMapping(contract);
    if (byType.has(mapping.resourceType)) {
      throw new PipelineError('CONTRACT_VIOLATION', `two contracts map ${mapping.resourceType}`, {
        context: { resourceType: mapping.resourceType },
      });
    }
    byType.set(mapping.resourceType, mapping);
  }
  return {
    resourceTypes: [...byType.keys()],
    mappingFor(resourceType) {
      const mapping = byType.get(resourceType);
      if (mapping === undefined) {
        // Echo only a FHIR-type-shaped name: the value comes from the payload.
        const shown = TYPE_NAME.test(resourceType) ? resourceType : '(not a type name)';
        throw new PipelineError('UNKNOWN_RESOURCE_TYPE', `no contract for resource type ${shown}`, {
          context: { resourceType: shown },
        });
      }
      return mapping;
    },
  };
}
