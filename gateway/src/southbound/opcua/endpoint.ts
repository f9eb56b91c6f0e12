import {
  AttributeIds,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  makeBrowsePath,
  readOperationLimits,
  resolveNodeId,
  TimestampsToReturn,
  VariantArrayType,
  type ClientMonitoredItemBase,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type NodeId,
  type OPCUAClient,
  type StatusCode,
} from 'node-opcua-client';
import type { Logger } from 'pino';
import type { RawUplink, RejectReason } from '../../model/readings.js';
import { backoffDelay } from '../../util/backoff.js';
import { createClient, describeEndpoint, getEndpoints, userIdentity } from './client.js';
import type { OpcuaEndpointConfig } from './config.js';
import { describeFailure, type Failure } from './errors.js';
import { hostPort, tcpOpen } from './probe.js';
import { byPublishingInterval, describeTarget, withNamespaceIndex, type EndpointPlan, type ItemPlan } from './plan.js';
import { ChangeBatcher, changedEnough, convertValue, observedAt, type Converted, type UaValue } from './values.js';

export interface EndpointDeps {
  pkiDir: string;
  applicationName: string;
  applicationUri: string;
  /** Hands one uplink to the gateway: the same path as every other southbound source. */
  accept(raw: RawUplink): void;
  reject(deviceId: string, reason: RejectReason, detail: string): void;
  /** The endpoint became reachable (with its data flowing) or unreachable (with the cause). */
  onAvailability(up: boolean, at: number, reason?: string): void;
  /** How to trust this server's certificate, for error messages. */
  trustHint: string;
  ownCertificate?: string;
  log: Logger;
  random?: () => number;
}

export type EndpointState = 'connecting' | 'up' | 'down' | 'stopped';

export interface EndpointStatus {
  id: string;
  url: string;
  state: EndpointState;
  since: number;
  mode?: 'subscribe' | 'poll';
  attempts: number;
  items: { total: number; ok: number; failed: number };
  lastError?: { at: number; cause: string; message: string };
}

const CHUNK = 1000; // items per request when the server states no limit
const ITEM_RETRY_MS = 60_000; // missing nodes may appear after a PLC program download
const REPEAT_ERROR_LOG_MS = 10 * 60_000;
const STABLE_MS = 10_000; // a connection that lasted this long resets the backoff
const ITEM_GONE = new Set(['BadNodeIdUnknown', 'BadAttributeIdInvalid', 'BadNotReadable', 'BadUserAccessDenied']);

class Lost extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

const chunks = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

function toUaValue(dv: DataValue): UaValue {
  const sc = dv.statusCode;
  return {
    dataType: dv.value?.dataType ?? 0,
    isArray: (dv.value?.arrayType ?? VariantArrayType.Scalar) !== VariantArrayType.Scalar,
    value: dv.value?.value,
    status: sc.isGood() ? 'good' : sc.isBad() ? 'bad' : 'uncertain',
    statusText: sc.name,
    sourceTimestamp: dv.sourceTimestamp,
    serverTimestamp: dv.serverTimestamp,
  };
}

/** One live connection: client, session, subscriptions or poll loop; `lost` settles when it breaks. */
class Link {
  client?: OPCUAClient;
  session?: ClientSession;
  readonly subscriptions = new Map<number, ClientSubscription>();
  private readonly timers = new Set<NodeJS.Timeout>();
  closing = false;
  lastActivity = Date.now();
  private failWith!: (f: Failure) => void;
  readonly lost = new Promise<Failure>((res) => (this.failWith = res));
  private failed = false;

  fail(f: Failure): void {
    if (this.failed || this.closing) return;
    this.failed = true;
    this.failWith(f);
  }

  /** A timer that dies with the link. */
  later(fn: () => void, ms: number): void {
    if (this.closing) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closing) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private closed?: Promise<void>;

