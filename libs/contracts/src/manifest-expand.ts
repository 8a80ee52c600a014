// No runtime imports: the generated manifest (`@ehrflow/contracts/manifest`) imports this, and
// the simulator and the topic script load that without the rest of the package.
import type { PhiFields, PipelineManifest } from './manifest.ts';

/** What `src/generated/manifest.ts` records: only what does not follow from a type's name. */
export interface CompactManifest extends Pick<
  PipelineManifest,
  'validTopicPrefix' | 'cleanTopicPrefix' | 'resourceTypes'
> {
  /** Top-level contract fields of each type by PHI class. */
  readonly phi: Readonly<Record<string, PhiFields>>;
  /** Pipeline topic → its value schema file (the subject is `<topic>-value`). */
  readonly pipelineTopics: Readonly<Record<string, string>>;
}

/**
 * The manifest from its compact form: a type's contract is `fhir/<Type>.avsc`, its topics are the
 * prefixes plus its name and each topic's subject is `<topic>-value` (the generator checks that
 * every contract follows this before it writes the compact form).
 */
export function expandManifest(compact: CompactManifest): PipelineManifest {
  const { validTopicPrefix, cleanTopicPrefix } = compact;
  return {
    validTopicPrefix,
    cleanTopicPrefix,
    resourceTypes: compact.resourceTypes,
    resources: compact.resourceTypes.map((type) => ({
      type,
      file: `fhir/${type}.avsc`,
      validTopic: `${validTopicPrefix}${type}`,
      validSubject: `${validTopicPrefix}${type}-value`,
      cleanTopic: `${cleanTopicPrefix}${type}`,
      cleanSubject: `${cleanTopicPrefix}${type}-value`,
      phi: compact.phi[type] ?? {},
    })),
    pipelineTopics: Object.entries(compact.pipelineTopics).map(([topic, file]) => ({
      topic,
      subject: `${topic}-value`,
      file,
    })),
  };
}
