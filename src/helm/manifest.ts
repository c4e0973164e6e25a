// A Helm release's manifest: the rendered templates as multi-document YAML, each document headed by a
// `# Source: <chart>/templates/<file>` comment. volume-guard only needs the StatefulSets and PersistentVolumeClaims,
// and whether it renders Longhorn's manager (a chart bundling Longhorn as a subchart upgrades Longhorn too).
//
// Documents are split the way the Kubernetes YAML reader splits them (a line starting with `---`), with lines ending
// where Go's YAML 1.1 reader ends them (CR, NEL, LS and PS too, see goLineBreaks), and each is classified by its
// `kind` before its body is parsed: when the text makes the kind certain (a plain `kind: Word` key of a plain block
// mapping with no `items` key, see documentKind), only StatefulSets, PVCs and Namespaces are parsed, and DaemonSets
// and Deployments whose text could name longhorn-manager (a few KB in a chart shipping Longhorn), so CRDs whose
// descriptions mention PersistentVolumeClaim cost a line scan and count toward no budget. A List (any document with
// an `items` key, whatever its kind: Helm creates its items, any of which may be a StatefulSet, and an item without a
// kind takes the List's, less `List`) and a document whose kind is not certain are parsed only if their text could
// give an object one of those kinds: a resolved `kind` of StatefulSet, PersistentVolumeClaim or Namespace (or
// StatefulSetList…, which kindless items inherit) appears literally in the source, as the value of a `kind` key or
// of an alias, unless it is spelled with a double-quoted escape (\x, \u, \U, or a backslash before a line break),
// see maySpellKind; or the name longhorn-manager appears next to DaemonSet or Deployment. So a ConfigMapList of
// dashboards mentioning namespaces is skipped without building a YAML tree. Parsing is bounded: alias expansion
// (billion laughs), document size, and the total amount of YAML parsed per manifest.
import { isMap, parseAllDocuments, type ScalarTag, type Tags } from 'yaml';
import type { Labels } from '../cluster/records.ts';
import { HELM_RESOURCE_POLICY_ANNOTATION } from '../kube.ts';
import { fieldsAt, isObject, stringMapOf, type JsonObject } from '../json.ts';
import { formatBytes, type HelmHook } from './release.ts';

export const DEFAULT_MAX_ALIAS_COUNT = 100;
export const DEFAULT_MAX_DOCUMENT_BYTES = 1024 * 1024;
export const DEFAULT_MAX_PARSED_BYTES = 2 * 1024 * 1024;
/** Kubernetes objects nest about 15 levels deep; the yaml parser's cost climbs steeply past a few hundred. */
export const DEFAULT_MAX_NESTING_DEPTH = 100;
/** `kind: List` documents may nest; the Kubernetes client flattens them, but nobody nests deeper than this. */
const MAX_LIST_DEPTH = 4;

export interface ManifestLimits {
  /** Alias resolutions allowed per document, weighted by nesting as the yaml package counts them. */
  readonly maxAliasCount?: number;
  /** A document that must be parsed and is larger than this is refused. */
  readonly maxDocumentBytes?: number;
  /** The documents parsed in full, together, may not be larger than this. */
  readonly maxParsedBytes?: number;
  /** Block or flow nesting deeper than this (as estimated by nestingExceeds) is refused before parsing. */
  readonly maxNestingDepth?: number;
}

export type ManifestErrorCode = 'yaml-bomb' | 'document-too-large' | 'manifest-too-large' | 'invalid-yaml';

/** A manifest volume-guard refuses to read. The message names the template, never the content. */
export class ManifestError extends Error {
  readonly code: ManifestErrorCode;

  constructor(code: ManifestErrorCode, message: string) {
    super(message);
    this.name = 'ManifestError';
    this.code = code;
  }
}

/** spec.persistentVolumeClaimRetentionPolicy: Retain (the default) or Delete. */
export interface ClaimRetentionPolicy {
  readonly whenDeleted: string;
  readonly whenScaled: string;
}

export interface ManifestStatefulSet {
  /** metadata.namespace, or the release's namespace when the template leaves it out. */
  readonly namespace: string;
  readonly name: string;
  /** spec.replicas, 1 when absent. */
  readonly replicas: number;
  /**
   * spec.replicas is in the template. An upgrade that leaves it out changes nothing of the live count (Helm's
   * three-way merge and server-side apply both leave a field the chart never set to whoever set it: kubectl, an HPA).
   */
  readonly replicasDeclared: boolean;
  /** spec.ordinals.start, 0 when absent. */
  readonly ordinalsStart: number;
  /** spec.ordinals.start is in the template (an upgrade without it leaves the live start, as with replicas). */
  readonly ordinalsDeclared: boolean;
  /** spec.volumeClaimTemplates[*].metadata.name */
  readonly claimTemplates: readonly string[];
  /** spec.selector.matchLabels */
  readonly selector: Labels;
  readonly retentionPolicy: ClaimRetentionPolicy;
  /** spec.persistentVolumeClaimRetentionPolicy.whenScaled is in the template (without it an upgrade leaves the live one). */
  readonly whenScaledDeclared: boolean;
  /** Annotated `helm.sh/resource-policy` (`keep`, or any value): Helm leaves it in place on uninstall. */
  readonly keep: boolean;
  /** The template it came from (`# Source:`), '' when the document has no such comment. */
  readonly source: string;
}

export interface ManifestPersistentVolumeClaim {
  readonly namespace: string;
  readonly name: string;
  /** Annotated `helm.sh/resource-policy` (`keep`, or any value): it outlives the release, and a later install adopts it. */
  readonly keep: boolean;
  readonly source: string;
}

