// Bare express 4 floor for the benchmark: one route answering {"hello":"world"}, measured in every run so that the
// server's figures are reported as ratios to it (PERFORMANCE.md §3.1, §4). PORT from the environment.
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.get('/', (_req, res) => {
  res.json({ hello: 'world' });
});
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
const server = app.listen(Number(process.env.PORT ?? 8090), '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
