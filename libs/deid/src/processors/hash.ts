import { PipelineError } from '@ehrflow/errors';
import { pseudonym } from '@ehrflow/phi';
import { normalizeIdentifier, resourceIdentity } from '../identity.ts';
import type { HashNormalization, Rule } from '../policy.ts';
import { stringFieldsOnly, type MethodContext, type MethodModule } from './types.ts';

type HashRule = Extract<Rule, { method: 'hash' }>;

/**
 * `hash`: a keyed HMAC pseudonym (`@ehrflow/phi` `pseudonym`) of the normalised value. Stable
 * across sources, so one patient links everywhere: references and logical ids hash as
 * `ref:<Type>` + id (`Patient/123` in an Observation and `123` as the Patient's own id agree);
 * business identifiers (MRN, SSN, account numbers) hash under a per-field namespace after
 * `normalizeIdentifier`. A rule may set `namespace` (e.g. `mrn`, to link MRN fields of different
 * contracts) and `normalize` (`identifier` | `reference` | `exact`).
 */
export const hashMethod: MethodModule<HashRule> = {
  method: 'hash',
  output: 'string',
  check: stringFieldsOnly('hash'),
  create(ctx) {
    const { namespace, normalize, referenceType } = hashSettings(ctx);
    const path = ctx.field.path;
    switch (normalize) {
      case 'exact':
        return (value, scope) => pseudonym(scope.pseudonymKey, namespace, String(value));
      case 'identifier':
        return (value, scope) => pseudonym(scope.pseudonymKey, namespace, normalizeIdentifier(String(value)));
      case 'reference':
        return (value, scope) => {
          const identity = resourceIdentity(String(value), referenceType);
          if (identity === undefined) {
            throw new PipelineError(
              'CONTRACT_VIOLATION',
              `field ${path}: expected a FHIR reference or logical id`,
              {
                context: { fieldPath: path },
              },
            );
          }
          // An explicit namespace wins; otherwise the referenced type decides, so every field
          // that points at Patient/123 (whatever its name) yields the same pseudonym.
          const ns = ctx.rule.namespace ?? `ref:${identity.type}`;
          return pseudonym(scope.pseudonymKey, ns, identity.id);
        };
    }
  },
};

interface HashSettings {
  readonly namespace: string;
  readonly normalize: HashNormalization;
  readonly referenceType: string | undefined;
}

/** Default namespace and normalisation of a field, from its contract attributes. */
export function hashSettings({ contractType, field, rule }: MethodContext<HashRule>): HashSettings {
  const referenceTo = typeof field.attrs.referenceTo === 'string' ? field.attrs.referenceTo : undefined;
  const isOwnId = field.name === 'logicalId' || (field.fhirPath === 'id' && referenceTo === undefined);
  const referenceType = referenceTo ?? (isOwnId ? contractType : undefined);
  const inferred: HashNormalization =
    referenceType !== undefined || /ref(erence)?$/i.test(field.name) ? 'reference' : 'identifier';
  const normalize = rule.normalize ?? inferred;
  const namespace =
    rule.namespace ??
    (referenceType !== undefined ? `ref:${referenceType}` : `${contractType}.${field.name}`);
  return { namespace, normalize, referenceType };
}
