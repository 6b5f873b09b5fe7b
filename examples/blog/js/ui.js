// What every page shares: the header and footer, article cards, the "Load more" list and the
// error message. Text from the API goes in with textContent (never as HTML), except the
// article body, which Folio sanitizes.
import { feedUrl, getSite, listArticles } from './api.js';

/** `document.createElement` with attributes and children; null, false and '' children are skipped. */
export function h(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    element.append(...children.filter((child) => child !== null && child !== undefined && child !== false && child !== ''));
    return element;
}

// Links stay inside this site whatever the site's URL templates say: those are for feeds and
// preview links, which leave the site.
export const href = {
    article: (slug) => `article.html?slug=${encodeURIComponent(slug)}`,
    tag: (slug) => `tag.html?slug=${encodeURIComponent(slug)}`,
    author: (slug) => `author.html?slug=${encodeURIComponent(slug)}`,
};

/** The page's `?slug=`. */
export const slug = new URLSearchParams(location.search).get('slug');

/** Fails the page (with a visible error) when it needs a slug and the address has none. */
export function requireSlug() {
    if (!slug) throw new Error('the address has no ?slug=');
}

/** Shows (or updates) the one error message of the page, above its content. */
export function showError(message) {
    let element = document.getElementById('error');
    if (!element) {
        element = h('p', { id: 'error', class: 'error', role: 'alert' });
        document.querySelector('main').prepend(element);
    }
    element.textContent = message;
}

/** Draws the header and footer, then `render(main)`, which returns the page's own title (or
 *  nothing, for the home page). Any failed read leaves a visible error, never a blank page. */
export async function startPage(render, { feedTag } = {}) {
    const feed = feedUrl(feedTag);
    document.head.append(h('link', { rel: 'alternate', type: 'application/rss+xml', title: 'RSS', href: feed }));
    const siteTitle = h('a', { id: 'site-title', class: 'site-title', href: 'index.html' });
    const tagline = h('p', { class: 'tagline' });
    document.body.prepend(
        h('header', { class: 'site-header' },
            h('div', { class: 'wrap' },
                h('div', {}, siteTitle, tagline),
                h('nav', {}, h('a', { href: 'index.html' }, 'Latest'), h('a', { class: 'rss', href: feed }, 'RSS')))),
    );
    document.body.append(
        h('footer', { class: 'site-footer' },
            h('div', { class: 'wrap' }, 'Published with Folio, a headless content API. ', h('a', { href: feed }, 'RSS feed'))),
    );

    const main = document.querySelector('main');
    try {
        const [site, pageTitle] = await Promise.all([getSite(), render(main)]);
        siteTitle.textContent = site.title;
        tagline.textContent = site.description;
        document.documentElement.lang = site.locale;
        document.title = pageTitle ? `${pageTitle} · ${site.title}` : site.title;
    } catch (error) {
        showError(`Could not load this page: ${error.message}.`);
    }
}

const dateFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

/** "By Ada · 3 Mar 2026 · 4 min read"; drafts have no date yet. */
export function byline(article) {
    const date = article.published_at
        ? h('time', { datetime: article.published_at }, dateFormat.format(new Date(article.published_at)))
        : 'not published';
    return h('p', { class: 'byline' },
        'By ', h('a', { class: 'author', href: href.author(article.author.slug) }, article.author.name),
        ' · ', date, ` · ${article.reading_time} min read`);
}

export function tagChips(tags) {
    return h('ul', { class: 'tags' },
        ...tags.map((tag) => h('li', {}, h('a', { class: 'tag', href: href.tag(tag.slug), title: tag.name }, `#${tag.slug}`))));
}

/** @param {import('./api.js').ArticleSummary} article */
function card(article) {
    return h('article', { class: 'card', 'data-slug': article.slug },
        h('h2', {}, h('a', { href: href.article(article.slug) }, article.title)),
        byline(article),
        h('p', { class: 'excerpt' }, article.excerpt),
        tagChips(article.tags));
}

/** The cards of the articles matching `filter`, newest first, a page at a time: "Load more"
 *  appends the page after the cursor and goes away on the last page. Resolves once the first
 *  page is drawn (and rejects if it cannot be read). */
export async function articleList(filter) {
    const cards = h('div', { class: 'cards' });
    const more = h('button', { id: 'load-more', type: 'button', class: 'load-more' }, 'Load more');
    const section = h('section', { class: 'articles' }, cards, more);
    let cursor = null;

    async function load() {
        const { data, meta } = await listArticles({ ...filter, cursor });
        cards.append(...data.map(card));
        cursor = meta.next_cursor;
        if (!cursor) more.remove();
    }

    more.addEventListener('click', async () => {
        more.disabled = true;
        more.textContent = 'Loading…';
        try {
            await load();
        } catch (error) {
            showError(`Could not load more articles: ${error.message}.`);
        } finally {
            more.disabled = false;
            more.textContent = 'Load more';
        }
    });

    await load();
    if (!cards.childElementCount) cards.append(h('p', { class: 'empty' }, 'No articles yet.'));
    return section;
}
