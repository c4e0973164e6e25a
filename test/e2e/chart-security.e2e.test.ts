// The chart's security settings, rendered by the real helm and checked by the real API server (server-side
// dry-run): the NetworkPolicy (admission port from the API server only, ops port from the kubelet and monitoring
// only, egress to the API server and DNS only), the ops port bound to the pod IP, client-certificate authentication
// of the API server, required anti-affinity, the overrides webhook's failure policy, and generated TLS rendered
// where lookup cannot see the cluster (helm template, GitOps renderers) with fresh material, saying so.
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { createCertificateAuthority } from '../../src/server/selfsigned.ts';
import { CHART_DIR } from '../../scripts/generate-chart.ts';
import { ensureCluster, helm, kubectl, tempFile, type CommandResult } from '../harness/cluster.ts';

const NAMESPACE = 'vg-security-e2e';
const RELEASE = 'vg-sec';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: any;
}

async function must(result: Promise<CommandResult>, what: string): Promise<CommandResult> {
  const done = await result;
  if (done.code !== 0) throw new Error(`${what} failed (exit ${done.code}):\n${done.stderr}${done.stdout}`);
  return done;
}

const parseObjects = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null && typeof object === 'object');

function one(objects: readonly K8sObject[], kind: string): K8sObject {
  const found = objects.filter((object) => object.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

const template = (args: readonly string[]) => helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...args]);
const rendered = async (args: readonly string[]) => parseObjects((await must(template(args), 'helm template')).stdout);

let clientCa = '';
const SECURE = () => [
  '--dry-run=server',
  '--set', 'tls.certManager.enabled=false',
  '--set', 'networkPolicy.enabled=true',
  '--set-json', 'networkPolicy.apiServerCIDRs=["10.0.0.0/24","192.168.10.5/32"]',
  '--set-json', 'networkPolicy.nodeCIDRs=["10.0.0.0/16"]',
  '--set', 'clientAuth.enabled=true',
  '--set-string', `clientAuth.caBundle=${clientCa}`,
  '--set-json', 'clientAuth.clientNames=["kube-apiserver-webhook-client"]',
];

beforeAll(async () => {
  await ensureCluster();
  const file = await tempFile('vg-security-ns.yaml', stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }));
  await must(kubectl(['apply', '-f', file]), 'namespace');
  clientCa = (await createCertificateAuthority({ commonName: 'webhook client CA' })).certPem;
});

