// Package config owns every setting of Gatehouse: its environment variable,
// its default and its validation. It is a leaf: it imports nothing of ours,
// and nothing else reads os.Getenv.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// Config is the effective configuration. Build it with Load.
type Config struct {
	Addr        string
	BaseURL     *url.URL
	DatabaseURL string
	DBTimeout   time.Duration // the deadline of every database call
	DataDir     string        // where the SQLite file and generated secrets live
	AppEnv      string

	SessionSecret []byte
	JWTSecret     []byte
	// EncryptionKey encrypts secrets kept in the database (the signing
	// keys' private parts) with AES-256-GCM.
	EncryptionKey []byte
	// JWTAlg is the one algorithm access tokens are signed and verified
	// with: EdDSA, RS256 (keys in the database) or HS256 (JWTSecret).
	JWTAlg string

	AccessTokenTTL     time.Duration
	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration
	// RefreshTokenTTL is a refresh token's lifetime; it never outlives its
	// session (SESSION_MAX_AGE caps it), so it defaults to that.
	RefreshTokenTTL time.Duration
	// ReauthWindow is how recent an authentication a sensitive action
	// needs (REAUTH_WINDOW, contract §7).
	ReauthWindow time.Duration
	// CodeTTL is an authorization code's lifetime and IDTokenTTL an ID
	// token's, when Gatehouse is other applications' OpenID Connect
	// provider (OIDC_CODE_TTL, ID_TOKEN_TTL: contract §10).
	CodeTTL    time.Duration
	IDTokenTTL time.Duration

	Argon2 Argon2

	TrustedProxies     []netip.Prefix
	AllowRegistration  bool
	CORSAllowedOrigins []string

	LoginMaxFailures      int
	LoginMaxFailuresPerIP int
	LoginFailureWindow    time.Duration

	Google Provider
	GitHub Provider
	OIDC   Provider

	OAuthAutoRegister   bool
	OAuthAllowedEmails  []string
	OAuthAllowedDomains []string

	Mail Mail

	Ops Ops

	// WebAuthnRPID and WebAuthnOrigins are WEBAUTHN_RP_ID and
	// WEBAUTHN_ORIGINS as set (contract §11); empty means "from
	// BASE_URL". Read them through Passkeys, which applies the defaults.
	WebAuthnRPID    string
	WebAuthnOrigins []string
}

// Passkeys is the relying party passkeys are bound to (contract §11):
// WEBAUTHN_RP_ID, else the host of BASE_URL, and WEBAUTHN_ORIGINS, else
// the origin of BASE_URL. ok is false — passkeys are off — when the RP ID
// would be an IP address: WebAuthn binds credentials to a domain name,
// and browsers refuse an IP there.
func (c Config) Passkeys() (rpID string, origins []string, ok bool) {
	rpID = c.WebAuthnRPID
	if rpID == "" {
		rpID = c.BaseURL.Hostname()
		if _, err := netip.ParseAddr(rpID); err == nil {
			return "", nil, false
		}
	}
	origins = c.WebAuthnOrigins
	if len(origins) == 0 {
		origins = []string{c.BaseURL.Scheme + "://" + c.BaseURL.Host}
	}
	return rpID, origins, true
}

// Ops holds the operations settings (contract §12).
type Ops struct {
	// MetricsAddr is where a second listener serves GET /metrics; empty: off.
	MetricsAddr string
	// ShutdownDelay is how long a stopping server keeps serving, /readyz
	// at 503, before it stops taking connections (0: stop at once).
	ShutdownDelay time.Duration
	// ShutdownTimeout is how long requests in flight may take to finish.
	ShutdownTimeout time.Duration
	// LogFormat is LogText or LogJSON.
	LogFormat string
	// MigrateOnStart: serve (and the other commands) apply pending
	// migrations first; false: they refuse to start while any are pending,
	// and `gatehouse migrate` is a deploy step of its own.
	MigrateOnStart bool
}

// The log formats LOG_FORMAT may name.
const (
	LogText = "text"
	LogJSON = "json"
)

// Mail holds the email settings (contract §6).
type Mail struct {
	// SMTPURL is smtp://[USER:PASS@]HOST:PORT (STARTTLS when offered) or
	// smtps://… (TLS from the start); nil: mails go to the server log.
	SMTPURL              *url.URL
	From                 string // MAIL_FROM, an RFC 5322 address
	RequireVerifiedEmail bool
	PasswordResetTTL     time.Duration
	EmailLinkTTL         time.Duration
}

