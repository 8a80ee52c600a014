/**
 * Synthetic X12 transaction sets, generated from a seed: every name, member id, date and amount
 * is made up here, so the simulator never carries real data. The same seed gives the same sets.
 * Shapes follow the 005010 implementation guides (837P X222A1, 837I X223A2, 835 X221A1) closely
 * enough for a receiver and a mapping, not every situational segment.
 */
import { seededRandom } from '@ehrflow/testing';

export { seededRandom };

const FAMILY = [
  'Quillfeather',
  'Brambleton',
  'Osterholt',
  'Vantrelli',
  'Mirowska',
  'Castellane',
  'Thornbury',
];
const GIVEN = ['Ada', 'Bexley', 'Corin', 'Dalia', 'Emrys', 'Fenna', 'Galen', 'Hollis'];
const STREETS = ['Larkspur Row', 'Fennel Court', 'Quarry Lane', 'Ashgrove Walk'];
const CITIES = ['Simvale', 'Northmere', 'Eastbrook'];
const ICD = ['E119', 'I10', 'J45909', 'K219', 'N390'];
const CPT = ['99213', '99214', '80053', '85025', '93000', '71046'];
const REVENUE = ['0300', '0450', '0250', '0730'];

/** Transaction set kinds the simulator writes. */
export type SetKind = '837P' | '837I' | '835';

/** GS08 / ST03 implementation guide of each kind. */
export const GUIDE: Readonly<Record<SetKind, string>> = {
  '837P': '005010X222A1',
  '837I': '005010X223A2',
  '835': '005010X221A1',
};

/** GS01 of each kind: HC claims, HP payment/advice. */
export const FUNCTIONAL_ID: Readonly<Record<SetKind, string>> = { '837P': 'HC', '837I': 'HC', '835': 'HP' };

/**
 * Drift a sender's upgrade might bring, in one set: `required-empty` (CLM02 / CLP03 empty),
 * `unexpected-segment` (a ZZZ segment inside the claim loop), `code-for-number` (a code where the
 * claim amount belongs).
 */
export type SetDrift = 'none' | 'required-empty' | 'unexpected-segment' | 'code-for-number';

export interface SetOptions {
  readonly kind: SetKind;
  /** ST02, four to nine digits. */
  readonly controlNumber: string;
  /** Claims (837: CLM loops) or claim payments (835: CLP loops) in the set. */
  readonly claims?: number;
  readonly drift?: SetDrift;
  /**
   * Share (0..1) of 837 claims whose patient is not the subscriber (a spouse or child): written in
   * a patient loop 2000C (`HL*…*23`, PAT, NM1*QC, N3, N4, DMG) under the subscriber loop. Default 0.
   */
  readonly dependentShare?: number;
  /** Canary values for the subscriber of the set's first 837 claim (leak scans look for them). */
  readonly plant?: SimPlant;
}

