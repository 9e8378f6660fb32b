package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// secretA and secretB are valid secrets (32 bytes and more).
var (
	secretA = strings.Repeat("a", 32)
	secretB = strings.Repeat("b", 40)
)

// load runs Load over env with DATA_DIR in a fresh temporary directory
// unless env names one, so no test writes data/secrets into the source tree.
func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	full := map[string]string{"DATA_DIR": t.TempDir()}
	for k, v := range env {
		full[k] = v
	}
	return Load(func(k string) string { return full[k] }, args)
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SESSION_SECRET": secretA, "JWT_SECRET": secretB}
	cfg, err := Load(func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatalf("Load: got error %v, want none", err)
	}
	got := map[string]any{
		"ADDR":                      cfg.Addr,
		"BASE_URL":                  cfg.BaseURL.String(),
		"DATABASE_URL":              cfg.DatabaseURL,
		"DATA_DIR":                  cfg.DataDir,
		"APP_ENV":                   cfg.AppEnv,
		"JWT_ALG":                   cfg.JWTAlg,
		"ACCESS_TOKEN_TTL":          cfg.AccessTokenTTL,
		"SESSION_IDLE_TIMEOUT":      cfg.SessionIdleTimeout,
		"SESSION_MAX_AGE":           cfg.SessionMaxAge,
		"REFRESH_TOKEN_TTL":         cfg.RefreshTokenTTL,
		"REAUTH_WINDOW":             cfg.ReauthWindow,
		"ARGON2":                    cfg.Argon2,
		"TRUSTED_PROXIES":           len(cfg.TrustedProxies),
		"ALLOW_REGISTRATION":        cfg.AllowRegistration,
		"CORS_ALLOWED_ORIGINS":      len(cfg.CORSAllowedOrigins),
		"LOGIN_MAX_FAILURES":        cfg.LoginMaxFailures,
		"LOGIN_MAX_FAILURES_PER_IP": cfg.LoginMaxFailuresPerIP,
		"LOGIN_FAILURE_WINDOW":      cfg.LoginFailureWindow,
		"GOOGLE_ISSUER":             cfg.Google.Issuer,
		"GITHUB_URL":                cfg.GitHub.URL,
		"GITHUB_API_URL":            cfg.GitHub.APIURL,
		"providers enabled":         cfg.Google.Enabled() || cfg.GitHub.Enabled() || cfg.OIDC.Enabled(),
		"OAUTH_AUTO_REGISTER":       cfg.OAuthAutoRegister,
		"secure cookies":            cfg.SecureCookies(),
		"production":                cfg.Production(),
		"ops":                       cfg.Ops,
	}
	want := map[string]any{
		"ADDR":                      "127.0.0.1:8000",
		"BASE_URL":                  "http://127.0.0.1:8000",
		"DATABASE_URL":              "sqlite://data/gatehouse.db",
		"DATA_DIR":                  "data",
		"APP_ENV":                   "development",
		"JWT_ALG":                   "EdDSA",
		"ACCESS_TOKEN_TTL":          30 * time.Minute,
		"SESSION_IDLE_TIMEOUT":      30 * time.Minute,
		"SESSION_MAX_AGE":           12 * time.Hour,
		"REFRESH_TOKEN_TTL":         12 * time.Hour,
		"REAUTH_WINDOW":             5 * time.Minute,
		"ARGON2":                    Argon2{MemoryKiB: 19456, Time: 2, Threads: 1},
		"TRUSTED_PROXIES":           0,
		"ALLOW_REGISTRATION":        true,
		"CORS_ALLOWED_ORIGINS":      0,
		"LOGIN_MAX_FAILURES":        5,
		"LOGIN_MAX_FAILURES_PER_IP": 20,
		"LOGIN_FAILURE_WINDOW":      15 * time.Minute,
		"GOOGLE_ISSUER":             "https://accounts.google.com",
		"GITHUB_URL":                "https://github.com",
		"GITHUB_API_URL":            "https://api.github.com",
		"providers enabled":         false,
		"OAUTH_AUTO_REGISTER":       true,
		"secure cookies":            false,
		"production":                false,
		"ops":                       Ops{ShutdownTimeout: 15 * time.Second, LogFormat: LogText, MigrateOnStart: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, map[string]string{
		"SESSION_SECRET":       secretA,
		"JWT_SECRET":           secretB,
		"ADDR":                 "0.0.0.0:9000",
		"BASE_URL":             "https://gate.example/",
		"ARGON2_MEMORY_KIB":    "1024",
		"ARGON2_TIME":          "1",
		"ARGON2_THREADS":       "4",
		"TRUSTED_PROXIES":      " 10.0.0.0/8 , 192.168.1.7,::1",
		"CORS_ALLOWED_ORIGINS": "https://app.example, http://localhost:5173",
		"ALLOW_REGISTRATION":   "false",
		"ACCESS_TOKEN_TTL":     "5m",
		"OAUTH_ALLOWED_EMAILS": "Ada@Example.com",
	})
	if err != nil {
		t.Fatalf("Load: got error %v, want none", err)
	}
	if got, want := cfg.BaseURL.String(), "https://gate.example"; got != want {
		t.Errorf("BASE_URL without its trailing slash: got %v, want %v", got, want)
	}
	if got, want := cfg.Argon2, (Argon2{MemoryKiB: 1024, Time: 1, Threads: 4}); got != want {
		t.Errorf("Argon2: got %v, want %v", got, want)
	}
	wantProxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("::1/128")}
	if diff := cmp.Diff(wantProxies, cfg.TrustedProxies, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("TRUSTED_PROXIES (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://app.example", "http://localhost:5173"}, cfg.CORSAllowedOrigins); diff != "" {
		t.Errorf("CORS_ALLOWED_ORIGINS (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ada@example.com"}, cfg.OAuthAllowedEmails); diff != "" {
		t.Errorf("OAUTH_ALLOWED_EMAILS are lower-cased (-want +got):\n%s", diff)
	}
	if cfg.AllowRegistration {
		t.Errorf("ALLOW_REGISTRATION: got %v, want %v", cfg.AllowRegistration, false)
	}
	if got, want := cfg.AccessTokenTTL, 5*time.Minute; got != want {
		t.Errorf("ACCESS_TOKEN_TTL: got %v, want %v", got, want)
	}
	if !cfg.SecureCookies() {
		t.Errorf("SecureCookies under https: got %v, want %v", cfg.SecureCookies(), true)
	}
}

