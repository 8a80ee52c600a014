/**
 * The Kubernetes objects of one ehrflow deployment, built from {@link DeployValues} with
 * kubernetes-models, so every object can be checked against the Kubernetes API schemas
 * (`validate()`) before it is written. Per service: Deployment, Service, PodDisruptionBudget,
 * HorizontalPodAutoscaler (or a KEDA ScaledObject on consumer lag), ServiceMonitor,
 * NetworkPolicy. Shared: ServiceAccount, ConfigMaps (sources, policy), the Jobs that create the
 * topics and register the schemas, the PrometheusRule with the alerts.
 */
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import type { ITriggerAuthenticationSpec } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthenticationSpec';
import { SERVICE_MALLOC_ENV, serviceNodeOptions } from '@ehrflow/config/node-options';
import type { DeployValues, EgressRule, IngressPeer, ServiceValues } from './values.ts';
import { alertRules } from './alerts.ts';

/** Anything kubernetes-models builds: it knows its schema. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: { readonly name?: string };
  validate(): void;
  toJSON(): unknown;
}

export const HTTP_PORT = 8080;
const SECRET_DIR = '/var/run/secrets/ehrflow';
const SOURCES_DIR = '/etc/ehrflow/sources';
const POLICY_DIR = '/etc/ehrflow/policy';
const KAFKA_CA_DIR = '/etc/ehrflow/kafka-ca';
const KAFKA_CLIENT_DIR = `${SECRET_DIR}/kafka-client`;
const REGISTRY_CA_DIR = '/etc/ehrflow/registry-ca';
const LISTENER_TLS_DIR = `${SECRET_DIR}/listener-tls`;
const DROP_DIR = '/var/lib/ehrflow/drop';
/** SIGTERM → drained and exited within SHUTDOWN_TIMEOUT_MS; the pod's grace period is longer. */
const SHUTDOWN_TIMEOUT_MS = 25_000;
const GRACE_SECONDS = 40;

/** Which shared dependencies a service talks to (its NetworkPolicy egress and its secrets). */
const NEEDS: Record<string, { redis: boolean; postgres: boolean; ehr: boolean }> = {
  extractor: { redis: true, postgres: true, ehr: true },
  validator: { redis: true, postgres: false, ehr: false },
  redactor: { redis: true, postgres: false, ehr: false },
  loader: { redis: false, postgres: true, ehr: false },
  'mllp-receiver': { redis: true, postgres: false, ehr: false },
};
const needsOf = (service: string) => NEEDS[service] ?? { redis: true, postgres: true, ehr: false };

