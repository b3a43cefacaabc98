// The one table set both backends share: text ids, unix seconds as BigInt, Bool, Text.

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        username_key -> Text,
        email -> Nullable<Text>,
        password_hash -> Text,
        is_active -> Bool,
        roles -> Text,
        created_at -> BigInt,
        last_login -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_families (id) {
        id -> Text,
        user_id -> Text,
        current_jti -> Text,
        current_kid -> Text,
        current_iat -> BigInt,
        current_exp -> BigInt,
        previous_jti -> Nullable<Text>,
        rotated_at -> Nullable<BigInt>,
        created_at -> BigInt,
        ends_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        client_id -> Nullable<Text>,
        scope -> Text,
        browser_session_id -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
    }
}

diesel::table! {
    browser_sessions (id) {
        id -> Text,
        cookie_sha256 -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    authorization_codes (code_sha256) {
        code_sha256 -> Text,
        client_id -> Text,
        browser_session_id -> Text,
        redirect_uri -> Text,
        redirect_uri_given -> Bool,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        family_id -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> Text,
        secret_sha256 -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        username_key -> Text,
        client_key -> Text,
        failed_at -> BigInt,
        pair_cleared -> Bool,
    }
}

diesel::table! {
    key_rotations (due_key_created_at) {
        due_key_created_at -> BigInt,
        claimed_by -> Text,
        claimed_at -> BigInt,
        new_kid -> Nullable<Text>,
        completed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    data_migrations (name) {
        name -> Text,
    }
}

diesel::joinable!(refresh_families -> users (user_id));
diesel::joinable!(browser_sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, refresh_families, browser_sessions);
