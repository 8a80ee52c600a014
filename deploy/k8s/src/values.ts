/**
 * What a platform team chooses when it deploys ehrflow: image, namespace, endpoints, the Secret
 * names it created, replica bounds and resources per service. `defaultValues` is a production
 * shape; `mergeValues` lays a JSON override file (`--values`) over it.
 */

/** A destination the NetworkPolicy lets pods reach: an address block or in-cluster pods. */
export interface EgressRule {
  /** CIDR, e.g. `10.20.0.0/16` (a NetworkPolicy cannot name a host: give its addresses). */
  readonly cidr?: string;
  /** In-cluster destination: the namespace (by its `kubernetes.io/metadata.name`)… */
  readonly namespace?: string;
  /** …and the pods' labels in it. */
  readonly podLabels?: Readonly<Record<string, string>>;
  readonly ports: readonly number[];
}

/** Who may connect to a listener: an address block or in-cluster pods. */
export interface IngressPeer {
  /** CIDR of the senders, e.g. a hospital interface engine's addresses. */
  readonly cidr?: string;
  readonly namespace?: string;
  readonly podLabels?: Readonly<Record<string, string>>;
}

/** A TCP listener of a push-source service (the MLLP receiver), besides its HTTP port. */
export interface ListenerValues {
  /** Port name in the Pod and the Service (`mllp`). */
  readonly name: string;
  readonly port: number;
  /** `LoadBalancer` when the senders are outside the cluster. */
  readonly serviceType: 'ClusterIP' | 'LoadBalancer';
  /** The senders the NetworkPolicy lets in (nobody else reaches the port). */
  readonly from: readonly IngressPeer[];
  /** A `kubernetes.io/tls` Secret for MLLP over TLS (`tls.crt`, `tls.key`); omit for plain TCP. */
  readonly tlsSecret?: string;
}

export interface ServiceValues {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Target average CPU use of the HorizontalPodAutoscaler, percent of the request. */
  readonly cpuTargetPercent: number;
  readonly resources: {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu?: string; readonly memory: string };
  };
  /** Extra plain variables (tuning); secrets never go here. */
  readonly env: Readonly<Record<string, string>>;
  /** Consumer stages: the group and topic KEDA watches, and the lag per replica it aims for. */
  /** `topic` omitted: the lag of every topic the group consumes (the redactor and loader read many). */
  readonly lag?: { readonly group: string; readonly topic?: string; readonly lagPerReplica: number };
  /** A listener for senders (the MLLP receiver's port). */
  readonly listener?: ListenerValues;
  /**
   * Batch files dropped in a folder (the MLLP receiver's `MLLP_DROP_DIR`): a PersistentVolumeClaim
   * the senders write to. Read by one extra pod of its own (`<release>-<service>-file-drop`, one
   * replica, recreated rather than rolled) so two readers never take the same file.
   */
  readonly fileDrop?: { readonly claimName: string };
}

export interface DeployValues {
  readonly namespace: string;
  /** `app.kubernetes.io/instance` and the prefix of every object's name. */
  readonly release: string;
  readonly image: {
    readonly repository: string;
    readonly tag: string;
    readonly pullPolicy: 'IfNotPresent' | 'Always';
  };
  readonly mode: 'production' | 'development';
  readonly logLevel: string;
  readonly kafka: {
    readonly brokers: string;
    readonly ssl: boolean;
    readonly saslMechanism?: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    /** ConfigMap holding the cluster's CA as `ca.crt` (omit to trust the public roots). */
    readonly caConfigMap?: string;
    /**
     * A `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`) with the client certificate, when the
     * brokers authenticate clients by certificate (mTLS). Works with or without SASL.
     */
    readonly clientCertSecret?: string;
    /** Topic list the create-topics Job applies (production.json: RF 3, min.insync.replicas 2). */
    readonly topicsFile: 'production.json';
    readonly egress: readonly EgressRule[];
  };
  readonly schemaRegistry: {
    readonly url: string;
    /** ConfigMap holding the registry's own CA as `ca.crt` (omit to trust the public roots). */
    readonly caConfigMap?: string;
    /**
     * HTTP basic auth with the `SCHEMA_REGISTRY_USERNAME` and `SCHEMA_REGISTRY_PASSWORD` keys of
     * the app Secret (read as files).
     */
    readonly basicAuth?: boolean;
    readonly egress: readonly EgressRule[];
  };
  readonly redis: { readonly egress: readonly EgressRule[] };
  readonly postgres: { readonly egress: readonly EgressRule[] };
  /** The EHR FHIR endpoints the extractor pulls from (and their token endpoints). */
  readonly ehr: { readonly egress: readonly EgressRule[] };
  /**
   * Secrets the platform team creates (never rendered here), by name. `app` holds PHI_KEYRING,
   * PSEUDONYM_KEY, DATABASE_URL, REDIS_URL, ADMIN_TOKEN (the extractor's jobs API), with SASL
   * KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD, and with `schemaRegistry.basicAuth`
   * SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD; `ehrClients` the EHR client secrets the sources file points at;
   * `alerts` (optional) ALERT_WEBHOOK_URL.
   */
  readonly existingSecret: { readonly app: string; readonly ehrClients: string; readonly alerts?: string };
  /** Content of the extractor's sources file (JSON), shipped in a ConfigMap. */
  readonly sources: unknown;
  /** A de-identification policy (JSON) in a ConfigMap, or a built-in policy name. */
  readonly redactorPolicy: { readonly builtIn: string } | { readonly custom: unknown };
  readonly monitoring: {
    readonly serviceMonitor: boolean;
    /** Labels the Prometheus operator selects ServiceMonitors and rules by. */
    readonly labels: Readonly<Record<string, string>>;
    /** Namespace of Prometheus (allowed to scrape /metrics). */
    readonly namespace: string;
  };
  /** KEDA ScaledObjects on consumer lag instead of CPU HorizontalPodAutoscalers. */
  readonly keda: { readonly enabled: boolean };
  readonly services: Readonly<Record<string, ServiceValues>>;
}

