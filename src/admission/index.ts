// Every validator volume-guard serves. Their declarations are the single source of the webhook rules.
import type { Config } from '../config.ts';
import { createRegistry, type ValidatorRegistry } from './registry.ts';
import type { Validator, ValidatorFactory } from './validator.ts';
import { podEvictionValidator } from './validators/eviction.ts';
import { ownerDeleteValidator } from './validators/owner-delete.ts';
import { pvcDeleteValidator } from './validators/pvc-delete.ts';
import { helmReleaseValidator } from './validators/helm-release.ts';
import { machineValidator } from './validators/machine.ts';
import { nodeCordonValidator } from './validators/node-cordon.ts';
import { overrideGuardValidator } from './validators/override-guard.ts';
import { overrideWriterValidator } from './validators/override-writer.ts';
import { podDeleteValidator } from './validators/pod-delete.ts';
import { statefulSetValidator } from './validators/statefulset.ts';
import { longhornSettingsValidator, storageTeardownValidator, storageUpgradeValidator } from './validators/storage-teardown.ts';
import { upgradeValidator } from './validators/upgrade.ts';

export const VALIDATOR_FACTORIES: readonly ValidatorFactory[] = [
  upgradeValidator,
  nodeCordonValidator,
  podEvictionValidator,
  helmReleaseValidator,
  statefulSetValidator,
  pvcDeleteValidator,
  ownerDeleteValidator,
  overrideGuardValidator,
  overrideWriterValidator,
  podDeleteValidator,
  machineValidator,
  storageTeardownValidator,
  longhornSettingsValidator,
  storageUpgradeValidator,
];

export function createValidators(config: Config): Validator[] {
  return VALIDATOR_FACTORIES.map((factory) => factory(config));
}

export function createValidatorRegistry(config: Config): ValidatorRegistry {
  return createRegistry(config, VALIDATOR_FACTORIES);
}
