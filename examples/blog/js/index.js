import { articleList, h, startPage } from './ui.js';

startPage(async (main) => {
    main.append(h('h1', { class: 'page-title' }, 'Latest articles'), await articleList({}));
});
