import type { Logger } from 'pino';
import type { AdmittedRemoval } from '../cluster/pending-removals.ts';
import type { ClusterSnapshot, ModelHealth } from '../cluster/snapshot.ts';
import type { Config } from '../config.ts';
import type { StringPaths } from '../json-bytes.ts';
import type { AdmissionRequest, Decision, WebhookDeclaration } from './types.ts';

/** Everything a validator may read while deciding one request. */
export interface ValidationContext {
  readonly snapshot: ClusterSnapshot;
  readonly health: ModelHealth;
  readonly config: Config;
  /** Epoch milliseconds, taken once per request. */
  readonly now: number;
  /** Bound to this request (uid, target); never log object bodies. */
  readonly log: Logger;
  /**
   * Record that an override skipped `check` for this request. Counted once per request and check in
   * volume_guard_overrides_total, together with any id listed in Decision.overrides (no double counting).
   */
  onOverride(check: string): void;
  /**
   * Say what this request removes (a replica, a node, a Machine's node) should it go through: the server records it
   * when the final answer allows it and the request is no dry run, so that the next requests count it as removed
   * before the informers show it (pending-removals.ts).
   */
  removing(removal: AdmittedRemoval): void;
  /**
   * Say that this request is a cordon of `node`: the server records it when the final answer refuses it
   * (RemovalRecorder.refuseCordon; a dry run apart), as kubectl drain goes on with the pods all the same, and a dry run
   * it allows (RemovalRecorder.allowDryRunCordon), whose preview goes on as on the node cordoned.
   */
  cordoning(node: string): void;
}

/**
 * One webhook endpoint: its declaration (rules for the chart) and a synchronous decision function.
 * handle() must not throw for ordinary input; if it does (or handleAsync rejects), the request is answered HTTP 500,
 * which the API server treats as a failed call: the webhook's failurePolicy decides (src/server/app.ts).
 */
export interface Validator {
  readonly declaration: WebhookDeclaration;
  handle(request: AdmissionRequest, context: ValidationContext): Decision;
  /**
   * When present, the server awaits this instead of handle(): for validators that do costly work off the event loop
   * (reading Helm release manifests in worker threads). It answers what handle() answers.
   */
  handleAsync?(request: AdmissionRequest, context: ValidationContext): Promise<Decision>;
  /**
   * String values of the AdmissionReview that the decoder sets aside instead of making strings on the event loop
   * (AdmissionRequest.elided): a Helm release record, read in a worker thread.
   */
  readonly elide?: StringPaths;
  /** Releases what the validator holds (worker threads) at shutdown. */
  close?(): Promise<void>;
}

/** Builds a validator from the configuration, so its declaration can follow the config (e.g. guarded kinds). */
export type ValidatorFactory = (config: Config) => Validator;
