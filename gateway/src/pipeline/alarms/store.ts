import type { Db } from '../../store/db.js';
import type { PersistedRuleState } from './alarm-engine.js';
import type { RuleState } from './rule-lifecycle.js';

/** Alarm rule states in SQLite, so active alarms and learned baselines survive a restart or power cut. */
export class AlarmStore {
  private readonly upsert;
  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS alarm_state (
      device TEXT NOT NULL, rule TEXT NOT NULL, state TEXT NOT NULL, updated_at INTEGER NOT NULL,
      PRIMARY KEY (device, rule))`);
    this.upsert = db.prepare(
      'INSERT INTO alarm_state (device, rule, state, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(device, rule) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
    );
  }

  load(): PersistedRuleState[] {
    const rows = this.db.prepare('SELECT device, rule, state FROM alarm_state').all() as Array<{ device: string; rule: string; state: string }>;
    const out: PersistedRuleState[] = [];
    for (const r of rows) {
      try {
        out.push({ deviceId: r.device, ruleId: r.rule, state: JSON.parse(r.state) as RuleState });
      } catch {
        // A row that does not parse is dropped: the rule starts fresh rather than the gateway not starting.
      }
    }
    return out;
  }

  save(states: PersistedRuleState[], now: number): void {
    if (!states.length) return;
    this.db.transaction(() => {
      for (const s of states) this.upsert.run(s.deviceId, s.ruleId, JSON.stringify(s.state), now);
    })();
  }
}