  /** Ends everything of this link, each step given at most 2 s (a dead server answers nothing); once. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      const quiet = <T>(p: Promise<T> | undefined) => Promise.race([Promise.resolve(p).catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
      for (const s of this.subscriptions.values()) await quiet(s.terminate());
      await quiet(this.session?.close(false));
      await quiet(this.client?.disconnect());
    })();
    return this.closed;
  }
}

/**
 * The connection to one OPC-UA endpoint: session, subscriptions with monitored items (or polling
 * where the server has none), and self-healing: on any break it tears everything down and builds it
 * again after an exponential backoff with jitter (1 s … 30 s), so a server restart is survived
 * without a stale session or subscription. Values go out as raw uplinks keyed by metric source.
 */
export class OpcuaEndpoint {
  private state: EndpointState = 'stopped';
  private firstAttemptDone = false;
  private since = Date.now();
  private attempt = 0;
  private link?: Link;
  private wake?: () => void;
  private running?: Promise<void>;
  private mode?: 'subscribe' | 'poll';
  private readonly cfg: OpcuaEndpointConfig;
  private readonly batcher: ChangeBatcher;
  private flushScheduled = false;
  /** Items by device whose node is readable now; a device with none is not alive. */
  private readonly okItems = new Set<ItemPlan>();
  private readonly failedItems = new Map<ItemPlan, string>();
  private lastError?: { at: number; cause: string; message: string; loggedAt: number; count: number };
  private readonly reportedItemProblems = new Map<ItemPlan, string>();

  constructor(
    private readonly plan: EndpointPlan,
    private readonly deps: EndpointDeps,
  ) {
    this.cfg = plan.endpoint;
    this.batcher = new ChangeBatcher(`opcua:${this.cfg.id}`);
  }

  get id(): string {
    return this.cfg.id;
  }

  /** The first connection attempt has ended (either way): only now can the endpoint be called unreachable. */
  get tried(): boolean {
    return this.firstAttemptDone;
  }

  /** Session up and items created (or polling): its devices' silence now means something. */
  get healthy(): boolean {
    return this.state === 'up';
  }

  get deviceIds(): readonly string[] {
    return this.plan.deviceIds;
  }

  /** Devices with at least one readable node on a healthy connection. */
  aliveDevices(): string[] {
    if (!this.healthy) return [];
    const out = new Set<string>();
    for (const it of this.okItems) out.add(it.deviceId);
    return [...out];
  }

  status(): EndpointStatus {
    return {
      id: this.cfg.id,
      url: this.cfg.url,
      state: this.state,
      since: this.since,
      ...(this.mode && { mode: this.mode }),
      attempts: this.attempt,
      items: { total: this.plan.items.length, ok: this.okItems.size, failed: this.failedItems.size },
      ...(this.lastError && { lastError: { at: this.lastError.at, cause: this.lastError.cause, message: this.lastError.message } }),
    };
  }

  start(): void {
    if (this.running) return;
    this.setState('connecting');
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.setState('stopped');
    this.wake?.();
    const link = this.link;
    link?.fail({ cause: 'other', message: 'stopping' });
    await link?.close(); // also cuts short a connection attempt still waiting on a silent host
    await this.running;
    this.running = undefined;
  }

  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  private setState(s: EndpointState): void {
    if (this.state === s) return;
    this.state = s;
    this.since = Date.now();
  }

  private async loop(): Promise<void> {
    const { minMs, maxMs } = this.cfg.reconnect;
    while (!this.stopped) {
      const link = (this.link = new Link());
      let upAt: number | undefined;
      let failure: Failure;
      try {
        await this.establish(link);
        if (this.stopped) throw new Lost({ cause: 'other', message: 'stopping' });
        upAt = Date.now();
        this.firstAttemptDone = true;
        this.setState('up');
        this.onUp();
        failure = await link.lost;
      } catch (e) {
        failure = e instanceof Lost ? e.failure : this.describe(e);
      }
      this.flush();
      this.okItems.clear();
      await link.close();
      this.link = undefined;
      if (this.stopped) break;
      const wasUp = this.state === 'up';
      this.firstAttemptDone = true;
      this.setState('down');
      if (upAt !== undefined && Date.now() - upAt >= STABLE_MS) this.attempt = 0;
      this.onDown(failure, wasUp);
      const delay = backoffDelay(this.attempt++, minMs, maxMs, this.deps.random);
      this.deps.log.debug({ endpoint: this.cfg.id, delayMs: delay, attempt: this.attempt }, 'OPC-UA endpoint: next attempt');
      await this.pause(delay, failure.cause === 'unreachable' || failure.cause === 'connection-lost' || failure.cause === 'timeout');
      if (!this.stopped) this.setState('connecting');
    }
    this.link = undefined;
  }

