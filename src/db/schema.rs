//! The one hand-written schema both backends share: ids are `BigInt`, times are UTC
//! `Timestamp`s, enums are `Text`. Each backend's migrations must produce exactly this.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        slug -> Text,
        name -> Text,
        bio -> Text,
        avatar -> Nullable<Text>,
        role -> Text,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    articles (id) {
        id -> BigInt,
        slug -> Text,
        status -> Text,
        published_at -> Nullable<Timestamp>,
        author_id -> BigInt,
        reading_time -> Integer,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        title -> Text,
        excerpt -> Text,
        feature_image -> Nullable<Text>,
        body_markdown -> Text,
        body_html -> Text,
        /// Names the full-text index reads (`db::search::refresh_names` keeps them).
        search_tags -> Text,
        search_author -> Text,
        feature_image_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    media (id) {
        id -> BigInt,
        object_key -> Text,
        url -> Text,
        mime_type -> Text,
        width -> Integer,
        height -> Integer,
        bytes -> BigInt,
        variants -> Text,
        alt -> Text,
        caption -> Text,
        uploader_id -> Nullable<BigInt>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    article_tags (article_id, tag_id) {
        article_id -> BigInt,
        tag_id -> BigInt,
        /// The article's `published_at` while it is published, kept by triggers (the tag's
        /// timeline, migration `tag_timeline`).
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        family -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        prefix -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_identities (id) {
        id -> BigInt,
        user_id -> BigInt,
        issuer -> Text,
        subject -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sign_ins (state_hash) {
        state_hash -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        callback_url -> Text,
        redirect_uri -> Text,
        browser_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    article_revisions (id) {
        id -> BigInt,
        article_id -> BigInt,
        version -> Integer,
        editor_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        restored_from -> Nullable<Integer>,
        changed -> Text,
        title -> Text,
        slug -> Text,
        excerpt -> Text,
        body_markdown -> Text,
        feature_image -> Nullable<Text>,
        status -> Text,
        published_at -> Nullable<Timestamp>,
        author_id -> BigInt,
        tags -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        events -> Text,
        description -> Text,
        active -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        consecutive_failures -> Integer,
        breaker_open_until -> Nullable<Timestamp>,
        breaker_cooldown_ms -> BigInt,
        failing_since -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        last_failure_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        message_id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        give_up_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        last_response_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_duration_ms -> Nullable<Integer>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    article_counts (scope, ref_id) {
        scope -> Text,
        ref_id -> BigInt,
        published -> BigInt,
    }
}

diesel::table! {
    count_watermark (id) {
        id -> Integer,
        counted_until -> Timestamp,
    }
}

diesel::table! {
    tags_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    content_clock (id) {
        id -> Integer,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    site (id) {
        id -> Integer,
        title -> Text,
        description -> Text,
        url -> Text,
        locale -> Text,
        logo -> Nullable<Text>,
        article_url -> Text,
        tag_url -> Text,
        author_url -> Text,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(articles -> users (author_id));
diesel::joinable!(article_tags -> articles (article_id));
diesel::joinable!(article_tags -> tags (tag_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(user_identities -> users (user_id));
diesel::joinable!(article_revisions -> articles (article_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(media -> users (uploader_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    articles,
    tags,
    article_tags,
    refresh_tokens,
    api_tokens,
    user_identities,
    sign_ins,
    article_revisions,
    webhooks,
    webhook_deliveries,
    media,
    article_counts,
    count_watermark,
    content_clock,
    tags_version,
    site,
);
