export { createGatewayApp, gatewayPort, type GatewayAppOptions } from './app';
export { gatewayEnv, loadGatewayConfig, type GatewayConfig } from './config';
export { renderReport, type ReportOptions } from './report/report-page';
export { resolveMediaLinkSecret, signedMediaLink, verifyMediaLink } from './media-link';
