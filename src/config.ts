// volume-guard's configuration, in src/config/: the schema every fact comes from (schema.ts, with the `Config`
// type derived from it by schema-type.ts), the environment mapping (env.ts), loading and error wording (load.ts)
// and the reference table (reference.ts). This module is its public face.

export { CHECK_MODES, CONFIG_SCHEMA, DEFAULT_UPGRADE_KINDS, MAX_BODY_LIMIT_BYTES, MAX_TIMER_MS, upgradeKindVersions } from './config/schema.ts';
export type { CheckMode, Config, GuardedUpgradeKind, SchemaNode, StalePolicy } from './config/schema.ts';
export { ENV_PREFIX, envName } from './config/env.ts';
export { ConfigError, defaultConfig, loadConfig, type LoadConfigOptions } from './config/load.ts';
export { CONFIG_REFERENCE, configReferenceMarkdown, type ConfigReferenceRow } from './config/reference.ts';