export function buildManifests(values: DeployValues): Manifest[] {
  const out: Manifest[] = [];
  const name = (suffix: string) => `${values.release}-${suffix}`;
  const labels = (component: string) => ({
    'app.kubernetes.io/name': 'ehrflow',
    'app.kubernetes.io/instance': values.release,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/version': values.image.tag,
  });
  const selector = (component: string) => ({
    'app.kubernetes.io/instance': values.release,
    'app.kubernetes.io/component': component,
  });
  const meta = (suffix: string, component: string) => ({
    name: name(suffix),
    namespace: values.namespace,
    labels: labels(component),
  });

  out.push(new ServiceAccount({ metadata: meta('app', 'app'), automountServiceAccountToken: false }));
  out.push(
    new ConfigMap({
      metadata: meta('sources', 'extractor'),
      data: { 'sources.json': `${JSON.stringify(values.sources, null, 2)}\n` },
    }),
  );
  const customPolicy = 'custom' in values.redactorPolicy;
  if ('custom' in values.redactorPolicy) {
    out.push(
      new ConfigMap({
        metadata: meta('redactor-policy', 'redactor'),
        data: { 'policy.json': `${JSON.stringify(values.redactorPolicy.custom, null, 2)}\n` },
      }),
    );
  }

  // KEDA reads the consumer groups' lag itself: it needs the same TLS, SASL and client
  // certificate as the services, from the same Secret and ConfigMap.
  const kedaAuth = values.keda.enabled ? kedaKafkaAuthentication(values) : undefined;
  if (kedaAuth !== undefined)
    out.push(new TriggerAuthentication({ metadata: meta('kafka', 'autoscaling'), spec: kedaAuth.spec }));

  const image = `${values.image.repository}:${values.image.tag}`;
  for (const [service, sv] of Object.entries(values.services)) {
    const needs = needsOf(service);
    const env: IEnvVar[] = [
      ...commonEnv(values),
      ...(needs.postgres ? [{ name: 'DATABASE_URL_FILE', value: `${SECRET_DIR}/app/DATABASE_URL` }] : []),
      ...(needs.redis ? [{ name: 'REDIS_URL_FILE', value: `${SECRET_DIR}/app/REDIS_URL` }] : []),
      ...serviceEnv(service, values, customPolicy),
      // The service's heap options (the image's common ones plus its own); a NODE_OPTIONS of
      // values.services.<name>.env replaces them.
      ...('NODE_OPTIONS' in sv.env ? [] : [{ name: 'NODE_OPTIONS', value: serviceNodeOptions(service) }]),
      // The image's malloc settings, set here too so the pod spec shows them; a variable of the same
      // name in values.services.<name>.env replaces it.
      ...Object.entries(SERVICE_MALLOC_ENV)
        .filter(([name]) => !(name in sv.env))
        .map(([name, value]) => ({ name, value })),
      ...Object.entries(sv.env).map(([k, v]) => ({ name: k, value: v })),
    ];
    const volumes: IVolume[] = [
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      { name: 'app-secrets', secret: { secretName: values.existingSecret.app, defaultMode: 0o440 } },
      ...transportVolumes(values),
    ];
    const mounts: IVolumeMount[] = [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'app-secrets', mountPath: `${SECRET_DIR}/app`, readOnly: true },
      ...transportMounts(values),
    ];
    if (service === 'extractor') {
      volumes.push(
        { name: 'sources', configMap: { name: name('sources') } },
        { name: 'ehr-clients', secret: { secretName: values.existingSecret.ehrClients, defaultMode: 0o440 } },
      );
      mounts.push(
        { name: 'sources', mountPath: SOURCES_DIR, readOnly: true },
        { name: 'ehr-clients', mountPath: `${SECRET_DIR}/ehr-clients`, readOnly: true },
      );
    }
    if (service === 'redactor' && customPolicy) {
      volumes.push({ name: 'policy', configMap: { name: name('redactor-policy') } });
      mounts.push({ name: 'policy', mountPath: POLICY_DIR, readOnly: true });
    }
    const listener = sv.listener;
    if (listener?.tlsSecret !== undefined) {
      volumes.push({ name: 'listener-tls', secret: { secretName: listener.tlsSecret, defaultMode: 0o440 } });
      mounts.push({ name: 'listener-tls', mountPath: LISTENER_TLS_DIR, readOnly: true });
    }
    const container: IContainer = {
      name: service,
      image,
      imagePullPolicy: values.image.pullPolicy,
      args: [service],
      ports: [
        { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
        ...(listener !== undefined
          ? [{ name: listener.name, containerPort: listener.port, protocol: 'TCP' as const }]
          : []),
      ],
      env,
      volumeMounts: mounts,
      resources: sv.resources,
      securityContext: containerSecurity(),
      startupProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 2, failureThreshold: 60 },
      livenessProbe: {
        httpGet: { path: '/healthz', port: 'http' },
        periodSeconds: 10,
        timeoutSeconds: 3,
        failureThreshold: 3,
      },
      readinessProbe: {
        httpGet: { path: '/readyz', port: 'http' },
        periodSeconds: 5,
        timeoutSeconds: 3,
        failureThreshold: 2,
      },
    };
    out.push(
      new Deployment({
        metadata: meta(service, service),
        spec: {
          replicas: sv.minReplicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: selector(service) },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels: labels(service) },
            spec: podSpec(values, [container], volumes, name('app')),
          },
        },
      }),
    );
    if (sv.fileDrop !== undefined) {
      // One reader of the drop folder, never two at once (Recreate): a file is taken in once.
      const dropComponent = `${service}-file-drop`;
      out.push(
        new Deployment({
          metadata: meta(dropComponent, dropComponent),
          spec: {
            replicas: 1,
            revisionHistoryLimit: 5,
            selector: { matchLabels: selector(dropComponent) },
            strategy: { type: 'Recreate' },
            template: {
              metadata: { labels: labels(dropComponent) },
              spec: podSpec(
                values,
                [
                  {
                    ...container,
                    env: [...env, { name: 'MLLP_DROP_DIR', value: DROP_DIR }],
                    volumeMounts: [...mounts, { name: 'file-drop', mountPath: DROP_DIR }],
                  },
                ],
                [
                  ...volumes,
                  { name: 'file-drop', persistentVolumeClaim: { claimName: sv.fileDrop.claimName } },
                ],
                name('app'),
              ),
            },
          },
        }),
      );
      out.push(
        networkPolicy(
          values,
          { ...sv, listener: undefined },
          meta(dropComponent, dropComponent),
          selector(dropComponent),
          needs,
        ),
      );
    }
    out.push(
      new Service({
        metadata: meta(service, service),
        spec: {
          ...(listener?.serviceType === 'LoadBalancer' ? { type: 'LoadBalancer' } : {}),
          selector: selector(service),
          ports: [
            { name: 'http', port: HTTP_PORT, targetPort: 'http' },
            ...(listener !== undefined
              ? [
                  {
                    name: listener.name,
                    port: listener.port,
                    targetPort: listener.name,
                    protocol: 'TCP' as const,
                  },
                ]
              : []),
          ],
        },
      }),
    );
    out.push(
      new PodDisruptionBudget({
        metadata: meta(service, service),
        spec: { maxUnavailable: 1, selector: { matchLabels: selector(service) } },
      }),
    );
    if (values.keda.enabled && sv.lag !== undefined) {
      out.push(
        new ScaledObject({
          metadata: meta(service, service),
          spec: {
            scaleTargetRef: { name: name(service) },
            minReplicaCount: sv.minReplicas,
            maxReplicaCount: sv.maxReplicas,
            triggers: [
              {
                type: 'kafka',
                metadata: {
                  bootstrapServers: values.kafka.brokers,
                  consumerGroup: sv.lag.group,
                  ...(sv.lag.topic !== undefined ? { topic: sv.lag.topic } : {}),
                  lagThreshold: String(sv.lag.lagPerReplica),
                  // More replicas than partitions would sit idle.
                  allowIdleConsumers: 'false',
                  ...(kedaAuth?.metadata ?? {}),
                },
                ...(kedaAuth !== undefined ? { authenticationRef: { name: name('kafka') } } : {}),
              },
            ],
          },
        }),
      );
    } else {
      out.push(
        new HorizontalPodAutoscaler({
          metadata: meta(service, service),
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: name(service) },
            minReplicas: sv.minReplicas,
            maxReplicas: sv.maxReplicas,
            metrics: [
              {
                type: 'Resource',
                resource: {
                  name: 'cpu',
                  target: { type: 'Utilization', averageUtilization: sv.cpuTargetPercent },
                },
              },
            ],
            // A consumer group rebalances on every change: scale down slowly.
            behavior: {
              scaleDown: {
                stabilizationWindowSeconds: 300,
                policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }],
              },
            },
          },
        }),
      );
    }
    if (values.monitoring.serviceMonitor) {
      out.push(
        new ServiceMonitor({
          metadata: {
            ...meta(service, service),
            labels: { ...labels(service), ...values.monitoring.labels },
          },
          spec: {
            selector: { matchLabels: selector(service) },
            namespaceSelector: { matchNames: [values.namespace] },
            endpoints: [{ port: 'http', path: '/metrics', interval: '30s' }],
          },
        }),
      );
    }
    out.push(networkPolicy(values, sv, meta(service, service), selector(service), needs));
  }

  for (const job of jobs(values, customPolicy)) {
    out.push(
      new Job({
        metadata: meta(job.name, 'setup'),
        spec: {
          backoffLimit: 6,
          ttlSecondsAfterFinished: 86_400,
          template: {
            metadata: { labels: labels('setup') },
            spec: {
              ...podSpec(
                values,
                [
                  {
                    name: job.name,
                    image,
                    imagePullPolicy: values.image.pullPolicy,
                    args: job.args,
                    env: [...commonEnv(values), ...job.env],
                    volumeMounts: [
                      { name: 'tmp', mountPath: '/tmp' },
                      { name: 'app-secrets', mountPath: `${SECRET_DIR}/app`, readOnly: true },
                      ...transportMounts(values),
                    ],
                    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
                    securityContext: containerSecurity(),
                  },
                ],
                [
                  { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
                  {
                    name: 'app-secrets',
                    secret: { secretName: values.existingSecret.app, defaultMode: 0o440 },
                  },
                  ...transportVolumes(values),
                ],
                name('app'),
              ),
              restartPolicy: 'OnFailure',
            },
          },
        },
      }),
    );
  }
  out.push(
    new NetworkPolicy({
      metadata: meta('setup', 'setup'),
      spec: {
        podSelector: { matchLabels: selector('setup') },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        egress: [
          dnsEgress(),
          ...egressRules(values.kafka.egress),
          ...egressRules(values.schemaRegistry.egress),
        ],
      },
    }),
  );
  if (values.monitoring.serviceMonitor) out.push(alertRules(values, meta('alerts', 'monitoring')));
  return out;
}

