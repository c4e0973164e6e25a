// Only the API server may call the admission port: a kube-apiserver of its own, started with an
// AdmissionConfiguration whose webhook kubeconfig presents a client certificate, and volume-guard configured with
// that certificate's CA (admission.tls.clientCaFile) and name (clientNames). Shows, through the real API server:
// - the API server authenticates with its client certificate and its webhook calls are judged (an override write
//   without volume-guard.io/skip-by is refused, one with it allowed);
// - a caller without a certificate, with one of another CA, or with another name of the same CA, gets no review;
// - replacing the client CA on disk is picked up without a restart: the API server's calls then fail closed.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createValidators } from '../../src/admission/index.ts';
import { webhookConfiguration } from '../../src/admission/webhooks.ts';
import { defaultConfig } from '../../src/config.ts';
import { createCertificateAuthority, type CertificateAuthority, type IssuedCertificate } from '../../src/server/selfsigned.ts';
import { kubectl, type ClusterInfo, type CommandResult } from '../harness/cluster.ts';
import { cordonReviewBody } from '../support/admission.ts';
import { OwnApiServer } from '../support/api-server.ts';
import { admissionCount, startGuard, waitFor, type GuardInstance } from '../harness/guard.ts';
import { replacePem, tlsTempDir, writePairFiles, writePem } from '../support/tls-files.ts';
import { postStatus } from '../support/tls.ts';

const CLIENT_NAME = 'kube-apiserver-webhook-client';
const NODE = 'client-auth-node';

let tls: Awaited<ReturnType<typeof tlsTempDir>> | undefined;
let apiServer: OwnApiServer | undefined;
let guard: GuardInstance | undefined;
let apiServerCa: CertificateAuthority;
let otherCa: CertificateAuthority;
let clientCaFile: string;

const k = (args: readonly string[]): Promise<CommandResult> => kubectl(args, { kubeconfig: apiServer!.kubeconfig });

async function must(result: Promise<CommandResult>, what: string): Promise<CommandResult> {
  const done = await result;
  if (done.code !== 0) throw new Error(`${what} failed (exit ${done.code}):\n${done.stderr}${done.stdout}`);
  return done;
}

/** POST an AdmissionReview straight to volume-guard; the HTTP status, or the error code when TLS refuses us. */
function postReview(client?: IssuedCertificate): Promise<number | string> {
  const body = cordonReviewBody(NODE, { uid: 'forged-1', user: { username: 'forger', groups: ['system:masters'] } });
  return postStatus({ url: `${guard!.url}/validate/node-cordon`, body, ca: guard!.caPem, client });
}

