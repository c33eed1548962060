// ws_watch_node.mjs - @kubernetes/client-node 1.4.0's Watch measured the way
// bench/ws_watch_bench.c measures our two watch transports (part 5 of `make bench`).
//
// Usage: node --expose-gc bench/ws_watch_node.mjs KUBECONFIG WATCHES EVENTS
//
// Opens WATCHES watches on foos from the current resourceVersion (all on one event loop, as
// node does), prints "ready" once every one has its 200, then counts events until
// WATCHES * EVENTS arrived (an outside writer creates EVENTS Foos) and prints
//   rss_per_watch  (RSS once ready - RSS before the first watch, after gc()) / WATCHES, bytes
//   cpu_per_event  process.cpuUsage() over the event phase / events, microseconds
//   events         events received
// Exit 1 on a watch error or when the events do not all arrive within EVENTS_TIMEOUT_MS.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const E2E_NODE = new URL('../test/e2e/node/package.json', import.meta.url);
const CLIENT_NODE = createRequire(E2E_NODE).resolve('@kubernetes/client-node');
const k8s = await import(pathToFileURL(CLIENT_NODE).href);

const FOOS = '/apis/demo.example.com/v1beta1/foos';
const EVENTS_TIMEOUT_MS = 300000;
const POLL_MS = 5;

const [kubeconfig, watchesArg, eventsArg] = process.argv.slice(2);
const watches = Number(watchesArg);
const perWatch = Number(eventsArg);

function fail(msg) {
    process.stderr.write(`ws_watch_node: ${msg}\n`);
    process.exit(1);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const api = kc.makeApiClient(k8s.CustomObjectsApi);
const list = await api.listClusterCustomObject({
    group: 'demo.example.com',
    version: 'v1beta1',
    plural: 'foos',
    limit: 1,
});
const rv = list.metadata.resourceVersion;

let events = 0;
let stopping = false;
const w = new k8s.Watch(kc);
globalThis.gc();
const rss0 = process.memoryUsage().rss;
const controllers = await Promise.all(
    Array.from({ length: watches }, () =>
        w.watch(FOOS, { resourceVersion: rv, timeoutSeconds: 3600 }, () => events++, (err) => {
            if (!stopping) fail(`watch ended: ${err ? err.message : 'closed'}`);
        })
    )
);
globalThis.gc();
const rss1 = process.memoryUsage().rss;
process.stdout.write('ready\n');

const cpu0 = process.cpuUsage();
const deadline = Date.now() + EVENTS_TIMEOUT_MS;
while (events < watches * perWatch && Date.now() < deadline) await sleep(POLL_MS);
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`rss_per_watch ${Math.round((rss1 - rss0) / watches)} B\n`);
process.stdout.write(`cpu_per_event ${((cpu.user + cpu.system) / Math.max(events, 1)).toFixed(2)} us\n`);
process.stdout.write(`events ${events}\n`);
stopping = true;
for (const c of controllers) c.abort();
if (events < watches * perWatch) fail(`${events} of ${watches * perWatch} events arrived`);
process.exit(0);
