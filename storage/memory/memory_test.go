package memory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

func TestClients(t *testing.T) {
	storetest.TestClientStore(t, func(t *testing.T, clients ...*oauthkit.Client) oauthkit.ClientStore {
		return NewClients(clients...)
	})
}

func TestClientRegistry(t *testing.T) {
	storetest.TestClientRegistry(t, func(t *testing.T) oauthkit.ClientRegistry { return NewClients() })
}

func TestCodes(t *testing.T) {
	storetest.TestCodeStore(t, func(t *testing.T) oauthkit.CodeStore { return NewCodes() })
}

func TestStore(t *testing.T) {
	storetest.TestCodeRedeemer(t, func(t *testing.T) storetest.RedeemingStore {
		s := NewStore()
		t.Cleanup(func() {
			if err := s.Tokens.checkIndexes(); err != nil {
				t.Errorf("indexes after the subtest: %v", err)
			}
		})
		return s
	})
}

func TestSubjectRevoker(t *testing.T) {
	storetest.TestSubjectRevoker(t, func(t *testing.T) storetest.SubjectRevokingStore {
		s := NewStore()
		t.Cleanup(func() {
			if err := s.Tokens.checkIndexes(); err != nil {
				t.Errorf("indexes after the subtest: %v", err)
			}
		})
		return s
	})
}

// TestCodesReclaimedWithinALifetime runs a server's traffic through the code
// store by a fake clock, 10 codes a second with a one-minute lifetime, some
// never redeemed, and checks that expired codes are dropped about one
// lifetime after they expire, not the ten of oauthkit.MaxCodeLifetime.
func TestCodesReclaimedWithinALifetime(t *testing.T) {
	ctx := t.Context()
	s := NewCodes()
	const (
		perSecond = 10
		lifetime  = time.Minute
	)
	now := base
	oldest := time.Duration(0)           // the most a stored code had expired by
	for i := range 30 * 60 * perSecond { // half an hour of traffic
		now = now.Add(time.Second / perSecond)
		id := fmt.Sprint("code-", i)
		if err := s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: id, ClientID: "web", ExpiresAt: now.Add(lifetime)}); err != nil {
			t.Fatal(err)
		}
		if i%10 != 0 { // one in ten is never redeemed
			if _, err := s.ConsumeCode(ctx, id, "web", now.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if i%100 == 0 {
			for _, e := range s.codes {
				oldest = max(oldest, now.Sub(e.code.ExpiresAt))
			}
		}
	}
	if limit := lifetime + lifetime/2; oldest > limit {
		t.Errorf("a code was kept %v after it expired, want at most %v (about one code lifetime)", oldest, limit)
	}
}

func TestTokens(t *testing.T) {
	storetest.TestTokenStore(t, func(t *testing.T) oauthkit.TokenStore {
		s := NewTokens()
		t.Cleanup(func() {
			if err := s.checkIndexes(); err != nil {
				t.Errorf("indexes after the subtest: %v", err)
			}
		})
		return s
	})
}

func TestClientsPut(t *testing.T) {
	ctx := t.Context()
	s := NewClients(&oauthkit.Client{ID: "web", Scopes: []string{"read"}})
	s.Put(&oauthkit.Client{ID: "web", Scopes: []string{"write"}})
	s.Put(&oauthkit.Client{ID: "cli"})
	cases := []struct {
		id        string
		wantScope []string
		wantErr   error
	}{
		{"web", []string{"write"}, nil},
		{"cli", nil, nil},
		{"other", nil, oauthkit.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			c, err := s.Client(ctx, tc.id)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Client(%q) error = %v, want %v", tc.id, err, tc.wantErr)
			}
			if err == nil && !slices.Equal(c.Scopes, tc.wantScope) {
				t.Errorf("Client(%q).Scopes = %q, want %q", tc.id, c.Scopes, tc.wantScope)
			}
		})
	}
}

