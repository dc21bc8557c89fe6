import { readStackFile } from './local-env';
import { DEFAULT_PORTS, SERVICES, readinessUrl, type ServiceName, type StackPorts } from './stack';

/** One line of `omniaffect status` without an id. */
export interface ServiceStatus {
  service: ServiceName;
  /** ready: /readyz said so; not-ready: it answered, but not ready; down: nothing (of ours) answered */
  state: 'ready' | 'not-ready' | 'down';
  readyUrl: string;
  metricsUrl: string;
  /** the HTTP status, or the connection error, when not ready */
  detail: string | null;
  /** which readiness checks fail, as the service's /readyz reports them (names only, never why) */
  failing: string[];
}

export function metricsUrl(name: ServiceName, ports: StackPorts): string {
  // Every service serves /metrics beside /readyz: the gateway on its HTTP port, the rest on their ops port.
  return readinessUrl(name, ports).replace(/\/readyz$/, '/metrics');
}

/** The failing check names in a readiness document ({checks: {x: 'failing'}} or nested {x: {ok: false}}). */
function failingChecks(doc: unknown): string[] {
  if (!doc || typeof doc !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (k === 'status') continue;
    if (v === 'failing' || v === false || (v && typeof v === 'object' && (v as { ok?: unknown }).ok === false)) out.push(k);
    else if (v && typeof v === 'object') out.push(...failingChecks(v).map((c) => `${k}.${c}`));
  }
  return out;
}

export async function serviceStatus(name: ServiceName, ports: StackPorts, timeoutMs = 2000): Promise<ServiceStatus> {
  const readyUrl = readinessUrl(name, ports);
  const base = { service: name, readyUrl, metricsUrl: metricsUrl(name, ports) };
  let res: Response;
  try {
    res = await fetch(readyUrl, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { ...base, state: 'down', detail: e.cause?.code ?? e.message, failing: [] };
  }
  const text = await res.text();
  let doc: unknown = null;
  try {
    doc = JSON.parse(text);
  } catch {
    /* not a readiness document: not one of ours */
  }
  const status = (doc as { status?: unknown } | null)?.status;
  // Same rule as waitReady(): only our own readiness document counts as ready.
  if (res.ok && status === 'ready') return { ...base, state: 'ready', detail: null, failing: [] };
  if (status === 'ready' || status === 'not-ready') return { ...base, state: 'not-ready', detail: `HTTP ${res.status}`, failing: failingChecks(doc) };
  return { ...base, state: 'down', detail: `HTTP ${res.status} from something that is not an OmniAffect service`, failing: [] };
}

/** Every local service, asked in parallel (a down service costs one connection refusal, not a timeout each in turn). */
export function stackStatus(ports: StackPorts, timeoutMs = 2000): Promise<ServiceStatus[]> {
  return Promise.all(SERVICES.map((s) => serviceStatus(s, ports, timeoutMs)));
}

export function formatStatusTable(rows: ServiceStatus[]): string {
  const cells = rows.map((r) => [r.service, r.state + (r.detail ? ` (${[r.detail, ...r.failing].join(', ')})` : ''), r.metricsUrl]);
  const all = [['SERVICE', 'READINESS', 'METRICS'], ...cells];
  const widths = [0, 1].map((i) => Math.max(...all.map((c) => c[i].length)));
  return all.map((c) => `${c[0].padEnd(widths[0])}  ${c[1].padEnd(widths[1])}  ${c[2]}`).join('\n');
}

/**
 * `omniaffect status` with no id: the ports of the running local stack (its stack.json, written by
 * `up`), else the default ports. Exit status 1 unless every service is ready, so scripts can wait on it.
 */
export async function statusAll(o: { json?: boolean } = {}, ports: StackPorts = readStackFile()?.ports ?? DEFAULT_PORTS): Promise<ServiceStatus[]> {
  const rows = await stackStatus(ports);
  console.log(o.json ? JSON.stringify(rows) : formatStatusTable(rows));
  if (rows.some((r) => r.state !== 'ready')) process.exitCode = 1;
  return rows;
}
