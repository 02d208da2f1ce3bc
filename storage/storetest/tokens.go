package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// Lifetimes of the kit's tokens.
const (
	accessLifetime  = time.Hour
	refreshLifetime = 24 * time.Hour
)

// grace is the refresh token grace period of the rotation checks that
// use one.
const grace = time.Minute

// TestTokenStore tests an [oauthkit.TokenStore] implementation. newStore
// must return a store that holds none of the kit's tokens. TestTokenStore
// checks that every field of a token round-trips; that unknown, expired and
// revoked tokens are errors wrapping [oauthkit.ErrNotFound]; that
// CreateTokens stores all of its tokens or, if one ID is taken, none and
// returns an error wrapping [oauthkit.ErrExists]; every rule of
// RotateRefreshToken, including reuse detection, which must revoke the whole
// grant, and the grace period, where a grace of zero allows no retry (a
// rotation whose new tokens have a taken ID must, like CreateTokens, return
// an error wrapping ErrExists and change nothing), which accepts the
// previous token once more at most: a second retry, or the successor a retry
// replaced, is reuse;
// RevokeToken and RevokeGrant; that the store neither keeps the caller's
// tokens nor hands out its own; and that concurrent calls are atomic: of 100
// rotations of one refresh token exactly one succeeds.
func TestTokenStore(t *testing.T, newStore func(t *testing.T) oauthkit.TokenStore) {
	t.Run("RoundTrip", func(t *testing.T) { testTokenRoundTrip(t, newStore) })
	t.Run("NotFound", func(t *testing.T) { testTokenNotFound(t, newStore) })
	t.Run("Expiry", func(t *testing.T) { testTokenExpiry(t, newStore) })
	t.Run("Duplicate", func(t *testing.T) { testTokenDuplicate(t, newStore) })
	t.Run("BatchAllOrNone", func(t *testing.T) { testTokenBatch(t, newStore) })
	t.Run("Copies", func(t *testing.T) { testTokenCopies(t, newStore) })
	t.Run("RevokeToken", func(t *testing.T) { testRevokeToken(t, newStore) })
	t.Run("RevokeGrant", func(t *testing.T) { testRevokeGrant(t, newStore) })
	t.Run("RevokedGrantRefusesTokens", func(t *testing.T) { testRevokedGrantRefusesTokens(t, newStore) })
	t.Run("Rotate", func(t *testing.T) { testRotate(t, newStore) })
	t.Run("RotateNotFound", func(t *testing.T) { testRotateNotFound(t, newStore) })
	t.Run("RotateTakenID", func(t *testing.T) { testRotateTakenID(t, newStore) })
	t.Run("Reuse", func(t *testing.T) { testReuse(t, newStore) })
	t.Run("RetryWithinGrace", func(t *testing.T) { testRetry(t, newStore) })
	t.Run("RetryOnlyOnce", func(t *testing.T) { testRetryOnce(t, newStore) })
	t.Run("RetryAfterSuccessorRotated", func(t *testing.T) { testRetryAfterSuccessorRotated(t, newStore) })
	t.Run("RetryAfterSuccessorExpired", func(t *testing.T) { testRetryAfterSuccessorExpired(t, newStore) })
	t.Run("ReuseTakenID", func(t *testing.T) { testReuseTakenID(t, newStore) })
	t.Run("ConcurrentRotate", func(t *testing.T) { testConcurrentRotate(t, newStore) })
	t.Run("ConcurrentRetry", func(t *testing.T) { testConcurrentRetry(t, newStore) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, newStore) })
	t.Run("ConcurrentCreateSameID", func(t *testing.T) { testConcurrentCreateSameID(t, newStore) })
}

type newTokenStore = func(t *testing.T) oauthkit.TokenStore

func testTokenRoundTrip(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	cases := []struct {
		name   string
		tokens func() []*oauthkit.Token
	}{
		{"AccessToken", func() []*oauthkit.Token { return e.tokens("a", "g") }},
		{"RefreshToken", func() []*oauthkit.Token { return e.tokens("r", "g") }},
		{"AccessAndRefresh", func() []*oauthkit.Token { return e.tokens("a r", "g") }},
		{"NoOptionalFields", func() []*oauthkit.Token { return []*oauthkit.Token{e.bareToken("a", "g")} }},
		{"EmptySlices", func() []*oauthkit.Token {
			tok := e.bareToken("a", "g")
			tok.Scope, tok.Audience = []string{}, []string{}
			return []*oauthkit.Token{tok}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, tc.tokens()...))
			for _, want := range tc.tokens() {
				e.wantToken(t, s, want, e.now, "")
			}
		})
	}
}

