import type { TrackView } from '../tracker/tracker.js';

/** What a situation looks like in one frame (a rule's finding, plus what it carries into the event). */
export interface Observation {
  holds: boolean;
  tracks: TrackView[];
  confidence: number;
  measurements?: Record<string, number>;
  relatedDevices?: string[];
}

export interface LifecycleSettings {
  minDwellS: number;
  gapS: number;
  cooldownS: number;
  updateMinS: number;
}

/** A lifecycle step the event stage turns into a message. */
export interface EventAction {
  phase: 'start' | 'update' | 'end';
  eventId: string;
  startedAt: number;
  /** Since when the situation has held (the dwell clock). */
  since: number;
  at: number;
  endedAt?: number;
  tracks: TrackView[];
  confidence: number;
  measurements?: Record<string, number>;
  relatedDevices?: string[];
}

interface Active {
  eventId: string;
  startedAt: number;
  since: number;
  lastHeld: number;
  lastSent: number;
  sentTrackIds: Set<number>;
  sentConfidence: number;
  sentDevices: string;
  last: Observation;
}

/**
 * One situation's lifecycle (one camera, zone and rule), pure and clocked by its caller:
 *   idle → pending (it holds; the dwell clock runs, lapses up to gapS forgiven)
 *        → active after minDwellS: `start`; `update` when new objects join or confidence/fusion changes,
 *          at most every updateMinS; gone and back within cooldownS is the same event
 *        → `end` once it has been gone for cooldownS.
 * Because only this one object emits, one real situation is one event, never a storm.
 */
export class SituationLifecycle {
  private pendingSince?: number;
  private pendingLast = 0;
  private active?: Active;

  constructor(private readonly s: LifecycleSettings, private readonly newId: () => string) {}

  get isActive(): boolean {
    return !!this.active;
  }

  get eventId(): string | undefined {
    return this.active?.eventId;
  }

  step(o: Observation, now: number): EventAction[] {
    const out: EventAction[] = [];
    const a = this.active;
    if (a) {
      if (o.holds) {
        a.lastHeld = now;
        a.last = o;
        const newTracks = o.tracks.some((t) => !a.sentTrackIds.has(t.id));
        const devices = (o.relatedDevices ?? []).join(',');
        const material = newTracks || Math.abs(o.confidence - a.sentConfidence) >= 0.1 || devices !== a.sentDevices;
        if (material && (now - a.lastSent) / 1000 >= this.s.updateMinS) out.push(this.emit('update', now, o));
      }
      return [...out, ...this.expire(now)];
    }
    if (o.holds) {
      if (this.pendingSince === undefined || (now - this.pendingLast) / 1000 > this.s.gapS) this.pendingSince = now;
      this.pendingLast = now;
      if ((now - this.pendingSince) / 1000 >= this.s.minDwellS) {
        this.active = { eventId: this.newId(), startedAt: now, since: this.pendingSince, lastHeld: now, lastSent: now, sentTrackIds: new Set(), sentConfidence: 0, sentDevices: '', last: o };
        this.pendingSince = undefined;
        out.push(this.emit('start', now, o));
      }
    } else if (this.pendingSince !== undefined && (now - this.pendingLast) / 1000 > this.s.gapS) {
      this.pendingSince = undefined;
    }
    return out;
  }

  /** Time passing without frames (camera gone quiet): ends an event whose cool-down has run out. */
  expire(now: number): EventAction[] {
    const a = this.active;
    if (!a || (now - a.lastHeld) / 1000 < this.s.cooldownS) return [];
    this.active = undefined;
    return [{ phase: 'end', eventId: a.eventId, startedAt: a.startedAt, since: a.since, at: now, endedAt: a.lastHeld, tracks: a.last.tracks, confidence: a.last.confidence, ...(a.last.measurements && { measurements: a.last.measurements }), ...(a.last.relatedDevices && { relatedDevices: a.last.relatedDevices }) }];
  }

  private emit(phase: 'start' | 'update', now: number, o: Observation): EventAction {
    const a = this.active!;
    a.lastSent = now;
    for (const t of o.tracks) a.sentTrackIds.add(t.id);
    a.sentConfidence = o.confidence;
    a.sentDevices = (o.relatedDevices ?? []).join(',');
    return { phase, eventId: a.eventId, startedAt: a.startedAt, since: a.since, at: now, tracks: o.tracks, confidence: o.confidence, ...(o.measurements && { measurements: o.measurements }), ...(o.relatedDevices && { relatedDevices: o.relatedDevices }) };
  }
}