describe('generated TLS with and without cluster access', () => {
  it('helm template (no cluster access) renders tls.certManager.enabled=false with fresh material, and says each such render mints a new CA', async () => {
    const result = await must(template(['--set', 'tls.certManager.enabled=false']), 'helm template');
    const secret = one(parseObjects(result.stdout), 'Secret');
    expect(new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64')).ca).toBe(true);
    expect(result.stdout).toContain('it is new on every render, with a new CA');
    expect(result.stdout).toContain('with GitOps use cert-manager (tls.certManager.enabled=true)');
  });

  it('renders with --dry-run=server, where lookup sees the cluster', async () => {
    const secret = one(await rendered(['--dry-run=server', '--set', 'tls.certManager.enabled=false']), 'Secret');
    expect(new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64')).ca).toBe(true);
  });

  it('cert-manager mode renders anywhere (helm template, GitOps)', async () => {
    expect((await template([])).code).toBe(0);
  });
});

describe('NetworkPolicy, ops port, client certificates', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await rendered(SECURE());
  });

  it('admits the admission port from the API server CIDRs only, the ops port from the kubelet and monitoring', () => {
    const policy = one(objects, 'NetworkPolicy');
    expect(policy.spec.podSelector.matchLabels).toEqual(one(objects, 'Deployment').spec.selector.matchLabels);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const [admission, ops] = policy.spec.ingress;
    expect(admission.ports).toEqual([{ port: 8443, protocol: 'TCP' }]);
    expect(admission.from).toEqual([{ ipBlock: { cidr: '10.0.0.0/24' } }, { ipBlock: { cidr: '192.168.10.5/32' } }]);
    expect(ops.ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
    expect(ops.from).toEqual([
      { ipBlock: { cidr: '10.0.0.0/16' } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    expect(policy.spec.ingress).toHaveLength(2);
  });

  it('lets the pod reach only the API server (no DNS: it dials $KUBERNETES_SERVICE_HOST, an address)', () => {
    const [apiServer, ...others] = one(objects, 'NetworkPolicy').spec.egress;
    expect(apiServer.to).toEqual([{ ipBlock: { cidr: '10.0.0.0/24' } }, { ipBlock: { cidr: '192.168.10.5/32' } }]);
    expect(apiServer.ports.map((port: { port: number }) => port.port)).toEqual([443, 6443]);
    expect(others).toEqual([]);
  });

  it('binds the ops port to the pod IP and requires the API server\'s client certificate', async () => {
    const pod = one(objects, 'Deployment').spec.template.spec;
    const container = pod.containers[0];
    const env = new Map<string, any>(container.env.map((entry: { name: string }) => [entry.name, entry]));
    expect(env.get('POD_IP').valueFrom.fieldRef.fieldPath).toBe('status.podIP');
    expect(env.get('VOLUME_GUARD_OPS_HOST').value).toBe('$(POD_IP)');
    expect(env.get('VOLUME_GUARD_ADMISSION_TLS_CLIENT_CA_FILE').value).toBe('/etc/volume-guard/client-ca/ca.crt');
    expect(env.get('VOLUME_GUARD_ADMISSION_TLS_CLIENT_NAMES').value).toBe('kube-apiserver-webhook-client');
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'client-ca');
    expect(mount).toMatchObject({ mountPath: '/etc/volume-guard/client-ca', readOnly: true });
    expect(mount.subPath).toBeUndefined();
    const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name.endsWith('-client-ca'))!;
    expect(new X509Certificate(configMap.data['ca.crt']).subject).toContain('webhook client CA');
    // The ConfigMap's config plus these variables is a configuration volume-guard accepts.
    const file = parseYaml(one(objects.filter((object) => !object.metadata.name.endsWith('-client-ca')), 'ConfigMap').data['config.yaml']);
    expect(file.admission.tls.clientCaFile).toBe('');
    const variables = Object.fromEntries(
      [...env.values()].filter((entry) => entry.value !== undefined && entry.name.startsWith('VOLUME_GUARD_')).map((entry) => [entry.name, entry.value.replace('$(POD_IP)', '10.244.1.7')]),
    );
    const config = loadConfig({ file: await tempFile('vg-security-config.json', JSON.stringify(file)), env: variables });
    expect(config.ops.host).toBe('10.244.1.7');
    expect(config.admission.tls.clientNames).toEqual(['kube-apiserver-webhook-client']);
  });

  it('requires anti-affinity with two or more replicas, with a switch back to preferred', async () => {
    const required = one(objects, 'Deployment').spec.template.spec.affinity.podAntiAffinity;
    expect(required.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
    expect(required.preferredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    const preferred = one(await rendered(['--set', 'highAvailability.requiredAntiAffinity=false']), 'Deployment').spec.template.spec.affinity.podAntiAffinity;
    expect(preferred.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    expect(preferred.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    const single = one(await rendered(['--set', 'replicaCount=1']), 'Deployment').spec.template.spec.affinity.podAntiAffinity;
    expect(single.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
  });

  it('is accepted by the API server (server-side dry-run of every object)', async () => {
    const file = await tempFile('vg-security-objects.yaml', objects.map((object) => stringify(object)).join('---\n'));
    const result = await must(kubectl(['apply', '-f', file, '--dry-run=server']), 'server-side dry-run');
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(objects.length);
    expect(lines).toContainEqual(expect.stringMatching(/^networkpolicy\.networking\.k8s\.io\/vg-sec-volume-guard (created|configured|unchanged) \(server dry run\)$/));
  });

  it('refuses a NetworkPolicy without API server CIDRs, and client auth without a CA', async () => {
    const noCidrs = await template(['--set', 'networkPolicy.enabled=true']);
    expect(noCidrs.code).not.toBe(0);
    expect(noCidrs.stderr).toContain('networkPolicy.apiServerCIDRs');
    const noCa = await template(['--set', 'clientAuth.enabled=true']);
    expect(noCa.code).not.toBe(0);
    expect(noCa.stderr).toContain('clientAuth.caBundle');
  });
});

describe('the overrides webhook fails closed', () => {
  it('the values schema refuses failurePolicy Ignore for it', async () => {
    const result = await helm(['lint', '--strict', CHART_DIR, '--set', 'webhook.failurePolicyOverrides.overrides=Ignore']);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('schema');
  });

  it('stays Fail with a global Ignore on every Kubernetes version the chart installs on (matchConditions from 1.28)', async () => {
    const policies = async (args: readonly string[]) =>
      Object.fromEntries(
        one(await rendered(args), 'ValidatingWebhookConfiguration').webhooks.map((webhook: { name: string; failurePolicy: string }) => [webhook.name, webhook.failurePolicy]),
      );
    const modern = await policies(['--kube-version', '1.31.0', '--set', 'webhook.failurePolicy=Ignore']);
    expect(modern['overrides.volume-guard.io']).toBe('Fail');
    expect(modern['node-cordon.volume-guard.io']).toBe('Ignore');
    // The chart requires Kubernetes 1.28 (kubeVersion), where matchConditions are on: the overrides webhook is Fail
    // on every version it installs on, even the oldest.
    const oldest = await policies(['--kube-version', '1.28.0', '--set', 'webhook.failurePolicy=Ignore']);
    expect(oldest['overrides.volume-guard.io']).toBe('Fail');
    expect(oldest['node-cordon.volume-guard.io']).toBe('Ignore');
    const tooOld = await template(['--kube-version', '1.27.9']);
    expect(tooOld.code).not.toBe(0);
    expect(tooOld.stderr).toContain('kubeVersion');
  });
});
