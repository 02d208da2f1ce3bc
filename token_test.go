package oauthkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/pkce"
)

// tokenWant is the expected outcome of a token request.
type tokenWant struct {
	status int
	// code is the error code; empty for a successful response.
	code string
	// basicChallenge reports whether WWW-Authenticate: Basic is sent
	// (RFC 6749 §5.2, client authentication by the Authorization header).
	basicChallenge bool
	// allow is the expected Allow header.
	allow string
	// logged is a substring of the expected log output; "" means nothing
	// may be logged.
	logged string
	// retryAfter is the expected Retry-After header.
	retryAfter string
}

func tokenError(status int, code string) tokenWant { return tokenWant{status: status, code: code} }

var (
	tokenOK         = tokenWant{status: http.StatusOK}
	invalidRequest  = tokenError(400, "invalid_request")
	invalidGrant    = tokenError(400, "invalid_grant")
	invalidScope    = tokenError(400, "invalid_scope")
	invalidTarget   = tokenError(400, "invalid_target")
	basicRefused    = tokenWant{status: 401, code: "invalid_client", basicChallenge: true}
	clientRefused   = tokenError(400, "invalid_client")
	unauthorized    = tokenError(400, "unauthorized_client")
	unsupportedType = tokenError(400, "unsupported_grant_type")
)

func serverFault(logged string) tokenWant {
	return tokenWant{status: 500, code: "server_error", logged: logged}
}

// storeUnavailable is the answer to a store that cannot be reached for now:
// server_error (RFC 6749 §5.2 has no better code), with 503 and Retry-After.
func storeUnavailable(logged string) tokenWant {
	return tokenWant{status: 503, code: "server_error", logged: logged, retryAfter: "5"}
}

// codeForm is the body of a code redemption, changed by extra as in
// codeRequest.
func codeForm(code string, extra url.Values) url.Values {
	return changed(url.Values{"grant_type": {GrantTypeAuthorizationCode}, "code": {code}, "code_verifier": {testVerifier}}, extra)
}

func refreshForm(refreshToken string, extra url.Values) url.Values {
	v := url.Values{"grant_type": {GrantTypeRefreshToken}, "refresh_token": {refreshToken}}
	for k, vs := range extra {
		v[k] = vs
	}
	return v
}

// tokensFor runs a whole code flow for client and returns the tokens.
func (e *testEnv) tokensFor(t testing.TB, client string, extra url.Values) TokenResponse {
	t.Helper()
	return e.redeem(t, client, e.authorizeCode(t, client, extra))
}

// checkLive reports an error for each raw token whose liveness in the
// store is not want.
func checkLive(t *testing.T, e *testEnv, want bool, what string, raws ...string) {
	t.Helper()
	for _, raw := range raws {
		if _, ok := e.tokens.stored(raw); ok != want {
			t.Errorf("%s stored: %t, want %t", what, ok, want)
		}
	}
}

// errGrant is an extension grant that fails or returns nothing.
type errGrant struct{ err error }

func (errGrant) GrantType() string { return "urn:example:grant:broken" }
func (g errGrant) HandleGrant(context.Context, *TokenRequest) (*Grant, error) {
	return nil, g.err
}

// noSubjectGrant returns a grant without a subject.
type noSubjectGrant struct{}

func (noSubjectGrant) GrantType() string { return "urn:example:grant:anonymous" }
func (noSubjectGrant) HandleGrant(context.Context, *TokenRequest) (*Grant, error) {
	return &Grant{}, nil
}

// failingIssuer is a TokenIssuer that cannot mint tokens.
type failingIssuer struct{}

func (failingIssuer) IssueAccessToken(context.Context, string, *Token) (string, error) {
	return "", errors.New("kms: key projects/x/keys/y is disabled")
}

type setupFunc func(t *testing.T, e *testEnv) (*http.Request, func(t *testing.T))

// just wraps a request that needs no state.
func just(r func() *http.Request) setupFunc {
	return func(*testing.T, *testEnv) (*http.Request, func(*testing.T)) { return r(), nil }
}

