import { describe, expect, it } from 'vitest';
import { routeOf } from './route.ts';

describe('routeOf', () => {
  it('keeps the base path, resource types and operations, and hides ids and the query', () => {
    expect(routeOf('/fhir/R4/Patient/abc-123/$everything?_since=2024-01-01&name=Smith', '/fhir/R4')).toBe(
      '/fhir/R4/Patient/:id/$everything',
    );
    expect(routeOf('/fhir/R4/Observation/9/_history/2', '/fhir/R4')).toBe(
      '/fhir/R4/Observation/:id/_history/:id',
    );
    expect(routeOf('/fhir/R4/$export', '/fhir/R4')).toBe('/fhir/R4/$export');
    expect(routeOf('/fhir/R4/metadata', '/fhir/R4')).toBe('/fhir/R4/metadata');
  });

  it('hides every unknown segment of a foreign URL', () => {
    expect(routeOf('https://storage.example/bucket/job-77/Patient.ndjson?sig=secret')).toBe('/:id/:id/:id');
  });

  it('never echoes a fragment or a lowercase segment that might be a value', () => {
    expect(routeOf('/Patient?family=doe#frag')).toBe('/Patient');
    expect(routeOf('/john.doe/records')).toBe('/:id/:id');
  });
});