// base is the clock of the tests below; the stores take the time from
// their callers.
var base = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func TestCreateCodeInvalid(t *testing.T) {
	cases := []struct {
		name string
		code *oauthkit.AuthorizationCode
	}{
		{"NoID", &oauthkit.AuthorizationCode{GrantID: "g", ExpiresAt: base}},
		{"NoExpiry", &oauthkit.AuthorizationCode{ID: "c", GrantID: "g"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewCodes()
			err := s.CreateCode(t.Context(), tc.code)
			if err == nil || errors.Is(err, oauthkit.ErrExists) {
				t.Errorf("CreateCode(%+v) error = %v, want a fault", *tc.code, err)
			}
			if n := len(s.codes); n != 0 {
				t.Errorf("CreateCode of an invalid code stored %d codes", n)
			}
		})
	}
}

func TestCreateTokensInvalid(t *testing.T) {
	valid := oauthkit.Token{ID: "t", Kind: oauthkit.AccessToken, GrantID: "g", ExpiresAt: base}
	cases := []struct {
		name   string
		change func(*oauthkit.Token)
	}{
		{"NoID", func(t *oauthkit.Token) { t.ID = "" }},
		{"NoGrant", func(t *oauthkit.Token) { t.GrantID = "" }},
		{"NoKind", func(t *oauthkit.Token) { t.Kind = 0 }},
		{"UnknownKind", func(t *oauthkit.Token) { t.Kind = 3 }},
		{"NoExpiry", func(t *oauthkit.Token) { t.ExpiresAt = time.Time{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewTokens()
			bad := valid
			tc.change(&bad)
			good := valid
			good.ID = "good"
			err := s.CreateTokens(t.Context(), &good, &bad)
			if err == nil || errors.Is(err, oauthkit.ErrExists) {
				t.Errorf("CreateTokens with %s error = %v, want a fault", tc.name, err)
			}
			if n := s.tokens.len(); n != 0 {
				t.Errorf("CreateTokens of a batch with an invalid token stored %d tokens, want none", n)
			}
		})
	}
}

func TestCodesDeleteExpired(t *testing.T) {
	cases := []struct {
		name    string
		expires time.Time
		used    bool
		kept    bool
	}{
		{"ExpiredLongAgo", base.Add(-time.Hour), false, false},
		{"ExpiresNow", base, false, false},
		{"UsedAndExpired", base.Add(-time.Second), true, false},
		{"Live", base.Add(time.Microsecond), false, true},
		{"UsedAndLive", base.Add(time.Minute), true, true}, // remembered to detect reuse
	}
	s := NewCodes()
	ctx := t.Context()
	for _, tc := range cases {
		c := &oauthkit.AuthorizationCode{ID: tc.name, GrantID: "g-" + tc.name, ExpiresAt: tc.expires}
		if err := s.CreateCode(ctx, c); err != nil {
			t.Fatal(err)
		}
		if tc.used {
			if _, err := s.ConsumeCode(ctx, tc.name, "", tc.expires.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteExpired(ctx, base); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A lookup at a time when the code was still live tells
			// whether the store forgot it.
			c, err := s.ConsumeCode(ctx, tc.name, "", tc.expires.Add(-time.Hour))
			want := "ErrNotFound"
			switch {
			case tc.kept && tc.used:
				want = "ErrReused"
			case tc.kept:
				want = "nil"
			}
			if got := errName(err); got != want {
				t.Fatalf("ConsumeCode after DeleteExpired: error = %v, want %s", err, want)
			}
			if tc.kept && c.GrantID != "g-"+tc.name {
				t.Errorf("ConsumeCode after DeleteExpired returned grant %q, want %q", c.GrantID, "g-"+tc.name)
			}
		})
	}
}

func TestTokensDeleteExpired(t *testing.T) {
	ctx := t.Context()
	s := NewTokens()
	// A family: r1 rotated into a2 and r2 at base-1h; r1 stays until it
	// expires, to detect reuse.
	r1 := &oauthkit.Token{ID: "r1", Kind: oauthkit.RefreshToken, GrantID: "g", IssuedAt: base.Add(-2 * time.Hour), ExpiresAt: base.Add(time.Hour)}
	a1 := &oauthkit.Token{ID: "a1", Kind: oauthkit.AccessToken, GrantID: "g", IssuedAt: base.Add(-2 * time.Hour), ExpiresAt: base.Add(-time.Hour)}
	old := &oauthkit.Token{ID: "old", Kind: oauthkit.RefreshToken, GrantID: "h", IssuedAt: base.Add(-2 * time.Hour), ExpiresAt: base}
	if err := s.CreateTokens(ctx, a1, r1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTokens(ctx, old); err != nil {
		t.Fatal(err)
	}
	rotatedAt := base.Add(-time.Hour)
	a2 := &oauthkit.Token{ID: "a2", Kind: oauthkit.AccessToken, GrantID: "g", ParentID: "r1", IssuedAt: rotatedAt, ExpiresAt: base.Add(-time.Minute)}
	r2 := &oauthkit.Token{ID: "r2", Kind: oauthkit.RefreshToken, GrantID: "g", ParentID: "r1", IssuedAt: rotatedAt, ExpiresAt: base.Add(24 * time.Hour)}
	if err := s.RotateRefreshToken(ctx, "r1", rotatedAt, 0, a2, r2); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteExpired(ctx, base); err != nil {
		t.Fatal(err)
	}
	if err := s.checkIndexes(); err != nil {
		t.Errorf("indexes after DeleteExpired: %v", err)
	}
	cases := []struct {
		id   string
		kept bool
	}{
		{"a1", false},
		{"a2", false},
		{"old", false}, // expires at base
		{"r1", true},   // rotated but live
		{"r2", true},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			// Look up at a time when every token was live.
			_, err := s.Token(ctx, tc.id, rotatedAt)
			if got := err == nil; got != tc.kept {
				t.Errorf("Token(%s) after DeleteExpired: error = %v, want kept %v", tc.id, err, tc.kept)
			}
		})
	}
	// The rotated token kept its purpose: its reuse revokes the family.
	err := s.RotateRefreshToken(ctx, "r1", base, 0, &oauthkit.Token{ID: "r3", Kind: oauthkit.RefreshToken, GrantID: "g", ParentID: "r1", ExpiresAt: base.Add(time.Hour)})
	if !errors.Is(err, oauthkit.ErrReused) {
		t.Errorf("RotateRefreshToken(r1) after DeleteExpired: error = %v, want ErrReused", err)
	}
	if _, err := s.Token(ctx, "r2", base); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("Token(r2) after reuse of r1: error = %v, want ErrNotFound", err)
	}
	if err := s.checkIndexes(); err != nil {
		t.Errorf("indexes after reuse: %v", err)
	}
}