/** A Namespace the chart declares. */
export interface ManifestNamespace {
  readonly name: string;
  /** Annotated `helm.sh/resource-policy` (any value): `helm uninstall` leaves it. */
  readonly keep: boolean;
}

/** A PVC the chart renders as a hook (helm.sh/hook): Helm creates it when the hook runs, outside the manifest. */
export interface HookPersistentVolumeClaim {
  readonly namespace: string;
  readonly name: string;
  /** The hook's events, e.g. pre-upgrade. */
  readonly events: readonly string[];
  /** Its helm.sh/hook-delete-policy values, empty when the chart set none. */
  readonly deletePolicies: readonly string[];
  /** The template it came from. */
  readonly source: string;
}

/** A DaemonSet or Deployment named longhorn-manager: Longhorn's manager, wherever the chart that renders it is from. */
export interface ManifestLonghornManager {
  readonly kind: 'DaemonSet' | 'Deployment';
  /** metadata.namespace, or the release's namespace when the template leaves it out. */
  readonly namespace: string;
  readonly source: string;
}

export interface ParsedManifest {
  readonly statefulSets: readonly ManifestStatefulSet[];
  readonly persistentVolumeClaims: readonly ManifestPersistentVolumeClaim[];
  /** The longhorn-manager workloads it renders, in any namespace (which one is Longhorn's is the caller's to say). */
  readonly longhornManagers: readonly ManifestLonghornManager[];
  /** PVCs rendered as hooks; absent where hooks were not read. */
  readonly hookClaims?: readonly HookPersistentVolumeClaim[];
  /**
   * Namespaces the chart declares (`kind: Namespace`): Helm deletes one at uninstall unless it is kept, and the
   * namespace controller then deletes every PVC in it. Absent where none is declared.
   */
  readonly namespaces?: readonly ManifestNamespace[];
  /** Documents in the manifest, and how many of them were parsed in full. */
  readonly documents: number;
  readonly parsedDocuments: number;
}

export interface ManifestDocument {
  /** The document's text, including its leading `---` line when it has one, with Go's line breaks made LF or CRLF. */
  readonly text: string;
  /** The template named by its `# Source:` comment, '' when none. */
  readonly source: string;
}

// A document separator as the Kubernetes YAML reader sees it: `---` at the start of a line, then blank or more.
const SEPARATOR = /^---(?=[ \t\r\n#]|$)/gm;
const SOURCE_COMMENT = /^# Source: ([^\r\n]*)/m;
/**
 * Double-quoted escapes behind which a kind name may hide. Of the escapes go-yaml v2 (the YAML reader under Helm's
 * builder, YAML 1.1) knows, only \x, \u and \U can stand for a letter: the others stand for control characters, a
 * space, a quote, a slash, a backslash, NEL, NBSP, LS or PS. And a backslash before a line break joins the two lines
 * into one word (`"Stateful\` then `Set"` reads StatefulSet), where YAML 1.1's line breaks are LF, CR, CRLF, NEL, LS
 * and PS. Every other way a scalar continues on the next line (plain, single- or double-quoted, folded block) folds
 * the break into a space or keeps a line break, so it cannot join two halves of a name.
 */
const SPELLING_ESCAPE = /\\(?:[xuU]|[\r\n\u0085\u2028\u2029])/;
/**
 * Line breaks go-yaml v2 reads as such (YAML 1.1) and the yaml package (YAML 1.2) does not, or not everywhere: a CR
 * not followed by LF, NEL, LS and PS. Go ends a comment, a plain scalar's line or a block scalar's line at any of
 * them, so `# note<NEL>kind: StatefulSet` is a `kind` key to Helm and a comment to the yaml package.
 */
const GO_ONLY_LINE_BREAK = /\r(?!\n)|[\u0085\u2028\u2029]/;

/**
 * The text with the line breaks only Go's YAML reader sees made LF, so that the line-based scans here and the yaml
 * package read the lines Helm's reader reads. Each is one UTF-16 unit, so lengths (and size limits) are unchanged.
 * Within a scalar the values differ from Go's at most in white space (Go keeps an LS or PS where it folds the break
 * that the yaml package folds into a space), so no kind or name is made or lost. Text without any is returned as it
 * is; other text is copied once, unit by unit (lone surrogates too): 2 MiB of them in ~15 ms.
 */
function goLineBreaks(text: string): string {
  if (!GO_ONLY_LINE_BREAK.test(text)) return text;
  const units = Buffer.from(text, 'utf16le');
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0x85 || code === 0x2028 || code === 0x2029 || (code === 0x0d && text.charCodeAt(index + 1) !== NEWLINE)) {
      units.writeUInt16LE(NEWLINE, 2 * index);
    }
  }
  return units.toString('utf16le');
}

/**
 * Helm's template paths are short; the comment is the record writer's text, and a gzipped megabyte of it would
 * otherwise become a megabyte refusal, log line and Event (it names a document, so its start is enough).
 */
const MAX_SOURCE_LENGTH = 200;

function sourceOf(text: string): string {
  const source = SOURCE_COMMENT.exec(text)?.[1]?.trim() ?? '';
  return source.length <= MAX_SOURCE_LENGTH ? source : `${source.slice(0, MAX_SOURCE_LENGTH - 1)}…`;
}

