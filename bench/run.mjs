// `npm run bench`: the SCIM server under the PERFORMANCE.md §4 workload, reported as ratios to bare express measured
// in the same run (§5 targets are ratios; the machine is shared and noisy).
//
//   npm run bench                          N=100000 users, 10 connections, 3 runs of 5 s per op after 2 s of warm-up
//   BENCH_QUICK=1 npm run bench            smoke check: N=10000, DUR=2 (about a minute)
//   N=1000000 npm run bench                scale ratio (the preload alone takes minutes; cached afterwards)
//
// Environment: N, CONNS (10), DUR (5 s), RUNS (3; req/s is the median run), WARM (2 s), OPS (comma list of op ids or
// prefixes, e.g. OPS=U3,G2), BENCH_REBUILD=1 (rebuild the cached data directory), PIN=0 (do not pin the server to
// CPU 1 and the load generator to CPU 0), C1=0 (skip the 1-connection latency rows for group ops), CPU_PROF=1 (server
// runs with --cpu-prof; profile in .bench/prof-<timestamp>/), KEEP_DATA=1 (keep the server's copy of the data),
// BARE_DUR (seconds of each run of bare express between ops; 2), SERVER_NODE_ARGS (extra node flags for the server,
// e.g. "--trace-gc"; output in .bench/server-<timestamp>.log).
//
// Side by side: BASE=<git revision> measures this checkout against that revision instead of against bare express —
// both servers on copies of the same data, each run with its own start script's node flags, SLICES (6) alternating
// slices of SLICE (2) seconds each per op — and reports each one's median CPU per request and their ratio (see
// sideBySide). BASE_N=<users> does the same with this checkout on both sides, one server on N users and one on
// BASE_N: the scale ratio of PERFORMANCE.md §5 (throughput at 1M against 100k) measured at the same moments, e.g.
// `N=1000000 BASE_N=100000 OPS=U1,U2,U3,U4,U6 npm run bench`. PAIRS (1) repeats it all with both servers started
// afresh each time and reports the medians over every pair's slices, with each pair's ratio: two server processes
// differ by a few percent by themselves, which more slices of the same two processes do not average out.
//
// Steps: preload (bench/preload.mjs, cached under .bench/data-N<N>/) → bare express (kept running) → server on a fresh
// copy of the data → for each op: bare express (warm-up, then RUNS × BARE_DUR), then the op (warm-up, then RUNS × DUR)
// → bare express once more → table on stdout, JSON lines in .bench/results-<timestamp>.jsonl. Each op's ratios are to
// the bare express figures measured just before and just after it. Two more baselines are measured at the same moments:
// bare express served the way the server is (requests born with express's prototypes, src/http/server.ts; its column
// shows how much of a ratio that serving alone explains), and bare express 5, the baseline PERFORMANCE.md §5 states
// its targets against (express 5 costs more CPU a request than the express 4 the server runs on, so "× bare CPU" is
// the stricter figure). Every child process is killed on exit, error or signal.
import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { PATCH_OP, groupDisplayName, makeUser } from './data.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const BENCH_DIR = path.join(ROOT, '.bench');

