export { createGatewayApp, gatewayPort, type GatewayAppOptions } from './app';
export { gatewayEnv, loadGatewayConfig, type GatewayConfig } from './config';
export { renderReport } from './report';
export { resolveMediaLinkSecret, signedMediaLink, verifyMediaLink } from './media-link';