  /**
   * Waits out the backoff. When the server's port was found closed (server down or restarting), a TCP
   * probe every second or so ends the wait as soon as it opens: full OPC-UA attempts stay on the
   * 1 s … 30 s backoff, yet data resumes within seconds of the server being back, however long it was
   * away. A port that is open (the server refused us for another reason) is not probed.
   */
  private async pause(ms: number, probe: boolean): Promise<void> {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<void>((r) => {
      timer = setTimeout(r, ms);
      this.wake = r;
    });
    const { minMs } = this.cfg.reconnect;
    const probing = (async () => {
      if (!probe) return;
      const { host, port } = hostPort(this.cfg.url);
      const timeoutMs = Math.min(2000, minMs * 2);
      if (await tcpOpen(host, port, timeoutMs)) return; // open: it is not a matter of the server being away
      const random = this.deps.random ?? Math.random;
      while (!done) {
        await Promise.race([finished, new Promise((r) => setTimeout(r, minMs * (0.5 + random() / 2)).unref())]);
        if (done || this.stopped) return;
        if (await tcpOpen(host, port, timeoutMs)) {
          this.deps.log.debug({ endpoint: this.cfg.id }, 'OPC-UA endpoint: the port is open again');
          this.wake?.();
          return;
        }
      }
    })();
    await finished;
    done = true;
    clearTimeout(timer);
    this.wake = undefined;
    void probing; // ends on its own at its next check
  }

  private describe(e: unknown, offered?: string[]): Failure {
    return describeFailure(e, {
      url: this.cfg.url,
      securityMode: this.cfg.securityMode,
      securityPolicy: this.cfg.securityMode === 'None' ? 'None' : this.cfg.securityPolicy,
      trustHint: this.deps.trustHint,
      ...(offered && { offered }),
      ...(this.deps.ownCertificate && { ownCertificate: this.deps.ownCertificate }),
    });
  }

  private onUp(): void {
    const e = this.lastError;
    this.deps.log.info(
      { endpoint: this.cfg.id, url: this.cfg.url, mode: this.mode, items: this.okItems.size, failedItems: this.failedItems.size, ...(e && { after: e.cause, attempts: e.count }) },
      e ? 'OPC-UA endpoint reconnected' : 'OPC-UA endpoint connected',
    );
    this.lastError = undefined;
    this.deps.onAvailability(true, Date.now());
  }

  /** One clear error per cause; the same cause again is repeated only every ten minutes. */
  private onDown(f: Failure, wasUp: boolean): void {
    const now = Date.now();
    const prev = this.lastError;
    const msg = `OPC-UA endpoint ${this.cfg.id} (${this.cfg.url}): ${f.message}`;
    if (!prev || prev.cause !== f.cause || prev.message !== f.message) {
      this.lastError = { at: now, cause: f.cause, message: f.message, loggedAt: now, count: 1 };
      // Losing a working connection is healed right away (a server restart): a warning. A failed attempt is the error.
      if (wasUp) this.deps.log.warn({ endpoint: this.cfg.id, url: this.cfg.url, cause: f.cause }, `${msg}; reconnecting`);
      else this.deps.log.error({ endpoint: this.cfg.id, url: this.cfg.url, cause: f.cause }, msg);
    } else {
      prev.count++;
      prev.at = now;
      if (now - prev.loggedAt >= REPEAT_ERROR_LOG_MS) {
        prev.loggedAt = now;
        this.deps.log.error({ endpoint: this.cfg.id, url: this.cfg.url, cause: f.cause, attempts: prev.count }, `${msg} (still failing, retrying)`);
      }
    }
    if (wasUp || !prev) this.deps.onAvailability(false, now, f.message.slice(0, 200));
  }

