// The A/B benchmark's server child: another checkout's bench server child (argv[2]: that checkout's root), plus a
// 'heap' message (heap used and the GCs seen so far) for bytes allocated per request. Started by test/bench/ab.ts.
import { PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const tree = process.argv[2] ?? '.';
process.argv.splice(2, 1);
let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });
process.on('message', (message: { type?: string }) => {
  if (message.type === 'heap') process.send?.({ type: 'heap', used: process.memoryUsage().heapUsed, gcs });
});
await import(pathToFileURL(join(tree, 'test', 'bench', 'lib', 'server-child.ts')).href);