func TestTokenEndpoint(t *testing.T) {
	webBasic := func(form url.Values) func() *http.Request {
		return func() *http.Request { return asClient("web", form) }
	}
	resourceFor := func(client string, form url.Values) setupFunc {
		return just(func() *http.Request {
			return asClient(client, changed(url.Values{"grant_type": {resourceGrantType}, "scope": {"read"}}, form))
		})
	}
	byBasic := func(id, secret string, form url.Values) setupFunc {
		return just(func() *http.Request { return withBasic(tokenPost(form), id, secret) })
	}
	byForm := func(form url.Values) setupFunc {
		return just(func() *http.Request { return tokenPost(form) })
	}
	// redeemWith issues a code to client with the authorization request
	// changed by authz and redeems it with a request changed by token.
	redeemWith := func(client string, authz, token url.Values) setupFunc {
		return func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
			return asClient(client, codeForm(e.authorizeCode(t, client, authz), token)), nil
		}
	}

	tests := []struct {
		name      string
		configure func(*Config)
		setup     setupFunc
		want      tokenWant
	}{
		// The request itself.
		{
			name: "GET",
			setup: just(func() *http.Request {
				return httptest.NewRequest(http.MethodGet, "/token?"+url.Values{"grant_type": {resourceGrantType}}.Encode(), nil)
			}),
			want: tokenWant{status: 405, code: "invalid_request", allow: "POST"},
		},
		{
			name: "JSON body",
			setup: just(func() *http.Request {
				r := withBasic(httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(`{"grant_type":"urn:example:grant:resource"}`)), "svc", svcSecret)
				r.Header.Set("Content-Type", "application/json")
				return r
			}),
			want: invalidRequest,
		},
		{
			name: "no content type",
			setup: just(func() *http.Request {
				r := asClient("svc", url.Values{"grant_type": {resourceGrantType}})
				r.Header.Del("Content-Type")
				return r
			}),
			want: invalidRequest,
		},
		{
			name: "multipart body",
			setup: just(func() *http.Request {
				r := asClient("svc", url.Values{"grant_type": {resourceGrantType}})
				r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
				return r
			}),
			want: invalidRequest,
		},
		{
			name: "content type with charset",
			setup: just(func() *http.Request {
				r := asClient("svc", url.Values{"grant_type": {resourceGrantType}})
				r.Header.Set("Content-Type", "Application/X-WWW-Form-URLEncoded; charset=UTF-8")
				return r
			}),
			want: tokenOK,
		},
		{
			name:      "body over MaxRequestBytes",
			configure: func(c *Config) { c.MaxRequestBytes = 512 },
			setup:     resourceFor("svc", url.Values{"pad": {strings.Repeat("x", 1024)}}),
			want:      invalidRequest,
		},
		{
			name:      "body at MaxRequestBytes",
			configure: func(c *Config) { c.MaxRequestBytes = 512 },
			setup: just(func() *http.Request {
				body := url.Values{"grant_type": {resourceGrantType}, "pad": {""}}.Encode()
				body += strings.Repeat("x", 512-len(body))
				r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return withBasic(r, "svc", svcSecret)
			}),
			want: tokenOK,
		},
		{
			name: "unreadable body",
			setup: just(func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/token", iotest.ErrReader(errors.New("connection reset by peer")))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return withBasic(r, "svc", svcSecret)
			}),
			want: invalidRequest,
		},
		{
			name: "malformed escape in body",
			setup: just(func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=%zz"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return withBasic(r, "svc", svcSecret)
			}),
			want: invalidRequest,
		},
		{
			name: "semicolon in body",
			setup: just(func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type="+url.QueryEscape(resourceGrantType)+";scope=read"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return withBasic(r, "svc", svcSecret)
			}),
			want: invalidRequest,
		},
		{
			name: "parameters in the query are ignored",
			setup: just(func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/token?"+url.Values{"grant_type": {resourceGrantType}}.Encode(), strings.NewReader(""))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return withBasic(r, "svc", svcSecret)
			}),
			want: invalidRequest,
		},
		{name: "repeated grant_type", setup: resourceFor("svc", url.Values{"grant_type": {resourceGrantType, resourceGrantType}}), want: invalidRequest},
		{name: "repeated scope", setup: resourceFor("svc", url.Values{"scope": {"read", "write"}}), want: invalidRequest},
		{
			name:  "repeated client_id",
			setup: byForm(refreshForm("x", url.Values{"client_id": {"spa", "spa"}})),
			want:  invalidRequest,
		},
		{name: "repeated resource where the grant allows it", setup: resourceFor("svc", url.Values{"resource": {"https://a.example", "https://b.example"}}), want: tokenOK},
		{name: "repeated resource at every grant", setup: redeemWith("web", nil, url.Values{"resource": {"https://a.example", "https://b.example"}}), want: tokenOK},
		{name: "resource the client may not ask for", setup: resourceFor("svc", url.Values{"resource": {"https://a.example", "https://c.example"}}), want: invalidTarget},
		{name: "resource with a fragment", setup: resourceFor("svc", url.Values{"resource": {"https://a.example#f"}}), want: invalidTarget},
		{name: "relative resource", setup: resourceFor("svc", url.Values{"resource": {"/api"}}), want: invalidTarget},
		{name: "repeated code", setup: redeemWith("web", nil, url.Values{"code": {"a", "b"}}), want: invalidRequest},
		{name: "missing grant_type", setup: just(webBasic(url.Values{"scope": {"read"}})), want: invalidRequest},
		{name: "empty grant_type", setup: just(webBasic(url.Values{"grant_type": {""}})), want: invalidRequest},
		{name: "unknown grant_type", setup: just(webBasic(url.Values{"grant_type": {"urn:example:grant:nope"}})), want: unsupportedType},
		{name: "password grant not configured", setup: just(webBasic(url.Values{"grant_type": {GrantTypePassword}, "username": {"a"}, "password": {"b"}})), want: unsupportedType},
		{name: "client not registered for the grant", setup: resourceFor("spa", nil), want: unauthorized},
		{name: "client not registered for authorization_code", setup: just(func() *http.Request { return asClient("svc", codeForm("whatever", nil)) }), want: unauthorized},
		{name: "client not registered for refresh_token", setup: just(func() *http.Request { return asClient("svc", refreshForm("whatever", nil)) }), want: unauthorized},
		{name: "unknown scope", setup: resourceFor("svc", url.Values{"scope": {"read delete"}}), want: invalidScope},
		{name: "malformed scope", setup: resourceFor("svc", url.Values{"scope": {"read\\write"}}), want: invalidScope},

		// Client authentication (RFC 6749 §2.3, §5.2).
		{name: "wrong secret by Basic", setup: byBasic("svc", "wrong", url.Values{"grant_type": {resourceGrantType}}), want: basicRefused},
		{
			name:  "wrong secret by client_secret_post",
			setup: byForm(url.Values{"grant_type": {GrantTypeRefreshToken}, "refresh_token": {"x"}, "client_id": {"post"}, "client_secret": {"wrong"}}),
			want:  clientRefused,
		},
		{name: "unknown client by Basic", setup: byBasic("nobody", svcSecret, url.Values{"grant_type": {resourceGrantType}}), want: basicRefused},
		{name: "unknown client by client_id", setup: just(func() *http.Request { return asClient("nobody", url.Values{"grant_type": {resourceGrantType}}) }), want: clientRefused},
		{
			name: "malformed Basic credentials",
			setup: just(func() *http.Request {
				r := tokenPost(url.Values{"grant_type": {resourceGrantType}})
				r.Header.Set("Authorization", "Basic !!!not-base64")
				return r
			}),
			want: basicRefused,
		},
		{
			name: "Basic credentials with a bad percent-escape",
			setup: just(func() *http.Request {
				r := tokenPost(url.Values{"grant_type": {resourceGrantType}})
				r.SetBasicAuth("svc", "100%")
				return r
			}),
			want: basicRefused,
		},
		{
			name: "Basic credentials with an empty client ID",
			setup: just(func() *http.Request {
				r := tokenPost(url.Values{"grant_type": {resourceGrantType}})
				r.SetBasicAuth("", svcSecret)
				return r
			}),
			want: basicRefused,
		},
		{
			name: "Bearer authorization",
			setup: just(func() *http.Request {
				r := tokenPost(url.Values{"grant_type": {resourceGrantType}})
				r.Header.Set("Authorization", "Bearer "+svcSecret)
				return r
			}),
			want: basicRefused,
		},
		{
			name:  "Basic and client_secret in the body",
			setup: byBasic("svc", svcSecret, url.Values{"grant_type": {resourceGrantType}, "client_secret": {svcSecret}}),
			want:  invalidRequest,
		},
		{
			name:  "Basic and another client_id in the body",
			setup: byBasic("svc", svcSecret, url.Values{"grant_type": {resourceGrantType}, "client_id": {"web"}}),
			want:  invalidRequest,
		},
		{
			name:  "Basic and the same client_id in the body",
			setup: byBasic("svc", svcSecret, url.Values{"grant_type": {resourceGrantType}, "client_id": {"svc"}}),
			want:  tokenOK,
		},
		{
			name: "client_secret_basic client using client_secret_post",
			configure: func(c *Config) {
				c.Clients.(*fakeClients).clients["svc"].AuthMethod = AuthMethodSecretBasic
			},
			setup: byForm(url.Values{"grant_type": {resourceGrantType}, "client_id": {"svc"}, "client_secret": {svcSecret}}),
			want:  clientRefused,
		},
		{
			// With no method named, a client holding a secret may send it
			// either way (RFC 6749 §2.3.1).
			name:  "client without a named method using client_secret_post",
			setup: byForm(url.Values{"grant_type": {resourceGrantType}, "client_id": {"svc"}, "client_secret": {svcSecret}}),
			want:  tokenOK,
		},
		{
			name:  "client without a named method using client_secret_post with a wrong secret",
			setup: byForm(url.Values{"grant_type": {resourceGrantType}, "client_id": {"svc"}, "client_secret": {postSecret}}),
			want:  clientRefused,
		},
		{
			name:  "client_secret_post client using Basic",
			setup: byBasic("post", postSecret, refreshForm("x", nil)),
			want:  basicRefused,
		},
		{
			name:  "confidential client without a secret",
			setup: byForm(url.Values{"grant_type": {resourceGrantType}, "client_id": {"svc"}}),
			want:  clientRefused,
		},
		{
			name:  "public client sending a secret",
			setup: byForm(url.Values{"grant_type": {GrantTypeRefreshToken}, "client_id": {"spa"}, "client_secret": {"guess"}}),
			want:  clientRefused,
		},
		{
			name:  "public client using Basic",
			setup: byBasic("spa", "", refreshForm("x", nil)),
			want:  basicRefused,
		},
		{name: "no client authentication", setup: byForm(refreshForm("x", nil)), want: clientRefused},

		// The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
		{name: "code", setup: redeemWith("web", nil, nil), want: tokenOK},
		{name: "code by client_secret_post", setup: redeemWith("post", nil, nil), want: tokenOK},
		{name: "code by a public client", setup: redeemWith("spa", nil, nil), want: tokenOK},
		{name: "missing code", setup: redeemWith("web", nil, url.Values{"code": {""}}), want: invalidRequest},
		{name: "unknown code", setup: just(func() *http.Request { return asClient("web", codeForm("no-such-code", nil)) }), want: invalidGrant},
		{
			name: "expired code",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				code := e.authorizeCode(t, "web", nil)
				e.clock.Advance(DefaultCodeLifetime)
				return asClient("web", codeForm(code, nil)), nil
			},
			want: invalidGrant,
		},
		{
			name: "code just before it expires",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				code := e.authorizeCode(t, "web", nil)
				e.clock.Advance(DefaultCodeLifetime - time.Second)
				return asClient("web", codeForm(code, nil)), nil
			},
			want: tokenOK,
		},
		{
			name:      "code after a configured lifetime",
			configure: func(c *Config) { c.CodeLifetime = 10 * time.Second },
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				code := e.authorizeCode(t, "web", nil)
				e.clock.Advance(10 * time.Second)
				return asClient("web", codeForm(code, nil)), nil
			},
			want: invalidGrant,
		},
		{
			name: "code of another client",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				return asClient("post", codeForm(e.authorizeCode(t, "web", nil), nil)), nil
			},
			want: invalidGrant,
		},
		{
			name: "redeemed code presented by another client",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				code := e.authorizeCode(t, "web", nil)
				owner := e.redeem(t, "web", code)
				return asClient("post", codeForm(code, nil)), func(t *testing.T) {
					checkLive(t, e, true, "the owner's tokens", owner.AccessToken, owner.RefreshToken)
				}
			},
			want: invalidGrant,
		},
		{
			name: "code replayed by its client",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				code := e.authorizeCode(t, "web", nil)
				first := e.redeem(t, "web", code)
				checkLive(t, e, true, "tokens before the replay", first.AccessToken, first.RefreshToken)
				return asClient("web", codeForm(code, nil)), func(t *testing.T) {
					checkLive(t, e, false, "tokens issued from the replayed code", first.AccessToken, first.RefreshToken)
				}
			},
			want: invalidGrant,
		},
		{
			name: "code replay revokes refreshed tokens too",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				code := e.authorizeCode(t, "web", nil)
				first := e.redeem(t, "web", code)
				next := e.refresh(t, "web", first.RefreshToken)
				return asClient("web", codeForm(code, nil)), func(t *testing.T) {
					checkLive(t, e, false, "tokens of the replayed code's grant", next.AccessToken, next.RefreshToken)
				}
			},
			want: invalidGrant,
		},
		{
			name:  "redirect_uri differs from the authorization request",
			setup: redeemWith("native", url.Values{"redirect_uri": {"http://127.0.0.1:1111/cb"}}, url.Values{"redirect_uri": {"http://127.0.0.1:2222/cb"}}),
			want:  invalidGrant,
		},
		{
			name:  "redirect_uri omitted after the authorization request sent one",
			setup: redeemWith("native", url.Values{"redirect_uri": {"http://127.0.0.1:1111/cb"}}, nil),
			want:  invalidGrant,
		},
		{
			name:  "redirect_uri repeated from the authorization request",
			setup: redeemWith("native", url.Values{"redirect_uri": {"http://127.0.0.1:1111/cb"}}, url.Values{"redirect_uri": {"http://127.0.0.1:1111/cb"}}),
			want:  tokenOK,
		},
		{name: "redirect_uri omitted at both", setup: redeemWith("web", nil, nil), want: tokenOK},
		{name: "redirect_uri omitted at authorization, the registered one at token", setup: redeemWith("web", nil, url.Values{"redirect_uri": {webRedirect}}), want: tokenOK},
		{name: "redirect_uri omitted at authorization, another at token", setup: redeemWith("web", nil, url.Values{"redirect_uri": {"https://evil.example.com/cb"}}), want: invalidGrant},
		{name: "code_verifier does not match", setup: redeemWith("web", nil, url.Values{"code_verifier": {strings.Repeat("a", 43)}}), want: invalidGrant},
		{name: "missing code_verifier", setup: redeemWith("web", nil, url.Values{"code_verifier": {""}}), want: invalidGrant},
		{name: "code_verifier too short", setup: redeemWith("web", nil, url.Values{"code_verifier": {testVerifier[:42]}}), want: invalidRequest},
		{name: "code_verifier with forbidden characters", setup: redeemWith("web", nil, url.Values{"code_verifier": {testVerifier[:42] + "+"}}), want: invalidRequest},
		{
			name:      "code_verifier for a code issued without code_challenge",
			configure: func(c *Config) { c.PKCEOptionalForConfidentialClients = true },
			setup:     redeemWith("web", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, nil),
			want:      invalidGrant,
		},
		{
			name:      "code issued without code_challenge",
			configure: func(c *Config) { c.PKCEOptionalForConfidentialClients = true },
			setup:     redeemWith("web", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, url.Values{"code_verifier": {""}}),
			want:      tokenOK,
		},
		{
			name:      "plain code_challenge",
			configure: func(c *Config) { c.AllowPlainPKCE = true },
			setup:     redeemWith("spa", url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {pkce.Plain}}, nil),
			want:      tokenOK,
		},
		{
			name:      "plain code_challenge sent as verifier",
			configure: func(c *Config) { c.AllowPlainPKCE = true },
			setup:     redeemWith("spa", url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {pkce.Plain}}, url.Values{"code_verifier": {testChallenge}}),
			want:      invalidGrant,
		},
		{
			name:  "S256 challenge sent as verifier",
			setup: redeemWith("spa", nil, url.Values{"code_verifier": {testChallenge}}),
			want:  invalidGrant,
		},

		// The refresh_token grant (RFC 6749 §6).
		{name: "missing refresh_token", setup: just(func() *http.Request { return asClient("web", refreshForm("", nil)) }), want: invalidRequest},
		{name: "unknown refresh token", setup: just(func() *http.Request { return asClient("web", refreshForm("no-such-token", nil)) }), want: invalidGrant},
		{
			name: "refresh token of another client",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				owner := e.tokensFor(t, "web", nil)
				return asClient("spa", refreshForm(owner.RefreshToken, nil)), func(t *testing.T) {
					checkLive(t, e, true, "the owner's tokens", owner.AccessToken, owner.RefreshToken)
					e.refresh(t, "web", owner.RefreshToken)
				}
			},
			want: invalidGrant,
		},
		{
			name: "access token as refresh token",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				return asClient("web", refreshForm(e.tokensFor(t, "web", nil).AccessToken, nil)), nil
			},
			want: invalidGrant,
		},
		{
			name: "expired refresh token",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				rt := e.tokensFor(t, "web", nil).RefreshToken
				e.clock.Advance(DefaultRefreshTokenLifetime)
				return asClient("web", refreshForm(rt, nil)), nil
			},
			want: invalidGrant,
		},
		{
			name: "refresh with a wider scope",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				rt := e.tokensFor(t, "web", url.Values{"scope": {"read"}}).RefreshToken
				return asClient("web", refreshForm(rt, url.Values{"scope": {"read write"}})), nil
			},
			want: invalidScope,
		},
		{
			name: "refresh with a malformed scope",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				rt := e.tokensFor(t, "web", url.Values{"scope": {"read"}}).RefreshToken
				return asClient("web", refreshForm(rt, url.Values{"scope": {"read\x7f"}})), nil
			},
			want: invalidScope,
		},
		{
			name: "refresh with a narrower scope",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				rt := e.tokensFor(t, "web", url.Values{"scope": {"read write"}}).RefreshToken
				return asClient("web", refreshForm(rt, url.Values{"scope": {"write"}})), nil
			},
			want: tokenOK,
		},
		{
			name: "reuse of a rotated refresh token",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				first := e.tokensFor(t, "web", nil)
				second := e.refresh(t, "web", first.RefreshToken)
				return asClient("web", refreshForm(first.RefreshToken, nil)), func(t *testing.T) {
					checkLive(t, e, false, "tokens of the reused family", first.AccessToken, second.AccessToken, second.RefreshToken)
				}
			},
			want: invalidGrant,
		},

		// Internal faults: 500 server_error without detail, the cause logged.
		{
			name:  "client store failure",
			setup: resourceFor("svc", nil),
			configure: func(c *Config) {
				c.Clients.(*fakeClients).failOn("Client", errors.New("clients: too many connections for role oauth"))
			},
			want: serverFault("too many connections for role oauth"),
		},
		{
			name:  "client store unavailable",
			setup: resourceFor("svc", nil),
			configure: func(c *Config) {
				c.Clients.(*fakeClients).failOn("Client", fmt.Errorf("clients: %w", ErrUnavailable))
			},
			want: storeUnavailable("clients: oauthkit: store unavailable"),
		},
		{
			name: "code store failure",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				code := e.authorizeCode(t, "web", nil)
				e.codes.failOn("ConsumeCode", errors.New("codes: serialization failure 40001"))
				return asClient("web", codeForm(code, nil)), nil
			},
			want: serverFault("codes: serialization failure 40001"),
		},
		{
			name: "token store failure on create",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				e.tokens.failOn("CreateTokens", errors.New("tokens: relation does not exist"))
				return asClient("web", codeForm(e.authorizeCode(t, "web", nil), nil)), nil
			},
			want: serverFault("tokens: relation does not exist"),
		},
		{
			name: "token store duplicate ID",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				e.tokens.failOn("CreateTokens", fmt.Errorf("tokens: %w", ErrExists))
				return asClient("svc", url.Values{"grant_type": {resourceGrantType}}), nil
			},
			want: serverFault("tokens: oauthkit: already exists"),
		},
		{
			name: "token store failure on replay revocation",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				code := e.authorizeCode(t, "web", nil)
				e.redeem(t, "web", code)
				e.tokens.failOn("RevokeGrant", errors.New("tokens: lock timeout"))
				return asClient("web", codeForm(code, nil)), nil
			},
			want: serverFault("tokens: lock timeout"),
		},
		{
			name: "token store failure on refresh lookup",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				rt := e.tokensFor(t, "web", nil).RefreshToken
				e.tokens.failOn("Token", errors.New("tokens: read replica lag"))
				return asClient("web", refreshForm(rt, nil)), nil
			},
			want: serverFault("tokens: read replica lag"),
		},
		{
			name: "token store failure on rotation",
			setup: func(t *testing.T, e *testEnv) (*http.Request, func(*testing.T)) {
				rt := e.tokensFor(t, "web", nil).RefreshToken
				e.tokens.failOn("RotateRefreshToken", fmt.Errorf("tokens: %w", ErrUnavailable))
				return asClient("web", refreshForm(rt, nil)), nil
			},
			want: storeUnavailable("tokens: oauthkit: store unavailable"),
		},
		{
			name:      "broken randomness",
			configure: func(c *Config) { c.Rand = failingReader{} },
			setup:     resourceFor("svc", nil),
			want:      serverFault("entropy pool on fire"),
		},
		{
			name:      "access token issuer failure",
			configure: func(c *Config) { c.AccessTokens = failingIssuer{} },
			setup:     resourceFor("svc", nil),
			want:      serverFault("kms: key projects/x/keys/y is disabled"),
		},
		{
			name: "grant handler internal error",
			configure: func(c *Config) {
				c.Grants = append(c.Grants, errGrant{errors.New("upstream IdP returned 502")})
				c.Clients.(*fakeClients).clients["svc"].GrantTypes = []string{"urn:example:grant:broken"}
			},
			setup: just(func() *http.Request { return asClient("svc", url.Values{"grant_type": {"urn:example:grant:broken"}}) }),
			want:  serverFault("upstream IdP returned 502"),
		},
		{
			name: "grant handler protocol error",
			configure: func(c *Config) {
				c.Grants = append(c.Grants, errGrant{fmt.Errorf("checking assertion: %w", ErrInvalidGrant.WithDescription("assertion expired"))})
				c.Clients.(*fakeClients).clients["svc"].GrantTypes = []string{"urn:example:grant:broken"}
			},
			setup: just(func() *http.Request { return asClient("svc", url.Values{"grant_type": {"urn:example:grant:broken"}}) }),
			want:  invalidGrant,
		},
		{
			name: "grant handler returning nothing",
			configure: func(c *Config) {
				c.Grants = append(c.Grants, errGrant{nil})
				c.Clients.(*fakeClients).clients["svc"].GrantTypes = []string{"urn:example:grant:broken"}
			},
			setup: just(func() *http.Request { return asClient("svc", url.Values{"grant_type": {"urn:example:grant:broken"}}) }),
			want:  serverFault("neither grant nor error"),
		},
		{
			// No resource owner: the client is the subject (and marked so).
			name: "grant without a subject",
			configure: func(c *Config) {
				c.Grants = append(c.Grants, noSubjectGrant{})
				c.Clients.(*fakeClients).clients["svc"].GrantTypes = []string{"urn:example:grant:anonymous"}
			},
			setup: just(func() *http.Request {
				return asClient("svc", url.Values{"grant_type": {"urn:example:grant:anonymous"}})
			}),
			want: tokenOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, tt.configure)
			r, after := tt.setup(t, e)
			w := e.token(r)
			checkTokenResponse(t, e, w, tt.want)
			if tt.want.code != "" {
				golden(t, "token/"+goldenName(tt.name)+".json", w.Body.Bytes())
			}
			if after != nil {
				after(t)
			}
		})
	}
}

