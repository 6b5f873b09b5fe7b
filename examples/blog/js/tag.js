import { getTag } from './api.js';
import { articleList, h, requireSlug, slug, startPage } from './ui.js';

startPage(async (main) => {
    requireSlug();
    const [tag, list] = await Promise.all([getTag(slug), articleList({ tag: slug })]);
    main.append(
        h('header', { class: 'page-header' },
            h('p', { class: 'kicker' }, 'Tag'),
            h('h1', { id: 'tag-name' }, tag.name),
            h('p', { class: 'lede' }, tag.description)),
        list,
    );
    return tag.name;
}, { feedTag: slug });
