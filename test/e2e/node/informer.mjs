// A @kubernetes/client-node informer (makeInformer) on /apis/demo.example.com/v1beta1/foos, driven
// by test/e2e/test_client_node.py.
//
// Usage: node informer.mjs KUBECONFIG
//
// Prints one JSON object per line on stdout, for the test to wait on:
//   {"event":"connect"}                         the informer (re)lists or (re)watches
//   {"event":"add"|"update"|"delete","name":N,"rv":RV,"replicas":R}
//   {"event":"error","message":M}               a list/watch failed; the informer is restarted
//   {"event":"started"}                         the first list is done and the watch is open
// Exits when stdin closes.
import * as k8s from '@kubernetes/client-node';

const GROUP = 'demo.example.com';
const VERSION = 'v1beta1';
const PLURAL = 'foos';
const RESTART_DELAY_MS = 200; // what an application does on an informer error: start again

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

const kubeconfig = process.argv[2];
if (!kubeconfig) {
    process.stderr.write('usage: node informer.mjs KUBECONFIG\n');
    process.exit(2);
}
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const api = kc.makeApiClient(k8s.CustomObjectsApi);
const listFn = () => api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL });
const informer = k8s.makeInformer(kc, `/apis/${GROUP}/${VERSION}/${PLURAL}`, listFn);

for (const verb of [k8s.ADD, k8s.UPDATE, k8s.DELETE]) {
    informer.on(verb, (obj) =>
        emit({
            event: verb,
            name: obj.metadata?.name,
            rv: obj.metadata?.resourceVersion,
            replicas: obj.spec?.replicas,
        }),
    );
}
informer.on(k8s.CONNECT, () => emit({ event: 'connect' }));
informer.on(k8s.ERROR, (err) => {
    emit({ event: 'error', message: String(err?.message ?? err) });
    setTimeout(() => {
        informer.start().catch((e) => emit({ event: 'error', message: String(e?.message ?? e) }));
    }, RESTART_DELAY_MS);
});

process.stdin.on('end', () => {
    informer.stop();
    process.exit(0);
});
process.stdin.resume();

await informer.start();
emit({ event: 'started' });
