import type { Config } from '../config.ts';
import type { WebhookDeclaration } from './types.ts';
import type { Validator, ValidatorFactory } from './validator.ts';

const TARGET_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Maps the URL target of /validate/<target> (and /mutate/<target>) to its validator. */
export class ValidatorRegistry {
  readonly #byTarget = new Map<string, Validator>();

  register(validator: Validator): this {
    const { target, name } = validator.declaration;
    if (!TARGET_PATTERN.test(target)) {
      throw new Error(`validator ${name}: target "${target}" must be lower-case letters, digits and '-'`);
    }
    const existing = this.#byTarget.get(target);
    if (existing) {
      throw new Error(
        `validator ${name}: target "${target}" is already served by ${existing.declaration.name}`,
      );
    }
    this.#byTarget.set(target, validator);
    return this;
  }

  /** The validator served at /validate/<target>, or with `mutating` the mutating webhook at /mutate/<target>. */
  get(target: string, mutating = false): Validator | undefined {
    const validator = this.#byTarget.get(target);
    return validator !== undefined && (validator.declaration.mutating === true) === mutating ? validator : undefined;
  }

  /** Every target served; with `mutating` given, those of that kind only. */
  targets(mutating?: boolean): string[] {
    return [...this.#byTarget.values()]
      .filter((validator) => mutating === undefined || (validator.declaration.mutating === true) === mutating)
      .map((validator) => validator.declaration.target);
  }

  /** Releases what validators hold (worker threads); called once at shutdown. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#byTarget.values()].map((validator) => validator.close?.()));
  }

  /** What the chart's webhook configurations are generated from. */
  declarations(): WebhookDeclaration[] {
    return [...this.#byTarget.values()].map((validator) => validator.declaration);
  }
}

export function createRegistry(config: Config, factories: readonly ValidatorFactory[]): ValidatorRegistry {
  const registry = new ValidatorRegistry();
  for (const factory of factories) registry.register(factory(config));
  return registry;
}
