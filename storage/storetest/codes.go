package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// codeLifetime is the lifetime of the kit's codes: the longest the library
// allows.
const codeLifetime = oauthkit.MaxCodeLifetime

// TestCodeStore tests an [oauthkit.CodeStore] implementation. newStore must
// return a store that holds none of the kit's codes. TestCodeStore checks
// that every field of a code round-trips; that a duplicate ID is an error
// wrapping [oauthkit.ErrExists], even after the code was used; that
// ConsumeCode succeeds once and afterwards returns the code with an error
// wrapping [oauthkit.ErrReused], until the code expires; that unknown and
// expired codes, and codes presented by a client other than their owner,
// are errors wrapping [oauthkit.ErrNotFound] and change nothing; that the store
// neither keeps the caller's code nor hands out its own; and that of 100
// concurrent ConsumeCode calls exactly one succeeds.
func TestCodeStore(t *testing.T, newStore func(t *testing.T) oauthkit.CodeStore) {
	t.Run("RoundTrip", func(t *testing.T) {
		e := newEnv(t)
		cases := []struct {
			name string
			code *oauthkit.AuthorizationCode
		}{
			{"AllFields", e.code("all")},
			{"NoOptionalFields", e.bareCode("bare")},
			{"EmptyScope", func() *oauthkit.AuthorizationCode {
				c := e.bareCode("empty")
				c.Scope = []string{}
				return c
			}()},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				want := *tc.code
				must(t, "CreateCode", s.CreateCode(e.ctx, tc.code))
				got, err := s.ConsumeCode(e.ctx, want.ID, e.web(), e.now)
				if wantOK(t, "ConsumeCode", err) {
					wantEqual(t, "ConsumeCode", got, &want)
				}
			})
		}
	})

	t.Run("OtherClient", func(t *testing.T) {
		// A client that is not the code's owner can neither redeem it nor
		// use it up: its attempt changes nothing, before or after the
		// owner's redemption, and it learns nothing (RFC 6749 §4.1.3).
		e := newEnv(t)
		s := newStore(t)
		c := e.code("c")
		must(t, "CreateCode", s.CreateCode(e.ctx, e.code("c")))
		stranger := e.tag + "-stranger"
		_, err := s.ConsumeCode(e.ctx, c.ID, stranger, e.now)
		wantErr(t, "ConsumeCode by another client", err, oauthkit.ErrNotFound)
		got, err := s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
		if wantOK(t, "ConsumeCode by its owner after another client's attempt", err) {
			wantEqual(t, "ConsumeCode by its owner", got, c)
		}
		_, err = s.ConsumeCode(e.ctx, c.ID, stranger, e.now)
		wantErr(t, "ConsumeCode of a used code by another client", err, oauthkit.ErrNotFound)
		_, err = s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
		wantErr(t, "ConsumeCode by its owner again", err, oauthkit.ErrReused)
	})

	t.Run("NotFound", func(t *testing.T) {
		e := newEnv(t)
		stored := e.code("stored")
		cases := append(lookalikes(stored.ID), struct{ name, id string }{"Unknown", e.id("code/unknown")})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				must(t, "CreateCode", s.CreateCode(e.ctx, e.code("stored")))
				_, err := s.ConsumeCode(e.ctx, tc.id, e.web(), e.now)
				wantErr(t, "ConsumeCode("+format(tc.id)+")", err, oauthkit.ErrNotFound)
				// The lookalike must not have used the real code.
				_, err = s.ConsumeCode(e.ctx, stored.ID, e.web(), e.now)
				wantOK(t, "ConsumeCode of the stored code after a lookalike", err)
			})
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		e := newEnv(t)
		expires := e.now.Add(codeLifetime)
		cases := []struct {
			name string
			at   time.Time
			want error // nil or ErrNotFound
		}{
			{"JustBefore", expires.Add(-time.Microsecond), nil},
			{"AtExpiresAt", expires, oauthkit.ErrNotFound},
			{"Later", expires.Add(time.Hour), oauthkit.ErrNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				c := e.code("c")
				must(t, "CreateCode", s.CreateCode(e.ctx, c))
				_, err := s.ConsumeCode(e.ctx, c.ID, e.web(), tc.at)
				call := "ConsumeCode at " + offset("ExpiresAt", tc.at.Sub(expires))
				if tc.want == nil {
					wantOK(t, call, err)
				} else {
					wantErr(t, call, err, tc.want)
				}
			})
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		e := newEnv(t)
		cases := []struct {
			name    string
			consume bool // use the first code before storing the second
			want    error
		}{
			{"Unused", false, nil},
			{"Used", true, oauthkit.ErrReused},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				first := e.code("c")
				must(t, "CreateCode", s.CreateCode(e.ctx, first))
				if tc.consume {
					_, err := s.ConsumeCode(e.ctx, first.ID, e.web(), e.now)
					must(t, "ConsumeCode", err)
				}
				second := e.bareCode("c")
				second.Subject = "mallory"
				wantErr(t, "CreateCode with a stored ID", s.CreateCode(e.ctx, second), oauthkit.ErrExists)

				got, err := s.ConsumeCode(e.ctx, first.ID, e.web(), e.now)
				if tc.want == nil {
					wantOK(t, "ConsumeCode", err)
				} else {
					wantErr(t, "ConsumeCode", err, tc.want)
				}
				if got != nil {
					wantEqual(t, "ConsumeCode after a refused duplicate", got, e.code("c"))
				}
			})
		}
	})

	t.Run("Reuse", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		c, other := e.code("c"), e.code("other")
		must(t, "CreateCode", s.CreateCode(e.ctx, c))
		must(t, "CreateCode", s.CreateCode(e.ctx, other))
		_, err := s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
		wantOK(t, "first ConsumeCode", err)
		for i, at := range []time.Time{e.now, e.now.Add(time.Second), c.ExpiresAt.Add(-time.Microsecond)} {
			got, err := s.ConsumeCode(e.ctx, c.ID, e.web(), at)
			call := fmt.Sprintf("ConsumeCode #%d", i+2)
			if !wantErr(t, call, err, oauthkit.ErrReused) {
				continue
			}
			// The caller revokes the code's grant: it needs the code.
			wantEqual(t, call+" with ErrReused", got, e.code("c"))
		}
		_, err = s.ConsumeCode(e.ctx, other.ID, e.web(), e.now)
		wantOK(t, "ConsumeCode of another code", err)
	})

	t.Run("ReuseAfterExpiry", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		c := e.code("c")
		must(t, "CreateCode", s.CreateCode(e.ctx, c))
		_, err := s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
		must(t, "ConsumeCode", err)
		_, err = s.ConsumeCode(e.ctx, c.ID, e.web(), c.ExpiresAt)
		wantErr(t, "ConsumeCode of a used code at its ExpiresAt", err, oauthkit.ErrNotFound)
	})

	t.Run("Copies", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		c := e.code("c")
		must(t, "CreateCode", s.CreateCode(e.ctx, c))
		c.Scope[0] = "admin" // the caller's code is the caller's
		c.Subject = "mallory"
		got, err := s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
		if !wantOK(t, "ConsumeCode", err) {
			return
		}
		wantEqual(t, "ConsumeCode after the caller changed its code", got, e.code("c"))
		if got == nil || len(got.Scope) == 0 {
			return // reported by wantEqual
		}
		got.Scope[0] = "admin" // and the returned one too
		got, err = s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
		if wantErr(t, "second ConsumeCode", err, oauthkit.ErrReused) {
			wantEqual(t, "ConsumeCode after the caller changed a returned code", got, e.code("c"))
		}
	})

	t.Run("ConcurrentConsume", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		c := e.code("c")
		must(t, "CreateCode", s.CreateCode(e.ctx, c))
		got := make([]*oauthkit.AuthorizationCode, goroutines)
		errs := race(goroutines, func(i int) error {
			var err error
			got[i], err = s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
			return err
		})
		n := tally(errs)
		if n["nil"] != 1 || n["ErrReused"] != goroutines-1 {
			t.Errorf("%d concurrent ConsumeCode of one code: results %v, want exactly 1 nil and %d ErrReused (first other error: %v)",
				goroutines, n, goroutines-1, firstOther(errs, oauthkit.ErrReused))
		}
		for i := range got {
			if errs[i] == nil || errName(errs[i]) == "ErrReused" {
				wantEqual(t, "concurrent ConsumeCode", got[i], e.code("c"))
			}
		}
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		errs := race(goroutines, func(i int) error {
			return s.CreateCode(e.ctx, e.code(fmt.Sprint(i)))
		})
		if n := tally(errs); n["nil"] != goroutines {
			t.Errorf("%d concurrent CreateCode of distinct codes: results %v, want all nil (first error: %v)",
				goroutines, n, firstOther(errs))
		}
		for i := range goroutines {
			want := e.code(fmt.Sprint(i))
			got, err := s.ConsumeCode(e.ctx, want.ID, e.web(), e.now)
			if wantOK(t, "ConsumeCode of a concurrently created code", err) {
				wantEqual(t, "ConsumeCode", got, want)
			}
		}
	})

	t.Run("ConcurrentCreateSameID", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		errs := race(goroutines, func(i int) error {
			c := e.code("c")
			c.Subject = fmt.Sprint("user-", i)
			return s.CreateCode(e.ctx, c)
		})
		n := tally(errs)
		if n["nil"] != 1 || n["ErrExists"] != goroutines-1 {
			t.Errorf("%d concurrent CreateCode with one ID: results %v, want exactly 1 nil and %d ErrExists (first other error: %v)",
				goroutines, n, goroutines-1, firstOther(errs, oauthkit.ErrExists))
			return
		}
		got, err := s.ConsumeCode(e.ctx, e.code("c").ID, e.web(), e.now)
		if !wantOK(t, "ConsumeCode", err) {
			return
		}
		for i, err := range errs {
			if err == nil {
				want := e.code("c")
				want.Subject = fmt.Sprint("user-", i)
				wantEqual(t, "ConsumeCode of the code that won", got, want)
			}
		}
	})
}

