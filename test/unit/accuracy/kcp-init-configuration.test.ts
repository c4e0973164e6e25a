// KubeadmControlPlane's up-to-date check in the releases serving v1beta2 (controlplane/kubeadm/internal/filters.go
// matchesKubeadmConfig): every Machine is first compared as a joining one, ComputeDesiredKubeadmConfig(isJoin=true)
// emptying the KCP's InitConfiguration, and PrepareKubeadmConfigsForDiff(…, true) turning the init Machine's
// InitConfiguration into a JoinConfiguration (nodeRegistration, timeouts, patches, skipPhases, localAPIEndpoint) and
// then blanking it. initConfiguration.bootstrapTokens is copied nowhere: a change of it alone leaves every Machine up
// to date (only `kubeadm init`, long done, ever read it), so it replaces no node.
import { describe, expect, it } from 'vitest';
import { rolloutCause } from '../../../src/admission/validators/upgrade.ts';
import { request } from '../../support/admission.ts';

type Spec = Record<string, unknown>;

function kcpUpdate(kubeadmConfigSpec: Spec, oldKubeadmConfigSpec: Spec) {
  const kcp = (spec: Spec) => ({
    apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
    kind: 'KubeadmControlPlane',
    metadata: { name: 'kcp', namespace: 'default' },
    spec: { replicas: 3, version: 'v1.33.1', kubeadmConfigSpec: { joinConfiguration: { nodeRegistration: { name: 'n' } }, ...spec } },
  });
  return request({
    kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', kind: 'KubeadmControlPlane' },
    resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', resource: 'kubeadmcontrolplanes' },
    operation: 'UPDATE',
    namespace: 'default',
    name: 'kcp',
    object: kcp(kubeadmConfigSpec),
    oldObject: kcp(oldKubeadmConfigSpec),
  });
}

const tokens = (ttl: number): Spec => ({ initConfiguration: { nodeRegistration: { name: 'n' }, bootstrapTokens: [{ token: 'abcdef.0123456789abcdef', ttlSeconds: ttl }] } });

describe('KubeadmControlPlane (v1beta2): initConfiguration.bootstrapTokens rolls no Machine', () => {
  it('changing only the init bootstrap tokens is no upgrade', () => {
    expect(rolloutCause(kcpUpdate(tokens(3600), tokens(86400)))).toBeUndefined();
  });

  it('a change of the join configuration still rolls', () => {
    expect(rolloutCause(kcpUpdate({ joinConfiguration: { nodeRegistration: { name: 'm' } } }, {}))).toBe('spec.kubeadmConfigSpec changed');
  });
});
