-- Version 3: applications that log their users in through Gatehouse
-- (contract §10: the sessions of their grants, apps, consents, codes) and
-- passkeys (contract §11: passkeys, passkey_flows).
-- +goose Up
ALTER TABLE `sessions` ADD COLUMN `client_id` text NOT NULL DEFAULT "";
ALTER TABLE `sessions` ADD COLUMN `amr` text NOT NULL DEFAULT "";
CREATE INDEX `idx_sessions_client_id` ON `sessions`(`client_id`);
CREATE TABLE `apps` (`client_id` text,`name` text NOT NULL,`secret_hash` text NOT NULL,`public` numeric NOT NULL,`first_party` numeric NOT NULL,`redirect_uris` text NOT NULL,`post_logout_uris` text NOT NULL,`scopes` text NOT NULL,`id_token_alg` text NOT NULL,`created_at` datetime NOT NULL,PRIMARY KEY (`client_id`));
CREATE TABLE `consents` (`user_id` integer,`client_id` text,`scopes` text NOT NULL,`granted_at` datetime NOT NULL,PRIMARY KEY (`user_id`,`client_id`));
CREATE TABLE `auth_codes` (`code_hash` text,`client_id` text NOT NULL,`user_id` integer NOT NULL,`redirect_uri` text NOT NULL,`challenge` text NOT NULL,`nonce` text NOT NULL,`scopes` text NOT NULL,`sid` text NOT NULL,`auth_time` datetime NOT NULL,`amr` text NOT NULL,`expires_at` datetime NOT NULL,`used_at` datetime,`grant_session` text NOT NULL,PRIMARY KEY (`code_hash`));
CREATE INDEX `idx_auth_codes_expires_at` ON `auth_codes`(`expires_at`);
CREATE TABLE `passkeys` (`id` integer PRIMARY KEY AUTOINCREMENT,`public_id` text NOT NULL,`user_id` integer NOT NULL,`credential_hash` text NOT NULL,`credential_id` blob NOT NULL,`user_handle` blob NOT NULL,`public_key` blob NOT NULL,`sign_count` integer NOT NULL DEFAULT 0,`user_verified` numeric NOT NULL DEFAULT false,`backup_eligible` numeric NOT NULL DEFAULT false,`backup_state` numeric NOT NULL DEFAULT false,`transports` text NOT NULL DEFAULT "",`aaguid` text NOT NULL DEFAULT "",`attestation_format` text NOT NULL DEFAULT "",`name` text NOT NULL,`created_at` datetime NOT NULL,`last_used_at` datetime);
CREATE UNIQUE INDEX `idx_passkeys_credential_hash` ON `passkeys`(`credential_hash`);
CREATE INDEX `idx_passkeys_user_id` ON `passkeys`(`user_id`);
CREATE UNIQUE INDEX `idx_passkeys_public_id` ON `passkeys`(`public_id`);
CREATE TABLE `passkey_flows` (`hash` text,`kind` text NOT NULL,`session_id` text NOT NULL DEFAULT "",`user_id` integer NOT NULL DEFAULT 0,`state` blob NOT NULL,`created_at` datetime NOT NULL,`expires_at` datetime NOT NULL,PRIMARY KEY (`hash`));
CREATE INDEX `idx_passkey_flows_expires_at` ON `passkey_flows`(`expires_at`);
CREATE INDEX `idx_passkey_flows_session_id` ON `passkey_flows`(`session_id`);
