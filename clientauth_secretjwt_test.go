package oauthkit_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

var (
	csjSealKey  = bytes.Repeat([]byte{7}, oauthkit.SealKeySize)
	csjSecret   = strings.Repeat("s3cret-", 10)[:64] // long enough for HS512
	csjShort    = "a-generated-secret-of-32-bytes!!" // HS256 only
	csjOtherKey = bytes.Repeat([]byte{9}, oauthkit.SealKeySize)
)

// csjSeal seals secret for client under key.
func csjSeal(t testing.TB, key []byte, client, secret string) []byte {
	t.Helper()
	sealed, err := oauthkit.SealClientSecret(key, client, secret)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// newCSJFixture is a token endpoint over HTTP with client_secret_jwt, and
// private_key_jwt too if withPKJ. Its clients: "mac" (client_secret_jwt,
// a 64-byte secret), "short" (a 32-byte one), "moved" (mac's sealed secret,
// copied to another client), "rekeyed" (sealed under another key),
// "unsealed" (no sealed secret), "pkj" (private_key_jwt, the key ec1) and
// "basic" (client_secret_basic).
func newCSJFixture(t testing.TB, withPKJ bool) (*pkjFixture, pkjKey) {
	t.Helper()
	f := &pkjFixture{now: time.Now().Truncate(time.Second)}
	ec := newPKJKey(t, "ec1", jose.ES256)
	hash, err := oauthkit.HashSecret(csjSecret)
	if err != nil {
		t.Fatal(err)
	}
	client := func(id, method string) *oauthkit.Client {
		return &oauthkit.Client{ID: id, AuthMethod: method,
			GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}}
	}
	mac, short, moved, rekeyed, pkj, basic := client("mac", oauthkit.AuthMethodClientSecretJWT), client("short", oauthkit.AuthMethodClientSecretJWT),
		client("moved", oauthkit.AuthMethodClientSecretJWT), client("rekeyed", oauthkit.AuthMethodClientSecretJWT),
		client("pkj", oauthkit.AuthMethodPrivateKeyJWT), client("basic", "")
	mac.SealedSecret = csjSeal(t, csjSealKey, "mac", csjSecret)
	short.SealedSecret = csjSeal(t, csjSealKey, "short", csjShort)
	moved.SealedSecret = mac.SealedSecret
	rekeyed.SealedSecret = csjSeal(t, csjOtherKey, "rekeyed", csjSecret)
	pkj.JWKS = pkjKeySet(t, ec)
	basic.SealedSecret, basic.SecretHash = mac.SealedSecret, hash
	store := memory.NewStore(mac, short, moved, rekeyed, client("unsealed", oauthkit.AuthMethodClientSecretJWT), pkj, basic)

	methods := []oauthkit.ClientAuthMethod{oauthkit.ClientSecretJWT{SealKey: csjSealKey}}
	if withPKJ {
		methods = append(methods, oauthkit.PrivateKeyJWT{})
	}
	f.serve(t, store, methods...)
	return f, ec
}

// csjMAC returns the claims of client's assertion at now, edited by edit,
// MACed with alg keyed with secret.
func csjMAC(t testing.TB, alg jose.SignatureAlgorithm, secret, client string, now time.Time, edit func(c map[string]any)) string {
	t.Helper()
	c := pkjClaims(client, now)
	if edit != nil {
		edit(c)
	}
	return pkjSignWith(t, jose.SigningKey{Algorithm: alg, Key: []byte(secret)}, &jose.SignerOptions{}, c)
}