function commonEnv(values: DeployValues): IEnvVar[] {
  const env: IEnvVar[] = [
    { name: 'EHRFLOW_MODE', value: values.mode },
    { name: 'LOG_LEVEL', value: values.logLevel },
    { name: 'HTTP_PORT', value: String(HTTP_PORT) },
    { name: 'SHUTDOWN_TIMEOUT_MS', value: String(SHUTDOWN_TIMEOUT_MS) },
    { name: 'KAFKA_BROKERS', value: values.kafka.brokers },
    { name: 'KAFKA_SSL', value: String(values.kafka.ssl) },
    { name: 'SCHEMA_REGISTRY_URL', value: values.schemaRegistry.url },
    // Secrets by reference: files of the platform team's Secret, never values in the manifest.
    { name: 'PHI_KEYRING_FILE', value: `${SECRET_DIR}/app/PHI_KEYRING` },
    { name: 'PSEUDONYM_KEY_FILE', value: `${SECRET_DIR}/app/PSEUDONYM_KEY` },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];
  if (values.kafka.caConfigMap !== undefined)
    env.push({ name: 'KAFKA_SSL_CA', value: `${KAFKA_CA_DIR}/ca.crt` });
  if (values.kafka.clientCertSecret !== undefined) {
    // mTLS: the client certificate and key as files of the platform team's TLS Secret.
    env.push(
      { name: 'KAFKA_SSL_CERT', value: `${KAFKA_CLIENT_DIR}/tls.crt` },
      { name: 'KAFKA_SSL_KEY', value: `${KAFKA_CLIENT_DIR}/tls.key` },
    );
  }
  if (values.schemaRegistry.caConfigMap !== undefined)
    env.push({ name: 'SCHEMA_REGISTRY_CA', value: `${REGISTRY_CA_DIR}/ca.crt` });
  if (values.schemaRegistry.basicAuth === true) {
    env.push(
      { name: 'SCHEMA_REGISTRY_USERNAME_FILE', value: `${SECRET_DIR}/app/SCHEMA_REGISTRY_USERNAME` },
      { name: 'SCHEMA_REGISTRY_PASSWORD_FILE', value: `${SECRET_DIR}/app/SCHEMA_REGISTRY_PASSWORD` },
    );
  }
  if (values.kafka.saslMechanism !== undefined) {
    env.push(
      { name: 'KAFKA_SASL_MECHANISM', value: values.kafka.saslMechanism },
      { name: 'KAFKA_SASL_USERNAME_FILE', value: `${SECRET_DIR}/app/KAFKA_SASL_USERNAME` },
      { name: 'KAFKA_SASL_PASSWORD_FILE', value: `${SECRET_DIR}/app/KAFKA_SASL_PASSWORD` },
    );
  }
  return env;
}

