export { Cube, MAX_RADIX, MAX_CUBE_SIZE, type LogicalId } from './cube.js';
export { CubeFullError, DuplicateHostError, InvalidArgumentError, UnknownHostError } from './errors.js';
export { grayId, grayRank } from './gray.js';
export { describeCube, mRegion, regionTable, MAX_HOSTS, type Region, type RegionRange } from './m-region.js';
export { Ownership, type HostKey, type Move } from './ownership.js';
export {
  createRouter,
  isRoutingPolicy,
  pathCost,
  randomLinkCosts,
  ROUTING_POLICIES,
  type LinkCost,
  type Router,
  type RouterOptions,
  type RoutingPolicy,
} from './routing.js';
export { buildSplitGreedyTree, buildTree, forwardingSets, MulticastTree } from './multicast.js';
export {
  DEFAULT_SWAP_BUDGET,
  channelAnchor,
  hostLinkCost,
  planSwapBest,
  planSwapDepth,
  planSwapFig5,
  routeTarget,
  subscriberLatency,
  type SwapPlan,
  type SwapRequest,
  type SwapView,
} from './swaps.js';
export {
  delayPenalty,
  linkStress,
  meanNormalizedLateness,
  nodeStress,
  normalizedLateness,
  successRatio,
  summarize,
  treeDegrees,
  type LinkStress,
  type Outcome,
  type Summary,
} from './qos.js';
export { createRng, hash32, mix32, randomInt, type Rng } from './random.js';
export { reembedTarget, regionLowerBound, type ReembedPolicy } from './reembed.js';
export { NetworkCoordinates } from './coordinates.js';
