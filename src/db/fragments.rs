//! SQL fragments that diesel's DSL lacks, written so that the statements using them keep one
//! shape and stay prepared: an SQL literal, or one bind per list item, would make every
//! statement a new one to plan.

use std::marker::PhantomData;

use diesel::dsl::EqAny;
use diesel::expression::is_aggregate::Never;
use diesel::expression::{AppearsOnTable, SelectableExpression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, SingleValue, Text};

use super::MultiBackend;
use super::schema::articles;
use super::search::{Scope, TextMatch};

/// Implements the traits an expression needs to appear in a `WHERE` clause of any table its
/// column can; the SQL is in each type's own `QueryFragment`.
macro_rules! boolean_expression {
    ($name:ident < $($param:ident),+ >) => {
        impl<$($param),+> Expression for $name<$($param),+> {
            type SqlType = Bool;
        }

        impl<$($param),+> QueryId for $name<$($param),+> {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }

        impl<$($param),+> ValidGrouping<()> for $name<$($param),+> {
            type IsAggregate = Never;
        }
    };
}

/// `column IN (<ids>)` with two shapes whatever the number of ids: PostgreSQL binds one array
/// (`= ANY($1)`, diesel's `eq_any`), SQLite one JSON array read by `json_each`. diesel's
/// `eq_any` on SQLite binds one parameter per id, so each page size was a statement to plan.
/// One id is the other shape, `column = $1`: PostgreSQL plans `= ANY` of one id afresh on
/// every run (that plan looks cheaper than the one it would keep), which doubled the
/// PostgreSQL time of reading one article once list pages no longer ran the same statement
/// with many ids.
#[derive(Debug, Clone)]
pub struct IdIn<C: Expression<SqlType = BigInt>> {
    column: C,
    any: EqAny<C, Vec<i64>>,
    json: String,
    single: Option<i64>,
}

pub fn id_in<C>(column: C, ids: &[i64]) -> IdIn<C>
where
    C: Expression<SqlType = BigInt> + Clone,
{
    IdIn {
        any: column.clone().eq_any(ids.to_vec()),
        column,
        json: serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()),
        single: match ids {
            [id] => Some(*id),
            _ => None,
        },
    }
}

impl<C: Expression<SqlType = BigInt>> Expression for IdIn<C> {
    type SqlType = Bool;
}

impl<C: Expression<SqlType = BigInt>> QueryId for IdIn<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: Expression<SqlType = BigInt>> ValidGrouping<()> for IdIn<C> {
    type IsAggregate = Never;
}

impl<C: Expression<SqlType = BigInt> + AppearsOnTable<QS>, QS> AppearsOnTable<QS> for IdIn<C> {}

impl<C: Expression<SqlType = BigInt> + SelectableExpression<QS>, QS> SelectableExpression<QS>
    for IdIn<C>
{
}

impl<C> QueryFragment<MultiBackend> for IdIn<C>
where
    C: Expression<SqlType = BigInt> + QueryFragment<MultiBackend>,
    EqAny<C, Vec<i64>>: QueryFragment<MultiBackend>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        if let Some(id) = &self.single {
            self.column.walk_ast(out.reborrow())?;
            out.push_sql(" = ");
            out.push_bind_param::<BigInt, i64>(id)
        } else if let MultiBackend::Sqlite(_) = out.backend() {
            self.column.walk_ast(out.reborrow())?;
            out.push_sql(" IN (SELECT value FROM json_each(");
            out.push_bind_param::<Text, String>(&self.json)?;
            out.push_sql("))");
            Ok(())
        } else {
            self.any.walk_ast(out)
        }
    }
}

/// `column IN (<query>)` for a boxed subquery, which diesel's `eq_any` does not take on a
/// connection over several backends.
#[derive(Debug, Clone)]
pub struct InSubquery<C, Q> {
    column: C,
    query: Q,
}

pub fn in_subquery<C, Q>(column: C, query: Q) -> InSubquery<C, Q> {
    InSubquery { column, query }
}

boolean_expression!(InSubquery<C, Q>);

impl<C: AppearsOnTable<QS>, Q, QS> AppearsOnTable<QS> for InSubquery<C, Q> {}

