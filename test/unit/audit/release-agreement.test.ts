// `volume-guard audit --release NS/NAME` on a release that is not installed must name exactly the PVCs the webhook
// refuses a re-install of the same chart for (seed 000), whatever state the leftover PVC is in.
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { releaseFindings } from '../../../src/audit/release.ts';
import { REUSE_APPROVED_TAG } from '../../../src/checks/orphan-pvc.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { PersistentVolumeClaimRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const NS = 'devlake';
const CLAIM = 'devlake-mysql-data-devlake-mysql-0';
const validator = helmReleaseValidator(defaultConfig());

function reinstall(version: number) {
  const object = releaseSecret({ name: 'devlake', namespace: NS, version, status: 'pending-install', manifest: devlakeManifest() });
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: `sh.helm.release.v1.devlake.v${version}`,
    userInfo: ADMIN,
    object,
  });
}

interface State {
  readonly name: string;
  readonly claim?: Partial<PersistentVolumeClaimRecord>;
  readonly setup?: (model: ClusterModel) => void;
}

const STATES: readonly State[] = [
  { name: 'a plain leftover' },
  { name: 'a leftover mounted by a running pod', setup: (m) => m.upsert('pod', pod({ namespace: NS, name: 'debug', claimNames: [CLAIM] })) },
  { name: 'a leftover mounted by a finished pod', setup: (m) => m.upsert('pod', pod({ namespace: NS, name: 'job', phase: 'Succeeded', claimNames: [CLAIM] })) },
  { name: 'a leftover being deleted', claim: { deleting: true } },
  { name: 'a leftover owned by a pod that is gone', claim: { ownerReferences: [{ kind: 'Pod', name: 'gone', uid: 'u-gone' }] } },
  {
    name: 'a claim owned by a live StatefulSet of another name',
    claim: { ownerReferences: [{ kind: 'StatefulSet', name: 'other', uid: 'uid-sts-other' }] },
    setup: (m) => m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'other', uid: 'uid-sts-other', claimTemplates: ['data'] })),
  },
  { name: 'a leftover approved for reuse', claim: { annotations: { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' } } },
  { name: 'a leftover with an unrecorded reuse approval', claim: { annotations: { 'volume-guard.io/reuse': 'true' } } },
  // Still Pending (WaitForFirstConsumer, its pod never ran): judged like a bound one by both.
  { name: 'a leftover that never bound', claim: { phase: 'Pending', volumeName: '' } },
  { name: 'a Pending leftover pre-bound to a PV', claim: { phase: 'Pending' } },
];

describe('audit --release agrees with the webhook on a re-install', () => {
  for (const state of STATES) {
    for (const version of [1, 3]) {
      it(`${state.name} (install at revision ${version})`, () => {
        const model = new ClusterModel(VOLUME_SETS);
        model.upsert('namespace', namespace({ name: NS }));
        model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: CLAIM, volumeName: 'pv-mysql', labels: { 'app.kubernetes.io/instance': 'devlake' }, ...state.claim }));
        model.upsert('persistentVolume', pv({ name: 'pv-mysql', claimNamespace: NS, claimName: CLAIM, reclaimPolicy: 'Retain' }));
        state.setup?.(model);

        const decision = validator.handle(reinstall(version), context(model));
        const audit = releaseFindings(model, NS, 'devlake', { installed: false, ...(version > 1 ? { revision: version - 1, status: 'uninstalled' } : {}) });
        // A reuse approval with its writer recorded is an override the webhook honors: not a blocking finding.
        const blocking = audit.findings.filter((f) => f.severity === 'critical' && !f.tags.includes(REUSE_APPROVED_TAG));
        const named = blocking.map((f) => `${f.object.namespace}/${f.object.name}`);
        expect(decision.allowed, `webhook ${decision.status?.message ?? 'allowed'}; audit ${named.join(' ')}`).toBe(named.length === 0);
        for (const name of named) expect(decision.status?.message ?? '').toContain(name);
      });
    }
  }
});
