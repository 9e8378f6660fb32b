-- Version 3: applications that log their users in through Gatehouse
-- (contract §10: the sessions of their grants, apps, consents, codes) and
-- passkeys (contract §11: passkeys, passkey_flows).
-- +goose NO TRANSACTION
-- +goose Up
ALTER TABLE `sessions` ADD COLUMN `client_id` varchar(64) NOT NULL DEFAULT '', ADD COLUMN `amr` varchar(64) NOT NULL DEFAULT '', ADD KEY `idx_sessions_client_id` (`client_id`);
CREATE TABLE `apps` (
  `client_id` varchar(64) NOT NULL,
  `name` varchar(100) NOT NULL,
  `secret_hash` varchar(64) NOT NULL,
  `public` tinyint(1) NOT NULL,
  `first_party` tinyint(1) NOT NULL,
  `redirect_uris` text NOT NULL,
  `post_logout_uris` text NOT NULL,
  `scopes` varchar(255) NOT NULL,
  `id_token_alg` varchar(16) NOT NULL,
  `created_at` datetime(3) NOT NULL,
  PRIMARY KEY (`client_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `consents` (
  `user_id` bigint(20) unsigned NOT NULL,
  `client_id` varchar(64) NOT NULL,
  `scopes` varchar(255) NOT NULL,
  `granted_at` datetime(3) NOT NULL,
  PRIMARY KEY (`user_id`,`client_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `auth_codes` (
  `code_hash` varchar(64) NOT NULL,
  `client_id` varchar(64) NOT NULL,
  `user_id` bigint(20) unsigned NOT NULL,
  `redirect_uri` text NOT NULL,
  `challenge` varchar(128) NOT NULL,
  `nonce` varchar(512) NOT NULL,
  `scopes` varchar(255) NOT NULL,
  `sid` varchar(32) NOT NULL,
  `auth_time` datetime(3) NOT NULL,
  `amr` varchar(64) NOT NULL,
  `expires_at` datetime(3) NOT NULL,
  `used_at` datetime(3) DEFAULT NULL,
  `grant_session` varchar(32) NOT NULL,
  PRIMARY KEY (`code_hash`),
  KEY `idx_auth_codes_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `passkeys` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `public_id` varchar(32) NOT NULL,
  `user_id` bigint(20) unsigned NOT NULL,
  `credential_hash` varchar(64) NOT NULL,
  `credential_id` longblob NOT NULL,
  `user_handle` varbinary(64) NOT NULL,
  `public_key` longblob NOT NULL,
  `sign_count` int(10) unsigned NOT NULL DEFAULT 0,
  `user_verified` tinyint(1) NOT NULL DEFAULT 0,
  `backup_eligible` tinyint(1) NOT NULL DEFAULT 0,
  `backup_state` tinyint(1) NOT NULL DEFAULT 0,
  `transports` varchar(255) NOT NULL DEFAULT '',
  `aaguid` varchar(36) NOT NULL DEFAULT '',
  `attestation_format` varchar(32) NOT NULL DEFAULT '',
  `name` varchar(64) NOT NULL,
  `created_at` datetime(3) NOT NULL,
  `last_used_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_passkeys_public_id` (`public_id`),
  UNIQUE KEY `idx_passkeys_credential_hash` (`credential_hash`),
  KEY `idx_passkeys_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `passkey_flows` (
  `hash` varchar(64) NOT NULL,
  `kind` varchar(16) NOT NULL,
  `session_id` varchar(32) NOT NULL DEFAULT '',
  `user_id` bigint(20) unsigned NOT NULL DEFAULT 0,
  `state` longblob NOT NULL,
  `created_at` datetime(3) NOT NULL,
  `expires_at` datetime(3) NOT NULL,
  PRIMARY KEY (`hash`),
  KEY `idx_passkey_flows_session_id` (`session_id`),
  KEY `idx_passkey_flows_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