  /** Connect, open a session, find the nodes and start the data flow; throws Lost on failure. */
  private async establish(link: Link): Promise<void> {
    const cfg = this.cfg;
    const client = (link.client = await createClient({
      pkiDir: this.deps.pkiDir,
      applicationName: this.deps.applicationName,
      applicationUri: this.deps.applicationUri,
      securityMode: cfg.securityMode,
      securityPolicy: cfg.securityPolicy,
      requestTimeoutMs: cfg.requestTimeoutMs,
      sessionTimeoutMs: cfg.sessionTimeoutMs,
    }));
    const lost = (err?: Error | null) => link.fail(err ? this.describe(err) : { cause: 'connection-lost', message: 'the connection was lost (the server closed it or the network failed)' });
    client.on('connection_lost', lost);
    client.on('close', lost);
    try {
      await client.connect(cfg.url);
    } catch (e) {
      throw new Lost(await this.explainConnectFailure(e));
    }
    let session: ClientSession;
    try {
      session = link.session = await client.createSession(userIdentity(cfg.user));
    } catch (e) {
      throw new Lost(this.describe(e));
    }
    session.on('session_closed', () => link.fail({ cause: 'connection-lost', message: 'the server closed the session' }));

    const limits = await readOperationLimits(session).catch(() => ({}) as Record<string, number | undefined>);
    const per = (n: number | undefined) => (n && n > 0 ? Math.min(n, CHUNK) : CHUNK);
    const nodes = await this.resolve(session, this.plan.items, per(limits.maxNodesPerTranslateBrowsePathsToNodeIds));
    const resolved = this.plan.items.filter((it) => nodes.has(it));

    this.okItems.clear();
    const want = cfg.mode;
    let poll = want === 'poll';
    if (!poll) {
      try {
        await this.subscribe(link, session, resolved, nodes, per(limits.maxMonitoredItemsPerCall));
        this.mode = 'subscribe';
      } catch (e) {
        const f = e instanceof Lost ? e.failure : this.describe(e);
        if (f.cause !== 'no-subscriptions' || want === 'subscribe') throw new Lost(f);
        if (this.mode !== 'poll') this.deps.log.warn({ endpoint: cfg.id }, `OPC-UA endpoint ${cfg.id}: ${f.message}; polling instead`);
        for (const s of link.subscriptions.values()) {
          s.removeAllListeners();
          await s.terminate().catch(() => undefined);
        }
        link.subscriptions.clear();
        this.okItems.clear();
        poll = true;
      }
    }
    if (poll) {
      this.mode = 'poll';
      await this.startPolling(link, session, resolved, nodes, per(limits.maxNodesPerRead));
    }
    link.lastActivity = Date.now();
    this.startWatchdog(link);
    if (this.mode === 'subscribe' && this.failedItems.size) this.scheduleItemRetry(link, session, per(limits.maxMonitoredItemsPerCall));
  }

  /** A security mismatch names what the server does offer. */
  private async explainConnectFailure(e: unknown): Promise<Failure> {
    const f = this.describe(e);
    if (f.cause !== 'security-unsupported') return f;
    try {
      const eps = await getEndpoints(this.cfg.url, { pkiDir: this.deps.pkiDir, applicationName: this.deps.applicationName, applicationUri: this.deps.applicationUri, requestTimeoutMs: this.cfg.requestTimeoutMs });
      return this.describe(e, [...new Set(eps.map(describeEndpoint))]);
    } catch {
      return f;
    }
  }

  /** Node ids parsed, browse paths translated; an item that cannot be found is reported once and skipped. */
  private async resolve(session: ClientSession, items: readonly ItemPlan[], chunk: number): Promise<Map<ItemPlan, NodeId>> {
    const out = new Map<ItemPlan, NodeId>();
    const paths: Array<{ it: ItemPlan; bp: ReturnType<typeof makeBrowsePath> }> = [];
    const usesUris = items.some((it) => ('nodeId' in it.target ? it.target.nodeId : it.target.root ?? '').startsWith('nsu='));
    const namespaces = usesUris ? ((await session.read({ nodeId: resolveNodeId('ns=0;i=2255'), attributeId: AttributeIds.Value })).value.value as string[]) : [];
    const node = (id: string) => resolveNodeId(withNamespaceIndex(id, namespaces));
    for (const it of items) {
      const t = it.target;
      try {
        if ('nodeId' in t) out.set(it, node(t.nodeId));
        else if (!t.root) paths.push({ it, bp: makeBrowsePath('ObjectsFolder', t.browsePath) });
        else if (/^[/.<]/.test(t.root)) paths.push({ it, bp: makeBrowsePath('ObjectsFolder', `${t.root}${t.browsePath}`) });
        else paths.push({ it, bp: makeBrowsePath(node(t.root), t.browsePath) });
      } catch (e) {
        this.itemProblem(it, `${describeTarget(t)} is not a valid node id or browse path (${(e as Error).message.split('\n')[0]})`);
      }
    }
    for (const part of chunks(paths, chunk)) {
      const results = await session.translateBrowsePath(part.map((p) => p.bp));
      results.forEach((r, i) => {
        const it = part[i]!.it;
        const target = r.targets?.[0]?.targetId;
        if (r.statusCode.isGood() && target) out.set(it, resolveNodeId(target.toString()));
        else this.itemProblem(it, `browse path ${describeTarget(it.target)} does not exist on the server (${r.statusCode.name})`);
      });
    }
    return out;
  }

