// Browser test of single sign-on in the interactive documentation: Debian's headless Chromium
// opens Swagger UI on a Folio configured for OpenID Connect, signs in through the test provider
// (.ci/browser/oidc-provider.mjs) with the `oidc` scheme of the Authorize dialog, then calls
// GET /api/v1/me with "Try it out" and sees the provider's user. Swagger UI does the whole
// authorization code flow with PKCE itself: it reads the provider's discovery document, opens
// the provider's /authorize in a popup, gets the code back through oauth2-redirect.html and
// exchanges it at the token endpoint; Folio only checks the access token it is then sent.
// A screenshot is kept whatever happens.
//
// Started by .ci/browser-oidc.sh, which provides:
//   FOLIO_BASE_URL, FOLIO_SCREENSHOT, CHROMIUM, OIDC_EMAIL (the provider's user), and
//   optionally OIDC_EXPECTED_ROLE (the Folio role the provider's groups map to)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium } from './chromium.mjs';

import { screenshotResponse, tryItOutWithoutBody } from './swagger-ui.flow.mjs';

const env = (name, fallback) => {
    const value = process.env[name] ?? fallback;
    if (value === undefined) throw new Error(`${name} is not set (run .ci/browser-oidc.sh)`);
    return value;
};
const baseUrl = env('FOLIO_BASE_URL');
const screenshot = env('FOLIO_SCREENSHOT', 'swagger-ui-oidc.png');
const executablePath = env('CHROMIUM', '/usr/bin/chromium');
const email = env('OIDC_EMAIL', 'sso.writer@example.com');
const expectedRole = process.env.OIDC_EXPECTED_ROLE;

const TIMEOUT = 15_000;
const DISCOVERY = '/.well-known/openid-configuration';

let context;
let page;
let closeBrowser;
let issuer; // read from Folio's OpenAPI document by the first test
const requested = [];
const pageErrors = [];
const consoleErrors = [];

before(async () => {
    ({ context, close: closeBrowser } = await launchChromium(executablePath));
    page = context.pages()[0] ?? (await context.newPage());
    // On the context, not the page: the sign-in popup is a page of its own.
    context.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    // Swagger UI reports a discovery document it cannot read only on the console (a CSP
    // connect-src that leaves out the provider, a provider without CORS), so failures quote it.
    page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
    });
});

after(async () => {
    if (page) {
        // The response Swagger UI shows for GET /api/v1/me, and the whole page.
        await screenshotResponse(page, 'get', '/api/v1/me', screenshot);
    }
    await closeBrowser?.();
});

/** What the console said, for an error message. */
const consoleSaid = () => (consoleErrors.length ? `\nbrowser console errors:\n  ${consoleErrors.join('\n  ')}` : '');

test('the OpenAPI document offers OpenID Connect beside the bearer token', async () => {
    const response = await fetch(new URL('/api-docs/openapi.json', baseUrl));
    assert.equal(response.status, 200, 'GET /api-docs/openapi.json');
    const doc = await response.json();
    const schemes = doc.components?.securitySchemes ?? {};
    assert.equal(schemes.bearer?.type, 'http', 'the bearer scheme is still there');
    assert.equal(schemes.oidc?.type, 'openIdConnect', `an oidc scheme: ${JSON.stringify(schemes.oidc)}`);
    assert.ok(
        schemes.oidc.openIdConnectUrl?.endsWith(DISCOVERY),
        `openIdConnectUrl is a discovery URL: ${schemes.oidc.openIdConnectUrl}`,
    );
    issuer = schemes.oidc.openIdConnectUrl.slice(0, -DISCOVERY.length);

    const security = doc.paths['/api/v1/me']?.get?.security ?? [];
    assert.ok(
        security.some((requirement) => requirement.oidc?.includes('openid')),
        `GET /api/v1/me accepts oidc with openid: ${JSON.stringify(security)}`,
    );

    // The provider the document names answers, and says it is that issuer.
    const discovery = await (await fetch(issuer + DISCOVERY)).json();
    assert.equal(discovery.issuer, issuer, 'the discovery document names the issuer it is served from');
});

