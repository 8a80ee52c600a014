/**
 * `npm run deid:eval`: scores the free-text de-identifier on the generated labelled corpus (a
 * development split and a held-out split) and prints recall and precision per identifier class,
 * the clinical words wrongly removed, throughput, the name figures of each detector layer alone
 * and without it, and whether the targets are met. Writes the figures as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { IDENTIFIER_CLASSES, generateCorpus, type LabelledNote } from './text/corpus.ts';
import { evaluate, type EvalResult } from './text/evaluate.ts';
import { ALL_TEXT_LAYERS, TEXT_LAYERS, type TextLayer } from './text/text-deidentifier.ts';

const HELP = `Usage: npm run deid:eval -- [options]

Generates the labelled corpus (synthetic, seeded) and scores the free-text de-identifier.

Options:
  --notes N           development-split notes (default 2000)
  --heldout-notes N   held-out-split notes: other templates, other invented names (default 2000)
  --seed N            development seed (default 1)
  --heldout-seed N    held-out seed (default 2)
  --out PATH          JSON report (default .run/deid-eval/report.json)
  --no-layers         skip the per-layer runs
  --check             exit 1 when a target is missed
  --help              this text

Targets: person-name token recall >= 99.5% and precision >= 90%; every other class recall >= 99%;
clinical allowlist words removed <= 1%.
`;

export const TARGETS = {
  nameRecall: 0.995,
  namePrecision: 0.9,
  otherRecall: 0.99,
  keepRemoved: 0.01,
} as const;

interface Options {
  notes: number;
  heldoutNotes: number;
  seed: number;
  heldoutSeed: number;
  out: string;
  layers: boolean;
  check: boolean;
}

function parse(argv: readonly string[]): Options | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      notes: { type: 'string' },
      'heldout-notes': { type: 'string' },
      seed: { type: 'string' },
      'heldout-seed': { type: 'string' },
      out: { type: 'string' },
      'no-layers': { type: 'boolean' },
      check: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const int = (raw: string | undefined, fallback: number, name: string): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`--${name} must be a whole number`);
    return n;
  };
  return {
    notes: int(values.notes, 2000, 'notes'),
    heldoutNotes: int(values['heldout-notes'], 2000, 'heldout-notes'),
    seed: int(values.seed, 1, 'seed'),
    heldoutSeed: int(values['heldout-seed'], 2, 'heldout-seed'),
    out: values.out ?? '.run/deid-eval/report.json',
    layers: values['no-layers'] !== true,
    check: values.check === true,
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/** Which targets a result misses (empty when all are met). */
export function missedTargets(result: EvalResult): string[] {
  const missed: string[] = [];
  const name = result.classes.NAME;
  if (name.recall < TARGETS.nameRecall)
    missed.push(`NAME recall ${pct(name.recall)} < ${pct(TARGETS.nameRecall)}`);
  if (name.precision < TARGETS.namePrecision)
    missed.push(`NAME precision ${pct(name.precision)} < ${pct(TARGETS.namePrecision)}`);
  for (const cls of IDENTIFIER_CLASSES) {
    if (cls === 'NAME') continue;
    const score = result.classes[cls];
    if (score.gold > 0 && score.recall < TARGETS.otherRecall)
      missed.push(`${cls} recall ${pct(score.recall)} < ${pct(TARGETS.otherRecall)}`);
  }
  if (result.keepRemovedRate > TARGETS.keepRemoved)
    missed.push(`clinical words removed ${pct(result.keepRemovedRate)} > ${pct(TARGETS.keepRemoved)}`);
  return missed;
}

