// Before the fault tests: the same cluster and registered volume-guard as the end-to-end suite. When the e2e
// project runs in the same vitest run (`npm test`), its global setup has already started them: the fault project
// reuses what it provided (a second volume-guard would replace the first one's webhook registration). Run alone
// (`npm run test:fault`), it starts them itself with the e2e setup.
import type { TestProject } from 'vitest/node';
import setupEndToEnd from '../e2e/global-setup.ts';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // vitest runs the global setups of the projects in the order the config lists them: e2e first.
  const provided = project.vitest.projects.find((other) => other.name === 'e2e')?.getProvidedContext();
  if (provided?.cluster && provided.guard) {
    project.provide('cluster', provided.cluster);
    project.provide('guard', provided.guard);
    return undefined;
  }
  return setupEndToEnd(project);
}