// The assertions client_secret_jwt accepts and refuses, on a server that
// has private_key_jwt too (an assertion goes to one method by its alg) and
// on one that has only client_secret_jwt.
func TestClientSecretJWT(t *testing.T) {
	both, ec := newCSJFixture(t, true)
	alone, _ := newCSJFixture(t, false)
	now := both.now
	refused := func(desc string) pkjAnswer { return pkjAnswer{Status: 400, Error: "invalid_client", Description: desc} }
	mac := func(alg jose.SignatureAlgorithm, secret, client string) string {
		return csjMAC(t, alg, secret, client, now, nil)
	}
	tests := []struct {
		name      string
		f         *pkjFixture
		assertion string
		want      pkjAnswer
	}{
		{name: "HS256", f: both, assertion: mac(jose.HS256, csjSecret, "mac"), want: pkjAnswer{Status: 200}},
		{name: "HS384", f: both, assertion: mac(jose.HS384, csjSecret, "mac"), want: pkjAnswer{Status: 200}},
		{name: "HS512", f: both, assertion: mac(jose.HS512, csjSecret, "mac"), want: pkjAnswer{Status: 200}},
		{name: "HS256 alone", f: alone, assertion: mac(jose.HS256, csjSecret, "mac"), want: pkjAnswer{Status: 200}},
		{name: "32-byte secret, HS256", f: both, assertion: mac(jose.HS256, csjShort, "short"), want: pkjAnswer{Status: 200}},
		{name: "private_key_jwt beside it", f: both, assertion: pkjSign(t, ec, pkjClaims("pkj", now)), want: pkjAnswer{Status: 200}},

		{name: "wrong secret", f: both, assertion: mac(jose.HS256, strings.Repeat("x", 64), "mac"), want: refused("client_assertion signature invalid")},
		{name: "32-byte secret, HS512", f: both, assertion: mac(jose.HS512, csjShort+csjShort, "short"), want: refused("client_assertion signed with HS512, which needs a secret of at least 64 bytes")},
		{name: "expired", f: both, assertion: csjMAC(t, jose.HS256, csjSecret, "mac", now, func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() }), want: refused("client_assertion expired")},
		{name: "wrong aud", f: both, assertion: csjMAC(t, jose.HS256, csjSecret, "mac", now, func(c map[string]any) { c["aud"] = "https://evil.example.com" }), want: refused("client_assertion aud must contain the issuer or the token endpoint URL")},
		{name: "iss is not sub", f: both, assertion: csjMAC(t, jose.HS256, csjSecret, "mac", now, func(c map[string]any) { c["iss"] = "short" }), want: refused("client_assertion iss and sub must both be the client ID")},
		{name: "client registered for another method", f: both, assertion: mac(jose.HS256, csjSecret, "basic"), want: refused("client authentication failed")},
		{name: "private_key_jwt client sends an HMAC", f: both, assertion: mac(jose.HS256, csjSecret, "pkj"), want: refused("client authentication failed")},
		{name: "client_secret_jwt client signs with a key", f: both, assertion: pkjSign(t, ec, pkjClaims("mac", now)), want: refused("client authentication failed")},
		{name: "asymmetric alg, client_secret_jwt alone", f: alone, assertion: pkjSign(t, ec, pkjClaims("mac", now)), want: refused("client_assertion signature algorithm not allowed")},
		{name: "HS256 keyed with a public key", f: both, assertion: csjMAC(t, jose.HS256, string(pkjKeySet(t, ec)), "pkj", now, nil), want: refused("client authentication failed")},
		{name: "alg none", f: both, assertion: "eyJhbGciOiJub25lIn0." + strings.Split(mac(jose.HS256, csjSecret, "mac"), ".")[1] + ".", want: refused("client_assertion signature algorithm not allowed")},
		{name: "no sealed secret", f: both, assertion: mac(jose.HS256, csjSecret, "unsealed"), want: refused("the client has no sealed secret")},
		{name: "sealed secret copied from another client", f: both, assertion: mac(jose.HS256, csjSecret, "moved"), want: pkjAnswer{Status: 500, Error: "server_error"}},
		{name: "sealed under another key", f: both, assertion: mac(jose.HS256, csjSecret, "rekeyed"), want: pkjAnswer{Status: 500, Error: "server_error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.f.post(t, tt.assertion, nil, false)
			if tt.want.Status == 500 {
				got.Description = "" // server_error says nothing of the cause
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

// A client_secret_jwt assertion is accepted once.
func TestClientSecretJWTReplay(t *testing.T) {
	f, _ := newCSJFixture(t, true)
	a := csjMAC(t, jose.HS256, csjSecret, "mac", f.now, nil)
	want := []pkjAnswer{{Status: 200}, {Status: 400, Error: "invalid_client", Description: "client_assertion replayed (jti used before)"}}
	got := []pkjAnswer{f.post(t, a, nil, false), f.post(t, a, nil, false)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("use, then replay (-want +got):\n%s", diff)
	}
}

// SealClientSecret refuses what would make a weak HMAC key, and never
// leaves the secret in the clear.
func TestSealClientSecret(t *testing.T) {
	seals := []struct {
		name, client, secret string
		key                  []byte
		wantErr              string
	}{
		{name: "sealed", client: "mac", secret: csjShort, key: csjSealKey},
		{name: "short secret", client: "mac", secret: csjShort[:31], key: csjSealKey, wantErr: "at least 32 bytes"},
		{name: "bad key", client: "mac", secret: csjSecret, key: csjSealKey[:31], wantErr: "a seal key is 32 bytes"},
		{name: "no client", secret: csjSecret, key: csjSealKey, wantErr: "needs the client ID"},
	}
	for _, tt := range seals {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := oauthkit.SealClientSecret(tt.key, tt.client, tt.secret)
			if got := errString(err); tt.wantErr == "" && err != nil || !strings.Contains(got, tt.wantErr) {
				t.Fatalf("SealClientSecret: %v, want an error containing %q", err, tt.wantErr)
			}
			if err == nil && bytes.Contains(sealed, []byte(tt.secret)) {
				t.Error("the sealed secret holds the secret in the clear")
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Client.Validate takes a sealed secret for client_secret_jwt, and for it
// only.
func TestClientSecretJWTValidate(t *testing.T) {
	sealed := csjSeal(t, csjSealKey, "c", csjSecret)
	tests := []struct {
		name    string
		client  oauthkit.Client
		wantErr bool
	}{
		{name: "client_secret_jwt", client: oauthkit.Client{ID: "c", AuthMethod: oauthkit.AuthMethodClientSecretJWT, SealedSecret: sealed}},
		{name: "client_secret_jwt without a sealed secret", client: oauthkit.Client{ID: "c", AuthMethod: oauthkit.AuthMethodClientSecretJWT}, wantErr: true},
		{name: "a sealed secret for client_secret_basic", client: oauthkit.Client{ID: "c", SecretHash: "$sha256$x", SealedSecret: sealed}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.client.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want an error: %v", err, tt.wantErr)
			}
		})
	}
}
