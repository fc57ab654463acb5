// Types of vendor-mock (index.js).

/** `vendor-mock serve` options, camelCase (see `vendor-mock serve --help`). */
export interface MockOptions {
  /** Deterministic ids and timestamps. */
  seed?: number;
  /** Contract revisions: `'agencyhandy=2026-07'`, a list of them, or `{ agencyhandy: '2026-07' }`. */
  revision?: string | string[] | Record<string, string>;
  /** `'strict'` (default: case-exact header names where a vendor requires them) or `'lenient'`. */
  headerCase?: 'strict' | 'lenient';
  /** A folder of spec files instead of the embedded ones. */
  specs?: string;
  /** A YAML file of accepted credentials. */
  credentials?: string;
  /** A YAML or JSON file of records to create at start. */
  seedData?: string;
  bodyLimit?: number;
  clientTimeout?: number;
  idleTimeout?: number;
  workers?: number;
  journalSize?: number;
  /** Keep credentials and passwords readable in the journal. */
  journalSecrets?: boolean;
  /** Enforce the specs' rate limits. */
  rateLimits?: boolean;
  /** Require `Authorization: Bearer <token>` on /__admin (sent by this package's calls). */
  adminToken?: string;
  /** The program (default: findBinary('vendor-mock')). */
  binary?: string;
  /** Extra environment variables for the mock. */
  env?: Record<string, string>;
  /** How long to wait for the mock to answer (default 10,000). */
  startTimeoutMs?: number;
  /** Any other `serve` flag, camelCase. */
  [flag: string]: unknown;
}

/** A fault's effect, as the admin API's JSON. */
export type Effect =
  | { type: 'latency'; ms: number; jitter_ms?: number }
  | { type: 'status'; status: number }
  | { type: 'rate_limited'; retry_after?: number }
  | { type: 'reset' | 'empty' | 'truncated' | 'malformed' };

export interface InjectOptions {
  /** Only this vendor's requests (default: every vendor). */
  vendor?: string;
  /** Fire for the next N matching requests, then disappear (default: until reset). */
  times?: number;
  /** Only requests carrying this credential value. */
  credential?: string;
  /** Only this route path. */
  path?: string;
  /** Fire with this probability. */
  probability?: number;
}

export interface JournalFilters {
  credential?: string;
  /** `409` or a class, `'4xx'`. */
  status?: number | string;
  /** `created`, `duplicate`, `invalid`, `unrouted`, `fault`, … */
  outcome?: string;
  /** A `seq` (the entries after it) or an RFC 3339 time. */
  since?: number | string;
  /** The newest N. */
  limit?: number;
}

/** One journalled request and its answer (the admin API's `Entry`). */
export interface JournalEntry {
  seq: number;
  at: string;
  vendor: string | null;
  operation: string | null;
  method: string;
  path: string;
  query: string | null;
  version: string;
  /** `[name, value]` pairs in wire order, names as sent when `header_case` is `raw`. */
  headers: Array<[string, string]>;
  header_case: 'raw' | 'lowercase' | 'unavailable';
  /** The body as text (secrets masked). */
  body: string;
  status: number;
  response: unknown;
  outcome: { kind: string; [key: string]: unknown };
  duration_us: number;
}

export interface Fault {
  id: number;
  effect: Effect;
  vendor?: string;
  credential?: string;
  path?: string;
  times?: number;
  probability?: number;
}

export interface Mock {
  /** `http://127.0.0.1:PORT`: the vendors' documented paths go after it. */
  readonly url: string;
  /** The mock's last lines of output. */
  readonly output: string[];
  /** The journal, oldest first (of one vendor, or all). */
  journal(vendor?: string, filters?: JournalFilters): Promise<JournalEntry[]>;
  /** The records that exist for a vendor (of one collection, or all), in creation order. */
  records(vendor: string, collection?: string): Promise<Array<Record<string, unknown>>>;
  /** Forget records, journal entries, faults and rate-limit counters (of every vendor, of one, or of one credential). */
  reset(vendor?: string, credential?: string): Promise<void>;
  /** Add a fault; resolves its id. */
  inject(effect: Effect, options?: InjectOptions): Promise<number>;
  /** The active faults. */
  faults(): Promise<Fault[]>;
  /** Create records through the uniqueness index (all or nothing); resolves them as stored. */
  seedRecords(
    vendor: string,
    records: Array<Record<string, unknown>>,
    credentials?: Record<string, string>,
  ): Promise<Array<Record<string, unknown>>>;
  /** Stop the mock (SIGTERM, SIGKILL after 5 s); safe to call twice. */
  stop(): Promise<void>;
}

/** Start the mock on 127.0.0.1 and a free port; resolves once it answers. */
export function startMock(options?: MockOptions): Promise<Mock>;

/**
 * The path of `vendor-mock` or `vendor-conformance`: `$VENDOR_MOCK_BIN` / `$VENDOR_CONFORMANCE_BIN`,
 * then PATH, then the workspace's `target/{debug,release}` (or `$CARGO_TARGET_DIR`). Throws when none is found.
 */
export function findBinary(name?: 'vendor-mock' | 'vendor-conformance', env?: Record<string, string | undefined>): string;

/** `serve` flags for options: `{ seed: 7, headerCase: 'lenient' }` → `['--seed', '7', '--header-case', 'lenient']`. */
export function serveFlags(options: Record<string, unknown>): string[];
