import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { CameraStage } from './stage.js';

/**
 * GET /api/v1/cameras (state, problem, stream, counters per camera), GET /api/v1/evidence/… (an evidence JPEG by
 * its ref: the event's `evidence[].ref` prefixed with /api/v1/), POST /api/v1/cameras/:id/snapshot.
 */
export function cameraRoutes(stage: () => CameraStage | undefined) {
  return (app: FastifyInstance) => {
    app.get('/api/v1/cameras', async () => stage()?.snapshot() ?? []);
    app.get<{ Params: { '*': string } }>('/api/v1/evidence/*', async (req, reply) => {
      const file = stage()?.evidence.resolveRef(`evidence/${req.params['*']}`);
      const s = file ? await stat(file).catch(() => undefined) : undefined;
      if (!file || !s?.isFile()) return reply.code(404).send({ error: 'no such evidence file (it may have been removed by retention)' });
      return reply.type('image/jpeg').header('content-length', s.size).header('cache-control', 'private, max-age=86400').send(createReadStream(file));
    });
    app.post<{ Params: { id: string } }>('/api/v1/cameras/:id/snapshot', async (req, reply) => {
      const st = stage();
      if (!st) return reply.code(404).send({ error: 'no cameras on this gateway' });
      try {
        return await st.snapshotRequest(req.params.id);
      } catch (e) {
        return reply.code(409).send({ error: (e as Error).message });
      }
    });
  };
}
