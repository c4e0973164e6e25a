// What the benchmark's server child and its parent say to each other over the IPC channel.

import { LARGE_CLUSTER, SMALL_CLUSTER, type SyntheticClusterOptions } from '../../support/fixtures.ts';
import type { BenchTarget } from './cases.ts';
import type { LatencySummary } from './stats.ts';
import type { KindEventCost } from './events.ts';

export const CLUSTER_SIZES = {
  /** For the smoke test: every case has its object, in milliseconds. */
  tiny: { nodes: 6, volumes: 30, replicasPerVolume: 3, pvs: 60, pods: 30, statefulSets: 10, riskFraction: 0.2 },
  small: SMALL_CLUSTER,
  large: LARGE_CLUSTER,
  /**
   * Kubernetes' published scalability limits (5,000 nodes, 150,000 pods); storage in proportion to the pods, 7.5×
   * the large cluster's pods: every pod mounts a claim (150,000 PVs and PVCs), 60,000 Longhorn volumes (3× large,
   * 180,000 replicas; the rest of the PVs are other drivers), 15,000 Helm StatefulSets.
   */
  xl: { nodes: 5_000, volumes: 60_000, replicasPerVolume: 3, pvs: 150_000, pods: 150_000, statefulSets: 15_000, riskFraction: 0.02 },
} as const satisfies Record<string, SyntheticClusterOptions>;

export type ClusterSize = keyof typeof CLUSTER_SIZES;

export function isClusterSize(value: string): value is ClusterSize {
  return Object.hasOwn(CLUSTER_SIZES, value);
}

export interface ChildOptions {
  /** floor: the minimal correct webhook (ratios are taken against it); parse-nothing-floor, fastify-floor: references. */
  readonly mode: 'guard' | 'floor' | 'parse-nothing-floor' | 'fastify-floor';
  /** guard only */
  readonly size?: ClusterSize;
  readonly certFile: string;
  readonly keyFile: string;
  /**
   * guard only: the client CA file (admission.tls.clientCaFile): callers must present a certificate of it, checked at
   * the handshake and on each request. Absent: no client authentication (the chart's default).
   */
  readonly clientCaFile?: string;
  /** guard only: where the admission log lines go (written synchronously, as on stdout in production). */
  readonly logFile?: string;
  /**
   * guard only, without logFile: the log lines go to stdout, a pipe the benchmark reads (lib/admission-log.ts), so
   * no page cache of theirs is charged to the child's memory cgroup. Neither: /dev/null.
   */
  readonly logToParent?: boolean;
  readonly logLevel?: string;
  /** guard only: only cases whose id starts with one of these (all when empty or absent). */
  readonly caseFilter?: readonly string[];
  /** guard only: in-process timing of each case; absent = skip. */
  readonly inProcess?: { readonly maxIterations: number; readonly budgetMs: number };
  /**
   * guard only: leave V8's defaults as they are instead of applying what `volume-guard serve` applies
   * (src/server/v8-flags.ts), to measure that setting against V8's own (test/bench/variants.ts).
   */
  readonly v8Defaults?: boolean;
  /**
   * guard only: build the model, then serve the minimal correct floor instead of volume-guard: the floor in a process
   * holding the model's heap, which separates what the heap costs each request (collections) from the judging.
   */
  readonly floorWithModel?: boolean;
}

export interface MemoryFigures {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  /** The process's peak RSS so far (/proc's VmHWM: getrusage's maxrss includes the forking parent's). */
  readonly maxRssBytes: number;
  /** The peak of the memory cgroup the child ran in (RSS and page cache: what a pod's limit is enforced on), when it ran under one. */
  readonly cgroupPeakBytes?: number;
  /** V8's heap limit, which Node sizes from the memory limit the process runs under (the machine's memory without one). */
  readonly heapLimitBytes: number;
}

