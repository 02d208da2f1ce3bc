// Command multitenant is a multi-tenant identity hub (seed document 002)
// built with oauthkit: each tenant an issuer of its own at {base}/{tenant},
// with /{tenant}/oauth2/v1/auth/ and /{tenant}/oauth2/v1/token/, PKCE,
// refresh tokens that keep working while the user is offline and stop once
// the user is blocked, and one store shared by every tenant.
//
//	go run ./examples/multitenant                       # memory, localhost:8002
//	go run ./examples/multitenant -store 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//
// It prints its URLs, the demo tenants, client and users, and the
// document's requests ready to paste. See README.md.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/oauthkit/oauthkit/pkce"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/postgres"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

func main() {
	addr := flag.String("addr", "localhost:8002", "address to listen on")
	storeURL := flag.String("store", "memory", "the store every tenant shares: memory, or a PostgreSQL `URL` such as\npostgres://user@127.0.0.1:5432/db?sslmode=disable (migrated at start)")
	flag.Parse()
	ctx := context.Background()
	store, err := openStore(ctx, *storeURL)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The base URL names the host as -addr does (localhost for an
	// unspecified one) and the port listened on.
	host, _, _ := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cfg := config{
		Base:          "http://" + net.JoinHostPort(host, port),
		Store:         store,
		ClientSecret:  rand.Text() + rand.Text(),
		AdminPassword: rand.Text(),
		Logger:        slog.Default(),
	}
	h, err := newApp(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	go func() { // expired codes and tokens of every tenant, once for all
		for range time.Tick(10 * time.Minute) {
			if err := store.DeleteExpired(ctx, time.Now()); err != nil {
				log.Print(err)
			}
		}
	}()
	if err := banner(os.Stdout, cfg); err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// sharedStore is the store every tenant shares, as package memory and
// package postgres make it.
type sharedStore interface {
	tenant.Store
	DeleteExpired(ctx context.Context, now time.Time) error
}

// openStore opens the store named by -store: memory, or a PostgreSQL URL,
// whose schema it migrates.
func openStore(ctx context.Context, spec string) (sharedStore, error) {
	if spec == "memory" {
		return memory.NewStore(), nil
	}
	if u, err := url.Parse(spec); err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("-store: want memory or a PostgreSQL URL such as postgres://user@127.0.0.1:5432/db?sslmode=disable")
	}
	store, err := postgres.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// banner prints the hub's URLs, tenants, client and users, and the
// document's requests for tenant acme as they work here.
func banner(w io.Writer, cfg config) error {
	verifier, err := pkce.GenerateVerifier(nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "identity hub at %s\n", cfg.Base)
	for _, t := range demoTenants {
		iss := cfg.Base + "/" + t.id
		fmt.Fprintf(w, "tenant %s: issuer %s\n  authorization %s%s  token %s%s  (each also without the trailing slash)\n  keys %s%s  metadata %s/.well-known/oauth-authorization-server/%s  API %s%s\n  users:",
			t.id, iss, iss, pathAuth, iss, pathToken, iss, pathKeys, cfg.Base, t.id, iss, pathMe)
		for _, u := range t.users {
			fmt.Fprintf(w, " %s/%s (%v)", u.name, u.password, u.rights)
		}
		fmt.Fprintln(w)
	}
	iss := cfg.Base + "/acme"
	cb := url.QueryEscape(redirectURI)
	fmt.Fprintf(w, `client %[1]s at every tenant, secret %[2]s, redirect URI %[3]s
admin routes: user admin, password %[4]s

# Step 1: open in a browser, sign in as alice/wonderland; copy code= from the address it redirects to
%[5]s%[6]s?response_type=code&client_id=%[1]s&redirect_uri=%[7]s&scope=profile+orders&state=xyz&code_challenge=%[8]s&code_challenge_method=S256
# Step 2: exchange the code
curl -i -u %[1]s:%[2]s -d grant_type=authorization_code -d code=CODE -d redirect_uri=%[7]s -d code_verifier=%[9]s %[5]s%[10]s
# call the tenant's API
curl -i -H 'Authorization: Bearer ACCESS_TOKEN' %[5]s%[11]s
# Step 3: refresh, as often as you like while alice is offline
curl -i -u %[1]s:%[2]s -d grant_type=refresh_token -d refresh_token=REFRESH_TOKEN %[5]s%[10]s
# block alice at acme: her refresh and access tokens stop working (alice at globex is another user)
curl -i -u admin:%[4]s -X POST %[5]s/admin/users/alice/block
# or narrow her rights: her next refresh grants profile only
curl -i -u admin:%[4]s -X PUT -d scope=profile %[5]s/admin/users/alice/rights
`, clientID, cfg.ClientSecret, redirectURI, cfg.AdminPassword, iss, pathAuth, cb, pkce.Challenge(verifier), verifier, pathToken, pathMe)
	return nil
}
