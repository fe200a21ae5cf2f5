/**
 * The routes of an account service in TypeScript on express 4, written the way such services
 * usually are — with three leaks taken from real bug reports and a bounded buffer that looks like
 * one. Compiled by the project's build (tsc, with source maps) into
 * dist/examples/real-services/ts-express/; the answer key (answers.json, next to this file) names
 * lines of this .ts file, which is what a user must be shown.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

interface Timing {
  method: string;
  path: string;
  started: number;
  userAgent: string;
  trace: string[];
}

interface GeoResult {
  address: string;
  lat: number;
  lon: number;
  formatted: string;
}

/** The database pool: one per process, an EventEmitter for connection errors. */
class Pool extends EventEmitter {
  query(sql: string, params: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    return new Promise((resolve) => setImmediate(() => resolve({ rows: [{ sql: sql.length, params: params.length, id: params[0] }] })));
  }
}

export const pool = new Pool();

// LEAK: timings kept per request id "for the /debug/timings page"; the entry was meant to be
// deleted when the response finished, but that handler only updates it.
const requestTimings = new Map<string, Timing>();

function trackTiming(req: Request, res: Response, next: NextFunction): void {
  const id = randomUUID();
  res.locals.requestId = id;
  requestTimings.set(id, { method: req.method, path: req.originalUrl, started: Date.now(), userAgent: String(req.headers['user-agent'] ?? ''), trace: [`${id} ${req.method} ${req.originalUrl}`.padEnd(300, ' ')] });
  res.on('finish', () => {
    const t = requestTimings.get(id);
    if (t) t.trace.push(`finished ${res.statusCode}`);
  });
  next();
}

// NOT A LEAK: the last 300 errors, for the /debug/errors page (a bounded buffer).
const recentErrors: { at: number; message: string }[] = [];

function rememberError(message: string): void {
  recentErrors.push({ at: Date.now(), message: message.padEnd(600, ' ') });
  if (recentErrors.length > 300) recentErrors.shift();
}

// LEAK: a geocoding cache with no TTL and no bound, keyed by the free-text address a client sends.
const geoCache = new Map<string, GeoResult>();

function geocode(address: string): GeoResult {
  let hit = geoCache.get(address);
  if (!hit) {
    let h = 0;
    for (let i = 0; i < address.length; i++) h = (h * 31 + address.charCodeAt(i)) | 0;
    hit = { address, lat: (h % 9000) / 100, lon: ((h >> 8) % 18000) / 100, formatted: `${address}, somewhere`.padEnd(1200, ' ') };
    geoCache.set(address, hit);
  }
  return hit;
}

export function createApp(): express.Express {
  const app = express();
  app.use(trackTiming);

  app.get('/api/accounts/:id', async (req: Request, res: Response) => {
    const account = await pool.query('select * from accounts where id = $1', [req.params.id]);
    const summary = `account ${req.params.id} for ${req.headers['user-agent'] ?? 'unknown'}: ${JSON.stringify(account.rows)}`.padEnd(800, ' ');
    // LEAK: each request subscribes to the pool's errors to fail its own response, and never
    // unsubscribes (the listener outlives the request and keeps its response and summary).
    pool.on('error', (err: Error) => {
      if (!res.headersSent) res.status(503).json({ error: err.message, summary });
    });
    res.json({ account: account.rows[0], requestId: res.locals.requestId });
  });

  app.get('/api/geocode', (req: Request, res: Response) => {
    const address = String(req.query.address ?? '');
    if (!address) {
      rememberError(`geocode without an address from ${req.ip}`);
      res.status(400).json({ error: 'address is required' });
      return;
    }
    res.json(geocode(address));
  });

  app.get('/api/fail', (req: Request, res: Response) => {
    rememberError(`failure requested by ${req.ip} at ${new Date().toISOString()}`);
    res.status(500).json({ error: 'failed as asked', recent: recentErrors.length });
  });

  app.get('/debug/timings', (_req: Request, res: Response) => {
    res.json({ tracked: requestTimings.size });
  });

  app.get('/', (_req: Request, res: Response) => {
    res.type('text').send('accounts API: GET /api/accounts/:id, GET /api/geocode?address=, GET /api/fail\n');
  });
  return app;
}
