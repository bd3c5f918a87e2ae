// @budget-guard/router: picks the Amazon Bedrock model for a route from its Budget Guard routing flag.
export { DEFAULT_FLAGS_PATH, DEFAULT_TTL_SECONDS, ModelRouter } from './router';
export type { ModelRouterOptions, Resolution, Route, RouterLogger, Source } from './router';
export { RouteBlocked } from './errors';
export type { FlagError, FlagErrorKind } from './errors';
export type { ServiceTier } from './flag';
