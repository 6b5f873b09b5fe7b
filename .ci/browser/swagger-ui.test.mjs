// Browser test of the interactive documentation: Debian's headless Chromium (no browser download)
// opens Swagger UI on a running Folio, logs in with "Try it out", authorizes with the token,
// creates a published article with "Try it out" and sees 201; then the article is fetched
// anonymously over plain HTTP; then an image is uploaded through the form's file input and
// fetched from its URL. A screenshot is kept whatever happens.
//
// Started by .ci/browser.sh, which provides:
//   FOLIO_BASE_URL, FOLIO_ADMIN_EMAIL, FOLIO_ADMIN_PASSWORD, FOLIO_SCREENSHOT, CHROMIUM
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { launchChromium } from './chromium.mjs';

import { loginAuthorizeAndCreate, operation, screenshotResponse, tryItOutUpload } from './swagger-ui.flow.mjs';

const env = (name, fallback) => {
    const value = process.env[name] ?? fallback;
    if (value === undefined) throw new Error(`${name} is not set (run .ci/browser.sh)`);
    return value;
};
const baseUrl = env('FOLIO_BASE_URL');
const email = env('FOLIO_ADMIN_EMAIL');
const password = env('FOLIO_ADMIN_PASSWORD');
const screenshot = env('FOLIO_SCREENSHOT', 'swagger-ui.png');
const executablePath = env('CHROMIUM', '/usr/bin/chromium');

let context;
let page;
let closeBrowser;
const offsite = [];
const pageErrors = [];

before(async () => {
    ({ context, close: closeBrowser } = await launchChromium(executablePath));
    page = context.pages()[0] ?? (await context.newPage());
    const origin = new URL(baseUrl).origin;
    page.on('request', (request) => {
        const url = request.url();
        if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) offsite.push(url);
    });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
});

after(async () => {
    if (page) {
        // The last response Swagger UI shows (the 201 of the new article), and the whole page.
        await screenshotResponse(page, 'post', '/api/v1/articles', screenshot);
    }
    await closeBrowser?.();
});

test('Swagger UI loads offline and lists the write operations', async () => {
    await page.goto(new URL('/swagger-ui/', baseUrl).href);
    await page.locator('.opblock').first().waitFor();
    assert.equal(await operation(page, 'post', '/api/v1/auth/login').count(), 1, 'POST /api/v1/auth/login is listed');
    assert.equal(await operation(page, 'post', '/api/v1/articles').count(), 1, 'POST /api/v1/articles is listed');
    assert.equal(await page.locator('.scheme-container button.authorize').count(), 1, 'an Authorize button');
});

test('log in, authorize, create an article through Swagger UI, then read it anonymously', async () => {
    const title = `Made in Swagger UI ${Date.now()}`;
    const article = {
        title,
        body_markdown: 'Written by the **browser test** through *Try it out*.',
        status: 'published',
        tags: ['swagger-ui'],
    };
    const { created } = await loginAuthorizeAndCreate(page, { baseUrl, email, password, article });
    assert.equal(created.status, 201);
    assert.equal(created.body.title, title);
    assert.equal(created.body.status, 'published');

    // Anonymous, plain HTTP: no token, no browser.
    const response = await fetch(new URL(`/api/v1/articles/${created.body.id}`, baseUrl));
    const text = await response.text();
    assert.equal(response.status, 200, `GET /api/v1/articles/${created.body.id} anonymously: ${text}`);
    const fetched = JSON.parse(text);
    assert.equal(fetched.id, created.body.id);
    assert.equal(fetched.slug, created.body.slug);
    assert.equal(fetched.title, title);
    assert.equal(fetched.status, 'published');
    assert.deepEqual(
        fetched.tags.map((t) => t.slug),
        ['swagger-ui'],
    );
    assert.match(fetched.body_html, /<strong>browser test<\/strong>/);
});

/** A `width`×`height` RGB gradient as a PNG file, built by hand (no image library here). */
function gradientPng(width, height) {
    const chunk = (type, data) => {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(data.length);
        const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(crc32(typed));
        return Buffer.concat([length, typed, crc]);
    };
    const header = Buffer.alloc(13);
    header.writeUInt32BE(width, 0);
    header.writeUInt32BE(height, 4);
    header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter, no interlace
    const rows = [];
    for (let y = 0; y < height; y++) {
        const row = Buffer.alloc(1 + width * 3); // filter byte 0, then the pixels
        for (let x = 0; x < width; x++) row.set([x % 256, y % 256, 128], 1 + x * 3);
        rows.push(row);
    }
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk('IHDR', header),
        chunk('IDAT', deflateSync(Buffer.concat(rows))),
        chunk('IEND', Buffer.alloc(0)),
    ]);
}

test('upload an image through Swagger UI, then fetch it and its variant', async () => {
    // Signed in and authorized by the test before.
    const uploaded = await tryItOutUpload(page, '/api/v1/media', {
        name: 'gradient.png',
        mimeType: 'image/png',
        buffer: gradientPng(400, 300),
    });
    assert.match(uploaded.curl, /-H 'Authorization: Bearer /i, 'the upload carries the token');
    assert.match(uploaded.curl, /multipart\/form-data/i, 'the upload is multipart');
    assert.equal(uploaded.status, 201, `POST /api/v1/media in Swagger UI: ${uploaded.text}`);
    assert.equal(uploaded.body.mime_type, 'image/png');
    assert.equal(uploaded.body.width, 400);
    assert.equal(uploaded.body.height, 300);
    assert.deepEqual(uploaded.body.variants.map((v) => v.width), [320]);

    for (const url of [uploaded.body.url, uploaded.body.variants[0].url]) {
        const response = await fetch(new URL(url, baseUrl));
        assert.equal(response.status, 200, `GET ${url}`);
        assert.match(response.headers.get('cache-control') ?? '', /immutable/, `GET ${url}: cache-control`);
        assert.ok((await response.arrayBuffer()).byteLength > 0, `GET ${url}: a body`);
    }
});

test('nothing was fetched from outside the server, and the page raised no error', () => {
    assert.deepEqual(offsite, [], 'requests to other hosts');
    assert.deepEqual(pageErrors, [], 'uncaught page errors');
});
