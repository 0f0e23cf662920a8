// The approvals page for operators: static files (index.html, styles.css) and the browser code in
// app.ts, served under /ui/ with a strict Content-Security-Policy. The page's only backend is the
// REST API (mcp/rest). router.ts may import resources/ and mcp/http, mcp/rest; app.ts runs in the
// browser and imports nothing from the server.

export { buildAppScript, CONTENT_SECURITY_POLICY, createUiRouter, UI_PREFIX, UI_SECURITY_HEADERS, uiConfig } from './router.ts';
export type { UiConfig, UiRouterOptions } from './router.ts';
