// The few Folio reads the site makes. Plain GETs with no custom request headers, so the browser
// sends them as "simple" CORS requests: no preflight, only Access-Control-Allow-Origin needed.
import { API_BASE, PAGE_SIZE } from '../config.js';

/**
 * @typedef {{title: string, description: string, url: string, locale: string, logo: string | null,
 *            article_url: string, tag_url: string, author_url: string}} Site  GET /site
 * @typedef {{id: number, slug: string, name: string}} TagRef
 * @typedef {{id: number, slug: string, name: string, avatar: string | null}} AuthorRef
 * @typedef {{id: number, slug: string, title: string, excerpt: string, feature_image: string | null,
 *            status: string, published_at: string | null, updated_at: string, reading_time: number,
 *            author: AuthorRef, tags: TagRef[]}} ArticleSummary  an item of GET /articles
 * @typedef {ArticleSummary & {body_markdown: string, body_html: string, created_at: string,
 *            version: number}} Article  GET /articles/slug/{slug}, GET /preview/{token}
 * @typedef {{limit: number, total: number, total_exact: boolean, page: number | null,
 *            pages: number | null, next_cursor: string | null}} ListMeta
 * @typedef {{data: ArticleSummary[], meta: ListMeta}} ArticleList  GET /articles
 * @typedef {{id: number, slug: string, name: string, description: string, article_count: number}} Tag
 * @typedef {{id: number, slug: string, name: string, bio: string | null, avatar: string | null,
 *            article_count: number}} Author
 */

/** Thrown for anything that keeps a read from giving JSON; `message` is meant for readers. */
export class ApiError extends Error {}

async function get(path, params = {}) {
    const url = new URL(API_BASE + path);
    for (const [name, value] of Object.entries(params)) {
        if (value !== undefined && value !== null) url.searchParams.set(name, value);
    }
    let response;
    try {
        response = await fetch(url, { headers: { Accept: 'application/json' } });
    } catch {
        // The browser tells scripts nothing more: the API is down, unreachable, or its CORS
        // settings do not allow this site's origin (the console says which).
        throw new ApiError(`the API at ${API_BASE} did not answer, or does not allow this site (CORS)`);
    }
    if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        throw new ApiError(problem.detail || `the API answered ${response.status}`);
    }
    return response.json();
}

const segment = encodeURIComponent;

/** @returns {Promise<Site>} */
export const getSite = () => get('/site');

/** @returns {Promise<Tag>} */
export const getTag = (slug) => get(`/tags/slug/${segment(slug)}`);

/** @returns {Promise<Author>} */
export const getAuthor = (slug) => get(`/authors/slug/${segment(slug)}`);

/** @returns {Promise<Article>} */
export const getArticle = (slug) => get(`/articles/slug/${segment(slug)}`);

/** A draft or a published article, through a preview token. @returns {Promise<Article>} */
export const getPreview = (token) => get(`/preview/${segment(token)}`);

/** One page of published articles, newest first; `cursor` continues from a previous page.
 *  @param {{tag?: string, author?: string, cursor?: string | null}} filter
 *  @returns {Promise<ArticleList>} */
export const listArticles = ({ tag, author, cursor }) => get('/articles', { tag, author, cursor, limit: PAGE_SIZE });

/** The feed of the whole site, or of one tag. */
export const feedUrl = (tag) => `${API_BASE}/feeds/articles.rss${tag ? `?tag=${encodeURIComponent(tag)}` : ''}`;
