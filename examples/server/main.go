// Command server is a runnable OAuth 2.0 authorization server and OpenID
// Connect provider built with oauthkit: the library wired into a plain
// net/http app, with a login page, a consent page and a demo API protected
// by bearer tokens.
//
//	go run ./examples/server                      # demo clients and user on 127.0.0.1:9000
//	go run ./examples/server -addr 127.0.0.1:9000 -config server.json
//	go run ./examples/server -store 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//
// With no -config it serves the demo clients web, spa, svc and legacy and
// the user alice (password wonderland), and prints its URLs and curl
// commands to try. The config file is JSON; every field is optional and
// takes the demo default when missing:
//
//	{
//	  "issuer": "http://127.0.0.1:9000",
//	  "access_token_format": "opaque",
//	  "clients": [
//	    {"id": "web", "name": "Demo Web App", "secret": "s3cret", "redirect_uris": ["http://127.0.0.1:9000/callback/web"],
//	     "grant_types": ["authorization_code", "refresh_token"], "scopes": ["openid", "profile", "read", "write"]},
//	    {"id": "spa", "public": true, "redirect_uris": ["http://127.0.0.1:9999/cb"],
//	     "grant_types": ["authorization_code", "refresh_token"], "scopes": ["read"]}
//	  ],
//	  "users": [{"username": "alice", "password": "wonderland", "email": "alice@example.com", "name": "Alice Liddell"}],
//	  "scope_descriptions": {"read": "Read your data"}
//	}
//
// A missing issuer is "http://" + the listening address; the demo clients
// web and spa then redirect to the example's callback page under it,
// /callback/web and /callback/spa, which shows the code and a command that
// redeems it. A client's optional name and the scope descriptions are what
// the login and consent pages show. A client without
// grant_types gets authorization_code (RFC 7591 §2). Unknown fields, wrong
// types and invalid values are refused at start with a message naming the
// field. Secrets and passwords are hashed with Argon2id at start. A client
// with a secret authenticates with client_secret_basic or
// client_secret_post, unless its token_endpoint_auth_method names one; a
// client registered for private_key_jwt has no secret but its public keys
// (jwks, a JWK Set) and signs RFC 7523 assertions; one registered for
// client_secret_jwt MACs them with its secret (at least 32 characters),
// which the server keeps sealed under a key generated at each start. A
// client registered for the grant urn:ietf:params:oauth:grant-type:jwt-bearer
// (RFC 7523 §2.1) trades an assertion for an access token for the user its
// sub names: an assertion of an issuer of trusted_issuers
// ([{"issuer": "https://idp.example", "jwks": {"keys": [...]}}]), or one
// the client signs with a key of its own jwks. A client registered for
// the grant external_token (seed 001) imports the access_token and
// refresh_token it sends, minted by another server, as this server's
// tokens for the user whose username and password it sends. A client ID
// must differ from every username. rate_limit {"token_requests_per_minute": N} limits
// each client's token requests. DPoP (RFC 9449) is on: a token request
// with a proof gets tokens bound to its key (a public client's refresh
// token too); a client with "dpop_bound_access_tokens": true must send
// one, and "dpop_nonce": true makes the server ask for nonces.
// access_token_format "jwt" issues RFC 9068 JWT access tokens; a user's
// optional email and name are the OpenID Connect claims of the email and
// profile scopes.
//
// The server mounts /authorize (login and consent pages), /token, /revoke
// (RFC 7009), /introspect (RFC 7662), /par (pushed authorization
// requests, RFC 9126: a request_uri used once, valid 60 s;
// require_pushed_authorization_requests, server-wide or per client, makes
// clients use it), the RFC 8414 metadata at
// /.well-known/oauth-authorization-server, the demo API GET /api/me (a
// bearer token with scope read, or a DPoP-bound one with its proof), the callback page /callback/{client_id},
// and an index page at /. When a client may
// ask for the openid scope, OpenID Connect is on: ID tokens, /userinfo, and
// the metadata also at /.well-known/openid-configuration. The signing keys,
// generated at each start, are at /.well-known/jwks.json whenever JWTs are
// issued.
//
// "tenants": [{"id": "acme", "clients": [...], "users": [...]}] serves
// further issuers, {issuer}/acme, with clients, users, keys and sessions
// of their own, every endpoint above under /acme, and their metadata at
// /.well-known/oauth-authorization-server/acme (RFC 8414 §3.1) and
// /acme/.well-known/openid-configuration; each keeps its records in its
// view of the one store (storage/tenant), so nothing of one is valid at
// another.
//
// -store memory (the default) keeps everything in memory, lost when the
// server stops; -store postgres://... keeps clients, codes and tokens in
// PostgreSQL, migrating its schema and storing the config's clients at
// start. It is a development server either way: the banner prints the
// configured secrets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/oauthkit/oauthkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// defaultAddr is where the server listens without -addr.
const defaultAddr = "127.0.0.1:9000"

// options are the command line flags.
type options struct {
	addr       string
	configPath string
	store      string // "memory" or a PostgreSQL URL
}

// parseFlags parses the command line. A bad flag is reported once, by the
// error it returns (main prints it), after the usage on stderr; -h prints
// the usage and returns flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	// The flag package prints its error and then the usage; the error is
	// returned too, and main prints it, so the package prints nothing
	// itself and the usage is printed here.
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.addr, "addr", defaultAddr, "`host:port` to listen on (port 0 picks a free one)")
	fs.StringVar(&o.configPath, "config", "", "JSON config `file`; without it, the demo clients and user")
	fs.StringVar(&o.store, "store", storeMemory, "where clients, codes and tokens are kept: memory, or a PostgreSQL `URL` such as\npostgres://user@127.0.0.1:5432/db?sslmode=disable (migrated at start)")
	usage := func() {
		fs.SetOutput(stderr)
		defer fs.SetOutput(io.Discard)
		fmt.Fprintln(stderr, "usage: server [-addr host:port] [-config file.json] [-store memory|postgres://...]")
		fs.PrintDefaults()
	}
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		usage()
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q (flags are -addr, -config and -store)", fs.Arg(0))
	}
	return o, nil
}

