package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// The document's paths, client and user.
const (
	pathAuthorize = "/authorize"
	pathToken     = "/oauth/token"
	pathSecure    = "/secure"

	clientID     = "SkyVaultapp"
	clientSecret = "secret"
	redirectURI  = "https://client.example.com/cb"
	realm        = "SkyVault"
)

// shortLived are the grants whose access tokens the document shows with
// expires_in 1799; the others get the library's default, 3600 s as the
// document shows for the code and implicit grants.
var shortLived = map[string]bool{
	oauthkit.GrantTypePassword:     true,
	oauthkit.GrantTypeRefreshToken: true,
	grants.GrantTypeExternalToken:  true,
}

// newApp returns the content platform's OAuth module on one mux: the
// authorization endpoint at /authorize, the token endpoint at /oauth/token
// (parameters also read from the query of a POST, as the document sends
// them) and the protected resource /secure.
func newApp(issuer string, logger *slog.Logger) (http.Handler, error) {
	users, err := newUserTable(map[string]string{"admin": "tiger"})
	if err != nil {
		return nil, err
	}
	// upstream stands for the authorization server already present (the
	// document's AUTH_SERVER), whose users import their tokens with the
	// external_token grant; the document gives admin the password admin
	// there. A real host asks that server instead (ExternalToken.Verify).
	upstream, err := newUserTable(map[string]string{"admin": "admin"})
	if err != nil {
		return nil, err
	}
	secretHash, err := oauthkit.HashLowEntropySecret(clientSecret)
	if err != nil {
		return nil, err
	}
	store := memory.NewStore(&oauthkit.Client{
		ID:           clientID,
		SecretHash:   secretHash,
		RedirectURIs: []string{redirectURI},
		GrantTypes: []string{
			oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeImplicit, oauthkit.GrantTypePassword,
			oauthkit.GrantTypeRefreshToken, oauthkit.GrantTypeClientCredentials, grants.GrantTypeExternalToken,
		},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read", "write"}, // the document's requests name no scope and get "read write"
	})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:    issuer,
		Endpoints: oauthkit.Endpoints{Authorization: issuer + pathAuthorize, Token: issuer + pathToken},
		Clients:   store, Codes: store, Tokens: store,
		Authorizer: authorizer(users),
		Grants: []oauthkit.GrantHandler{
			grants.Password{Users: users},
			grants.ClientCredentials{},
			grants.ExternalToken{Users: upstream},
		},
		Issuance: oauthkit.IssuanceFunc(issuance),
		// What the document asks, and the RFCs allow but advise against:
		AllowImplicitGrant:                 true, // RFC 9700 §2.1.2
		InsecureAllowQueryParameters:       true, // RFC 6749 §4.1.3, §4.3.2, §6: parameters in the body
		PKCEOptionalForConfidentialClients: true, // RFC 9700 §2.1.1 recommends PKCE for them too
		Logger:                             logger,
	})
	if err != nil {
		return nil, err
	}
	guard, err := bearer.New(bearer.Config{Validator: bearer.Local(srv, ""), Realm: realm, Logger: logger})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(pathAuthorize, queryPOSTAsGET(srv.AuthorizeHandler()))
	mux.Handle(pathToken, srv.TokenHandler())
	mux.Handle("GET /.well-known/oauth-authorization-server", srv.MetadataHandler())
	mux.Handle(pathSecure, guard.Wrap(http.HandlerFunc(secure), "read"))
	return mux, nil
}

// issuance gives each grant the lifetime and token_type the document
// shows: expires_in 1799 for password, refresh_token and external_token,
// and "bearer" in lower case (RFC 6749 §5.1: the value is case-insensitive).
func issuance(_ context.Context, iss *oauthkit.Issuance) error {
	if shortLived[iss.GrantType] {
		iss.AccessTokenLifetime = 1799 * time.Second
	}
	if iss.JKT == "" {
		iss.TokenType = "bearer"
	}
	return nil
}

// authorizer signs the resource owner in with HTTP Basic at the
// authorization endpoint, as the document's curl requests do, and consents
// for them: the document shows no consent page. Basic credentials that are
// not a user's, the client's among them, get the login challenge again
// (RFC 6749 §3.1: this endpoint authenticates the resource owner; clients
// authenticate at the token endpoint).
func authorizer(users userTable) oauthkit.Authorizer {
	return oauthkit.AuthorizerFunc(func(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
		if username, password, ok := r.BasicAuth(); ok {
			subject, err := users.AuthenticateUser(r.Context(), username, password)
			switch {
			case err == nil:
				return &oauthkit.Consent{Subject: subject, AuthTime: time.Now()}, nil
			case !errors.Is(err, oauthkit.ErrInvalidCredentials):
				return nil, err // a fault: server_error, redirected to the client
			}
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
		http.Error(w, "sign in as a user of "+realm, http.StatusUnauthorized)
		return nil, oauthkit.ErrResponseWritten
	})
}

// The document's curl requests POST with every parameter in the URL's
// query, no body and no Content-Type. The token endpoint takes them under
// Config.InsecureAllowQueryParameters; at the authorization endpoint, this
// shim lets them in.

// queryPOSTAsGET serves such a POST at the authorization endpoint as the
// GET it stands for: the endpoint reads only the body of a POST. An
// authorization request's parameters are in the URL in any case.
func queryPOSTAsGET(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
			r = r.Clone(r.Context())
			r.Method = http.MethodGet
		}
		next.ServeHTTP(w, r)
	})
}

// secure is the document's protected resource.
func secure(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "Secure Hello!")
}

// userTable holds users' password hashes by username; it is the
// oauthkit.UserAuthenticator of the password and external_token grants.
type userTable map[string]string

// newUserTable hashes the passwords of users, given by username.
func newUserTable(passwords map[string]string) (userTable, error) {
	t := userTable{}
	for name, password := range passwords {
		hash, err := oauthkit.HashLowEntropySecret(password)
		if err != nil {
			return nil, err
		}
		t[name] = hash
	}
	return t, nil
}

// AuthenticateUser checks the password of username; an unknown user costs
// as much as a wrong password.
func (t userTable) AuthenticateUser(ctx context.Context, username, password string) (string, error) {
	hash, known := t[username]
	if !known {
		hash = t["admin"]
	}
	ok, err := oauthkit.VerifySecret(ctx, hash, password)
	switch {
	case err != nil:
		return "", err
	case !ok || !known:
		return "", oauthkit.ErrInvalidCredentials
	}
	return username, nil
}
