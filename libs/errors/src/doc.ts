/**
 * Renders `docs/errors.md` from the catalog, so the document cannot drift from the code.
 *
 * Run `node libs/errors/src/doc.ts` (or `npm run errors:doc`) after changing the catalog;
 * `--check` exits 1 when the committed file differs. `catalog.test.ts` runs the same check.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOG, type ErrorClass } from './catalog.ts';

/** Where the generated document lives, from the repository root. */
export const ERRORS_DOC_PATH = join('docs', 'errors.md');

const CLASS_ACTION: Readonly<Record<ErrorClass, string>> = {
  auth: 'refresh the credentials and retry once, then fail the job loudly',
  rate_limited: 'wait as long as the source asked (the error carries it), then retry',
  transient: 'back off with full jitter and retry',
  contract: 'quarantine the record with its reason and keep going',
  permanent: 'retrying cannot help: fail the job or refuse to start',
};

/** The whole text of `docs/errors.md`. */
export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from libs/errors/src/catalog.ts by `npm run errors:doc`; do not edit by hand. -->',
    '',
    'Every error the pipeline raises on purpose is a `PipelineError` with one of these stable codes.',
    'Logs, alerts, dead-letter reasons and API answers carry the code, never a record value. The',
    'class decides what the caller does; the HTTP status is what an API of the product answers with',
    'when the error reaches a client.',
    '',
    '| class | retryable | what the caller does |',
    '| --- | --- | --- |',
    ...Object.entries(CLASS_ACTION).map(
      ([errorClass, action]) =>
        `| \`${errorClass}\` | ${errorClass === 'transient' || errorClass === 'rate_limited' ? 'yes' : 'no'} | ${action} |`,
    ),
    '',
    '| code | class | HTTP status | meaning |',
    '| --- | --- | --- | --- |',
    ...Object.entries(ERROR_CATALOG)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([code, entry]) =>
          `| \`${code}\` | \`${entry.errorClass}\` | ${entry.httpStatus} | ${entry.doc.replaceAll('|', '\\|')} |`,
      ),
    '',
  ];
  return lines.join('\n');
}

const HELP = `Usage: node libs/errors/src/doc.ts [--check]

Writes docs/errors.md from the error catalog (libs/errors/src/catalog.ts).
  --check   write nothing; exit 1 when docs/errors.md is not what the catalog renders`;

if (import.meta.main) {
  const args = process.argv.slice(2);
  const root = join(import.meta.dirname, '..', '..', '..');
  const path = join(root, ERRORS_DOC_PATH);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
  } else if (args.some((a) => a !== '--check')) {
    console.error(`unknown option; see --help`);
    process.exitCode = 2;
  } else if (args.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // A missing file differs.
    }
    if (current !== renderErrorsDoc()) {
      console.error(`${ERRORS_DOC_PATH} is out of date: run npm run errors:doc`);
      process.exitCode = 1;
    }
  } else {
    writeFileSync(path, renderErrorsDoc());
    console.log(`wrote ${ERRORS_DOC_PATH}`);
  }
}
