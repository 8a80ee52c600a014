import {
  consumerStageConfig,
  nonNegativeInt,
  positiveInt,
  z,
  type ConsumerStageTopics,
} from '@ehrflow/config';
import { RESOURCE_TYPES } from '@ehrflow/contracts/manifest';
import { DEFAULT_COMPILED_PATIENTS, DEFAULT_POLICY } from '@ehrflow/deid';

/** The resource types the redactor serves unless `REDACTOR_RESOURCE_TYPES` narrows them: every contract. */
export const DEFAULT_RESOURCE_TYPES = RESOURCE_TYPES;

/**
 * Redactor settings. Topic names are configurable so tests (and a second deployment on one
 * cluster) run on their own topics; the defaults are the product's topic names.
 */
const redactor = consumerStageConfig(
  'REDACTOR',
  // Worker threads here do de-identification (the per-record CPU work after decryption).
  { groupId: 'ehrflow-redactor', resourceTypes: DEFAULT_RESOURCE_TYPES },
  {
    REDACTOR_CLEAN_TOPIC_PREFIX: z.string().min(1).default('ehr.clean.'),
    /**
     * Patients whose identifiers this process remembers (in memory) to scrub the notes of their
     * other records. 0 turns the directory off: then no patient is known and the free text of every
     * non-Patient record is withheld.
     */
    REDACTOR_PATIENT_DIRECTORY_SIZE: nonNegativeInt(100_000),
    /**
     * Patients of the directory whose matcher stays compiled (most recently used first); the others
     * are held packed (~300 bytes each) and compiled again when next needed. At least a chunk's
     * worth, so a chunk's records of one patient share one compiled matcher.
     */
    REDACTOR_DIRECTORY_COMPILED_PATIENTS: z.coerce
      .number()
      .int()
      .min(1_000)
      .default(DEFAULT_COMPILED_PATIENTS),
    /**
     * Redis for the shared patient directory (keyed digests of identifiers, no PHI): replicas and
     * restarts then know the patients any of them saw. Unset: this process's memory only.
     */
    REDIS_URL: z.string().min(1).optional(),
    /** Prefix of the shared directory's Redis keys (one set per patient pseudonym). */
    REDACTOR_DIRECTORY_KEY_PREFIX: z.string().min(1).default('ehrflow:redactor:directory:'),
    /** Expiry of a patient's digests after their last Patient record (default 90 days). */
    REDACTOR_DIRECTORY_TTL_SECONDS: positiveInt(90 * 24 * 3600),
    /** A built-in policy name (`safe-harbor`, `limited-data-set`) or a path to a policy JSON file. */
    REDACTOR_POLICY: z.string().min(1).default(DEFAULT_POLICY),
  },
);

export const redactorEnv = redactor.env;
export type RedactorConfig = z.infer<typeof redactorEnv>;

/** Reads and validates the environment; throws ConfigError listing every problem. */
export const loadRedactorConfig = redactor.load;

/** Topic names of one redactor deployment. */
export interface RedactorTopics extends ConsumerStageTopics {
  /** `ehr.clean.<Type>` is this prefix plus the resource type. */
  readonly cleanPrefix: string;
}

export function topicsOf(config: RedactorConfig): RedactorTopics {
  return { ...redactor.topics(config), cleanPrefix: config.REDACTOR_CLEAN_TOPIC_PREFIX };
}
