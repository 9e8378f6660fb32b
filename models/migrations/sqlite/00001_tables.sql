-- The schema as Gatehouse had it when migrations began (the tables GORM's
-- AutoMigrate made until then). IF NOT EXISTS everywhere: on a database
-- made by an earlier release this keeps every table and row it has and
-- adds only what is missing; the columns earlier releases lacked are added
-- by the next step (version 2, a Go migration in models/migrate_adopt.go).

-- +goose Up
CREATE TABLE IF NOT EXISTS `users` (`id` integer PRIMARY KEY AUTOINCREMENT,`email` text NOT NULL,`full_name` text NOT NULL,`password_hash` text NOT NULL,`scopes` text NOT NULL,`disabled` numeric NOT NULL DEFAULT false,`email_verified` numeric NOT NULL DEFAULT false,`created_at` datetime,`updated_at` datetime,`linked_providers` text NOT NULL DEFAULT '',`mfa_enabled` numeric NOT NULL DEFAULT false);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_users_email` ON `users`(`email`);
CREATE TABLE IF NOT EXISTS `sessions` (`token_hash` text,`public_id` text NOT NULL,`user_id` integer NOT NULL,`scopes` text NOT NULL,`ip` text NOT NULL,`user_agent` text NOT NULL,`created_at` datetime NOT NULL,`last_seen_at` datetime NOT NULL,`expires_at` datetime NOT NULL,`auth_time` datetime,PRIMARY KEY (`token_hash`));
CREATE INDEX IF NOT EXISTS `idx_sessions_expires_at` ON `sessions`(`expires_at`);
CREATE INDEX IF NOT EXISTS `idx_sessions_last_seen_at` ON `sessions`(`last_seen_at`);
CREATE INDEX IF NOT EXISTS `idx_sessions_user_id` ON `sessions`(`user_id`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_sessions_public_id` ON `sessions`(`public_id`);
CREATE TABLE IF NOT EXISTS `login_failures` (`id` integer PRIMARY KEY AUTOINCREMENT,`key` text NOT NULL,`at` datetime NOT NULL);
CREATE INDEX IF NOT EXISTS `idx_login_failures_at` ON `login_failures`(`at`);
CREATE INDEX IF NOT EXISTS `idx_login_failures_key_at` ON `login_failures`(`key`,`at`);
CREATE TABLE IF NOT EXISTS `posts` (`id` integer PRIMARY KEY AUTOINCREMENT,`user_id` integer NOT NULL,`title` text NOT NULL,`body` text NOT NULL,`created_at` datetime NOT NULL);
CREATE INDEX IF NOT EXISTS `idx_posts_user_id` ON `posts`(`user_id`);
CREATE TABLE IF NOT EXISTS `events` (`id` integer PRIMARY KEY AUTOINCREMENT,`user_id` integer NOT NULL,`kind` text NOT NULL,`ip` text NOT NULL,`user_agent` text NOT NULL,`at` datetime NOT NULL,`detail` text NOT NULL);
CREATE INDEX IF NOT EXISTS `idx_events_at` ON `events`(`at`);
CREATE INDEX IF NOT EXISTS `idx_events_user_ip` ON `events`(`user_id`,`ip`,`at`);
CREATE INDEX IF NOT EXISTS `idx_events_user_at` ON `events`(`user_id`,`at`);
CREATE TABLE IF NOT EXISTS `identities` (`id` integer PRIMARY KEY AUTOINCREMENT,`provider` text NOT NULL,`subject` text NOT NULL,`user_id` integer NOT NULL,`email` text NOT NULL,`created_at` datetime NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_identities_user_provider` ON `identities`(`user_id`,`provider`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_identities_provider_subject` ON `identities`(`provider`,`subject`);
CREATE TABLE IF NOT EXISTS `oauth_states` (`hash` text,`provider` text NOT NULL,`verifier` text NOT NULL,`nonce` text NOT NULL,`next` text NOT NULL,`binding_hash` text NOT NULL,`link_user_id` integer NOT NULL DEFAULT 0,`created_at` datetime NOT NULL,`expires_at` datetime NOT NULL,PRIMARY KEY (`hash`));
CREATE INDEX IF NOT EXISTS `idx_oauth_states_expires_at` ON `oauth_states`(`expires_at`);
CREATE TABLE IF NOT EXISTS `signing_keys` (`kid` text,`alg` text NOT NULL,`public_key` blob NOT NULL,`private_key` blob NOT NULL,`created_at` datetime NOT NULL,`retired_at` datetime,PRIMARY KEY (`kid`));
CREATE INDEX IF NOT EXISTS `idx_signing_keys_created_at` ON `signing_keys`(`created_at`);
CREATE INDEX IF NOT EXISTS `idx_signing_keys_alg` ON `signing_keys`(`alg`);
CREATE TABLE IF NOT EXISTS `refresh_tokens` (`token_hash` text,`session_id` text NOT NULL,`created_at` datetime NOT NULL,`expires_at` datetime NOT NULL,`spent_at` datetime,PRIMARY KEY (`token_hash`));
CREATE INDEX IF NOT EXISTS `idx_refresh_tokens_expires_at` ON `refresh_tokens`(`expires_at`);
CREATE INDEX IF NOT EXISTS `idx_refresh_tokens_session_id` ON `refresh_tokens`(`session_id`);
CREATE TABLE IF NOT EXISTS `totp_secrets` (`user_id` integer,`secret` blob,`pending` blob,`last_step` integer NOT NULL DEFAULT 0,PRIMARY KEY (`user_id`));
CREATE TABLE IF NOT EXISTS `recovery_codes` (`id` integer PRIMARY KEY AUTOINCREMENT,`user_id` integer NOT NULL,`code_hash` text NOT NULL,`used_at` datetime);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_recovery_user_code` ON `recovery_codes`(`user_id`,`code_hash`);
CREATE TABLE IF NOT EXISTS `pending_logins` (`token_hash` text,`user_id` integer NOT NULL,`scopes` text NOT NULL,`next` text NOT NULL,`password_proof` text NOT NULL,`tries` integer NOT NULL DEFAULT 0,`expires_at` datetime NOT NULL,PRIMARY KEY (`token_hash`));
CREATE INDEX IF NOT EXISTS `idx_pending_logins_expires_at` ON `pending_logins`(`expires_at`);
CREATE INDEX IF NOT EXISTS `idx_pending_logins_user_id` ON `pending_logins`(`user_id`);
CREATE TABLE IF NOT EXISTS `mails` (`id` integer PRIMARY KEY AUTOINCREMENT,`user_id` integer NOT NULL DEFAULT 0,`recipient` text NOT NULL,`kind` text NOT NULL,`data` text NOT NULL,`state` text NOT NULL,`due_at` datetime NOT NULL,`attempts` integer NOT NULL DEFAULT 0,`claim` text NOT NULL DEFAULT '',`last_error` text NOT NULL DEFAULT '',`created_at` datetime NOT NULL,`sent_at` datetime);
CREATE INDEX IF NOT EXISTS `idx_mails_created_at` ON `mails`(`created_at`);
CREATE INDEX IF NOT EXISTS `idx_mails_state_due` ON `mails`(`state`,`due_at`);
CREATE TABLE IF NOT EXISTS `email_links` (`id` integer PRIMARY KEY AUTOINCREMENT,`token_hash` text NOT NULL,`user_id` integer NOT NULL,`purpose` text NOT NULL,`email` text NOT NULL,`expires_at` datetime NOT NULL,`created_at` datetime NOT NULL);
CREATE INDEX IF NOT EXISTS `idx_email_links_expires_at` ON `email_links`(`expires_at`);
CREATE INDEX IF NOT EXISTS `idx_email_links_user_id` ON `email_links`(`user_id`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_email_links_token_hash` ON `email_links`(`token_hash`);
CREATE TABLE IF NOT EXISTS `hash_params` (`params` text,`created_at` datetime NOT NULL,PRIMARY KEY (`params`));
CREATE TABLE IF NOT EXISTS `user_search_terms` (`user_id` integer,`term` text,PRIMARY KEY (`user_id`,`term`));
CREATE INDEX IF NOT EXISTS `idx_user_search_terms_term` ON `user_search_terms`(`term`,`user_id`);