func TestSweeperDue(t *testing.T) {
	cases := []struct {
		name string
		left int // entries the last sweep left
		want int // the insert that sweeps
	}{
		{"Empty", 0, minSweep},
		{"Small", minSweep / 2, minSweep},
		{"AtMinimum", minSweep, minSweep},
		{"Large", 3 * minSweep, 3 * minSweep},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sw sweeper
			sw.swept(tc.left)
			for round := range 2 { // the count starts over after a sweep
				n := 1
				for !sw.due() {
					n++
					if n > 10*tc.want {
						t.Fatalf("round %d: due() still false after %d inserts", round, n)
					}
				}
				if n != tc.want {
					t.Errorf("round %d: due() first true at insert %d, want %d", round, n, tc.want)
				}
				sw.swept(tc.left)
			}
		})
	}
}

// TestSweepBoundsSize issues entries at a steady rate, as a server does,
// and checks that the stores stay small: the sweeps drop expired entries
// again and again, not once.
func TestSweepBoundsSize(t *testing.T) {
	ctx := t.Context()
	const tokenLife = 100 * time.Second
	codes, tokens := NewCodes(), NewTokens()
	maxCodes, maxTokens := 0, 0
	for i := range 8 * minSweep { // one insert a second
		now := base.Add(time.Duration(i) * time.Second)
		// The code sweep takes ExpiresAt-MaxCodeLifetime as now: codes
		// that live MaxCodeLifetime make it exact.
		if err := codes.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: fmt.Sprint(i), ExpiresAt: now.Add(oauthkit.MaxCodeLifetime)}); err != nil {
			t.Fatal(err)
		}
		g := fmt.Sprint(i)
		if err := tokens.CreateTokens(ctx,
			&oauthkit.Token{ID: "a" + g, Kind: oauthkit.AccessToken, GrantID: g, IssuedAt: now, ExpiresAt: now.Add(tokenLife)},
			&oauthkit.Token{ID: "r" + g, Kind: oauthkit.RefreshToken, GrantID: g, IssuedAt: now, ExpiresAt: now.Add(tokenLife)},
		); err != nil {
			t.Fatal(err)
		}
		maxCodes, maxTokens = max(maxCodes, len(codes.codes)), max(maxTokens, tokens.tokens.len())
	}
	cases := []struct {
		name      string
		max       int
		live      int // entries live at any time
		perInsert int
	}{
		{"Codes", maxCodes, int(oauthkit.MaxCodeLifetime / time.Second), 1},
		{"Tokens", maxTokens, 2 * int(tokenLife/time.Second), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A sweep leaves the live entries; the next comes after
			// max(live, minSweep) inserts.
			if bound := tc.live + tc.perInsert*max(tc.live, minSweep); tc.max > bound {
				t.Errorf("the store grew to %d entries, want at most %d", tc.max, bound)
			}
		})
	}
}

