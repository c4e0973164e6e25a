import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeConfig } from '../../../src/cluster/kubeconfig.ts';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: 'https://prod.example:6443', certificate-authority-data: ''}
- name: lab
  cluster: {server: 'https://lab.example:6443'}
users:
- name: admin
  user: {token: abc}
contexts:
- name: prod
  context: {cluster: prod, user: admin}
- name: lab
  context: {cluster: lab, user: admin}
current-context: prod
`;

let dir: string;
const saved = { KUBECONFIG: process.env['KUBECONFIG'], HOME: process.env['HOME'] };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vg-kubeconfig-'));
  writeFileSync(join(dir, 'config'), KUBECONFIG);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('createKubeConfig', () => {
  it('loads a kubeconfig file with its current context', () => {
    const kubeConfig = createKubeConfig({ kubeconfigPath: join(dir, 'config') });
    expect(kubeConfig.getCurrentCluster()?.server).toBe('https://prod.example:6443');
    expect(kubeConfig.getCurrentUser()?.token).toBe('abc');
  });

  it('switches to another context, and refuses one that does not exist', () => {
    expect(createKubeConfig({ kubeconfigPath: join(dir, 'config'), context: 'lab' }).getCurrentCluster()?.server).toBe('https://lab.example:6443');
    expect(() => createKubeConfig({ kubeconfigPath: join(dir, 'config'), context: 'nope' })).toThrow(/no context "nope"/);
  });

  it('follows $KUBECONFIG without a path', () => {
    process.env['KUBECONFIG'] = join(dir, 'config');
    expect(createKubeConfig().getCurrentCluster()?.server).toBe('https://prod.example:6443');
  });

  // (Inside a pod the service account is found instead: nothing to refuse there.)
  const inPod = existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
  it.skipIf(inPod)('refuses to fall back to an unauthenticated localhost:8080 when nothing is configured', () => {
    delete process.env['KUBECONFIG'];
    process.env['HOME'] = dir; // no ~/.kube/config there
    expect(() => createKubeConfig()).toThrow(/no kubeconfig found/);
  });
});
