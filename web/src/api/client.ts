// A small typed fetch client for the panel's API. Paths, parameters, bodies
// and answers are checked against `schema.d.ts`, which openapi-typescript
// makes from the panel's OpenAPI document (`npm run gen`).
//
// Authentication is the HttpOnly session cookie the panel sets at login; the
// CSRF token from the login answer is kept in sessionStorage and sent as
// `X-CSRF-Token` on every non-GET request. A 401 `unauthenticated` on any
// call but the login itself means the session ended: the registered handler
// takes the user back to the login page.

import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type ErrorCode = Schemas['ErrorCode'];
export type ApiErrorBody = Schemas['ApiErrorBody'];

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The paths that have an operation for `M`. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends undefined ? never : P;
}[keyof paths];

type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type ParamsOf<O> = O extends { parameters: infer Pa } ? Pa : never;
type QueryOf<O> = ParamsOf<O> extends { query?: infer Q } ? Q : never;
type PathParamsOf<O> = ParamsOf<O> extends { path: infer Pp } ? Pp : never;
type BodyOf<O> = O extends { requestBody?: infer RB }
  ? [NonNullable<RB>] extends [never]
    ? never
    : NonNullable<RB> extends { content: { 'application/json': infer B } }
      ? B
      : never
  : never;
type Json<R> = R extends { content: { 'application/json': infer T } } ? T : undefined;
type OkOf<O> = O extends { responses: infer R }
  ? R extends { 200: infer A }
    ? Json<A>
    : R extends { 201: infer A }
      ? Json<A>
      : undefined
  : never;

type IsNever<T> = [T] extends [never] ? true : false;

/** What one call takes besides the path: path parameters, query, body. */
export type CallOptions<O> = (IsNever<PathParamsOf<O>> extends true
  ? { path?: undefined }
  : { path: PathParamsOf<O> }) &
  (IsNever<QueryOf<O>> extends true ? { query?: undefined } : { query?: QueryOf<O> }) &
  (IsNever<BodyOf<O>> extends true ? { body?: undefined } : { body: BodyOf<O> }) & {
    signal?: AbortSignal;
  };

/** The query parameters of `GET path`. */
export type QueryParams<P extends PathsWith<'get'>> = NonNullable<QueryOf<Op<P, 'get'>>>;
/** The answer of a successful `M path`. */
export type Answer<P extends PathsWith<M>, M extends Method> = OkOf<Op<P, M>>;

/** A failed call: the API's `{code, message, details}`, or a transport failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode | 'network' | 'bad_response';
  readonly details: unknown;
  readonly requestId: string | null;
  /** The request field the error is about, when the API names one. */
  readonly field: string | null;

  constructor(
    status: number,
    code: ApiError['code'],
    message: string,
    details: unknown = null,
    requestId: string | null = null,
  ) {
    const named = fieldFrom(code, message, details);
    super(named?.message ?? message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.field = named?.field ?? null;
  }
}

// `details.field` names the field; a body the server could not deserialize
// says it only in the message ("…target type: email: email: must contain @ at
// line 1 column 17"), so take the field from there too.
const SERDE = /^Failed to deserialize the JSON body into the target type: ([A-Za-z0-9_.[\]]+): (.*?)(?: at line \d+ column \d+)?$/;

function fieldFrom(
  code: ApiError['code'],
  message: string,
  details: unknown,
): { field: string; message?: string } | null {
  if (typeof details === 'object' && details !== null && 'field' in details) {
    const f = (details as { field: unknown }).field;
    if (typeof f === 'string') return { field: f };
  }
  if (code === 'invalid_input') {
    const m = SERDE.exec(message);
    if (m && m[1] && m[2]) {
      const field = m[1];
      const text = m[2].startsWith(`${field}: `) ? m[2].slice(field.length + 2) : m[2];
      return { field, message: text };
    }
  }
  return null;
}

const CSRF_KEY = 'berth.csrf';

export const csrf = {
  get: (): string | null => sessionStorage.getItem(CSRF_KEY),
  set: (token: string) => sessionStorage.setItem(CSRF_KEY, token),
  clear: () => sessionStorage.removeItem(CSRF_KEY),
};

let onUnauthenticated: (() => void) | null = null;

/** Called once when any call answers 401 `unauthenticated`. */
export function setUnauthenticatedHandler(handler: (() => void) | null) {
  onUnauthenticated = handler;
}

function buildUrl(path: string, pathParams: unknown, query: unknown): string {
  let url = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = (pathParams as Record<string, unknown> | undefined)?.[name];
    if (v === undefined || v === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(v));
  });
  if (query && typeof query === 'object') {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
      if (v === undefined || v === null || v === '') continue;
      qs.set(k, String(v));
    }
    const s = qs.toString();
    if (s) url += `?${s}`;
  }
  return url;
}

async function call(method: Method, path: string, opts: CallOptions<unknown> | undefined): Promise<unknown> {
  const url = buildUrl(path, opts?.path, opts?.query);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'get') {
    const token = csrf.get();
    if (token) headers['X-CSRF-Token'] = token;
  }
  let body: string | undefined;
  if (opts?.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: method.toUpperCase(),
      headers,
      body,
      credentials: 'same-origin',
      signal: opts?.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The panel cannot be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (res.ok) return json;
  const err = isErrorBody(json)
    ? new ApiError(res.status, json.code, json.message, json.details ?? null, json.request_id ?? null)
    : new ApiError(res.status, 'bad_response', `The panel answered ${res.status} ${res.statusText}`.trim());
  // The login and the start-up probe of the session answer 401 for "not
  // signed in", which is not a session that ended.
  if (
    res.status === 401 &&
    err.code === 'unauthenticated' &&
    path !== '/api/v1/auth/login' &&
    path !== '/api/v1/auth/session'
  ) {
    onUnauthenticated?.();
  }
  throw err;
}

function isErrorBody(v: unknown): v is ApiErrorBody {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { code?: unknown }).code === 'string' &&
    typeof (v as { message?: unknown }).message === 'string'
  );
}

function method<M extends Method>(m: M) {
  return <P extends PathsWith<M>>(path: P, ...opts: OptionalIfEmpty<CallOptions<Op<P, M>>>) =>
    call(m, path as string, opts[0] as CallOptions<unknown> | undefined) as Promise<OkOf<Op<P, M>>>;
}

// Options may be left out when nothing in them is required.
type OptionalIfEmpty<O> = object extends O ? [opts?: O] : Partial<O> extends O ? [opts?: O] : [opts: O];

export const api = {
  get: method('get'),
  post: method('post'),
  put: method('put'),
  patch: method('patch'),
  delete: method('delete'),
};
