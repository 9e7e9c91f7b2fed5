// Loaded into the server child with `node -r bench/probe.cjs` (no change to src/): measures event-loop delay and
// answers the benchmark over the IPC channel. Inert when the process has no IPC channel.
'use strict';
if (typeof process.send === 'function') {
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  process.on('message', (m) => {
    if (!m || typeof m !== 'object' || typeof m.benchProbe !== 'string') return;
    if (m.benchProbe === 'reset') {
      h.reset();
      process.send({ benchProbe: m.id, ok: true });
    } else if (m.benchProbe === 'stats') {
      const mem = process.memoryUsage();
      process.send({
        benchProbe: m.id,
        eldP50: h.percentile(50) / 1e6,
        eldP99: h.percentile(99) / 1e6,
        eldMax: h.max / 1e6,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
      });
    }
  });
  // The channel must not keep the server alive after a graceful shutdown.
  if (process.channel && typeof process.channel.unref === 'function') process.channel.unref();
}
