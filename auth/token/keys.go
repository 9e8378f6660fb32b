package token

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"gatehouse/auth/seal"
	"gatehouse/config"
	"gatehouse/models"
)

// keyRing holds the signing keys of the configured algorithm (JWT_ALG
// EdDSA or RS256), loaded from the database and kept in memory: the
// newest one that is not retired signs, and every one that is not
// retired verifies the tokens whose kid names it. Other instances rotate
// and retire keys too, so it reloads: when a token names a kid it does
// not know (at most once per missReload), and, before signing or serving
// the JWKS, when its copy is older than recheck. A retired key's tokens
// do not wait for a reload: the caller checks the kid's state on every
// request (Verify).
type keyRing struct {
	store  *models.Store
	alg    string
	sealer *seal.Sealer // seals the private parts (ENCRYPTION_KEY)
	ttl    time.Duration
	now    func() time.Time

	reload sync.Mutex // one load at a time; guards lastMiss
	mu     sync.RWMutex
	verify map[string]crypto.PublicKey // kid → public key, of every key not retired
	live   []models.SigningKey         // the keys not retired, newest first
	signer *signingKey                 // the newest key not retired
	loaded time.Time
	// lastMiss is when a token's unknown kid last made the ring reload.
	lastMiss time.Time
}

// signingKey is the key that signs new tokens.
type signingKey struct {
	kid string
	key crypto.Signer
}

const (
	// recheck is how old the ring may get before signing or serving the
	// JWKS reloads it, so an instance learns of a rotation elsewhere.
	recheck = 10 * time.Second
	// missReload bounds the reloads a stream of tokens with unknown kids
	// (forged, or retired keys') can cause.
	missReload = time.Second
)

// errNoKey is a kid the ring does not know, even after a reload.
var errNoKey = errors.New("no signing key with that kid")

// newKeyRing returns the ring of alg's keys; ttl is the longest life of
// a token they sign (ACCESS_TOKEN_TTL, or ID_TOKEN_TTL for ID tokens).
func newKeyRing(store *models.Store, cfg config.Config, alg string, ttl time.Duration, now func() time.Time) (*keyRing, error) {
	sl, err := seal.New(cfg.EncryptionKey, seal.SigningKeys)
	if err != nil {
		return nil, err
	}
	return &keyRing{store: store, alg: alg, sealer: sl, ttl: ttl, now: now}, nil
}

// sealContext binds a sealed private key to its kid and algorithm: a
// sealed key copied to another row does not open.
func sealContext(kid, alg string) string { return kid + "\x00" + alg }

func (r *keyRing) open(k *models.SigningKey) ([]byte, error) {
	plain, err := r.sealer.Open(k.PrivateKey, sealContext(k.KID, k.Alg))
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTION_KEY does not open signing key %s (was it changed?)", k.KID)
	}
	return plain, nil
}

// create makes a new key of the ring's algorithm and stores it.
func (r *keyRing) create(ctx context.Context) (string, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch r.alg {
	case config.JWTAlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case config.JWTAlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return "", fmt.Errorf("JWT_ALG=%s keeps no signing keys: tokens are signed with JWT_SECRET", r.alg)
	}
	if err != nil {
		return "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return "", err
	}
	plain, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	// A new key is newer than every other, even when the clock has not
	// moved (or is behind another instance's): the newest key signs.
	created := r.now().UTC().Truncate(time.Millisecond) // MySQL keeps milliseconds
	all, err := r.store.SigningKeys(ctx)
	if err != nil {
		return "", err
	}
	if len(all) > 0 && !created.After(all[0].CreatedAt) {
		created = all[0].CreatedAt.UTC().Truncate(time.Millisecond).Add(time.Millisecond)
	}
	kid := randomID(16)
	k := &models.SigningKey{KID: kid, Alg: r.alg, PublicKey: pub, PrivateKey: r.sealer.Seal(plain, sealContext(kid, r.alg)), CreatedAt: created}
	if err := r.store.CreateSigningKey(ctx, k); err != nil {
		return "", err
	}
	return kid, nil
}

// load reads the keys from the database; when none of the ring's
// algorithm is live, it makes one first (the first start). Two instances
// starting at once may both make one: each then signs with the newest,
// and both keys verify.
func (r *keyRing) load(ctx context.Context) error {
	r.reload.Lock()
	defer r.reload.Unlock()
	return r.loadLocked(ctx)
}