impl<C: SelectableExpression<QS>, Q, QS> SelectableExpression<QS> for InSubquery<C, Q> {}

impl<C, Q> QueryFragment<MultiBackend> for InSubquery<C, Q>
where
    C: QueryFragment<MultiBackend>,
    Q: QueryFragment<MultiBackend>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

/// `((<condition>) IS TRUE)`: the same rows as the condition, but no index serves it, so a
/// statement has to find its rows another way and check this on each. (`= TRUE` would not do:
/// PostgreSQL simplifies it back to the condition.)
#[derive(Debug, Clone)]
pub struct IsTrue<P> {
    condition: P,
}

pub fn is_true<P>(condition: P) -> IsTrue<P> {
    IsTrue { condition }
}

boolean_expression!(IsTrue<P>);

impl<P: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for IsTrue<P> {}

impl<P: SelectableExpression<QS>, QS> SelectableExpression<QS> for IsTrue<P> {}

impl<P: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for IsTrue<P> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("((");
        self.condition.walk_ast(out.reborrow())?;
        out.push_sql(") IS TRUE)");
        Ok(())
    }
}

/// `(SELECT COUNT(*) FROM (<query>) AS counted)`: the rows of a subquery (a bounded count's,
/// with its LIMIT inside), which diesel's DSL cannot count. Counting them as
/// `COUNT(*) FROM t WHERE id IN (<query>)` instead read `t` again: on PostgreSQL a hash join
/// over all of a big tag's rows, half of a two-tag count's 146 ms at a million articles.
#[derive(Debug, Clone)]
pub struct CountOf<Q> {
    query: Q,
}

pub fn count_of<Q>(query: Q) -> CountOf<Q> {
    CountOf { query }
}

impl<Q> Expression for CountOf<Q> {
    type SqlType = BigInt;
}

impl<Q> QueryId for CountOf<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> ValidGrouping<()> for CountOf<Q> {
    type IsAggregate = Never;
}

impl<Q, QS> AppearsOnTable<QS> for CountOf<Q> {}

impl<Q, QS> SelectableExpression<QS> for CountOf<Q> {}

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for CountOf<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("(SELECT COUNT(*) FROM (");
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(") AS counted)");
        Ok(())
    }
}

/// The ids of a listed article's tags, comma-separated (NULL for none), as a column of the
/// page statement: the names come from memory (`service::tags::catalog`), which saved a
/// statement a page (0.31–0.39 ms of PostgreSQL time for the page against 0.47–0.72 with its
/// tags read apart, at a million articles). Arrays would suit PostgreSQL, but one text type
/// keeps one statement for both backends.
#[derive(Debug, Clone, Copy, Default)]
pub struct TagIdsOfArticle;

impl Expression for TagIdsOfArticle {
    type SqlType = Nullable<Text>;
}

