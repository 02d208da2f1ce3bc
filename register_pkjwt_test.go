package oauthkit_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// A client that registered itself chose its jwks_uri: with PrivateKeyJWT's
// default HTTP client, it is fetched only from public addresses, so such a
// client cannot make the server connect into its own network. A client the
// host registered is fetched as before.
func TestPrivateKeyJWTSelfRegisteredJWKSURIOnlyPublic(t *testing.T) {
	var conns atomic.Int32
	jwksSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	jwksSrv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	jwksSrv.StartTLS()
	t.Cleanup(jwksSrv.Close)

	f := &pkjFixture{now: time.Now().Truncate(time.Second), keys: map[string]pkjKey{}}
	f.keys["u1"] = newPKJKey(t, "u1", jose.ES256)
	client := func(id string, reg *oauthkit.ClientRegistration) *oauthkit.Client {
		return &oauthkit.Client{ID: id, AuthMethod: oauthkit.AuthMethodPrivateKeyJWT, JWKSURI: jwksSrv.URL + "/jwks",
			GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}, Registration: reg}
	}
	f.serve(t, memory.NewStore(client("registered", &oauthkit.ClientRegistration{}), client("host", nil)),
		oauthkit.PrivateKeyJWT{FetchTimeout: 300 * time.Millisecond})

	if got := f.post(t, f.sign(t, "u1", "registered", nil), nil, false); got.Status == http.StatusOK {
		t.Fatalf("a self-registered client with a loopback jwks_uri authenticated: %+v", got)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the server connected %d times to a self-registered client's loopback jwks_uri", n)
	}
	f.post(t, f.sign(t, "u1", "host", nil), nil, false) // fails on the test certificate, after connecting
	if n := conns.Load(); n == 0 {
		t.Error("a host's client's jwks_uri was not fetched")
	}
}