/** Values planted in one claim: the subscriber's name, member id, street and SSN (REF*SY). */
export interface SimPlant {
  readonly family: string;
  readonly given: string;
  readonly memberId: string;
  readonly street: string;
  readonly ssn: string;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const money = (n: number): string => (Math.round(n * 100) / 100).toFixed(2).replace(/\.00$/, '');

/** What a set holds, for tests that check mappings (synthetic values only). */
export interface SimClaim {
  readonly claimId: string;
  readonly memberId: string;
  readonly total: number;
  readonly lines: number;
  /** 837 claims of a dependent: PAT01 relationship code and the patient's birth date (CCYYMMDD). */
  readonly dependent?: { readonly relationship: string; readonly birthDate: string };
}

/** One transaction set as segments (elements joined by `*`, no terminators), and its claims. */
export function syntheticSet(
  random: () => number,
  options: SetOptions,
): { segments: string[][]; claims: SimClaim[] } {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const date = () => `2026${pad(1 + Math.floor(random() * 12), 2)}${pad(1 + Math.floor(random() * 28), 2)}`;
  const drift = options.drift ?? 'none';
  const n = options.claims ?? 1;
  const guide = GUIDE[options.kind];
  const segs: string[][] = [['ST', options.kind === '835' ? '835' : '837', options.controlNumber, guide]];
  const claims: SimClaim[] = [];
  const member = () => `SIMM${pad(Math.floor(random() * 1e8), 8)}`;
  if (options.kind === '835') {
    const payments: string[][] = [];
    let paidTotal = 0;
    for (let c = 0; c < n; c += 1) {
      const claimId = `SIMC${pad(Math.floor(random() * 1e9), 9)}`;
      const memberId = member();
      const lines = 1 + Math.floor(random() * 3);
      const charges = Array.from({ length: lines }, () => 50 + Math.floor(random() * 400));
      const total = charges.reduce((a, b) => a + b, 0);
      const paid = Math.round(total * 0.8);
      paidTotal += paid;
      const claimDate = date();
      payments.push(['LX', String(c + 1)]);
      payments.push([
        'CLP',
        claimId,
        '1',
        drift === 'required-empty' && c === 0
          ? ''
          : drift === 'code-for-number' && c === 0
            ? 'ABC'
            : money(total),
        money(paid),
        money(total - paid),
        '12',
        `SIMPCN${pad(Math.floor(random() * 1e9), 9)}`,
        '11',
        '1',
      ]);
      if (drift === 'unexpected-segment' && c === 0) payments.push(['ZZZ', 'SIM']);
      payments.push(['NM1', 'QC', '1', pick(FAMILY), pick(GIVEN), '', '', '', 'MI', memberId]);
      payments.push(['DTM', '232', claimDate]);
      payments.push(['DTM', '233', claimDate]);
      for (const [i, charge] of charges.entries()) {
        payments.push([
          'SVC',
          `HC:${pick(CPT)}`,
          money(charge),
          money(Math.round(charge * 0.8)),
          '',
          String(1 + (i % 2)),
        ]);
        payments.push(['DTM', '472', claimDate]);
        payments.push(['CAS', 'CO', '45', money(charge - Math.round(charge * 0.8))]);
      }
      claims.push({ claimId, memberId, total, lines });
    }
    const paidOn = date();
    segs.push([
      'BPR',
      'I',
      money(paidTotal),
      'C',
      'ACH',
      'CCP',
      '01',
      '999999992',
      'DA',
      '123456',
      '1512345678',
      '',
      '01',
      '999988880',
      'DA',
      '98765',
      paidOn,
    ]);
    segs.push(['TRN', '1', `SIMTRACE${pad(Math.floor(random() * 1e6), 6)}`, '1512345678']);
    segs.push(['DTM', '405', paidOn]);
    segs.push(['N1', 'PR', 'SIM PAYER']);
    segs.push(['N3', '1 PAYER PLAZA']);
    segs.push(['N4', 'SIMCITY', 'CA', '90002']);
    segs.push(['N1', 'PE', 'SIM CLINIC', 'XX', '1234567893']);
    segs.push(...payments);
  } else {
    const institutional = options.kind === '837I';
    const created = date();
    segs.push(['BHT', '0019', '00', `SIMB${pad(Math.floor(random() * 1e6), 6)}`, created, '1200', 'CH']);
    segs.push(['NM1', '41', '2', 'SIM BILLING SERVICE', '', '', '', '', '46', 'SIMSUB01']);
    segs.push(['PER', 'IC', 'BILLING DESK', 'TE', '5555550100']);
    segs.push(['NM1', '40', '2', 'SIM PAYER', '', '', '', '', '46', 'SIMPAYER1']);
    segs.push(['HL', '1', '', '20', '1']);
    segs.push(['NM1', '85', '2', 'SIM CLINIC', '', '', '', '', 'XX', '1234567893']);
    segs.push(['N3', '100 SIM WAY']);
    segs.push(['N4', 'SIMTOWN', 'CA', '90001']);
    segs.push(['REF', 'EI', '999999999']);
    let nextHl = 2;
    const birthDate = (from: number, span: number) =>
      `${from + Math.floor(random() * span)}${pad(1 + Math.floor(random() * 12), 2)}${pad(1 + Math.floor(random() * 28), 2)}`;
    for (let c = 0; c < n; c += 1) {
      const plant = c === 0 ? options.plant : undefined;
      const generatedMember = member();
      const memberId = plant?.memberId ?? generatedMember;
      const claimId = `SIMC${pad(Math.floor(random() * 1e9), 9)}`;
      const lines = 1 + Math.floor(random() * 3);
      const charges = Array.from({ length: lines }, () => 50 + Math.floor(random() * 400));
      const total = charges.reduce((a, b) => a + b, 0);
      const service = date();
      const dependent =
        (options.dependentShare ?? 0) > 0 && random() < (options.dependentShare ?? 0)
          ? { relationship: pick(['01', '19']), birthDate: '' }
          : undefined;
      const subscriberHl = String(nextHl);
      nextHl += 1;
      segs.push(['HL', subscriberHl, '1', '22', dependent === undefined ? '0' : '1']);
      segs.push(['SBR', 'P', dependent === undefined ? '18' : '', '', '', '', '', '', '', 'CI']);
      // Picks are drawn even when planted, so the rest of the file is the same with or without.
      const [family, given] = [pick(FAMILY), pick(GIVEN)];
      segs.push([
        'NM1',
        'IL',
        '1',
        plant?.family ?? family,
        plant?.given ?? given,
        '',
        '',
        '',
        'MI',
        memberId,
      ]);
      const street = `${1 + Math.floor(random() * 900)} ${pick(STREETS)}`;
      segs.push(['N3', plant?.street ?? street]);
      segs.push(['N4', pick(CITIES), 'CA', `9${pad(Math.floor(random() * 1e4), 4)}`]);
      segs.push(['DMG', 'D8', birthDate(1940, 60), pick(['F', 'M'])]);
      if (plant !== undefined) segs.push(['REF', 'SY', plant.ssn]);
      segs.push(['NM1', 'PR', '2', 'SIM PAYER', '', '', '', '', 'PI', 'SIMPAYER1']);
      if (dependent !== undefined) {
        // Patient loop 2000C: the patient is the subscriber's spouse (01) or child (19).
        dependent.birthDate = birthDate(dependent.relationship === '19' ? 2005 : 1945, 20);
        segs.push(['HL', String(nextHl), subscriberHl, '23', '0']);
        nextHl += 1;
        segs.push(['PAT', dependent.relationship]);
        segs.push(['NM1', 'QC', '1', pick(FAMILY), pick(GIVEN)]);
        segs.push(['N3', `${1 + Math.floor(random() * 900)} ${pick(STREETS)}`]);
        segs.push(['N4', pick(CITIES), 'CA', `9${pad(Math.floor(random() * 1e4), 4)}`]);
        segs.push(['DMG', 'D8', dependent.birthDate, pick(['F', 'M'])]);
      }
      segs.push([
        'CLM',
        claimId,
        drift === 'required-empty' && c === 0
          ? ''
          : drift === 'code-for-number' && c === 0
            ? 'ABC'
            : money(total),
        '',
        '',
        institutional ? '13:A:1' : '11:B:1',
        'Y',
        'A',
        'Y',
        'Y',
      ]);
      if (drift === 'unexpected-segment' && c === 0) segs.push(['ZZZ', 'SIM']);
      if (institutional) segs.push(['DTP', '434', 'RD8', `${service}-${service}`]);
      segs.push(['HI', `ABK:${pick(ICD)}`, `ABF:${pick(ICD)}`]);
      for (const [i, charge] of charges.entries()) {
        segs.push(['LX', String(i + 1)]);
        segs.push(
          institutional
            ? ['SV2', pick(REVENUE), `HC:${pick(CPT)}`, money(charge), 'UN', String(1 + (i % 2))]
            : ['SV1', `HC:${pick(CPT)}`, money(charge), 'UN', String(1 + (i % 2)), '', '', '1'],
        );
        segs.push(['DTP', '472', 'D8', service]);
      }
      claims.push({ claimId, memberId, total, lines, ...(dependent === undefined ? {} : { dependent }) });
    }
  }
  segs.push(['SE', String(segs.length + 1), options.controlNumber]);
  return { segments: segs, claims };
}
