package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

// A kit that passes every store proves nothing. Each store below breaks one
// rule; TestKitCatchesBrokenStores runs the kit against it in a child
// process, since a failing kit fails its test, and checks that the subtest
// for that rule failed.

// brokenEnv names the environment variable that tells the child process
// which broken store to test.
const brokenEnv = "STORETEST_BROKEN_STORE"

var brokenStores = []struct {
	name  string
	test  func(t *testing.T)
	fails string // the kit's subtest that must fail
}{
	{"ClientsIgnoreCase", clientKit(func(cs []*oauthkit.Client) oauthkit.ClientStore { return foldClients(cs) }), "NotFound/OtherCase"},
	{"ClientsBareNotFound", clientKit(func(cs []*oauthkit.Client) oauthkit.ClientStore { return bareClients{memory.NewClients(cs...)} }), "NotFound/Unknown"},

	{"CodesForgetUsed", codeKit(func() oauthkit.CodeStore { return forgetfulCodes{memory.NewCodes()} }), "Reuse"},
	{"CodesIgnoreExpiry", codeKit(func() oauthkit.CodeStore { return timelessCodes{memory.NewCodes()} }), "Expiry/AtExpiresAt"},
	{"CodesGetThenMark", codeKit(func() oauthkit.CodeStore { return &getThenMarkCodes{Codes: memory.NewCodes()} }), "ConcurrentConsume"},
	{"CodesShareMemory", codeKit(func() oauthkit.CodeStore { return &sharingCodes{Codes: memory.NewCodes()} }), "Copies"},

	{"TokensPartialBatch", tokenKit(func() oauthkit.TokenStore { return partialTokens{memory.NewTokens()} }), "BatchAllOrNone/LastTaken"},
	{"TokensLoseACR", tokenKit(func() oauthkit.TokenStore { return lossyTokens{memory.NewTokens()} }), "RoundTrip/AccessToken"},
	{"TokensSecondPrecision", tokenKit(func() oauthkit.TokenStore { return coarseTokens{memory.NewTokens()} }), "RoundTrip/RefreshToken"},
	{"TokensWallClock", tokenKit(func() oauthkit.TokenStore { return wallClockTokens{memory.NewTokens()} }), "Expiry/access_token/AtExpiresAt"},
	{"TokensShareMemory", tokenKit(func() oauthkit.TokenStore { return &sharingTokens{Tokens: memory.NewTokens()} }), "Copies"},
	{"TokensNoGrace", tokenKit(func() oauthkit.TokenStore { return graceless{memory.NewTokens()} }), "RetryWithinGrace/Immediately"},
	{"TokensReuseKeepsGrant", tokenKit(func() oauthkit.TokenStore { return lenientTokens{memory.NewTokens()} }), "Reuse/NoGrace"},

	{"CapperCountThenInsert", capperKit(func() oauthkit.ClientCapper { return &countThenInsert{Clients: memory.NewClients()} }), "ConcurrentCreate"},
	{"RevokerTokensOnly", revokerKit(func() storetest.ClientRevokingStore { return &tokensOnlyRevoker{Tokens: memory.NewTokens()} }), "Revoke"},
}

func TestKitCatchesBrokenStores(t *testing.T) {
	for _, b := range brokenStores {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenStore$", "-test.count=1", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), brokenEnv+"="+b.name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the kit passed a store that breaks a rule, or did not run (error %v):\n%s", err, out)
			}
			if want := "--- FAIL: TestBrokenStore/" + b.fails + " ("; !strings.Contains(string(out), want) {
				t.Errorf("subtest %s did not fail; output:\n%s", b.fails, out)
			}
			if strings.Contains(string(out), "panic:") {
				t.Errorf("the kit panicked on a broken store:\n%s", out)
			}
		})
	}
}

// TestBrokenStore runs the kit against the broken store named in the
// environment. It runs only as TestKitCatchesBrokenStores's child.
func TestBrokenStore(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("runs in the child process of TestKitCatchesBrokenStores")
	}
	for _, b := range brokenStores {
		if b.name == name {
			b.test(t)
			return
		}
	}
	t.Fatalf("no broken store %q", name)
}

func clientKit(newStore func([]*oauthkit.Client) oauthkit.ClientStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.TestClientStore(t, func(t *testing.T, clients ...*oauthkit.Client) oauthkit.ClientStore {
			return newStore(clients)
		})
	}
}