func testTokenNotFound(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	stored := e.token("a", "g")
	cases := append(lookalikes(stored.ID), struct{ name, id string }{"Unknown", e.id("token/unknown")})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.token("a", "g")))
			_, err := s.Token(e.ctx, tc.id, e.now)
			wantErr(t, "Token("+format(tc.id)+")", err, oauthkit.ErrNotFound)
			e.wantToken(t, s, stored, e.now, "after looking up a lookalike")
		})
	}
}

func testTokenExpiry(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	cases := []struct {
		name   string
		offset time.Duration // from ExpiresAt
		found  bool
	}{
		{"JustBefore", -time.Microsecond, true},
		{"AtExpiresAt", 0, false},
		{"Later", time.Hour, false},
	}
	for _, kind := range []string{"a", "r"} {
		for _, tc := range cases {
			t.Run(e.token(kind, "g").Kind.String()+"/"+tc.name, func(t *testing.T) {
				s := newStore(t)
				tok := e.token(kind, "g")
				must(t, "CreateTokens", s.CreateTokens(e.ctx, tok))
				at := tok.ExpiresAt.Add(tc.offset)
				if tc.found {
					e.wantToken(t, s, e.token(kind, "g"), at, "at "+offset("ExpiresAt", tc.offset))
				} else {
					e.wantGone(t, s, tok.ID, at, "at "+offset("ExpiresAt", tc.offset))
				}
			})
		}
	}
}

func testTokenDuplicate(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	s := newStore(t)
	must(t, "CreateTokens", s.CreateTokens(e.ctx, e.token("a", "g")))
	dup := e.bareToken("a", "other")
	dup.Subject = "mallory"
	wantErr(t, "CreateTokens with a stored ID", s.CreateTokens(e.ctx, dup), oauthkit.ErrExists)
	e.wantToken(t, s, e.token("a", "g"), e.now, "after a refused duplicate")
}

func testTokenBatch(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	cases := []struct {
		name   string
		stored []*oauthkit.Token // before the batch
		batch  []*oauthkit.Token
	}{
		{"FirstTaken", e.tokens("x", "old"), []*oauthkit.Token{e.token("x", "g"), e.token("a", "g"), e.token("r", "g")}},
		{"LastTaken", e.tokens("x", "old"), []*oauthkit.Token{e.token("a", "g"), e.token("r", "g"), e.token("x", "g")}},
		{"RepeatedInBatch", nil, []*oauthkit.Token{e.token("a", "g"), e.token("r", "g"), e.bareToken("a", "g")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if tc.stored != nil {
				must(t, "CreateTokens", s.CreateTokens(e.ctx, tc.stored...))
			}
			wantErr(t, "CreateTokens", s.CreateTokens(e.ctx, tc.batch...), oauthkit.ErrExists)
			for _, name := range []string{"a", "r"} {
				e.wantGone(t, s, e.id("token/"+name), e.now, "after CreateTokens failed: the batch must be stored all or none")
			}
			if tc.stored != nil {
				e.wantToken(t, s, e.token("x", "old"), e.now, "after a batch with its ID was refused")
			}
		})
	}
}

func testTokenCopies(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	s := newStore(t)
	tok := e.token("a", "g")
	must(t, "CreateTokens", s.CreateTokens(e.ctx, tok))
	tok.Scope[0], tok.Audience[0], tok.Subject = "admin", "https://evil.example", "mallory"
	got := e.wantToken(t, s, e.token("a", "g"), e.now, "after the caller changed the token it stored")
	if got == nil || len(got.Scope) == 0 || len(got.Audience) == 0 {
		return // reported by wantToken
	}
	got.Scope[0], got.Audience[0], got.Subject = "admin", "https://evil.example", "mallory"
	e.wantToken(t, s, e.token("a", "g"), e.now, "after the caller changed a returned token")
}

