import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SERVICE_MALLOC_ENV, SERVICE_NODE_OPTIONS, serviceNodeOptions } from '@ehrflow/config/node-options';
import { alertList } from './alerts.ts';
import { buildManifests, HTTP_PORT } from './manifests.ts';
import { renderAlertRules, renderManifests } from './render.ts';
import { defaultValues, mergeValues, type DeployValues } from './values.ts';

const K8S_DIR = join(import.meta.dirname, '..');
const REPO = join(K8S_DIR, '..', '..');
const SERVICES = Object.keys(defaultValues.services);
const SECRET_VARIABLES = [
  'PHI_KEYRING',
  'PSEUDONYM_KEY',
  'DATABASE_URL',
  'REDIS_URL',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SSL_KEY',
  'SCHEMA_REGISTRY_USERNAME',
  'SCHEMA_REGISTRY_PASSWORD',
];

type Obj = {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
};
interface Container {
  name: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts: { name: string; mountPath: string }[];
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
  livenessProbe?: { httpGet: { path: string } };
  readinessProbe?: { httpGet: { path: string } };
}
interface PodSpec {
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string } }[];
  securityContext: Record<string, unknown>;
  terminationGracePeriodSeconds: number;
}

function objects(values: DeployValues = defaultValues): Obj[] {
  return buildManifests(values).map((m) => JSON.parse(JSON.stringify(m.toJSON())) as Obj);
}
const find = (objs: Obj[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name);
const podOf = (o: Obj) => (o.spec.template as { spec: PodSpec }).spec;

describe('Kubernetes manifests', () => {
  it('every object validates against the Kubernetes API schemas (kubernetes-models)', () => {
    expect(() => renderManifests(defaultValues)).not.toThrow();
    const keda = mergeValues(defaultValues, {
      keda: { enabled: true },
      redactorPolicy: { custom: { rules: [] } },
    });
    expect(() => renderManifests(keda)).not.toThrow();
  });

  it('refuses an object the schemas reject', () => {
    const bad = mergeValues(defaultValues, { services: { loader: { minReplicas: 'two' } } });
    expect(() => renderManifests(bad)).toThrow(/minReplicas|replicas/);
  });

  it('has a Deployment, Service, PDB, HPA, ServiceMonitor and NetworkPolicy per service', () => {
    const objs = objects();
    for (const service of SERVICES) {
      for (const kind of [
        'Deployment',
        'Service',
        'PodDisruptionBudget',
        'HorizontalPodAutoscaler',
        'ServiceMonitor',
        'NetworkPolicy',
      ])
        expect([service, kind, find(objs, kind, `ehrflow-${service}`) !== undefined]).toEqual([
          service,
          kind,
          true,
        ]);
    }
  });

  it('probes /healthz and /readyz, sets requests and limits, runs non-root on a read-only root', () => {
    for (const service of SERVICES) {
      const pod = podOf(find(objects(), 'Deployment', `ehrflow-${service}`) as Obj);
      const c = pod.containers[0] as Container;
      expect(c.args).toEqual([service]);
      expect(c.livenessProbe?.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe?.httpGet.path).toBe('/readyz');
      expect(c.resources.requests?.cpu).toBeDefined();
      expect(c.resources.requests?.memory).toBeDefined();
      expect(c.resources.limits?.memory).toBeDefined();
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.volumeMounts.map((m) => m.mountPath)).toContain('/tmp');
      const shutdownMs = Number(c.env.find((e) => e.name === 'SHUTDOWN_TIMEOUT_MS')?.value);
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs);
    }
  });

  it('takes secrets only by reference to the existing Secret, never as values', () => {
    const values = mergeValues(defaultValues, { existingSecret: { app: 'team-made-secret' } });
    for (const o of objects(values).filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      const pod = podOf(o);
      for (const c of pod.containers) {
        for (const name of SECRET_VARIABLES) expect(c.env.find((e) => e.name === name)).toBeUndefined();
        const keyring = c.env.find((e) => e.name === 'PHI_KEYRING_FILE')?.value ?? '';
        const mount = c.volumeMounts.find((m) => keyring.startsWith(`${m.mountPath}/`));
        const volume = pod.volumes.find((v) => v.name === mount?.name);
        expect([o.metadata.name, volume?.secret?.secretName]).toEqual([o.metadata.name, 'team-made-secret']);
      }
    }
  });

  it('gives each validator and redactor replica its own transactional id (from its pod name)', () => {
    for (const service of ['validator', 'redactor']) {
      const c = podOf(find(objects(), 'Deployment', `ehrflow-${service}`) as Obj).containers[0] as Container;
      const names = c.env.map((e) => e.name);
      const tx = c.env.find((e) => e.name === `${service.toUpperCase()}_TRANSACTIONAL_ID`)?.value ?? '';
      expect(tx).toContain('$(POD_NAME)');
      // Kubernetes expands $(VAR) only from variables defined earlier in the list.
      expect(names.indexOf('POD_NAME')).toBeLessThan(
        names.indexOf(`${service.toUpperCase()}_TRANSACTIONAL_ID`),
      );
    }
  });

  it('lets each service reach only its own dependencies', () => {
    const egressCidrs = (service: string) =>
      (
        (find(objects(), 'NetworkPolicy', `ehrflow-${service}`) as Obj).spec.egress as {
          to: { ipBlock?: { cidr: string } }[];
        }[]
      )
        .flatMap((r) => r.to.map((t) => t.ipBlock?.cidr))
        .filter((c) => c !== undefined);
    const ehr = defaultValues.ehr.egress[0]?.cidr;
    const pg = defaultValues.postgres.egress[0]?.cidr;
    const kafka = defaultValues.kafka.egress[0]?.cidr;
    expect(egressCidrs('extractor')).toEqual(expect.arrayContaining([ehr, pg, kafka]));
    expect(egressCidrs('loader')).not.toContain(ehr);
    expect(egressCidrs('validator')).not.toContain(ehr);
    expect(egressCidrs('validator')).not.toContain(pg);
    for (const o of objects().filter((x) => x.kind === 'NetworkPolicy'))
      expect(o.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('with KEDA, scales consumer stages on lag instead of CPU', () => {
    const objs = objects(mergeValues(defaultValues, { keda: { enabled: true } }));
    for (const service of ['validator', 'redactor', 'loader']) {
      expect(find(objs, 'ScaledObject', `ehrflow-${service}`)).toBeDefined();
      expect(find(objs, 'HorizontalPodAutoscaler', `ehrflow-${service}`)).toBeUndefined();
    }
    expect(find(objs, 'HorizontalPodAutoscaler', 'ehrflow-extractor')).toBeDefined();
  });

  it('with KEDA, authenticates the lag scaler to Kafka like the services (TLS, SASL, client certificate)', () => {
    const objs = objects(
      mergeValues(defaultValues, {
        keda: { enabled: true },
        kafka: { clientCertSecret: 'team-kafka-client' },
      }),
    );
    const auth = find(objs, 'TriggerAuthentication', 'ehrflow-kafka') as Obj;
    expect(auth.spec.secretTargetRef).toEqual([
      { parameter: 'username', name: 'ehrflow-secrets', key: 'KAFKA_SASL_USERNAME' },
      { parameter: 'password', name: 'ehrflow-secrets', key: 'KAFKA_SASL_PASSWORD' },
      { parameter: 'cert', name: 'team-kafka-client', key: 'tls.crt' },
      { parameter: 'key', name: 'team-kafka-client', key: 'tls.key' },
    ]);
    expect(auth.spec.configMapTargetRef).toEqual([
      { parameter: 'ca', name: 'ehrflow-kafka-ca', key: 'ca.crt' },
    ]);
    const trigger = (
      (find(objs, 'ScaledObject', 'ehrflow-validator') as Obj).spec.triggers as {
        metadata: Record<string, string>;
        authenticationRef?: { name: string };
      }[]
    )[0];
    expect(trigger?.metadata).toMatchObject({ sasl: 'scram_sha512', tls: 'enable' });
    expect(trigger?.authenticationRef).toEqual({ name: 'ehrflow-kafka' });
    // A plaintext cluster without SASL needs none.
    const plainKafka = Object.fromEntries(
      Object.entries({ ...defaultValues.kafka, ssl: false }).filter(
        ([key]) => key !== 'saslMechanism' && key !== 'caConfigMap',
      ),
    ) as unknown as DeployValues['kafka'];
    const plain = objects({ ...defaultValues, keda: { enabled: true }, kafka: plainKafka });
    expect(plain.some((o) => o.kind === 'ScaledObject')).toBe(true);
    expect(plain.some((o) => o.kind === 'TriggerAuthentication')).toBe(false);
  });

  it('ships the sources file and a custom policy in ConfigMaps', () => {
    const objs = objects(mergeValues(defaultValues, { redactorPolicy: { custom: { name: 'site-policy' } } }));
    expect(
      (find(objs, 'ConfigMap', 'ehrflow-sources') as unknown as { data: Record<string, string> }).data[
        'sources.json'
      ],
    ).toBeDefined();
    const policy = find(objs, 'ConfigMap', 'ehrflow-redactor-policy') as unknown as {
      data: Record<string, string>;
    };
    expect(JSON.parse(policy.data['policy.json'] ?? '{}')).toEqual({ name: 'site-policy' });
    const redactor = podOf(find(objs, 'Deployment', 'ehrflow-redactor') as Obj).containers[0] as Container;
    const path = redactor.env.find((e) => e.name === 'REDACTOR_POLICY')?.value ?? '';
    expect(redactor.volumeMounts.some((m) => path.startsWith(`${m.mountPath}/`))).toBe(true);
  });

  it('has Jobs that create the topics over TLS/SASL and register the schemas', () => {
    const objs = objects();
    const topics = podOf(find(objs, 'Job', 'ehrflow-create-topics') as Obj).containers[0] as Container;
    expect(topics.args.slice(0, 3)).toEqual([
      'create-topics',
      '--file',
      '/app/deploy/topics/production.json',
    ]);
    const env = Object.fromEntries(topics.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512' });
    expect(find(objs, 'Job', 'ehrflow-register-schemas')).toBeDefined();
    expect(find(objs, 'Job', 'ehrflow-register-clean-schemas')).toBeDefined();
  });

  it('mounts the Kafka client certificate (mTLS) into every Deployment and Job when one is named', () => {
    const unset = objects().flatMap((o) =>
      o.kind === 'Deployment' || o.kind === 'Job' ? podOf(o).containers.flatMap((c) => c.env) : [],
    );
    expect(unset.length).toBeGreaterThan(0);
    expect(unset.map((e) => e.name)).not.toContain('KAFKA_SSL_CERT');
    expect(unset.map((e) => e.name)).not.toContain('KAFKA_SSL_KEY');
    const values = mergeValues(defaultValues, { kafka: { clientCertSecret: 'team-kafka-client' } });
    const workloads = objects(values).filter((x) => x.kind === 'Deployment' || x.kind === 'Job');
    expect(workloads.length).toBeGreaterThan(SERVICES.length);
    for (const o of workloads) {
      const pod = podOf(o);
      for (const c of pod.containers) {
        const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
        for (const [variable, file] of [
          ['KAFKA_SSL_CERT', 'tls.crt'],
          ['KAFKA_SSL_KEY', 'tls.key'],
        ] as const) {
          const path = env[variable] ?? '';
          const mount = c.volumeMounts.find((m) => path === `${m.mountPath}/${file}`);
          const volume = pod.volumes.find((v) => v.name === mount?.name);
          expect([o.metadata.name, variable, volume?.secret?.secretName]).toEqual([
            o.metadata.name,
            variable,
            'team-kafka-client',
          ]);
        }
        // SASL stays as configured: the listener may ask for both.
        expect(env.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
      }
    }
  });

  it('points the registry client at its own CA and at credential files of the app Secret', () => {
    const values = mergeValues(defaultValues, {
      existingSecret: { app: 'team-made-secret' },
      schemaRegistry: { caConfigMap: 'team-registry-ca', basicAuth: true },
    });
    const workloads = objects(values).filter((x) => x.kind === 'Deployment' || x.kind === 'Job');
    for (const o of workloads) {
      const pod = podOf(o);
      for (const c of pod.containers) {
        const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
        const sourceOf = (path: string) => {
          const mount = c.volumeMounts.find((m) => path.startsWith(`${m.mountPath}/`));
          const volume = pod.volumes.find((v) => v.name === mount?.name) as
            { secret?: { secretName: string }; configMap?: { name: string } } | undefined;
          return volume?.secret?.secretName ?? volume?.configMap?.name;
        };
        expect([o.metadata.name, sourceOf(env.SCHEMA_REGISTRY_CA ?? '')]).toEqual([
          o.metadata.name,
          'team-registry-ca',
        ]);
        for (const variable of ['SCHEMA_REGISTRY_USERNAME_FILE', 'SCHEMA_REGISTRY_PASSWORD_FILE'])
          expect([o.metadata.name, variable, sourceOf(env[variable] ?? '')]).toEqual([
            o.metadata.name,
            variable,
            'team-made-secret',
          ]);
      }
    }
  });

  it('runs the MLLP receiver with its port in the Deployment and the Service, open to the senders only', () => {
    const objs = objects(
      mergeValues(defaultValues, {
        services: {
          'mllp-receiver': { listener: { serviceType: 'LoadBalancer', tlsSecret: 'team-mllp-tls' } },
        },
      }),
    );
    const deployment = find(objs, 'Deployment', 'ehrflow-mllp-receiver') as Obj;
    const pod = podOf(deployment);
    const c = pod.containers[0] as Container & { ports: { name: string; containerPort: number }[] };
    expect(c.args).toEqual(['mllp-receiver']);
    expect(c.ports).toContainEqual(expect.objectContaining({ name: 'mllp', containerPort: 2575 }));
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ MLLP_PORT: '2575', MLLP_SOURCE_ID: 'site-a-hl7' });
    expect(env.MLLP_TRANSACTIONAL_ID).toContain('$(POD_NAME)');
    expect(env.REDIS_URL_FILE).toBeDefined();
    for (const variable of ['MLLP_TLS_CERT_FILE', 'MLLP_TLS_KEY_FILE']) {
      const mount = c.volumeMounts.find((m) => (env[variable] ?? '').startsWith(`${m.mountPath}/`));
      expect(pod.volumes.find((v) => v.name === mount?.name)?.secret?.secretName).toBe('team-mllp-tls');
    }

    const service = find(objs, 'Service', 'ehrflow-mllp-receiver') as Obj;
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports).toContainEqual(
      expect.objectContaining({ name: 'mllp', port: 2575, targetPort: 'mllp' }),
    );

    const policy = find(objs, 'NetworkPolicy', 'ehrflow-mllp-receiver') as Obj;
    const ingress = policy.spec.ingress as {
      from: { ipBlock?: { cidr: string } }[];
      ports: { port: number }[];
    }[];
    const mllpRule = ingress.find((r) => r.ports.some((p) => p.port === 2575));
    expect(mllpRule?.from).toEqual([{ ipBlock: { cidr: '198.51.100.0/24' } }]);
    // The HTTP port stays closed to the senders.
    const httpRule = ingress.find((r) => r.ports.some((p) => p.port === HTTP_PORT));
    expect(JSON.stringify(httpRule)).not.toContain('198.51.100.0/24');
    // Egress: Kafka, registry, Redis; not the EHRs, not PostgreSQL.
    const egress = JSON.stringify(policy.spec.egress);
    expect(egress).toContain(defaultValues.redis.egress[0]?.cidr);
    expect(egress).not.toContain(defaultValues.ehr.egress[0]?.cidr);
    expect(egress).not.toContain(defaultValues.postgres.egress[0]?.cidr);
    // Other services open no listener to the senders.
    expect(JSON.stringify(find(objs, 'NetworkPolicy', 'ehrflow-loader'))).not.toContain('198.51.100.0/24');
  });

  it('reads a file-drop volume in one pod of its own that never overlaps a second', () => {
    const objs = objects(
      mergeValues(defaultValues, { services: { 'mllp-receiver': { fileDrop: { claimName: 'hl7-drop' } } } }),
    );
    const drop = find(objs, 'Deployment', 'ehrflow-mllp-receiver-file-drop') as Obj;
    expect(drop.spec.replicas).toBe(1);
    expect(drop.spec.strategy).toEqual({ type: 'Recreate' });
    const pod = podOf(drop);
    const c = pod.containers[0] as Container;
    const dir = c.env.find((e) => e.name === 'MLLP_DROP_DIR')?.value ?? '';
    const mount = c.volumeMounts.find((m) => m.mountPath === dir);
    const volume = pod.volumes.find((v) => v.name === mount?.name) as {
      persistentVolumeClaim?: { claimName: string };
    };
    expect(volume.persistentVolumeClaim?.claimName).toBe('hl7-drop');
    // The receiver's Service, PDB and autoscaler do not select the file-drop pod.
    const receiverSelector = (find(objs, 'Service', 'ehrflow-mllp-receiver') as Obj).spec.selector as Record<
      string,
      string
    >;
    const dropLabels = (drop.spec.template as { metadata: { labels: Record<string, string> } }).metadata
      .labels;
    expect(Object.entries(receiverSelector).every(([k, v]) => dropLabels[k] === v)).toBe(false);
    expect(find(objs, 'NetworkPolicy', 'ehrflow-mllp-receiver-file-drop')).toBeDefined();
    // The receiver's own pods read no folder.
    const receiver = podOf(find(objs, 'Deployment', 'ehrflow-mllp-receiver') as Obj)
      .containers[0] as Container;
    expect(receiver.env.find((e) => e.name === 'MLLP_DROP_DIR')).toBeUndefined();
    expect(() =>
      renderManifests(
        mergeValues(defaultValues, {
          services: { 'mllp-receiver': { fileDrop: { claimName: 'hl7-drop' } } },
        }),
      ),
    ).not.toThrow();
  });

  it('starts every service with the heap options of the image, plus its own', () => {
    const containerfile = readFileSync(join(REPO, 'Containerfile'), 'utf8');
    expect(/^\s+NODE_OPTIONS="([^"]*)"/m.exec(containerfile)?.[1]).toBe(SERVICE_NODE_OPTIONS);
    const objs = objects();
    for (const service of SERVICES) {
      const env = podOf(find(objs, 'Deployment', `ehrflow-${service}`) as Obj).containers[0]?.env ?? [];
      expect([service, env.filter((e) => e.name === 'NODE_OPTIONS').map((e) => e.value)]).toEqual([
        service,
        [serviceNodeOptions(service)],
      ]);
      expect(serviceNodeOptions(service).startsWith(SERVICE_NODE_OPTIONS)).toBe(true);
    }
    expect(serviceNodeOptions('redactor')).toContain('--max-old-space-size=');
    // A service's own NODE_OPTIONS replaces the default rather than adding a second variable.
    const own = objects(
      mergeValues(defaultValues, {
        services: { redactor: { env: { NODE_OPTIONS: '--max-old-space-size=1024' } } },
      }),
    );
    const env = podOf(find(own, 'Deployment', 'ehrflow-redactor') as Obj).containers[0]?.env ?? [];
    expect(env.filter((e) => e.name === 'NODE_OPTIONS').map((e) => e.value)).toEqual([
      '--max-old-space-size=1024',
    ]);
  });

  it('starts every service with the malloc settings of the image', () => {
    const containerfile = readFileSync(join(REPO, 'Containerfile'), 'utf8');
    const names = Object.keys(SERVICE_MALLOC_ENV);
    expect(names.length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(SERVICE_MALLOC_ENV))
      expect([name, new RegExp(`^\\s+${name}="([^"]*)"`, 'm').exec(containerfile)?.[1]]).toEqual([
        name,
        value,
      ]);
    const objs = objects();
    for (const service of SERVICES) {
      const env = podOf(find(objs, 'Deployment', `ehrflow-${service}`) as Obj).containers[0]?.env ?? [];
      expect([service, env.filter((e) => names.includes(e.name)).map((e) => [e.name, e.value])]).toEqual([
        service,
        Object.entries(SERVICE_MALLOC_ENV),
      ]);
    }
    // A service's own value replaces the default rather than adding a second variable.
    const own = objects(
      mergeValues(defaultValues, { services: { validator: { env: { MALLOC_ARENA_MAX: '4' } } } }),
    );
    const env = podOf(find(own, 'Deployment', 'ehrflow-validator') as Obj).containers[0]?.env ?? [];
    expect(env.filter((e) => e.name === 'MALLOC_ARENA_MAX').map((e) => e.value)).toEqual(['4']);
  });

  it('the example manifests are current (npm run manifests -- --values deploy/k8s/values.example.json)', () => {
    const values = mergeValues(
      defaultValues,
      JSON.parse(readFileSync(join(K8S_DIR, 'values.example.json'), 'utf8')),
    );
    const committed = readFileSync(join(K8S_DIR, 'manifests', 'example.yaml'), 'utf8');
    expect(committed).toBe(renderManifests(values));
    expect(parseAllDocuments(committed).every((d) => d.errors.length === 0)).toBe(true);
    expect(readFileSync(join(K8S_DIR, 'monitoring', 'alerts.rules.yaml'), 'utf8')).toBe(
      renderAlertRules(values),
    );
  });

  it('the dashboard charts only metrics the services or the alerts use', () => {
    const dashboard = JSON.parse(readFileSync(join(K8S_DIR, 'monitoring', 'dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const panel of dashboard.panels)
      for (const t of panel.targets)
        expect([panel.title, /ehrflow_|kafka_consumergroup_lag|up\{|kube_/.test(t.expr)]).toEqual([
          panel.title,
          true,
        ]);
  });

  it('documents every alert in docs/operations.md', () => {
    const ops = readFileSync(join(REPO, 'docs', 'operations.md'), 'utf8');
    for (const rule of alertList(defaultValues))
      expect([rule.alert, ops.includes(`### ${rule.alert}`)]).toEqual([rule.alert, true]);
  });

  it('serves every port the probes and the ServiceMonitor name', () => {
    const svc = find(objects(), 'Service', 'ehrflow-loader') as Obj;
    expect(svc.spec.ports).toEqual([{ name: 'http', port: HTTP_PORT, targetPort: 'http' }]);
  });
});

describe('topic lists per environment', () => {
  const load = (path: string) =>
    JSON.parse(readFileSync(join(REPO, path), 'utf8')) as {
      defaults: { replicationFactor: number; config: Record<string, string> };
      topics: { name: string; replicationFactor?: number; config?: Record<string, string> }[];
    };
  const production = load('deploy/topics/production.json');
  const local = load('deploy/local/topics.json');

  it('production: replication factor 3 and min.insync.replicas 2 on every topic', () => {
    for (const t of production.topics) {
      expect([t.name, t.replicationFactor ?? production.defaults.replicationFactor]).toEqual([t.name, 3]);
      expect([
        t.name,
        t.config?.['min.insync.replicas'] ?? production.defaults.config['min.insync.replicas'],
      ]).toEqual([t.name, '2']);
    }
  });

  it('local: 1/1, and the same topics as production', () => {
    expect(local.defaults.replicationFactor).toBe(1);
    expect(local.defaults.config['min.insync.replicas']).toBe('1');
    expect(local.topics.map((t) => t.name)).toEqual(production.topics.map((t) => t.name));
  });
});
