import { getAuthor } from './api.js';
import { articleList, h, requireSlug, slug, startPage } from './ui.js';

startPage(async (main) => {
    requireSlug();
    const [author, list] = await Promise.all([getAuthor(slug), articleList({ author: slug })]);
    main.append(
        h('header', { class: 'page-header author-header' },
            author.avatar && h('img', { class: 'avatar', src: author.avatar, alt: '', width: 72, height: 72 }),
            h('div', {},
                h('h1', { id: 'author-name' }, author.name),
                h('p', { class: 'lede' }, author.bio))),
        list,
    );
    return author.name;
});
