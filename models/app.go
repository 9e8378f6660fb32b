package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// App is an application registered to log its users in through Gatehouse
// (contract §10: an OAuth 2.0 / OpenID Connect client). Only the SHA-256
// of a confidential client's secret is stored: secrets are 256 random
// bits, so a fast hash is enough and a copy of the table opens nothing.
type App struct {
	ClientID   string `gorm:"column:client_id;primaryKey;size:64"`
	Name       string `gorm:"size:100;not null"`
	SecretHash string `gorm:"size:64;not null"` // empty for a public client
	Public     bool   `gorm:"not null"`
	FirstParty bool   `gorm:"not null"`
	// RedirectURIs and PostLogoutURIs are newline-separated lists.
	RedirectURIs   string    `gorm:"type:text;not null"`
	PostLogoutURIs string    `gorm:"type:text;not null"`
	Scopes         string    `gorm:"size:255;not null"` // the most the app may ask for
	IDTokenAlg     string    `gorm:"size:16;not null"`  // RS256 or EdDSA
	CreatedAt      time.Time `gorm:"not null"`
}

// Redirects and PostLogouts are the registered URIs as lists.
func (a *App) Redirects() []string   { return lines(a.RedirectURIs) }
func (a *App) PostLogouts() []string { return lines(a.PostLogoutURIs) }

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Consent is a user's "Allow" for an app and the scopes it was shown:
// the consent page is not shown again for them.
type Consent struct {
	UserID    uint64    `gorm:"primaryKey;autoIncrement:false"`
	ClientID  string    `gorm:"column:client_id;primaryKey;size:64"`
	Scopes    string    `gorm:"size:255;not null"`
	GrantedAt time.Time `gorm:"not null"`
}

// AuthCode is an authorization code (contract §10), stored by the SHA-256
// of its value: single use, short-lived, bound to its app, redirect URI,
// PKCE challenge and nonce, and to the browser session and authentication
// that approved it. GrantSession is the session its exchange opened, so a
// second use can end it (RFC 6749 §4.1.2).
type AuthCode struct {
	CodeHash     string    `gorm:"primaryKey;size:64"`
	ClientID     string    `gorm:"column:client_id;size:64;not null"`
	UserID       uint64    `gorm:"not null"`
	RedirectURI  string    `gorm:"type:text;not null"`
	Challenge    string    `gorm:"size:128;not null"`
	Nonce        string    `gorm:"size:512;not null"`
	Scopes       string    `gorm:"size:255;not null"`
	SID          string    `gorm:"column:sid;size:32;not null"` // the approving browser session's public id
	AuthTime     time.Time `gorm:"not null"`
	AMR          string    `gorm:"column:amr;size:64;not null"`
	ExpiresAt    time.Time `gorm:"not null;index"`
	UsedAt       *time.Time
	GrantSession string `gorm:"size:32;not null"`
}

// ErrCodeSpent is an authorization code presented a second time: its
// grant, if any, has been ended.
var ErrCodeSpent = errors.New("authorization code already used")

// CreateApp registers a. A client id taken already is Conflict.
func (s *Store) CreateApp(ctx context.Context, a *App) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.write(ctx, func(db *gorm.DB) error { return db.Create(a).Error })
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return &Error{Kind: Conflict, Code: "client_exists", Detail: "An application with that client id exists."}
	}
	return failed("create app", err)
}

// AppByClientID reads one app; ErrNotFound if there is none.
func (s *Store) AppByClientID(ctx context.Context, clientID string) (*App, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var a App
	err := s.db.WithContext(ctx).Raw(s.causalRead("SELECT * FROM apps WHERE client_id = ?"), clientID).Scan(&a).Error
	if err == nil && a.ClientID == "" {
		return nil, ErrNotFound
	}
	return &a, failed("read app", err)
}

// Apps lists every app, oldest first.
func (s *Store) Apps(ctx context.Context) ([]App, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out []App
	err := s.db.WithContext(ctx).Order("created_at, client_id").Find(&out).Error
	return out, failed("list apps", err)
}