// run is the whole program: it parses args, loads the config, listens,
// prints the banner to stdout, and serves until ctx is done. Logs go to
// stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(opts.configPath)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return listenError(opts.addr, err)
	}
	defer ln.Close()
	if cfg.Issuer == "" {
		cfg.Issuer = "http://" + issuerHost(ln.Addr().(*net.TCPAddr))
	}
	cfg.resolveCallbacks() // for the banner; newApp does it too
	st, err := openStores(ctx, opts.store)
	if err != nil {
		return err
	}
	defer st.close()
	a, err := newApp(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	sweepCtx, stopSweep := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		sweep(sweepCtx, sweepInterval, st.deleteExpired, logger)
	}()
	defer func() { stopSweep(); <-swept }() // before st.close

	srv := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "store", st.desc)
	printBanner(stdout, a, cfg)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// listenError explains why the server could not listen at addr, the -addr
// flag, and what to do about it.
func listenError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("-addr %s: the address is already in use: another program (or another copy of this server) listens there; stop it, or choose another address with -addr, such as -addr 127.0.0.1:0 for any free port", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("-addr %s: not allowed to listen there (ports below 1024 need privileges); choose another address with -addr, such as -addr 127.0.0.1:9000", addr)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		err = opErr.Err // without "listen tcp <addr>:", which the message says
	}
	return fmt.Errorf("-addr %s: cannot listen there: %v; choose another address with -addr, such as -addr 127.0.0.1:9000", addr, err)
}

// issuerHost is the host:port for a default issuer: the listening address,
// with an unspecified IP (":9000") shown as the loopback address.
func issuerHost(addr *net.TCPAddr) string {
	ip := addr.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port))
}

// printBanner writes the server's URLs, clients, users and commands to try.
func printBanner(w io.Writer, a *app, cfg config) {
	fmt.Fprintln(w, "oauthkit example server")
	fmt.Fprintln(w)
	width := 10 // the names' column: "introspect", or a longer name
	for _, e := range a.endpoints() {
		width = max(width, len(e[0]))
	}
	for _, e := range a.endpoints() {
		fmt.Fprintf(w, "  %-*s %s\n", width, e[0], e[1])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Store: %s\n", a.store)
	format := "opaque"
	if cfg.AccessTokenFormat == formatJWT {
		format = "JWT (RFC 9068), keys at " + a.issuer + pathJWKS
	}
	fmt.Fprintf(w, "Access tokens: %s\n", format)
	if n := cfg.TokenRequestsPerMinute; n > 0 {
		fmt.Fprintf(w, "Rate limit: %d token requests per client per minute, then 429 Too Many Requests\n", n)
	}
	if a.oidc {
		fmt.Fprintf(w, "OpenID Connect: on; discovery at %s\n", a.issuer+pathOpenID)
	}
	for _, t := range cfg.TrustedIssuers {
		fmt.Fprintf(w, "Trusted issuer (JWT bearer grant assertions, RFC 7523): %s\n", t.Issuer)
	}
	for _, t := range a.tenants {
		fmt.Fprintf(w, "Tenant: issuer %s, metadata at %s\n", t.issuer, a.issuer+pathMetadata+strings.TrimPrefix(t.issuer, a.issuer))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Clients:")
	for _, c := range cfg.Clients {
		cred := "secret " + c.Secret
		switch {
		case c.Public:
			cred = "public"
		case c.AuthMethod == oauthkit.AuthMethodPrivateKeyJWT:
			cred = "private_key_jwt (signs assertions with a key of its jwks)"
		case c.AuthMethod != "":
			cred += " (" + c.AuthMethod + " only)"
		}
		fmt.Fprintf(w, "  %-8s %s; grants %v; scopes %v", c.ID, cred, c.GrantTypes, c.Scopes)
		if len(c.RedirectURIs) > 0 {
			fmt.Fprintf(w, "; redirect %v", c.RedirectURIs)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Users:")
	for _, u := range cfg.Users {
		fmt.Fprintf(w, "  %s / %s\n", u.Username, u.Password)
	}
	if a.try.Curl != "" {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Try it (%s):\n", a.try.CurlAbout)
		fmt.Fprintf(w, "  %s\n", a.try.Curl)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Call the demo API (it needs scope %s) with an access_token from above:\n", scopeAPIRead)
	fmt.Fprintf(w, "  %s\n", a.try.API)
	if a.try.AuthorizeURL != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Authorization code with PKCE: open this in a browser and sign in,")
		fmt.Fprintf(w, "  %s\n", a.try.AuthorizeURL)
		if a.try.Callback != "" {
			fmt.Fprintf(w, "then the callback page of %s (%s) shows the code and the command that redeems it;\n", a.try.ClientID, a.try.Callback)
			fmt.Fprintln(w, "or take the code from the address of the redirect and run")
		} else {
			fmt.Fprintln(w, "then take the code from the address of the redirect and run")
		}
		fmt.Fprintf(w, "  %s\n", a.try.Exchange)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Authorization codes are single-use and live %s: redeem a code within %s of its redirect.\n", seconds(a.codeLifetime), seconds(a.codeLifetime))
	fmt.Fprintln(w)
	fmt.Fprintln(w, bannerEnd)
}

// bannerEnd is the last line of the banner.
const bannerEnd = "Press Ctrl-C to stop."