// TestCodesSweep checks that CreateCode drops expired codes every minSweep
// inserts, and only those.
func TestCodesSweep(t *testing.T) {
	ctx := t.Context()
	s := NewCodes()
	// The sweep takes a new code's ExpiresAt less MaxCodeLifetime as now.
	sweepNow := base.Add(2 * time.Minute)
	fillerExpiry := sweepNow.Add(oauthkit.MaxCodeLifetime)
	codes := []struct {
		id      string
		expires time.Time
		used    bool
		want    string // after the sweep
	}{
		{"expired", sweepNow.Add(-time.Microsecond), false, "ErrNotFound"},
		{"expiresAtSweep", sweepNow, false, "ErrNotFound"},
		{"live", sweepNow.Add(time.Microsecond), false, "nil"},
		{"usedLive", sweepNow.Add(time.Minute), true, "ErrReused"},
	}
	// A first code sets the time of the last sweep to sweepNow, so that
	// the sweep below is due by count, not by time.
	if err := s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: "first", ExpiresAt: fillerExpiry}); err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if err := s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: c.id, ExpiresAt: c.expires}); err != nil {
			t.Fatal(err)
		}
		if c.used {
			if _, err := s.ConsumeCode(ctx, c.id, "", base); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := len(codes) + 1; i < minSweep-1; i++ {
		if err := s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: fmt.Sprint("filler-", i), ExpiresAt: fillerExpiry}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.codes); n != minSweep-1 {
		t.Fatalf("before the sweep, the store holds %d codes, want %d", n, minSweep-1)
	}
	if err := s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: "last", ExpiresAt: fillerExpiry}); err != nil {
		t.Fatal(err)
	}
	if n, want := len(s.codes), minSweep-2; n != want {
		t.Errorf("after the sweep, the store holds %d codes, want %d", n, want)
	}
	for _, c := range codes {
		t.Run(c.id, func(t *testing.T) {
			_, err := s.ConsumeCode(ctx, c.id, "", base)
			if got := errName(err); got != c.want {
				t.Errorf("ConsumeCode after the sweep: error = %v, want %s", err, c.want)
			}
		})
	}
}

