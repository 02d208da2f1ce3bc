// Package memory provides in-memory implementations of oauthkit's stores:
// for tests, examples and single-process servers. They are safe for
// concurrent use and pass the contract checks of package
// [github.com/oauthkit/oauthkit/storage/storetest].
//
// The stores forget expired entries as they go: every so many inserts (as
// many as the last sweep left, and at least 1024) an insert first drops what
// has expired, so that memory stays bounded and each insert pays a constant
// share of the sweep on average. The stores take the time from their
// callers, never from the wall clock, so they work with a fake clock; see
// [Codes.CreateCode], [Tokens.CreateTokens], [ReplayCache.Remember] and
// [Devices.CreateDeviceAuthorization] for which time a sweep uses.
// DeleteExpired sweeps on demand.
//
// Nothing is persisted: a restart loses every code, token, replay key and
// device authorization.
package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit"
)

// Clients is a ClientStore holding clients in a map.
type Clients struct {
	mu      sync.RWMutex
	clients map[string]*oauthkit.Client
}

// NewClients returns a store holding clients.
func NewClients(clients ...*oauthkit.Client) *Clients {
	s := &Clients{clients: make(map[string]*oauthkit.Client, len(clients))}
	for _, c := range clients {
		s.Put(c)
	}
	return s
}

// Put adds or replaces a client. The store keeps c; do not modify it after.
func (s *Clients) Put(c *oauthkit.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c
}

// Client returns the client with the given ID or an error wrapping
// oauthkit.ErrNotFound.
func (s *Clients) Client(_ context.Context, id string) (*oauthkit.Client, error) {
	s.mu.RLock()
	c, ok := s.clients[id]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("client %q: %w", id, oauthkit.ErrNotFound)
	}
	return c, nil
}

// sweeper decides when to drop expired entries: after as many inserts as
// the last sweep left entries (at least minSweep). A sweep then walks at
// most the entries it left plus those inserted since, so each insert pays
// for a constant share of it on average.
//
// The count is of inserts, not of the store's size: the size grows with
// every insert, so a rule comparing the two would never fire again.
type sweeper struct {
	inserts int // since the last sweep
	left    int // entries the last sweep left
}

const minSweep = 1024

// due counts an insert and reports whether to sweep before it.
func (sw *sweeper) due() bool {
	sw.inserts++
	return sw.inserts >= max(sw.left, minSweep)
}

// swept records a sweep that left size entries.
func (sw *sweeper) swept(size int) {
	sw.inserts, sw.left = 0, size
}

// Store holds clients, codes, tokens, single-use keys and device
// authorizations together, like a database: pass it as Config.Clients,
// Config.Codes and Config.Tokens, and wherever an [oauthkit.ReplayCache] or
// an [oauthkit.DeviceStore] is wanted. Besides the five stores it redeems a
// code and stores the tokens issued for it in one step
// ([oauthkit.CodeRedeemer]), so that the server takes the same path as with
// a database store. It also revokes everything of a resource owner
// ([oauthkit.SubjectRevoker]), and [github.com/oauthkit/oauthkit/storage/tenant]
// serves many tenants from one Store.
type Store struct {
	*Clients
	*Codes
	*Tokens
	*ReplayCache
	*Devices        // a DeviceStore (RFC 8628)
	*PushedRequests // Config.PAR.Store (RFC 9126)
}

// NewStore returns a store holding clients and no codes, tokens, keys or
// device authorizations.
func NewStore(clients ...*oauthkit.Client) *Store {
	return &Store{Clients: NewClients(clients...), Codes: NewCodes(), Tokens: NewTokens(),
		ReplayCache: NewReplayCache(), Devices: NewDevices(), PushedRequests: NewPushedRequests()}
}

// RedeemCode consumes a code and stores the tokens issue returns for it,
// both or neither; see oauthkit.CodeRedeemer. issue runs while the code
// store is locked: it must not call the store.
func (s *Store) RedeemCode(ctx context.Context, id, clientID string, now time.Time,
	issue func(*oauthkit.AuthorizationCode) ([]*oauthkit.Token, error)) (*oauthkit.AuthorizationCode, error) {
	s.Codes.mu.Lock()
	defer s.Codes.mu.Unlock()
	e, code, err := s.Codes.consume(id, clientID, now)
	if err != nil {
		return code, err
	}
	tokens, err := issue(code)
	if err != nil {
		return code, err // the code stays used
	}
	if err := s.Tokens.CreateTokens(ctx, tokens...); err != nil {
		e.consumed = false // as if never redeemed
		return code, err
	}
	return code, nil
}

