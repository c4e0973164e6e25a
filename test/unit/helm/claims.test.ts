import { describe, expect, it } from 'vitest';
import { claimCount, claimName, claimOf, ordinalInRange, statefulSetClaimNames } from '../../../src/helm/claims.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import { devlakeManifest } from './helm-fixtures.ts';

describe('statefulSetClaimNames', () => {
  it.each([
    [
      'two templates × three replicas',
      { name: 'kafka', replicas: 3, claimTemplates: ['data', 'logs'] },
      ['data-kafka-0', 'data-kafka-1', 'data-kafka-2', 'logs-kafka-0', 'logs-kafka-1', 'logs-kafka-2'],
    ],
    ['ordinals.start', { name: 'db', replicas: 2, ordinalsStart: 5, claimTemplates: ['pg'] }, ['pg-db-5', 'pg-db-6']],
    ['no replicas', { name: 'db', replicas: 0, claimTemplates: ['pg'] }, []],
    ['no templates', { name: 'web', replicas: 3, claimTemplates: [] }, []],
  ])('%s', (_label, statefulSet, expected) => {
    expect(statefulSetClaimNames(statefulSet)).toEqual(expected);
    expect(claimCount(statefulSet)).toBe(expected.length);
  });

  it('names the DevLake MySQL claim exactly as the incident did', () => {
    const [mysql] = parseManifest(devlakeManifest(), 'devlake').statefulSets;
    expect(mysql && statefulSetClaimNames(mysql)).toEqual(['devlake-mysql-data-devlake-mysql-0']);
    expect(claimName('devlake-mysql-data', 'devlake-mysql', 0)).toBe('devlake-mysql-data-devlake-mysql-0');
  });
});

describe('claimOf', () => {
  const mysql = { name: 'devlake-mysql', claimTemplates: ['devlake-mysql-data'] };
  it.each([
    ['the DevLake claim', 'devlake-mysql-data-devlake-mysql-0', mysql, { template: 'devlake-mysql-data', ordinal: 0 }],
    ['a high ordinal', 'devlake-mysql-data-devlake-mysql-12', mysql, { template: 'devlake-mysql-data', ordinal: 12 }],
    ['a leading zero', 'devlake-mysql-data-devlake-mysql-01', mysql, undefined],
    ['a negative ordinal', 'devlake-mysql-data-devlake-mysql--1', mysql, undefined],
    ['no ordinal', 'devlake-mysql-data-devlake-mysql-', mysql, undefined],
    ['another StatefulSet', 'devlake-mysql-data-devlake-lake-0', mysql, undefined],
    ['another template', 'logs-devlake-mysql-0', mysql, undefined],
    ['a second template', 'logs-kafka-2', { name: 'kafka', claimTemplates: ['data', 'logs'] }, { template: 'logs', ordinal: 2 }],
    ['overlapping names', 'data-a-b-0', { name: 'a-b', claimTemplates: ['data-a', 'data'] }, { template: 'data', ordinal: 0 }],
  ])('%s', (_label, pvc, statefulSet, expected) => {
    expect(claimOf(pvc, statefulSet)).toEqual(expected);
  });

  it('checks the ordinal range separately', () => {
    expect(ordinalInRange(4, { replicas: 2, ordinalsStart: 3 })).toBe(true);
    expect(ordinalInRange(5, { replicas: 2, ordinalsStart: 3 })).toBe(false);
    expect(ordinalInRange(2, { replicas: 2, ordinalsStart: 3 })).toBe(false);
    expect(ordinalInRange(0, { replicas: 1 })).toBe(true);
  });
});
