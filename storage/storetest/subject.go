package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// SubjectRevokingStore is a store of codes and tokens that can revoke
// everything of a resource owner ([oauthkit.SubjectRevoker]).
type SubjectRevokingStore interface {
	oauthkit.CodeStore
	oauthkit.TokenStore
	oauthkit.SubjectRevoker
}

// TestSubjectRevoker tests an [oauthkit.SubjectRevoker] implementation.
// newStore must return a store that holds none of the kit's codes and
// tokens. TestSubjectRevoker checks that RevokeSubject revokes the
// subject's tokens, refresh tokens rotated before included, and nobody
// else's, nor the tokens a client holds for itself under a subject of the
// same name; that tokens of the subject's grants stored afterwards, those of
// a code stored for the subject before included, are refused with
// [oauthkit.ErrReused] while a new grant of the subject is not; that its
// refresh tokens rotate no more; that an unknown subject is not an error;
// and that with 50 code redemptions and refresh token rotations of the
// subject racing one RevokeSubject, none of their tokens outlives it.
func TestSubjectRevoker(t *testing.T, newStore func(t *testing.T) SubjectRevokingStore) {
	t.Run("Revoke", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		t1 := e.now.Add(time.Minute)
		r1 := e.userToken("r1", "g1", "alice")
		must(t, "CreateTokens", s.CreateTokens(e.ctx, e.userToken("a1", "g1", "alice"), r1))
		must(t, "CreateTokens", s.CreateTokens(e.ctx, e.userToken("a2", "g2", "alice")))
		next := e.userExchange(r1, "-next", t1)
		must(t, "RotateRefreshToken", s.RotateRefreshToken(e.ctx, r1.ID, t1, 0, next...))
		bob := e.userToken("a3", "g3", "bob")
		must(t, "CreateTokens", s.CreateTokens(e.ctx, bob))
		own := e.token("a4", "g4") // a client's own token, its subject named alice
		own.Subject = "alice"
		must(t, "CreateTokens", s.CreateTokens(e.ctx, own))

		wantOK(t, "RevokeSubject(alice)", s.RevokeSubject(e.ctx, "alice"))
		for _, tok := range append([]*oauthkit.Token{e.userToken("a1", "g1", "alice"), r1, e.userToken("a2", "g2", "alice")}, next...) {
			e.wantGone(t, s, tok.ID, t1, "after RevokeSubject of its subject")
		}
		e.wantToken(t, s, bob, t1, "of another subject, after RevokeSubject(alice)")
		e.wantToken(t, s, own, t1, "of a client for itself, after RevokeSubject of a user of its name")
		err := s.RotateRefreshToken(e.ctx, next[1].ID, t1, grace, e.userExchange(next[1], "-late", t1)...)
		wantErr(t, "RotateRefreshToken of the subject's refresh token after RevokeSubject", err, oauthkit.ErrNotFound)
	})

	t.Run("RefusesLateTokens", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		must(t, "CreateTokens", s.CreateTokens(e.ctx, e.userToken("a1", "g1", "alice")))
		// A code of alice redeemed just before the revocation, its tokens
		// not stored yet; and one of bob.
		for _, c := range []*oauthkit.AuthorizationCode{e.userCode("c", "alice"), e.userCode("d", "bob")} {
			must(t, "CreateCode", s.CreateCode(e.ctx, c))
			_, err := s.ConsumeCode(e.ctx, c.ID, c.ClientID, e.now)
			must(t, "ConsumeCode", err)
		}
		wantOK(t, "RevokeSubject(alice)", s.RevokeSubject(e.ctx, "alice"))
		for _, grant := range []string{"g1", "c"} {
			late := e.userToken("late-"+grant, grant, "alice")
			wantErr(t, "CreateTokens in grant "+grant+" of the subject after RevokeSubject", s.CreateTokens(e.ctx, late), oauthkit.ErrReused)
			e.wantGone(t, s, late.ID, e.now, "refused")
		}
		for _, tok := range []*oauthkit.Token{e.userToken("b", "d", "bob"), e.userToken("a9", "g9", "alice")} {
			if wantOK(t, "CreateTokens of another subject's code, or of a new grant of the subject", s.CreateTokens(e.ctx, tok)) {
				e.wantToken(t, s, tok, e.now, "stored after RevokeSubject")
			}
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		tok := e.userToken("a1", "g1", "alice")
		must(t, "CreateTokens", s.CreateTokens(e.ctx, tok))
		for _, sub := range []string{"nobody", "", "ALICE", "alice "} {
			wantOK(t, fmt.Sprintf("RevokeSubject(%q)", sub), s.RevokeSubject(e.ctx, sub))
		}
		e.wantToken(t, s, tok, e.now, "after RevokeSubject of other subjects")
	})

	t.Run("Concurrent", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		t1 := e.now.Add(time.Minute)
		const n = 50
		// Even i: a code of alice, consumed, whose tokens goroutine i
		// stores; odd i: a refresh token of alice that goroutine i rotates.
		batch := func(i int) []*oauthkit.Token {
			grant := fmt.Sprint("g", i)
			if i%2 == 0 {
				return []*oauthkit.Token{e.userToken(fmt.Sprint("a", i), grant, "alice"), e.userToken(fmt.Sprint("r", i), grant, "alice")}
			}
			return e.userExchange(e.userToken(fmt.Sprint("r", i), grant, "alice"), fmt.Sprint("-", i), t1)
		}
		for i := range n {
			if i%2 == 0 {
				c := e.userCode(fmt.Sprint("g", i), "alice")
				must(t, "CreateCode", s.CreateCode(e.ctx, c))
				_, err := s.ConsumeCode(e.ctx, c.ID, c.ClientID, e.now)
				must(t, "ConsumeCode", err)
			} else {
				must(t, "CreateTokens", s.CreateTokens(e.ctx, e.userToken(fmt.Sprint("r", i), fmt.Sprint("g", i), "alice")))
			}
		}
		errs := race(n+1, func(i int) error {
			switch {
			case i == n:
				return s.RevokeSubject(e.ctx, "alice")
			case i%2 == 0:
				return s.CreateTokens(e.ctx, batch(i)...)
			default:
				return s.RotateRefreshToken(e.ctx, e.id(fmt.Sprint("token/r", i)), t1, 0, batch(i)...)
			}
		})
		if !wantOK(t, "RevokeSubject racing redemptions and rotations", errs[n]) {
			return
		}
		for i := range n {
			// Before the revocation: stored, then revoked. After it: refused
			// (a revoked grant), or its refresh token gone.
			if err := errs[i]; err != nil && !errors.Is(err, oauthkit.ErrReused) && !errors.Is(err, oauthkit.ErrNotFound) {
				t.Errorf("call %d racing RevokeSubject: error = %v, want nil or an error wrapping oauthkit.ErrReused or oauthkit.ErrNotFound", i, err)
			}
			for _, tok := range batch(i) {
				e.wantGone(t, s, tok.ID, t1, "stored while RevokeSubject of its subject ran")
			}
		}
	})
}

// userToken returns e.token issued to the resource owner subject.
func (e *env) userToken(name, grant, subject string) *oauthkit.Token {
	t := e.token(name, grant)
	t.Subject, t.SubjectIsClient = subject, false
	return t
}

// userExchange returns e.exchange of a resource owner's token.
func (e *env) userExchange(parent *oauthkit.Token, name string, at time.Time) []*oauthkit.Token {
	toks := e.exchange(parent, name, at)
	for _, t := range toks {
		t.Subject, t.SubjectIsClient = parent.Subject, false
	}
	return toks
}

// userCode returns e.code of the resource owner subject; its grant is
// "grant/"+name.
func (e *env) userCode(name, subject string) *oauthkit.AuthorizationCode {
	c := e.code(name)
	c.Subject = subject
	return c
}
