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
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const money = (n: number): string => (Math.round(n * 100) / 100).toFixed(2).replace(/\.00$/, '');

/** What a set holds, for tests that check mappings (synthetic values only). */
export interface SimClaim {
  readonly claimId: string;
  readonly memberId: string;
  readonly total: number;
  readonly lines: number;
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
    for (let c = 0; c < n; c += 1) {
      const memberId = member();
      const claimId = `SIMC${pad(Math.floor(random() * 1e9), 9)}`;
      const lines = 1 + Math.floor(random() * 3);
      const charges = Array.from({ length: lines }, () => 50 + Math.floor(random() * 400));
      const total = charges.reduce((a, b) => a + b, 0);
      const service = date();
      const hl = String(c + 2);
      segs.push(['HL', hl, '1', '22', '0']);
      segs.push(['SBR', 'P', '18', '', '', '', '', '', '', 'CI']);
      segs.push(['NM1', 'IL', '1', pick(FAMILY), pick(GIVEN), '', '', '', 'MI', memberId]);
      segs.push(['N3', `${1 + Math.floor(random() * 900)} ${pick(STREETS)}`]);
      segs.push(['N4', pick(CITIES), 'CA', `9${pad(Math.floor(random() * 1e4), 4)}`]);
      segs.push([
        'DMG',
        'D8',
        `19${pad(40 + Math.floor(random() * 60), 2)}${pad(1 + Math.floor(random() * 12), 2)}${pad(1 + Math.floor(random() * 28), 2)}`,
        pick(['F', 'M']),
      ]);
      segs.push(['NM1', 'PR', '2', 'SIM PAYER', '', '', '', '', 'PI', 'SIMPAYER1']);
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
      claims.push({ claimId, memberId, total, lines });
    }
  }
  segs.push(['SE', String(segs.length + 1), options.controlNumber]);
  return { segments: segs, claims };
}
