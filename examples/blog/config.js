// The one place the site learns where the Folio API is. Deployments edit DEFAULT_API_BASE; a
// `?api=<url>` query parameter overrides it for this browser tab (kept in sessionStorage, so
// links inside the site, which do not carry the parameter, keep using it).

const DEFAULT_API_BASE = 'http://127.0.0.1:8080/api/v1';
const STORAGE_KEY = 'folio-api-base';

const fromQuery = new URLSearchParams(location.search).get('api');
if (fromQuery) sessionStorage.setItem(STORAGE_KEY, fromQuery);

/** The API's base URL, `/api/v1` included, without a trailing slash. */
export const API_BASE = (fromQuery || sessionStorage.getItem(STORAGE_KEY) || DEFAULT_API_BASE).replace(/\/+$/, '');

/** Articles per list page and per "Load more" (the API's `limit`). */
export const PAGE_SIZE = 10;