// SetAppSecret replaces an app's secret hash: the old secret stops at once.
func (s *Store) SetAppSecret(ctx context.Context, clientID, hash string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Model(&App{}).Where("client_id = ?", clientID).Update("secret_hash", hash)
	})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return failed("set app secret", res.Error)
}

// DeleteApp removes an app with everything issued to it: its sessions
// (and with them their refresh tokens), consents and codes.
func (s *Store) DeleteApp(ctx context.Context, clientID string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var n int64
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := deleteAppSessions(tx, clientID, 0); err != nil {
			return err
		}
		if err := tx.Where("client_id = ?", clientID).Delete(&Consent{}).Error; err != nil {
			return err
		}
		if err := tx.Where("client_id = ?", clientID).Delete(&AuthCode{}).Error; err != nil {
			return err
		}
		res := tx.Where("client_id = ?", clientID).Delete(&App{})
		n = res.RowsAffected
		return res.Error
	})
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return failed("delete app", err)
}

// deleteAppSessions ends the sessions of an app's grants — of one user
// when userID is not zero. Their refresh tokens die with them (a refresh
// token lives only while its session does).
func deleteAppSessions(tx *gorm.DB, clientID string, userID uint64) error {
	del := tx.Where("client_id = ?", clientID)
	if userID != 0 {
		del = del.Where("user_id = ?", userID)
	}
	return del.Delete(&Session{}).Error
}

// ConsentFor is the user's consent to an app; ErrNotFound if none.
func (s *Store) ConsentFor(ctx context.Context, userID uint64, clientID string) (*Consent, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var c Consent
	err := s.db.WithContext(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&c).Error
	return &c, failed("read consent", err)
}

// SaveConsent records (or widens) a user's consent to an app.
func (s *Store) SaveConsent(ctx context.Context, c *Consent) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ? AND client_id = ?", c.UserID, c.ClientID).Delete(&Consent{}).Error; err != nil {
			return err
		}
		return tx.Create(c).Error
	})
	return failed("save consent", err)
}

// ConnectedApp is an app a user has allowed or is logged in to.
type ConnectedApp struct {
	ClientID   string
	Name       string
	Scopes     string
	GrantedAt  time.Time
	LastUsedAt *time.Time
}

// ConnectedApps lists the apps a user consented to or holds a live grant
// of (first-party apps ask no consent), with when each grant was last used.
func (s *Store) ConnectedApps(ctx context.Context, userID uint64, now time.Time, idle time.Duration) ([]ConnectedApp, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	db := s.db.WithContext(ctx)
	var consents []Consent
	if err := db.Where("user_id = ?", userID).Find(&consents).Error; err != nil {
		return nil, failed("connected apps", err)
	}
	var sessions []Session
	if err := db.Where("user_id = ? AND client_id <> ''", userID).Where(liveSQL, liveArgs(now, idle)...).Find(&sessions).Error; err != nil {
		return nil, failed("connected apps", err)
	}
	byID := map[string]*ConnectedApp{}
	var order []string
	add := func(clientID string) *ConnectedApp {
		if c, ok := byID[clientID]; ok {
			return c
		}
		c := &ConnectedApp{ClientID: clientID}
		byID[clientID] = c
		order = append(order, clientID)
		return c
	}
	for _, c := range consents {
		a := add(c.ClientID)
		a.Scopes, a.GrantedAt = c.Scopes, c.GrantedAt
	}
	for _, sess := range sessions {
		a := add(sess.ClientID)
		if a.GrantedAt.IsZero() || sess.CreatedAt.Before(a.GrantedAt) {
			if a.Scopes == "" || a.GrantedAt.IsZero() {
				a.GrantedAt = sess.CreatedAt
			}
		}
		if a.Scopes == "" {
			a.Scopes = sess.Scopes
		}
		if a.LastUsedAt == nil || sess.LastSeenAt.After(*a.LastUsedAt) {
			t := sess.LastSeenAt
			a.LastUsedAt = &t
		}
	}
	if len(order) == 0 {
		return []ConnectedApp{}, nil
	}
	var apps []App
	if err := db.Where("client_id IN ?", order).Find(&apps).Error; err != nil {
		return nil, failed("connected apps", err)
	}
	names := map[string]string{}
	for _, a := range apps {
		names[a.ClientID] = a.Name
	}
	out := make([]ConnectedApp, 0, len(order))
	for _, id := range order {
		if name, ok := names[id]; ok { // a removed app is gone with its grants
			byID[id].Name = name
			out = append(out, *byID[id])
		}
	}
	return out, nil
}

