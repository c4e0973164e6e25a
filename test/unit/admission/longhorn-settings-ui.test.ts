// A Longhorn setting changed through Longhorn's UI or REST API (the documented way: Setting > General
// > Node Drain Policy) reaches the API server as longhorn-manager's own service account: api/setting.go SettingSet ->
// manager.CreateOrUpdateSetting -> datastore.UpdateSetting, which writes the new value with the annotation
// `longhorn.io/update-setting-from-longhorn` and leaves `longhorn.io/configmap-resource-version` as it was (only the
// default-setting ConfigMap's sync, datastore.createOrUpdateSetting, sets that to the ConfigMap's resourceVersion).
// volume-guard passes every write of that service account, so node-drain-policy always-allow (or
// deleting-confirmation-flag true) set in the UI is never judged, while the same change by kubectl is refused.
import { describe, expect, it } from 'vitest';
import { longhornSettingsValidator } from '../../../src/admission/validators/storage-teardown.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, longhornSetting, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const LONGHORN_SA: UserInfo = { username: 'system:serviceaccount:longhorn-system:longhorn-service-account', groups: ['system:serviceaccounts'] };
const FROM_LONGHORN = 'longhorn.io/update-setting-from-longhorn';
const CM_VERSION = 'longhorn.io/configmap-resource-version';

/** v1: numberOfReplicas 1, its only copy on w1. */
function singleCopy(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.replaceAll('longhornNode', ['w1', 'w2', 'w3'].map((name) => longhornNode({ name })));
  m.upsert('longhornVolume', volume({ name: 'v1', numberOfReplicas: 1, currentNodeID: 'w2', pvcNamespace: 'shop', pvcName: 'db' }));
  m.upsert('longhornReplica', replica({ volumeName: 'v1', nodeID: 'w1' }));
  m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
  return m;
}

function write(name: string, value: string, previous: string, annotations: Record<string, string>, oldAnnotations: Record<string, string>): AdmissionRequest {
  return request({
    kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Setting' },
    resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'settings' },
    operation: 'UPDATE',
    namespace: 'longhorn-system',
    name,
    userInfo: LONGHORN_SA,
    object: { metadata: { name, namespace: 'longhorn-system', annotations }, value },
    oldObject: { metadata: { name, namespace: 'longhorn-system', annotations: oldAnnotations }, value: previous },
  });
}

describe("a setting weakened through Longhorn's UI/API (longhorn-manager's own service account)", () => {
  const validator = longhornSettingsValidator(config);

  it('refuses node-drain-policy always-allow set in the UI, as it refuses the same change by kubectl', () => {
    const ui = write('node-drain-policy', 'always-allow', 'block-if-contains-last-replica', { [CM_VERSION]: '4711', [FROM_LONGHORN]: '' }, { [CM_VERSION]: '4711' });
    const decision = validator.handle(ui, context(singleCopy()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('longhorn-system/v1 (PVC shop/db)');
    // The webhook is called for it at all.
    expect(validator.declaration.matchConditions![0]!.expression).toContain(FROM_LONGHORN);
  });

  it('refuses deleting-confirmation-flag true set in the UI while volumes exist', () => {
    const ui = write('deleting-confirmation-flag', 'true', 'false', { [FROM_LONGHORN]: '' }, {});
    expect(validator.handle(ui, context(singleCopy())).allowed).toBe(false);
  });

  it("still passes longhorn-manager applying its default-setting ConfigMap (judged at the ConfigMap's write), and its annotation cleanup", () => {
    // createOrUpdateSetting: the ConfigMap's new resourceVersion comes with the value.
    const sync = write('node-drain-policy', 'always-allow', 'block-if-contains-last-replica', { [CM_VERSION]: '4800', [FROM_LONGHORN]: '' }, { [CM_VERSION]: '4711' });
    expect(validator.handle(sync, context(singleCopy())).allowed).toBe(true);
    // UpdateSetting's second write drops the marker, the value unchanged.
    const cleanup = write('node-drain-policy', 'always-allow', 'always-allow', { [CM_VERSION]: '4711' }, { [CM_VERSION]: '4711', [FROM_LONGHORN]: '' });
    expect(validator.handle(cleanup, context(singleCopy())).allowed).toBe(true);
    // An upgrade migration writing with its own client (no marker) is Longhorn's business.
    const migration = write('node-drain-policy', 'always-allow', 'block-if-contains-last-replica', {}, {});
    expect(validator.handle(migration, context(singleCopy())).allowed).toBe(true);
  });
});
