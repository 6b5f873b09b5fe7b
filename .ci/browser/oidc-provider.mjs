// A test OpenID provider for the browser test of signing in to Swagger UI with OpenID Connect
// (.ci/browser-oidc.sh). No dependencies, so that CI installs nothing for it; it runs on
// loopback only and approves every authorization request at once, as the one test user.
//
//   OIDC_PORT=0 node oidc-provider.mjs
//
// Prints one line on stdout, `listening http://127.0.0.1:<port>`: the issuer. Logs each
// request on stderr. Settings (environment):
//   OIDC_PORT     port on 127.0.0.1; 0 (the default) picks a free one
//   OIDC_SUBJECT  the user's `sub` (default sso-user-1)
//   OIDC_EMAIL    `email` (default sso.writer@example.com)
//   OIDC_NAME     `name` (default Sam Sso)
//   OIDC_GROUPS   `groups`, comma separated (default writers)
//
// Endpoints: discovery, /jwks, /authorize (authorization code, PKCE S256 optional) and
// /token (grant authorization_code). Not a real provider: no login page, no consent, no
// client registry, no secret check, no refresh tokens.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.OIDC_PORT ?? 0);
const user = {
    sub: process.env.OIDC_SUBJECT || 'sso-user-1',
    email: process.env.OIDC_EMAIL || 'sso.writer@example.com',
    name: process.env.OIDC_NAME || 'Sam Sso',
    groups: (process.env.OIDC_GROUPS ?? 'writers')
        .split(',')
        .map((group) => group.trim())
        .filter((group) => group !== ''),
};

const TOKEN_LIFETIME = 300; // seconds, for both tokens
const CODE_LIFETIME = 60_000; // milliseconds: a code is exchanged right after the redirect
const KID = 'k1';

// A fresh key per run: a relying party has to read it from /jwks, as it would from a real
// provider, and no key is kept on disk.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };

/** Codes handed out by /authorize and not yet exchanged, by code. */
const codes = new Map();

let issuer; // known once the server listens (the port may be picked by the system)

const base64url = (data) => Buffer.from(data).toString('base64url');

/** An RS256 JWT of `claims`, signed with this run's key. */
function jwt(claims) {
    const header = { alg: 'RS256', typ: 'JWT', kid: KID };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    // An RSA key with no padding option signs RSASSA-PKCS1-v1_5, which is what RS256 is.
    const signature = sign('sha256', Buffer.from(signingInput), privateKey);
    return `${signingInput}.${base64url(signature)}`;
}

