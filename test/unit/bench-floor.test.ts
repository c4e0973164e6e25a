// The minimal correct webhook the benchmark's ratios are taken against: it must really parse and answer per request.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../src/server/selfsigned.ts';
import { minimalCorrectHandler, startFloorServer, type FloorServer, type WriteTiming } from '../bench/lib/floor-server.ts';
import { reviewBody } from '../support/admission.ts';

let correct: FloorServer;
let parseNothing: FloorServer;
let caPem: string;
let slowed: FloorServer;
const timing: WriteTiming = { microseconds: 0, answers: 0 };
const SPIN_MICROSECONDS = 2_000;

beforeAll(async () => {
  const ca = await createCertificateAuthority();
  const leaf = await ca.issue({ ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  caPem = ca.certPem;
  correct = await startFloorServer(leaf, 'minimal-correct');
  parseNothing = await startFloorServer(leaf, 'parse-nothing');
  slowed = await startFloorServer(leaf, minimalCorrectHandler(SPIN_MICROSECONDS, timing));
});

afterAll(async () => {
  await correct.close();
  await parseNothing.close();
  await slowed.close();
});

function post(port: number, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ hostname: '127.0.0.1', port, path: '/validate/node-cordon', method: 'POST', ca: caPem, headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('benchmark floors', () => {
  it('the minimal correct webhook answers each review with its own uid', async () => {
    const uid = 'a1b2c3d4-0000-4000-8000-00000000beef';
    const answer = await post(correct.port, reviewBody({ uid, object: { kind: 'Node' } }));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });
  });

  it('the minimal correct webhook refuses what is not a review with a uid', async () => {
    for (const body of ['not json', '{}', '{"request":{"uid":42}}', 'null']) {
      expect((await post(correct.port, body)).status).toBe(400);
    }
  });

  it('the parse-nothing reference answers a constant whatever it is sent', async () => {
    const answer = await post(parseNothing.port, 'not json');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ response: { allowed: true } });
  });

  it('the floor slowed by a spin (floor-spin.ts) answers as the floor does, spends the spin, and times each write', async () => {
    const uid = 'a1b2c3d4-0000-4000-8000-00000000cafe';
    const started = performance.now();
    const answer = await post(slowed.port, reviewBody({ uid, object: { kind: 'Node' } }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(SPIN_MICROSECONDS / 1000);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });
    expect(timing.answers).toBe(1);
    expect(timing.microseconds).toBeGreaterThan(0);
    expect((await post(slowed.port, 'not json')).status).toBe(400);
    expect(timing.answers).toBe(1);
  });
});
