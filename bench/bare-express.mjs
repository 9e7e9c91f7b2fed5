// Bare express floor for the benchmark: one route answering {"hello":"world"}, measured in every run so that the
// server's figures are reported as ratios to it (PERFORMANCE.md §3.1, §4). PORT from the environment. By default the
// express 4 the server runs on. BORN=1 serves it the way the server does (src/http/server.ts: requests born with
// express's prototypes), a baseline that shows how much of a ratio that alone explains. EXPRESS=5 runs it on express 5
// (the devDependency `express5`): PERFORMANCE.md §5 states its targets as ratios to bare express 5.
import http from 'node:http';
import httpServer from '../dist/src/http/server.js';

const express = (await import(process.env.EXPRESS === '5' ? 'express5' : 'express')).default;

const app = express();
app.disable('x-powered-by');
app.get('/', (_req, res) => {
  res.json({ hello: 'world' });
});
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
const server = (process.env.BORN === '1' ? httpServer.createHttpServer(app) : http.createServer(app)).listen(Number(process.env.PORT ?? 8090), '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