function discovery() {
    return {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid', 'email', 'profile'],
        // Swagger UI offers one sign-in per grant listed here (both code and implicit when
        // the list is missing); only the code grant is implemented.
        grant_types_supported: ['authorization_code'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    };
}

function send(res, status, body, headers = {}) {
    const json = typeof body !== 'string';
    res.writeHead(status, {
        'Content-Type': json ? 'application/json' : 'text/plain; charset=utf-8',
        ...headers,
    });
    res.end(json ? JSON.stringify(body) : `${body}\n`);
}

/** A token endpoint error as RFC 6749 §5.2 words it; never cached. */
function tokenError(res, status, error, description) {
    send(res, status, { error, error_description: description }, { 'Cache-Control': 'no-store' });
}

function authorize(res, query) {
    const responseType = query.get('response_type');
    const clientId = query.get('client_id');
    const redirectUri = query.get('redirect_uri');
    const method = query.get('code_challenge_method');
    const challenge = query.get('code_challenge');
    // Refused with a plain page, not a redirect: a bad request here is a bug in the test or
    // in the relying party, and the page is what its author gets to see.
    if (responseType !== 'code') return send(res, 400, `unsupported response_type: ${responseType}`);
    if (!clientId) return send(res, 400, 'client_id is missing');
    if (!redirectUri || !URL.canParse(redirectUri)) return send(res, 400, `bad redirect_uri: ${redirectUri}`);
    // PKCE is required: the browser test must fail if Swagger UI stopped sending it.
    if (challenge === null || method !== 'S256') {
        return send(res, 400, 'PKCE is required: code_challenge with code_challenge_method=S256');
    }

    const code = base64url(randomBytes(24));
    codes.set(code, {
        clientId,
        redirectUri,
        nonce: query.get('nonce') || null, // an empty nonce is no nonce
        challenge,
        scope: query.get('scope') ?? 'openid',
        expires: Date.now() + CODE_LIFETIME,
    });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    if (query.has('state')) target.searchParams.set('state', query.get('state'));
    res.writeHead(302, { Location: target.href, 'Cache-Control': 'no-store' });
    res.end();
}

/** The client id of a token request: HTTP Basic (RFC 6749 §2.3.1, form-encoded inside the
 *  Basic credentials) or, for public clients, the form's client_id. Secrets are not checked. */
function clientIdOf(req, form) {
    const auth = req.headers.authorization ?? '';
    if (/^basic /i.test(auth)) {
        const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const id = colon === -1 ? decoded : decoded.slice(0, colon);
        return decodeURIComponent(id.replace(/\+/g, ' '));
    }
    return form.get('client_id');
}

function token(req, res, body) {
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'authorization_code') {
        return tokenError(res, 400, 'unsupported_grant_type', `grant_type ${form.get('grant_type')}`);
    }
    const clientId = clientIdOf(req, form);
    if (!clientId) {
        return tokenError(res, 401, 'invalid_client', 'no client_id, in the form or in Basic auth');
    }

    const code = form.get('code');
    const grant = codes.get(code);
    // A code is spent by its first use, even a failed one (RFC 6749 §4.1.2 wants codes used
    // once), so that a test that replays one sees the refusal.
    codes.delete(code);
    if (!grant || grant.expires < Date.now()) {
        return tokenError(res, 400, 'invalid_grant', 'unknown, used or expired code');
    }
    if (grant.clientId !== clientId) {
        return tokenError(res, 400, 'invalid_grant', 'the code was issued to another client');
    }
    if (form.get('redirect_uri') !== grant.redirectUri) {
        return tokenError(res, 400, 'invalid_grant', 'redirect_uri differs from the authorization request');
    }
    if (grant.challenge !== null) {
        const verifier = form.get('code_verifier') ?? '';
        const computed = base64url(createHash('sha256').update(verifier).digest());
        if (computed !== grant.challenge) {
            return tokenError(res, 400, 'invalid_grant', 'code_verifier does not match code_challenge');
        }
    }

    const iat = Math.floor(Date.now() / 1000);
    const claims = {
        iss: issuer,
        sub: user.sub,
        aud: clientId,
        iat,
        exp: iat + TOKEN_LIFETIME,
        email: user.email,
        email_verified: true,
        name: user.name,
        groups: user.groups,
    };
    const idClaims = { ...claims, azp: clientId };
    if (grant.nonce !== null) idClaims.nonce = grant.nonce;
    send(
        res,
        200,
        {
            access_token: jwt(claims),
            token_type: 'Bearer',
            expires_in: TOKEN_LIFETIME,
            id_token: jwt(idClaims),
            scope: grant.scope,
        },
        { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
    );
}

async function readBody(req) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
}

async function handle(req, res) {
    const url = new URL(req.url, issuer);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /.well-known/openid-configuration') return send(res, 200, discovery());
    if (route === 'GET /jwks') return send(res, 200, { keys: [jwk] });
    if (route === 'GET /authorize') return authorize(res, url.searchParams);
    if (route === 'POST /token') return token(req, res, await readBody(req));
    send(res, 404, `no route ${route}`);
}

const server = createServer((req, res) => {
    res.on('finish', () => console.error(`${req.method} ${req.url} ${res.statusCode}`));
    // Swagger UI reads discovery and calls the token endpoint from the page, another origin.
    // It sends X-Requested-With to the token endpoint, which makes the browser ask first.
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type, x-requested-with');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'Access-Control-Max-Age': '600' });
        return res.end();
    }
    handle(req, res).catch((error) => {
        // A malformed request fails alone and shows in the log; the provider stays up for the
        // rest of the test.
        console.error(error);
        if (!res.headersSent) send(res, 500, `internal error: ${error.message}`);
    });
});

server.listen(port, '127.0.0.1', () => {
    issuer = `http://127.0.0.1:${server.address().port}`;
    process.stdout.write(`listening ${issuer}\n`);
});

// The CI script stops us with SIGTERM; without a handler node would die with status 143.
// Kept-alive browser connections would hold close() open, so they are dropped.
for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
        server.close(() => process.exit(0));
        server.closeAllConnections();
    });
}