function table(title: string, r: EvalResult): string {
  const lines = [`\n${title}: ${r.notes} notes, ${Math.round(r.notesPerSecond)} notes/s`];
  lines.push('  class      tokens   recall   precision');
  for (const cls of IDENTIFIER_CLASSES) {
    const s = r.classes[cls];
    lines.push(
      `  ${cls.padEnd(9)} ${String(s.gold).padStart(7)}  ${pct(s.recall).padStart(7)}  ${pct(s.precision).padStart(9)}`,
    );
  }
  lines.push(
    `  ${'overall'.padEnd(9)} ${String(r.overall.gold).padStart(7)}  ${pct(r.overall.recall).padStart(7)}  ${pct(r.overall.precision).padStart(9)}`,
  );
  const words = Object.entries(r.keepRemovedWords)
    .sort((a, b) => b[1] - a[1])
    .map(([w, n]) => `${w} ×${n}`)
    .join(', ');
  lines.push(
    `  clinical allowlist words removed: ${r.keepRemoved}/${r.keepTokens} (${pct(r.keepRemovedRate)})${words === '' ? '' : `: ${words}`}`,
  );
  lines.push(
    `  other words removed: ${r.otherRemoved}/${r.otherTokens} (${pct(r.otherRemoved / Math.max(1, r.otherTokens))})`,
  );
  lines.push(
    `  residual risk per note: mean ${r.residualRisk.mean.toFixed(2)}, p99 ${r.residualRisk.p99}, max ${r.residualRisk.max}`,
  );
  const missed = missedTargets(r);
  lines.push(missed.length === 0 ? '  targets: met' : `  targets MISSED: ${missed.join('; ')}`);
  return lines.join('\n');
}

/** Name figures with each layer alone and with each layer switched off (patterns always on). */
function layerRuns(notes: readonly LabelledNote[]): Record<string, { recall: number; precision: number }> {
  const nameLayers: TextLayer[] = TEXT_LAYERS.filter((l) => l !== 'patterns');
  const runs: Record<string, { recall: number; precision: number }> = {};
  for (const layer of nameLayers) {
    const alone = evaluate(notes, new Set<TextLayer>(['patterns', layer])).classes.NAME;
    runs[`only ${layer}`] = { recall: alone.recall, precision: alone.precision };
    const without = evaluate(notes, new Set(TEXT_LAYERS.filter((l) => l !== layer))).classes.NAME;
    runs[`without ${layer}`] = { recall: without.recall, precision: without.precision };
  }
  return runs;
}

export function main(
  argv: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
): number {
  const options = parse(argv);
  if (options === 'help') {
    out(HELP);
    return 0;
  }
  const dev = generateCorpus({ seed: options.seed, notes: options.notes, split: 'dev' });
  const heldout = generateCorpus({
    seed: options.heldoutSeed,
    notes: options.heldoutNotes,
    split: 'heldout',
  });
  const devResult = evaluate(dev, ALL_TEXT_LAYERS);
  const heldoutResult = evaluate(heldout, ALL_TEXT_LAYERS);
  out(`${table(`development split (seed ${options.seed}; the detector was tuned on it)`, devResult)}\n`);
  out(
    `${table(`held-out split (seed ${options.heldoutSeed}; other templates, other invented names)`, heldoutResult)}\n`,
  );
  let layers: Record<string, { recall: number; precision: number }> | undefined;
  if (options.layers) {
    layers = layerRuns(heldout);
    out('\nname layers on the held-out split (patterns always on):\n');
    for (const [run, s] of Object.entries(layers))
      out(
        `  ${run.padEnd(20)} recall ${pct(s.recall).padStart(7)}  precision ${pct(s.precision).padStart(7)}\n`,
      );
  }
  const path = resolve(options.out);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(
    path,
    `${JSON.stringify({ targets: TARGETS, options, dev: devResult, heldout: heldoutResult, layers, missedTargets: { dev: missedTargets(devResult), heldout: missedTargets(heldoutResult) } }, null, 2)}\n`,
  );
  out(`\nreport: ${options.out}\n`);
  const failed = missedTargets(devResult).length + missedTargets(heldoutResult).length > 0;
  return options.check && failed ? 1 : 0;
}

if (import.meta.main) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`deid:eval: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
