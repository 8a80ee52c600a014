import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { interpolate } from './interpolate.ts';
import { captureStream } from './test-capture.ts';

function setup(level = 'info') {
  const capture = captureStream();
  const logger = createLogger({ name: 'unit', level, destination: capture });
  return { capture, logger };
}

describe('interpolate', () => {
  it('handles pino placeholders, missing and extra arguments', () => {
    const json = (v: unknown) => JSON.stringify(v);
    expect(interpolate('%s|%d|%i|%f|%j|%o|%O|%%', ['a', '4', 4.7, '1.5', { a: 1 }, [1], null], json)).toBe(
      'a|4|4|1.5|{"a":1}|[1]|null|%',
    );
    expect(interpolate('%s and %s', ['one'], json)).toBe('one and %s');
    expect(interpolate('only %s', ['one', 'two'], json)).toBe('only one');
    expect(interpolate('%d', [Symbol('x')], json)).toBe('NaN');
  });
});

describe('createLogger', () => {
  it('writes JSON lines with name, level and message', () => {
    const { capture, logger } = setup();
    logger.info({ recordId: 'r1', count: 3 }, 'loaded %d records', 3);
    logger.debug('not written at info');
    expect(capture.entries()).toMatchObject([
      { name: 'unit', level: 30, recordId: 'r1', count: 3, msg: 'loaded 3 records' },
    ]);
  });

  it('rejects unknown levels and unsafe child options', () => {
    expect(() => createLogger({ name: 'x', level: 'verbose' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    const { logger } = setup();
    expect(() => logger.child({}, { serializers: {} })).toThrow(/only set level and msgPrefix/);
    expect(() => logger.child({}, { formatters: {} })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('scrubs the message after interpolation, so split identifiers are caught', () => {
    const { capture, logger } = setup();
    logger.info('ssn %s-%s-%s', '123', '45', '6789');
    logger.warn('patient %o', { name: 'Zebulon', mrn: '1', recordId: 'r2' });
    logger.info(1234567);
    expect(capture.entries().map((e) => e.msg)).toEqual(['ssn [SSN]', 'patient {"recordId":"r2"}', '[ID]']);
  });

  it('removes PHI keys at every depth and omits deep objects', () => {
    const { capture, logger } = setup();
    logger.info({
      recordId: 'r1',
      Name: 'Zebulon',
      stats: { birth_date: '1961-03-03', ok: 1, nested: { deeper: { deepest: 'x' } } },
      list: Array.from({ length: 25 }, (_, i) => i),
    });
    const [entry] = capture.entries();
    expect(entry).toMatchObject({ recordId: 'r1', stats: { ok: 1, nested: { deeper: '[object omitted]' } } });
    expect(entry).not.toHaveProperty('Name');
    expect(entry?.stats).not.toHaveProperty('birth_date');
    expect((entry?.list as unknown[]).at(-1)).toBe('[+5 more]');
  });

  it('serializes errors safely wherever they appear and takes a scrubbed message from them', () => {
    const { capture, logger } = setup();
    const err = Object.assign(new Error('bad SSN 123-45-6789'), { record: 'Zebulon' });
    logger.error(err);
    logger.error({ err }, 'while loading');
    logger.error({ failure: err, recordId: 'r3' });
    const [first, second, third] = capture.entries();
    expect(first).toMatchObject({ msg: 'bad SSN [SSN]', err: { type: 'Error', message: 'bad SSN [SSN]' } });
    expect(second).toMatchObject({ msg: 'while loading', err: { message: 'bad SSN [SSN]' } });
    expect(third).toMatchObject({ recordId: 'r3', failure: { type: 'Error' } });
    expect(capture.text()).not.toContain('Zebulon');
    expect(capture.text()).not.toContain('6789');
  });

  it('sanitizes child bindings, setBindings and msgPrefix through every generation', () => {
    const { capture, logger } = setup('debug');
    const child = logger.child({
      jobId: 'j1',
      patient: { name: 'Zebulon' },
      note: 'x',
      where: 'MRN 7654321',
    });
    const grandchild = child.child(
      { stage: 'validate', email: 'z@canary.test' },
      { msgPrefix: 'SSN 123-45-6789 ', level: 'debug' },
    );
    grandchild.debug('hello');
    grandchild.setBindings({ ssn: '123-45-6789', topic: 'ehr.raw' });
    grandchild.info('again');
    const [first, second] = capture.entries();
    expect(first).toMatchObject({
      jobId: 'j1',
      where: 'MRN [ID]',
      stage: 'validate',
      msg: 'SSN [SSN] hello',
    });
    expect(second).toMatchObject({ topic: 'ehr.raw', msg: 'SSN [SSN] again' });
    const text = capture.text();
    for (const canary of ['Zebulon', '7654321', 'z@canary.test', '123-45-6789'])
      expect(text).not.toContain(canary);
  });

  it('redacts caller-supplied sensitive values', () => {
    const capture = captureStream();
    const logger = createLogger({ name: 'x', destination: capture, sensitive: ['Zebulon Quixote'] });
    logger.info({ detail: 'seen ZEBULON  quixote' }, 'for Zebulon Quixote');
    expect(capture.entries()).toMatchObject([{ detail: 'seen [REDACTED]', msg: 'for [REDACTED]' }]);
  });
});