// TestLoadRejects checks that every bad value stops the start with one
// line that names the variable at fault.
func TestLoadRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		wantVar string // the variable the message must name
	}{
		{"an address without a port", map[string]string{"ADDR": "localhost"}, nil, "ADDR"},
		{"an address with a port out of range", map[string]string{"ADDR": "127.0.0.1:70000"}, nil, "ADDR"},
		{"an address with a named port", map[string]string{"ADDR": "127.0.0.1:http"}, nil, "ADDR"},
		{"a base URL without a scheme", map[string]string{"BASE_URL": "gate.example"}, nil, "BASE_URL"},
		{"a base URL with another scheme", map[string]string{"BASE_URL": "ftp://gate.example"}, nil, "BASE_URL"},
		{"a base URL without a host", map[string]string{"BASE_URL": "https://"}, nil, "BASE_URL"},
		{"a base URL that does not parse", map[string]string{"BASE_URL": "http://[::1"}, nil, "BASE_URL"},
		{"a database URL with an unknown scheme", map[string]string{"DATABASE_URL": "postgres://u:p@h/db"}, nil, "DATABASE_URL"},
		{"a database URL that is a bare path", map[string]string{"DATABASE_URL": "data/gatehouse.db"}, nil, "DATABASE_URL"},
		{"a token lifetime that is not a duration", map[string]string{"ACCESS_TOKEN_TTL": "soon"}, nil, "ACCESS_TOKEN_TTL"},
		{"a token lifetime without a unit", map[string]string{"ACCESS_TOKEN_TTL": "30"}, nil, "ACCESS_TOKEN_TTL"},
		{"a negative idle timeout", map[string]string{"SESSION_IDLE_TIMEOUT": "-5m"}, nil, "SESSION_IDLE_TIMEOUT"},
		{"a zero maximum session age", map[string]string{"SESSION_MAX_AGE": "0s"}, nil, "SESSION_MAX_AGE"},
		{"a refresh token lifetime that is not a duration", map[string]string{"REFRESH_TOKEN_TTL": "a day"}, nil, "REFRESH_TOKEN_TTL"},
		{"a zero re-authentication window", map[string]string{"REAUTH_WINDOW": "0s"}, nil, "REAUTH_WINDOW"},
		{"a failure window that is not a duration", map[string]string{"LOGIN_FAILURE_WINDOW": "a while"}, nil, "LOGIN_FAILURE_WINDOW"},
		{"an argon2 memory that is not a number", map[string]string{"ARGON2_MEMORY_KIB": "lots"}, nil, "ARGON2_MEMORY_KIB"},
		{"an argon2 memory of zero", map[string]string{"ARGON2_MEMORY_KIB": "0"}, nil, "ARGON2_MEMORY_KIB"},
		{"an argon2 memory beyond 4 GiB", map[string]string{"ARGON2_MEMORY_KIB": "4194305"}, nil, "ARGON2_MEMORY_KIB"},
		{"an argon2 time of zero", map[string]string{"ARGON2_TIME": "0"}, nil, "ARGON2_TIME"},
		{"a fractional argon2 time", map[string]string{"ARGON2_TIME": "1.5"}, nil, "ARGON2_TIME"},
		{"argon2 threads beyond 255", map[string]string{"ARGON2_THREADS": "256"}, nil, "ARGON2_THREADS"},
		{"negative argon2 threads", map[string]string{"ARGON2_THREADS": "-1"}, nil, "ARGON2_THREADS"},
		{"a failure limit of zero", map[string]string{"LOGIN_MAX_FAILURES": "0"}, nil, "LOGIN_MAX_FAILURES"},
		{"a per-IP failure limit that is not a number", map[string]string{"LOGIN_MAX_FAILURES_PER_IP": "many"}, nil, "LOGIN_MAX_FAILURES_PER_IP"},
		{"registration set to yes", map[string]string{"ALLOW_REGISTRATION": "yes"}, nil, "ALLOW_REGISTRATION"},
		{"auto-registration set to maybe", map[string]string{"OAUTH_AUTO_REGISTER": "maybe"}, nil, "OAUTH_AUTO_REGISTER"},
		{"a trusted proxy that is a host name", map[string]string{"TRUSTED_PROXIES": "proxy.internal"}, nil, "TRUSTED_PROXIES"},
		{"a trusted proxy with a prefix too long", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, nil, "TRUSTED_PROXIES"},
		{"a bad trusted proxy after a good one", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,300.1.1.1"}, nil, "TRUSTED_PROXIES"},
		{"a CORS origin without a scheme", map[string]string{"CORS_ALLOWED_ORIGINS": "app.example"}, nil, "CORS_ALLOWED_ORIGINS"},
		{"a CORS origin with a path", map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example/app"}, nil, "CORS_ALLOWED_ORIGINS"},
		{"an unknown environment", map[string]string{"APP_ENV": "staging"}, nil, "APP_ENV"},
		{"a Google client id without its secret", map[string]string{"GOOGLE_CLIENT_ID": "id"}, nil, "GOOGLE_CLIENT_SECRET"},
		{"a GitHub client secret without its id", map[string]string{"GITHUB_CLIENT_SECRET": "secret"}, nil, "GITHUB_CLIENT_ID"},
		{"an OIDC client id without its secret", map[string]string{"OIDC_CLIENT_ID": "id", "OIDC_ISSUER": "https://id.example"}, nil, "OIDC_CLIENT_SECRET"},
		{"OIDC credentials without an issuer", map[string]string{"OIDC_CLIENT_ID": "id", "OIDC_CLIENT_SECRET": "secret"}, nil, "OIDC_ISSUER"},
		{"an OIDC issuer that is not a URL", map[string]string{"OIDC_ISSUER": "id.example"}, nil, "OIDC_ISSUER"},
		{"a Google issuer over another scheme", map[string]string{"GOOGLE_ISSUER": "ftp://accounts.google.com"}, nil, "GOOGLE_ISSUER"},
		{"a GitHub API URL without a host", map[string]string{"GITHUB_API_URL": "https://"}, nil, "GITHUB_API_URL"},
		{"a session secret shorter than 32 bytes", map[string]string{"SESSION_SECRET": "short"}, nil, "SESSION_SECRET"},
		{"a JWT secret of 31 bytes", map[string]string{"JWT_SECRET": strings.Repeat("j", 31)}, nil, "JWT_SECRET"},
		{"production without a session secret", map[string]string{"APP_ENV": "production", "JWT_SECRET": secretB}, nil, "SESSION_SECRET"},
		{"production without a JWT secret", map[string]string{"APP_ENV": "production", "SESSION_SECRET": secretA}, nil, "JWT_SECRET"},
		{"production with a short JWT secret", map[string]string{"APP_ENV": "production", "SESSION_SECRET": secretA, "JWT_SECRET": "0123456789"}, nil, "JWT_SECRET"},
		{"production without an encryption key", map[string]string{"APP_ENV": "production", "SESSION_SECRET": secretA, "JWT_SECRET": secretB}, nil, "ENCRYPTION_KEY"},
		{"an encryption key of 31 bytes", map[string]string{"ENCRYPTION_KEY": strings.Repeat("e", 31)}, nil, "ENCRYPTION_KEY"},
		{"an unknown JWT algorithm", map[string]string{"JWT_ALG": "ES256"}, nil, "JWT_ALG"},
		{"JWT algorithm none", map[string]string{"JWT_ALG": "none"}, nil, "JWT_ALG"},
		{"an unknown log format", map[string]string{"LOG_FORMAT": "xml"}, nil, "LOG_FORMAT"},
		{"a negative shutdown delay", map[string]string{"SHUTDOWN_DELAY": "-1s"}, nil, "SHUTDOWN_DELAY"},
		{"a zero shutdown timeout", map[string]string{"SHUTDOWN_TIMEOUT": "0s"}, nil, "SHUTDOWN_TIMEOUT"},
		{"a metrics address without a port", map[string]string{"METRICS_ADDR": "localhost"}, nil, "METRICS_ADDR"},
		{"MIGRATE_ON_START not a boolean", map[string]string{"MIGRATE_ON_START": "sometimes"}, nil, "MIGRATE_ON_START"},
		{"a bad --addr flag", nil, []string{"--addr", "nowhere"}, "ADDR"},
		{"a bad --base-url flag", nil, []string{"--base-url=gate.example"}, "BASE_URL"},
		{"a bad --database-url flag", nil, []string{"--database-url", "redis://h"}, "DATABASE_URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tc.env, tc.args...)
			if err == nil {
				t.Fatalf("Load: got no error, want one naming %s", tc.wantVar)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantVar) {
				t.Errorf("error: got %q, want it to name %s", msg, tc.wantVar)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error: got %q, want one line", msg)
			}
		})
	}
}

func TestLoadFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SESSION_SECRET": secretA, "JWT_SECRET": secretB,
		"ADDR": "127.0.0.1:8000", "BASE_URL": "http://127.0.0.1:8000", "DATABASE_URL": "sqlite://env.db",
	}
	cases := []struct {
		name    string
		args    []string
		want    [3]string // addr, base URL, database URL
		wantErr string
	}{
		{"no flags keep the environment", nil, [3]string{"127.0.0.1:8000", "http://127.0.0.1:8000", "sqlite://env.db"}, ""},
		{"--addr overrides ADDR", []string{"--addr", ":9000"}, [3]string{":9000", "http://127.0.0.1:8000", "sqlite://env.db"}, ""},
		{"--base-url overrides BASE_URL", []string{"--base-url=https://gate.example"}, [3]string{"127.0.0.1:8000", "https://gate.example", "sqlite://env.db"}, ""},
		{"--database-url overrides DATABASE_URL", []string{"-database-url", "mysql://u:p@h:3306/db"}, [3]string{"127.0.0.1:8000", "http://127.0.0.1:8000", "mysql://u:p@h:3306/db"}, ""},
		{"an unknown flag is an error", []string{"--port", "1"}, [3]string{}, "flag provided but not defined"},
		{"a stray argument is an error", []string{"serve"}, [3]string{}, `unexpected argument "serve"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := load(t, env, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load: got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: got error %v, want none", err)
			}
			if got := [3]string{cfg.Addr, cfg.BaseURL.String(), cfg.DatabaseURL}; got != tc.want {
				t.Errorf("addr, base URL, database: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoadProduction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, err := load(t, map[string]string{"APP_ENV": "production", "DATA_DIR": dir, "SESSION_SECRET": secretA, "JWT_SECRET": secretB, "ENCRYPTION_KEY": secretA + "e"})
	if err != nil {
		t.Fatalf("Load: got error %v, want none", err)
	}
	if got, want := string(cfg.SessionSecret), secretA; got != want {
		t.Errorf("SessionSecret: got %v, want %v", got, want)
	}
	if got, want := string(cfg.JWTSecret), secretB; got != want {
		t.Errorf("JWTSecret: got %v, want %v", got, want)
	}
	if got, want := cfg.Ops.LogFormat, LogJSON; got != want {
		t.Errorf("LOG_FORMAT in production: got %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "secrets")); !os.IsNotExist(err) {
		t.Errorf("secrets file in production: got stat error %v, want it not to exist", err)
	}
}

// TestLoadGeneratesSecrets checks that outside production missing secrets
// are generated once into DATA_DIR/secrets (0600) and reused, so a restart
// keeps sessions and tokens valid.
func TestLoadGeneratesSecrets(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	env := map[string]string{"DATA_DIR": dir}
	first, err := load(t, env)
	if err != nil {
		t.Fatalf("first Load: got error %v, want none", err)
	}
	if len(first.SessionSecret) < 32 || len(first.JWTSecret) < 32 || len(first.EncryptionKey) < 32 {
		t.Fatalf("generated secrets: got %d, %d and %d bytes, want at least 32 each", len(first.SessionSecret), len(first.JWTSecret), len(first.EncryptionKey))
	}
	if string(first.SessionSecret) == string(first.JWTSecret) {
		t.Errorf("generated secrets: got the same value twice, want two different secrets")
	}
	info, err := os.Stat(filepath.Join(dir, "secrets"))
	if err != nil {
		t.Fatalf("secrets file: %v", err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("secrets file mode: got %v, want %v", got, want)
	}

	second, err := load(t, env)
	if err != nil {
		t.Fatalf("second Load: got error %v, want none", err)
	}
	if string(second.SessionSecret) != string(first.SessionSecret) || string(second.JWTSecret) != string(first.JWTSecret) ||
		string(second.EncryptionKey) != string(first.EncryptionKey) {
		t.Errorf("secrets after a restart: got new values, want the stored ones")
	}

	// A secret set in the environment wins; the other still comes from the file.
	third, err := load(t, map[string]string{"DATA_DIR": dir, "JWT_SECRET": secretB})
	if err != nil {
		t.Fatalf("third Load: got error %v, want none", err)
	}
	if got, want := string(third.JWTSecret), secretB; got != want {
		t.Errorf("JWTSecret from the environment: got %v, want %v", got, want)
	}
	if string(third.SessionSecret) != string(first.SessionSecret) {
		t.Errorf("SessionSecret: got a new value, want the stored one")
	}
}

func TestGetenv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dotenv := filepath.Join(dir, ".env")
	if err := os.WriteFile(dotenv, []byte("ADDR=127.0.0.1:1111\nBASE_URL=https://file.example\n# a comment\nEMPTIED=from file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := func(k string) (string, bool) {
		v, ok := map[string]string{"ADDR": "127.0.0.1:2222", "EMPTIED": "", "ONLY_ENV": "env"}[k]
		return v, ok
	}
	cases := []struct {
		name, path, key, want string
	}{
		{"the environment wins over .env", dotenv, "ADDR", "127.0.0.1:2222"},
		{".env fills what the environment lacks", dotenv, "BASE_URL", "https://file.example"},
		{"a variable set empty in the environment still wins", dotenv, "EMPTIED", ""},
		{"a variable only in the environment", dotenv, "ONLY_ENV", "env"},
		{"a variable set nowhere is empty", dotenv, "JWT_SECRET", ""},
		{"a missing .env is fine", filepath.Join(dir, "missing.env"), "BASE_URL", ""},
		{"a missing .env still reads the environment", filepath.Join(dir, "missing.env"), "ADDR", "127.0.0.1:2222"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			getenv, err := Getenv(environ, tc.path)
			if err != nil {
				t.Fatalf("Getenv: got error %v, want none", err)
			}
			if got := getenv(tc.key); got != tc.want {
				t.Errorf("%s: got %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

func TestGetenvUnreadableFile(t *testing.T) {
	t.Parallel()
	// A directory where .env should be cannot be read: an error, not silence.
	_, err := Getenv(func(string) (string, bool) { return "", false }, t.TempDir())
	if err == nil {
		t.Errorf("Getenv on a directory: got no error, want one")
	}
}

func TestConfigString(t *testing.T) {
	t.Parallel()
	const (
		sessionSecret = "session-secret-that-must-not-leak-0123"
		jwtSecret     = "jwt-secret-that-must-not-leak-0123456789"
		dbPassword    = "hunter2hunter2"
		clientSecret  = "google-client-secret-value"
	)
	cfg, err := load(t, map[string]string{
		"SESSION_SECRET":       sessionSecret,
		"JWT_SECRET":           jwtSecret,
		"DATABASE_URL":         "mysql://gatehouse:" + dbPassword + "@127.0.0.1:3306/gatehouse",
		"GOOGLE_CLIENT_ID":     "google-id",
		"GOOGLE_CLIENT_SECRET": clientSecret,
	})
	if err != nil {
		t.Fatalf("Load: got error %v, want none", err)
	}
	s := cfg.String()
	for _, secret := range []string{sessionSecret, jwtSecret, dbPassword, clientSecret} {
		if strings.Contains(s, secret) {
			t.Errorf("String: got %q, want it without %q", s, secret)
		}
	}
	for _, want := range []string{"session_secret=(set)", "jwt_secret=(set)", "gatehouse:xxxxx@127.0.0.1:3306", "providers=google"} {
		if !strings.Contains(s, want) {
			t.Errorf("String: got %q, want it to contain %q", s, want)
		}
	}
}

// TestConfigStringDatabaseURLs: a cluster's URL names several hosts, and
// one that does not parse as a URL shows no password either.
func TestConfigStringDatabaseURLs(t *testing.T) {
	t.Parallel()
	const dbPassword = "hunter2hunter2"
	cases := []struct{ url, want string }{
		{"mysql://gatehouse:" + dbPassword + "@db1:3306,db2:3306,db3:3306/gatehouse", "gatehouse:xxxxx@db1:3306,db2:3306,db3:3306/gatehouse"},
		{"mysql://gatehouse:" + dbPassword + "@[::1]:3306,db2/gatehouse", "database=mysql://(unreadable)"},
	}
	for _, tc := range cases {
		cfg, err := load(t, map[string]string{"DATABASE_URL": tc.url})
		if err != nil {
			t.Fatalf("Load: got error %v, want none", err)
		}
		s := cfg.String()
		if strings.Contains(s, dbPassword) || !strings.Contains(s, tc.want) {
			t.Errorf("String: got %q, want %q in it and no password", s, tc.want)
		}
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		baseURL string
		want    bool
	}{
		{"http://127.0.0.1:8000", false},
		{"https://gate.example", true},
		{"HTTPS://gate.example", true},
	}
	for _, tc := range cases {
		t.Run(tc.baseURL, func(t *testing.T) {
			t.Parallel()
			cfg, err := load(t, map[string]string{"BASE_URL": tc.baseURL, "SESSION_SECRET": secretA, "JWT_SECRET": secretB})
			if err != nil {
				t.Fatalf("Load: got error %v, want none", err)
			}
			if got := cfg.SecureCookies(); got != tc.want {
				t.Errorf("SecureCookies: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRefreshTokenTTL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want time.Duration
	}{
		{"unset, it follows SESSION_MAX_AGE", map[string]string{"SESSION_MAX_AGE": "8h"}, 8 * time.Hour},
		{"set, it is what it says", map[string]string{"SESSION_MAX_AGE": "8h", "REFRESH_TOKEN_TTL": "2h"}, 2 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["SESSION_SECRET"], tc.env["JWT_SECRET"] = secretA, secretB
			cfg, err := load(t, tc.env)
			if err != nil {
				t.Fatalf("Load: got error %v, want none", err)
			}
			if cfg.RefreshTokenTTL != tc.want {
				t.Errorf("REFRESH_TOKEN_TTL: got %v, want %v", cfg.RefreshTokenTTL, tc.want)
			}
		})
	}
}

// TestPasskeys: the relying party comes from WEBAUTHN_RP_ID and
// WEBAUTHN_ORIGINS, else from BASE_URL; an IP address there (the
// default) turns passkeys off (contract §11).
func TestPasskeys(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     map[string]string
		rpID    string
		origins []string
		on      bool
	}{
		{"the default BASE_URL is an IP", nil, "", nil, false},
		{"an IPv6 BASE_URL", map[string]string{"BASE_URL": "http://[::1]:8000", "MAIL_FROM": "gate@example.com"}, "", nil, false},
		{"a name", map[string]string{"BASE_URL": "http://localhost:8000"}, "localhost", []string{"http://localhost:8000"}, true},
		{"https", map[string]string{"BASE_URL": "https://id.example.com/"}, "id.example.com", []string{"https://id.example.com"}, true},
		{"set outright", map[string]string{"WEBAUTHN_RP_ID": "Example.com", "WEBAUTHN_ORIGINS": "https://id.example.com, https://login.example.com"},
			"example.com", []string{"https://id.example.com", "https://login.example.com"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SESSION_SECRET": secretA, "JWT_SECRET": secretB}
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := load(t, env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			rpID, origins, on := cfg.Passkeys()
			if rpID != tc.rpID || on != tc.on || !slices.Equal(origins, tc.origins) {
				t.Errorf("Passkeys() = %q, %v, %v; want %q, %v, %v", rpID, origins, on, tc.rpID, tc.origins, tc.on)
			}
		})
	}
	for _, bad := range []map[string]string{{"WEBAUTHN_RP_ID": "https://example.com"}, {"WEBAUTHN_RP_ID": "example.com:443"},
		{"WEBAUTHN_ORIGINS": "example.com"}, {"WEBAUTHN_ORIGINS": "https://example.com/login"}} {
		bad["SESSION_SECRET"], bad["JWT_SECRET"] = secretA, secretB
		if _, err := load(t, bad); err == nil || !strings.Contains(err.Error(), "WEBAUTHN_") {
			t.Errorf("%v: got %v, want an error naming the variable", bad, err)
		}
	}
}

// TestMigrateOnStart checks MIGRATE_ON_START: on unless set to false.
func TestMigrateOnStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		want  bool
	}{{"", true}, {"true", true}, {"false", false}, {"0", false}} {
		cfg, err := load(t, map[string]string{"DATA_DIR": t.TempDir(), "MIGRATE_ON_START": tc.value})
		if err != nil {
			t.Fatalf("MIGRATE_ON_START=%q: %v", tc.value, err)
		}
		if cfg.Ops.MigrateOnStart != tc.want {
			t.Errorf("MIGRATE_ON_START=%q: got %t, want %t", tc.value, cfg.Ops.MigrateOnStart, tc.want)
		}
	}
}
