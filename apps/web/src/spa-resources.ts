import type { SpaResources } from '@cubecast/peer';
import coding from '@cubecast/spa/spas/coding.wasm?url';
import forward from '@cubecast/spa/spas/forward.wasm?url';
import merge from '@cubecast/spa/spas/merge.wasm?url';
import pixels from '@cubecast/spa/spas/pixels.wasm?url';
import sensor from '@cubecast/spa/spas/sensor.wasm?url';
import split from '@cubecast/spa/spas/split.wasm?url';
import thin from '@cubecast/spa/spas/thin.wasm?url';
import stageWorkerUrl from '@cubecast/spa/spa-stage.worker?worker&url';

// The engine worker fetches modules and starts stage workers itself: it needs absolute URLs.
const absolute = (url: string) => new URL(url, window.location.href).href;

/** Where this build put the built-in SPAs and the stage worker; custom modules come from the server. */
export const SPA_RESOURCES: SpaResources = {
  stageWorkerUrl: absolute(stageWorkerUrl),
  builtIns: Object.fromEntries(Object.entries({ coding, forward, merge, pixels, sensor, split, thin }).map(([name, url]) => [name, absolute(url)])),
  customModulesUrl: absolute('/spa'),
};