  private itemProblem(it: ItemPlan, message: string): void {
    this.failedItems.set(it, message);
    this.okItems.delete(it);
    if (this.reportedItemProblems.get(it) === message) return;
    this.reportedItemProblems.set(it, message);
    this.deps.log.error({ endpoint: this.cfg.id, device: it.deviceId, metric: it.metric }, `OPC-UA endpoint ${this.cfg.id}, device ${it.deviceId}, metric ${it.metric}: ${message}; its other values are read`);
  }

  private itemOk(it: ItemPlan): void {
    this.okItems.add(it);
    if (this.failedItems.delete(it) && this.reportedItemProblems.delete(it)) {
      this.deps.log.info({ endpoint: this.cfg.id, device: it.deviceId, metric: it.metric }, `OPC-UA endpoint ${this.cfg.id}, device ${it.deviceId}, metric ${it.metric}: node found, now read`);
    }
  }

  private async subscribe(link: Link, session: ClientSession, items: readonly ItemPlan[], nodes: Map<ItemPlan, NodeId>, chunk: number): Promise<void> {
    for (const [interval, group] of byPublishingInterval(items)) {
      // Keep-alive at least every ~5 s, so a dead link is noticed by the watchdog within seconds.
      const keepAliveCount = Math.max(1, Math.min(30, Math.round(5000 / interval)));
      const sub = await session.createSubscription2({
        requestedPublishingInterval: interval,
        requestedMaxKeepAliveCount: keepAliveCount,
        requestedLifetimeCount: keepAliveCount * 10,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 10,
      });
      link.subscriptions.set(interval, sub);
      sub.on('keepalive', () => (link.lastActivity = Date.now()));
      sub.on('raw_notification', () => (link.lastActivity = Date.now()));
      sub.on('terminated', () => link.fail({ cause: 'connection-lost', message: 'the server ended the subscription' }));
      sub.on('status_changed', (status: StatusCode) => {
        if (status.isBad()) link.fail({ cause: 'connection-lost', message: `the server ended the subscription (${status.name})` });
      });
      sub.on('internal_error', (err: Error) => link.fail(this.describe(err)));
      await this.monitor(sub, group, nodes, chunk);
    }
  }

  /** Creates monitored items in groups of equal parameters; per-item failures are reported, not fatal. */
  private async monitor(sub: ClientSubscription, items: readonly ItemPlan[], nodes: Map<ItemPlan, NodeId>, chunk: number): Promise<void> {
    const groups = new Map<string, ItemPlan[]>();
    for (const it of items) {
      const key = `${it.samplingIntervalMs}|${JSON.stringify(it.deadband ?? null)}|${it.queueSize}`;
      const g = groups.get(key);
      if (g) g.push(it);
      else groups.set(key, [it]);
    }
    for (const group of groups.values()) {
      const first = group[0]!;
      const db = first.deadband;
      const filter = db ? new DataChangeFilter({ trigger: DataChangeTrigger.StatusValue, deadbandType: 'absolute' in db ? DeadbandType.Absolute : DeadbandType.Percent, deadbandValue: 'absolute' in db ? db.absolute : db.percent }) : null;
      for (const part of chunks(group, chunk)) {
        const mg = await sub.monitorItems(
          part.map((it) => ({ nodeId: nodes.get(it)!, attributeId: AttributeIds.Value })),
          { samplingInterval: first.samplingIntervalMs, queueSize: first.queueSize, discardOldest: true, filter },
          TimestampsToReturn.Both,
        );
        mg.on('changed', (_mi: ClientMonitoredItemBase, dv: DataValue, index: number) => {
          const it = part[index];
          if (!it) return;
          const uv = toUaValue(dv);
          this.deliver(it, convertValue(uv, it.expected), uv, Date.now());
        });
        mg.monitoredItems.forEach((mi, i) => {
          const it = part[i]!;
          const sc = mi.statusCode;
          if (sc.isGood()) this.itemOk(it);
          else this.itemProblem(it, this.itemStatusMessage(it, sc.name));
        });
      }
    }
  }