// TestTokensSweep checks that CreateTokens and RotateRefreshToken drop
// expired tokens every minSweep inserts, and only those.
func TestTokensSweep(t *testing.T) {
	ctx := t.Context()
	s := NewTokens()
	// The sweep takes the IssuedAt of the first new token as now.
	sweepNow := base.Add(time.Hour)
	tok := func(id string, kind oauthkit.TokenKind, grant string, expires time.Time) *oauthkit.Token {
		return &oauthkit.Token{ID: id, Kind: kind, GrantID: grant, IssuedAt: base, ExpiresAt: expires}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateTokens(ctx,
		tok("a1", oauthkit.AccessToken, "g", sweepNow.Add(-time.Microsecond)),
		tok("r1", oauthkit.RefreshToken, "g", sweepNow.Add(24*time.Hour))))
	must(s.CreateTokens(ctx, tok("atSweep", oauthkit.AccessToken, "h", sweepNow)))
	// r1 is rotated: kept, expired or not, until it expires.
	must(s.RotateRefreshToken(ctx, "r1", base.Add(time.Minute), 0,
		&oauthkit.Token{ID: "a2", Kind: oauthkit.AccessToken, GrantID: "g", ParentID: "r1", IssuedAt: base.Add(time.Minute), ExpiresAt: sweepNow.Add(-time.Second)},
		&oauthkit.Token{ID: "r2", Kind: oauthkit.RefreshToken, GrantID: "g", ParentID: "r1", IssuedAt: base.Add(time.Minute), ExpiresAt: sweepNow.Add(24 * time.Hour)}))
	inserts := 3 // one sweep check per CreateTokens or rotation
	for ; inserts < minSweep-1; inserts++ {
		must(s.CreateTokens(ctx, &oauthkit.Token{ID: fmt.Sprint("filler-", inserts), Kind: oauthkit.AccessToken, GrantID: fmt.Sprint("f", inserts), IssuedAt: sweepNow, ExpiresAt: sweepNow.Add(time.Hour)}))
	}
	if _, err := s.Token(ctx, "a1", base); err != nil {
		t.Fatalf("before the sweep, Token(a1) error = %v, want it still stored", err)
	}
	must(s.CreateTokens(ctx, &oauthkit.Token{ID: "last", Kind: oauthkit.AccessToken, GrantID: "last", IssuedAt: sweepNow, ExpiresAt: sweepNow.Add(time.Hour)}))
	if err := s.checkIndexes(); err != nil {
		t.Errorf("indexes after the sweep: %v", err)
	}
	cases := []struct {
		id   string
		kept bool
	}{
		{"a1", false},
		{"atSweep", false},
		{"a2", false},
		{"r1", true},
		{"r2", true},
		{"last", true},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			_, err := s.Token(ctx, tc.id, base.Add(time.Minute))
			if got := err == nil; got != tc.kept {
				t.Errorf("Token(%s) after the sweep: error = %v, want kept %v", tc.id, err, tc.kept)
			}
		})
	}
	if n, want := s.tokens.len(), minSweep-3+2; n != want { // a1, atSweep, a2 gone
		t.Errorf("after the sweep, the store holds %d tokens, want %d", n, want)
	}
}

