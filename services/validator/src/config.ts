import {
  booleanFlag,
  consumerStageConfig,
  nonNegativeInt,
  positiveInt,
  z,
  type ConsumerStageTopics,
} from '@ehrflow/config';
import { deletionsTopicOf } from '@ehrflow/contracts';
import { RESOURCE_TYPES } from '@ehrflow/contracts/manifest';
import type { DeliveryMode } from '@ehrflow/kafka';

/**
 * Validator settings. Topic names are configurable so tests (and a second deployment on one
 * cluster) can run on their own topics; the defaults are the product's topic names.
 */
const validator = consumerStageConfig(
  'VALIDATOR',
  // Worker threads here take FHIR envelopes (decrypt, parse, map, check, seal).
  { groupId: 'ehrflow-validator', resourceTypes: RESOURCE_TYPES },
  {
    VALIDATOR_RAW_TOPIC: z.string().min(1).default('ehr.raw'),
    VALIDATOR_DRIFT_TOPIC: z.string().min(1).default('ehr.drift'),
    /** How long a contract version is used before the registry is asked again (steward workflow). */
    VALIDATOR_SCHEMA_REFRESH_MS: positiveInt(30_000),
    VALIDATOR_MAX_PAYLOAD_BYTES: positiveInt(4 * 1024 * 1024),
    VALIDATOR_FILL_RATE_WINDOW: positiveInt(500),
    /**
     * What a field's fill rate is compared with: `baseline`, the source's accepted baseline
     * (schemas/baselines/<source>.json; a source without one gets one baseline_needed notice), or
     * `contract`, the contracts' `fillRate`.
     */
    VALIDATOR_FILL_RATE_EXPECTED: z.enum(['baseline', 'contract']).default('baseline'),
    /** Folder of the accepted baselines; default schemas/baselines of this checkout. */
    VALIDATOR_BASELINES_DIR: z.string().min(1).optional(),
    /** Period of drift updates (counts) after the first, immediate, event of a drift. */
    VALIDATOR_DRIFT_REPORT_MS: positiveInt(60_000),
    /** Quarantined records per (source, contract, reason, field) within the window that make a spike. */
    VALIDATOR_QUARANTINE_SPIKE: positiveInt(20),
    VALIDATOR_QUARANTINE_SPIKE_WINDOW_MS: positiveInt(60_000),
    /** Alerts per (source, resource type) and window; more are counted and folded into the next. */
    ALERT_WINDOW_MS: positiveInt(15 * 60_000),
    /** How long related signals are gathered into one alert. */
    ALERT_GATHER_MS: nonNegativeInt(1_000),
    ALERT_WEBHOOK_URL: z.url().optional(),
    /** Redis shared by the replicas for alert de-duplication (one alert per drift, not one per replica). */
    REDIS_URL: z.string().min(1).optional(),
    ALERT_WEBHOOK_TIMEOUT_MS: positiveInt(5_000),
    ALERT_FILE: z.string().min(1).optional(),
    /** Log alerts instead of dropping them when no sink is configured (development). */
    ALERT_LOG_FALLBACK: booleanFlag(true),
    /** The HL7 v2 → contract mapping (`schemas/hl7/v2-mapping.json` of this checkout when unset). */
    VALIDATOR_HL7_MAPPING: z.string().min(1).optional(),
    /** The X12 → contract mapping (`schemas/x12/mapping.json` of this checkout when unset). */
    VALIDATOR_X12_MAPPING: z.string().min(1).optional(),
  },
);

export const validatorEnv = validator.env;
export type ValidatorConfig = z.infer<typeof validatorEnv>;

/** Reads and validates the environment; throws ConfigError listing every problem. */
export const loadValidatorConfig = validator.load;

/** Names of the topics one validator reads and writes. */
export interface ValidatorTopics extends ConsumerStageTopics {
  readonly raw: string;
  /** `<validPrefix>deletions` (`ehr.valid.deletions`): the deletions sources reported (subject `<topic>-value`). */
  readonly deletions: string;
  readonly drift: string;
}

export function topicsOf(config: ValidatorConfig): ValidatorTopics {
  return {
    ...validator.topics(config),
    raw: config.VALIDATOR_RAW_TOPIC,
    deletions: deletionsTopicOf(config.VALIDATOR_VALID_TOPIC_PREFIX),
    drift: config.VALIDATOR_DRIFT_TOPIC,
  };
}

export function deliveryOf(config: ValidatorConfig): DeliveryMode {
  return config.VALIDATOR_DELIVERY;
}
