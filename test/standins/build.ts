// Builds the stand-in executables into a binaries folder under the real binaries' names. Each is one
// self-contained python3 file (test hosts have python3, not node): the flag table of its Kubernetes
// minor, the shared stand-in library, then the component's own script.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagsFor, type FlagComponent } from '../../src/render/flags.js';
import { minorOf } from '../../src/versions.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** Stand-ins for the Kubernetes components no registry here offers, each checked against its minor's flag table. */
export const STANDINS: readonly { readonly binary: FlagComponent; readonly script: string }[] = [
  { binary: 'kube-apiserver', script: 'kube-apiserver-standin.py' },
  { binary: 'kube-controller-manager', script: 'kube-client-component-standin.py' },
  { binary: 'kube-scheduler', script: 'kube-client-component-standin.py' },
  { binary: 'kube-proxy', script: 'kube-client-component-standin.py' },
  { binary: 'kubelet', script: 'kubelet-standin.py' },
];

export const buildStandins = async (binariesDir: string, kubernetesVersion: string): Promise<void> => {
  const common = await readFile(join(HERE, 'standin_common.py'), 'utf8');
  for (const s of STANDINS) {
    const table = [...flagsFor(minorOf(kubernetesVersion), s.binary).values()];
    const header = [
      '#!/usr/bin/env python3',
      `# STAND-IN for ${s.binary} ${kubernetesVersion}, built by test/standins/build.ts from ${s.script}: not the real binary.`,
      `COMPONENT = ${JSON.stringify(s.binary)}`,
      // What --version prints and the component reports (the API server's /version), as the real release's.
      `VERSION = ${JSON.stringify(`v${kubernetesVersion}`)}`,
      // name -> deprecated?, as a Python literal
      `FLAGS = {${table.map((f) => `${JSON.stringify(f.name)}: ${f.deprecated ? 'True' : 'False'}`).join(', ')}}`,
    ].join('\n');
    const body = (await readFile(join(HERE, s.script), 'utf8')).replace(/^#!.*\n/, '');
    const path = join(binariesDir, s.binary);
    await writeFile(path, `${header}\n${common}\n${body}`);
    await chmod(path, 0o755);
  }
};
