// Browser test of the example frontend (examples/blog): Debian's headless Chromium opens the
// static site on one origin, which reads Folio on another through CORS, and the test checks what
// a reader sees against what the API says. Screenshots are kept whatever happens.
//
// Started by .ci/frontend.sh (twice), which provides:
//   FOLIO_FRONTEND_CASE   `allowed`: the API's FOLIO_CORS_ORIGINS names the frontend's origin;
//                         `blocked`: it names another origin only
//   FOLIO_API_BASE        e.g. http://127.0.0.1:41234/api/v1
//   FOLIO_FRONTEND_URL    e.g. http://127.0.0.1:41235 (examples/blog served as-is)
//   FOLIO_ADMIN_EMAIL, FOLIO_ADMIN_PASSWORD, FOLIO_SCREENSHOT_DIR, CHROMIUM
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium } from './chromium.mjs';

const env = (name, fallback) => {
    const value = process.env[name] ?? fallback;
    if (value === undefined) throw new Error(`${name} is not set (run .ci/frontend.sh)`);
    return value;
};
const testCase = env('FOLIO_FRONTEND_CASE');
const apiBase = env('FOLIO_API_BASE').replace(/\/+$/, '');
const frontend = new URL(env('FOLIO_FRONTEND_URL')).origin;
const screenshotDir = env('FOLIO_SCREENSHOT_DIR', '.');
const executablePath = env('CHROMIUM', '/usr/bin/chromium');
assert.ok(['allowed', 'blocked'].includes(testCase), `FOLIO_FRONTEND_CASE is ${testCase}, expected allowed or blocked`);

const TAG = 'rust'; // the demo content has many pages of it

let context;
let page;
let closeBrowser;
const offsite = [];
const pageErrors = [];

before(async () => {
    ({ context, close: closeBrowser } = await launchChromium(executablePath));
    // Only the two local origins may be asked for anything; whatever else the page asks for
    // (a CDN script, a web font, an image from the content) is recorded and never sent.
    const local = [frontend, new URL(apiBase).origin];
    await context.route(
        (url) => !local.includes(url.origin) && !['data:', 'blob:'].includes(url.protocol),
        (route) => {
            offsite.push(route.request().url());
            return route.abort();
        },
    );
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    mkdirSync(screenshotDir, { recursive: true });
});

after(async () => {
    // The page as it was last, whatever happened: the picture to look at when a test failed.
    if (page) await screenshot(`${testCase}-last`).catch((e) => console.error(`no screenshot: ${e}`));
    await closeBrowser?.();
});