func (r *keyRing) loadLocked(ctx context.Context) error {
	all, err := r.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	live := liveKeys(all, r.alg)
	if len(live) == 0 {
		if _, err := r.create(ctx); err != nil {
			return err
		}
		if all, err = r.store.SigningKeys(ctx); err != nil {
			return err
		}
		live = liveKeys(all, r.alg)
	}
	verify := make(map[string]crypto.PublicKey, len(live))
	for _, k := range live {
		pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", k.KID, err)
		}
		verify[k.KID] = pub
	}
	var signer *signingKey
	if len(live) > 0 {
		r.mu.RLock()
		old := r.signer
		r.mu.RUnlock()
		if old != nil && old.kid == live[0].KID {
			signer = old // already opened
		} else {
			plain, err := r.open(&live[0])
			if err != nil {
				return err
			}
			key, err := x509.ParsePKCS8PrivateKey(plain)
			if err != nil {
				return fmt.Errorf("signing key %s: %w", live[0].KID, err)
			}
			s, ok := key.(crypto.Signer)
			if !ok {
				return fmt.Errorf("signing key %s: not a signing key", live[0].KID)
			}
			signer = &signingKey{kid: live[0].KID, key: s}
		}
	}
	r.mu.Lock()
	r.verify, r.live, r.signer, r.loaded = verify, live, signer, r.now()
	r.mu.Unlock()
	return nil
}

// liveKeys are the keys of alg not retired, newest first.
func liveKeys(all []models.SigningKey, alg string) []models.SigningKey {
	var live []models.SigningKey
	for _, k := range all {
		if k.Alg == alg && !k.Retired() {
			live = append(live, k)
		}
	}
	return live
}

// fresh reloads the ring when its copy is older than recheck.
func (r *keyRing) fresh(ctx context.Context) error {
	r.mu.RLock()
	stale := r.now().Sub(r.loaded) >= recheck || r.signer == nil
	r.mu.RUnlock()
	if !stale {
		return nil
	}
	r.reload.Lock()
	defer r.reload.Unlock()
	r.mu.RLock()
	stale = r.now().Sub(r.loaded) >= recheck || r.signer == nil
	r.mu.RUnlock()
	if !stale {
		return nil // another request reloaded it meanwhile
	}
	return r.loadLocked(ctx)
}

// current returns the key that signs new tokens. The copy's signer is
// checked against the database first (one indexed read per signature):
// a key retired anywhere — by the CLI, on another instance — never signs
// again from the moment the retirement commits (contract §8), while a
// rotation may take recheck to arrive.
func (r *keyRing) current(ctx context.Context) (*signingKey, error) {
	if err := r.fresh(ctx); err != nil {
		return nil, err
	}
	r.mu.RLock()
	signer := r.signer
	r.mu.RUnlock()
	live, err := r.store.SigningKeyLive(ctx, signer.kid)
	if err != nil || live {
		return signer, err
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.signer, nil
}

// publicKey returns the key kid names. A kid it does not know makes it
// reload, at most once per missReload: the key may be another instance's
// new one.
func (r *keyRing) publicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	r.mu.RLock()
	pub, ok := r.verify[kid]
	r.mu.RUnlock()
	if ok {
		return pub, nil
	}
	if err := r.reloadSoon(ctx); err != nil {
		return nil, err
	}
	r.mu.RLock()
	pub, ok = r.verify[kid]
	r.mu.RUnlock()
	if !ok {
		return nil, errNoKey
	}
	return pub, nil
}

// reloadSoon reloads the ring unless it did so for a miss less than
// missReload ago.
func (r *keyRing) reloadSoon(ctx context.Context) error {
	r.reload.Lock()
	defer r.reload.Unlock()
	now := r.now()
	if !r.lastMiss.IsZero() && now.Sub(r.lastMiss) < missReload {
		return nil
	}
	r.lastMiss = now
	return r.loadLocked(ctx)
}

// signerKID is the kid of the key that signs now, without reloading.
func (r *keyRing) signerKID() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.signer == nil {
		return ""
	}
	return r.signer.kid
}

// publishedKeys picks from live (newest first) the keys whose tokens may
// still be alive at now.
func publishedKeys(live []models.SigningKey, now time.Time, ttl time.Duration) []models.SigningKey {
	var out []models.SigningKey
	for i, k := range live {
		if i == 0 || now.Before(live[i-1].CreatedAt.Add(ttl+recheck)) {
			out = append(out, k)
		}
	}
	return out
}

// JWK is one public key in RFC 7517 form.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// JWKS is the document at /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

func jwkOf(k models.SigningKey) (JWK, error) {
	pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
	if err != nil {
		return JWK{}, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	j := JWK{Kid: k.KID, Use: "sig", Alg: k.Alg}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(p)
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64(p.N.Bytes()), b64(big.NewInt(int64(p.E)).Bytes())
	default:
		return JWK{}, fmt.Errorf("signing key %s: unsupported key type %T", k.KID, pub)
	}
	return j, nil
}

