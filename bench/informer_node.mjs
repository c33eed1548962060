// informer_node.mjs - @kubernetes/client-node 1.4.0's informer (makeInformer) measured the way
// bench/informer_bench.c measures ours, for `make bench` to print them side by side.
//
// Usage: node --expose-gc bench/informer_node.mjs KUBECONFIG COUNT
//
// The COUNT Foos must already exist. The program
//   1. builds the client and the informer, runs gc() and reads process.memoryUsage();
//   2. starts the informer (one full LIST, then a watch) and times it until start() resolves;
//   3. runs gc() again and prints the heap and RSS growth per cached Foo;
//   4. prints "ready", then counts the UPDATE events made by an outside writer (bench/patch.lua)
//      until it reads "stop W" on stdin (W = writes the writer saw acknowledged), waits (bounded)
//      for W updates plus a short quiet time, and prints updates / (last - first update) and the
//      process's CPU time per update over that phase (process.cpuUsage()).
// Output: one "name value unit" line per measure (the names of informer_bench.c where they mean
// the same thing). Exit 1 on an informer error or a short store.
//
// client-node is the copy scripts/install-deps.sh installs (npm ci) into test/e2e/node/; it is
// resolved from there, not from a second install.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const E2E_NODE = new URL('../test/e2e/node/package.json', import.meta.url);
const CLIENT_NODE = createRequire(E2E_NODE).resolve('@kubernetes/client-node');
const k8s = await import(pathToFileURL(CLIENT_NODE).href);

const FOOS = '/apis/demo.example.com/v1beta1/foos';
const LIVE_DRAIN_TIMEOUT_MS = 20000; // bound on the wait for the writer's events
const LIVE_QUIET_MS = 300; // then this long for writes the writer did not count
const POLL_MS = 10;

function out(name, value, unit = '') {
    process.stdout.write(`${name} ${value}${unit ? ' ' + unit : ''}\n`);
}

function fail(msg) {
    process.stderr.write(`informer_node: ${msg}\n`);
    process.exit(1);
}

// Heap and RSS after a full collection, so the growth counts live objects only.
function memory() {
    globalThis.gc();
    const m = process.memoryUsage();
    return { heap: m.heapUsed, rss: m.rss };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The first line of stdin, or null at end of input.
function readLine() {
    return new Promise((resolve) => {
        const rl = createInterface({ input: process.stdin });
        rl.once('line', (line) => {
            resolve(line); // first: close() emits 'close' at once
            rl.close();
        });
        rl.once('close', () => resolve(null));
    });
}

async function main() {
    const [kubeconfig, countArg] = process.argv.slice(2);
    const count = Number(countArg);
    if (!kubeconfig || !(count > 0)) {
        fail('usage: node --expose-gc informer_node.mjs KUBECONFIG COUNT');
    }
    if (typeof globalThis.gc !== 'function') fail('run with --expose-gc');

    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const listFn = () =>
        api.listClusterCustomObject({
            group: 'demo.example.com',
            version: 'v1beta1',
            plural: 'foos',
        });
    const informer = k8s.makeInformer(kc, FOOS, listFn);
    const live = { updates: 0, first: 0, last: 0 };
    informer.on(k8s.UPDATE, () => {
        const t = performance.now();
        if (live.updates++ === 0) live.first = t;
        live.last = t;
    });
    let stopping = false; // stop() aborts the watch, which the informer reports as an error
    informer.on(k8s.ERROR, (err) => {
        if (!stopping) fail(`informer error: ${err?.message ?? err}`);
    });

    const before = memory();
    const t0 = performance.now();
    await informer.start();
    const syncS = (performance.now() - t0) / 1000;
    const after = memory();
    const cached = informer.list().length;
    if (cached !== count) fail(`store holds ${cached} Foos, expected ${count}`);
    out('sync_list_seconds', syncS.toFixed(3), 's');
    out('sync_list_objects_per_s', (cached / syncS).toFixed(0), 'obj/s');
    out('store_objects', cached);
    out('heap_delta', ((after.heap - before.heap) / 1024).toFixed(0), 'KiB');
    out('heap_per_obj', ((after.heap - before.heap) / cached).toFixed(0), 'B');
    out('rss_delta', ((after.rss - before.rss) / 1024).toFixed(0), 'KiB');
    out('rss_per_obj', ((after.rss - before.rss) / cached).toFixed(0), 'B');

    live.updates = 0;
    process.stdout.write('ready\n');
    const cpu0 = process.cpuUsage();
    const line = await readLine();
    const m = /^stop (\d+)$/.exec(line ?? '');
    if (!m) fail('expected "stop W" on stdin');
    const acked = Number(m[1]);
    const deadline = performance.now() + LIVE_DRAIN_TIMEOUT_MS;
    while (live.updates < acked && performance.now() < deadline) await sleep(POLL_MS);
    await sleep(LIVE_QUIET_MS);
    const cpu = process.cpuUsage(cpu0);
    const spanS = (live.last - live.first) / 1000;
    out('live_writes_acked', acked);
    out('live_events', live.updates);
    out('live_events_per_s', (spanS > 0 ? live.updates / spanS : 0).toFixed(0), 'ev/s');
    const cpuUs = cpu.user + cpu.system;
    out('live_cpu_us_per_event', (live.updates > 0 ? cpuUs / live.updates : 0).toFixed(1), 'us');
    stopping = true;
    await informer.stop();
    process.exit(0);
}

await main();
