import { describe, expect, it } from 'vitest';
import type { Alert, AlertSignal, AlertSink } from './alert.ts';
import { createAlertManager } from './alert-manager.ts';

const signal = (over: Partial<AlertSignal> = {}): AlertSignal => ({
  kind: 'missing_field',
  sourceId: 'site-a',
  resourceType: 'Patient',
  subject: 'ehr.valid.Patient-value',
  version: 3,
  fieldPath: 'Patient.birthDate',
  reason: null,
  since: 1_000,
  count: 1,
  firstOffset: '12',
  ...over,
});

function memorySink(): AlertSink & { alerts: Alert[] } {
  const alerts: Alert[] = [];
  return { name: 'memory', alerts, send: (a) => Promise.resolve(void alerts.push(a)) };
}

describe('alert manager', () => {
  it('gathers related signals into one alert that says source, contract, fields, since and how many', async () => {
    const sink = memorySink();
    const manager = createAlertManager({ sinks: [sink], gatherMs: 1000, windowMs: 60_000 });
    manager.signal(signal(), 1_000);
    manager.signal(
      signal({ kind: 'unexpected_field', fieldPath: 'Patient.dateOfBirth', since: 1_100 }),
      1_100,
    );
    manager.signal(
      signal({ kind: 'quarantine_spike', reason: 'missing_required', count: 20, since: 900 }),
      1_200,
    );
    await manager.tick(1_500);
    expect(sink.alerts).toEqual([]); // still gathering
    await manager.tick(2_000);
    expect(sink.alerts).toHaveLength(1);
    const alert = sink.alerts[0] as Alert;
    expect(alert).toMatchObject({
      sourceId: 'site-a',
      resourceType: 'Patient',
      contract: 'ehr.valid.Patient-value',
      contractVersion: 3,
      records: 20,
    });
    expect(alert.since).toBe(new Date(900).toISOString());
    expect(alert.signals.map((s) => [s.kind, s.fieldPath])).toEqual([
      ['missing_field', 'Patient.birthDate'],
      ['unexpected_field', 'Patient.dateOfBirth'],
      ['quarantine_spike', 'Patient.birthDate'],
    ]);
    expect(alert.summary).toContain('Patient.birthDate');
  });

  it('sends at most one alert per key and window, counting the rest', async () => {
    const sink = memorySink();
    const manager = createAlertManager({ sinks: [sink], gatherMs: 0, windowMs: 60_000 });
    manager.signal(signal(), 0);
    await manager.tick(0);
    manager.signal(signal({ kind: 'type_changed' }), 10);
    await manager.tick(10);
    manager.signal(signal({ sourceId: 'site-b' }), 20);
    await manager.tick(20);
    expect(sink.alerts.map((a) => a.sourceId)).toEqual(['site-a', 'site-b']);
    expect(manager.counts).toEqual({ sent: 2, suppressed: 1 });
    manager.signal(signal({ kind: 'fill_rate_drop' }), 70_000);
    await manager.tick(70_000);
    expect(sink.alerts).toHaveLength(3);
    expect(sink.alerts[2]?.suppressed).toBe(1);
  });

  it('keeps the source id and contract subject readable in the alert and its summary', async () => {
    const sink = memorySink();
    const manager = createAlertManager({ sinks: [sink], gatherMs: 0, windowMs: 1 });
    manager.signal(signal({ sourceId: 'site-20240917' }), 0);
    await manager.tick(0);
    expect(sink.alerts[0]?.sourceId).toBe('site-20240917');
    expect(sink.alerts[0]?.summary).toContain('source site-20240917,');
  });

  it('scrubs every alert and survives a failing sink', async () => {
    const sink = memorySink();
    const errors: string[] = [];
    const failing: AlertSink = { name: 'broken', send: () => Promise.reject(new Error('down')) };
    const manager = createAlertManager({
      sinks: [failing, sink],
      gatherMs: 0,
      windowMs: 1,
      onSendError: (_err, name) => errors.push(name),
    });
    // A source id that looks like an SSN must not leave as is.
    manager.signal(signal({ sourceId: '123-45-6789' }), 0);
    await manager.tick(0);
    expect(errors).toEqual(['broken']);
    expect(JSON.stringify(sink.alerts)).not.toContain('123-45-6789');
  });
});