export interface InProcessFigures {
  readonly iterations: number;
  /** decode (JSON.parse + schema) + validator.handle() + encode (JSON.stringify), wall clock per request. */
  readonly total: LatencySummary;
  /** validator.handle() alone. */
  readonly handle: LatencySummary;
  /**
   * Process CPU time per request (µs resolution, includes the cpuUsage call itself, ~1 µs): the request's cost
   * without the waits a busy machine's scheduler adds to wall-clock figures.
   */
  readonly cpu: LatencySummary;
  /** Process CPU time per request, averaged over the loop: what the request costs whatever else runs. */
  readonly cpuMicrosPerRequest: number;
  /**
   * The garbage collections that ran during the loop (V8's own account): scavenges are brief pauses, but a request
   * that meets one takes that much longer, so how often they come (per 100 requests, from the bytes each request
   * allocates) decides whether the p99 includes them. `totalWithoutGc`: the wall times of the requests no
   * collection ran in.
   */
  readonly gc?: {
    readonly scavenges: number;
    readonly markCompacts: number;
    readonly pauseMs: number;
    readonly perHundredRequests: number;
    readonly totalWithoutGc: LatencySummary;
    /** One semi-space's size during the loop: V8 grows it up to --max-semi-space-size as objects survive. */
    readonly semiSpaceBytes?: number;
    /**
     * Bytes each scavenge copied, on average (survivors kept young plus those promoted): a scavenge's pause grows
     * with it. Deterministic where the pauses depend on the machine's load.
     */
    readonly scavengeSurvivedBytes?: number;
    /**
     * Growth of the old generation per request over the loop (none of it live after it: what was allocated there
     * or promoted, garbage for a later mark-compact), when no mark-compact ran in the loop. Deterministic, unlike
     * the pauses: what a request leaves past the young generation.
     */
    readonly oldGenerationBytesPerRequest?: number;
  };
}

export interface CaseResult {
  readonly id: string;
  readonly target: BenchTarget;
  readonly intent: 'allow' | 'deny';
  readonly description: string;
  readonly bodyBytes: number;
  /** For cordons: the objects on the node the checks walk (they cost O(objects involved)). */
  readonly involved?: { readonly replicasOnNode: number; readonly pinnedPersistentVolumes: number };
  /** What volume-guard answered. */
  readonly decision: 'allowed' | 'denied' | 'errored';
  /** First 200 characters of the denial message or warnings, to see what was decided. */
  readonly message: string;
  readonly inProcess?: InProcessFigures;
}

export type ChildMessage =
  | {
      readonly type: 'ready';
      readonly port: number;
      readonly opsPort?: number;
      readonly pid: number;
      readonly build?: {
        readonly totalMs: number;
        /** replaceAll through the risk tracker's sink, per kind, summed: the informers' first lists. */
        readonly modelInsertMs: number;
        /** The risk tracker's first flush after those lists (evaluating every node and namespace they marked). */
        readonly firstFlushMs: number;
        readonly counts: Readonly<Record<string, number>>;
        /** Heap retained by the filled model: heap used after full GCs, after the build minus before it. */
        readonly modelHeapBytes: number;
        /** The first list of each kind into the model (what each informer's initial list costs), per object. */
        readonly insertByKind: readonly KindInsert[];
      };
      readonly memoryAfterBuild?: MemoryFigures;
      /** The registry's targets: helm-release cases exist only when it is served. */
      readonly servedTargets?: readonly string[];
      readonly cases?: readonly (CaseResult & { readonly body: string })[];
      /** guard: the V8 flags it set at start as `volume-guard serve` does (src/server/v8-flags.ts); none with v8Defaults. */
      readonly v8Flags?: readonly string[];
    }
  | { readonly type: 'memory'; readonly memory: MemoryFigures }
  | { readonly type: 'kindBytes'; readonly kinds: readonly KindBytes[] }
  | { readonly type: 'eventCost'; readonly kinds: readonly KindEventCost[] }
  | { readonly type: 'cpu'; readonly micros: number }
  | { readonly type: 'collections'; readonly scavenges: number; readonly markCompacts: number; readonly pauseMs: number }
  | { readonly type: 'error'; readonly message: string };

export type ParentMessage =
  | { readonly type: 'memory' }
  | { readonly type: 'cpu' }
  | { readonly type: 'collections' }
  | { readonly type: 'kindBytes' }
  | { readonly type: 'eventCost'; readonly perKind: number }
  | { readonly type: 'stop' };

/** The garbage collections a server ran, counted from its start (V8's account, as the in-process figures). */
export interface CollectionCount {
  readonly scavenges: number;
  readonly markCompacts: number;
  readonly pauseMs: number;
}

export interface KindInsert {
  readonly kind: string;
  readonly count: number;
  readonly ms: number;
  readonly microsPerObject: number;
}

/**
 * Heap the model holds per kind: heap used (after full GCs) before minus after removing every object of the kind
 * (its records, store entries, index buckets and volume-set entries), kinds removed one after another
 * through the risk tracker's sink (what it held for them goes too).
 */
export interface KindBytes {
  readonly kind: string;
  readonly count: number;
  /** null: not measurable (the heap read no lower after the kind was removed: other garbage went meanwhile). */
  readonly bytes: number | null;
  readonly bytesPerObject: number | null;
}