// code returns an authorization code with every field set, its ID and
// GrantID made from name.
func (e *env) code(name string) *oauthkit.AuthorizationCode {
	return &oauthkit.AuthorizationCode{
		ID:                  e.id("code/" + name),
		GrantID:             e.id("grant/" + name),
		ClientID:            e.web(),
		RedirectURI:         "https://app.example.com/cb?x=1&y=ü",
		RedirectURIParam:    true,
		Subject:             "248289761001-ü",
		Scope:               []string{"openid", "write", "read"},
		AuthTime:            e.now.Add(-2 * time.Minute),
		ACR:                 "urn:example:acr:mfa",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Nonce:               "n-0S6_WzA2Mj",
		Resources:           []string{"https://api.example.com/", "https://files.example.com/ü?x=1"},
		DPoPJKT:             "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
		ExpiresAt:           e.now.Add(codeLifetime),
	}
}

// bareCode returns an authorization code with only the fields the library
// always sets.
func (e *env) bareCode(name string) *oauthkit.AuthorizationCode {
	return &oauthkit.AuthorizationCode{
		ID:          e.id("code/" + name),
		GrantID:     e.id("grant/" + name),
		ClientID:    e.web(),
		RedirectURI: "http://127.0.0.1/callback",
		Subject:     "alice",
		ExpiresAt:   e.now.Add(codeLifetime),
	}
}

// web is the client ID of the kit's codes.
func (e *env) web() string { return e.tag + "-web" }