async function screenshot(name) {
    const path = join(screenshotDir, `frontend-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
}

/** A page of the site. The `api` parameter tells the site where the API is; the site keeps it
 *  for the tab, so pages reached by clicking (or by a preview link) use it too. */
function sitePage(path, params = {}) {
    const url = new URL(path, frontend);
    for (const [name, value] of Object.entries({ ...params, api: apiBase })) url.searchParams.set(name, value);
    return url.href;
}

/** A JSON call to the API from here (Node: no browser, no CORS); fails unless `expect`ed. */
async function api(path, { method = 'GET', token, body, expect = 200 } = {}) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body) headers['Content-Type'] = 'application/json';
    const response = await fetch(apiBase + path, { method, headers, body: body && JSON.stringify(body) });
    const text = await response.text();
    assert.equal(response.status, expect, `${method} ${path}: ${text}`);
    return JSON.parse(text);
}

const cardSlugs = () => page.locator('article.card').evaluateAll((cards) => cards.map((card) => card.dataset.slug));

/** The page size of the site's lists, read from the site's own config.js. */
const sitePageSize = () => page.evaluate(async () => (await import('/config.js')).PAGE_SIZE);

/** The Access-Control-Allow-Origin the API answers a page on `origin` with. */
async function allowedOrigin(origin) {
    const response = await fetch(`${apiBase}/articles?limit=1`, { headers: { Origin: origin } });
    return response.headers.get('access-control-allow-origin');
}

if (testCase === 'allowed') {
    let firstPage;
    let pageSize;

    test('the API allows the frontend origin', async () => {
        assert.equal(await allowedOrigin(frontend), frontend, 'Access-Control-Allow-Origin');
    });

    test('a tag page shows the site, the tag and the first page of its articles, as the API has them', async () => {
        await page.goto(sitePage('tag.html', { slug: TAG }));
        await page.locator('article.card').first().waitFor();
        pageSize = await sitePageSize();
        const [site, tag] = await Promise.all([api('/site'), api(`/tags/slug/${TAG}`)]);
        firstPage = await api(`/articles?tag=${TAG}&limit=${pageSize}`);
        assert.ok(firstPage.meta.next_cursor, `the demo content has more than ${pageSize} "${TAG}" articles`);

        await page.locator('#site-title', { hasText: site.title }).waitFor();
        assert.equal(await page.locator('#tag-name').innerText(), tag.name);
        assert.deepEqual(await cardSlugs(), firstPage.data.map((a) => a.slug));

        // The first card as a reader sees it: title, author, tags as #slug chips, each a link.
        const article = firstPage.data[0];
        const card = page.locator(`article.card[data-slug="${article.slug}"]`);
        assert.equal(await card.locator('h2').innerText(), article.title);
        const titleLink = new URL(await card.locator('h2 a').getAttribute('href'), page.url());
        assert.equal(`${titleLink.pathname}?${titleLink.searchParams}`, `/article.html?slug=${article.slug}`);
        assert.equal(await card.locator('a.author').innerText(), article.author.name);
        assert.deepEqual(
            await card.locator('a.tag').allInnerTexts(),
            article.tags.map((t) => `#${t.slug}`),
        );
        const tagLink = new URL(await card.locator('a.tag').first().getAttribute('href'), page.url());
        assert.equal(`${tagLink.pathname}?${tagLink.searchParams}`, `/tag.html?slug=${article.tags[0].slug}`);

        // The tag's own feed, announced to feed readers and shown to people.
        const feed = `${apiBase}/feeds/articles.rss?tag=${TAG}`;
        assert.equal(await page.locator('link[rel="alternate"][type="application/rss+xml"]').getAttribute('href'), feed);
        assert.equal(await page.getByRole('link', { name: 'RSS', exact: true }).getAttribute('href'), feed);
        await screenshot('tag');
    });

    test('"Load more" appends exactly the next cursor page, and goes away after the last one', async () => {
        const secondPage = await api(`/articles?tag=${TAG}&limit=${pageSize}&cursor=${encodeURIComponent(firstPage.meta.next_cursor)}`);
        const expected = [...firstPage.data, ...secondPage.data].map((a) => a.slug);
        await page.locator('#load-more').click();
        await page.waitForFunction((n) => document.querySelectorAll('article.card').length >= n, expected.length);
        assert.deepEqual(await cardSlugs(), expected);
        await screenshot('load-more');

        // To the end: every article of the tag once, then no button.
        for (let clicks = 0; (await page.locator('#load-more').count()) > 0; clicks++) {
            assert.ok(clicks < 100, '"Load more" never went away');
            const before = await page.locator('article.card').count();
            await page.locator('#load-more').click();
            await page.waitForFunction((n) => document.querySelectorAll('article.card').length > n, before);
        }
        const slugs = await cardSlugs();
        assert.equal(slugs.length, firstPage.meta.total, 'cards after the last page');
        assert.equal(new Set(slugs).size, slugs.length, 'no article twice');
    });

    test('an article page, reached from its card, shows the body the API has', async () => {
        const slug = firstPage.data[0].slug;
        await page.goto(sitePage('tag.html', { slug: TAG }));
        await page.locator(`article.card[data-slug="${slug}"] h2 a`).click();
        await page.locator('#article-body').waitFor();
        const article = await api(`/articles/slug/${slug}`);

        assert.equal(await page.locator('#article-title').innerText(), article.title);
        assert.equal(await page.locator('.post a.author').innerText(), article.author.name);
        // The same text as body_html, once a browser has parsed both.
        const expected = await page.evaluate((html) => {
            const template = document.createElement('template');
            template.innerHTML = html;
            return template.content.textContent;
        }, article.body_html);
        assert.ok(expected.trim().length > 0, 'the article has a body');
        assert.equal(await page.locator('#article-body').textContent(), expected);
        assert.equal(await page.locator('#preview-banner').count(), 0, 'no preview banner on a published article');
        await screenshot('article');
    });

    test('a preview link shows a draft, with a "Preview" banner', async () => {
        const { access_token: token } = await api('/auth/login', {
            method: 'POST',
            body: { email: env('FOLIO_ADMIN_EMAIL'), password: env('FOLIO_ADMIN_PASSWORD') },
        });
        const marker = `preview-marker-${Date.now()}`;
        const draft = await api('/articles', {
            method: 'POST',
            token,
            body: {
                title: `A draft seen through a preview link ${Date.now()}`,
                body_markdown: `Not published yet: **${marker}**.`,
                status: 'draft',
                tags: [TAG],
            },
            expect: 201,
        });
        const preview = await api(`/articles/${draft.id}/preview`, { method: 'POST', token });
        await api(`/articles/slug/${draft.slug}`, { expect: 404 }); // nobody else can read it

        // The link points at the frontend's article page, as the site's article_url says.
        const link = new URL(preview.url);
        assert.equal(`${link.origin}${link.pathname}`, `${frontend}/article.html`, `preview url ${preview.url}`);
        assert.equal(link.searchParams.get('slug'), draft.slug);
        assert.equal(link.searchParams.get('preview'), preview.token);

        await page.goto(preview.url); // as given: the tab already knows the API from ?api=
        await page.locator('#preview-banner').waitFor();
        assert.match(await page.locator('#preview-banner').innerText(), /Preview/);
        assert.equal(await page.locator('#article-title').innerText(), draft.title);
        assert.match(await page.locator('#article-body strong').innerText(), new RegExp(marker));
        await screenshot('preview');
    });
} else {
    test('the API does not allow the frontend origin', async () => {
        const allowed = await allowedOrigin(frontend);
        assert.ok(allowed !== frontend && allowed !== '*', `Access-Control-Allow-Origin: ${allowed}`);
    });

    test('a tag page says it could not load, and shows no articles', async () => {
        await page.goto(sitePage('tag.html', { slug: TAG }));
        const error = page.locator('#error');
        await error.waitFor();
        assert.match(await error.innerText(), /Could not load/);
        assert.equal(await page.locator('article.card').count(), 0);
        await screenshot('blocked');
    });
}

test('nothing was fetched from outside the two origins, and the page raised no error', () => {
    assert.deepEqual(offsite, [], 'requests to other hosts');
    assert.deepEqual(pageErrors, [], 'uncaught page errors');
});
