// Builds the stand-in executables into a binaries folder under the real binaries' names. Each is one
// self-contained python3 file (test hosts have python3, not node): the flag table of its Kubernetes
// minor, the shared stand-in library, then the component's own script.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagsFor, type FlagComponent } from '../../src/render/flags.js';
import { minorOf } from '../../src/versions.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** Real binary name -> stand-in script, and the flag table it must honour (none for containerd). */
export const STANDINS: readonly { readonly binary: string; readonly script: string; readonly flags?: FlagComponent }[] = [
  { binary: 'kube-apiserver', script: 'kube-apiserver-standin.py', flags: 'kube-apiserver' },
  { binary: 'kube-controller-manager', script: 'kube-client-component-standin.py', flags: 'kube-controller-manager' },
  { binary: 'kube-scheduler', script: 'kube-client-component-standin.py', flags: 'kube-scheduler' },
  { binary: 'kubelet', script: 'kubelet-standin.py', flags: 'kubelet' },
  { binary: 'kube-proxy', script: 'kube-client-component-standin.py', flags: 'kube-proxy' },
  { binary: 'kubectl', script: 'kubectl-standin.py' },
  { binary: 'containerd', script: 'containerd-standin.py' },
  { binary: 'containerd-shim-runc-v2', script: 'inert-standin.py' },
  { binary: 'runc', script: 'inert-standin.py' },
];

export const buildStandins = async (binariesDir: string, kubernetesVersion: string): Promise<void> => {
  const common = await readFile(join(HERE, 'standin_common.py'), 'utf8');
  for (const s of STANDINS) {
    const table = s.flags ? [...flagsFor(minorOf(kubernetesVersion), s.flags).values()] : [];
    const header = [
      '#!/usr/bin/env python3',
      `# STAND-IN for ${s.binary} ${kubernetesVersion}, built by test/standins/build.ts from ${s.script}: not the real binary.`,
      `COMPONENT = ${JSON.stringify(s.binary)}`,
      `FLAGS = ${JSON.stringify(Object.fromEntries(table.map((f) => [f.name, f.deprecated])))}`,
      `CHECK_FLAGS = ${s.flags ? 'True' : 'False'}`,
    ].join('\n');
    const body = (await readFile(join(HERE, s.script), 'utf8')).replace(/^#!.*\n/, '');
    const path = join(binariesDir, s.binary);
    await writeFile(path, `${header}\n${common}\n${body}`);
    await chmod(path, 0o755);
  }
};