func testRevokeToken(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	cases := []struct {
		name   string
		revoke []string // token names, or unknown ones
		gone   []string
	}{
		{"AccessToken", []string{"a1"}, []string{"a1"}},
		{"RefreshToken", []string{"r1"}, []string{"r1"}},
		{"Twice", []string{"a1", "a1"}, []string{"a1"}},
		{"Unknown", []string{"unknown"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("x", "h")...))
			for _, name := range tc.revoke {
				wantOK(t, "RevokeToken("+name+")", s.RevokeToken(e.ctx, e.id("token/"+name)))
			}
			for _, tok := range append(e.tokens("a1 r1", "g"), e.tokens("x", "h")...) {
				if e.isAny(tok.ID, tc.gone) {
					e.wantGone(t, s, tok.ID, e.now, "after RevokeToken")
				} else {
					e.wantToken(t, s, tok, e.now, "after RevokeToken of another token")
				}
			}
		})
	}
}

func testRevokeGrant(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	t1 := e.now.Add(time.Minute)
	r1 := e.token("r1", "g")
	cases := []struct {
		name   string
		grants []string
		gone   bool // whether grant g's tokens are gone
	}{
		{"Once", []string{"g"}, true},
		{"Twice", []string{"g", "g"}, true},
		{"Unknown", []string{"unknown"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("x", "h")...))
			must(t, "RotateRefreshToken", s.RotateRefreshToken(e.ctx, r1.ID, t1, 0, e.exchange(r1, "2", t1)...))
			for _, g := range tc.grants {
				wantOK(t, "RevokeGrant("+g+")", s.RevokeGrant(e.ctx, e.id("grant/"+g)))
			}
			for _, tok := range append(e.tokens("a1", "g"), e.exchange(r1, "2", t1)...) {
				if tc.gone {
					e.wantGone(t, s, tok.ID, t1, "after RevokeGrant of its grant")
				} else {
					e.wantToken(t, s, tok, t1, "after RevokeGrant of an unknown grant")
				}
			}
			if tc.gone {
				e.wantGone(t, s, r1.ID, t1, "after RevokeGrant of its grant")
			}
			e.wantToken(t, s, e.token("x", "h"), t1, "after RevokeGrant of another grant")
		})
	}
}

// testRevokedGrantRefusesTokens: after RevokeGrant, tokens of that grant
// cannot be stored, even when the grant had none yet (a code replayed
// while its first redemption is still storing its tokens).
func testRevokedGrantRefusesTokens(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	cases := []struct {
		name   string
		before string // tokens of grant g stored before the revocation
	}{
		{"GrantWithTokens", "a1 r1"},
		{"GrantWithoutTokens", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if tc.before != "" {
				must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens(tc.before, "g")...))
			}
			must(t, "RevokeGrant(g)", s.RevokeGrant(e.ctx, e.id("grant/g")))
			late := append(e.tokens("a2", "h"), e.tokens("r2", "g")...)
			wantErr(t, "CreateTokens of a batch holding a token of the revoked grant", s.CreateTokens(e.ctx, late...), oauthkit.ErrReused)
			for _, tok := range late {
				e.wantGone(t, s, tok.ID, e.now, "after CreateTokens refused its batch")
			}
			must(t, "CreateTokens of another grant", s.CreateTokens(e.ctx, e.tokens("a3", "h")...))
			e.wantToken(t, s, e.token("a3", "h"), e.now, "stored in another grant")
		})
	}
}

func testRotate(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	for _, g := range []time.Duration{0, grace} {
		t.Run("Grace="+g.String(), func(t *testing.T) {
			s := newStore(t)
			r1 := e.token("r1", "g")
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			t1 := e.now.Add(time.Minute)
			if !wantOK(t, "RotateRefreshToken", s.RotateRefreshToken(e.ctx, r1.ID, t1, g, e.exchange(r1, "2", t1)...)) {
				return
			}
			rotated := e.token("r1", "g")
			rotated.RotatedAt = t1
			if got := e.wantToken(t, s, rotated, t1, "after its rotation"); got != nil && got.Active(t1) {
				t.Errorf("Token(r1) after its rotation is active, want RotatedAt set")
			}
			for _, tok := range e.exchange(r1, "2", t1) {
				e.wantToken(t, s, tok, t1, "stored by RotateRefreshToken")
			}
			// The new refresh token rotates in turn.
			r2, t2 := e.exchange(r1, "2", t1)[1], t1.Add(time.Minute)
			wantOK(t, "RotateRefreshToken(r2)", s.RotateRefreshToken(e.ctx, r2.ID, t2, g, e.exchange(r2, "3", t2)...))
			for _, tok := range e.exchange(r2, "3", t2) {
				e.wantToken(t, s, tok, t2, "stored by RotateRefreshToken")
			}
		})
	}
}