const QUICK = process.env.BENCH_QUICK === '1';
const num = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number (got ${raw})`);
  return v;
};
const N = num('N', QUICK ? 10_000 : 100_000);
const CONNS = num('CONNS', 10);
const DUR = num('DUR', QUICK ? 2 : 5);
// PERFORMANCE.md §4's method: 2 s of warm-up, then the median of 3 runs of 5 s. The first seconds after start-up pay
// for compiling the hot paths and sweeping the heap the load left (POST: ~900 µs of CPU a request in its first 5 s,
// ~620 µs afterwards), which one short run after 1 s of warm-up counted as the server's steady cost.
const RUNS = Math.max(1, Math.floor(num('RUNS', QUICK ? 1 : 3)));
const WARM = num('WARM', QUICK ? 1 : 2);
// Bare express's measurement between two ops (its ratio base is the mean of the one before and the one after).
const BARE_DUR = num('BARE_DUR', Math.min(DUR, 2));
const PIN = process.env.PIN !== '0' && availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;
const C1 = process.env.C1 !== '0';
const CPU_PROF = process.env.CPU_PROF === '1';
const OPS = process.env.OPS ? process.env.OPS.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean) : undefined;
/** The ops `OPS` names: an id, or its prefix before `-` (G2 → G2-add-1k, …) or `@` (G3 → G3@c1). */
const selectedOps = (ops) =>
  OPS ? ops.filter((op) => OPS.some((s) => op.id.toUpperCase() === s || op.id.toUpperCase().startsWith(`${s}-`) || op.id.toUpperCase().startsWith(`${s}@`))) : ops;
const bigHeap = (n) => (n > 300_000 ? ['--max-old-space-size=16384'] : []);
// The server runs with the node flags of `npm start`, so that the benchmark measures what is deployed; a BASE revision
// with the flags of its own start script, so that a change of flags is measured side by side like a change of code.
const startNodeArgs = (root) => {
  const start = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.start;
  const flags = /\bnode((?: --[^\s]+)*) dist\/src\/main\.js/.exec(start);
  if (!flags) throw new Error(`cannot find "node [flags] dist/src/main.js" in the start script of ${root}: ${start}`);
  return flags[1].split(' ').filter(Boolean);
};
const START_NODE_ARGS = startNodeArgs(ROOT);
// Extra node flags for the server only (NODE_OPTIONS refuses some, e.g. --trace-gc; its output lands in the server log).
const SERVER_NODE_ARGS = (process.env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const BASE = process.env.BASE;
const BASE_N = process.env.BASE_N ? num('BASE_N', 0) : undefined;
if (BASE && BASE_N) throw new Error('BASE (a revision) and BASE_N (a size) each set what the other server differs by: set one');
const SLICES = Math.max(2, Math.floor(num('SLICES', 6)));
const SLICE = num('SLICE', 2);
const PAIRS = Math.max(1, Math.floor(num('PAIRS', 1)));

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const RUN_DIR = path.join(BENCH_DIR, `run-${stamp}`);
const RESULTS = path.join(BENCH_DIR, `results-${stamp}.jsonl`);

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Child processes: every one is tracked and killed on the way out, whatever the way out is.

const children = new Set();

function startChild(label, args, env, { ipc = false, logFile } = {}) {
  const cmd = PIN ? 'taskset' : process.execPath;
  const argv = PIN ? ['-c', '1', process.execPath, ...args] : args;
  const out = logFile ? createWriteStream(logFile) : 'ignore';
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', logFile ? 'pipe' : 'ignore', logFile ? 'pipe' : 'inherit', ...(ipc ? ['ipc'] : [])],
  });
  if (logFile) {
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
  }
  child.label = label;
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

async function stopChild(child, graceMs = 5_000) {
  if (!children.has(child)) return;
  child.kill('SIGTERM');
  const done = await Promise.race([child.exited, sleep(graceMs).then(() => null)]);
  if (!done) {
    log(`${child.label} did not stop within ${graceMs} ms: SIGKILL`);
    child.kill('SIGKILL');
    await child.exited;
  }
}

function killAllNow() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`${signal}: stopping children`);
    killAllNow();
    process.exit(130);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url, child, timeoutMs) {
  const t0 = performance.now();
  let exited = null;
  child.exited.then((r) => (exited = r));
  while (performance.now() - t0 < timeoutMs) {
    if (exited) throw new Error(`${child.label} exited before it was healthy (${JSON.stringify(exited)})`);
    try {
      const res = await fetch(url);
      if (res.ok) return (performance.now() - t0) / 1000;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(`${child.label} not healthy after ${timeoutMs / 1000} s`);
}

/** CPU time (user + system) a process has used, in ms: divided by requests, a figure less shaken by a noisy machine than req/s. */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Request/answer over the IPC channel of a child started with `-r bench/probe.cjs`. */
function probe(child, what) {
  if (!child?.connected) return Promise.resolve(undefined);
  const id = `${what}-${Math.random()}`;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(undefined);
    }, 2_000);
    const onMessage = (m) => {
      if (m?.benchProbe !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.send({ benchProbe: what, id });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Load generation.

/** The middle value (the lower of the two middle ones for an even count). */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

function percentile(sorted, q) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** One autocannon run; latencies are taken from its 'response' events (sub-millisecond, unlike its histogram). */
async function cannon(base, spec, duration, conns) {
  const latencies = [];
  const statuses = {};
  const inst = autocannon({
    url: base,
    connections: conns,
    duration,
    timeout: 30,
    headers: spec.headers ?? {},
    // A spec with `requests` alternates them on each connection (autocannon cycles through its list).
    requests: (spec.requests ?? [spec]).map((r) => ({
      method: r.method ?? 'GET',
      path: r.path ?? '/',
      ...(r.body !== undefined ? { body: r.body } : {}),
      ...(r.setup ? { setupRequest: (req) => ({ ...req, ...r.setup() }) } : {}),
    })),
  });
  inst.on('response', (_client, status, _bytes, ms) => {
    latencies.push(ms);
    statuses[status] = (statuses[status] ?? 0) + 1;
  });
  const r = await inst;
  const non2xx = Object.entries(statuses).reduce((n, [s, c]) => (s >= 200 && s < 300 ? n : n + c), 0);
  return { rps: latencies.length / r.duration, requests: latencies.length, duration: r.duration, latencies, statuses, non2xx, errors: r.errors, timeouts: r.timeouts };
}

/**
 * Warm-up, then RUNS × DUR; req/s and CPU per request are each the median run (PERFORMANCE.md §4), latency
 * percentiles over every measured request.
 */
async function measure(base, spec, conns = CONNS, pid = undefined, dur = DUR) {
  if (WARM > 0) await cannon(base, spec, WARM, conns);
  const runs = [];
  const cpuRuns = [];
  for (let i = 0; i < RUNS; i++) {
    const cpu0 = pid === undefined ? undefined : cpuMsOf(pid);
    const run = await cannon(base, spec, dur, conns);
    const cpu1 = pid === undefined ? undefined : cpuMsOf(pid);
    runs.push(run);
    if (cpu0 !== undefined && cpu1 !== undefined && run.requests > 0) cpuRuns.push(((cpu1 - cpu0) * 1000) / run.requests);
  }
  const all = Float64Array.from(runs.flatMap((r) => r.latencies)).sort();
  const statuses = {};
  for (const r of runs) for (const [s, c] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + c;
  return {
    rps: median(runs.map((r) => r.rps)),
    runs: runs.map((r) => +r.rps.toFixed(1)),
    requests: all.length,
    cpuUsPerReq: cpuRuns.length > 0 ? median(cpuRuns) : undefined,
    cpuRuns: cpuRuns.map((c) => Math.round(c)),
    p50: percentile(all, 0.5),
    p99: percentile(all, 0.99),
    max: all.length ? all[all.length - 1] : undefined,
    statuses,
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    timeouts: runs.reduce((n, r) => n + r.timeouts, 0),
  };
}

/**
 * Bare express, started once and kept running (idle between measurements) so that it can be measured right before
 * and after every op: each op's ratio is taken against the mean of those two, not against the start and the end of
 * a run that lasts minutes, during which this shared machine's speed drifts by ±30% or more.
 */
const BARE_VARIANTS = {
  plain: { name: 'bare express', env: {} },
  born: { name: 'bare express, born prototypes', env: { BORN: '1' } },
  express5: { name: 'bare express 5', env: { EXPRESS: '5' } },
};

async function startBareExpress(variant = 'plain') {
  const port = await freePort();
  const { name, env } = BARE_VARIANTS[variant];
  const child = startChild(`bare-express-${variant}`, [path.join(HERE, 'bare-express.mjs')], { PORT: String(port), ...env });
  await waitHealthy(`http://127.0.0.1:${port}/healthz`, child, 30_000);
  return {
    async measure(label, dur = DUR) {
      const m = await measure(`http://127.0.0.1:${port}`, { path: '/' }, CONNS, child.pid, dur);
      log(`${name} (${label}): ${Math.round(m.rps)} req/s, ${fmt(m.cpuUsPerReq)} µs CPU/request, p50 ${m.p50?.toFixed(2)} ms, p99 ${m.p99?.toFixed(2)} ms`);
      return m;
    },
    stop: () => stopChild(child),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The workload.

function randInt(n) {
  return Math.floor(Math.random() * n);
}

function workload(manifest, base) {
  const ids = manifest.userIds;
  const n = ids.length;
  const scim = '/scim/v2';
  const headers = { authorization: `Bearer ${manifest.token}`, 'content-type': 'application/scim+json' };
  const runTag = Date.now().toString(36);
  const patch = (Operations) => JSON.stringify({ schemas: [PATCH_OP], Operations });
  const q = (s) => encodeURIComponent(s);
  let created = 0;
  let putCount = 0;
  let deleted = 0;
  let mixedCount = 0;
  const deepPage = `${scim}/Users?startIndex=${Math.floor(n / 2) + 1}&count=100`;
  // U4 and U4e deprovision users in an order that looks random but takes each user once: a PATCH of a user already
  // inactive changes nothing and writes nothing, so picking at random made a growing share of the requests no-ops —
  // a larger share on fewer users, which made PATCH look cheaper at 100k than at 1M.
  const deprovisions = { taken: 0, wrapped: false, wrappedNote: 'ran out of active users (no-op PATCHes)' };
  // Primes: one of them is coprime to n (below 62 million), and then n steps visit n different users.
  const STRIDE = n % 7_919 === 0 ? 7_907 : 7_919;
  const nextActive = () => {
    const k = deprovisions.taken++;
    if (k >= n) deprovisions.wrapped = true;
    return (k * STRIDE) % n;
  };
  const ops = [
    {
      id: 'U1',
      label: 'POST /Users (unique userName)',
      spec: () => ({
        method: 'POST',
        path: `${scim}/Users`,
        setup: () => {
          const k = created++;
          return { body: JSON.stringify(makeUser(n + k, { userName: `new-${runTag}-${k}@example.com`, externalId: `new-ext-${runTag}-${k}`, emails: [{ value: `new-${runTag}-${k}@example.com`, type: 'work', primary: true }] })) };
        },
      }),
    },
    {
      id: 'U2',
      label: 'GET filter userName eq (existing)',
      spec: () => ({ setup: () => ({ path: `${scim}/Users?filter=${q(`userName eq "user${randInt(n)}@example.com"`)}` }) }),
    },
    {
      id: 'U2b',
      label: 'GET filter userName eq (missing)',
      spec: () => ({ setup: () => ({ path: `${scim}/Users?filter=${q(`userName eq "nobody${randInt(1e9)}@example.com"`)}` }) }),
    },
    { id: 'U3', label: 'GET /Users/{id}', spec: () => ({ setup: () => ({ path: `${scim}/Users/${ids[randInt(n)]}` }) }) },
    {
      id: 'U4',
      label: 'PATCH replace active=false',
      state: deprovisions,
      spec: () => ({ method: 'PATCH', body: patch([{ op: 'replace', path: 'active', value: false }]), setup: () => ({ path: `${scim}/Users/${ids[nextActive()]}` }) }),
    },
    {
      id: 'U4e',
      label: 'PATCH Entra {"op":"Replace","value":"False"}',
      optional: true,
      state: deprovisions,
      spec: () => ({ method: 'PATCH', body: patch([{ op: 'Replace', path: 'active', value: 'False' }]), setup: () => ({ path: `${scim}/Users/${ids[nextActive()]}` }) }),
    },
    {
      id: 'U5',
      label: 'PUT /Users/{id}',
      spec: () => ({
        method: 'PUT',
        setup: () => {
          const i = randInt(n);
          return { path: `${scim}/Users/${ids[i]}`, body: JSON.stringify(makeUser(i, { title: `Title ${putCount++}` })) };
        },
      }),
    },
    {
      id: 'U6',
      label: `GET startIndex=${Math.floor(n / 2) + 1}&count=100`,
      spec: () => ({ path: deepPage }),
    },
    {
      // Not in PERFORMANCE.md §4: paging while an IdP writes, which is what an import next to live provisioning sees.
      id: 'U6w',
      label: 'U6 and PATCH active=false, alternating',
      spec: () => ({
        requests: [
          { path: deepPage },
          // Each PATCH a different user, from the last one back, so that each is a write (U4 picks users at random).
          { method: 'PATCH', body: patch([{ op: 'replace', path: 'active', value: false }]), setup: () => ({ path: `${scim}/Users/${ids[n - 1 - (mixedCount++ % n)]}` }) },
        ],
      }),
    },
    {
      id: 'U7a',
      label: 'GET filter externalId eq',
      spec: () => ({ setup: () => ({ path: `${scim}/Users?filter=${q(`externalId eq "ext-${randInt(n)}"`)}` }) }),
    },
    {
      id: 'U7b',
      label: 'GET filter emails[type eq "work"].value eq',
      spec: () => ({ setup: () => ({ path: `${scim}/Users?filter=${q(`emails[type eq "work"].value eq "user${randInt(n)}@example.com"`)}` }) }),
    },
    {
      id: 'G1',
      label: 'GET /Groups filter displayName eq, excl. members',
      spec: () => ({ setup: () => ({ path: `${scim}/Groups?filter=${q(`displayName eq "${groupDisplayName(randInt(manifest.groups.length))}"`)}&excludedAttributes=members` }) }),
    },
  ];
  for (const g of manifest.large) {
    // Non-members are users size..N-1 (the large groups hold users 0..size-1); the remove phase takes back exactly
    // the members the add phase added, in order, then (if it outruns them) removes non-members, a no-op.
    const added = [];
    let next = g.size;
    let removed = 0;
    const state = { noopRemoves: 0, wrappedAdds: 0 };
    const takeCandidate = () => {
      if (next >= n) {
        next = g.size;
        state.wrappedAdds++;
      }
      return next++;
    };
    for (const c of [CONNS, ...(C1 && CONNS !== 1 ? [1] : [])]) {
      const suffix = c === CONNS ? '' : '@c1';
      ops.push({
        id: `G2-add-${g.label}${suffix}`,
        label: `PATCH add 1 member, ${g.size}-member group`,
        conns: c,
        state,
        spec: () => ({
          method: 'PATCH',
          path: `${scim}/Groups/${g.id}`,
          setup: () => {
            const i = takeCandidate();
            added.push(i);
            return { body: patch([{ op: 'add', path: 'members', value: [{ value: ids[i] }] }]) };
          },
        }),
      });
      ops.push({
        id: `G2-rm-${g.label}${suffix}`,
        label: `PATCH remove members[value eq], ${g.size}-member group`,
        conns: c,
        state,
        spec: () => ({
          method: 'PATCH',
          path: `${scim}/Groups/${g.id}`,
          setup: () => {
            let i;
            if (removed < added.length) i = added[removed++];
            else {
              i = takeCandidate();
              state.noopRemoves++;
            }
            return { body: patch([{ op: 'remove', path: `members[value eq "${ids[i]}"]` }]) };
          },
        }),
      });
    }
  }
  const big = manifest.large[manifest.large.length - 1];
  for (const c of [CONNS, ...(C1 && CONNS !== 1 ? [1] : [])]) {
    ops.push({
      id: `G3${c === CONNS ? '' : '@c1'}`,
      label: `GET /Groups/{id}?excludedAttributes=members (${big.size})`,
      conns: c,
      spec: () => ({ path: `${scim}/Groups/${big.id}?excludedAttributes=members` }),
    });
  }
  ops.push({
    id: 'U8',
    label: 'DELETE /Users/{id} (distinct ids)',
    state: { wrapped: false, wrappedNote: 'ran out of users to delete (404s expected)' },
    spec() {
      const state = this.state;
      return {
        method: 'DELETE',
        setup: () => {
          const k = deleted++;
          if (k >= n) state.wrapped = true;
          return { path: `${scim}/Users/${ids[n - 1 - (k % n)]}` };
        },
      };
    },
  });
  for (const op of ops) {
    const build = op.spec.bind(op);
    op.spec = () => ({ headers, ...build() });
  }
  return { ops, base, headers };
}

/**
 * One request of the op (each of its requests, for one that alternates), outside the measurement: the status and
 * error detail of the first that fails, or of the last, to tell "not supported" from a bug.
 */
async function sample(base, spec) {
  let result;
  for (const part of spec.requests ?? [spec]) {
    const req = { ...part, ...(part.setup ? part.setup() : {}) };
    const t0 = performance.now();
    const res = await fetch(`${base}${req.path}`, { method: req.method ?? 'GET', headers: spec.headers, body: req.body });
    const text = await res.text();
    let detail;
    try {
      detail = JSON.parse(text).detail;
    } catch {
      detail = undefined;
    }
    result = { status: res.status, ms: performance.now() - t0, detail: detail ?? (res.ok ? undefined : text.slice(0, 200)) };
    if (!res.ok) break;
  }
  return result;
}

/**
 * Waits until the server answers /healthz quickly: requests of a slow op that were still queued when its measurement
 * ended must not be billed to the next op.
 */
async function drain(base, maxMs = 300_000) {
  const t0 = performance.now();
  let fast = 0;
  while (performance.now() - t0 < maxMs) {
    const t = performance.now();
    try {
      await fetch(`${base}/healthz`);
    } catch {
      /* keep trying */
    }
    fast = performance.now() - t < 20 ? fast + 1 : 0;
    if (fast >= 3) return (performance.now() - t0) / 1000;
    await sleep(50);
  }
  return (performance.now() - t0) / 1000;
}

// ---------------------------------------------------------------------------------------------------------------

function preload(n = N) {
  log(`preload N=${n}${process.env.BENCH_REBUILD === '1' ? ' (BENCH_REBUILD=1)' : ''}`);
  const r = spawnSync(process.execPath, [...bigHeap(n), path.join(HERE, 'preload.mjs')], {
    cwd: ROOT,
    env: { ...process.env, N: String(n) },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`preload failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop());
}

const fmt = (v, d = 0) => (v === undefined || v === null || Number.isNaN(v) ? '–' : Number(v).toFixed(d));
const mb = (bytes) => (bytes === undefined ? '–' : (bytes / 1048576).toFixed(0));

const ratio = (v) => (v === undefined ? '–' : v < 0.01 ? v.toFixed(4) : v.toFixed(3));

function table(rows) {
  const head = ['op', 'request', 'conns', 'req/s', '× bare', 'CPU µs/req', '× bare CPU', '× born CPU', '× express 5 CPU', 'p50 ms', 'p99 ms', 'non-2xx', 'ELD p99 ms', 'RSS MB', 'note'];
  const body = rows.map((r) => [
    r.op,
    r.label,
    String(r.conns ?? ''),
    fmt(r.rps),
    ratio(r.ratio),
    fmt(r.cpuUs),
    ratio(r.cpuRatio),
    ratio(r.bornCpuRatio),
    ratio(r.express5CpuRatio),
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    r.non2xx === undefined ? '–' : String(r.non2xx + (r.errors ?? 0) + (r.timeouts ?? 0)),
    fmt(r.eldP99, 1),
    mb(r.rss),
    r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i >= 2 && i <= 13 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i >= 2 && i <= 13 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...body.map(line)].join('\n');
}

/** A server for the benchmark: the node flags of its checkout's `npm start`, no rate limit, only warnings logged. */
function startServer(label, root, manifest, dataDir, port, extraArgs = [], n = N) {
  const args = [...bigHeap(n), ...startNodeArgs(root), ...SERVER_NODE_ARGS, ...extraArgs, path.join(root, 'dist', 'src', 'main.js')];
  // RATE_LIMIT_PER_SECOND=0: the bench measures throughput, far above the per-organization SCIM rate limit.
  const env = { ...manifest.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'production', RATE_LIMIT_PER_SECOND: '0' };
  return startChild(label, args, env, { ipc: true, logFile: path.join(RUN_DIR, `${label}.log`) });
}

/**
 * Two servers measured in alternating slices of a few seconds: two runs of `npm run bench` minutes apart differ by
 * ±30% on this shared machine, while two servers measured in turns see the same machine, so their ratio holds.
 * - BASE=<rev>: this checkout against a git revision, built in a temporary worktree with this checkout's
 *   node_modules, both on copies of the same data: what a change costs.
 * - BASE_N=<users>: this checkout on N users against itself on BASE_N users: what scale costs.
 * Each server has its own request generator (its own users' ids, POST names, DELETE ids and group members).
 */
async function sideBySide(pre, manifest) {
  const git = (...args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const baseRoot = BASE ? path.join(BENCH_DIR, `base-${stamp}`) : undefined;
  let servers = [];
  try {
    if (baseRoot) {
      const added = git('worktree', 'add', '--detach', baseRoot, BASE);
      if (added.status !== 0) throw new Error(`cannot check out ${BASE}: ${added.stderr.trim()}`);
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(baseRoot, 'node_modules'));
      const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: baseRoot, encoding: 'utf8' });
      if (built.status !== 0) throw new Error(`cannot build ${BASE}: ${(built.stdout + built.stderr).trim().slice(0, 500)}`);
    }
    const basePre = BASE_N ? preload(BASE_N) : pre;
    const contenders = [
      { label: 'base', root: baseRoot ?? ROOT, pre: basePre, n: BASE_N ?? N },
      { label: 'this', root: ROOT, pre, n: N },
    ];
    const what = BASE ? `${BASE} (${git('rev-parse', '--short', BASE).stdout.trim()})` : `this working tree on N=${BASE_N}`;
    // Per op, over all pairs: each server's CPU a request in every slice, and the median of each pair's slices.
    const results = new Map();
    for (let pair = 0; pair < PAIRS; pair++) {
      // Each pair starts both servers afresh on fresh copies of the data: two processes differ by a few percent
      // (where their heaps landed), which more slices of the same two processes do not average out.
      servers = [];
      rmSync(RUN_DIR, { recursive: true, force: true });
      mkdirSync(RUN_DIR, { recursive: true });
      for (const { label, root, pre: data, n } of contenders) {
        const dataDir = path.join(RUN_DIR, label);
        cpSync(data.dir, dataDir, { recursive: true, filter: (src) => !src.endsWith('manifest.json') });
        const serverManifest = data === pre ? manifest : JSON.parse(readFileSync(data.manifest, 'utf8'));
        const port = await freePort();
        const url = `http://127.0.0.1:${port}`;
        const child = startServer(label, root, serverManifest, dataDir, port, [], n);
        servers.push({ label, child, url, ops: workload(serverManifest, url).ops });
      }
      for (const server of servers) await waitHealthy(`${server.url}/healthz`, server.child, 600_000);
      log(`both servers up${PAIRS > 1 ? ` (pair ${pair + 1} of ${PAIRS})` : ''}: base = ${what}, this = the working tree on N=${N}`);
      for (const op of selectedOps(servers[1].ops)) {
        // The same op on each server, from that server's own request generator.
        const own = new Map(servers.map((server) => [server, server.ops.find((o) => o.id === op.id)]));
        const specs = new Map(servers.map((server) => [server, own.get(server).spec()]));
        const conns = op.conns ?? CONNS;
        const cpu = { base: [], this: [] };
        let non2xx = 0;
        for (const server of servers) {
          await drain(server.url);
          await cannon(server.url, specs.get(server), Math.max(WARM, 2 * SLICE), conns);
        }
        for (let i = 0; i < SLICES; i++) {
          for (const server of i % 2 === 0 ? servers : [...servers].reverse()) {
            const before = cpuMsOf(server.child.pid);
            const r = await cannon(server.url, specs.get(server), SLICE, conns);
            non2xx += r.non2xx;
            if (r.requests > 0) cpu[server.label].push(((cpuMsOf(server.child.pid) - before) * 1000) / r.requests);
          }
        }
        const states = servers.map((server) => ({ label: server.label, state: own.get(server).state }));
        const noopRemoves = states.reduce((sum, { state }) => sum + (state?.noopRemoves ?? 0), 0);
        const notes = [
          non2xx ? `${non2xx} non-2xx` : '',
          noopRemoves ? `${noopRemoves} removes of non-members` : '',
          ...states.filter(({ state }) => state?.wrapped).map(({ label, state }) => `${label}: ${state.wrappedNote}`),
        ].filter(Boolean);
        const ratioOfPair = median(cpu.this) / median(cpu.base);
        log(`${op.id.padEnd(14)} base ${fmt(median(cpu.base))} µs/req  this ${fmt(median(cpu.this))} µs/req  this/base ${ratio(ratioOfPair)}${notes.length ? `  (${notes.join('; ')})` : ''}`);
        const result = results.get(op.id) ?? { op: op.id, label: op.label, slices: { base: [], this: [] }, pairs: [], notes: [] };
        result.slices.base.push(...cpu.base);
        result.slices.this.push(...cpu.this);
        result.pairs.push(ratioOfPair);
        result.notes.push(...notes.map((note) => (PAIRS > 1 ? `pair ${pair + 1}: ${note}` : note)));
        results.set(op.id, result);
      }
      for (const server of servers) await stopChild(server.child, 10_000);
      servers = [];
    }
    const rows = [...results.values()].map((r) => ({ ...r, base: median(r.slices.base), this: median(r.slices.this), note: r.notes.join('; ') }));
    for (const row of rows) row.ratio = row.this / row.base;
    const slices = (xs) => xs.map((x) => fmt(x)).join(' ');
    // For BASE_N the last column is PERFORMANCE.md §5's scale figure: throughput on N users over throughput on BASE_N,
    // CPU-bound as the server is here (pinned to one CPU), i.e. base CPU over this CPU.
    const against = BASE ? `against ${BASE}; N=${N} users` : `on N=${N} users against itself on BASE_N=${BASE_N}`;
    const pairs = PAIRS > 1 ? `, ${PAIRS} pairs of servers started afresh (medians over all their slices; "pairs" gives each pair's this / base)` : '';
    console.log(`\nSide by side — this working tree ${against}, ${CONNS} connections, ${SLICES} alternating slices of ${SLICE} s per server${pairs}; CPU µs per request, median of the slices\n`);
    console.log(`| op | request | base | this | this / base | ${BASE_N ? 'throughput this / base | ' : ''}${PAIRS > 1 ? 'pairs | ' : ''}slices base | slices this | note |`);
    console.log(`|----|---------|-----:|-----:|------------:|${BASE_N ? '-----------------------:|' : ''}${PAIRS > 1 ? '------|' : ''}-------------|-------------|------|`);
    for (const r of rows) {
      const byPair = PAIRS > 1 ? `${r.pairs.map((x) => ratio(x)).join(' ')} | ` : '';
      console.log(`| ${r.op} | ${r.label} | ${fmt(r.base)} | ${fmt(r.this)} | ${ratio(r.ratio)} | ${BASE_N ? `${ratio(1 / r.ratio)} | ` : ''}${byPair}${slices(r.slices.base)} | ${slices(r.slices.this)} | ${r.note} |`);
    }
  } finally {
    for (const server of servers) await stopChild(server.child, 10_000);
    if (baseRoot) git('worktree', 'remove', '--force', baseRoot);
    if (process.env.KEEP_DATA !== '1') rmSync(RUN_DIR, { recursive: true, force: true });
  }
}