// TestTokensIndexes runs the operations that change the indexes and checks
// them after each.
func TestTokensIndexes(t *testing.T) {
	ctx := t.Context()
	s := NewTokens()
	tok := func(id string, kind oauthkit.TokenKind, grant, parent string) *oauthkit.Token {
		return &oauthkit.Token{ID: id, Kind: kind, GrantID: grant, ParentID: parent, IssuedAt: base, ExpiresAt: base.Add(time.Hour)}
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"Create", func() error {
			return errors.Join(
				s.CreateTokens(ctx, tok("a1", oauthkit.AccessToken, "g", ""), tok("r1", oauthkit.RefreshToken, "g", "")),
				s.CreateTokens(ctx, tok("x", oauthkit.AccessToken, "h", "")))
		}},
		{"Rotate", func() error {
			return s.RotateRefreshToken(ctx, "r1", base, time.Minute, tok("a2", oauthkit.AccessToken, "g", "r1"), tok("r2", oauthkit.RefreshToken, "g", "r1"))
		}},
		{"Retry", func() error {
			return s.RotateRefreshToken(ctx, "r1", base, time.Minute, tok("a3", oauthkit.AccessToken, "g", "r1"), tok("r3", oauthkit.RefreshToken, "g", "r1"))
		}},
		{"RevokeChild", func() error { return s.RevokeToken(ctx, "a3") }},
		{"RevokeParent", func() error { return s.RevokeToken(ctx, "r1") }},
		{"RotateOrphan", func() error {
			return s.RotateRefreshToken(ctx, "r3", base, 0, tok("a4", oauthkit.AccessToken, "g", "r3"), tok("r4", oauthkit.RefreshToken, "g", "r3"))
		}},
		{"RevokeGrant", func() error { return s.RevokeGrant(ctx, "g") }},
		{"RevokeLast", func() error { return s.RevokeToken(ctx, "x") }},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if err := s.checkIndexes(); err != nil {
			t.Fatalf("indexes after %s: %v", step.name, err)
		}
	}
	if s.tokens.len()+len(s.grants)+len(s.children) != 0 {
		t.Errorf("after revoking everything the store holds %d tokens, %d grant and %d parent index entries, want none",
			s.tokens.len(), len(s.grants), len(s.children))
	}
}

// checkIndexes reports an inconsistency between s.tokens and its indexes.
func (s *Tokens) checkIndexes() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for grant, ids := range s.grants {
		if len(ids) == 0 {
			return fmt.Errorf("grant %s has an empty index entry", grant)
		}
		for i, id := range ids {
			r, ok := s.tokens.get(id)
			switch {
			case !ok:
				return fmt.Errorf("grant %s lists %s, which is not stored", grant, id)
			case id == grant:
				return fmt.Errorf("grant %s lists the token it is named after", grant)
			case grantOf(r) != grant:
				return fmt.Errorf("grant %s lists %s, of grant %s", grant, id, grantOf(r))
			case slices.Contains(ids[i+1:], id):
				return fmt.Errorf("grant %s lists %s twice", grant, id)
			}
		}
	}
	for parent, ids := range s.children {
		if len(ids) == 0 {
			return fmt.Errorf("parent %s has an empty index entry", parent)
		}
		if !s.tokens.has(parent) {
			return fmt.Errorf("parent %s is indexed but not stored", parent)
		}
		for _, id := range ids {
			if r, ok := s.tokens.get(id); !ok || r.token().ParentID != parent {
				return fmt.Errorf("parent %s lists %s, which is not its stored child", parent, id)
			}
		}
	}
	for r := range s.tokens.records() {
		t := r.token()
		id := t.ID
		if t.GrantID != id && !slices.Contains(s.grants[t.GrantID], id) {
			return fmt.Errorf("token %s is missing from the index of grant %s", id, t.GrantID)
		}
		if s.tokens.has(t.ParentID) && !slices.Contains(s.children[t.ParentID], id) {
			return fmt.Errorf("token %s is missing from the index of its parent %s", id, t.ParentID)
		}
	}
	return nil
}

// errName names the store sentinel err wraps, or "nil" or "other".
func errName(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{{oauthkit.ErrNotFound, "ErrNotFound"}, {oauthkit.ErrReused, "ErrReused"}, {oauthkit.ErrExists, "ErrExists"}} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	if err == nil {
		return "nil"
	}
	return "other"
}

