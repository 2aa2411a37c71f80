// ctr on a kubelet host: the commands deploy runs and what it reads from their output.
import { normalizeImageName } from '../images/archive.js';
import { binPath, HOST_PATHS } from '../render/paths.js';
import type { PlannedImageArchive } from '../render/types.js';
import { quote } from '../util/shell.js';

/** The containerd namespace of the CRI plugin: images elsewhere are invisible to the kubelet. */
export const CRI_NAMESPACE = 'k8s.io';

const ctr = (binary: string): string => `${binary} --address ${HOST_PATHS.containerdSocket} -n ${CRI_NAMESPACE}`;
export const CTR = ctr(binPath('ctr'));

export const listImagesCommand = `${CTR} images ls`;
export const importImageCommand = (a: PlannedImageArchive): string => `${CTR} images import ${quote(a.path)}`;

/** A containerd that hangs must not hold the facts (which every deploy gathers) forever. */
const FACTS_CTR_TIMEOUT = '10s';

/**
 * The facts' question, asked before our ctr may be installed: whatever ctr the host has, when containerd
 * runs; `image=<line>` per line of `ctr images ls`.
 */
export const factsImagesScript = [
  `if [ -S ${HOST_PATHS.containerdSocket} ]; then`,
  `  c=${binPath('ctr')}; [ -x "$c" ] || c=$(command -v ctr)`,
  `  [ -n "$c" ] && ${ctr('"$c"')} --timeout ${FACTS_CTR_TIMEOUT} images ls 2>/dev/null | while IFS= read -r line; do echo "image=$line"; done`,
  'fi',
].join('\n');

/** `ctr images ls` rows (REF TYPE DIGEST SIZE PLATFORMS LABELS): image name -> digest. */
export const parseImageList = (lines: readonly string[]): Map<string, string> =>
  new Map(
    lines.flatMap((line) => {
      const [ref, , digest] = line.trim().split(/\s+/);
      return ref && ref !== 'REF' && digest?.startsWith('sha256:') ? [[ref, digest] as const] : [];
    }),
  );

/** Whether `name` (as an inventory or a manifest spells it) is among the images listed. */
export const listsImage = (present: ReadonlyMap<string, string>, name: string): boolean => present.has(name) || present.has(normalizeImageName(name));
