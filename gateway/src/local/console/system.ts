import { readFileSync, statfsSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem, uptime } from 'node:os';

export interface SystemSnapshot {
  cpu: { cores: number; usagePct?: number; load1: number; load5: number };
  memory: { totalBytes: number; availableBytes: number; usedPct: number; gatewayRssBytes: number };
  disk?: { path: string; totalBytes: number; availableBytes: number; usedPct: number };
  hostUptimeS: number;
}

interface CpuTimes {
  idle: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** MemAvailable (what can be used without swapping) where Linux says it; free memory elsewhere. */
function availableMemory(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return freemem();
}

/**
 * CPU, memory and disk of the box the gateway runs on, for the console's dashboard. CPU use is measured
 * between two calls (the dashboard polls); the first call has only the load average.
 */
export class SystemSampler {
  private last?: CpuTimes;

  sample(dataDir: string | undefined): SystemSnapshot {
    const now = cpuTimes();
    const prev = this.last;
    this.last = now;
    const dTotal = prev ? now.total - prev.total : 0;
    const usagePct = prev && dTotal > 0 ? Math.round((1000 * (dTotal - (now.idle - prev.idle))) / dTotal) / 10 : undefined;
    const [load1, load5] = loadavg() as [number, number, number];
    const total = totalmem();
    const avail = availableMemory();
    let disk: SystemSnapshot['disk'];
    if (dataDir) {
      try {
        const s = statfsSync(dataDir);
        const totalBytes = s.blocks * s.bsize;
        const availableBytes = s.bavail * s.bsize;
        disk = { path: dataDir, totalBytes, availableBytes, usedPct: totalBytes ? Math.round((1000 * (totalBytes - s.bfree * s.bsize)) / totalBytes) / 10 : 0 };
      } catch {
        /* the data folder is not there yet */
      }
    }
    return {
      cpu: { cores: cpus().length, ...(usagePct !== undefined && { usagePct }), load1: Math.round(load1 * 100) / 100, load5: Math.round(load5 * 100) / 100 },
      memory: { totalBytes: total, availableBytes: avail, usedPct: Math.round((1000 * (total - avail)) / total) / 10, gatewayRssBytes: process.memoryUsage.rss() },
      ...(disk && { disk }),
      hostUptimeS: Math.round(uptime()),
    };
  }
}