// Argon2 holds the argon2id cost parameters.
type Argon2 struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DatabaseSchemes are the kinds of database DATABASE_URL may name, each
// with a driver in models: sqlite://path, mysql://USER:PASS@HOST:PORT/DB.
var DatabaseSchemes = []string{"sqlite", "mysql"}

// Provider is one OAuth/OIDC provider's settings; it is on when ClientID
// and ClientSecret are both set.
type Provider struct {
	ClientID     string
	ClientSecret string
	Issuer       string // OIDC issuer (Google, OIDC)
	URL          string // GitHub web URL
	APIURL       string // GitHub API URL
	Name         string // shown on the button
	RedirectURL  string // optional: an SPA page the provider sends the user back to
}

// NamedProvider is a provider's settings with its names: Key in URLs and
// the user object's providers ("google"), Env as its variables' prefix
// ("GOOGLE").
type NamedProvider struct {
	Key, Env string
	Provider
}

// Providers is the one list of the login providers Gatehouse knows, in
// button order, switched on or not: every other list is made from it.
func (c Config) Providers() []NamedProvider {
	return []NamedProvider{{"google", "GOOGLE", c.Google}, {"github", "GITHUB", c.GitHub}, {"oidc", "OIDC", c.OIDC}}
}

// Enabled reports whether the provider is configured.
func (p Provider) Enabled() bool { return p.ClientID != "" && p.ClientSecret != "" }

// Production reports whether APP_ENV is production.
func (c Config) Production() bool { return c.AppEnv == "production" }

// SecureCookies reports whether BASE_URL is https, which turns on Secure
// cookies, the __Host- cookie prefix and HSTS.
func (c Config) SecureCookies() bool { return c.BaseURL.Scheme == "https" }

// String renders the effective configuration with secrets masked, so it can be logged.
func (c Config) String() string {
	mask := func(b []byte) string {
		if len(b) == 0 {
			return "(unset)"
		}
		return "(set)"
	}
	db := c.DatabaseURL
	if u, err := url.Parse(db); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			db = u.String()
		}
	} else if err != nil {
		// A URL that does not parse (a cluster's host list can be odd) may
		// still hold a password: show only its scheme.
		scheme, _, _ := strings.Cut(db, "://")
		db = scheme + "://(unreadable)"
	}
	return fmt.Sprintf("addr=%s base_url=%s database=%s env=%s session_secret=%s jwt_secret=%s encryption_key=%s jwt_alg=%s access_token_ttl=%s idle=%s max_age=%s argon2=%d/%d/%d registration=%t providers=%s smtp=%s mail_from=%q metrics=%q shutdown=%s/%s log=%s migrate_on_start=%t",
		c.Addr, c.BaseURL, db, c.AppEnv, mask(c.SessionSecret), mask(c.JWTSecret), mask(c.EncryptionKey), c.JWTAlg, c.AccessTokenTTL,
		c.SessionIdleTimeout, c.SessionMaxAge, c.Argon2.MemoryKiB, c.Argon2.Time, c.Argon2.Threads,
		c.AllowRegistration, strings.Join(c.enabledProviders(), ","), c.Mail.SMTPString(), c.Mail.From,
		c.Ops.MetricsAddr, c.Ops.ShutdownDelay, c.Ops.ShutdownTimeout, c.Ops.LogFormat, c.Ops.MigrateOnStart)
}

func (c Config) enabledProviders() []string {
	var out []string
	for _, p := range c.Providers() {
		if p.Enabled() {
			out = append(out, p.Key)
		}
	}
	return out
}