async function main() {
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'main.js'))) throw new Error('dist/src/main.js missing: run `npm run build` (npm run bench does)');
  mkdirSync(BENCH_DIR, { recursive: true });
  if (PIN) spawnSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
  log(`N=${N} CONNS=${CONNS} DUR=${DUR}s RUNS=${RUNS} WARM=${WARM}s; server: node ${[...bigHeap(N), ...START_NODE_ARGS, ...SERVER_NODE_ARGS].join(' ')}${PIN ? ' (server on CPU 1, load generator on CPU 0)' : ''}${QUICK ? ' [BENCH_QUICK]' : ''}`);

  const pre = preload();
  const manifest = JSON.parse(readFileSync(pre.manifest, 'utf8'));
  if (BASE || BASE_N) return sideBySide(pre, manifest);
  const results = [];
  const out = createWriteStream(RESULTS);
  const write = (row) => out.write(`${JSON.stringify({ ts: stamp, n: N, ...row })}\n`);

  const bareExpress = await startBareExpress();
  const bareBefore = await bareExpress.measure('before');
  const others = { born: await startBareExpress('born'), express5: await startBareExpress('express5') };

  mkdirSync(RUN_DIR, { recursive: true });
  const dataDir = path.join(RUN_DIR, 'data');
  const tCopy = performance.now();
  cpSync(pre.dir, dataDir, { recursive: true, filter: (src) => !src.endsWith('manifest.json') });
  log(`copied the data directory in ${((performance.now() - tCopy) / 1000).toFixed(1)} s`);

  const port = await freePort();
  const profDir = path.join(BENCH_DIR, `prof-${stamp}`);
  const server = startServer('server', ROOT, manifest, dataDir, port, ['-r', path.join(HERE, 'probe.cjs'), ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])]);
  let bareAfter;
  try {
    const startSec = await waitHealthy(`http://127.0.0.1:${port}/healthz`, server, 600_000);
    const rssStart = rssOf(server.pid);
    log(`server up in ${startSec.toFixed(1)} s, RSS ${mb(rssStart)} MB (${((rssStart ?? 0) / N / 1024).toFixed(2)} KB per user incl. groups)`);
    const base = `http://127.0.0.1:${port}`;
    const { ops } = workload(manifest, base);
    const selected = selectedOps(ops);

    const bareBetween = [];
    const bareNow = async (label) => {
      const m = await bareExpress.measure(label, BARE_DUR);
      bareBetween.push(m);
      for (const [variant, other] of Object.entries(others)) m[variant] = await other.measure(label, BARE_DUR);
      return m;
    };
    let bareLast;
    for (const op of selected) {
      const spec = op.spec();
      bareLast ??= await bareNow(`before ${op.id}`);
      const drained = await drain(base);
      if (drained > 1) log(`waited ${drained.toFixed(1)} s for the server to finish queued requests`);
      const first = await sample(base, spec);
      const row = { op: op.id, label: op.label, conns: op.conns ?? CONNS, sampleMs: first.ms, sampleStatus: first.status };
      if (first.status >= 300) {
        if (op.optional && first.status === 400) {
          row.note = `not supported yet (400: ${first.detail ?? ''})`.slice(0, 120);
          log(`${op.id}: ${row.note}; not measured`);
          results.push(row);
          write({ kind: 'op', ...row, sample: first });
          continue;
        }
        log(`${op.id}: a single request answered ${first.status} ${first.detail ?? ''}; measuring anyway`);
        row.note = `sample ${first.status}: ${first.detail ?? ''}`.slice(0, 120);
      }
      await probe(server, 'reset');
      const m = await measure(base, spec, row.conns, server.pid);
      const eld = await probe(server, 'stats');
      Object.assign(row, { rps: m.rps, cpuUs: m.cpuUsPerReq, p50: m.p50, p99: m.p99, max: m.max, non2xx: m.non2xx, errors: m.errors, timeouts: m.timeouts, statuses: m.statuses, runs: m.runs, cpuRuns: m.cpuRuns, requests: m.requests, eldP99: eld?.eldP99, eldMax: eld?.eldMax, rss: rssOf(server.pid), heapUsed: eld?.heapUsed });
      if (m.requests < 20) row.note = `${row.note ? `${row.note}; ` : ''}only ${m.requests} answers in ${RUNS}×${DUR} s; one request alone took ${Math.round(first.ms)} ms`;
      if (op.state?.noopRemoves) row.note = `${row.note ? `${row.note}; ` : ''}${op.state.noopRemoves} removes of non-members`;
      if (op.state?.wrappedAdds) row.note = `${row.note ? `${row.note}; ` : ''}ran out of non-members (re-adds)`;
      if (op.state?.wrapped) row.note = `${row.note ? `${row.note}; ` : ''}${op.state.wrappedNote}`;
      if (m.non2xx > 0) {
        const bad = Object.entries(m.statuses).filter(([s]) => s < 200 || s >= 300).map(([s, c]) => `${c}×${s}`).join(' ');
        row.note = `${row.note ? `${row.note}; ` : ''}${bad}`;
      }
      const bareNext = await bareNow(`after ${op.id}`);
      row.bareRps = (bareLast.rps + bareNext.rps) / 2;
      if (bareLast.cpuUsPerReq !== undefined && bareNext.cpuUsPerReq !== undefined) row.bareCpuUs = (bareLast.cpuUsPerReq + bareNext.cpuUsPerReq) / 2;
      for (const variant of Object.keys(others)) {
        const [last, next] = [bareLast[variant].cpuUsPerReq, bareNext[variant].cpuUsPerReq];
        if (last !== undefined && next !== undefined) row[`${variant}CpuUs`] = (last + next) / 2;
      }
      bareLast = bareNext;
      log(`${op.id.padEnd(14)} ${fmt(m.rps).padStart(6)} req/s  ${fmt(m.cpuUsPerReq).padStart(6)} µs CPU/req  p50 ${fmt(m.p50, 2)} ms  p99 ${fmt(m.p99, 2)} ms  non-2xx ${m.non2xx}  ELD p99 ${fmt(eld?.eldP99, 1)} ms`);
      results.push(row);
    }
    const rssEnd = rssOf(server.pid);
    bareAfter = bareLast ?? (await bareExpress.measure('after'));
    await bareExpress.stop();
    for (const other of Object.values(others)) await other.stop();
    const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
    const bare = mean(bareBetween.map((b) => b.rps)) ?? bareBefore.rps;
    const bareCpu = mean(bareBetween.map((b) => b.cpuUsPerReq).filter((c) => c !== undefined)) ?? bareBefore.cpuUsPerReq;
    const bareRange = bareBetween.length ? `${fmt(Math.min(...bareBetween.map((b) => b.rps)))}–${fmt(Math.max(...bareBetween.map((b) => b.rps)))}` : '–';
    for (const row of results) {
      if (row.rps !== undefined && row.bareRps) row.ratio = row.rps / row.bareRps;
      if (row.cpuUs && row.bareCpuUs) row.cpuRatio = row.bareCpuUs / row.cpuUs;
      for (const variant of Object.keys(others)) if (row.cpuUs && row[`${variant}CpuUs`]) row[`${variant}CpuRatio`] = row[`${variant}CpuUs`] / row.cpuUs;
    }
    const otherCpu = (variant) => mean(bareBetween.map((b) => b[variant].cpuUsPerReq).filter((c) => c !== undefined));
    const otherRps = (variant) => bareBetween.map((b) => Math.round(b[variant].rps));

    const meta = {
      kind: 'meta',
      n: N,
      conns: CONNS,
      dur: DUR,
      runs: RUNS,
      warm: WARM,
      pinned: PIN,
      node: process.version,
      dataset: manifest.counts,
      large: manifest.large.map((g) => ({ label: g.label, size: g.size })),
      preload: { ...manifest.preload, reused: pre.reused },
      serverStartSec: +startSec.toFixed(2),
      rssStart,
      rssEnd,
      bare: { before: bareBefore.rps, after: bareAfter.rps, between: bareBetween.map((b) => Math.round(b.rps)), mean: bare, cpuUsPerReq: bareCpu, p50: bareBefore.p50, p99: bareBefore.p99 },
      bareBorn: { between: otherRps('born'), cpuUsPerReq: otherCpu('born') },
      bareExpress5: { between: otherRps('express5'), cpuUsPerReq: otherCpu('express5') },
    };
    write(meta);
    for (const row of results) write({ kind: 'op', ...row });
    write({ kind: 'baseline', label: 'bare express 4 (before)', ...bareBefore });
    write({ kind: 'baseline', label: 'bare express 4 (after)', ...bareAfter });

    const p = manifest.preload;
    console.log(`\nSCIM server benchmark — N=${N} users, ${manifest.counts.groups} groups, ${manifest.counts.memberships} memberships; ${CONNS} connections, ${RUNS}×${DUR} s after ${WARM} s warm-up; node ${process.version}${PIN ? '; server pinned to CPU 1, autocannon to CPU 0' : ''}`);
    console.log(`preload: ${p.usersPerSec} users/s, ${p.membershipsPerSec} memberships/s, ${p.totalSec} s total${pre.reused ? ' (cached directory reused)' : ''}; server start (load ${N} users) ${startSec.toFixed(1)} s`);
    console.log(`bare express 4: ${Math.round(bareBefore.rps)} req/s at the start; ${bareRange} req/s between ops (mean ${fmt(bare)}, ${fmt(bareCpu)} µs CPU/request); each op's ratios are to the bare express measurements just before and just after it`);
    console.log(`bare express served like the server (requests born with express's prototypes, src/http/server.ts): ${fmt(otherCpu('born'))} µs CPU/request; "× born CPU" is each op's ratio to it, measured the same way`);
    console.log(`bare express 5 (the baseline of PERFORMANCE.md §5's targets): ${fmt(otherCpu('express5'))} µs CPU/request; "× express 5 CPU" is each op's ratio to it, measured the same way`);
    console.log(`server RSS: ${mb(rssStart)} MB after start (${((rssStart ?? 0) / N / 1024).toFixed(2)} KB/user incl. groups), ${mb(rssEnd)} MB after the run\n`);
    console.log(table(results));
    console.log(`\nresults: ${path.relative(ROOT, RESULTS)}`);
  } finally {
    out.end();
    await stopChild(server, CPU_PROF ? 120_000 : 10_000);
    if (CPU_PROF) log(`CPU profile in ${path.relative(ROOT, profDir)}`);
    try {
      cpSync(path.join(RUN_DIR, 'server.log'), path.join(BENCH_DIR, `server-${stamp}.log`));
    } catch {
      /* no log */
    }
    if (process.env.KEEP_DATA !== '1') rmSync(RUN_DIR, { recursive: true, force: true });
    else log(`kept ${path.relative(ROOT, RUN_DIR)}`);
  }
}

main().catch((error) => {
  log(`failed: ${error?.stack ?? error}`);
  killAllNow();
  process.exit(1);
});
