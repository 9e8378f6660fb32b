package auth

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/alexedwards/argon2id"

	"gatehouse/config"
)

// hasher runs argon2id with the configured cost, at most GOMAXPROCS at
// once: each run holds ARGON2_MEMORY_KIB of memory, so a login flood must
// queue rather than exhaust memory. A caller that cannot get a slot within
// wait gets ErrBusy.
type hasher struct {
	params *argon2id.Params
	slots  chan struct{}
	wait   time.Duration
	dummy  string // verified for unknown emails, so they cost what a wrong password costs
}

func newHasher(cfg config.Argon2) (*hasher, error) {
	h := &hasher{
		params: &argon2id.Params{Memory: cfg.MemoryKiB, Iterations: cfg.Time, Parallelism: cfg.Threads, SaltLength: 16, KeyLength: 32},
		slots:  make(chan struct{}, runtime.GOMAXPROCS(0)),
		wait:   3 * time.Second,
	}
	dummy, err := argon2id.CreateHash("gatehouse dummy password", h.params)
	if err != nil {
		return nil, fmt.Errorf("argon2id: %w", err)
	}
	h.dummy = dummy
	return h, nil
}

func (h *hasher) acquire(ctx context.Context) (release func(), err error) {
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-timer.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hash returns an argon2id hash of password.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	hash, err := argon2id.CreateHash(password, h.params)
	if err != nil {
		return "", fmt.Errorf("argon2id: %w", err)
	}
	return hash, nil
}

// verify reports whether password matches hash, and whether hash was made
// with other parameters than the configured ones (so it should be
// re-hashed). An empty hash (no password set) is checked against the
// dummy and never matches, in the same time.
func (h *hasher) verify(ctx context.Context, password, hash string) (match, stale bool, err error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	if hash == "" {
		_, _, _ = argon2id.CheckHash(password, h.dummy)
		return false, false, nil
	}
	match, params, err := argon2id.CheckHash(password, hash)
	if err != nil {
		return false, false, fmt.Errorf("argon2id: %w", err)
	}
	stale = params.Memory != h.params.Memory || params.Iterations != h.params.Iterations ||
		params.Parallelism != h.params.Parallelism || params.KeyLength != h.params.KeyLength
	return match, stale, nil
}