func testRotateNotFound(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	t1 := e.now.Add(time.Minute)
	r1 := e.token("r1", "g")
	cases := []struct {
		name  string
		id    string
		at    time.Time
		setup func(s oauthkit.TokenStore) error
		kept  *oauthkit.Token // still stored, unchanged, if not nil
	}{
		{name: "Unknown", id: e.id("token/unknown"), at: t1},
		{name: "Lookalike", id: swapCase(r1.ID), at: t1, kept: r1},
		{name: "Expired", id: r1.ID, at: r1.ExpiresAt, kept: r1},
		{name: "Revoked", id: r1.ID, at: t1, setup: func(s oauthkit.TokenStore) error {
			return s.RevokeToken(e.ctx, r1.ID)
		}},
		{name: "GrantRevoked", id: r1.ID, at: t1, setup: func(s oauthkit.TokenStore) error {
			return s.RevokeGrant(e.ctx, r1.GrantID)
		}},
		{name: "AccessToken", id: e.id("token/a1"), at: t1, kept: e.token("a1", "g")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			if tc.setup != nil {
				must(t, "setup", tc.setup(s))
			}
			parent := &oauthkit.Token{ID: tc.id, GrantID: r1.GrantID}
			err := s.RotateRefreshToken(e.ctx, tc.id, tc.at, grace, e.exchange(parent, "2", tc.at)...)
			wantErr(t, "RotateRefreshToken", err, oauthkit.ErrNotFound)
			for _, tok := range e.exchange(parent, "2", tc.at) {
				e.wantGone(t, s, tok.ID, e.now, "after RotateRefreshToken failed")
			}
			if tc.kept != nil {
				e.wantToken(t, s, tc.kept, e.now, "after RotateRefreshToken of it failed")
			}
		})
	}
}

func testRotateTakenID(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	t1 := e.now.Add(time.Minute)
	r1 := e.token("r1", "g")
	cases := []struct {
		name  string
		retry bool // rotate once before, and retry within grace
		taken int  // index in the exchange of the token whose ID is taken
	}{
		{"Access", false, 0},
		{"Refresh", false, 1},
		{"RetryAccess", true, 0},
		{"RetryRefresh", true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("x", "h")...))
			want := e.token("r1", "g")
			if tc.retry {
				must(t, "RotateRefreshToken", s.RotateRefreshToken(e.ctx, r1.ID, t1, grace, e.exchange(r1, "2", t1)...))
				want.RotatedAt = t1
			}
			t2 := t1.Add(time.Second)
			next := e.exchange(r1, "3", t2)
			next[tc.taken].ID = e.id("token/x")
			err := s.RotateRefreshToken(e.ctx, r1.ID, t2, grace, next...)
			wantErr(t, "RotateRefreshToken with a taken ID", err, oauthkit.ErrExists)

			e.wantGone(t, s, e.exchange(r1, "3", t2)[1-tc.taken].ID, t2, "after RotateRefreshToken failed")
			e.wantToken(t, s, e.token("x", "h"), t2, "after RotateRefreshToken with its ID failed")
			e.wantToken(t, s, want, t2, "after RotateRefreshToken of it failed")
			if tc.retry {
				for _, tok := range e.exchange(r1, "2", t1) {
					e.wantToken(t, s, tok, t2, "after a retry of its parent's rotation failed")
				}
			}
			// Nothing was changed: the same rotation with free IDs succeeds.
			wantOK(t, "RotateRefreshToken after a failed one", s.RotateRefreshToken(e.ctx, r1.ID, t2, grace, e.exchange(r1, "3", t2)...))
		})
	}
}