// TestRecordRoundTrip checks that packing a token loses nothing, zero
// times, empty strings and long values included.
func TestRecordRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 21, 3, 4, 5, 123456789, time.UTC)
	long := strings.Repeat("x", 300) // a length needing a two-byte uvarint
	tests := []struct {
		name string
		tok  oauthkit.Token
	}{
		{"every field", oauthkit.Token{
			ID: "id", Kind: oauthkit.RefreshToken, GrantID: "g", ParentID: "p", ClientID: "c", Subject: "s-ü",
			Scope: []string{"openid", "read"}, Audience: []string{"https://api.example", long},
			IssuedAt: now, ExpiresAt: now.Add(time.Hour), AuthTime: now.Add(-time.Minute), ACR: "mfa", RotatedAt: now.Add(time.Second),
		}},
		{"zero values", oauthkit.Token{ID: "id", Kind: oauthkit.AccessToken, GrantID: "id", ExpiresAt: now}},
		{"long strings", oauthkit.Token{ID: long, Kind: oauthkit.AccessToken, GrantID: long, Subject: long, ExpiresAt: now}},
		{"before 1970", oauthkit.Token{ID: "id", Kind: oauthkit.AccessToken, GrantID: "g", IssuedAt: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), ExpiresAt: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := encode(&tt.tok)
			got := r.token()
			if diff := cmp.Diff(&tt.tok, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if r.expired(tt.tok.ExpiresAt.Add(-time.Nanosecond)) || !r.expired(tt.tok.ExpiresAt) {
				t.Errorf("expired() disagrees with ExpiresAt %v", tt.tok.ExpiresAt)
			}
			if r.rotated() != !tt.tok.RotatedAt.IsZero() || r.kind() != tt.tok.Kind {
				t.Errorf("rotated() = %t, kind() = %v; want %t, %v", r.rotated(), r.kind(), !tt.tok.RotatedAt.IsZero(), tt.tok.Kind)
			}
			if r.id() != tt.tok.ID {
				t.Errorf("id() = %q, want %q", r.id(), tt.tok.ID)
			}
			if g, p := r.grantAndParent(); g != tt.tok.GrantID || p != tt.tok.ParentID {
				t.Errorf("grantAndParent() = %q, %q", g, p)
			}
			later := now.Add(2 * time.Hour)
			if got := r.withRotatedAt(later).rotatedAt(); !got.Equal(later) {
				t.Errorf("withRotatedAt: RotatedAt = %v, want %v", got, later)
			}
		})
	}
}

// TestTable checks the slab-backed table under puts, replacements,
// deletions, oversized records, page reuse and compaction.
func TestTable(t *testing.T) {
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	tok := func(id string, life time.Duration, subject string) record {
		return encode(&oauthkit.Token{ID: id, Kind: oauthkit.AccessToken, GrantID: id, Subject: subject, ExpiresAt: now.Add(life)})
	}
	tb := newTable()
	// Enough records to fill several pages; every fifth is short-lived.
	const n = 3000
	for i := range n {
		life := time.Hour
		if i%5 == 0 {
			life = time.Minute
		}
		tb.put(tok(fmt.Sprint("t", i), life, strings.Repeat("s", 50)))
	}
	if tb.len() != n || len(tb.pages) < 3 {
		t.Fatalf("after %d puts: len %d, %d pages; want %d and several pages", n, tb.len(), len(tb.pages), n)
	}
	// Replacing a record keeps one entry and the new content.
	tb.put(tok("t1", time.Hour, "replaced"))
	if r, ok := tb.get("t1"); !ok || r.token().Subject != "replaced" || tb.len() != n {
		t.Fatalf("after replacing t1: %v %v, len %d", r.token(), ok, tb.len())
	}
	// A record larger than a page gets a page of its own.
	big := strings.Repeat("b", 2*pageSize)
	tb.put(tok("big", time.Hour, big))
	if r, ok := tb.get("big"); !ok || r.token().Subject != big {
		t.Fatal("oversized record lost")
	}
	tb.del("big")
	if tb.has("big") {
		t.Fatal("deleted record still there")
	}
	// expiredIDs finds exactly the short-lived ones; with the others
	// deleted, pages are a fifth full, and compaction empties them.
	later := now.Add(2 * time.Minute)
	expired := tb.expiredIDs(later)
	if len(expired) != n/5 {
		t.Fatalf("expiredIDs = %d IDs, want %d", len(expired), n/5)
	}
	for i := range n {
		if i%5 != 0 {
			tb.del(fmt.Sprint("t", i)) // make pages sparse
		}
	}
	pagesBefore := livePages(tb)
	tb.compact()
	if after := livePages(tb); after >= pagesBefore {
		t.Errorf("compaction kept %d pages of %d", after, pagesBefore)
	}
	for i := 0; i < n; i += 5 {
		id := fmt.Sprint("t", i)
		r, ok := tb.get(id)
		if !ok || r.id() != id || !r.expired(later) || r.expired(now) {
			t.Fatalf("%s after compaction: found %v, id %q", id, ok, r.id())
		}
	}
	for _, id := range expired {
		tb.del(id)
	}
	if tb.len() != 0 || livePages(tb) > 1 {
		t.Errorf("after deleting everything: len %d, %d live pages; want 0 and at most the current page", tb.len(), livePages(tb))
	}
	// Emptied pages are reused rather than grown.
	grown := len(tb.pages)
	for i := range n {
		tb.put(tok(fmt.Sprint("u", i), time.Hour, strings.Repeat("s", 50)))
	}
	if len(tb.pages) > grown+1 {
		t.Errorf("pages grew from %d to %d although emptied ones were free", grown, len(tb.pages))
	}
}

