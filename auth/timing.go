package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"

	"gatehouse/models"
)

// timing keeps a failed password check as long as a check against the
// slowest hash parameters in use (contract §9, Timing). An unknown email
// verifies against a dummy made with those, and every failed check —
// unknown email, or wrong password against any account's hash — answers
// no sooner than the upper quartile of that set's recent checks. Without it, a
// change of ARGON2_* split accounts into an enumerable class: raised,
// unknown emails took 642 ms while accounts still on the old cost took
// 20 ms; lowered, 9.7 ms against 32.8 ms.
//
// The sets in use are models.HashParams, shared by every instance:
// recorded when a hash is first made with new parameters (hasher.hash)
// and, once, from every stored hash of an older database (the migrations'
// version 2, models/migrate_adopt.go). They
// are re-read every paramsRecheck, so a rolling restart with new settings
// reaches the instances still running the old ones.
type timing struct {
	store *models.Store // nil in unit tests: only the current set is known
	log   *slog.Logger

	mu      sync.Mutex
	sets    map[string]*paramSet
	slowest *paramSet
	read    time.Time // when the sets were last read from the store

	recorded atomic.Bool // the current set is in the store
	reading  atomic.Bool // a re-read is under way
}

// paramSet is one parameter set in use: a dummy hash made with it, and
// how long its last checks took.
type paramSet struct {
	params string
	dummy  string
	recent [timingSamples]time.Duration
	n      int // samples taken (the ring holds the last timingSamples)
}

const (
	// timingSamples is how many recent checks the median is taken over.
	timingSamples = 15
	// paramsRecheck is how often the sets in use are re-read.
	paramsRecheck = time.Minute
	// dummyPassword is what dummies hash; nobody's password is compared
	// with it.
	dummyPassword = "gatehouse dummy password"
)

func newTiming(store *models.Store, log *slog.Logger) *timing {
	return &timing{store: store, log: log, sets: map[string]*paramSet{}}
}

// add makes a dummy for params, timing it as the set's first sample.
func (t *timing) add(params string) error {
	t.mu.Lock()
	_, ok := t.sets[params]
	t.mu.Unlock()
	if ok {
		return nil
	}
	start := time.Now()
	dummy, err := makeDummy(params)
	if err != nil {
		return err
	}
	set := &paramSet{params: params, dummy: dummy}
	set.observe(time.Since(start))
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.sets[params]; !ok {
		t.sets[params] = set
		t.pickSlowest()
	}
	return nil
}

// makeDummy hashes dummyPassword with params: an argon2id set, or an
// imported bcrypt cost.
func makeDummy(params string) (string, error) {
	if isBcrypt(params + "$") {
		return bcryptDummy(dummyPassword, params)
	}
	p, err := argon2Params(params)
	if err != nil {
		return "", err
	}
	dummy, err := argon2id.CreateHash(dummyPassword, p)
	if err != nil {
		return "", fmt.Errorf("argon2id: %w", err)
	}
	return dummy, nil
}

// argon2Params parses the parameter part of an argon2id hash (a
// models.HashParamsOf), with the usual salt and key lengths.
func argon2Params(params string) (*argon2id.Params, error) {
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	p, _, _, err := argon2id.DecodeHash(params + "$" + salt + "$" + key)
	if err != nil {
		return nil, fmt.Errorf("hash parameters %q: %w", params, err)
	}
	return p, nil
}

// dummy is the hash an unknown email (or an account without a password)
// is checked against: the slowest set's.
func (t *timing) dummy() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.slowest.dummy
}

// ensure makes params known before a check against a hash made with it:
// a set not seen yet (a hash written by other means than this instance's
// hasher, and not yet read from the store) gets its dummy now — once —
// and is recorded for the other instances.
func (t *timing) ensure(ctx context.Context, params string) {
	t.mu.Lock()
	_, ok := t.sets[params]
	t.mu.Unlock()
	if ok || params == "" {
		return
	}
	if err := t.add(params); err != nil {
		t.log.Warn("a dummy hash for parameters in use failed", "params", params, "err", err)
		return
	}
	if t.store != nil {
		if err := t.store.AddHashParams(context.WithoutCancel(ctx), params, time.Now()); err != nil {
			t.log.Warn("recording the hash parameters failed", "err", err)
		}
	}
}

// observe records that a check against a hash of params took d.
func (t *timing) observe(params string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if set, ok := t.sets[params]; ok {
		set.observe(d)
		t.pickSlowest()
	}
}

// floor is how long every failed check takes at least: the upper
// quartile of the slowest set's recent checks. Above the median on
// purpose: a check against the slowest set then also ends at the floor
// more often than not, so the median of every kind of failure is the
// floor itself — with the median as the floor, checks of the slowest set
// would end above it half the time and the medians of the two kinds drift
// apart by a few milliseconds (bench/run's timing rows after a raise).
func (t *timing) floor() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.slowest.quantile(3, 4)
}

// pad sleeps until a failed check begun at start has taken floor.
func (t *timing) pad(start time.Time) {
	if wait := t.floor() - time.Since(start); wait > 0 {
		time.Sleep(wait)
	}
}

func (t *timing) pickSlowest() {
	for _, set := range t.sets {
		if t.slowest == nil || set.median() > t.slowest.median() {
			t.slowest = set
		}
	}
}

func (s *paramSet) observe(d time.Duration) {
	s.recent[s.n%timingSamples] = d
	s.n++
}

func (s *paramSet) median() time.Duration { return s.quantile(1, 2) }

// quantile is the num/den quantile of the recent checks.
func (s *paramSet) quantile(num, den int) time.Duration {
	n := min(s.n, timingSamples)
	if n == 0 {
		return 0
	}
	sorted := slices.Clone(s.recent[:n])
	slices.Sort(sorted)
	return sorted[n*num/den]
}

// record notes in the store that hashes are made with params now (once
// per process).
func (t *timing) record(ctx context.Context, params string) {
	if t.store == nil || t.recorded.Load() {
		return
	}
	if err := t.store.AddHashParams(context.WithoutCancel(ctx), params, time.Now()); err != nil {
		t.log.Warn("recording the hash parameters failed", "err", err)
		return
	}
	t.recorded.Store(true)
}

// learn re-reads the sets in use when its copy is older than
// paramsRecheck: at once (the caller waits) the first time, so that the
// very first failed login already costs the slowest set's time, and in
// the background after that.
func (t *timing) learn(ctx context.Context) {
	if t.store == nil {
		return
	}
	t.mu.Lock()
	first, due := t.read.IsZero(), time.Since(t.read) >= paramsRecheck
	t.mu.Unlock()
	if !due || !t.reading.CompareAndSwap(false, true) {
		return
	}
	if first {
		t.reread(ctx)
		return
	}
	go t.reread(context.WithoutCancel(ctx))
}

func (t *timing) reread(ctx context.Context) {
	defer t.reading.Store(false)
	all, err := t.store.HashParamsInUse(ctx)
	if err != nil {
		t.log.Warn("reading the hash parameters in use failed", "err", err)
		return
	}
	for _, params := range all {
		if err := t.add(params); err != nil {
			t.log.Warn("a dummy hash for parameters in use failed", "params", params, "err", err)
		}
	}
	t.mu.Lock()
	t.read = time.Now()
	t.mu.Unlock()
}
