package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// RedeemingStore is a store that keeps both codes and tokens and can redeem
// a code in one transaction ([oauthkit.CodeRedeemer]), such as a database.
type RedeemingStore interface {
	oauthkit.CodeStore
	oauthkit.TokenStore
	oauthkit.CodeRedeemer
}

// TestCodeRedeemer tests an [oauthkit.CodeRedeemer] implementation. newStore
// must return a store that holds none of the kit's codes and tokens.
// TestCodeRedeemer checks that RedeemCode calls issue once, with the stored
// code, and stores what it returns; that an unknown or expired code, and
// another client's code, are errors wrapping [oauthkit.ErrNotFound] that
// call nothing and change nothing; that a used code is an error wrapping
// [oauthkit.ErrReused] that returns the code and calls nothing; that a code
// whose issue fails stays used; that a code whose tokens cannot be stored
// (a taken ID, a revoked grant) is not used afterwards; and that of 100
// concurrent redemptions of one code exactly one stores its tokens.
func TestCodeRedeemer(t *testing.T, newStore func(t *testing.T) RedeemingStore) {
	t.Run("Redeem", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		want := e.code("c")
		must(t, "CreateCode", s.CreateCode(e.ctx, e.code("c")))
		calls := 0
		tokens := e.redeemed(want)
		got, err := s.RedeemCode(e.ctx, want.ID, e.web(), e.now, func(c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			calls++
			wantEqual(t, "the code issue is called with", c, want)
			return tokens, nil
		})
		if !wantOK(t, "RedeemCode", err) {
			return
		}
		if calls != 1 {
			t.Errorf("RedeemCode called issue %d times, want 1", calls)
		}
		wantEqual(t, "RedeemCode", got, want)
		for _, tok := range e.redeemed(want) {
			e.wantToken(t, s, tok, e.now, "stored by RedeemCode")
		}
		_, err = s.ConsumeCode(e.ctx, want.ID, e.web(), e.now)
		wantErr(t, "ConsumeCode after RedeemCode", err, oauthkit.ErrReused)
	})

	t.Run("NotFound", func(t *testing.T) {
		e := newEnv(t)
		c := e.code("c")
		cases := []struct {
			name, id, client string
			at               time.Time
		}{
			{"Unknown", e.id("code/unknown"), e.web(), e.now},
			{"Expired", c.ID, e.web(), c.ExpiresAt},
			{"OtherClient", c.ID, e.tag + "-stranger", e.now},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				must(t, "CreateCode", s.CreateCode(e.ctx, e.code("c")))
				_, err := s.RedeemCode(e.ctx, tc.id, tc.client, tc.at, e.noIssue(t))
				wantErr(t, "RedeemCode", err, oauthkit.ErrNotFound)
				// Nothing changed: the owner redeems the code as a first use.
				_, err = s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
				wantOK(t, "ConsumeCode by its owner after RedeemCode("+tc.name+")", err)
			})
		}
	})

	t.Run("Reused", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		c := e.code("c")
		must(t, "CreateCode", s.CreateCode(e.ctx, e.code("c")))
		_, err := s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
		must(t, "ConsumeCode", err)
		got, err := s.RedeemCode(e.ctx, c.ID, e.web(), e.now, e.noIssue(t))
		if wantErr(t, "RedeemCode of a used code", err, oauthkit.ErrReused) {
			wantEqual(t, "RedeemCode of a used code", got, c)
		}
	})

	t.Run("IssueFails", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		c := e.code("c")
		must(t, "CreateCode", s.CreateCode(e.ctx, e.code("c")))
		refused := errors.New("code_verifier does not match")
		_, err := s.RedeemCode(e.ctx, c.ID, e.web(), e.now, func(*oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return e.redeemed(c), refused
		})
		if !errors.Is(err, refused) {
			t.Errorf("RedeemCode whose issue failed: error = %v, want one wrapping issue's", err)
		}
		for _, tok := range e.redeemed(c) {
			e.wantGone(t, s, tok.ID, e.now, "after RedeemCode whose issue failed")
		}
		_, err = s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
		wantErr(t, "ConsumeCode after RedeemCode whose issue failed (the code stays used)", err, oauthkit.ErrReused)
	})

	t.Run("StoreFails", func(t *testing.T) {
		e := newEnv(t)
		c := e.code("c")
		cases := []struct {
			name  string
			setup func(s RedeemingStore)
			want  error
		}{
			{"TakenID", func(s RedeemingStore) {
				must(t, "CreateTokens", s.CreateTokens(e.ctx, e.tokens("x", "h")...))
			}, oauthkit.ErrExists},
			{"RevokedGrant", func(s RedeemingStore) {
				must(t, "RevokeGrant", s.RevokeGrant(e.ctx, c.GrantID))
			}, oauthkit.ErrReused},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				must(t, "CreateCode", s.CreateCode(e.ctx, e.code("c")))
				tc.setup(s)
				tokens := e.redeemed(c)
				tokens[1].ID = e.id("token/x") // taken in the TakenID case
				got, err := s.RedeemCode(e.ctx, c.ID, e.web(), e.now, func(*oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
					return tokens, nil
				})
				if wantErr(t, "RedeemCode", err, tc.want) && tc.want == oauthkit.ErrReused {
					wantEqual(t, "RedeemCode of a revoked grant's code", got, c)
				}
				e.wantGone(t, s, tokens[0].ID, e.now, "after RedeemCode failed to store it")
				// The code was not used: its owner redeems it as a first use.
				_, err = s.ConsumeCode(e.ctx, c.ID, e.web(), e.now)
				wantOK(t, "ConsumeCode after RedeemCode failed to store the tokens", err)
			})
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		c := e.code("c")
		must(t, "CreateCode", s.CreateCode(e.ctx, e.code("c")))
		var issued atomic.Int32
		errs := race(goroutines, func(i int) error {
			_, err := s.RedeemCode(e.ctx, c.ID, e.web(), e.now, func(c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
				issued.Add(1)
				return e.redeemedAs(c, fmt.Sprint("-", i)), nil
			})
			return err
		})
		if n := tally(errs); n["nil"] != 1 || n["ErrReused"] != goroutines-1 {
			t.Errorf("%d concurrent RedeemCode of one code: results %v, want exactly 1 nil and %d ErrReused (first other error: %v)",
				goroutines, n, goroutines-1, firstOther(errs, oauthkit.ErrReused))
		}
		stored := 0
		for i := range goroutines {
			if _, err := s.Token(e.ctx, e.redeemedAs(c, fmt.Sprint("-", i))[0].ID, e.now); err == nil {
				stored++
			}
		}
		if stored != 1 || issued.Load() != 1 {
			t.Errorf("after %d concurrent RedeemCode of one code: issue called %d times, %d token sets stored; want 1 and 1", goroutines, issued.Load(), stored)
		}
	})
}

// redeemed returns the access and refresh tokens issued for code c.
func (e *env) redeemed(c *oauthkit.AuthorizationCode) []*oauthkit.Token { return e.redeemedAs(c, "") }

// redeemedAs is redeemed, with the tokens' names suffixed with suffix.
func (e *env) redeemedAs(c *oauthkit.AuthorizationCode, suffix string) []*oauthkit.Token {
	toks := e.tokens("a-code"+suffix+" r-code"+suffix, "")
	for _, t := range toks {
		t.GrantID = c.GrantID
	}
	return toks
}

// noIssue returns an issue function that fails the test if called.
func (e *env) noIssue(t *testing.T) func(*oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
	return func(*oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
		t.Error("RedeemCode called issue for a code it must not redeem")
		return nil, errors.New("storetest: issue must not be called")
	}
}
