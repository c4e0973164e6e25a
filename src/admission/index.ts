// Every validator volume-guard serves. Their declarations are the single source of the webhook rules.
import type { Config } from '../config.ts';
import { createRegistry, type ValidatorRegistry } from './registry.ts';
import type { Validator, ValidatorFactory } from './validator.ts';
import { podEvictionValidator } from './validators/eviction.ts';
import { helmReleaseValidator } from './validators/helm-release.ts';
import { nodeCordonValidator } from './validators/node-cordon.ts';
import { overrideGuardValidator } from './validators/override-guard.ts';
import { longhornSettingsValidator, storageTeardownValidator, storageUpgradeValidator } from './validators/storage-teardown.ts';
import { upgradeValidator } from './validators/upgrade.ts';

export const VALIDATOR_FACTORIES: readonly ValidatorFactory[] = [
  upgradeValidator,
  nodeCordonValidator,
  podEvictionValidator,
  helmReleaseValidator,
  overrideGuardValidator,
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
