// The S3-compatible gateway's public face.
export { startGateway, type Gateway, type GatewayOptions } from './server.js';
export { type CredentialStore, type Identity } from './auth.js';
export { gatewayCredentials } from './credentials.js';
export { rootOnly, readOnly, noEvents, type Authorizer, type AuthorizationRequest, type EventSink, type GatewayEvent } from './hooks.js';
export { S3Error } from './errors.js';
