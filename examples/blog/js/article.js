import { getArticle, getPreview } from './api.js';
import { byline, h, requireSlug, slug, startPage, tagChips } from './ui.js';

// A preview link (from POST /articles/{id}/preview) carries a token that reads the article
// whatever its status, drafts included; the slug in such a link is only for people.
const token = new URLSearchParams(location.search).get('preview');

startPage(async (main) => {
    if (!token) requireSlug();
    const article = token ? await getPreview(token) : await getArticle(slug);
    const body = h('div', { id: 'article-body', class: 'prose' });
    body.innerHTML = article.body_html; // sanitized by Folio
    main.append(
        h('article', { class: 'post' },
            token && h('p', { id: 'preview-banner', class: 'preview-banner', role: 'status' },
                `Preview (${article.status}): you are reading this through a preview link.`),
            h('h1', { id: 'article-title' }, article.title),
            byline(article),
            tagChips(article.tags),
            body),
    );
    return article.title;
});