// DeleteExpired forgets the codes, tokens, revoked grants, replay keys and
// pushed requests expired at now, and the device authorizations expired
// five minutes before (see [Devices]).
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) error {
	s.Codes.DeleteExpired(ctx, now)
	// A Store built without NewStore may lack the later stores.
	if s.ReplayCache != nil {
		s.ReplayCache.DeleteExpired(ctx, now)
	}
	if s.Devices != nil {
		s.Devices.DeleteExpired(ctx, now)
	}
	if s.PushedRequests != nil {
		s.PushedRequests.DeleteExpired(ctx, now)
	}
	return s.Tokens.DeleteExpired(ctx, now)
}

// Codes is a CodeStore holding authorization codes in a map. Used codes are
// remembered until they expire, to detect reuse.
type Codes struct {
	mu    sync.Mutex
	codes map[string]*codeEntry
	sweep sweeper
	// latest is the latest now a caller has passed, the store's notion of
	// the current time for sweeps; sweptAt is latest at the last sweep.
	latest, sweptAt time.Time
}

type codeEntry struct {
	code     oauthkit.AuthorizationCode
	consumed bool
}

// NewCodes returns an empty code store.
func NewCodes() *Codes { return &Codes{codes: make(map[string]*codeEntry)} }

// CreateCode stores a new code; see oauthkit.CodeStore. A code needs an ID
// and an ExpiresAt.
//
// When a sweep is due (after as many inserts as the last sweep left, or
// once a code lifetime has passed since the last sweep), CreateCode first
// drops the codes expired at the latest time a caller passed to
// ConsumeCode, or at code.ExpiresAt less oauthkit.MaxCodeLifetime if that
// is later: no later than now for any code that lives at most
// MaxCodeLifetime, as oauthkit.Server ensures (a caller storing longer-lived
// codes may lose live ones). Codes are redeemed within seconds of their
// creation, so while codes are redeemed, expired ones are dropped within
// about one code lifetime after they expire.
func (s *Codes) CreateCode(_ context.Context, code *oauthkit.AuthorizationCode) error {
	if code.ID == "" || code.ExpiresAt.IsZero() {
		return errors.New("memory: code needs an ID and an expiry")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.codes[code.ID]; ok {
		return fmt.Errorf("code: %w", oauthkit.ErrExists)
	}
	// Codes live at most MaxCodeLifetime, so this is no later than now.
	now := later(s.latest, code.ExpiresAt.Add(-oauthkit.MaxCodeLifetime))
	// Sweep every so many inserts, and at least once per code lifetime.
	if s.sweptAt.IsZero() {
		s.sweptAt = now
	}
	if due := s.sweep.due(); due || now.Sub(s.sweptAt) >= code.ExpiresAt.Sub(now) {
		s.deleteExpired(now)
		s.sweptAt = now
	}
	c := *code
	c.Scope = slices.Clone(code.Scope)
	c.Resources = slices.Clone(code.Resources)
	s.codes[code.ID] = &codeEntry{code: c}
	return nil
}

// ConsumeCode marks the code used and returns it; see oauthkit.CodeStore.
func (s *Codes) ConsumeCode(_ context.Context, id, clientID string, now time.Time) (*oauthkit.AuthorizationCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, c, err := s.consume(id, clientID, now)
	return c, err
}

// consume is ConsumeCode with s.mu held; it also returns the entry.
func (s *Codes) consume(id, clientID string, now time.Time) (*codeEntry, *oauthkit.AuthorizationCode, error) {
	e, ok := s.codes[id]
	if !ok || !now.Before(e.code.ExpiresAt) || e.code.ClientID != clientID {
		return nil, nil, fmt.Errorf("code: %w", oauthkit.ErrNotFound)
	}
	if now.After(s.latest) {
		s.latest = now
	}
	c := e.code
	c.Scope = slices.Clone(c.Scope)
	c.Resources = slices.Clone(c.Resources)
	if e.consumed {
		return e, &c, fmt.Errorf("code: %w", oauthkit.ErrReused)
	}
	e.consumed = true
	return e, &c, nil
}

// DeleteExpired forgets the codes expired at now, used or not. It never
// fails; the error is for the signature every store shares.
func (s *Codes) DeleteExpired(_ context.Context, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteExpired(now)
	return nil
}

func (s *Codes) deleteExpired(now time.Time) {
	for id, e := range s.codes {
		if !now.Before(e.code.ExpiresAt) {
			delete(s.codes, id)
		}
	}
	s.sweep.swept(len(s.codes))
}

// Tokens is a TokenStore. Each token is kept as one packed record in a
// table that holds no pointers, so that however many tokens are stored, the
// garbage collector has nothing to mark per token; grants and refresh
// families are indexed beside it.
type Tokens struct {
	mu       sync.RWMutex
	tokens   *table               // token ID → the token, packed
	grants   map[string][]string  // grant ID → IDs of its tokens, but the one the grant is named after
	children map[string][]string  // refresh token ID → IDs issued in exchange for it
	revoked  map[string]time.Time // revoked grant ID → when, by the wall clock
	sweep    sweeper
}

// NewTokens returns an empty token store.
func NewTokens() *Tokens {
	return &Tokens{
		tokens:   newTable(),
		grants:   make(map[string][]string),
		revoked:  make(map[string]time.Time),
		children: make(map[string][]string),
	}
}

// CreateTokens stores tokens issued together, all or none; see
// oauthkit.TokenStore. A token needs an ID, a GrantID, a Kind and an
// ExpiresAt; RotatedAt is not stored.
//
// When a sweep is due, CreateTokens (or RotateRefreshToken) first drops the
// tokens expired at the IssuedAt of the first new token, which must
// therefore not be later than now.
func (s *Tokens) CreateTokens(_ context.Context, tokens ...*oauthkit.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(tokens)
}

func (s *Tokens) create(tokens []*oauthkit.Token) error {
	if err := s.check(tokens); err != nil {
		return err
	}
	s.insert(tokens)
	return nil
}

// check reports whether tokens can be stored.
func (s *Tokens) check(tokens []*oauthkit.Token) error {
	for i, t := range tokens {
		if t.ID == "" || t.GrantID == "" || t.ExpiresAt.IsZero() || (t.Kind != oauthkit.AccessToken && t.Kind != oauthkit.RefreshToken) {
			return errors.New("memory: token needs an ID, a grant ID, a kind and an expiry")
		}
		if s.tokens.has(t.ID) || slices.ContainsFunc(tokens[:i], func(u *oauthkit.Token) bool { return u.ID == t.ID }) {
			return fmt.Errorf("token: %w", oauthkit.ErrExists)
		}
		if _, ok := s.revoked[t.GrantID]; ok {
			return fmt.Errorf("token of a revoked grant: %w", oauthkit.ErrReused)
		}
	}
	return nil
}

// insert stores checked tokens.
func (s *Tokens) insert(tokens []*oauthkit.Token) {
	if len(tokens) > 0 && s.sweep.due() {
		s.deleteExpired(tokens[0].IssuedAt)
	}
	for _, t := range tokens {
		c := *t
		c.RotatedAt = time.Time{}
		s.tokens.put(encode(&c))
		if c.GrantID != c.ID {
			// A grant is often named after its first token (and a
			// client_credentials grant has no other): that one is found by
			// its ID, without an index entry.
			s.grants[c.GrantID] = append(s.grants[c.GrantID], c.ID)
		}
		if c.ParentID != "" {
			s.children[c.ParentID] = append(s.children[c.ParentID], c.ID)
		}
	}
}

// Token returns the token with the given ID; see oauthkit.TokenStore.
func (s *Tokens) Token(_ context.Context, id string, now time.Time) (*oauthkit.Token, error) {
	s.mu.RLock()
	r, ok := s.tokens.get(id)
	s.mu.RUnlock()
	if !ok || r.expired(now) {
		return nil, fmt.Errorf("token: %w", oauthkit.ErrNotFound)
	}
	return r.token(), nil
}

// RotateRefreshToken exchanges a refresh token for next; see
// oauthkit.TokenStore for the rules.
func (s *Tokens) RotateRefreshToken(_ context.Context, id string, now time.Time, grace time.Duration, next ...*oauthkit.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.tokens.get(id)
	if !ok || old.kind() != oauthkit.RefreshToken || old.expired(now) {
		return fmt.Errorf("refresh token: %w", oauthkit.ErrNotFound)
	}
	switch {
	case !old.rotated():
		if err := s.create(next); err != nil {
			return err
		}
		s.tokens.put(old.withRotatedAt(now))
		return nil
	case grace > 0 && now.Sub(old.rotatedAt()) <= grace && s.retryable(id, now):
		if err := s.check(next); err != nil {
			return err
		}
		// Replace the first exchange: its access tokens go, its refresh
		// token stays, rotated, so that presenting it later is reuse; and
		// with two refresh children, r can be retried no more.
		for _, cid := range slices.Clone(s.children[id]) {
			if c, _ := s.tokens.get(cid); c.kind() == oauthkit.RefreshToken {
				s.tokens.put(c.withRotatedAt(now))
			} else {
				s.remove(cid)
			}
		}
		s.insert(next)
		return nil
	default:
		if err := s.check(next); errors.Is(err, oauthkit.ErrExists) {
			return err // a taken ID changes nothing, not even on reuse
		}
		s.revokeGrant(grantOf(old))
		return fmt.Errorf("refresh token: %w", oauthkit.ErrReused)
	}
}

// retryable reports whether the rotation of the refresh token id may be
// retried: it has been exchanged once only (one refresh token was issued in
// exchange for it), and that successor is live at now and unused.
func (s *Tokens) retryable(id string, now time.Time) bool {
	successor := false
	for _, cid := range s.children[id] {
		c, ok := s.tokens.get(cid)
		if !ok || c.kind() != oauthkit.RefreshToken {
			continue
		}
		if successor || c.rotated() || c.expired(now) {
			return false
		}
		successor = true
	}
	return successor
}

// RevokeToken revokes one token.
func (s *Tokens) RevokeToken(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(id)
	return nil
}

// RevokeGrant revokes every token of a grant.
func (s *Tokens) RevokeGrant(_ context.Context, grantID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeGrant(grantID)
	return nil
}

// revokeGrant removes a grant's tokens and remembers, for MaxCodeLifetime by
// the wall clock, that it was revoked, so that its late tokens are refused.
func (s *Tokens) revokeGrant(grantID string) {
	s.revoked[grantID] = time.Now()
	for _, id := range s.grants[grantID] {
		s.removeIndexes(id)
		s.tokens.del(id)
	}
	delete(s.grants, grantID)
	if r, ok := s.tokens.get(grantID); ok && grantOf(r) == grantID {
		s.removeIndexes(grantID)
		s.tokens.del(grantID)
	}
}

// remove deletes one token and its index entries.
func (s *Tokens) remove(id string) {
	r, ok := s.tokens.get(id)
	if !ok {
		return
	}
	s.removeIndexes(id)
	s.tokens.del(id)
	grantID := grantOf(r)
	if grantID == id {
		return // not in the grant index
	}
	ids := slices.DeleteFunc(s.grants[grantID], func(g string) bool { return g == id })
	if len(ids) == 0 {
		delete(s.grants, grantID)
	} else {
		s.grants[grantID] = ids
	}
}

func (s *Tokens) removeIndexes(id string) {
	r, ok := s.tokens.get(id)
	if !ok {
		return
	}
	delete(s.children, id)
	if _, parentID := r.grantAndParent(); parentID != "" {
		siblings := slices.DeleteFunc(s.children[parentID], func(c string) bool { return c == id })
		if len(siblings) == 0 {
			delete(s.children, parentID)
		} else {
			s.children[parentID] = siblings
		}
	}
}

// DeleteExpired forgets the tokens expired at now, rotated or not, and the
// revoked grants recorded more than oauthkit.MaxCodeLifetime ago. It never
// fails; the error is for the signature every store shares.
func (s *Tokens) DeleteExpired(_ context.Context, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteExpired(now)
	return nil
}

func (s *Tokens) deleteExpired(now time.Time) {
	for _, id := range s.tokens.expiredIDs(now) {
		s.remove(id)
	}
	s.tokens.compact()
	for grantID, at := range s.revoked {
		if time.Since(at) > oauthkit.MaxCodeLifetime {
			delete(s.revoked, grantID)
		}
	}
	s.sweep.swept(s.tokens.len())
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// grantOf returns the GrantID of a stored token.
func grantOf(r record) string {
	grantID, _ := r.grantAndParent()
	return grantID
}
