package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oauthkit/oauthkit"
)

func TestMain(m *testing.M) {
	// Argon2id costs a few hundred milliseconds per hash and per check
	// under -race; bcrypt at its lowest cost goes through the same
	// oauthkit.VerifySecret. TestSecretsHashedWithArgon2id checks the real
	// hash.
	hashSecret = fastHash
	// x/oauth2 waits the interval before each poll: one second, not five.
	deviceInterval = time.Second
	os.Exit(m.Run())
}

func fastHash(secret string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	return string(h), err
}

// The server hashes config secrets and passwords with Argon2id.
func TestSecretsHashedWithArgon2id(t *testing.T) {
	hashSecret = oauthkit.HashLowEntropySecret
	t.Cleanup(func() { hashSecret = fastHash })

	cfg := demoConfig()
	cfg.Issuer = "http://127.0.0.1:9000"
	cfg.Clients = cfg.Clients[2:3] // svc
	a, err := newApp(context.Background(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	users := a.pages.users.(*userStore)
	hashes := map[string]string{"user alice": users.hashes["alice"], "unknown-user dummy": users.dummy}
	c, err := a.clients.Client(context.Background(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	hashes["client svc"] = c.SecretHash
	for name, h := range hashes {
		if !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("%s: hash %q is not Argon2id", name, h)
		}
	}
	for name, hs := range map[string][2]string{"client svc": {c.SecretHash, "svc-secret"}, "user alice": {users.hashes["alice"], "wonderland"}} {
		if ok, err := oauthkit.VerifySecret(t.Context(), hs[0], hs[1]); !ok || err != nil {
			t.Errorf("%s: VerifySecret = %v, %v; want true, nil", name, ok, err)
		}
	}
}

func TestNewAppErrors(t *testing.T) {
	withIssuer := func(f func(*config)) config {
		cfg := demoConfig()
		cfg.Issuer = "http://127.0.0.1:9000"
		f(&cfg)
		return cfg
	}
	refusing := memoryStores()
	refusing.putClient = func(context.Context, *oauthkit.Client) error { return errors.New("read-only database") }
	tests := []struct {
		name    string
		cfg     config
		st      *stores
		wantErr string
	}{
		{name: "no issuer", cfg: demoConfig(), wantErr: "newApp: the issuer is not set"},
		{name: "invalid config", cfg: withIssuer(func(c *config) { c.Clients[0].RedirectURIs, c.Clients[0].DemoCallback = nil, false }), wantErr: "config: clients[0].redirect_uris: required for the authorization_code grant"},
		{name: "invalid issuer", cfg: withIssuer(func(c *config) { c.Issuer = "http://example.com" }), wantErr: `config: issuer: "http://example.com" must use https (http only on a loopback host, for development)`},
		{name: "store refuses a client", cfg: withIssuer(func(*config) {}), st: refusing, wantErr: `storing client "web": read-only database`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newApp(t.Context(), tt.cfg, tt.st, slog.New(slog.DiscardHandler))
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("newApp error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
