// The TypeScript type of the values a JSON schema accepts, for the subset of JSON Schema the configuration schema
// uses (object, array, string, integer, boolean, enum, required, default; `oneOf` of `required` lists only constrains
// which optional properties go together, so the type leaves it out). The `Config` type is derived from
// CONFIG_SCHEMA with it, so the schema ajv validates against and the type the code reads cannot drift apart.
//
// A property is present when the schema lists it in `required` or gives it a `default` (ajv fills defaults in
// with `useDefaults`, so after loading every defaulted field is there); other properties are optional.

/** The node kinds the configuration schema is built from (checked with `satisfies`). */
export interface SchemaNode {
  readonly type?: 'object' | 'string' | 'integer' | 'boolean' | 'array';
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly pattern?: string;
  readonly minItems?: number;
  readonly uniqueItems?: boolean;
  readonly properties?: { readonly [key: string]: SchemaNode };
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: SchemaNode;
  readonly oneOf?: readonly SchemaNode[];
}

type PresentKeys<P, R> = {
  [K in keyof P]: K extends R ? K : P[K] extends { readonly default: unknown } ? K : never;
}[keyof P];

type Flatten<T> = { readonly [K in keyof T]: T[K] };

type ObjectOf<P, R> = Flatten<
  { readonly [K in PresentKeys<P, R>]: FromSchema<P[K]> } & { readonly [K in Exclude<keyof P, PresentKeys<P, R>>]?: FromSchema<P[K]> }
>;

type RequiredOf<S> = S extends { readonly required: readonly (infer R)[] } ? R : never;

export type FromSchema<S> = S extends { readonly enum: readonly (infer E)[] }
  ? E
  : S extends { readonly type: 'object'; readonly properties: infer P }
    ? ObjectOf<P, RequiredOf<S>>
    : S extends { readonly type: 'array'; readonly items: infer I }
      ? readonly FromSchema<I>[]
      : S extends { readonly type: 'string' }
        ? string
        : S extends { readonly type: 'integer' }
          ? number
          : S extends { readonly type: 'boolean' }
            ? boolean
            : unknown;
