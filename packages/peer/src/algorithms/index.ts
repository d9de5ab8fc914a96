import type { AlgorithmName } from '@cubecast/protocol';
import type { AlgorithmFactory } from '../engine/algorithm.js';
import { cubeRouting } from './cube-routing.js';
import { gossip } from './gossip.js';
import { networkCoding } from './network-coding.js';
import { serviceFlow } from './service-flow.js';
import { randomTree, stressTree, unicastTree } from './stress-tree.js';

/**
 * The overlay algorithms built into the app, one module each in this folder, by the names
 * deployments choose them by (protocol's ALGORITHM_NAMES: the type makes both lists agree).
 * Only these run: a room names one, a visitor never sends code.
 */
export const ALGORITHMS: { readonly [Name in AlgorithmName]: AlgorithmFactory } = {
  cube: cubeRouting,
  gossip,
  coding: networkCoding,
  'stress-tree': stressTree,
  'unicast-tree': unicastTree,
  'random-tree': randomTree,
  sflow: serviceFlow,
};