impl QueryId for TagIdsOfArticle {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl ValidGrouping<()> for TagIdsOfArticle {
    type IsAggregate = Never;
}

impl<QS> AppearsOnTable<QS> for TagIdsOfArticle where articles::id: AppearsOnTable<QS> {}

impl<QS> SelectableExpression<QS> for TagIdsOfArticle where articles::id: SelectableExpression<QS> {}

impl QueryFragment<MultiBackend> for TagIdsOfArticle {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        let joined = match out.backend() {
            MultiBackend::Sqlite(_) => "(SELECT group_concat(tag_id, ',')",
            MultiBackend::Postgres(_) => "(SELECT string_agg(tag_id::text, ',')",
        };
        out.push_sql(joined);
        out.push_sql(" FROM article_tags WHERE article_tags.article_id = ");
        articles::id.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

/// `<query> LIMIT n [OFFSET ?]`, the page size written into the statement rather than bound:
///
/// - SQLite (3.47 and later) plans a page from its LIMIT's value, and so expires a prepared
///   statement whenever a value is bound to its LIMIT: every list page was prepared again on
///   every request (7% of page 1's time at ten thousand articles).
/// - PostgreSQL must guess a bound LIMIT at a tenth of the rows, so a prepared tag page's
///   generic plan looked far costlier than a custom one and it planned the statement afresh
///   on every run: 0.25 ms of a tag page's 0.36 at a million articles. Written in, the generic
///   plan is kept. Not for every page, though (`bound_on_postgres`): an author's page then kept a
///   generic plan that walks the date index, at half the requests a second.
///
/// The LIMITs written are few (up to 128, then powers of two: `list_page`), so each is one
/// more prepared statement at most.
#[derive(Debug, Clone)]
pub struct LimitWritten<Q> {
    query: Q,
    limit: i64,
    offset: i64,
    bound_on_postgres: bool,
}

/// `query` (without a LIMIT or OFFSET of its own), limited to `limit` rows after `offset`.
pub fn limit_written<Q>(query: Q, limit: i64, offset: i64) -> LimitWritten<Q> {
    LimitWritten {
        query,
        limit,
        offset,
        bound_on_postgres: false,
    }
}

impl<Q> LimitWritten<Q> {
    /// Written on SQLite only; PostgreSQL binds it, and plans the page for it on each run.
    pub fn bound_on_postgres(self) -> Self {
        Self {
            bound_on_postgres: true,
            ..self
        }
    }
}

// A whole statement too, not only a subquery: a list page's own LIMIT.
impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for LimitWritten<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> QueryId for LimitWritten<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, Conn> RunQueryDsl<Conn> for LimitWritten<Q> {}

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for LimitWritten<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        if self.bound_on_postgres && !matches!(out.backend(), MultiBackend::Sqlite(_)) {
            out.push_sql(" LIMIT ");
            out.push_bind_param::<BigInt, i64>(&self.limit)?;
        } else {
            out.push_sql(&format!(" LIMIT {}", self.limit));
        }
        if self.offset > 0 {
            out.push_sql(" OFFSET ");
            out.push_bind_param::<BigInt, i64>(&self.offset)?;
        }
        Ok(())
    }
}

/// `(key, id) < (?, ?)` (or `>`): a row-value comparison, which both backends answer from a
/// (status, key, id) index; the same condition written with OR is not always indexed.
#[derive(Debug, Clone)]
pub struct RowAfter<K, I, ST, V> {
    key: K,
    id_column: I,
    value: V,
    id: i64,
    descending: bool,
    sql_type: PhantomData<ST>,
}

/// Rows whose (`key`, `id_column`) come after (`value`, `id`) in an ascending order, or
/// before them in a descending one.
pub fn row_after<K, I, ST, V>(
    key: K,
    id_column: I,
    value: V,
    id: i64,
    descending: bool,
) -> RowAfter<K, I, ST, V> {
    RowAfter {
        key,
        id_column,
        value,
        id,
        descending,
        sql_type: PhantomData,
    }
}

boolean_expression!(RowAfter<K, I, ST, V>);

impl<K: AppearsOnTable<QS>, I: AppearsOnTable<QS>, ST, V, QS> AppearsOnTable<QS>
    for RowAfter<K, I, ST, V>
{
}

impl<K: SelectableExpression<QS>, I: SelectableExpression<QS>, ST, V, QS> SelectableExpression<QS>
    for RowAfter<K, I, ST, V>
{
}

impl<K, I, ST, V> QueryFragment<MultiBackend> for RowAfter<K, I, ST, V>
where
    K: QueryFragment<MultiBackend>,
    I: QueryFragment<MultiBackend>,
    ST: SingleValue,
    MultiBackend: HasSqlType<ST>,
    V: ToSql<ST, MultiBackend>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("(");
        self.key.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.id_column.walk_ast(out.reborrow())?;
        out.push_sql(if self.descending { ") < (" } else { ") > (" });
        out.push_bind_param::<ST, V>(&self.value)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, i64>(&self.id)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Articles matching a full-text query (`db::search::TextMatch`). SQLite asks its FTS5 index,
/// starting from the matches when they are few (`IN`), else probing each article read in
/// order (`EXISTS` on the rowid, a seek in the index), so a page of a common word stops at
/// its limit; PostgreSQL's planner makes that choice itself over the GIN index, unless the
/// statement runs `db::search::through_text_index`.
#[derive(Debug, Clone)]
pub struct Matches {
    text: TextMatch,
}