func testReuse(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	t1 := e.now.Add(time.Minute)
	r1 := e.token("r1", "g")
	cases := []struct {
		name  string
		grace time.Duration
		at    time.Time // of the second rotation
	}{
		{"NoGrace", 0, t1.Add(time.Second)},
		{"NoGraceSameInstant", 0, t1},
		{"AfterGrace", grace, t1.Add(grace + time.Microsecond)},
		{"LongAfter", grace, t1.Add(2 * time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("x", "h")...))
			must(t, "RotateRefreshToken", s.RotateRefreshToken(e.ctx, r1.ID, t1, tc.grace, e.exchange(r1, "2", t1)...))
			err := s.RotateRefreshToken(e.ctx, r1.ID, tc.at, tc.grace, e.exchange(r1, "3", tc.at)...)
			wantErr(t, "second RotateRefreshToken at "+offset("RotatedAt", tc.at.Sub(t1)), err, oauthkit.ErrReused)

			why := "after reuse of r1: every token of the grant must be revoked (RFC 9700 §4.14.2)"
			for _, tok := range append(e.tokens("a1 r1", "g"), e.exchange(r1, "2", t1)...) {
				e.wantGone(t, s, tok.ID, t1, why)
			}
			for _, tok := range e.exchange(r1, "3", tc.at) {
				e.wantGone(t, s, tok.ID, t1, "after RotateRefreshToken returned ErrReused")
			}
			e.wantToken(t, s, e.token("x", "h"), t1, "after reuse in another grant")
			// The family is dead: its tokens cannot be rotated either.
			r2 := e.exchange(r1, "2", t1)[1]
			err = s.RotateRefreshToken(e.ctx, r2.ID, tc.at, tc.grace, e.exchange(r2, "4", tc.at)...)
			wantErr(t, "RotateRefreshToken(r2) of a revoked grant", err, oauthkit.ErrNotFound)
		})
	}
}

func testRetry(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	t1 := e.now.Add(time.Minute)
	r1 := e.token("r1", "g")
	cases := []struct {
		name  string
		retry time.Time // of r1, after its rotation at t1
	}{
		{"Immediately", t1.Add(time.Second)},
		{"SameInstant", t1},
		{"AtGraceEnd", t1.Add(grace)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			must(t, "RotateRefreshToken", s.RotateRefreshToken(e.ctx, r1.ID, t1, grace, e.exchange(r1, "2", t1)...))
			at := tc.retry
			call := "RotateRefreshToken retry at " + offset("RotatedAt", at.Sub(t1))
			if !wantOK(t, call, s.RotateRefreshToken(e.ctx, r1.ID, at, grace, e.exchange(r1, "3", at)...)) {
				return
			}
			// The retry replaces what the first rotation stored: its access
			// token is gone, its refresh token no longer active.
			replaced := e.exchange(r1, "2", t1)
			e.wantGone(t, s, replaced[0].ID, at, "after a retry of its parent's rotation")
			e.wantInactive(t, s, replaced[1].ID, at, "after a retry of its parent's rotation")
			for _, tok := range e.exchange(r1, "3", at) {
				e.wantToken(t, s, tok, at, "stored by a retry")
			}
			// A retry is no reuse: the rest of the grant is intact.
			e.wantToken(t, s, e.token("a1", "g"), at, "after a retry of a later rotation")
			if got, err := s.Token(e.ctx, r1.ID, at); err != nil || got == nil || got.RotatedAt.IsZero() {
				t.Errorf("Token(r1) after a retry of its rotation: error = %v, want r1 found with RotatedAt set", err)
			}
			// The latest refresh token rotates as usual.
			r, t2 := e.exchange(r1, "3", at)[1], at.Add(time.Minute)
			wantOK(t, "RotateRefreshToken of the retry's refresh token", s.RotateRefreshToken(e.ctx, r.ID, t2, grace, e.exchange(r, "9", t2)...))
		})
	}
}

// testRetryOnce: within the grace period the previous refresh token is
// accepted once more, never twice, and the successor a retry replaced is
// never valid again: either is reuse and revokes the grant
// (RFC 9700 §4.14.2), so that a thief replaying a stolen token cannot keep
// the grant by deleting the legitimate client's successors.
func testRetryOnce(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	t1 := e.now.Add(time.Minute)
	t2 := t1.Add(time.Second)
	t3 := t1.Add(2 * time.Second) // all within grace
	r1 := e.token("r1", "g")
	cases := []struct {
		name    string
		present func(s oauthkit.TokenStore) error // at t3, after the retry at t2
	}{
		{"SecondRetry", func(s oauthkit.TokenStore) error {
			return s.RotateRefreshToken(e.ctx, r1.ID, t3, grace, e.exchange(r1, "4", t3)...)
		}},
		{"ReplacedSuccessor", func(s oauthkit.TokenStore) error {
			r2 := e.exchange(r1, "2", t1)[1]
			return s.RotateRefreshToken(e.ctx, r2.ID, t3, grace, e.exchange(r2, "4", t3)...)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("x", "h")...))
			must(t, "RotateRefreshToken(r1)", s.RotateRefreshToken(e.ctx, r1.ID, t1, grace, e.exchange(r1, "2", t1)...))
			must(t, "RotateRefreshToken(r1) retry", s.RotateRefreshToken(e.ctx, r1.ID, t2, grace, e.exchange(r1, "3", t2)...))
			wantErr(t, tc.name, tc.present(s), oauthkit.ErrReused)
			issued := slices.Concat(e.tokens("a1 r1", "g"), e.exchange(r1, "2", t1), e.exchange(r1, "3", t2), e.exchange(r1, "4", t3))
			for _, tok := range issued {
				e.wantGone(t, s, tok.ID, t3, "after reuse: every token of the grant must be revoked")
			}
			e.wantToken(t, s, e.token("x", "h"), t3, "after reuse in another grant")
		})
	}
}

