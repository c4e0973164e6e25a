// KubeadmControlPlane's up-to-date check (PrepareKubeadmConfigsForDiff, controlplane/kubeadm/internal/filters.go)
// blanks init/joinConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds on both sides since Cluster API PR
// #13026 (1.12) and its 1.11 backport #13030 (issue #13017): v1beta1's clusterConfiguration.apiServer.
// timeoutForControlPlane converts to it, and a change of it only serves the next join. Changing only that timeout
// rolls no Machine in the releases serving v1beta2; any other kubeadm timeout still does.
import { describe, expect, it } from 'vitest';
import { rolloutCause } from '../../../src/admission/validators/upgrade.ts';
import { request } from '../../support/admission.ts';

type Spec = Record<string, unknown>;

function kcpUpdate(version: 'v1beta1' | 'v1beta2', kubeadmConfigSpec: Spec, oldKubeadmConfigSpec: Spec, requestVersion?: string) {
  const kcp = (spec: Spec) => ({
    apiVersion: `controlplane.cluster.x-k8s.io/${version}`,
    kind: 'KubeadmControlPlane',
    metadata: { name: 'kcp', namespace: 'default' },
    spec: { replicas: 3, version: 'v1.31.4', kubeadmConfigSpec: { files: [{ path: '/etc/a', content: 'a' }], ...spec } },
  });
  return {
    ...request({
      kind: { group: 'controlplane.cluster.x-k8s.io', version, kind: 'KubeadmControlPlane' },
      resource: { group: 'controlplane.cluster.x-k8s.io', version, resource: 'kubeadmcontrolplanes' },
      operation: 'UPDATE',
      namespace: 'default',
      name: 'kcp',
      object: kcp(kubeadmConfigSpec),
      oldObject: kcp(oldKubeadmConfigSpec),
    }),
    ...(requestVersion === undefined ? {} : { requestVersion }),
  };
}

const healthCheck = (seconds: number): Spec => ({
  initConfiguration: { timeouts: { controlPlaneComponentHealthCheckSeconds: seconds } },
  joinConfiguration: { timeouts: { controlPlaneComponentHealthCheckSeconds: seconds } },
});
const apiServerTimeout = (timeout: string): Spec => ({ clusterConfiguration: { apiServer: { timeoutForControlPlane: timeout, certSANs: ['cp.example'] } } });

describe('KubeadmControlPlane: the control-plane component health-check timeout rolls no Machine where v1beta2 is served', () => {
  it('v1beta2: changing, adding or removing controlPlaneComponentHealthCheckSeconds rolls nothing', () => {
    expect(rolloutCause(kcpUpdate('v1beta2', healthCheck(1200), healthCheck(240)))).toBeUndefined();
    expect(rolloutCause(kcpUpdate('v1beta2', healthCheck(1200), {}))).toBeUndefined();
    expect(rolloutCause(kcpUpdate('v1beta2', {}, healthCheck(240)))).toBeUndefined();
  });

  it('v1beta1 apiServer.timeoutForControlPlane (converted to it) rolls nothing when the client wrote v1beta2', () => {
    expect(rolloutCause(kcpUpdate('v1beta1', apiServerTimeout('20m0s'), apiServerTimeout('4m0s'), 'v1beta2'))).toBeUndefined();
  });

  it('a release serving v1beta1 only compares it: a v1beta1 change without a v1beta2 client still rolls', () => {
    expect(rolloutCause(kcpUpdate('v1beta1', apiServerTimeout('20m0s'), apiServerTimeout('4m0s')))).toBe('spec.kubeadmConfigSpec changed');
  });

  it('another timeout of the same block, or another apiServer field beside it, still rolls', () => {
    const kubelet = (seconds: number): Spec => ({ joinConfiguration: { timeouts: { kubeletHealthCheckSeconds: seconds, controlPlaneComponentHealthCheckSeconds: 240 } } });
    expect(rolloutCause(kcpUpdate('v1beta2', kubelet(1200), kubelet(240)))).toBe('spec.kubeadmConfigSpec changed');
    const sans = { clusterConfiguration: { apiServer: { timeoutForControlPlane: '20m0s', certSANs: ['cp.example', 'x'] } } };
    expect(rolloutCause(kcpUpdate('v1beta1', sans, apiServerTimeout('4m0s'), 'v1beta2'))).toBe('spec.kubeadmConfigSpec changed');
  });
});
