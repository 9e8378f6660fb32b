-- The schema as Gatehouse had it when migrations began (the tables GORM's
-- AutoMigrate made until then). IF NOT EXISTS everywhere: on a database
-- made by an earlier release this keeps every table and row it has and
-- adds only what is missing; the columns and the index earlier releases
-- lacked are added by the next step (version 2, a Go migration in
-- models/migrate_adopt.go). MariaDB commits each CREATE TABLE on its own,
-- so the file runs outside a transaction.

-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE IF NOT EXISTS `email_links` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `token_hash` varchar(64) NOT NULL,
  `user_id` bigint(20) unsigned NOT NULL,
  `purpose` varchar(8) NOT NULL,
  `email` varchar(254) NOT NULL,
  `expires_at` datetime(3) NOT NULL,
  `created_at` datetime(3) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_email_links_token_hash` (`token_hash`),
  KEY `idx_email_links_user_id` (`user_id`),
  KEY `idx_email_links_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `events` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `user_id` bigint(20) unsigned NOT NULL,
  `kind` varchar(32) NOT NULL,
  `ip` varchar(64) NOT NULL,
  `user_agent` varchar(512) NOT NULL,
  `at` datetime(3) NOT NULL,
  `detail` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_events_user_at` (`user_id`,`at`),
  KEY `idx_events_user_ip` (`user_id`,`ip`,`at`),
  KEY `idx_events_at` (`at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `hash_params` (
  `params` varchar(100) NOT NULL,
  `created_at` datetime(3) NOT NULL,
  PRIMARY KEY (`params`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `identities` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `provider` varchar(32) NOT NULL,
  `subject` varchar(255) NOT NULL,
  `user_id` bigint(20) unsigned NOT NULL,
  `email` varchar(254) NOT NULL,
  `created_at` datetime(3) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_identities_provider_subject` (`provider`,`subject`),
  UNIQUE KEY `idx_identities_user_provider` (`user_id`,`provider`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `login_failures` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `key` varchar(320) NOT NULL,
  `at` datetime(3) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_login_failures_key_at` (`key`,`at`),
  KEY `idx_login_failures_at` (`at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `mails` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `user_id` bigint(20) unsigned NOT NULL DEFAULT 0,
  `recipient` varchar(254) NOT NULL,
  `kind` varchar(32) NOT NULL,
  `data` text NOT NULL,
  `state` varchar(8) NOT NULL,
  `due_at` datetime(3) NOT NULL,
  `attempts` bigint(20) NOT NULL DEFAULT 0,
  `claim` varchar(32) NOT NULL DEFAULT '',
  `last_error` varchar(255) NOT NULL DEFAULT '',
  `created_at` datetime(3) NOT NULL,
  `sent_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_mails_state_due` (`state`,`due_at`),
  KEY `idx_mails_created_at` (`created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `oauth_states` (
  `hash` varchar(64) NOT NULL,
  `provider` varchar(32) NOT NULL,
  `verifier` varchar(128) NOT NULL,
  `nonce` varchar(128) NOT NULL,
  `next` varchar(2048) NOT NULL,
  `binding_hash` varchar(64) NOT NULL,
  `link_user_id` bigint(20) unsigned NOT NULL DEFAULT 0,
  `created_at` datetime(3) NOT NULL,
  `expires_at` datetime(3) NOT NULL,
  PRIMARY KEY (`hash`),
  KEY `idx_oauth_states_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `pending_logins` (
  `token_hash` varchar(64) NOT NULL,
  `user_id` bigint(20) unsigned NOT NULL,
  `scopes` varchar(255) NOT NULL,
  `next` varchar(2048) NOT NULL,
  `password_proof` varchar(64) NOT NULL,
  `tries` bigint(20) NOT NULL DEFAULT 0,
  `expires_at` datetime(3) NOT NULL,
  PRIMARY KEY (`token_hash`),
  KEY `idx_pending_logins_user_id` (`user_id`),
  KEY `idx_pending_logins_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `posts` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `user_id` bigint(20) unsigned NOT NULL,
  `title` varchar(200) NOT NULL,
  `body` text NOT NULL,
  `created_at` datetime(3) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_posts_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `recovery_codes` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `user_id` bigint(20) unsigned NOT NULL,
  `code_hash` varchar(64) NOT NULL,
  `used_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_recovery_user_code` (`user_id`,`code_hash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `refresh_tokens` (
  `token_hash` varchar(64) NOT NULL,
  `session_id` varchar(32) NOT NULL,
  `created_at` datetime(3) NOT NULL,
  `expires_at` datetime(3) NOT NULL,
  `spent_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`token_hash`),
  KEY `idx_refresh_tokens_session_id` (`session_id`),
  KEY `idx_refresh_tokens_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `sessions` (
  `token_hash` varchar(64) NOT NULL,
  `public_id` varchar(32) NOT NULL,
  `user_id` bigint(20) unsigned NOT NULL,
  `scopes` varchar(255) NOT NULL,
  `ip` varchar(64) NOT NULL,
  `user_agent` varchar(512) NOT NULL,
  `created_at` datetime(3) NOT NULL,
  `last_seen_at` datetime(3) NOT NULL,
  `expires_at` datetime(3) NOT NULL,
  `auth_time` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`token_hash`),
  UNIQUE KEY `idx_sessions_public_id` (`public_id`),
  KEY `idx_sessions_user_id` (`user_id`),
  KEY `idx_sessions_last_seen_at` (`last_seen_at`),
  KEY `idx_sessions_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `signing_keys` (
  `kid` varchar(64) NOT NULL,
  `alg` varchar(16) NOT NULL,
  `public_key` longblob NOT NULL,
  `private_key` longblob NOT NULL,
  `created_at` datetime(3) NOT NULL,
  `retired_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`kid`),
  KEY `idx_signing_keys_alg` (`alg`),
  KEY `idx_signing_keys_created_at` (`created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `totp_secrets` (
  `user_id` bigint(20) unsigned NOT NULL,
  `secret` varbinary(255) DEFAULT NULL,
  `pending` varbinary(255) DEFAULT NULL,
  `last_step` bigint(20) NOT NULL DEFAULT 0,
  PRIMARY KEY (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `user_search_terms` (
  `user_id` bigint(20) unsigned NOT NULL,
  `term` varchar(254) NOT NULL,
  PRIMARY KEY (`user_id`,`term`),
  KEY `idx_user_search_terms_term` (`term`,`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `users` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `email` varchar(254) NOT NULL,
  `full_name` varchar(200) NOT NULL,
  `password_hash` varchar(255) NOT NULL,
  `scopes` varchar(255) NOT NULL,
  `disabled` tinyint(1) NOT NULL DEFAULT 0,
  `email_verified` tinyint(1) NOT NULL DEFAULT 0,
  `created_at` datetime(3) DEFAULT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  `linked_providers` varchar(255) NOT NULL DEFAULT '',
  `mfa_enabled` tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_users_email` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