func codeKit(newStore func() oauthkit.CodeStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.TestCodeStore(t, func(*testing.T) oauthkit.CodeStore { return newStore() })
	}
}

func tokenKit(newStore func() oauthkit.TokenStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.TestTokenStore(t, func(*testing.T) oauthkit.TokenStore { return newStore() })
	}
}

func capperKit(newStore func() oauthkit.ClientCapper) func(*testing.T) {
	return func(t *testing.T) {
		storetest.TestClientCapper(t, func(*testing.T) oauthkit.ClientCapper { return newStore() })
	}
}

func revokerKit(newStore func() storetest.ClientRevokingStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.TestClientRevoker(t, func(*testing.T) storetest.ClientRevokingStore { return newStore() })
	}
}

// countThenInsert counts a source's clients, then inserts, in two steps:
// concurrent registrations all see room.
type countThenInsert struct {
	*memory.Clients
	mu     sync.Mutex
	counts map[string]int
}

func (s *countThenInsert) CreateClientCapped(ctx context.Context, c *oauthkit.Client, source string, max int) error {
	s.mu.Lock()
	n := s.counts[source]
	s.mu.Unlock()
	if n >= max {
		return oauthkit.ErrLimitReached
	}
	time.Sleep(time.Millisecond)
	if err := s.CreateClient(ctx, c); err != nil {
		return err
	}
	s.mu.Lock()
	if s.counts == nil {
		s.counts = make(map[string]int)
	}
	s.counts[source]++
	s.mu.Unlock()
	return nil
}

// tokensOnlyRevoker revokes a client's tokens one by one, without revoking
// their grants: tokens of those grants stored later are accepted.
type tokensOnlyRevoker struct {
	*memory.Tokens
	mu       sync.Mutex
	byClient map[string][]string
}

func (s *tokensOnlyRevoker) record(tokens []*oauthkit.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byClient == nil {
		s.byClient = make(map[string][]string)
	}
	for _, t := range tokens {
		s.byClient[t.ClientID] = append(s.byClient[t.ClientID], t.ID)
	}
}

func (s *tokensOnlyRevoker) CreateTokens(ctx context.Context, tokens ...*oauthkit.Token) error {
	err := s.Tokens.CreateTokens(ctx, tokens...)
	if err == nil {
		s.record(tokens)
	}
	return err
}

func (s *tokensOnlyRevoker) RotateRefreshToken(ctx context.Context, id string, now time.Time, grace time.Duration, next ...*oauthkit.Token) error {
	err := s.Tokens.RotateRefreshToken(ctx, id, now, grace, next...)
	if err == nil {
		s.record(next)
	}
	return err
}