test('sign in through the provider in Swagger UI, then GET /api/v1/me as its user', async () => {
    assert.ok(issuer, 'the test before found the issuer');
    await page.goto(new URL('/swagger-ui/', baseUrl).href);
    await page.locator('.opblock').first().waitFor({ timeout: TIMEOUT });

    await page.locator('.scheme-container button.authorize').click();
    const modal = page.locator('.modal-ux');
    await modal.waitFor({ timeout: TIMEOUT });
    // Swagger UI turns an openIdConnect scheme into an OAuth2 one per grant of the discovery
    // document: "oidc (OAuth2, authorization_code with PKCE)". It appears only once discovery
    // has been read, which may be after the dialog opens.
    const oidc = modal
        .locator('.auth-container')
        .filter({ has: page.locator('h4', { hasText: /^\s*oidc \(OAuth2, authorization_code\b/ }) });
    await oidc.waitFor({ timeout: TIMEOUT }).catch(async () => {
        const headings = await modal.locator('h4').allInnerTexts();
        throw new Error(
            `the Authorize dialog has no "oidc (OAuth2, authorization_code…)" section, only ${JSON.stringify(headings)}: ` +
                `Swagger UI could not use ${issuer}${DISCOVERY}${consoleSaid()}`,
        );
    });

    // initOAuth ticks openid, email and profile beforehand; openid is the one Folio needs.
    // The checkbox itself is hidden by Swagger UI's style, its label is what a person clicks.
    const openid = oidc.locator('input[type="checkbox"][data-value="openid"]');
    if (!(await openid.isChecked())) {
        await oidc.locator(`label[for="${await openid.getAttribute('id')}"]`).click();
        assert.ok(await openid.isChecked(), 'the openid scope is ticked');
    }

    // The popup goes to the provider's /authorize, which approves at once and redirects to
    // oauth2-redirect.html; that page hands the code to Swagger UI and closes itself.
    const popupOpened = page.waitForEvent('popup', { timeout: TIMEOUT });
    await oidc.locator('button.authorize', { hasText: 'Authorize' }).click();
    const popup = await popupOpened;
    if (!popup.isClosed()) {
        await popup.waitForEvent('close', { timeout: TIMEOUT }).catch(async () => {
            // Left open: the provider refused (its 400 page says why) or the redirect page
            // could not reach Swagger UI.
            const shown = await popup.locator('body').innerText({ timeout: 1000 }).catch(() => '');
            throw new Error(`the sign-in popup stayed open at ${popup.url()}: ${shown}`);
        });
    }

    // Swagger UI then calls the token endpoint itself; once it has the token the section says
    // "Authorized" and offers "Logout". An error (the token request refused, or blocked by
    // CORS or CSP) shows in the section instead.
    await oidc
        .locator('button', { hasText: 'Logout' })
        .waitFor({ timeout: TIMEOUT })
        .catch(async () => {
            const shown = await oidc.innerText().catch(() => '');
            throw new Error(`Swagger UI did not finish the sign-in; the oidc section shows:\n${shown}${consoleSaid()}`);
        });
    assert.equal(await oidc.locator('h6', { hasText: 'Authorized' }).count(), 1, 'the oidc section says Authorized');
    await oidc.locator('button.btn-done').click();
    await modal.waitFor({ state: 'detached', timeout: TIMEOUT });

    const me = await tryItOutWithoutBody(page, 'get', '/api/v1/me');
    assert.match(me.curl, /-H 'Authorization: Bearer ey/i, `the request carries the provider's JWT:\n${me.curl}`);
    assert.equal(me.status, 200, `GET /api/v1/me in Swagger UI: ${me.text}`);
    assert.equal(me.body?.email, email, `GET /api/v1/me shows the provider's user: ${me.text}`);
    if (expectedRole) assert.equal(me.body.role, expectedRole, `the provider's groups give the role: ${me.text}`);
});

test('nothing was fetched but from Folio and the provider, and the page raised no error', () => {
    const allowed = [new URL(baseUrl).origin, issuer && new URL(issuer).origin].filter(Boolean);
    const offsite = requested.filter(
        (url) => !url.startsWith('data:') && !url.startsWith('blob:') && !allowed.includes(new URL(url).origin),
    );
    assert.deepEqual(offsite, [], 'requests to other hosts');
    assert.deepEqual(pageErrors, [], 'uncaught page errors');
});