// Getenv layers the process environment over a .env file at path: a
// variable set in the environment wins. A missing file is not an error.
func Getenv(environ func(string) (string, bool), path string) (func(string) string, error) {
	file, err := godotenv.Read(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return func(key string) string {
		if v, ok := environ(key); ok {
			return v
		}
		return file[key]
	}, nil
}

// LoadAddr reads ADDR alone (or --addr in args), for `gatehouse
// healthcheck`: it must not need, nor generate, the secrets Load does.
func LoadAddr(getenv func(string) string, args []string) (string, error) {
	r := reader{getenv: getenv}
	addr := r.str("ADDR", defaultAddr)
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&addr, "addr", addr, "listen address (ADDR)")
	if err := fs.Parse(args); err != nil {
		return "", fmt.Errorf("flags: %w", err)
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || !validPort(port) {
		return "", fmt.Errorf("ADDR must be host:port, got %q", addr)
	}
	return addr, nil
}

// defaultAddr is ADDR's default.
const defaultAddr = "127.0.0.1:8000"

// Load reads the configuration from getenv, lets the flags in args
// override it (--addr, --base-url, --database-url), validates it, and,
// outside production, generates missing secrets once into DATA_DIR/secrets.
// Every error names the variable at fault.
func Load(getenv func(string) string, args []string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		Addr:        r.str("ADDR", defaultAddr),
		DatabaseURL: r.str("DATABASE_URL", "sqlite://data/gatehouse.db"),
		DBTimeout:   r.duration("DB_TIMEOUT", 3*time.Second),
		DataDir:     r.str("DATA_DIR", "data"),
		AppEnv:      r.str("APP_ENV", "development"),
		JWTAlg:      r.str("JWT_ALG", JWTAlgEdDSA),

		AccessTokenTTL:     r.duration("ACCESS_TOKEN_TTL", 30*time.Minute),
		SessionIdleTimeout: r.duration("SESSION_IDLE_TIMEOUT", 30*time.Minute),
		SessionMaxAge:      r.duration("SESSION_MAX_AGE", 12*time.Hour),
		ReauthWindow:       r.duration("REAUTH_WINDOW", 5*time.Minute),
		CodeTTL:            r.duration("OIDC_CODE_TTL", time.Minute),

		Argon2: Argon2{
			MemoryKiB: uint32(r.integer("ARGON2_MEMORY_KIB", 19456, 8, 4<<20)),
			Time:      uint32(r.integer("ARGON2_TIME", 2, 1, 100)),
			Threads:   uint8(r.integer("ARGON2_THREADS", 1, 1, 255)),
		},

		AllowRegistration:  r.boolean("ALLOW_REGISTRATION", true),
		CORSAllowedOrigins: r.list("CORS_ALLOWED_ORIGINS"),

		LoginMaxFailures:      r.integer("LOGIN_MAX_FAILURES", 5, 1, 1_000_000),
		LoginMaxFailuresPerIP: r.integer("LOGIN_MAX_FAILURES_PER_IP", 20, 1, 1_000_000),
		LoginFailureWindow:    r.duration("LOGIN_FAILURE_WINDOW", 15*time.Minute),

		Google: Provider{
			ClientID: r.str("GOOGLE_CLIENT_ID", ""), ClientSecret: r.str("GOOGLE_CLIENT_SECRET", ""),
			Issuer: r.str("GOOGLE_ISSUER", "https://accounts.google.com"), Name: "Google",
			RedirectURL: r.str("GOOGLE_REDIRECT_URL", ""),
		},
		GitHub: Provider{
			ClientID: r.str("GITHUB_CLIENT_ID", ""), ClientSecret: r.str("GITHUB_CLIENT_SECRET", ""),
			URL: r.str("GITHUB_URL", "https://github.com"), APIURL: r.str("GITHUB_API_URL", "https://api.github.com"),
			Name: "GitHub", RedirectURL: r.str("GITHUB_REDIRECT_URL", ""),
		},
		OIDC: Provider{
			ClientID: r.str("OIDC_CLIENT_ID", ""), ClientSecret: r.str("OIDC_CLIENT_SECRET", ""),
			Issuer: r.str("OIDC_ISSUER", ""), Name: r.str("OIDC_NAME", "Single sign-on"),
			RedirectURL: r.str("OIDC_REDIRECT_URL", ""),
		},
		OAuthAutoRegister:   r.boolean("OAUTH_AUTO_REGISTER", true),
		OAuthAllowedEmails:  lower(r.list("OAUTH_ALLOWED_EMAILS")),
		OAuthAllowedDomains: lower(r.list("OAUTH_ALLOWED_DOMAINS")),

		Mail: Mail{
			RequireVerifiedEmail: r.boolean("REQUIRE_VERIFIED_EMAIL", false),
			PasswordResetTTL:     r.duration("PASSWORD_RESET_TTL", 30*time.Minute),
			EmailLinkTTL:         r.duration("EMAIL_LINK_TTL", 24*time.Hour),
		},
	}
	c.RefreshTokenTTL = r.duration("REFRESH_TOKEN_TTL", c.SessionMaxAge)
	c.IDTokenTTL = r.duration("ID_TOKEN_TTL", c.AccessTokenTTL)
	c.WebAuthnRPID = strings.ToLower(r.str("WEBAUTHN_RP_ID", ""))
	c.WebAuthnOrigins = r.list("WEBAUTHN_ORIGINS")
	c.Ops = Ops{
		MetricsAddr:     r.str("METRICS_ADDR", ""),
		ShutdownDelay:   r.delay("SHUTDOWN_DELAY", 0),
		ShutdownTimeout: r.duration("SHUTDOWN_TIMEOUT", 15*time.Second),
		LogFormat:       r.str("LOG_FORMAT", LogText),
		MigrateOnStart:  r.boolean("MIGRATE_ON_START", true),
	}
	if c.AppEnv == "production" && r.str("LOG_FORMAT", "") == "" {
		c.Ops.LogFormat = LogJSON
	}
	smtpURL, mailFrom := r.str("SMTP_URL", ""), r.str("MAIL_FROM", "")
	baseURL := r.str("BASE_URL", "http://127.0.0.1:8000")
	for _, p := range r.list("TRUSTED_PROXIES") {
		prefix, err := parsePrefix(p)
		if err != nil {
			r.fail("TRUSTED_PROXIES must be a comma list of CIDRs or IPs, got %q", p)
			break
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	if r.err != nil {
		return Config{}, r.err
	}

	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (ADDR)")
	fs.StringVar(&baseURL, "base-url", baseURL, "public URL (BASE_URL)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "database (DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("flags: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	if err := c.validate(baseURL); err != nil {
		return Config{}, err
	}
	if err := c.Mail.validate(smtpURL, mailFrom, c.BaseURL); err != nil {
		return Config{}, err
	}
	if err := c.loadSecrets(getenv); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c *Config) validate(baseURL string) error {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("BASE_URL must be an absolute http:// or https:// URL")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	c.BaseURL = u
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || !validPort(port) {
		return fmt.Errorf("ADDR must be host:port, got %q", c.Addr)
	}
	if c.AppEnv != "development" && c.AppEnv != "production" && c.AppEnv != "test" {
		return fmt.Errorf("APP_ENV must be development, test or production, got %q", c.AppEnv)
	}
	if c.Ops.LogFormat != LogText && c.Ops.LogFormat != LogJSON {
		return fmt.Errorf("LOG_FORMAT must be text or json, got %q", c.Ops.LogFormat)
	}
	if c.Ops.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.Ops.MetricsAddr); err != nil || !validPort(port) {
			return fmt.Errorf("METRICS_ADDR must be host:port or empty, got %q", c.Ops.MetricsAddr)
		}
	}
	if c.JWTAlg != JWTAlgEdDSA && c.JWTAlg != JWTAlgRS256 && c.JWTAlg != JWTAlgHS256 {
		return fmt.Errorf("JWT_ALG must be EdDSA, RS256 or HS256, got %q", c.JWTAlg)
	}
	if scheme, _, ok := strings.Cut(c.DatabaseURL, "://"); !ok || !slices.Contains(DatabaseSchemes, scheme) {
		return fmt.Errorf("DATABASE_URL must start with %s:// or %s://", DatabaseSchemes[0], DatabaseSchemes[1])
	}
	for _, o := range c.CORSAllowedOrigins {
		ou, err := url.Parse(o)
		if err != nil || ou.Scheme == "" || ou.Host == "" || (ou.Path != "" && ou.Path != "/") {
			return fmt.Errorf("CORS_ALLOWED_ORIGINS must be a comma list of origins like https://app.example, got %q", o)
		}
	}
	if c.WebAuthnRPID != "" && (strings.ContainsAny(c.WebAuthnRPID, ":/ ") || strings.Trim(c.WebAuthnRPID, ".") != c.WebAuthnRPID) {
		return fmt.Errorf("WEBAUTHN_RP_ID must be a domain name like example.com, got %q", c.WebAuthnRPID)
	}
	for _, o := range c.WebAuthnOrigins {
		ou, err := url.Parse(o)
		if err != nil || (ou.Scheme != "http" && ou.Scheme != "https") || ou.Host == "" || (ou.Path != "" && ou.Path != "/") {
			return fmt.Errorf("WEBAUTHN_ORIGINS must be a comma list of origins like https://id.example.com, got %q", o)
		}
	}
	for _, p := range c.Providers() {
		name := p.Env
		if (p.ClientID == "") != (p.ClientSecret == "") {
			return fmt.Errorf("%s_CLIENT_ID and %s_CLIENT_SECRET must be set together", name, name)
		}
		for suffix, raw := range map[string]string{"_ISSUER": p.Issuer, "_URL": p.URL, "_API_URL": p.APIURL, "_REDIRECT_URL": p.RedirectURL} {
			if raw == "" {
				continue
			}
			if pu, err := url.Parse(raw); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				return fmt.Errorf("%s%s must be an absolute URL", name, suffix)
			}
		}
	}
	if c.OIDC.Enabled() && c.OIDC.Issuer == "" {
		return errors.New("OIDC_ISSUER must be set when OIDC_CLIENT_ID is")
	}
	return nil
}

// validate reads SMTP_URL and MAIL_FROM; MAIL_FROM defaults to
// "Gatehouse <no-reply@HOST>", HOST from BASE_URL.
func (m *Mail) validate(smtpURL, from string, base *url.URL) error {
	if smtpURL != "" {
		u, err := url.Parse(smtpURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			return errors.New("SMTP_URL must look like smtp://USER:PASS@HOST:PORT or smtps://HOST:PORT")
		}
		if p := u.Port(); p != "" && !validPort(p) {
			return errors.New("SMTP_URL has a port that is not a number from 0 to 65535")
		}
		m.SMTPURL = u
	}
	if from == "" {
		from = "Gatehouse <no-reply@" + base.Hostname() + ">"
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return fmt.Errorf("MAIL_FROM must be an address such as \"Gatehouse <no-reply@example.com>\", got %q", from)
	}
	m.From = from
	return nil
}

// SMTPString is SMTP_URL with its password masked, for the log.
func (m Mail) SMTPString() string {
	if m.SMTPURL == nil {
		return "(log)"
	}
	u := *m.SMTPURL
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// The algorithms JWT_ALG may name.
const (
	JWTAlgEdDSA = "EdDSA"
	JWTAlgRS256 = "RS256"
	JWTAlgHS256 = "HS256"
)

const minSecret = 32

// loadSecrets takes SESSION_SECRET, JWT_SECRET and ENCRYPTION_KEY from the
// environment; in production all are required. Elsewhere a missing one is
// generated once into DATA_DIR/secrets (0600), so restarts keep sessions
// and tokens valid and the signing keys readable.
func (c *Config) loadSecrets(getenv func(string) string) error {
	names := []string{"SESSION_SECRET", "JWT_SECRET", "ENCRYPTION_KEY"}
	values := map[string]string{}
	for _, name := range names {
		v := getenv(name)
		if v == "" && c.Production() {
			return fmt.Errorf("%s is required when APP_ENV=production (at least %d bytes)", name, minSecret)
		}
		if v != "" && len(v) < minSecret {
			return fmt.Errorf("%s must be at least %d bytes", name, minSecret)
		}
		values[name] = v
	}
	if values["SESSION_SECRET"] == "" || values["JWT_SECRET"] == "" || values["ENCRYPTION_KEY"] == "" {
		path := filepath.Join(c.DataDir, "secrets")
		stored, err := godotenv.Read(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("DATA_DIR: read %s: %w", path, err)
		}
		if stored == nil {
			stored = map[string]string{}
		}
		changed := false
		for _, name := range names {
			if len(stored[name]) < minSecret {
				stored[name] = randomSecret()
				changed = true
			}
			if values[name] == "" {
				values[name] = stored[name]
			}
		}
		if changed {
			if err := writeSecrets(path, stored); err != nil {
				return fmt.Errorf("DATA_DIR: %w", err)
			}
		}
	}
	c.SessionSecret = []byte(values["SESSION_SECRET"])
	c.JWTSecret = []byte(values["JWT_SECRET"])
	c.EncryptionKey = []byte(values["ENCRYPTION_KEY"])
	return nil
}

func writeSecrets(path string, values map[string]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	content, err := godotenv.Marshal(values)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func randomSecret() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// reader parses variables, keeping the first error.
type reader struct {
	getenv func(string) string
	err    error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// duration reads a duration setting: every one must be positive (the one
// home of that rule; a flag or the environment alike).
func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail("%s must be a positive duration such as 30m or 12h, got %q", name, v)
		return def
	}
	return d
}

// delay reads a duration that may be zero (SHUTDOWN_DELAY).
func (r *reader) delay(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.fail("%s must be a duration such as 0s, 5s or 1m, got %q", name, v)
		return def
	}
	return d
}

func (r *reader) integer(name string, def, lo, hi int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail("%s must be a whole number from %d to %d, got %q", name, lo, hi, v)
		return def
	}
	return n
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail("%s must be true or false, got %q", name, v)
		return def
	}
	return b
}

func (r *reader) list(name string) []string {
	var out []string
	for _, part := range strings.Split(r.getenv(name), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func lower(in []string) []string {
	for i, s := range in {
		in[i] = strings.ToLower(s)
	}
	return in
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}
