// What a person does in Folio's Swagger UI, driven through its real DOM: log in with "Try it out",
// "Authorize" with the token, then create an article with "Try it out". Kept apart from the test
// so that it can be exercised on its own.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const TIMEOUT = 15_000;

/** The operation block of `method path`, e.g. ('post', '/api/v1/auth/login'). */
export function operation(page, method, path) {
    return page
        .locator(`.opblock.opblock-${method}`)
        .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
}

/** Expands an operation, presses "Try it out", puts `body` (JSON) in the request body and
 *  presses "Execute". Returns {status, body, curl} as Swagger UI shows them. */
export async function tryItOut(page, method, path, body) {
    const op = await tryOut(page, method, path);
    const textarea = op.locator('textarea.body-param__text');
    await textarea.waitFor({ timeout: TIMEOUT });
    await textarea.fill(JSON.stringify(body, null, 2));
    return execute(op);
}

/** Expands an operation that takes no request body (a GET), presses "Try it out" and
 *  "Execute". Returns {status, body, text, curl} as `tryItOut` does. */
export async function tryItOutWithoutBody(page, method, path) {
    return execute(await tryOut(page, method, path));
}

/** Expands `method path` and presses its "Try it out"; returns the operation block. */
async function tryOut(page, method, path) {
    const op = operation(page, method, path);
    await op.waitFor({ timeout: TIMEOUT });
    if (!(await op.evaluate((el) => el.classList.contains('is-open')))) {
        await op.locator('.opblock-summary').first().click();
    }
    await op.locator('button.try-out__btn', { hasText: 'Try it out' }).click();
    return op;
}

/** Presses the operation's "Execute" and returns {status, body, text, curl} of the response
 *  Swagger UI shows (body: the parsed JSON, or null). */
async function execute(op) {
    await op.locator('button.execute', { hasText: 'Execute' }).click();
    const row = op.locator('.live-responses-table tbody tr.response').first();
    await row.waitFor({ timeout: TIMEOUT });
    const status = Number((await row.locator('.response-col_status').innerText()).trim());
    const text = await row
        .locator('.response-col_description .highlight-code pre')
        .first()
        .innerText()
        .catch(() => '');
    let json = null;
    try {
        json = JSON.parse(text);
    } catch {
        // left null: the caller reports the raw text
    }
    const curl = await op.locator('.curl-command').innerText().catch(() => '');
    return { status, body: json, text, curl };
}

/** Presses "Authorize", fills the bearer value of the security scheme `scheme`, confirms and
 *  closes the dialog. */
export async function authorize(page, scheme, token) {
    await page.locator('.scheme-container button.authorize').click();
    const modal = page.locator('.modal-ux');
    await modal.waitFor({ timeout: TIMEOUT });
    // The heading starts with the scheme's name ("bearer (http, Bearer)"); another scheme's may
    // mention the same word later ("metrics_token (http, Bearer)").
    const heading = new RegExp(`^\\s*${scheme}\\b`);
    const container = modal
        .locator('.auth-container')
        .filter({ has: page.locator('h4', { hasText: heading }) });
    await container.locator('input').first().fill(token);
    await container.locator('button.authorize').click();
    // Once authorized the dialog offers "Logout" for the scheme.
    await container.locator('button', { hasText: 'Logout' }).waitFor({ timeout: TIMEOUT });
    await container.locator('button.btn-done').click();
    await modal.waitFor({ state: 'detached', timeout: TIMEOUT });
}

/** The whole session: returns {login, created}, each as `tryItOut` returns it. Throws an Error
 *  that says what Swagger UI showed when a step does not go as the contract says. */
export async function loginAuthorizeAndCreate(page, { baseUrl, email, password, article }) {
    await page.goto(new URL('/swagger-ui/', baseUrl).href);
    await page.locator('.opblock').first().waitFor({ timeout: TIMEOUT });

    const login = await tryItOut(page, 'post', '/api/v1/auth/login', { email, password });
    if (login.status !== 200 || typeof login.body?.access_token !== 'string') {
        throw new Error(`POST /api/v1/auth/login in Swagger UI: expected 200 with access_token, got ${login.status}: ${login.text}`);
    }
    if (login.body.token_type !== 'Bearer') {
        throw new Error(`POST /api/v1/auth/login: token_type is ${JSON.stringify(login.body.token_type)}, expected "Bearer"`);
    }

    await authorize(page, 'bearer', login.body.access_token);

    const created = await tryItOut(page, 'post', '/api/v1/articles', article);
    if (!/-H 'Authorization: Bearer /i.test(created.curl)) {
        throw new Error(`POST /api/v1/articles was sent without the bearer token:\n${created.curl}`);
    }
    if (created.status !== 201 || typeof created.body?.id !== 'number') {
        throw new Error(`POST /api/v1/articles in Swagger UI: expected 201 with the article, got ${created.status}: ${created.text}`);
    }
    return { login, created };
}

/** Expands `POST path` (a multipart operation), presses "Try it out", chooses `file`
 *  ({name, mimeType, buffer}) in its file input and presses "Execute". Returns
 *  {status, body, text, curl} as `tryItOut` does. */
export async function tryItOutUpload(page, path, file) {
    const op = await tryOut(page, 'post', path);
    const input = op.locator('input[type="file"]');
    await input.waitFor({ timeout: TIMEOUT });
    await input.setInputFiles(file);
    return execute(op);
}

/** Screenshots of the response Swagger UI shows for `method path` (`screenshot`) and of the
 *  whole page (`…-full.png`), for the CI logs; a failure to take them is only reported. */
export async function screenshotResponse(page, method, path, screenshot) {
    mkdirSync(dirname(screenshot), { recursive: true });
    const full = screenshot.replace(/\.png$/, '') + '-full.png';
    await operation(page, method, path)
        .locator('.live-responses-table')
        .scrollIntoViewIfNeeded({ timeout: 2000 })
        .catch(() => {});
    await page.screenshot({ path: screenshot }).catch((e) => console.error(`no screenshot: ${e}`));
    await page.screenshot({ path: full, fullPage: true }).catch((e) => console.error(`no screenshot: ${e}`));
    console.log(`screenshots: ${screenshot}, ${full}`);
}