func testRetryAfterSuccessorRotated(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	t1 := e.now.Add(time.Minute)
	r1 := e.token("r1", "g")
	cases := []struct {
		name  string
		retry bool // retry r1 once before its successor is rotated
	}{
		{"Successor", false},
		{"RetriedSuccessor", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("x", "h")...))
			must(t, "RotateRefreshToken(r1)", s.RotateRefreshToken(e.ctx, r1.ID, t1, grace, e.exchange(r1, "2", t1)...))
			issued := append(e.tokens("a1 r1", "g"), e.exchange(r1, "2", t1)...)
			successor := issued[3]
			if tc.retry {
				t2 := t1.Add(time.Second)
				must(t, "RotateRefreshToken(r1) retry", s.RotateRefreshToken(e.ctx, r1.ID, t2, grace, e.exchange(r1, "3", t2)...))
				issued = append(issued, e.exchange(r1, "3", t2)...)
				successor = issued[5]
			}
			t3 := t1.Add(2 * time.Second)
			must(t, "RotateRefreshToken(successor)", s.RotateRefreshToken(e.ctx, successor.ID, t3, grace, e.exchange(successor, "4", t3)...))
			issued = append(issued, e.exchange(successor, "4", t3)...)

			t4 := t1.Add(3 * time.Second)
			err := s.RotateRefreshToken(e.ctx, r1.ID, t4, grace, e.exchange(r1, "5", t4)...)
			wantErr(t, "RotateRefreshToken(r1) within grace after its successor was rotated", err, oauthkit.ErrReused)
			for _, tok := range append(issued, e.exchange(r1, "5", t4)...) {
				e.wantGone(t, s, tok.ID, t4, "after reuse of r1: every token of the grant must be revoked")
			}
			e.wantToken(t, s, e.token("x", "h"), t4, "after reuse in another grant")
		})
	}
}

// testRetryAfterSuccessorExpired: a retry within grace whose successor has
// expired is a reuse, since the successor is no longer stored.
func testRetryAfterSuccessorExpired(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	s := newStore(t)
	t1 := e.now.Add(time.Minute)
	r1 := e.token("r1", "g")
	must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
	next := e.exchange(r1, "2", t1)
	for _, tok := range next {
		tok.ExpiresAt = t1.Add(time.Second)
	}
	must(t, "RotateRefreshToken(r1)", s.RotateRefreshToken(e.ctx, r1.ID, t1, grace, next...))
	t2 := t1.Add(2 * time.Second) // within grace, after the successor expired
	err := s.RotateRefreshToken(e.ctx, r1.ID, t2, grace, e.exchange(r1, "3", t2)...)
	wantErr(t, "RotateRefreshToken(r1) within grace after its successor expired", err, oauthkit.ErrReused)
	for _, tok := range append(e.tokens("a1 r1", "g"), e.exchange(r1, "3", t2)...) {
		e.wantGone(t, s, tok.ID, t2, "after reuse of r1")
	}
}

// testReuseTakenID: a reuse whose new tokens have a taken ID fails with
// ErrExists and changes nothing: the grant is not revoked.
func testReuseTakenID(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	s := newStore(t)
	t1 := e.now.Add(time.Minute)
	r1 := e.token("r1", "g")
	must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
	must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("x", "h")...))
	must(t, "RotateRefreshToken(r1)", s.RotateRefreshToken(e.ctx, r1.ID, t1, 0, e.exchange(r1, "2", t1)...))
	t2 := t1.Add(time.Second)
	next := e.exchange(r1, "3", t2)
	next[0].ID = e.id("token/x")
	wantErr(t, "RotateRefreshToken(r1) again, with a taken ID", s.RotateRefreshToken(e.ctx, r1.ID, t2, 0, next...), oauthkit.ErrExists)
	for _, tok := range e.exchange(r1, "2", t1) {
		e.wantToken(t, s, tok, t2, "after a reuse with a taken ID failed")
	}
	e.wantToken(t, s, e.token("x", "h"), t2, "after RotateRefreshToken with its ID failed")
}