function serviceEnv(service: string, values: DeployValues, customPolicy: boolean): IEnvVar[] {
  switch (service) {
    case 'extractor':
      return [
        { name: 'EXTRACTOR_SOURCES_FILE', value: `${SOURCES_DIR}/sources.json` },
        // The jobs API's bearer token (key ADMIN_TOKEN of the app Secret).
        { name: 'EXTRACTOR_ADMIN_TOKEN_FILE', value: `${SECRET_DIR}/app/ADMIN_TOKEN` },
      ];
    case 'validator':
      return [
        // One transactional id per replica (its pod name): replicas sharing one would fence each other.
        { name: 'VALIDATOR_TRANSACTIONAL_ID', value: `${values.release}-validator-$(POD_NAME)` },
        ...(values.existingSecret.alerts !== undefined
          ? [
              {
                name: 'ALERT_WEBHOOK_URL',
                valueFrom: { secretKeyRef: { name: values.existingSecret.alerts, key: 'ALERT_WEBHOOK_URL' } },
              },
            ]
          : []),
      ];
    case 'mllp-receiver': {
      const listener = values.services[service]?.listener;
      return [
        ...(listener !== undefined ? [{ name: 'MLLP_PORT', value: String(listener.port) }] : []),
        { name: 'MLLP_TRANSACTIONAL_ID', value: `${values.release}-mllp-receiver-$(POD_NAME)` },
        ...(listener?.tlsSecret !== undefined
          ? [
              { name: 'MLLP_TLS_CERT_FILE', value: `${LISTENER_TLS_DIR}/tls.crt` },
              { name: 'MLLP_TLS_KEY_FILE', value: `${LISTENER_TLS_DIR}/tls.key` },
            ]
          : []),
      ];
    }
    case 'redactor':
      return [
        { name: 'REDACTOR_POLICY', value: customPolicy ? `${POLICY_DIR}/policy.json` : builtIn(values) },
        { name: 'REDACTOR_TRANSACTIONAL_ID', value: `${values.release}-redactor-$(POD_NAME)` },
      ];
    default:
      return [];
  }
}

