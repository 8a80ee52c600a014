/**
 * Three-digit ZIP prefixes that HIPAA Safe Harbor does not let through: the geographic units
 * they form held 20,000 people or fewer in the 2000 Census, so their first three digits become
 * `000`.
 *
 * @see https://www.hhs.gov/hipaa/for-professionals/privacy/special-topics/de-identification/index.html#zip
 */
export const RESTRICTED_ZIP3: ReadonlySet<string> = new Set([
  '036',
  '059',
  '063',
  '102',
  '203',
  '556',
  '692',
  '790',
  '821',
  '823',
  '830',
  '831',
  '878',
  '879',
  '884',
  '890',
  '893',
]);