const consumer = (group: string, topic?: string): ServiceValues => ({
  minReplicas: 2,
  maxReplicas: 6,
  cpuTargetPercent: 70,
  resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
  env: {},
  lag: { group, ...(topic !== undefined ? { topic } : {}), lagPerReplica: 5000 },
});

/** A production shape: every endpoint and name is an example to override. */
export const defaultValues: DeployValues = {
  namespace: 'ehrflow',
  release: 'ehrflow',
  image: { repository: 'ehrflow', tag: '0.1.0', pullPolicy: 'IfNotPresent' },
  mode: 'production',
  logLevel: 'info',
  kafka: {
    brokers:
      'kafka-0.kafka.example.internal:9093,kafka-1.kafka.example.internal:9093,kafka-2.kafka.example.internal:9093',
    ssl: true,
    saslMechanism: 'scram-sha-512',
    caConfigMap: 'ehrflow-kafka-ca',
    topicsFile: 'production.json',
    egress: [{ cidr: '10.10.0.0/24', ports: [9093] }],
  },
  schemaRegistry: {
    url: 'https://schema-registry.example.internal/apis/ccompat/v7',
    egress: [{ cidr: '10.10.1.0/24', ports: [443] }],
  },
  redis: { egress: [{ cidr: '10.10.2.0/24', ports: [6380] }] },
  postgres: { egress: [{ cidr: '10.10.3.0/24', ports: [5432] }] },
  ehr: { egress: [{ cidr: '192.0.2.0/24', ports: [443] }] },
  existingSecret: { app: 'ehrflow-secrets', ehrClients: 'ehrflow-ehr-clients' },
  sources: { sources: [] },
  redactorPolicy: { builtIn: 'safe-harbor' },
  monitoring: { serviceMonitor: true, labels: { release: 'prometheus' }, namespace: 'monitoring' },
  keda: { enabled: false },
  services: {
    extractor: {
      minReplicas: 2,
      maxReplicas: 4,
      cpuTargetPercent: 70,
      resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '768Mi' } },
      env: {},
    },
    validator: consumer('ehrflow-validator', 'ehr.raw'),
    redactor: consumer('ehrflow-redactor'),
    loader: consumer('ehrflow-loader'),
    'mllp-receiver': {
      minReplicas: 2,
      maxReplicas: 4,
      cpuTargetPercent: 70,
      resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
      // The source id the raw envelopes carry; one receiver Deployment per HL7 feed.
      env: { MLLP_SOURCE_ID: 'site-a-hl7' },
      listener: {
        name: 'mllp',
        port: 2575,
        serviceType: 'ClusterIP',
        from: [{ cidr: '198.51.100.0/24' }],
      },
    },
  },
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge of plain objects; arrays and scalars of the override replace the default's. */
export function mergeValues<T>(base: T, override: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(override))
    return (override === undefined ? base : override) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = mergeValues(out[key], value);
  return out as T;
}