func testConcurrentRotate(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	s := newStore(t)
	r1 := e.token("r1", "g")
	must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
	t1 := e.now.Add(time.Minute)
	errs := race(goroutines, func(i int) error {
		return s.RotateRefreshToken(e.ctx, r1.ID, t1, 0, e.exchange(r1, fmt.Sprint("-", i), t1)...)
	})
	// One rotation wins; the first loser finds r1 rotated, which is reuse,
	// and revokes the grant; later losers find r1 revoked.
	n := tally(errs)
	if n["nil"] != 1 || n["ErrReused"] < 1 || n["nil"]+n["ErrReused"]+n["ErrNotFound"] != goroutines {
		t.Errorf("%d concurrent RotateRefreshToken of one token: results %v, want exactly 1 nil, at least 1 ErrReused, the rest ErrReused or ErrNotFound (first other error: %v)",
			goroutines, n, firstOther(errs, oauthkit.ErrReused, oauthkit.ErrNotFound))
	}
	for i := range goroutines {
		for _, tok := range e.exchange(r1, fmt.Sprint("-", i), t1) {
			e.wantGone(t, s, tok.ID, t1, "after concurrent rotations of its parent, one of them reuse")
		}
	}
	e.wantGone(t, s, r1.ID, t1, "after reuse")
}

func testConcurrentRetry(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	s := newStore(t)
	r1 := e.token("r1", "g")
	must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
	t1 := e.now.Add(time.Minute)
	errs := race(goroutines, func(i int) error {
		return s.RotateRefreshToken(e.ctx, r1.ID, t1, grace, e.exchange(r1, fmt.Sprint("-", i), t1)...)
	})
	// In any order, the first is a rotation, the second a retry within
	// grace, and the third reuse, which revokes the grant; later ones find
	// the grant revoked.
	n := tally(errs)
	if n["nil"] != 2 || n["ErrReused"] < 1 || n["nil"]+n["ErrReused"]+n["ErrNotFound"] != goroutines {
		t.Errorf("%d concurrent RotateRefreshToken of one token within grace: results %v, want exactly 2 nil, at least 1 ErrReused, the rest ErrReused or ErrNotFound (first other error: %v)",
			goroutines, n, firstOther(errs, oauthkit.ErrReused, oauthkit.ErrNotFound))
	}
	for i := range goroutines {
		for _, tok := range e.exchange(r1, fmt.Sprint("-", i), t1) {
			e.wantGone(t, s, tok.ID, t1, "after concurrent retries of its parent, one of them reuse")
		}
	}
	e.wantGone(t, s, r1.ID, t1, "after reuse")
}

func testConcurrentCreate(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	s := newStore(t)
	errs := race(goroutines, func(i int) error {
		return s.CreateTokens(e.ctx, e.tokens(fmt.Sprintf("a%d r%d", i, i), fmt.Sprint(i))...)
	})
	if n := tally(errs); n["nil"] != goroutines {
		t.Errorf("%d concurrent CreateTokens of distinct tokens: results %v, want all nil (first error: %v)",
			goroutines, n, firstOther(errs))
	}
	for i := range goroutines {
		for _, tok := range e.tokens(fmt.Sprintf("a%d r%d", i, i), fmt.Sprint(i)) {
			e.wantToken(t, s, tok, e.now, "after concurrent CreateTokens")
		}
	}
}

func testConcurrentCreateSameID(t *testing.T, newStore newTokenStore) {
	e := newEnv(t)
	s := newStore(t)
	errs := race(goroutines, func(i int) error {
		return s.CreateTokens(e.ctx, e.token(fmt.Sprint("a", i), "g"), e.token("r", "g"))
	})
	n := tally(errs)
	if n["nil"] != 1 || n["ErrExists"] != goroutines-1 {
		t.Errorf("%d concurrent CreateTokens sharing one ID: results %v, want exactly 1 nil and %d ErrExists (first other error: %v)",
			goroutines, n, goroutines-1, firstOther(errs, oauthkit.ErrExists))
	}
	for i, err := range errs {
		if err == nil {
			e.wantToken(t, s, e.token(fmt.Sprint("a", i), "g"), e.now, "stored by the CreateTokens that won")
		} else {
			e.wantGone(t, s, e.id(fmt.Sprint("token/a", i)), e.now, "after its CreateTokens failed")
		}
	}
}