func (s *tokensOnlyRevoker) RevokeClientTokens(ctx context.Context, clientID string) error {
	s.mu.Lock()
	ids := s.byClient[clientID]
	s.mu.Unlock()
	for _, id := range ids {
		if err := s.RevokeToken(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// foldClients matches client IDs without regard to case.
type foldClients []*oauthkit.Client

func (cs foldClients) Client(_ context.Context, id string) (*oauthkit.Client, error) {
	for _, c := range cs {
		if strings.EqualFold(c.ID, id) {
			return c, nil
		}
	}
	return nil, oauthkit.ErrNotFound
}

// bareClients returns a not-found error that wraps no sentinel.
type bareClients struct{ *memory.Clients }

func (s bareClients) Client(ctx context.Context, id string) (*oauthkit.Client, error) {
	c, err := s.Clients.Client(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("no client %q", id)
	}
	return c, nil
}

// forgetfulCodes reports a used code as unknown.
type forgetfulCodes struct{ *memory.Codes }

func (s forgetfulCodes) ConsumeCode(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.AuthorizationCode, error) {
	c, err := s.Codes.ConsumeCode(ctx, id, clientID, now)
	if errors.Is(err, oauthkit.ErrReused) {
		return nil, oauthkit.ErrNotFound
	}
	return c, err
}

// timelessCodes never lets codes expire.
type timelessCodes struct{ *memory.Codes }

func (s timelessCodes) ConsumeCode(ctx context.Context, id, clientID string, _ time.Time) (*oauthkit.AuthorizationCode, error) {
	return s.Codes.ConsumeCode(ctx, id, clientID, time.Time{})
}

// getThenMarkCodes reads whether a code was used, then marks it: two steps
// where the contract asks for one.
type getThenMarkCodes struct {
	*memory.Codes
	mu   sync.Mutex
	used map[string]bool
}

func (s *getThenMarkCodes) ConsumeCode(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.AuthorizationCode, error) {
	s.mu.Lock()
	used := s.used[id]
	s.mu.Unlock()
	c, err := s.Codes.ConsumeCode(ctx, id, clientID, now)
	if err != nil && !errors.Is(err, oauthkit.ErrReused) {
		return nil, err
	}
	time.Sleep(time.Millisecond) // the window between the two steps
	s.mu.Lock()
	if s.used == nil {
		s.used = make(map[string]bool)
	}
	s.used[id] = true
	s.mu.Unlock()
	if used {
		return c, oauthkit.ErrReused
	}
	return c, nil
}

// sharingCodes hands every caller the same copy of a code.
type sharingCodes struct {
	*memory.Codes
	mu   sync.Mutex
	seen map[string]*oauthkit.AuthorizationCode
}

func (s *sharingCodes) ConsumeCode(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.AuthorizationCode, error) {
	c, err := s.Codes.ConsumeCode(ctx, id, clientID, now)
	if c == nil {
		return c, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = make(map[string]*oauthkit.AuthorizationCode)
	}
	if prev, ok := s.seen[id]; ok {
		return prev, err
	}
	s.seen[id] = c
	return c, err
}

// partialTokens stores a batch one token at a time.
type partialTokens struct{ *memory.Tokens }

func (s partialTokens) CreateTokens(ctx context.Context, tokens ...*oauthkit.Token) error {
	for _, tok := range tokens {
		if err := s.Tokens.CreateTokens(ctx, tok); err != nil {
			return err
		}
	}
	return nil
}

// lossyTokens does not store ACR.
type lossyTokens struct{ *memory.Tokens }

func (s lossyTokens) CreateTokens(ctx context.Context, tokens ...*oauthkit.Token) error {
	var stored []*oauthkit.Token
	for _, tok := range tokens {
		c := *tok
		c.ACR = ""
		stored = append(stored, &c)
	}
	return s.Tokens.CreateTokens(ctx, stored...)
}

// coarseTokens keeps times to the second.
type coarseTokens struct{ *memory.Tokens }

func (s coarseTokens) CreateTokens(ctx context.Context, tokens ...*oauthkit.Token) error {
	var stored []*oauthkit.Token
	for _, tok := range tokens {
		c := *tok
		c.IssuedAt, c.ExpiresAt, c.AuthTime = c.IssuedAt.Truncate(time.Second), c.ExpiresAt.Truncate(time.Second), c.AuthTime.Truncate(time.Second)
		stored = append(stored, &c)
	}
	return s.Tokens.CreateTokens(ctx, stored...)
}

// wallClockTokens ignores the caller's now.
type wallClockTokens struct{ *memory.Tokens }

func (s wallClockTokens) Token(ctx context.Context, id string, _ time.Time) (*oauthkit.Token, error) {
	return s.Tokens.Token(ctx, id, time.Now())
}

// sharingTokens hands every caller the same copy of a token.
type sharingTokens struct {
	*memory.Tokens
	mu   sync.Mutex
	seen map[string]*oauthkit.Token
}

func (s *sharingTokens) Token(ctx context.Context, id string, now time.Time) (*oauthkit.Token, error) {
	tok, err := s.Tokens.Token(ctx, id, now)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = make(map[string]*oauthkit.Token)
	}
	if prev, ok := s.seen[id]; ok {
		return prev, nil
	}
	s.seen[id] = tok
	return tok, nil
}

// graceless ignores the grace period.
type graceless struct{ *memory.Tokens }

func (s graceless) RotateRefreshToken(ctx context.Context, id string, now time.Time, _ time.Duration, next ...*oauthkit.Token) error {
	return s.Tokens.RotateRefreshToken(ctx, id, now, 0, next...)
}

// lenientTokens detects reuse but revokes nothing.
type lenientTokens struct{ *memory.Tokens }

func (s lenientTokens) RotateRefreshToken(ctx context.Context, id string, now time.Time, grace time.Duration, next ...*oauthkit.Token) error {
	if tok, err := s.Tokens.Token(ctx, id, now); err == nil && !tok.RotatedAt.IsZero() && (grace == 0 || now.Sub(tok.RotatedAt) > grace) {
		return fmt.Errorf("refresh token: %w", oauthkit.ErrReused)
	}
	return s.Tokens.RotateRefreshToken(ctx, id, now, grace, next...)
}
