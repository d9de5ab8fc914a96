export { CHROMIUM_ARGS, CHROMIUM_PATH } from '@cubecast/scenario/chromium';