pub fn matches(text: &TextMatch) -> Matches {
    Matches { text: text.clone() }
}

impl Expression for Matches {
    type SqlType = Bool;
}

impl QueryId for Matches {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl ValidGrouping<()> for Matches {
    type IsAggregate = Never;
}

impl AppearsOnTable<articles::table> for Matches {}

impl SelectableExpression<articles::table> for Matches {}

impl QueryFragment<MultiBackend> for Matches {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        // A statement kept prepared is planned, after five runs, once for all values: one
        // plan for a word in twelve articles and for one in all of them (PostgreSQL then
        // scanned every article for a rare word: 30 ms where a bitmap of the dozen takes
        // 0.2). Searches are planned for their words each time instead, except those that
        // test rows one by one: no index serves that test, so their plan is the same for
        // every word, and planning it again cost a third of the statement. SQLite plans alike
        // for every value (`db::analyze` drops its value samples), so it keeps them all.
        let sqlite = matches!(out.backend(), MultiBackend::Sqlite(_));
        if !self.text.row_by_row && !sqlite {
            out.unsafe_to_cache_prepared();
        }
        match (sqlite, self.text.selective || self.text.batch.is_some()) {
            (true, true) => {
                out.push_sql(
                    "\"articles\".\"id\" IN (SELECT rowid FROM article_search \
                     WHERE article_search MATCH ",
                );
                out.push_bind_param::<Text, String>(&self.text.fts5)?;
                if let Some(batch) = &self.text.batch {
                    out.push_sql(" AND rowid < ");
                    out.push_bind_param::<BigInt, i64>(&batch.below)?;
                    // Written in, as `LimitWritten` writes a page's: a bound LIMIT had the
                    // statement prepared again on every run, half of its time.
                    out.push_sql(&format!(" ORDER BY rowid DESC LIMIT {}", batch.limit));
                }
                out.push_sql(")");
            }
            (true, false) => {
                out.push_sql("EXISTS (SELECT 1 FROM article_search WHERE article_search MATCH ");
                out.push_bind_param::<Text, String>(&self.text.fts5)?;
                out.push_sql(" AND article_search.rowid = \"articles\".\"id\")");
            }
            _ => {
                // A title's or an excerpt's vector holds a few words, quick to test row by
                // row; the whole article's is read only for what they cannot answer.
                let text = &self.text;
                out.push_sql("(TRUE");
                {
                    let mut test = |column: &str, query: &'b String, negated: bool| {
                        out.push_sql(if negated { " AND NOT " } else { " AND " });
                        // The operator's function rather than `@@` itself: an index serves
                        // operators, so this tests each row read and never builds the GIN
                        // bitmap, at the same cost per row. Its query is a subquery, made
                        // once a statement: the plan kept prepared for these would otherwise
                        // parse it again for every row (7 ms instead of 1.2 for a tier of a
                        // phrase, 2,000 rows).
                        out.push_sql(&if text.row_by_row {
                            format!(
                                "ts_match_vq(\"articles\".\"{column}\", (SELECT to_tsquery('folio_search', "
                            )
                        } else {
                            format!("\"articles\".\"{column}\" @@ to_tsquery('folio_search', ")
                        });
                        out.push_bind_param::<Text, String>(query)?;
                        out.push_sql(if text.row_by_row { ")))" } else { ")" });
                        QueryResult::Ok(())
                    };
                    match text.scope {
                        Scope::Anywhere => test("search", &text.tsquery, false)?,
                        Scope::Title => test("search_title", &text.tsquery_wanted, false)?,
                        Scope::Excerpt => {
                            test("search_excerpt", &text.tsquery_wanted, false)?;
                            test("search_title", &text.tsquery_wanted, true)?;
                        }
                        Scope::Elsewhere => {
                            test("search", &text.tsquery, false)?;
                            test("search_title", &text.tsquery_wanted, true)?;
                            test("search_excerpt", &text.tsquery_wanted, true)?;
                        }
                    }
                    if text.excludes && matches!(text.scope, Scope::Title | Scope::Excerpt) {
                        test("search", &text.tsquery, false)?;
                    }
                }
                out.push_sql(")");
            }
        }
        Ok(())
    }
}