func livePages(tb *table) int {
	n := 0
	for _, p := range tb.pages {
		if p != nil {
			n++
		}
	}
	return n
}

// DeleteKeyPrefix leaves the token indexes consistent, the other prefix's
// tokens and grants in place, and refuses an empty prefix.
func TestDeleteKeyPrefix(t *testing.T) {
	ctx, now := t.Context(), time.Now()
	s := NewStore()
	for _, p := range []string{"a/", "b/"} {
		r := &oauthkit.Token{ID: p + "r1", Kind: oauthkit.RefreshToken, GrantID: p + "g", Subject: p + "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateTokens(ctx, r, &oauthkit.Token{ID: p + "a1", Kind: oauthkit.AccessToken, GrantID: p + "g", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		next := []*oauthkit.Token{
			{ID: p + "r2", Kind: oauthkit.RefreshToken, GrantID: p + "g", ParentID: r.ID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
			{ID: p + "a2", Kind: oauthkit.AccessToken, GrantID: p + "g", ParentID: r.ID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
		}
		if err := s.RotateRefreshToken(ctx, r.ID, now, 0, next...); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeGrant(ctx, p+"revoked"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteKeyPrefix(ctx, ""); err == nil {
		t.Error("DeleteKeyPrefix(\"\"): no error")
	}
	if err := s.DeleteKeyPrefix(ctx, "a/"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tokens.checkIndexes(); err != nil {
		t.Errorf("indexes after DeleteKeyPrefix: %v", err)
	}
	for _, id := range []string{"a/r1", "a/a1", "a/r2", "a/a2"} {
		if _, err := s.Token(ctx, id, now); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("Token(%s) after DeleteKeyPrefix(a/): error = %v, want ErrNotFound", id, err)
		}
	}
	for _, id := range []string{"b/a1", "b/r2", "b/a2"} {
		if _, err := s.Token(ctx, id, now); err != nil {
			t.Errorf("Token(%s) after DeleteKeyPrefix(a/): %v", id, err)
		}
	}
	if len(s.Tokens.grants) != 1 || len(s.Tokens.children) != 1 || len(s.Tokens.revoked) != 1 {
		t.Errorf("after DeleteKeyPrefix(a/): %d grants, %d parents, %d revoked grants indexed; want b's one each",
			len(s.Tokens.grants), len(s.Tokens.children), len(s.Tokens.revoked))
	}
}