// JWKS returns the public keys other services verify tokens with: the
// signing key and the earlier ones whose tokens may still be alive. Under
// HS256 there are none to publish.
//
// The keys that sign ID tokens for applications (RS256 unless an app asks
// for EdDSA, contract §10) are published beside JWT_ALG's, from the moment
// the first is made (at the first ID token of its algorithm).
func (t *Tokens) JWKS(ctx context.Context) (JWKS, error) {
	set := JWKS{Keys: []JWK{}}
	all, err := t.store.SigningKeys(ctx)
	if err != nil {
		return JWKS{}, err
	}
	var keys []models.SigningKey
	for _, alg := range t.publishedAlgs() {
		keys = append(keys, publishedKeys(liveKeys(all, alg), t.now(), t.keyTTL)...)
	}
	for _, k := range keys {
		j, err := jwkOf(k)
		if err != nil {
			return JWKS{}, err
		}
		set.Keys = append(set.Keys, j)
	}
	return set, nil
}

// KeyInfo describes a signing key for `gatehouse keys list`.
type KeyInfo struct {
	KID       string
	Alg       string
	CreatedAt time.Time
	// State is current (signs new tokens), rotated (still verifies tokens
	// it signed, and is in the JWKS until they expire), expired (rotated
	// longer ago than ACCESS_TOKEN_TTL: no token of it can be alive),
	// retired, or inactive (an algorithm that signs nothing here).
	State string
}

// Keys lists every signing key, newest first.
func (t *Tokens) Keys(ctx context.Context) ([]KeyInfo, error) {
	all, err := t.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	published, current := map[string]bool{}, map[string]bool{}
	algs := t.publishedAlgs()
	for _, alg := range algs {
		live := liveKeys(all, alg)
		for _, k := range publishedKeys(live, t.now(), t.keyTTL) {
			published[k.KID] = true
		}
		if len(live) > 0 {
			current[live[0].KID] = true
		}
	}
	out := make([]KeyInfo, 0, len(all))
	for _, k := range all {
		info := KeyInfo{KID: k.KID, Alg: k.Alg, CreatedAt: k.CreatedAt}
		switch {
		case k.Retired():
			info.State = "retired"
		case !slices.Contains(algs, k.Alg):
			info.State = "inactive"
		case current[k.KID]:
			info.State = "current"
		case published[k.KID]:
			info.State = "rotated"
		default:
			info.State = "expired"
		}
		out = append(out, info)
	}
	return out, nil
}

// Rotate makes a new key of JWT_ALG that signs from now on (on other
// instances within recheck). The old keys keep verifying the tokens they
// signed, so nobody is logged out.
//
// alg names another ring than JWT_ALG's: RS256 or EdDSA, the keys of
// applications' ID tokens (contract §10); empty is JWT_ALG.
func (t *Tokens) Rotate(ctx context.Context, alg string) (string, error) {
	r := t.keys
	if alg != "" && alg != t.alg {
		var err error
		if r, err = t.idRing(alg); err != nil {
			return "", err
		}
	}
	if r == nil {
		return "", errors.New("JWT_ALG=HS256 keeps no signing keys: tokens are signed with JWT_SECRET (rotate --alg RS256 or EdDSA rotates the keys of ID tokens)")
	}
	kid, err := r.create(ctx)
	if err != nil {
		return "", err
	}
	return kid, r.load(ctx)
}

// Retire retires the key kid (a leaked one) in the database: from the
// moment it commits, it leaves the JWKS and signs nothing more, on every
// instance. Its tokens still verify here until the caller's own check of
// the kid (see Verify) refuses them. When it was the signing key, a new
// one is made first (returned as next). This ring takes the new key at
// its next signature, or at Reload. models.ErrNotFound if there is no
// such key.
func (t *Tokens) Retire(ctx context.Context, kid string) (next string, err error) {
	all, err := t.store.SigningKeys(ctx)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(all, func(k models.SigningKey) bool { return k.KID == kid })
	if i < 0 {
		return "", models.ErrNotFound
	}
	r := t.keys
	if alg := all[i].Alg; alg != t.alg && slices.Contains(t.publishedAlgs(), alg) {
		if r, err = t.idRing(alg); err != nil {
			return "", err
		}
	}
	live := liveKeys(all, all[i].Alg)
	// The successor first: from the moment the key is retired, every
	// instance finds a live key to sign with (keyRing.current).
	if r != nil && r.alg == all[i].Alg && len(live) > 0 && live[0].KID == kid {
		if next, err = r.create(ctx); err != nil {
			return "", err
		}
	}
	if err := t.store.RetireSigningKey(ctx, kid, t.now().UTC()); err != nil {
		return "", err
	}
	return next, nil
}

// Reload reads the signing keys again (under HS256 there are none).
func (t *Tokens) Reload(ctx context.Context) error {
	if t.keys == nil {
		return nil
	}
	return t.keys.load(ctx)
}

// KeyRetired is told that kid, a verified token's key, was found retired
// by the caller's own read of the database. When it is the key this ring
// still signs with (retired elsewhere), the ring reloads now rather than
// at its next recheck.
func (t *Tokens) KeyRetired(ctx context.Context, kid string) {
	if t.keys != nil && kid == t.keys.signerKID() {
		_ = t.keys.reloadSoon(ctx)
	}
}
