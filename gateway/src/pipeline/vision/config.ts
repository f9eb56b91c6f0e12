import { z } from 'zod';

const FilePath = z.string().min(1).describe('Path, relative to the config file');

/** Which detector runs and where its weights come from. */
export const DetectorConfig = z
  .object({
    backend: z
      .enum(['auto', 'tensorflow', 'wasm', 'cpu'])
      .default('auto')
      .describe('auto: @tensorflow/tfjs-node (tensorflow) when it is installed, else wasm. cpu is pure JavaScript (slow, for comparison)'),
    workers: z.number().int().min(1).max(16).optional().describe('Inference worker threads; default one per CPU core'),
    minScore: z.number().min(0).max(1).default(0.3).describe('Detections below this score are dropped'),
    model: z
      .object({
        path: FilePath.describe('tfjs graph model (model.json); its weight files sit next to it'),
        classes: z.array(z.string().min(1)).min(1).describe('Class names by class index of the model output'),
        inputSize: z.number().int().min(32).max(2048).default(512).describe('Square input size in pixels'),
        output: z.string().optional().describe('Output node holding [1, N, 6] = x1, y1, x2, y2, score, class in input pixels; default: the only/last output'),
      })
      .strict()
      .optional()
      .describe('A custom detector instead of the built-in CenterNet (COCO-80, 512×512, from the @vladmandic/human package)'),
  })
  .strict();
export type DetectorConfig = z.infer<typeof DetectorConfig>;

export const VisionConfig = z
  .object({
    enabled: z.boolean().default(true),
    detector: DetectorConfig.default(DetectorConfig.parse({})),
    profileDirs: z
      .array(FilePath)
      .default(['../device-profiles/cameras'])
      .describe('Folders of camera profiles (zone rules as data: which objects, how long, which event code)'),
    defaultProfile: z.string().default('street-camera').describe('Camera profile used by cameras that name none'),
  })
  .strict()
  .describe('On-device detection: illegal stalls, illegal parking, construction dust');
export type VisionConfig = z.infer<typeof VisionConfig>;
