// The deploy, in order: read the list to read the story of an install.
import type { Phase } from '../types.js';
import { connectPhase } from './connect.js';
import { factsPhase } from './facts.js';
import { preflightPhase } from './preflight.js';
import { preparePhase } from './prepare.js';
import { uploadPhase } from './upload.js';
import { etcdPhase } from './etcd.js';
import { controlPlanePhase } from './control-plane.js';
import { nodesPhase } from './nodes.js';
import { verifyPhase } from './verify.js';

export const PHASES: readonly Phase[] = [
  connectPhase,
  factsPhase,
  preflightPhase,
  preparePhase,
  uploadPhase,
  etcdPhase,
  controlPlanePhase,
  nodesPhase,
  verifyPhase,
];