const builtIn = (values: DeployValues) =>
  'builtIn' in values.redactorPolicy ? values.redactorPolicy.builtIn : 'safe-harbor';

function jobs(
  values: DeployValues,
  customPolicy: boolean,
): { name: string; args: string[]; env: IEnvVar[] }[] {
  return [
    {
      name: 'create-topics',
      args: ['create-topics', '--file', `/app/deploy/topics/${values.kafka.topicsFile}`],
      env: [],
    },
    { name: 'register-schemas', args: ['register-schemas'], env: [] },
    {
      name: 'register-clean-schemas',
      args: ['register-clean-schemas'],
      env: customPolicy ? [] : [{ name: 'REDACTOR_POLICY', value: builtIn(values) }],
    },
  ];
}

function podSpec(
  values: DeployValues,
  containers: IContainer[],
  volumes: IVolume[],
  serviceAccount: string,
): IPodSpec {
  return {
    serviceAccountName: serviceAccount,
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: GRACE_SECONDS,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers,
    volumes,
  };
}

function containerSecurity() {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

/**
 * The KEDA Kafka scaler's authentication: `sasl` and `tls` in the trigger's metadata, the secrets
 * by reference (the app Secret's SASL keys, the client certificate Secret, the CA ConfigMap).
 * Undefined for a plaintext cluster without SASL. `configMapTargetRef` needs KEDA 2.16 or later.
 * @see https://keda.sh/docs/latest/scalers/apache-kafka/
 */
function kedaKafkaAuthentication(
  values: DeployValues,
): { spec: ITriggerAuthenticationSpec; metadata: Record<string, string> } | undefined {
  const k = values.kafka;
  if (!k.ssl && k.saslMechanism === undefined) return undefined;
  const SASL = {
    plain: 'plaintext',
    'scram-sha-256': 'scram_sha256',
    'scram-sha-512': 'scram_sha512',
  } as const;
  const secretTargetRef = [
    ...(k.saslMechanism !== undefined
      ? [
          { parameter: 'username', name: values.existingSecret.app, key: 'KAFKA_SASL_USERNAME' },
          { parameter: 'password', name: values.existingSecret.app, key: 'KAFKA_SASL_PASSWORD' },
        ]
      : []),
    ...(k.ssl && k.clientCertSecret !== undefined
      ? [
          { parameter: 'cert', name: k.clientCertSecret, key: 'tls.crt' },
          { parameter: 'key', name: k.clientCertSecret, key: 'tls.key' },
        ]
      : []),
  ];
  const configMapTargetRef =
    k.ssl && k.caConfigMap !== undefined ? [{ parameter: 'ca', name: k.caConfigMap, key: 'ca.crt' }] : [];
  return {
    spec: {
      ...(secretTargetRef.length > 0 ? { secretTargetRef } : {}),
      ...(configMapTargetRef.length > 0 ? { configMapTargetRef } : {}),
    },
    metadata: {
      ...(k.saslMechanism !== undefined ? { sasl: SASL[k.saslMechanism] } : {}),
      ...(k.ssl ? { tls: 'enable' } : {}),
    },
  };
}

/** The Kafka and registry CAs (ConfigMaps) and the mTLS client certificate (Secret), when configured. */
function transportVolumes(values: DeployValues): IVolume[] {
  return [
    ...(values.schemaRegistry.caConfigMap === undefined
      ? []
      : [{ name: 'registry-ca', configMap: { name: values.schemaRegistry.caConfigMap } }]),
    ...(values.kafka.caConfigMap === undefined
      ? []
      : [{ name: 'kafka-ca', configMap: { name: values.kafka.caConfigMap } }]),
    ...(values.kafka.clientCertSecret === undefined
      ? []
      : [
          { name: 'kafka-client', secret: { secretName: values.kafka.clientCertSecret, defaultMode: 0o440 } },
        ]),
  ];
}
function transportMounts(values: DeployValues): IVolumeMount[] {
  return [
    ...(values.schemaRegistry.caConfigMap === undefined
      ? []
      : [{ name: 'registry-ca', mountPath: REGISTRY_CA_DIR, readOnly: true }]),
    ...(values.kafka.caConfigMap === undefined
      ? []
      : [{ name: 'kafka-ca', mountPath: KAFKA_CA_DIR, readOnly: true }]),
    ...(values.kafka.clientCertSecret === undefined
      ? []
      : [{ name: 'kafka-client', mountPath: KAFKA_CLIENT_DIR, readOnly: true }]),
  ];
}

function dnsEgress(): INetworkPolicyEgressRule {
  return {
    to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
}

/** A NetworkPolicy peer: an address block, or pods (by labels) of a namespace. */
function peer(rule: IngressPeer): INetworkPolicyPeer {
  return rule.cidr !== undefined
    ? { ipBlock: { cidr: rule.cidr } }
    : {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': rule.namespace ?? '' } },
        ...(rule.podLabels !== undefined ? { podSelector: { matchLabels: { ...rule.podLabels } } } : {}),
      };
}

function egressRules(rules: readonly EgressRule[]): INetworkPolicyEgressRule[] {
  return rules.map((rule) => ({
    to: [peer(rule)],
    ports: rule.ports.map((port) => ({ protocol: 'TCP', port })),
  }));
}

function networkPolicy(
  values: DeployValues,
  sv: ServiceValues,
  metadata: { name: string; namespace: string; labels: Record<string, string> },
  podLabels: Record<string, string>,
  needs: { redis: boolean; postgres: boolean; ehr: boolean },
): NetworkPolicy {
  return new NetworkPolicy({
    metadata,
    spec: {
      podSelector: { matchLabels: podLabels },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          // Probes come from the kubelet (not subject to the policy); /metrics from Prometheus;
          // the extractor's jobs API from pods of this namespace.
          from: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': values.monitoring.namespace },
              },
            },
            { podSelector: {} },
          ],
          ports: [{ protocol: 'TCP', port: HTTP_PORT }],
        },
        // A listener (MLLP) takes connections from the configured senders only.
        ...(sv.listener !== undefined
          ? [
              {
                from: sv.listener.from.map(peer),
                ports: [{ protocol: 'TCP' as const, port: sv.listener.port }],
              },
            ]
          : []),
      ],
      egress: [
        dnsEgress(),
        ...egressRules(values.kafka.egress),
        ...egressRules(values.schemaRegistry.egress),
        ...(needs.redis ? egressRules(values.redis.egress) : []),
        ...(needs.postgres ? egressRules(values.postgres.egress) : []),
        ...(needs.ehr ? egressRules(values.ehr.egress) : []),
      ],
    },
  });
}