/** Anything but blank lines, comments and the separator itself. */
function hasContent(text: string): boolean {
  return /^[ \t]*[^#\s]/m.test(text.startsWith('---') ? text.slice(3) : text);
}

/**
 * Splits a manifest at its document separators; pieces with nothing but comments are dropped. The line breaks only
 * Go's YAML reader sees are made LF first (goLineBreaks); a `---` after one of them then starts a document here, where
 * the Kubernetes reader, splitting at LF only, hands Go's YAML reader both as one piece, of which it reads the first:
 * the pieces here are read each, which can only find more objects than Helm creates.
 */
export function splitManifest(text: string): ManifestDocument[] {
  const manifest = goLineBreaks(text);
  const documents: ManifestDocument[] = [];
  let start = 0;
  const push = (end: number): void => {
    const text = manifest.slice(start, end);
    if (hasContent(text)) documents.push({ text, source: sourceOf(text) });
  };
  for (const match of manifest.matchAll(SEPARATOR)) {
    if (match.index > start) push(match.index);
    start = match.index;
  }
  push(manifest.length);
  return documents;
}

/** Kinds that create or claim storage. */
function isStorageKind(kind: string): boolean {
  return kind === 'StatefulSet' || kind === 'PersistentVolumeClaim';
}

/**
 * Kubernetes and Helm flatten a List into its items, which may be of any kind (collect). A document is a List by its
 * `items` key, whatever its kind (see documentKind); a kind ending in `List` is read as one whether or not it has it.
 */
function isListKind(kind: string): boolean {
  return kind.endsWith('List');
}

/** What a document is scanned for: kinds, as the value of a `kind` key (see maySpellKind). */
interface KindScan {
  readonly names: readonly string[];
  /** A `kind` key (plain, quoted, or an explicit `? kind`), then only white space and line breaks, a quote, a name. */
  readonly plain: RegExp;
}

function kindScan(names: readonly string[]): KindScan {
  return { names, plain: new RegExp(`kind['"]?\\s*:\\s*['"]?(?:${names.join('|')})`) };
}

const STORAGE_KINDS = kindScan(['StatefulSet', 'PersistentVolumeClaim']);
/** A Namespace is read too: a word dashboards and CRD descriptions use a lot, so looked for only as a kind. */
const READ_KINDS = kindScan(['StatefulSet', 'PersistentVolumeClaim', 'Namespace']);

/**
 * A `kind` key whose value starts with something other than the word: a tag or anchor (`!`, `&`), a block scalar
 * (`|`, `>`), a comment (`#`, also between an explicit key and its `:`), an alias (`*`).
 */
const EXOTIC_KIND_VALUE = /kind['"]?\s*(?:#|:\s*[!&|>#*])/;
/** An alias (`*name`) where a key can start: at a line's indentation, after `- `, `? `, `: `, `[`, `{` or `,`. */
const ALIAS_NODE = /(?:^[ \t]*|[-?:][ \t]+|[[{,][ \t]*)\*[^\s,[\]{}]/m;

/**
 * Whether the text could give some object one of these kinds (a List's item, or the root when the document's kind
 * is not certain), without parsing it. A kind the YAML reader resolves from plain, quoted or block text appears in
 * it literally, unless spelled with a double-quoted escape; and it is the value of a `kind` key, or of an alias
 * standing for one. So: an escape, or a name that appears and then either a `kind` key with that plain or quoted
 * value (the way every chart writes it), or the rarer forms (tags, anchors, block scalars, comments before the
 * value, aliases), which count whatever they hold. A List's item without a kind takes the List's kind less `List`
 * (collect): that kind starts with the name (`kind: StatefulSetList`), which the patterns match as a prefix. The
 * text's line breaks are LF or CRLF (goLineBreaks). Every pattern is linear in the text.
 */
function maySpellKind(text: string, kinds: KindScan): boolean {
  if (SPELLING_ESCAPE.test(text)) return true;
  if (!kinds.names.some((name) => text.includes(name))) return false;
  return kinds.plain.test(text) || EXOTIC_KIND_VALUE.test(text) || ALIAS_NODE.test(text);
}

/** The name Longhorn's chart gives its manager's DaemonSet; the storage-upgrade webhook guards the same name. */
export const LONGHORN_MANAGER_NAME = 'longhorn-manager';

const MANAGER_KINDS: ReadonlySet<string> = new Set(['DaemonSet', 'Deployment']);

/** A root key line: a plain key of letters, digits, `_.-/`, then `:` and a space, a comment or the end of line. */
const ROOT_KEY_LINE = /^[A-Za-z0-9_./-]+:(?:[ \t]|\r?$)/;
/** `kind: <plain word>`, optionally followed by a comment. */
const KIND_LINE = /^kind:[ \t]+([A-Za-z0-9]+)[ \t]*(?:#.*)?\r?$/;

/**
 * The document's kind read from its text without parsing it, or undefined when the text does not make it certain.
 * Certain means: the first content line and every other line starting in column 0 are plain keys of a block
 * mapping at the root, or entries (`- `) of a block sequence that is a root key's value (no quoted, complex, merge, anchored, tagged or flow keys, no directives, nothing after the
 * `---`), and exactly one of them is `kind:` with a plain word as its value. The root mapping's keys are then
 * exactly those lines (a continuation of a multi-line scalar could only add a second `kind:` line, which makes it
 * uncertain), so the word is the kind the YAML reader resolves. A CRD of several MB is classified in one pass.
 *
 * A root `items` key makes it uncertain too: apimachinery decodes any object with an `items` key as a list, whatever
 * its kind (unstructuredJSONScheme.decode), and Helm's builder creates its items instead of it, so `kind: ConfigMap`
 * with `items: [{kind: StatefulSet, …}]` gives Helm a StatefulSet. Such a key is then one of those lines.
 * Lines end where Go's YAML reader ends them (LF, CR, NEL, LS, PS: see goLineBreaks).
 */
export function documentKind(text: string): string | undefined {
  return kindOf(goLineBreaks(text));
}

/** documentKind of text whose line breaks are LF or CRLF. */
function kindOf(text: string): string | undefined {
  let kind: string | undefined;
  let sawContent = false;
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const first = text.charCodeAt(lineStart);
    const isIndented = first === SPACE || first === 0x09;
    if (!isIndented && lineEnd > lineStart && first !== HASH && first !== 0x0d) {
      const line = text.slice(lineStart, lineEnd);
      if (line.startsWith('---')) {
        // Only the separator, blank or with a comment: `--- {kind: …}` or `--- !tag` would start the content here.
        if (sawContent || !/^---[ \t]*(?:#.*)?\r?$/.test(line)) return undefined;
      } else if (sawContent && /^-(?:[ \t]|\r?$)/.test(line)) {
        // A block sequence as the value of the root key above (`rules:` then `- apiGroups: …`): not a root key.
      } else {
        if (!ROOT_KEY_LINE.test(line) || line.startsWith('items:')) return undefined;
        sawContent = true;
        if (line.startsWith('kind:')) {
          const match = KIND_LINE.exec(line);
          if (kind !== undefined || match === null) return undefined;
          kind = match[1];
        }
      }
    } else if (!sawContent && isIndented && /\S/.test(text.slice(lineStart, lineEnd)) && !/^[ \t]*#/.test(text.slice(lineStart, lineEnd))) {
      // Content before any root key is indented: the root is not a column-0 block mapping.
      return undefined;
    }
    lineStart = lineEnd + 1;
  }
  return kind;
}

/**
 * True when the document could hold a StatefulSet or a PersistentVolumeClaim: its kind, read without parsing, is
 * one of those, or it is a List or of a kind not certain and its text could spell one of them as a kind (see
 * maySpellKind). A List of ConfigMaps (Grafana dashboards, often over 1 MiB) then costs a scan, not a parse.
 */
export function mayDeclareStorage(document: string): boolean {
  const text = goLineBreaks(document);
  const kind = kindOf(text);
  if (kind !== undefined && !isListKind(kind)) return isStorageKind(kind);
  return maySpellKind(text, STORAGE_KINDS);
}

/**
 * True when a manifest document could hold what the manifest is read for: a StatefulSet, a PVC, a Namespace or a
 * longhorn-manager DaemonSet or Deployment. The name, like a kind, appears literally unless spelled with a
 * double-quoted escape; every other DaemonSet and Deployment (most of a big chart's workloads) is skipped unparsed.
 * Hooks are read for PVCs alone (mayDeclareStorage). The text's line breaks are LF or CRLF (splitManifest).
 */
function mayDeclareRead(text: string): boolean {
  const kind = kindOf(text);
  if (kind !== undefined && !isListKind(kind)) {
    return isStorageKind(kind) || kind === 'Namespace' || (MANAGER_KINDS.has(kind) && (text.includes(LONGHORN_MANAGER_NAME) || SPELLING_ESCAPE.test(text)));
  }
  return maySpellKind(text, READ_KINDS) || (text.includes(LONGHORN_MANAGER_NAME) && (text.includes('DaemonSet') || text.includes('Deployment')));
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function nonNegativeInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Whether `helm uninstall` leaves it: it deletes only the manifest's documents with no helm.sh/resource-policy.
 * `keep` (any case and spacing) is the documented value; any other (Helm 4's `prefer-existing`, a typo) leaves it
 * too, as Helm sorts such a document into neither its kept nor its deleted list. An upgrade reads the live object
 * instead, exactly (pvc-delete's hasLiveKeepPolicy).
 */
function leftByUninstall(metadata: JsonObject): boolean {
  return Object.hasOwn(fieldsAt(metadata, 'annotations'), HELM_RESOURCE_POLICY_ANNOTATION);
}

function retentionValue(value: unknown): string {
  return value === 'Delete' ? 'Delete' : 'Retain';
}

interface Collector {
  readonly statefulSets: ManifestStatefulSet[];
  readonly persistentVolumeClaims: ManifestPersistentVolumeClaim[];
  readonly namespaces: ManifestNamespace[];
  readonly longhornManagers: ManifestLonghornManager[];
  readonly releaseNamespace: string;
  readonly source: string;
}

/**
 * The fields volume-guard reads from a StatefulSet object (a manifest document or the object of an admission
 * request); undefined without a name (the API server would refuse it, so it never claims anything).
 */
export function statefulSetFromObject(object: unknown, defaultNamespace: string, source = ''): ManifestStatefulSet | undefined {
  const metadata = fieldsAt(object, 'metadata');
  const name = nonEmptyString(metadata.name);
  if (name === undefined) return undefined;
  const spec = fieldsAt(object, 'spec');
  const templates = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : [];
  const claimTemplates = templates
    .map((template: unknown) => nonEmptyString(fieldsAt(template, 'metadata').name))
    .filter((template): template is string => template !== undefined);
  const retention = fieldsAt(spec, 'persistentVolumeClaimRetentionPolicy');
  return {
    namespace: nonEmptyString(metadata.namespace) ?? defaultNamespace,
    name,
    // Absent (or null, as a template with an empty value renders) means 1, like the API server's default.
    replicas: nonNegativeInteger(spec.replicas) ?? 1,
    replicasDeclared: nonNegativeInteger(spec.replicas) !== undefined,
    ordinalsStart: nonNegativeInteger(fieldsAt(spec, 'ordinals').start) ?? 0,
    ordinalsDeclared: nonNegativeInteger(fieldsAt(spec, 'ordinals').start) !== undefined,
    claimTemplates: [...new Set(claimTemplates)],
    selector: stringMapOf(fieldsAt(spec, 'selector').matchLabels),
    retentionPolicy: { whenDeleted: retentionValue(retention.whenDeleted), whenScaled: retentionValue(retention.whenScaled) },
    whenScaledDeclared: typeof retention.whenScaled === 'string' && retention.whenScaled !== '',
    keep: leftByUninstall(metadata),
    source,
  };
}

function collectStatefulSet(object: JsonObject, into: Collector, keep: boolean | undefined): void {
  const statefulSet = statefulSetFromObject(object, into.releaseNamespace, into.source);
  if (statefulSet !== undefined) into.statefulSets.push(keep === undefined ? statefulSet : { ...statefulSet, keep });
}

/**
 * Whether Helm's builder (k8s.io/cli-runtime, `.Unstructured().Flatten()`) reads the object as a list and creates
 * its items instead of it. A document is decoded by apimachinery's unstructuredJSONScheme.decode, which makes an
 * UnstructuredList of any object with an `items` key, whatever its kind and even when the value is null (no items
 * then) or not an array (a decoding error). A list's item (depth > 0) is itself flattened when its `items` is an array,
 * as Unstructured.IsList says; the builder then fails on it (an Unstructured has no Items field), so nothing of such
 * a release is created, and reading those items as well can only find more.
 */
function isList(object: JsonObject, depth: number): boolean {
  return depth === 0 ? Object.hasOwn(object, 'items') : Array.isArray(object.items);
}

/**
 * A list's item as apimachinery's decodeToList makes it: one with neither a kind nor an apiVersion (each absent, empty
 * or not a string) gets the list's kind less a `List` suffix and the list's apiVersion, so the items of an
 * `apps/v1` `StatefulSetList` are StatefulSets (and those of a `kind: StatefulSet` with `items`, too).
 */
function listItem(item: unknown, list: JsonObject): unknown {
  if (!isObject(item) || nonEmptyString(item.kind) !== undefined || nonEmptyString(item.apiVersion) !== undefined) return item;
  const listKind = typeof list.kind === 'string' ? list.kind : '';
  return {
    ...item,
    kind: listKind.endsWith('List') ? listKind.slice(0, -'List'.length) : listKind,
    apiVersion: typeof list.apiVersion === 'string' ? list.apiVersion : '',
  };
}

/**
 * `documentKeep`: for the items of a List, whether uninstall leaves the List's document. Helm reads the policy from
 * each document's head (filterManifestsToKeep), which for a List is the List's own metadata: its items' annotations
 * are not read, and all of them go or stay together.
 */
function collect(object: unknown, into: Collector, depth: number, documentKeep?: boolean): void {
  if (!isObject(object)) return; // scalars, sequences and empty documents declare nothing
  if (isList(object, depth)) {
    // kubectl and Helm flatten lists into their items (nested ones only as deep as anybody nests them).
    if (!Array.isArray(object.items) || depth >= MAX_LIST_DEPTH) return;
    const keep = documentKeep ?? leftByUninstall(fieldsAt(object, 'metadata'));
    for (const item of object.items) collect(listItem(item, object), into, depth + 1, keep);
    return;
  }
  const kind = object.kind;
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  if (kind === 'StatefulSet' && apiVersion.startsWith('apps/')) {
    collectStatefulSet(object, into, documentKeep);
  } else if (kind === 'PersistentVolumeClaim' && apiVersion === 'v1') {
    const metadata = fieldsAt(object, 'metadata');
    const name = nonEmptyString(metadata.name);
    if (name === undefined) return;
    into.persistentVolumeClaims.push({
      namespace: nonEmptyString(metadata.namespace) ?? into.releaseNamespace,
      name,
      keep: documentKeep ?? leftByUninstall(metadata),
      source: into.source,
    });
  } else if (kind === 'Namespace' && apiVersion === 'v1') {
    const metadata = fieldsAt(object, 'metadata');
    const name = nonEmptyString(metadata.name);
    if (name !== undefined) into.namespaces.push({ name, keep: documentKeep ?? leftByUninstall(metadata) });
  } else if ((kind === 'DaemonSet' || kind === 'Deployment') && apiVersion.startsWith('apps/')) {
    const metadata = fieldsAt(object, 'metadata');
    if (metadata.name !== LONGHORN_MANAGER_NAME) return;
    into.longhornManagers.push({ kind, namespace: nonEmptyString(metadata.namespace) ?? into.releaseNamespace, source: into.source });
  }
}

const SPACE = 0x20;
const HASH = 0x23;
const NEWLINE = 0x0a;

/** A block indicator (`-`, `?`, `:`) followed by a space or the end of the line opens one more level. */
function isIndicatorAt(text: string, index: number, end: number): boolean {
  const code = text.charCodeAt(index);
  if (code !== 0x2d && code !== 0x3f && code !== 0x3a) return false;
  const next = index + 1 < end ? text.charCodeAt(index + 1) : SPACE;
  return next === SPACE || next === 0x09 || next === 0x0d;
}

/**
 * A cheap, conservative check that a document nests deeper than `limit`, run before the yaml parser, whose time
 * grows steeply with depth (a deeply nested document of a few hundred KB takes seconds). Block depth is the stack
 * of increasing indentations plus compact indicators opening a line (`- - - x`); flow depth counts every bracket,
 * even inside strings, so it can only overestimate.
 */
export function nestingExceeds(text: string, limit: number): boolean {
  const indents: number[] = [];
  let flow = 0;
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    let position = lineStart;
    while (position < lineEnd && text.charCodeAt(position) === SPACE) position += 1;
    const indent = position - lineStart;
    const first = position < lineEnd ? text.charCodeAt(position) : NEWLINE;
    if (first !== HASH && first !== NEWLINE && first !== 0x0d) {
      while (indents.length > 0 && (indents.at(-1) ?? 0) > indent) indents.pop();
      if (indents.length === 0 || (indents.at(-1) ?? 0) < indent) indents.push(indent);
      let inline = 0;
      while (position < lineEnd && isIndicatorAt(text, position, lineEnd)) {
        inline += 1;
        position += 1;
        while (position < lineEnd && text.charCodeAt(position) === SPACE) position += 1;
      }
      if (indents.length + inline > limit) return true;
      for (; position < lineEnd; position += 1) {
        const code = text.charCodeAt(position);
        if (code === 0x5b || code === 0x7b) {
          flow += 1;
          if (flow > limit) return true;
        } else if ((code === 0x5d || code === 0x7d) && flow > 0) {
          flow -= 1;
        }
      }
    }
    lineStart = lineEnd + 1;
  }
  return false;
}

function describe(document: ManifestDocument, index: number): string {
  return document.source ? `manifest document ${document.source}` : `manifest document #${index + 1}`;
}

/**
 * How go-yaml v2 (sigs.k8s.io/yaml's reader, Helm's and kubectl's) reads a plain scalar starting with a digit or a
 * sign as a number: underscores dropped anywhere, then Go's integer syntax with its base prefixes (`0x`, `0o`, `0b`,
 * and a leading `0` for octal: `010` is 8), then its float syntax (`1e3`, `3.`). Undefined: a string to Go
 * (`1_a`, `0x`). The YAML 1.2 core schema reads `010` as 10 and `0b1`, `1_` as strings: a chart's
 * `replicas: 0b1` scaled a StatefulSet down while volume-guard read the count as undeclared.
 */
export function goYamlNumber(text: string): number | undefined {
  const first = text.charCodeAt(0);
  if (!((first >= 0x30 && first <= 0x39) || first === 0x2b || first === 0x2d)) return undefined;
  const plain = text.includes('_') ? text.replaceAll('_', '') : text;
  const integer = goParseInt(plain);
  if (integer !== undefined) return integer;
  if (GO_YAML_FLOAT.test(plain)) {
    const float = Number(plain);
    return Number.isFinite(float) ? float : undefined;
  }
  if (plain.startsWith('0b')) return goParseDigits(plain.slice(2), 2, true);
  if (plain.startsWith('-0b')) {
    const magnitude = goParseDigits(plain.slice(3), 2, true);
    return magnitude === undefined ? undefined : -magnitude;
  }
  return undefined;
}

/** go-yaml v2's float syntax (v2.4 resolve.go yamlStyleFloat: `1e3`, `3.`, `.5`). */
const GO_YAML_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** strconv.ParseInt(text, 0, 64), as a JavaScript number (undefined past the 64-bit range or malformed). */
function goParseInt(text: string): number | undefined {
  let sign = 1;
  let digits = text;
  if (digits.startsWith('+') || digits.startsWith('-')) {
    if (digits.startsWith('-')) sign = -1;
    digits = digits.slice(1);
  }
  if (digits === '') return undefined;
  let base = 10;
  if (digits.length > 1 && digits.startsWith('0')) {
    const prefix = digits.charAt(1).toLowerCase();
    if (digits.length >= 3 && (prefix === 'x' || prefix === 'o' || prefix === 'b')) {
      base = prefix === 'x' ? 16 : prefix === 'o' ? 8 : 2;
      digits = digits.slice(2);
    } else {
      base = 8;
      digits = digits.slice(1);
    }
  }
  const magnitude = goParseDigits(digits, base, false);
  return magnitude === undefined ? undefined : sign * magnitude;
}

const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Digits of a base, none other; `signed`: a leading sign allowed (strconv.ParseInt with an explicit base). */
function goParseDigits(text: string, base: number, signed: boolean): number | undefined {
  let digits = text;
  let sign = 1;
  if (signed && (digits.startsWith('+') || digits.startsWith('-'))) {
    if (digits.startsWith('-')) sign = -1;
    digits = digits.slice(1);
  }
  if (digits === '') return undefined;
  let value = 0n;
  const big = BigInt(base);
  for (const char of digits.toLowerCase()) {
    const digit = DIGITS.indexOf(char);
    if (digit < 0 || digit >= base) return undefined;
    value = value * big + BigInt(digit);
    if (value > INT64_MAX + 1n) return undefined;
  }
  if (value > INT64_MAX + (sign < 0 ? 1n : 0n)) return undefined;
  return sign * Number(value);
}

const INT64_MAX = 2n ** 63n - 1n;

/** A RegExp in shape, as the yaml package asks a tag's `test` for one; answers with goYamlNumber. */
class GoNumberTest extends RegExp {
  constructor() {
    super('^[-+0-9]');
  }

  override test(text: string): boolean {
    return goYamlNumber(text) !== undefined;
  }
}

/** A float starting with a dot (`.5`: Go's ParseFloat), or any number goYamlNumber reads (an explicit `!!float 3`). */
const DOT_FLOAT_SYNTAX = /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/;
class GoFloatTest extends RegExp {
  constructor() {
    super('^[-+.0-9]');
  }

  override test(text: string): boolean {
    return DOT_FLOAT_SYNTAX.test(text) || goYamlNumber(text) !== undefined;
  }
}

function goYamlFloat(text: string): number | undefined {
  return DOT_FLOAT_SYNTAX.test(text) ? Number(text) : goYamlNumber(text);
}

const YAML_INT_TAG = 'tag:yaml.org,2002:int';
const YAML_FLOAT_TAG = 'tag:yaml.org,2002:float';

/**
 * The core schema's scalars with numbers read as go-yaml v2 reads them: its integer and float tags give way to
 * goYamlNumber for text starting with a digit or a sign, and to a float starting with a dot (`.5`); `.inf` and
 * `.nan` stay. Booleans stay YAML 1.2's: the fields read here are names, kinds and counts.
 */
function goYamlScalars(tags: Tags): Tags {
  const kept = tags.filter((tag) => {
    if (typeof tag === 'string' || tag.collection !== undefined) return true;
    if (tag.tag === YAML_INT_TAG) return false;
    return !(tag.tag === YAML_FLOAT_TAG && tag.test?.test('.nan') !== true);
  });
  return [...kept, GO_NUMBER, DOT_FLOAT];
}

const isNumber = (value: unknown): boolean => typeof value === 'number';
const GO_NUMBER: ScalarTag = { identify: isNumber, default: true, tag: YAML_INT_TAG, test: new GoNumberTest(), resolve: (text) => goYamlNumber(text) };
const DOT_FLOAT: ScalarTag = { identify: isNumber, default: true, tag: YAML_FLOAT_TAG, test: new GoFloatTest(), resolve: (text) => goYamlFloat(text) };

const PARSE_OPTIONS = {
  // YAML 1.2 core schema with go-yaml v2's numbers (goYamlScalars); duplicate keys allowed, as the Kubernetes YAML
  // decoder allows them. Merge keys stay plain `<<` keys here and are applied by goYamlValue, the way that decoder
  // applies them.
  customTags: goYamlScalars,
  merge: false,
  uniqueKeys: false,
  prettyErrors: false,
  logLevel: 'silent',
} as const;

/** Sets a key as an own property (a `__proto__` key included), as a JSON object would hold it. */
function setKey(into: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The value of a `<<` key merged into `into`: a map, or a list of maps of which the first takes precedence. */
function mergeInto(into: Record<string, unknown>, source: unknown): void {
  const sources = Array.isArray(source) ? [...source].reverse() : [source];
  for (const item of sources) {
    const merged = goYamlValue(item);
    if (isObject(merged)) for (const [key, value] of Object.entries(merged)) setKey(into, key, value);
  }
}

/**
 * A value as sigs.k8s.io/yaml (go-yaml v2, what the Kubernetes client and Helm decode manifests with) reads it from
 * the parser's maps: keys in document order, each `<<` merge key applied where it stands, overwriting the keys before
 * it (go-yaml v2's mapping/merge), where the YAML merge spec would keep explicit keys.
 */
function goYamlValue(value: unknown): unknown {
  if (value instanceof Map) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of value) {
      if (key === '<<') mergeInto(result, item);
      else setKey(result, String(key), goYamlValue(item));
    }
    return result;
  }
  return Array.isArray(value) ? value.map(goYamlValue) : value;
}

/** Parses one piece of text: its documents as plain values; throws what the yaml package throws. */
function yamlValues(text: string, describeIt: () => string, maxAliasCount: number): unknown[] {
  const parsed = parseAllDocuments(text, PARSE_OPTIONS);
  const values: unknown[] = [];
  for (const doc of Array.isArray(parsed) ? parsed : []) {
    if (doc.errors.length > 0) throw new ManifestError('invalid-yaml', `${describeIt()} is not valid YAML`);
    values.push(goYamlValue(doc.toJS({ maxAliasCount, mapAsMap: true })));
  }
  return values;
}

// The pod template is most of a StatefulSet's text and none of what volume-guard reads, and the yaml parser's
// time is proportional to what it reads. So a document with exactly one line `<indent>template:` gets the lines
// after it that are indented deeper (and the comments and blank lines among them) replaced by a marker value, and
// the result is used only if the marker came back as the `template` key of a block mapping `spec` under a block
// root. Why that is sound: the text before the key line is unchanged, so the parser reaches the line in the same
// state as in the original, where it is therefore also a key of spec's block mapping, whose value is exactly the
// deeper-indented lines that follow. Anything else (the line sits in a scalar or a flow collection, an anchor in
// the value is used later, a parse error) fails the check, and the whole document is parsed instead.
const TEMPLATE_KEY_LINE = /^( +)template:[ \t]*(?:#[^\n]*)?$/gm;
const PRUNED_MARKER = 'volume-guard.io/pruned-pod-template';

/** The document with its single `template:` block value replaced by the marker; undefined when not applicable. */
export function prunePodTemplate(text: string): string | undefined {
  if (text.includes(PRUNED_MARKER)) return undefined;
  const matches = [...text.matchAll(TEMPLATE_KEY_LINE)];
  const match = matches.length === 1 ? matches[0] : undefined;
  if (match === undefined) return undefined;
  const keyIndent = match[1]?.length ?? 0;
  const valueStart = match.index + match[0].length + 1;
  let cut = valueStart;
  let position = valueStart;
  while (position < text.length) {
    let lineEnd = text.indexOf('\n', position);
    if (lineEnd === -1) lineEnd = text.length;
    let content = position;
    while (content < lineEnd && text.charCodeAt(content) === SPACE) content += 1;
    const first = content < lineEnd ? text.charCodeAt(content) : NEWLINE;
    const blankOrComment = first === NEWLINE || first === 0x0d || first === HASH;
    if (!blankOrComment && content - position <= keyIndent) break;
    position = lineEnd + 1;
    if (!blankOrComment) cut = Math.min(position, text.length);
  }
  if (cut === valueStart) return undefined; // nothing deeper: an empty value or a same-indent sequence
  return `${text.slice(0, match.index)}${' '.repeat(keyIndent)}template: "${PRUNED_MARKER}"\n${text.slice(cut)}`;
}

/** The pruned document's values, or undefined when the marker is not where the soundness argument needs it. */
function parsePruned(pruned: string, maxAliasCount: number): unknown[] | undefined {
  const parsed = parseAllDocuments(pruned, PARSE_OPTIONS);
  const doc = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : undefined;
  if (doc === undefined || doc.errors.length > 0 || !isMap(doc.contents) || doc.contents.flow) return undefined;
  const spec = doc.contents.get('spec', true);
  if (!isMap(spec) || spec.flow || spec.get('template') !== PRUNED_MARKER) return undefined;
  return [goYamlValue(doc.toJS({ maxAliasCount, mapAsMap: true }))];
}

function parseDocument(document: ManifestDocument, index: number, maxAliasCount: number): unknown[] {
  const describeIt = (): string => describe(document, index);
  try {
    const pruned = prunePodTemplate(document.text);
    if (pruned !== undefined) {
      try {
        const values = parsePruned(pruned, maxAliasCount);
        if (values !== undefined) return values;
      } catch {
        // fall through to the whole document, which reports its own errors
      }
    }
    return yamlValues(document.text, describeIt, maxAliasCount);
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ManifestError('yaml-bomb', `${describeIt()} expands too many YAML aliases`);
    }
    // A stack overflow on absurd nesting lands here too.
    throw new ManifestError('invalid-yaml', `${describeIt()} is not valid YAML`);
  }
}

/**
 * Extracts the StatefulSets, PVCs, Namespaces and longhorn-manager workloads a release manifest declares. Objects without a
 * namespace belong to the release's namespace, as Helm installs them there. Throws ManifestError when a document
 * that may declare one cannot be read safely; documents that cannot are never parsed.
 */
export function parseManifest(manifest: string, releaseNamespace: string, limits: ManifestLimits = {}): ParsedManifest {
  const maxAliasCount = limits.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT;
  const maxDocumentBytes = limits.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const maxParsedBytes = limits.maxParsedBytes ?? DEFAULT_MAX_PARSED_BYTES;
  const maxNestingDepth = limits.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH;
  const statefulSets: ManifestStatefulSet[] = [];
  const persistentVolumeClaims: ManifestPersistentVolumeClaim[] = [];
  const namespaces: ManifestNamespace[] = [];
  const longhornManagers: ManifestLonghornManager[] = [];
  const documents = splitManifest(manifest);
  let parsedDocuments = 0;
  let parsedBytes = 0;
  documents.forEach((document, index) => {
    if (!mayDeclareRead(document.text)) return;
    // String length counts UTF-16 units; close enough to bytes for a budget, and cheap.
    if (document.text.length > maxDocumentBytes) {
      throw new ManifestError('document-too-large', `${describe(document, index)} is larger than ${formatBytes(maxDocumentBytes)}`);
    }
    parsedBytes += document.text.length;
    if (parsedBytes > maxParsedBytes) {
      throw new ManifestError('manifest-too-large', `manifest declares more than ${formatBytes(maxParsedBytes)} of workload YAML`);
    }
    if (nestingExceeds(document.text, maxNestingDepth)) {
      throw new ManifestError('yaml-bomb', `${describe(document, index)} nests deeper than ${maxNestingDepth} levels`);
    }
    parsedDocuments += 1;
    const into: Collector = { statefulSets, persistentVolumeClaims, namespaces, longhornManagers, releaseNamespace, source: document.source };
    for (const value of parseDocument(document, index, maxAliasCount)) collect(value, into, 0);
  });
  return {
    statefulSets,
    persistentVolumeClaims,
    ...(namespaces.length > 0 ? { namespaces } : {}),
    longhornManagers,
    documents: documents.length,
    parsedDocuments,
  };
}

/**
 * The PVCs among a release's hooks, each with its events and delete policies. Only hooks whose text could hold a
 * PVC are parsed, under the same limits as the manifest (their total size counted against maxParsedBytes). A hook's
 * PVC without a namespace is in the release's namespace, as Helm builds hooks there.
 */
export function parseHookClaims(hooks: readonly HelmHook[], releaseNamespace: string, limits: ManifestLimits = {}): HookPersistentVolumeClaim[] {
  const claims: HookPersistentVolumeClaim[] = [];
  const maxParsedBytes = limits.maxParsedBytes ?? DEFAULT_MAX_PARSED_BYTES;
  let parsedBytes = 0;
  for (const hook of hooks) {
    if (!mayDeclareStorage(hook.manifest)) continue;
    parsedBytes += hook.manifest.length;
    if (parsedBytes > maxParsedBytes) {
      throw new ManifestError('manifest-too-large', `hooks declare more than ${formatBytes(maxParsedBytes)} of workload YAML`);
    }
    const parsed = parseManifest(hook.manifest, releaseNamespace, limits);
    for (const claim of parsed.persistentVolumeClaims) {
      claims.push({ namespace: claim.namespace, name: claim.name, events: hook.events, deletePolicies: hook.deletePolicies, source: claim.source || hook.name });
    }
  }
  return claims;
}
