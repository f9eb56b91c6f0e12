import { z } from 'zod';
import { Severity } from '@gridgate/contract';

/** `reports:` in the gateway config: which findings become case reports, their deadlines and verification. */
export const ReportsConfig = z
  .object({
    enabled: z.boolean().default(true),
    codeTables: z
      .array(z.string().min(1))
      .default([])
      .describe('Code tables layered over the built-in GB/T 30428 table (firmware-configs/codes/gbt30428.yaml), relative to the config file; later files win per code'),
    severities: z
      .array(Severity)
      .default(['critical', 'major'])
      .describe('Alarms of these severities become case reports (a profile rule’s `report:` overrides; offline alarms only when the rule says so)'),
    deadlines: z
      .object({
        registerS: z.number().int().positive().default(300).describe('立案: register within this long after discovery (Yangjing: 5 min)'),
        dispatchS: z.number().int().positive().default(900).describe('派遣: dispatch within this long after the register deadline (15 min)'),
        resultS: z.number().int().positive().default(3600).describe('处置反馈: result of a simple case within this long after the dispatch deadline (1 h)'),
      })
      .strict()
      .default({ registerS: 300, dispatchS: 900, resultS: 3600 }),
    verify: z
      .object({
        windowS: z
          .number()
          .nonnegative()
          .optional()
          .describe("How long a sensor must stay in range after the case is handled; default: the alarm rule's clearForS (the profile's window)"),
        minWindowS: z.number().nonnegative().default(0).describe('Floor under the window from the profile'),
        zoneClearS: z.number().nonnegative().default(120).describe('How long a camera zone must stay clear after the case is handled'),
        noEvidenceAfterS: z
          .number()
          .positive()
          .default(3600)
          .describe('Report `no-evidence` (an update, not a reopen) when the source has said nothing this long after the case was handled'),
      })
      .strict()
      .default({ minWindowS: 0, zoneClearS: 120, noEvidenceAfterS: 3600 }),
    updateMinIntervalS: z.number().nonnegative().default(60).describe('Repeats are merged into one `update` at most this often per report'),
    evidenceSamples: z.number().int().min(1).max(500).default(20).describe('Latest samples of the device kept in each readings evidence file'),
  })
  .strict();
export type ReportsConfig = z.infer<typeof ReportsConfig>;
export const defaultReportsConfig: ReportsConfig = ReportsConfig.parse({});
