/**
 * Writes the Kubernetes manifests of a deployment: `npm run manifests -- --help`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderAlertRules, renderManifests } from './render.ts';
import { defaultValues, mergeValues, type DeployValues } from './values.ts';

const HELP = `Usage: npm run manifests -- [--values FILE.json] [--out FILE.yaml] [--alerts-out FILE.yaml]

Builds the ehrflow manifests (Deployments, Services, PodDisruptionBudgets, autoscalers,
ServiceMonitors, NetworkPolicies, ConfigMaps, setup Jobs, PrometheusRule), validates each against
the Kubernetes API schemas and writes them as one multi-document YAML (stdout without --out).
--values lays a JSON file over the defaults (deploy/k8s/src/values.ts; example:
deploy/k8s/values.example.json). --alerts-out also writes the alert rules as a plain Prometheus
rules file. Apply with: kubectl apply -n <namespace> -f FILE.yaml
`;

const { values: args } = parseArgs({
  options: {
    values: { type: 'string' },
    out: { type: 'string' },
    'alerts-out': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const values: DeployValues =
  args.values === undefined
    ? defaultValues
    : mergeValues(defaultValues, JSON.parse(readFileSync(args.values, 'utf8')));
const yaml = renderManifests(values);
if (args.out === undefined) process.stdout.write(yaml);
else writeFileSync(args.out, yaml);
if (args['alerts-out'] !== undefined) writeFileSync(args['alerts-out'], renderAlertRules(values));
