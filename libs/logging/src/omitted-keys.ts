/**
 * Keys dropped from every object the logger writes, at any depth. They name FHIR / HL7 / X12
 * elements and generic containers that carry PHI (or whole records), plus credentials. Keys are
 * compared case-insensitively with `_`, `-` and `.` ignored, so `birth_date` and `birthDate` match.
 *
 * Log ids, codes, paths and counts instead: `recordId`, `field: 'Patient.birthDate'`, `count`.
 */
// prettier-ignore -- grouped by kind so a reviewer can see what is covered
const OMITTED_KEYS: ReadonlySet<string> = new Set([
  // people and their identifiers
  'name',
  'names',
  'given',
  'family',
  'prefix',
  'suffix',
  'firstname',
  'lastname',
  'middlename',
  'fullname',
  'maidenname',
  'patientname',
  'birthdate',
  'dob',
  'dateofbirth',
  'birthtime',
  'deceaseddatetime',
  'address',
  'addresses',
  'city',
  'postalcode',
  'zip',
  'zipcode',
  'telecom',
  'phone',
  'mobile',
  'fax',
  'email',
  'ssn',
  'socialsecuritynumber',
  'mrn',
  'identifier',
  'identifiers',
  'contact',
  'photo',
  'patient',
  // free text
  'text',
  'note',
  'notes',
  'comment',
  'comments',
  'narrative',
  'valuestring',
  // whole records and raw data
  'payload',
  'resource',
  'resources',
  'record',
  'records',
  'body',
  'content',
  'data',
  'raw',
  'message',
  'segments',
  // values a validator might be tempted to echo (zod issues carry `input`)
  'value',
  'values',
  'actual',
  'received',
  'input',
  'original',
  // credentials
  'password',
  'passwd',
  'secret',
  'clientsecret',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authorization',
  'cookie',
  'setcookie',
  'apikey',
  'privatekey',
  'assertion',
]);

/** Whether an object key is dropped from log output. */
export function isOmittedKey(key: string): boolean {
  return OMITTED_KEYS.has(key.toLowerCase().replace(/[-_.]/g, ''));
}