// checkTokenResponse checks a token endpoint response against want.
func checkTokenResponse(t *testing.T, e *testEnv, w *httptest.ResponseRecorder, want tokenWant) {
	t.Helper()
	if w.Code != want.status {
		t.Errorf("status = %d, want %d (body %s)", w.Code, want.status, w.Body)
	}
	h := w.Header()
	// RFC 6749 §5.1, §5.2: on every response, success or error.
	for k, v := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json;charset=UTF-8"} {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	wantChallenge := ""
	if want.basicChallenge {
		wantChallenge = `Basic realm="` + testIssuer + `"`
	}
	if got := h.Get("WWW-Authenticate"); got != wantChallenge {
		t.Errorf("WWW-Authenticate = %q, want %q", got, wantChallenge)
	}
	if got := h.Get("Allow"); got != want.allow {
		t.Errorf("Allow = %q, want %q", got, want.allow)
	}
	if got := h.Get("Retry-After"); got != want.retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, want.retryAfter)
	}
	logs := e.logs.String()
	switch {
	case want.logged == "" && logs != "":
		t.Errorf("unexpected log output: %s", logs)
	case want.logged != "" && !strings.Contains(logs, want.logged):
		t.Errorf("log output %q does not contain %q", logs, want.logged)
	case want.logged != "" && strings.Contains(w.Body.String(), want.logged):
		t.Errorf("the internal cause %q reached the response %s", want.logged, w.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", w.Body, err)
	}
	if want.code == "" {
		if at, _ := body["access_token"].(string); at == "" || body["token_type"] != "Bearer" {
			t.Errorf("success body %s lacks an access token", w.Body)
		}
		return
	}
	if body["error"] != want.code {
		t.Errorf("error = %v, want %s", body["error"], want.code)
	}
	for k := range body {
		if k != "error" && k != "error_description" && k != "error_uri" {
			t.Errorf("error body has member %q", k)
		}
	}
	if want.code == "server_error" && body["error_description"] != nil {
		t.Errorf("server_error with a description: %s", w.Body)
	}
}

