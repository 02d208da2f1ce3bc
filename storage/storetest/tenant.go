package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// TenantStore is the store of one tenant of a store shared by many: it
// keeps everything an oauthkit.Server keeps, as the views of package
// [github.com/oauthkit/oauthkit/storage/tenant] do.
type TenantStore interface {
	oauthkit.ClientRegistry
	oauthkit.CodeStore
	oauthkit.CodeRedeemer
	oauthkit.TokenStore
	oauthkit.SubjectRevoker
	oauthkit.ReplayCache
	oauthkit.DeviceStore
	oauthkit.PushedRequestStore
}

// TestTenantIsolation tests that two tenants' stores sharing one backing
// store (one database) cannot reach each other's records. newStores must
// return the stores of two tenants over one fresh backing store.
//
// For every kind of record it stores one through tenant a and then presents
// its IDs, exactly as a holds them, to tenant b: b's client lookup, code
// consumption and redemption, token lookup, rotation and revocation (of the
// token, its grant and its subject), device authorization lookup, decision
// and poll, and pushed request lookup and consumption must each find
// nothing and change nothing of a's, which a then uses as if b had never
// tried. It also checks that b may store records under the same IDs as a's
// without a conflict, that a revocation in one tenant (by grant or subject)
// leaves the other's tokens and grants alone, and that a replay key is new
// once to each tenant. If a's store has a DeleteAll method (as
// [github.com/oauthkit/oauthkit/storage/tenant.View] has), it checks that
// DeleteAll removes every record of a, and none of b.
func TestTenantIsolation(t *testing.T, newStores func(t *testing.T) (a, b TenantStore)) {
	t.Run("Clients", func(t *testing.T) {
		e := newEnv(t)
		a, b := newStores(t)
		ca := testClients(e.tag)[0]
		must(t, "a.CreateClient", a.CreateClient(e.ctx, ca))
		_, err := b.Client(e.ctx, ca.ID)
		wantErr(t, "b.Client of a's client", err, oauthkit.ErrNotFound)
		bc := testClients(e.tag)[0]
		bc.Name = "b's client of the same ID"
		wantErr(t, "b.UpdateClient of a's client", b.UpdateClient(e.ctx, bc), oauthkit.ErrNotFound)
		wantOK(t, "b.DeleteClient of a's client", b.DeleteClient(e.ctx, ca.ID))
		e.wantClient(t, a, testClients(e.tag)[0], "after b's attempts on it")
		wantOK(t, "b.CreateClient of a's client ID", b.CreateClient(e.ctx, bc))
		e.wantClient(t, b, bc, "of b, with a's ID")
		e.wantClient(t, a, testClients(e.tag)[0], "after b created its own of that ID")
		wantOK(t, "a.DeleteClient", a.DeleteClient(e.ctx, ca.ID))
		e.wantClient(t, b, bc, "of b, after a deleted its own of that ID")
	})

	t.Run("Codes", func(t *testing.T) {
		e := newEnv(t)
		a, b := newStores(t)
		c := e.code("c")
		must(t, "a.CreateCode", a.CreateCode(e.ctx, e.code("c")))
		_, err := b.ConsumeCode(e.ctx, c.ID, c.ClientID, e.now)
		wantErr(t, "b.ConsumeCode of a's code", err, oauthkit.ErrNotFound)
		_, err = b.RedeemCode(e.ctx, c.ID, c.ClientID, e.now, e.noIssue(t))
		wantErr(t, "b.RedeemCode of a's code", err, oauthkit.ErrNotFound)
		wantOK(t, "b.CreateCode with a's code ID", b.CreateCode(e.ctx, e.code("c")))
		got, err := a.RedeemCode(e.ctx, c.ID, c.ClientID, e.now, func(*oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return e.redeemed(c), nil
		})
		if wantOK(t, "a.RedeemCode of its code after b's attempts", err) {
			wantEqual(t, "a.RedeemCode", got, c)
		}
		got, err = b.ConsumeCode(e.ctx, c.ID, c.ClientID, e.now)
		if wantOK(t, "b.ConsumeCode of its own code after a redeemed a's", err) {
			wantEqual(t, "b.ConsumeCode", got, c)
		}
		for _, tok := range e.redeemed(c) {
			e.wantGone(t, b, tok.ID, e.now, "in b, stored by a's RedeemCode")
		}
	})

	t.Run("Tokens", func(t *testing.T) {
		e := newEnv(t)
		a, b := newStores(t)
		t1 := e.now.Add(time.Minute)
		a1, r1 := e.userToken("a1", "g", "alice"), e.userToken("r1", "g", "alice")
		must(t, "a.CreateTokens", a.CreateTokens(e.ctx, a1, r1))
		for _, tok := range []*oauthkit.Token{a1, r1} {
			e.wantGone(t, b, tok.ID, e.now, "in b, stored by a")
		}
		err := b.RotateRefreshToken(e.ctx, r1.ID, t1, grace, e.userExchange(r1, "-b", t1)...)
		wantErr(t, "b.RotateRefreshToken of a's refresh token", err, oauthkit.ErrNotFound)
		for _, tok := range e.userExchange(r1, "-b", t1) {
			e.wantGone(t, a, tok.ID, t1, "in a, after b's rotation of a's token")
			e.wantGone(t, b, tok.ID, t1, "in b, after b's rotation of a's token")
		}
		wantOK(t, "b.RevokeToken of a's token", b.RevokeToken(e.ctx, a1.ID))
		wantOK(t, "b.RevokeGrant of a's grant", b.RevokeGrant(e.ctx, a1.GrantID))
		wantOK(t, "b.RevokeSubject of a's subject", b.RevokeSubject(e.ctx, "alice"))
		e.wantToken(t, a, a1, t1, "in a, after b revoked it, its grant and its subject")
		// Neither a's grant nor b's revocations of its namesake reach over.
		must(t, "a.RotateRefreshToken", a.RotateRefreshToken(e.ctx, r1.ID, t1, 0, e.userExchange(r1, "2", t1)...))
		for _, tok := range e.userExchange(r1, "2", t1) {
			e.wantToken(t, a, tok, t1, "in a, rotated after b's attempts")
		}
		// b stores tokens of a's IDs (in a grant of its own: b revoked its
		// grant g above), and a's revocations leave them alone.
		b1, br := e.userToken("a1", "h", "alice"), e.userToken("r1", "h", "alice")
		if !wantOK(t, "b.CreateTokens with a's token IDs and subject", b.CreateTokens(e.ctx, b1, br)) {
			return
		}
		wantOK(t, "a.RevokeGrant", a.RevokeGrant(e.ctx, a1.GrantID))
		e.wantGone(t, a, a1.ID, t1, "in a, after a.RevokeGrant")
		e.wantToken(t, b, b1, t1, "in b, of a's token ID, after a revoked a's grant")
		wantOK(t, "a.RevokeGrant of a grant without tokens", a.RevokeGrant(e.ctx, e.id("grant/k")))
		wantOK(t, "b.CreateTokens in b's grant of the ID a revoked", b.CreateTokens(e.ctx, e.userToken("a3", "k", "alice")))
		wantOK(t, "a.RevokeSubject", a.RevokeSubject(e.ctx, "alice"))
		e.wantToken(t, b, b1, t1, "in b, after a revoked its subject of the same name")
		wantOK(t, "b.RevokeSubject", b.RevokeSubject(e.ctx, "alice"))
		e.wantGone(t, b, b1.ID, t1, "in b, after b.RevokeSubject")
	})

	t.Run("Devices", func(t *testing.T) {
		e := newEnv(t)
		a, b := newStores(t)
		d := e.device("d")
		must(t, "a.CreateDeviceAuthorization", a.CreateDeviceAuthorization(e.ctx, e.device("d")))
		_, err := b.DeviceAuthorizationByUserCode(e.ctx, d.UserCodeID, e.now)
		wantErr(t, "b.DeviceAuthorizationByUserCode of a's user code", err, oauthkit.ErrNotFound)
		wantErr(t, "b.DecideDeviceAuthorization of a's user code", b.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, e.approval()), oauthkit.ErrNotFound)
		_, err = b.PollDeviceAuthorization(e.ctx, d.ID, d.ClientID, e.now)
		wantErr(t, "b.PollDeviceAuthorization of a's device code", err, oauthkit.ErrNotFound)
		e.wantByUserCode(t, a, e.pendingDevice("d"), e.now, "in a, pending and never polled after b's attempts")
		wantOK(t, "b.CreateDeviceAuthorization with a's IDs", b.CreateDeviceAuthorization(e.ctx, e.device("d")))
		must(t, "a.DecideDeviceAuthorization", a.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, e.approval()))
		e.wantPoll(t, a, e.approvedDevice("d", time.Time{}), e.now, "in a, approved in a")
		e.wantPoll(t, b, e.pendingDevice("d"), e.now, "in b, of b's own, after a approved a's")
	})

	t.Run("PushedRequests", func(t *testing.T) {
		e := newEnv(t)
		a, b := newStores(t)
		p := e.pushed("p")
		must(t, "a.CreatePushedRequest", a.CreatePushedRequest(e.ctx, e.pushed("p")))
		_, err := b.PushedRequest(e.ctx, p.ID, p.ClientID, e.now)
		wantErr(t, "b.PushedRequest of a's request", err, oauthkit.ErrNotFound)
		_, err = b.ConsumePushedRequest(e.ctx, p.ID, p.ClientID, e.now)
		wantErr(t, "b.ConsumePushedRequest of a's request", err, oauthkit.ErrNotFound)
		wantOK(t, "b.CreatePushedRequest with a's ID", b.CreatePushedRequest(e.ctx, e.pushed("p")))
		for name, s := range map[string]TenantStore{"a": a, "b": b} {
			got, err := s.ConsumePushedRequest(e.ctx, p.ID, p.ClientID, e.now)
			if wantOK(t, name+".ConsumePushedRequest of its own", err) {
				wantPushed(t, name+".ConsumePushedRequest", got, p)
			}
		}
	})

	t.Run("DeleteAll", func(t *testing.T) {
		e := newEnv(t)
		a, b := newStores(t)
		del, ok := a.(interface{ DeleteAll(context.Context) error })
		if !ok {
			t.Skip("the tenant's store has no DeleteAll method")
		}
		t1 := e.now.Add(time.Minute)
		for name, s := range map[string]TenantStore{"a": a, "b": b} {
			must(t, name+".CreateClient", s.CreateClient(e.ctx, testClients(e.tag)[0]))
			must(t, name+".CreateCode", s.CreateCode(e.ctx, e.code("c")))
			must(t, name+".CreateTokens", s.CreateTokens(e.ctx, e.tokens("a1 r1", "g")...))
			must(t, name+".RevokeGrant", s.RevokeGrant(e.ctx, e.id("grant/revoked")))
			must(t, name+".CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, e.device("d")))
			must(t, name+".CreatePushedRequest", s.CreatePushedRequest(e.ctx, e.pushed("p")))
		}
		wantOK(t, "a.DeleteAll", del.DeleteAll(e.ctx))

		_, err := a.Client(e.ctx, testClients(e.tag)[0].ID)
		wantErr(t, "a.Client after DeleteAll", err, oauthkit.ErrNotFound)
		_, err = a.ConsumeCode(e.ctx, e.code("c").ID, e.web(), e.now)
		wantErr(t, "a.ConsumeCode after DeleteAll", err, oauthkit.ErrNotFound)
		for _, tok := range e.tokens("a1 r1", "g") {
			e.wantGone(t, a, tok.ID, t1, "after DeleteAll")
		}
		// The grant's record went too: the IDs are free for a tenant made
		// again with the same ID.
		wantOK(t, "a.CreateTokens in a grant revoked before DeleteAll", a.CreateTokens(e.ctx, e.token("a2", "revoked")))
		_, err = a.DeviceAuthorizationByUserCode(e.ctx, e.device("d").UserCodeID, e.now)
		wantErr(t, "a.DeviceAuthorizationByUserCode after DeleteAll", err, oauthkit.ErrNotFound)
		_, err = a.PollDeviceAuthorization(e.ctx, e.device("d").ID, e.tv(), e.now)
		wantErr(t, "a.PollDeviceAuthorization after DeleteAll", err, oauthkit.ErrNotFound)
		_, err = a.PushedRequest(e.ctx, e.pushed("p").ID, e.web(), e.now)
		wantErr(t, "a.PushedRequest after DeleteAll", err, oauthkit.ErrNotFound)

		e.wantClient(t, b, testClients(e.tag)[0], "of b, after a.DeleteAll")
		for _, tok := range e.tokens("a1 r1", "g") {
			e.wantToken(t, b, tok, t1, "of b, after a.DeleteAll")
		}
		wantErr(t, "b.CreateTokens in b's revoked grant, after a.DeleteAll", b.CreateTokens(e.ctx, e.token("a2", "revoked")), oauthkit.ErrReused)
		e.wantByUserCode(t, b, e.pendingDevice("d"), e.now, "of b, after a.DeleteAll")
		got, err := b.ConsumePushedRequest(e.ctx, e.pushed("p").ID, e.web(), e.now)
		if wantOK(t, "b.ConsumePushedRequest after a.DeleteAll", err) {
			wantPushed(t, "b.ConsumePushedRequest", got, e.pushed("p"))
		}
		got2, err := b.ConsumeCode(e.ctx, e.code("c").ID, e.web(), e.now)
		if wantOK(t, "b.ConsumeCode after a.DeleteAll", err) {
			wantEqual(t, "b.ConsumeCode", got2, e.code("c"))
		}
	})

	t.Run("ReplayKeys", func(t *testing.T) {
		e := newEnv(t)
		a, b := newStores(t)
		k, exp := e.key("jti"), e.now.Add(time.Minute)
		e.remember(t, a, k, e.now, exp, true, "a, first")
		e.remember(t, b, k, e.now, exp, true, "b, after a remembered the key")
		e.remember(t, a, k, e.now, exp, false, "a, again")
		e.remember(t, b, k, e.now, exp, false, "b, again")
	})
}

// wantClient checks that s returns want for its ID.
func (e *env) wantClient(t *testing.T, s oauthkit.ClientStore, want *oauthkit.Client, why string) {
	t.Helper()
	got, err := s.Client(e.ctx, want.ID)
	if wantOK(t, "Client ("+why+")", err) {
		wantEqual(t, "Client ("+why+")", got, want)
	}
}