// token returns a token with every field set but ParentID and RotatedAt,
// issued at e.now. Its kind is that of the first letter of name: "a" for an
// access token, "r" for a refresh token.
func (e *env) token(name, grant string) *oauthkit.Token {
	kind, life := oauthkit.AccessToken, accessLifetime
	if strings.HasPrefix(name, "r") {
		kind, life = oauthkit.RefreshToken, refreshLifetime
	}
	return &oauthkit.Token{
		ID:       e.id("token/" + name),
		Kind:     kind,
		GrantID:  e.id("grant/" + grant),
		ClientID: e.tag + "-web",
		Subject:  "248289761001-ü",
		// Set so that every field round-trips; the library sets it only
		// for tokens without a resource owner.
		SubjectIsClient: true,
		Scope:           []string{"openid", "write", "read"},
		Audience:        []string{"https://api.example.com", "https://files.example.com"},
		IssuedAt:        e.now,
		ExpiresAt:       e.now.Add(life),
		AuthTime:        e.now.Add(-2 * time.Minute),
		ACR:             "urn:example:acr:mfa",
		Actor:           &oauthkit.Actor{Subject: "svc-ü", Actor: &oauthkit.Actor{Subject: "gateway"}},
		JKT:             "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
	}
}

// tokens returns e.token for each space-separated name.
func (e *env) tokens(names, grant string) []*oauthkit.Token {
	var toks []*oauthkit.Token
	for name := range strings.FieldsSeq(names) {
		toks = append(toks, e.token(name, grant))
	}
	return toks
}

// bareToken returns a token with only the fields the library always sets.
func (e *env) bareToken(name, grant string) *oauthkit.Token {
	t := e.token(name, grant)
	return &oauthkit.Token{
		ID:        t.ID,
		Kind:      t.Kind,
		GrantID:   t.GrantID,
		ClientID:  e.tag + "-public",
		Subject:   "alice",
		IssuedAt:  t.IssuedAt,
		ExpiresAt: t.ExpiresAt,
	}
}

// exchange returns the access and refresh tokens issued at at in exchange
// for parent, as the library makes them: named "a"+name and "r"+name, in
// the parent's grant.
func (e *env) exchange(parent *oauthkit.Token, name string, at time.Time) []*oauthkit.Token {
	toks := e.tokens("a"+name+" r"+name, "")
	for _, t := range toks {
		t.GrantID, t.ParentID = parent.GrantID, parent.ID
		t.ExpiresAt = at.Add(t.ExpiresAt.Sub(t.IssuedAt))
		t.IssuedAt = at
	}
	return toks
}

// isAny reports whether id is that of one of the named tokens.
func (e *env) isAny(id string, names []string) bool {
	for _, name := range names {
		if e.id("token/"+name) == id {
			return true
		}
	}
	return false
}

// wantToken checks that s holds want at at, and returns what Token
// returned.
func (e *env) wantToken(t *testing.T, s oauthkit.TokenStore, want *oauthkit.Token, at time.Time, why string) *oauthkit.Token {
	t.Helper()
	call := "Token(" + e.name(want.ID) + ")"
	if why != "" {
		call += " " + why
	}
	got, err := s.Token(e.ctx, want.ID, at)
	if !wantOK(t, call, err) {
		return nil
	}
	wantEqual(t, call, got, want)
	return got
}

// wantInactive checks that the token id is not active at at: gone (an
// error wrapping ErrNotFound) or found with RotatedAt set.
func (e *env) wantInactive(t *testing.T, s oauthkit.TokenStore, id string, at time.Time, why string) {
	t.Helper()
	got, err := s.Token(e.ctx, id, at)
	if !errors.Is(err, oauthkit.ErrNotFound) && (err != nil || got.RotatedAt.IsZero()) {
		t.Errorf("Token(%s) %s: error = %v, want an error wrapping oauthkit.ErrNotFound, or the token with RotatedAt set", e.name(id), why, err)
	}
}

// wantGone checks that Token(id) at at is an error wrapping ErrNotFound.
func (e *env) wantGone(t *testing.T, s oauthkit.TokenStore, id string, at time.Time, why string) {
	t.Helper()
	_, err := s.Token(e.ctx, id, at)
	if !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("Token(%s) %s: error = %v, want an error wrapping oauthkit.ErrNotFound", e.name(id), why, err)
	}
}