// TestTokenScopes checks the scope of issued tokens: a narrower refresh
// keeps the original scope in the new refresh token (RFC 6749 §6), and the
// extension grant's repeated resources become the audience.
func TestTokenScopes(t *testing.T) {
	type stored struct {
		Kind     TokenKind
		Scope    []string
		Audience []string
	}
	tests := []struct {
		name      string
		run       func(t *testing.T, e *testEnv) TokenResponse
		wantScope string
		want      []stored // access token, then refresh token if any
	}{
		{
			name:      "code with default scope",
			run:       func(t *testing.T, e *testEnv) TokenResponse { return e.tokensFor(t, "web", nil) },
			wantScope: "read",
			want:      []stored{{AccessToken, []string{"read"}, nil}, {RefreshToken, []string{"read"}, nil}},
		},
		{
			name: "refresh with a narrower scope",
			run: func(t *testing.T, e *testEnv) TokenResponse {
				rt := e.tokensFor(t, "web", url.Values{"scope": {"read write"}}).RefreshToken
				return e.mustToken(t, asClient("web", refreshForm(rt, url.Values{"scope": {"write"}})))
			},
			wantScope: "write",
			want:      []stored{{AccessToken, []string{"write"}, nil}, {RefreshToken, []string{"read", "write"}, nil}},
		},
		{
			name: "refresh of a narrowed refresh with the original scope",
			run: func(t *testing.T, e *testEnv) TokenResponse {
				rt := e.tokensFor(t, "web", url.Values{"scope": {"read write"}}).RefreshToken
				narrowed := e.mustToken(t, asClient("web", refreshForm(rt, url.Values{"scope": {"write"}})))
				return e.mustToken(t, asClient("web", refreshForm(narrowed.RefreshToken, url.Values{"scope": {"read write"}})))
			},
			wantScope: "read write",
			want:      []stored{{AccessToken, []string{"read", "write"}, nil}, {RefreshToken, []string{"read", "write"}, nil}},
		},
		{
			name: "extension grant with repeated resource",
			run: func(t *testing.T, e *testEnv) TokenResponse {
				return e.mustToken(t, asClient("svc", url.Values{"grant_type": {resourceGrantType}, "scope": {"write"},
					"resource": {"https://a.example", "https://b.example"}}))
			},
			wantScope: "write",
			want:      []stored{{AccessToken, []string{"write"}, []string{"https://a.example", "https://b.example"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			resp := tt.run(t, e)
			if resp.Scope != tt.wantScope {
				t.Errorf("response scope = %q, want %q", resp.Scope, tt.wantScope)
			}
			var got []stored
			for _, raw := range []string{resp.AccessToken, resp.RefreshToken} {
				if raw == "" {
					continue
				}
				tok, ok := e.tokens.stored(raw)
				if !ok {
					t.Fatalf("issued token not stored")
				}
				got = append(got, stored{tok.Kind, tok.Scope, tok.Audience})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stored tokens (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTokenRefreshRotation checks refresh token rotation, reuse detection
// and the grace period (RFC 9700 §4.14.2).
func TestTokenRefreshRotation(t *testing.T) {
	refreshErr := func(t *testing.T, e *testEnv, rt string) {
		t.Helper()
		w := e.token(asClient("web", refreshForm(rt, nil)))
		checkTokenResponse(t, e, w, invalidGrant)
	}
	tests := []struct {
		name      string
		configure func(*Config)
		run       func(t *testing.T, e *testEnv)
	}{
		{
			name: "a refresh rotates the token",
			run: func(t *testing.T, e *testEnv) {
				first := e.tokensFor(t, "web", nil)
				second := e.refresh(t, "web", first.RefreshToken)
				if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
					t.Fatalf("refresh token not rotated: %q then %q", first.RefreshToken, second.RefreshToken)
				}
				old, _ := e.tokens.stored(first.RefreshToken)
				if !old.RotatedAt.Equal(testEpoch) {
					t.Errorf("old refresh token RotatedAt = %v, want %v", old.RotatedAt, testEpoch)
				}
				next, _ := e.tokens.stored(second.RefreshToken)
				if next.ParentID != old.ID || next.GrantID != old.GrantID {
					t.Errorf("new refresh token parent %q grant %q, want %q and %q", next.ParentID, next.GrantID, old.ID, old.GrantID)
				}
				checkLive(t, e, true, "the first access token", first.AccessToken)
				e.refresh(t, "web", second.RefreshToken)
			},
		},
		{
			name: "reuse without a grace period revokes the family",
			run: func(t *testing.T, e *testEnv) {
				first := e.tokensFor(t, "web", nil)
				second := e.refresh(t, "web", first.RefreshToken)
				refreshErr(t, e, first.RefreshToken)
				checkLive(t, e, false, "the family", first.AccessToken, second.AccessToken, second.RefreshToken)
				refreshErr(t, e, second.RefreshToken)
			},
		},
		{
			name:      "a retry within the grace period replaces the lost response",
			configure: func(c *Config) { c.RefreshTokenGracePeriod = time.Minute },
			run: func(t *testing.T, e *testEnv) {
				first := e.tokensFor(t, "web", nil)
				lost := e.refresh(t, "web", first.RefreshToken)
				e.clock.Advance(time.Minute)
				retry := e.refresh(t, "web", first.RefreshToken)
				checkLive(t, e, false, "the lost response's tokens", lost.AccessToken, lost.RefreshToken)
				checkLive(t, e, true, "the retry's tokens", retry.AccessToken, retry.RefreshToken)
				e.refresh(t, "web", retry.RefreshToken)
			},
		},
		{
			name:      "a retry after the grace period revokes the family",
			configure: func(c *Config) { c.RefreshTokenGracePeriod = time.Minute },
			run: func(t *testing.T, e *testEnv) {
				first := e.tokensFor(t, "web", nil)
				second := e.refresh(t, "web", first.RefreshToken)
				e.clock.Advance(time.Minute + time.Second)
				refreshErr(t, e, first.RefreshToken)
				checkLive(t, e, false, "the family", second.AccessToken, second.RefreshToken)
			},
		},
		{
			name:      "the grace period covers only the immediately previous token",
			configure: func(c *Config) { c.RefreshTokenGracePeriod = time.Minute },
			run: func(t *testing.T, e *testEnv) {
				first := e.tokensFor(t, "web", nil)
				second := e.refresh(t, "web", first.RefreshToken)
				third := e.refresh(t, "web", second.RefreshToken)
				refreshErr(t, e, first.RefreshToken)
				checkLive(t, e, false, "the family", third.AccessToken, third.RefreshToken)
			},
		},
		{
			name:      "rotation disabled",
			configure: func(c *Config) { c.DisableRefreshTokenRotation = true },
			run: func(t *testing.T, e *testEnv) {
				first := e.tokensFor(t, "web", nil)
				a := e.refresh(t, "web", first.RefreshToken)
				b := e.refresh(t, "web", first.RefreshToken)
				if a.RefreshToken != "" || b.RefreshToken != "" {
					t.Errorf("refresh responses carry new refresh tokens %q, %q", a.RefreshToken, b.RefreshToken)
				}
				if a.AccessToken == b.AccessToken {
					t.Error("two refreshes returned the same access token")
				}
				checkLive(t, e, true, "every token", first.RefreshToken, a.AccessToken, b.AccessToken)
				if got := e.tokens.kinds(); got[RefreshToken] != 1 {
					t.Errorf("stored refresh tokens = %d, want 1", got[RefreshToken])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, tt.configure)
			tt.run(t, e)
			if logs := e.logs.String(); logs != "" {
				t.Errorf("unexpected log output: %s", logs)
			}
		})
	}
}

// TestTokenSuccessGolden pins the wire form of successful responses, with a
// fixed clock and deterministic randomness.
func TestTokenSuccessGolden(t *testing.T) {
	e := newTestEnv(t, nil)
	code := e.authorizeCode(t, "web", url.Values{"scope": {"read write"}})
	w := e.token(asClient("web", codeForm(code, nil)))
	checkTokenResponse(t, e, w, tokenOK)
	golden(t, "token/success_authorization_code.json", w.Body.Bytes())

	var first TokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &first); err != nil {
		t.Fatal(err)
	}
	w = e.token(asClient("web", refreshForm(first.RefreshToken, url.Values{"scope": {"read"}})))
	checkTokenResponse(t, e, w, tokenOK)
	golden(t, "token/success_refresh_token.json", w.Body.Bytes())
}

// TestMetadataGoldenInternal pins the metadata document (RFC 8414 §2) of
// the internal test server, whose extension grant and custom endpoint paths
// must appear in it. metadata_test.go pins the documents of the public API.
func TestMetadataGoldenInternal(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*Config)
	}{
		{name: "defaults"},
		{name: "every endpoint and opt-in", configure: func(c *Config) {
			c.Endpoints = Endpoints{
				Authorization: testIssuer + "/oauth2/authorize",
				Token:         testIssuer + "/oauth2/token",
				Revocation:    testIssuer + "/oauth2/revoke",
				Introspection: testIssuer + "/oauth2/introspect",
			}
			c.AllowImplicitGrant = true
			c.AllowPlainPKCE = true
			c.ScopesSupported = []string{"read", "write"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, tt.configure)
			w := httptest.NewRecorder()
			e.srv.MetadataHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-authorization-server", nil))
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("got %d %q, want 200 application/json", w.Code, w.Header().Get("Content-Type"))
			}
			var m Metadata
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			if m.Issuer != testIssuer || !slices.Contains(m.GrantTypesSupported, resourceGrantType) {
				t.Errorf("metadata issuer %q, grant types %v", m.Issuer, m.GrantTypesSupported)
			}
			golden(t, "metadata_"+goldenName(tt.name)+".json", w.Body.Bytes())
		})
	}
}