  private itemStatusMessage(it: ItemPlan, status: string): string {
    const where = describeTarget(it.target);
    switch (status) {
      case 'BadNodeIdUnknown':
        return `node ${where} does not exist on the server (BadNodeIdUnknown)`;
      case 'BadAttributeIdInvalid':
        return `node ${where} is not a variable (it has no value)`;
      case 'BadDeadbandFilterInvalid':
      case 'BadFilterNotAllowed':
      case 'BadMonitoredItemFilterUnsupported':
        return `node ${where} refuses the deadband (${status}); a percent deadband needs an EURange on the node`;
      case 'BadUserAccessDenied':
      case 'BadNotReadable':
        return `node ${where} may not be read by this user (${status})`;
      default:
        return `node ${where} cannot be monitored (${status})`;
    }
  }

  /** Missing nodes are looked for again every minute while connected. */
  private scheduleItemRetry(link: Link, session: ClientSession, chunk: number): void {
    link.later(async () => {
      try {
        const retry = [...this.failedItems.keys()];
        const nodes = await this.resolve(session, retry, chunk);
        for (const [interval, group] of byPublishingInterval(retry.filter((it) => nodes.has(it)))) {
          const sub = link.subscriptions.get(interval);
          if (sub) await this.monitor(sub, group, nodes, chunk);
        }
      } catch (e) {
        this.deps.log.debug({ endpoint: this.cfg.id, err: (e as Error).message }, 'OPC-UA item retry failed');
      }
      if (this.failedItems.size) this.scheduleItemRetry(link, session, chunk);
    }, ITEM_RETRY_MS);
  }

  /** Polling for servers without subscriptions: read every publishing interval, report what changed. */
  private async startPolling(link: Link, session: ClientSession, items: readonly ItemPlan[], nodes: Map<ItemPlan, NodeId>, chunk: number): Promise<void> {
    const last = new Map<ItemPlan, number | boolean | string>();
    const readAll = async (group: readonly ItemPlan[]) => {
      for (const part of chunks(group, chunk)) {
        const dvs = await session.read(part.map((it) => ({ nodeId: nodes.get(it)!, attributeId: AttributeIds.Value })), 0);
        const now = Date.now();
        link.lastActivity = now;
        dvs.forEach((dv, i) => {
          const it = part[i]!;
          const status = dv.statusCode.name;
          if (ITEM_GONE.has(status)) return this.itemProblem(it, this.itemStatusMessage(it, status));
          this.itemOk(it);
          const uv = toUaValue(dv);
          const c = convertValue(uv, it.expected);
          if (c.ok) {
            // Report like a monitored item would: on change, beyond an absolute deadband.
            if (!changedEnough(last.get(it), c.value, it.deadband && 'absolute' in it.deadband ? it.deadband : undefined)) return;
            last.set(it, c.value);
          }
          this.deliver(it, c, uv, now);
        });
      }
    };
    for (const [interval, group] of byPublishingInterval(items)) {
      await readAll(group); // the first read proves the nodes and gives the initial values
      const tick = () => {
        const started = Date.now();
        readAll(group).then(
          () => link.later(tick, Math.max(0, interval - (Date.now() - started))),
          (e: unknown) => link.fail(this.describe(e)),
        );
      };
      link.later(tick, interval);
    }
  }

  /** No publish response, keep-alive or poll answer for too long: the link is dead even if TCP says nothing. */
  private startWatchdog(link: Link): void {
    const slowest = Math.max(1000, ...this.plan.items.map((i) => i.publishingIntervalMs));
    const limitMs = 2 * Math.max(5000, slowest) + this.cfg.requestTimeoutMs;
    const check = () => {
      const idle = Date.now() - link.lastActivity;
      if (idle > limitMs) link.fail({ cause: 'timeout', message: `no data or keep-alive for ${Math.round(idle / 1000)} s` });
      else link.later(check, 1000);
    };
    check();
  }

  private deliver(it: ItemPlan, c: Converted, uv: UaValue, receivedAt: number): void {
    if (!c.ok) {
      if (!c.skip) this.deps.reject(it.deviceId, c.reason, `OPC-UA endpoint ${this.cfg.id}, node ${describeTarget(it.target)} (metric ${it.metric}): ${c.message}`);
      return;
    }
    const closed = this.batcher.add(it.deviceId, it.source, c.value, observedAt(uv, receivedAt), receivedAt);
    if (closed) this.deps.accept(closed);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Every change of one publish response is handled in one turn: flush them together after it.
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.batcher.size) return;
    for (const raw of this.batcher.flush(Date.now())) this.deps.accept(raw);
  }
}