// DisconnectApp ends a user's grants of an app and forgets the consent;
// it says whether there was anything to end.
func (s *Store) DisconnectApp(ctx context.Context, userID uint64, clientID string) (bool, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var any bool
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Session{}).Where("client_id = ? AND user_id = ?", clientID, userID).Count(&n).Error; err != nil {
			return err
		}
		if err := deleteAppSessions(tx, clientID, userID); err != nil {
			return err
		}
		res := tx.Where("user_id = ? AND client_id = ?", userID, clientID).Delete(&Consent{})
		any = n > 0 || res.RowsAffected > 0
		return res.Error
	})
	return any, failed("disconnect app", err)
}

// AppNames maps client ids to app names (for the sessions list).
func (s *Store) AppNames(ctx context.Context, clientIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(clientIDs) == 0 {
		return out, nil
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var apps []App
	err := s.db.WithContext(ctx).Select("client_id", "name").Where("client_id IN ?", clientIDs).Find(&apps).Error
	for _, a := range apps {
		out[a.ClientID] = a.Name
	}
	return out, failed("app names", err)
}

// CreateAuthCode stores a new code.
func (s *Store) CreateAuthCode(ctx context.Context, c *AuthCode) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.write(ctx, func(db *gorm.DB) error { return db.Create(c).Error })
	return failed("create authorization code", err)
}

// AuthCodeByHash reads a code by its hash; ErrNotFound if there is none.
func (s *Store) AuthCodeByHash(ctx context.Context, hash string) (*AuthCode, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var c AuthCode
	err := s.db.WithContext(ctx).Raw(s.causalRead("SELECT * FROM auth_codes WHERE code_hash = ?"), hash).Scan(&c).Error
	if err == nil && c.CodeHash == "" {
		return nil, ErrNotFound
	}
	return &c, failed("read authorization code", err)
}

// RedeemAuthCode spends the code with hash at now and calls grant with
// the transaction to open its session, whose public id it records with
// the code — all in one transaction, so of two requests presenting one
// code (on any instances) exactly one opens a session. The other gets
// ErrCodeSpent, and so does a code spent before.
func (s *Store) RedeemAuthCode(ctx context.Context, hash string, now time.Time, grant func(tx *Store) (string, error)) error {
	var spent bool
	err := s.Atomically(ctx, func(tx *Store) error {
		spent = false
		res := tx.db.Model(&AuthCode{}).Where("code_hash = ? AND used_at IS NULL", hash).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			spent = true
			return nil
		}
		sid, err := grant(tx)
		if err != nil {
			return err
		}
		return tx.db.Model(&AuthCode{}).Where("code_hash = ?", hash).Update("grant_session", sid).Error
	})
	if err != nil {
		return failed("redeem authorization code", err)
	}
	if spent {
		return ErrCodeSpent
	}
	return nil
}

// EndCodeGrant ends the session a spent code opened (RFC 6749 §4.1.2:
// a code used twice revokes the tokens issued from it) and returns the
// code; ErrNotFound if there is no such code.
func (s *Store) EndCodeGrant(ctx context.Context, hash string) (*AuthCode, error) {
	c, err := s.AuthCodeByHash(ctx, hash)
	if err != nil || c.GrantSession == "" {
		return c, err
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err = s.write(ctx, func(db *gorm.DB) error {
		return db.Where("public_id = ?", c.GrantSession).Delete(&Session{}).Error
	})
	return c, failed("end the grant of a reused code", err)
}

// DeleteDeadAuthCodes removes codes that expired (spent ones with them:
// a replay after expiry is refused as expired).
func (s *Store) DeleteDeadAuthCodes(ctx context.Context, now time.Time) (int64, error) {
	return sweepRows[string](ctx, s, sweep{op: "sweep authorization codes", table: "auth_codes", key: "code_hash",
		where: "expires_at <= ?", args: []any{now}})
}