beforeAll(async () => {
  tls = await tlsTempDir('vg-client-auth-');
  apiServerCa = await createCertificateAuthority({ commonName: 'webhook client CA' });
  otherCa = await createCertificateAuthority({ commonName: 'another CA' });
  const client = await writePairFiles(
    tls.dir,
    await apiServerCa.issue({ commonName: CLIENT_NAME, dnsNames: [CLIENT_NAME], ipAddresses: [], usages: ['clientAuth'] }),
    'client',
  );
  clientCaFile = await writePem(join(tls.dir, 'client-ca.crt'), apiServerCa.certPem);

  // The API server's side (README, Security, step 2): a kubeconfig naming the client certificate for webhook
  // calls ("*": every webhook; a real cluster names the service host `volume-guard.volume-guard.svc:443`), and an
  // AdmissionConfiguration pointing the ValidatingAdmissionWebhook plugin at it.
  const webhookKubeconfig = join(tls.dir, 'webhook-kubeconfig.yaml');
  await writeFile(
    webhookKubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      users: [{ name: '*', user: { 'client-certificate': client.certFile, 'client-key': client.keyFile } }],
    }),
  );
  const admissionConfig = join(tls.dir, 'admission-config.yaml');
  await writeFile(
    admissionConfig,
    stringify({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AdmissionConfiguration',
      plugins: [
        {
          name: 'ValidatingAdmissionWebhook',
          configuration: { apiVersion: 'apiserver.config.k8s.io/v1', kind: 'WebhookAdmissionConfiguration', kubeConfigFile: webhookKubeconfig },
        },
      ],
    }),
  );
  apiServer = await OwnApiServer.start({ prefix: 'vg-client-auth-apiserver-', flags: [`--admission-control-config-file=${admissionConfig}`], readyTimeoutMs: 180_000 });

  guard = await startGuard({ kubeconfig: apiServer.kubeconfig } as ClusterInfo, {
    name: 'client-auth',
    kubeconfig: apiServer.kubeconfig,
    config: { admission: { tls: { clientCaFile, clientNames: [CLIENT_NAME], pollIntervalMs: 200 } } },
  });
  const config = defaultConfig();
  const declarations = createValidators(config).map((validator) => validator.declaration);
  const configuration = webhookConfiguration(declarations, {
    configurationName: 'volume-guard-client-auth',
    upgradeKinds: config.upgrades.kinds,
    client: { url: guard.url, caBundle: Buffer.from(guard.caPem).toString('base64') },
    failurePolicy: 'Fail',
    timeoutSeconds: 10,
  });
  const file = join(tls.dir, 'webhooks.json');
  await writeFile(file, JSON.stringify(configuration));
  await must(k(['apply', '-f', file]), 'register the webhooks');
  const nodeFile = join(tls.dir, 'node.json');
  await writeFile(nodeFile, JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } }));
  await must(k(['apply', '-f', nodeFile]), 'create the node');
  // Webhook configurations are picked up asynchronously: wait until a cordon reaches volume-guard.
  await waitFor('the API server to call volume-guard with its client certificate', 90_000, async () => {
    const before = await admissionCount(guard!, 'node-cordon');
    await k(['cordon', NODE, '--dry-run=server']);
    return (await admissionCount(guard!, 'node-cordon')) > before;
  }, 500);
}, 10 * 60_000);

afterAll(async () => {
  await guard?.stop();
  await apiServer?.stop();
  await tls?.remove();
}, 60_000);

describe('the admission port authenticates the API server by its client certificate', () => {
  it('judges the API server\'s calls: an override write without skip-by is refused, with it allowed', async () => {
    const refused = await k(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "overrides.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('volume-guard.io/skip-by=admin');
    const signed = await k(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-by=admin']);
    expect(signed.code, signed.stderr).toBe(0);
  });

  it('refuses callers without a certificate, with one of another CA, or with another name', async () => {
    const before = await admissionCount(guard!, 'node-cordon');
    expect(typeof (await postReview())).toBe('string');
    expect(typeof (await postReview(await otherCa.issue({ commonName: CLIENT_NAME, dnsNames: [CLIENT_NAME], ipAddresses: [], usages: ['clientAuth'] })))).toBe('string');
    expect(await postReview(await apiServerCa.issue({ commonName: 'system:node:worker-1', dnsNames: ['worker-1'], ipAddresses: [], usages: ['clientAuth'] }))).toBe(403);
    // None of them was reviewed: the forged system:masters review never reached a validator.
    expect(await admissionCount(guard!, 'node-cordon')).toBe(before);
    // The right certificate is answered (the API server's own identity, shown for contrast).
    expect(await postReview(await apiServerCa.issue({ commonName: CLIENT_NAME, dnsNames: [CLIENT_NAME], ipAddresses: [], usages: ['clientAuth'] }))).toBe(200);
  });

  it('picks up a replaced client CA without a restart: the API server\'s certificate is then refused (fail closed)', async () => {
    await replacePem(clientCaFile, otherCa.certPem);
    let refusal = '';
    await waitFor('the API server to be refused', 30_000, async () => {
      refusal = (await k(['cordon', NODE, '--dry-run=server'])).stderr;
      return refusal.includes('failed calling webhook');
    }, 500);
    expect(refusal).toContain('node-cordon.volume-guard.io');
    // Restored: the API server's calls are judged again.
    await replacePem(clientCaFile, apiServerCa.certPem);
    await waitFor('the API server to be accepted again', 30_000, async () => (await k(['cordon', NODE, '--dry-run=server'])).code === 0, 500);
  });
});
