//! Migrations go up, down and up again on each backend.

use diesel::prelude::*;

use crate::helpers::{TestDb, on_each_backend};

#[actix_web::test]
async fn migrations_run_up_down_and_up_again() {
    on_each_backend(|backend| async move {
        let db = TestDb::fresh(backend);
        let url = db.parsed();

        let first = folio::db::migrate(&url).unwrap();
        folio::db::revert_all(&url).unwrap();
        let second = folio::db::migrate(&url).unwrap();

        assert!(!first.is_empty());
        assert_eq!(first, second);
        assert!(
            folio::db::migrate(&url).unwrap().is_empty(),
            "a second run applies nothing"
        );
        let count: i64 = folio::db::schema::articles::table
            .count()
            .get_result(&mut folio::db::connect(&url).unwrap())
            .unwrap();
        assert_eq!(count, 0);
    })
    .await;
}
