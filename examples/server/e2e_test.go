package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit"
)

// checkRedirect checks an authorization response redirect: to a demo
// client's redirect URI, its callback page, with state and the issuer
// (RFC 9207), and returns its query.
func checkRedirect(t *testing.T, ts *testServer, loc *url.URL, state string) url.Values {
	t.Helper()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; !strings.HasPrefix(got, ts.issuer+pathCallback+"/") {
		t.Fatalf("redirected to %s, want the client's redirect URI, its callback page", loc)
	}
	q := loc.Query()
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != ts.issuer {
		t.Errorf("iss = %q, want %q", q.Get("iss"), ts.issuer)
	}
	return q
}

// retrieveError returns the RFC 6749 §5.2 error code of an x/oauth2 error.
func retrieveError(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not an *oauth2.RetrieveError", err)
	}
	return re.ErrorCode
}

func TestAuthorizationCodeConfidentialClient(t *testing.T) {
	ts := demoServer()
	ctx := clientContext(t.Context(), ts)
	conf := oauthConfig(ts, "web", "s3cret", "read", "write")
	ua := newUserAgent(t, ts)

	verifier := oauth2.GenerateVerifier()
	loc := ua.authorize(conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)), actionApprove)
	q := checkRedirect(t, ts, loc, "state-1")
	if q.Get("code") == "" {
		t.Fatalf("no code in %s", loc)
	}

	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token = %+v, want an access and a refresh token", tok)
	}
	if got := tok.Extra("scope"); got != "read write" {
		t.Errorf("scope = %v, want %q", got, "read write")
	}

	t.Run("code is single-use", func(t *testing.T) {
		_, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if got := retrieveError(t, err); got != "invalid_grant" {
			t.Errorf("second Exchange error = %q, want invalid_grant", got)
		}
	})

	t.Run("refresh", func(t *testing.T) {
		// The first Exchange was redeemed twice, which revoked its tokens
		// (RFC 6749 §4.1.2), so this subtest runs a fresh authorization:
		// the session and the consent are remembered, so no page is shown.
		verifier := oauth2.GenerateVerifier()
		p := ua.get(conf.AuthCodeURL("state-2", oauth2.S256ChallengeOption(verifier)))
		if p.status != http.StatusFound || p.location == nil {
			t.Fatalf("second authorization: status %d, want an immediate redirect (session and consent remembered):\n%s", p.status, p.body)
		}
		q := checkRedirect(t, ts, p.location, "state-2")
		tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		old := *tok
		old.Expiry = time.Now().Add(-time.Minute)
		fresh, err := conf.TokenSource(ctx, &old).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
			t.Errorf("refresh gave %+v; want a new access token and a rotated refresh token", fresh)
		}

		// The access token is active at the introspection endpoint, for
		// its own client.
		intro := introspect(t, ts, "web", "s3cret", fresh.AccessToken)
		want := map[string]any{"active": true, "client_id": "web", "sub": "alice", "scope": "read write", "token_type": "Bearer", "iss": ts.issuer}
		for k, v := range want {
			if intro[k] != v {
				t.Errorf("introspection %s = %v, want %v (response %v)", k, intro[k], v, intro)
			}
		}

		// Revoking the refresh token ends the grant (RFC 7009 §2.1).
		revoke(t, ts, "web", "s3cret", fresh.RefreshToken)
		if got := introspect(t, ts, "web", "s3cret", fresh.AccessToken); got["active"] != false {
			t.Errorf("after revocation, introspection = %v, want inactive", got)
		}
		stale := *fresh
		stale.Expiry = time.Now().Add(-time.Minute)
		_, err = conf.TokenSource(ctx, &stale).Token()
		if got := retrieveError(t, err); got != "invalid_grant" {
			t.Errorf("refresh after revocation: error %q, want invalid_grant", got)
		}
	})
}

// tokenService posts token=tok to an RFC 7009 or RFC 7662 endpoint as the
// client and returns the response.
func tokenService(t *testing.T, ts *testServer, path, id, secret, tok string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.issuer+path, strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func introspect(t *testing.T, ts *testServer, id, secret, tok string) map[string]any {
	t.Helper()
	resp, body := tokenService(t, ts, pathIntrospect, id, secret, tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspection: status %d: %s", resp.StatusCode, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("introspection response %s: %v", body, err)
	}
	return m
}

func revoke(t *testing.T, ts *testServer, id, secret, tok string) {
	t.Helper()
	if resp, body := tokenService(t, ts, pathRevoke, id, secret, tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: status %d: %s", resp.StatusCode, body)
	}
}

func TestAuthorizationCodePublicClient(t *testing.T) {
	ts := demoServer()
	ctx := clientContext(t.Context(), ts)
	conf := oauthConfig(ts, "spa", "", "read")
	ua := newUserAgent(t, ts)

	t.Run("without PKCE the request is refused", func(t *testing.T) {
		p := ua.get(conf.AuthCodeURL("s"))
		if p.location == nil {
			t.Fatalf("status %d, want a redirect with an error:\n%s", p.status, p.body)
		}
		q := checkRedirect(t, ts, p.location, "s")
		if q.Get("error") != "invalid_request" {
			t.Errorf("error = %q, want invalid_request (PKCE is required for public clients)", q.Get("error"))
		}
	})

	verifier := oauth2.GenerateVerifier()
	loc := ua.authorize(conf.AuthCodeURL("spa-state", oauth2.S256ChallengeOption(verifier)), actionApprove)
	q := checkRedirect(t, ts, loc, "spa-state")

	t.Run("wrong verifier", func(t *testing.T) {
		// A failed redemption still uses the code up, so this runs on its
		// own authorization.
		v2 := oauth2.GenerateVerifier()
		p := ua.get(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(v2)))
		if p.location == nil {
			t.Fatalf("status %d, want an immediate redirect:\n%s", p.status, p.body)
		}
		_, err := conf.Exchange(ctx, p.location.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := retrieveError(t, err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})

	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token = %+v, want access and refresh tokens", tok)
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	if _, err := conf.TokenSource(ctx, &old).Token(); err != nil {
		t.Errorf("refresh: %v", err)
	}
}

func TestClientCredentials(t *testing.T) {
	ts := demoServer()
	ctx := clientContext(t.Context(), ts)
	tests := []struct {
		name      string
		secret    string
		scopes    []string
		wantScope string
		wantErr   string
	}{
		{name: "all scopes", secret: "svc-secret", scopes: []string{"read", "write"}, wantScope: "read write"},
		{name: "one scope", secret: "svc-secret", scopes: []string{"read"}, wantScope: "read"},
		{name: "scope not registered", secret: "svc-secret", scopes: []string{"admin"}, wantErr: "invalid_scope"},
		{name: "wrong secret", secret: "nope", scopes: []string{"read"}, wantErr: "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := clientcredentials.Config{
				ClientID: "svc", ClientSecret: tt.secret, TokenURL: ts.issuer + pathToken,
				Scopes: tt.scopes, AuthStyle: oauth2.AuthStyleInHeader,
			}
			tok, err := cc.Token(ctx)
			if tt.wantErr != "" {
				if got := retrieveError(t, err); got != tt.wantErr {
					t.Errorf("error = %q, want %q", got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.AccessToken == "" || tok.RefreshToken != "" {
				t.Errorf("token = %+v, want an access token and no refresh token (RFC 6749 §4.4.3)", tok)
			}
			if got := tok.Extra("scope"); got != tt.wantScope {
				t.Errorf("scope = %v, want %q", got, tt.wantScope)
			}
		})
	}
}

func TestPasswordGrant(t *testing.T) {
	ts := demoServer()
	ctx := clientContext(t.Context(), ts)
	conf := oauthConfig(ts, "legacy", "legacy-secret", "read")
	tests := []struct {
		name, username, password string
		wantErr                  string
	}{
		{name: "right password", username: "alice", password: "wonderland"},
		{name: "wrong password", username: "alice", password: "wonderlant", wantErr: "invalid_grant"},
		{name: "unknown user", username: "mallory", password: "wonderland", wantErr: "invalid_grant"},
		{name: "empty password", username: "alice", password: "", wantErr: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := conf.PasswordCredentialsToken(ctx, tt.username, tt.password)
			if tt.wantErr != "" {
				if got := retrieveError(t, err); got != tt.wantErr {
					t.Errorf("error = %q, want %q", got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PasswordCredentialsToken: %v", err)
			}
			if tok.AccessToken == "" || tok.RefreshToken == "" {
				t.Errorf("token = %+v, want access and refresh tokens", tok)
			}
		})
	}

	t.Run("client not registered for the grant", func(t *testing.T) {
		_, err := oauthConfig(ts, "web", "s3cret").PasswordCredentialsToken(ctx, "alice", "wonderland")
		if got := retrieveError(t, err); got != "unauthorized_client" {
			t.Errorf("error = %q, want unauthorized_client", got)
		}
	})
}

// busyVerify answers like oauthkit.VerifySecret when too many slow checks
// are waiting.
func busyVerify(context.Context, string, string) (bool, error) {
	return false, fmt.Errorf("oauthkit: too many secret verifications waiting: %w", oauthkit.ErrUnavailable)
}

// A password grant whose password cannot be checked because too many checks
// are waiting is answered 503 with Retry-After, never invalid_grant: the
// password was not found wrong.
func TestPasswordGrantVerifierBusy(t *testing.T) {
	ts := startCustomServer(t, demoConfig(), false, slog.New(slog.DiscardHandler), func(a *app) {
		a.pages.users.(*userStore).verify = busyVerify
	})
	t.Cleanup(ts.Close)
	_, err := oauthConfig(ts, "legacy", "legacy-secret", "read").PasswordCredentialsToken(clientContext(t.Context(), ts), "alice", "wonderland")
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want an *oauth2.RetrieveError", err)
	}
	if re.Response.StatusCode != http.StatusServiceUnavailable || re.Response.Header.Get("Retry-After") == "" || re.ErrorCode == "invalid_grant" {
		t.Errorf("status %d, Retry-After %q, error %q; want 503 with Retry-After, not invalid_grant",
			re.Response.StatusCode, re.Response.Header.Get("Retry-After"), re.ErrorCode)
	}
}

func TestDeny(t *testing.T) {
	ts := demoServer()
	conf := oauthConfig(ts, "web", "s3cret", "read")
	challenge := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())

	t.Run("deny on the consent page", func(t *testing.T) {
		ua := newUserAgent(t, ts)
		loc := ua.authorize(conf.AuthCodeURL("deny-1", challenge), actionDeny)
		q := checkRedirect(t, ts, loc, "deny-1")
		if q.Get("error") != "access_denied" || q.Has("code") {
			t.Errorf("redirect %s, want error=access_denied and no code", loc)
		}
		// A denial is not remembered: the next request asks again.
		if p := ua.get(conf.AuthCodeURL("deny-2", challenge)); !isConsentPage(p) {
			t.Errorf("after a denial, status %d, want the consent page again", p.status)
		}
	})

	t.Run("cancel on the login page", func(t *testing.T) {
		ua := newUserAgent(t, ts)
		p := ua.get(conf.AuthCodeURL("deny-3", challenge))
		if !isLoginPage(p) {
			t.Fatalf("want the login page, got status %d", p.status)
		}
		p = ua.submit(ts.issuer, parseForm(t, p), actionDeny, nil)
		if p.status != http.StatusSeeOther || p.location == nil {
			t.Fatalf("status %d, want 303 to the client", p.status)
		}
		if q := checkRedirect(t, ts, p.location, "deny-3"); q.Get("error") != "access_denied" {
			t.Errorf("error = %q, want access_denied", q.Get("error"))
		}
	})
}

func TestLoginPage(t *testing.T) {
	ts := demoServer()
	conf := oauthConfig(ts, "web", "s3cret", "read")
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))

	tests := []struct {
		name, username, password string
	}{
		{name: "wrong password", username: "alice", password: "not-wonderland"},
		{name: "unknown user", username: "mallory", password: "wonderland"},
		{name: "empty password", username: "alice", password: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ua := newUserAgent(t, ts)
			p := ua.login(ua.get(authURL), tt.username, tt.password)
			if !isLoginPage(p) || !strings.Contains(p.body, "Wrong username or password.") {
				t.Fatalf("status %d, want the login page with an error:\n%s", p.status, p.body)
			}
			if !strings.Contains(p.body, `value="`+tt.username+`"`) {
				t.Errorf("the username is not kept in the form")
			}
			if tt.password != "" && strings.Contains(p.body, tt.password) {
				t.Errorf("the page repeats the password")
			}
			if got := ua.cookie(ts.issuer, "oauthkit-session"); got != "" {
				t.Errorf("a failed sign-in set a session cookie")
			}
			// The re-rendered form still works.
			if p := ua.login(p, "alice", "wonderland"); !isConsentPage(p) {
				t.Errorf("signing in from the error page: status %d, want the consent page", p.status)
			}
		})
	}

	t.Run("hidden fields carry the request, not the page's own fields", func(t *testing.T) {
		ua := newUserAgent(t, ts)
		p := ua.login(ua.get(authURL), "alice", "wrong")
		f := parseForm(t, p)
		want, _ := url.Parse(authURL)
		wantFields := want.Query()
		wantFields.Set(fieldCSRF, f.fields.Get(fieldCSRF))
		if diff := cmp.Diff(wantFields, f.fields); diff != "" {
			t.Errorf("hidden fields (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{actionLogin, actionDeny}, f.buttons); diff != "" {
			t.Errorf("buttons (-want +got):\n%s", diff)
		}
	})

	t.Run("session ID is new at sign-in", func(t *testing.T) {
		ua := newUserAgent(t, ts)
		u, _ := url.Parse(ts.issuer)
		planted := "planted-by-an-attacker-0123456789abcdefghijklmnop"
		ua.client.Jar.SetCookies(u, []*http.Cookie{{Name: "oauthkit-session", Value: planted, Path: "/"}})
		p := ua.login(ua.get(authURL), "alice", "wonderland")
		if !isConsentPage(p) {
			t.Fatalf("status %d, want the consent page", p.status)
		}
		if got := ua.cookie(ts.issuer, "oauthkit-session"); got == "" || got == planted {
			t.Errorf("session cookie = %q, want a new random ID", got)
		}
	})

	t.Run("approve without signing in shows the login page", func(t *testing.T) {
		ua := newUserAgent(t, ts)
		p := ua.get(authURL)
		p = ua.submit(ts.issuer, parseForm(t, p), actionApprove, nil)
		if !isLoginPage(p) {
			t.Errorf("status %d, want the login page", p.status)
		}
	})
}

func TestConsentRemembered(t *testing.T) {
	ts := demoServer()
	ua := newUserAgent(t, ts)
	challenge := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
	authURL := func(clientID string, scopes ...string) string {
		secret := map[string]string{"web": "s3cret"}[clientID]
		return oauthConfig(ts, clientID, secret, scopes...).AuthCodeURL("st", challenge)
	}
	ua.authorize(authURL("web", "read", "write"), actionApprove)

	tests := []struct {
		name        string
		url         string
		wantConsent bool
	}{
		{name: "same scopes", url: authURL("web", "read", "write"), wantConsent: false},
		{name: "fewer scopes", url: authURL("web", "read"), wantConsent: false},
		{name: "a new scope", url: authURL("web", "read", "profile"), wantConsent: true},
		{name: "another client", url: authURL("spa", "read"), wantConsent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ua.get(tt.url)
			switch {
			case tt.wantConsent && !isConsentPage(p):
				t.Errorf("status %d, want the consent page", p.status)
			case !tt.wantConsent && (p.location == nil || p.location.Query().Get("code") == ""):
				t.Errorf("status %d, want a redirect with a code", p.status)
			}
		})
	}
	if p := ua.get(authURL("web", "read", "profile")); isConsentPage(p) {
		if !strings.Contains(p.body, "<code>profile</code>") || !strings.Contains(p.body, "Signed in as <strong>alice</strong>") {
			t.Errorf("the consent page does not show the user and the scopes:\n%s", p.body)
		}
	}
}

func TestCSRF(t *testing.T) {
	ts := demoServer()
	conf := oauthConfig(ts, "web", "s3cret", "read")
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	// Another browser's valid form: its token belongs to its own cookie.
	other := newUserAgent(t, ts)
	otherForm := parseForm(t, other.get(authURL))

	tests := []struct {
		name string
		// edit changes the submitted login form: its hidden fields, the
		// credentials and the button.
		edit func(f url.Values)
		// dropCookie removes the CSRF cookie before submission.
		dropCookie bool
		button     string
		// wantOK marks the control case: the same form, unedited, signs in.
		wantOK bool
	}{
		{name: "control: untouched form", edit: func(url.Values) {}, button: actionLogin, wantOK: true},
		{name: "no token", edit: func(f url.Values) { f.Del(fieldCSRF) }, button: actionLogin},
		{name: "empty token", edit: func(f url.Values) { f.Set(fieldCSRF, "") }, button: actionLogin},
		{name: "wrong token", edit: func(f url.Values) { f.Set(fieldCSRF, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") }, button: actionLogin},
		{name: "another browser's token", edit: func(f url.Values) { f.Set(fieldCSRF, otherForm.fields.Get(fieldCSRF)) }, button: actionLogin},
		{name: "no CSRF cookie", edit: func(url.Values) {}, dropCookie: true, button: actionLogin},
		{name: "token twice", edit: func(f url.Values) { f.Add(fieldCSRF, f.Get(fieldCSRF)) }, button: actionLogin},
		{name: "password twice", edit: func(f url.Values) { f.Add("password", "wonderland") }, button: actionLogin},
		{name: "username twice", edit: func(f url.Values) { f.Add("username", "alice") }, button: actionLogin},
		{name: "two buttons", edit: func(f url.Values) { f.Add("action", actionApprove) }, button: actionLogin},
		{name: "deny without token", edit: func(f url.Values) { f.Del(fieldCSRF) }, button: actionDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ua := newUserAgent(t, ts)
			form := parseForm(t, ua.get(authURL)).fields
			form.Set("username", "alice")
			form.Set("password", "wonderland")
			form.Set("action", tt.button)
			tt.edit(form)
			if tt.dropCookie {
				jar, err := cookiejar.New(nil)
				if err != nil {
					t.Fatal(err)
				}
				ua.client.Jar = jar
			}
			p := ua.post(ts.issuer+pathAuthorize, form)
			if tt.wantOK {
				if !isConsentPage(p) {
					t.Fatalf("status %d, want the consent page:\n%s", p.status, p.body)
				}
				return
			}
			if p.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403:\n%s", p.status, p.body)
			}
			if !strings.Contains(p.body, "This form was not accepted") {
				t.Errorf("the 403 page does not explain itself:\n%s", p.body)
			}
			checkPageHeaders(t, p, "'self'")
			if ua.cookie(ts.issuer, "oauthkit-session") != "" {
				t.Errorf("a refused sign-in set a session cookie")
			}
		})
	}

	t.Run("consent approve with the login page's token", func(t *testing.T) {
		// The token is bound to the session: the one from before sign-in
		// does not approve anything after it.
		ua := newUserAgent(t, ts)
		login := ua.get(authURL)
		loginToken := parseForm(t, login).fields.Get(fieldCSRF)
		consent := ua.login(login, "alice", "wonderland")
		f := parseForm(t, consent)
		if f.fields.Get(fieldCSRF) == loginToken {
			t.Fatalf("the consent page reuses the login page's token")
		}
		f.fields.Set(fieldCSRF, loginToken)
		if p := ua.submit(ts.issuer, f, actionApprove, nil); p.status != http.StatusForbidden {
			t.Errorf("status %d, want 403", p.status)
		}
	})
}

// checkPageHeaders checks the headers every HTML page carries; formAction is
// the expected CSP form-action source list.
func checkPageHeaders(t *testing.T, p *page, formAction string) {
	t.Helper()
	want := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'; style-src '" + styleHash + "'; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
	}
	got := make(map[string]string)
	for k := range want {
		got[k] = p.header.Get(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("page headers (-want +got):\n%s", diff)
	}
	if strings.Contains(p.body, "<script") {
		t.Errorf("the page has a script")
	}
}

func TestPageHeaders(t *testing.T) {
	ts := demoServer()
	conf := oauthConfig(ts, "web", "s3cret", "read")
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	client := "'self' " + ts.issuer // the callback page is the client's redirect URI

	tests := []struct {
		name       string
		fetch      func(ua *userAgent) *page
		wantStatus int
		formAction string
	}{
		{name: "index", fetch: func(ua *userAgent) *page { return ua.get(ts.issuer + "/") }, wantStatus: 200, formAction: "'self'"},
		{name: "login", fetch: func(ua *userAgent) *page { return ua.get(authURL) }, wantStatus: 200, formAction: client},
		{name: "login error", fetch: func(ua *userAgent) *page { return ua.login(ua.get(authURL), "alice", "x") }, wantStatus: 200, formAction: client},
		{name: "consent", fetch: func(ua *userAgent) *page { return ua.login(ua.get(authURL), "alice", "wonderland") }, wantStatus: 200, formAction: client},
		{name: "forbidden", fetch: func(ua *userAgent) *page {
			u, _ := url.Parse(authURL)
			form := u.Query()
			form.Set("action", actionLogin)
			return ua.post(ts.issuer+pathAuthorize, form)
		}, wantStatus: 403, formAction: "'self'"},
		{name: "unknown client", fetch: func(ua *userAgent) *page {
			return ua.get(ts.issuer + pathAuthorize + "?client_id=nobody&response_type=code")
		}, wantStatus: 400, formAction: "'self'"},
		{name: "unregistered redirect URI", fetch: func(ua *userAgent) *page {
			return ua.get(ts.issuer + pathAuthorize + "?client_id=web&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb")
		}, wantStatus: 400, formAction: "'self'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.fetch(newUserAgent(t, ts))
			if p.status != tt.wantStatus {
				t.Fatalf("status %d, want %d:\n%s", p.status, tt.wantStatus, p.body)
			}
			checkPageHeaders(t, p, tt.formAction)
		})
	}
}

// The error page leads with plain words for the person at the browser and
// keeps the OAuth error code and description in small print.
func TestErrorPage(t *testing.T) {
	ts := demoServer()
	tests := []struct {
		name       string
		method     string
		query      string
		wantStatus int
		wantTitle  string
		wantLead   string // the plain words, first
		wantSmall  string // the code and description, in the small print
		wantAllow  string
	}{
		{name: "unknown client", method: "GET", query: "client_id=nobody&response_type=code", wantStatus: 400,
			wantTitle: "Sign-in link not valid", wantLead: "This sign-in link is not valid: the application that sent you here is not registered with this server.",
			wantSmall: "Error code <code>invalid_request</code>: unknown client_id"},
		{name: "no client", method: "GET", query: "response_type=code", wantStatus: 400,
			wantTitle: "Sign-in link not valid", wantLead: "This sign-in link is not valid: it does not say which application sent you here.",
			wantSmall: "Error code <code>invalid_request</code>: missing or repeated client_id"},
		{name: "bad redirect URI", method: "GET", query: "client_id=web&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb", wantStatus: 400,
			wantTitle: "Sign-in link not valid", wantLead: "This sign-in link is not valid: it would send you back to an address that the application has not registered",
			wantSmall: "Error code <code>invalid_request</code>: redirect_uri is missing or not registered for this client"},
		{name: "repeated redirect URI", method: "GET", query: "client_id=web&response_type=code&redirect_uri=a&redirect_uri=b", wantStatus: 400,
			wantTitle: "Sign-in link not valid", wantLead: "This sign-in link is not valid: it names more than one address to send you back to.",
			wantSmall: "Error code <code>invalid_request</code>: repeated redirect_uri"},
		{name: "malformed query", method: "GET", query: "client_id=%zz", wantStatus: 400,
			wantTitle: "Sign-in link not valid", wantLead: "This sign-in link is not valid: its address is garbled.",
			wantSmall: "Error code <code>invalid_request</code>: malformed query"},
		{name: "markup in the request is escaped", method: "GET", query: "client_id=%3Cb%3Ex&response_type=code", wantStatus: 400,
			wantTitle: "Sign-in link not valid", wantLead: "the application that sent you here is not registered",
			wantSmall: "Error code <code>invalid_request</code>: unknown client_id"},
		{name: "unknown request_uri", method: "GET", query: "client_id=web&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax", wantStatus: 400,
			wantTitle: "Sign-in link not valid", wantLead: "This sign-in link is not valid: it was used already, or it has expired.",
			wantSmall: "Error code <code>invalid_request_uri</code>: request_uri is unknown, expired or used"},
		{name: "foreign request_uri", method: "GET", query: "client_id=web&request_uri=https%3A%2F%2Fclient.example%2Fr.jwt", wantStatus: 400,
			wantTitle: "Sign-in link not valid", wantLead: "This sign-in link is not valid: it refers to a request this server did not receive.",
			wantSmall: "Error code <code>invalid_request_uri</code>: request_uri is repeated or was not issued by this server"},
		{name: "method not allowed", method: "PUT", query: "client_id=web", wantStatus: 405,
			wantTitle: "Sign-in link not valid", wantLead: "This sign-in address can only be opened as a link or submitted as a form.",
			wantSmall: "Error code <code>invalid_request</code>: the authorization endpoint accepts only GET and POST", wantAllow: "GET, POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.issuer+pathAuthorize+"?"+tt.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := newUserAgent(t, ts).do(req)
			if p.status != tt.wantStatus {
				t.Fatalf("status %d, want %d:\n%s", p.status, tt.wantStatus, p.body)
			}
			if !strings.Contains(p.body, "<h1>"+tt.wantTitle+"</h1>") {
				t.Errorf("the page's title is not %q:\n%s", tt.wantTitle, p.body)
			}
			// The plain words come first, in the page's error line; the
			// jargon only in the small print after them.
			lead := regexp.MustCompile(`<p class="error">([^<]*)</p>`).FindStringSubmatch(p.body)
			if lead == nil || !strings.Contains(html.UnescapeString(lead[1]), tt.wantLead) {
				t.Errorf("the page does not lead with %q:\n%s", tt.wantLead, p.body)
			} else if strings.Contains(lead[1], "invalid_request") || strings.Contains(lead[1], "client_id") {
				t.Errorf("the lead %q has OAuth jargon", lead[1])
			}
			small := regexp.MustCompile(`<p class="small">(.*)</p>`).FindStringSubmatch(p.body)
			if small == nil || html.UnescapeString(small[1]) != tt.wantSmall {
				t.Errorf("the small print is %q, want %q", small, tt.wantSmall)
			}
			if i, j := strings.Index(p.body, `class="error"`), strings.Index(p.body, `class="small"`); i < 0 || j < i {
				t.Errorf("the plain words do not come before the small print")
			}
			if strings.Contains(p.body, "<b>") {
				t.Errorf("the page has unescaped markup from the request")
			}
			if got := p.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			checkPageHeaders(t, p, "'self'")
		})
	}
}

// Errors the library does not name in a way plainErrors knows still lead
// with plain words: server faults and an overloaded server, and any other
// invalid request.
func TestPlainError(t *testing.T) {
	tests := []struct {
		name      string
		err       *oauthkit.Error
		wantTitle string
		wantLead  string
	}{
		{name: "server error", err: oauthkit.ErrServerError.WithDescription("boom"), wantTitle: "Something went wrong", wantLead: "Something went wrong on this server, and you cannot sign in right now. Please try again later."},
		{name: "busy", err: oauthkit.ErrTemporarilyUnavailable, wantTitle: "Please try again", wantLead: "The server is busy right now and cannot sign you in. Please try again in a moment."},
		{name: "other", err: oauthkit.ErrInvalidRequest.WithDescription("something new"), wantTitle: "Sign-in link not valid", wantLead: "This sign-in link is not valid: the application that sent you here made a request this server cannot accept."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			title, lead := plainError(tt.err)
			if title != tt.wantTitle || lead != tt.wantLead {
				t.Errorf("plainError = %q, %q; want %q, %q", title, lead, tt.wantTitle, tt.wantLead)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	ts := demoServer()
	resp, err := ts.Client().Get(ts.issuer + pathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var got oauthkit.Metadata
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	type subset struct {
		Issuer, Authorization, Token, Revocation, Introspection string
		GrantTypes, ResponseTypes, PKCE, AuthMethods, Scopes    []string
	}
	want := subset{
		Issuer:        ts.issuer,
		Authorization: ts.issuer + "/authorize",
		Token:         ts.issuer + "/token",
		Revocation:    ts.issuer + "/revoke",
		Introspection: ts.issuer + "/introspect",
		GrantTypes:    []string{"authorization_code", "client_credentials", "password", "refresh_token"},
		ResponseTypes: []string{"code"},
		PKCE:          []string{"S256"},
		AuthMethods:   []string{"client_secret_basic", "client_secret_post", "none"},
		Scopes:        []string{"openid", "profile", "read", "write"},
	}
	if diff := cmp.Diff(want, subset{
		Issuer: got.Issuer, Authorization: got.AuthorizationEndpoint, Token: got.TokenEndpoint,
		Revocation: got.RevocationEndpoint, Introspection: got.IntrospectionEndpoint,
		GrantTypes: got.GrantTypesSupported, ResponseTypes: got.ResponseTypesSupported,
		PKCE: got.CodeChallengeMethodsSupported, AuthMethods: got.TokenEndpointAuthMethodsSupported,
		Scopes: got.ScopesSupported,
	}); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
}

// Grants that no client uses are not served, nor advertised.
func TestGrantsFollowClients(t *testing.T) {
	cfg := demoConfig()
	cfg.Clients = cfg.Clients[:2] // web and spa: no client_credentials, no password
	cfg.Users = nil
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	if got := ts.app.server.Metadata().GrantTypesSupported; !cmp.Equal(got, []string{"authorization_code", "refresh_token"}) {
		t.Errorf("grant_types_supported = %v, want only authorization_code and refresh_token", got)
	}
	_, err := oauthConfig(ts, "web", "s3cret").PasswordCredentialsToken(clientContext(t.Context(), ts), "alice", "wonderland")
	if got := retrieveError(t, err); got != "unsupported_grant_type" {
		t.Errorf("password grant: error %q, want unsupported_grant_type", got)
	}
}

// Over https the cookies are Secure and __Host- prefixed, and the flow works.
func TestHTTPSCookies(t *testing.T) {
	cfg := demoConfig()
	cfg.Clients = cfg.Clients[:1]
	ts := startServer(t, cfg, true)
	t.Cleanup(ts.Close)
	conf := oauthConfig(ts, "web", "s3cret", "read")
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("tls", oauth2.S256ChallengeOption(verifier))
	ua := newUserAgent(t, ts)

	login := ua.get(authURL)
	consent := ua.login(login, "alice", "wonderland")
	for _, p := range []*page{login, consent} {
		for _, sc := range p.header.Values("Set-Cookie") {
			if !strings.HasPrefix(sc, "__Host-oauthkit-") || !strings.Contains(sc, "; Secure") ||
				!strings.Contains(sc, "; HttpOnly") || !strings.Contains(sc, "; SameSite=Lax") || !strings.Contains(sc, "; Path=/") {
				t.Errorf("Set-Cookie %q: want __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/", sc)
			}
		}
	}
	if len(consent.header.Values("Set-Cookie")) == 0 {
		t.Errorf("sign-in set no session cookie")
	}
	p := ua.submit(ts.issuer, parseForm(t, consent), actionApprove, nil)
	if p.location == nil {
		t.Fatalf("status %d, want a redirect", p.status)
	}
	code := checkRedirect(t, ts, p.location, "tls").Get("code")
	if _, err := conf.Exchange(clientContext(t.Context(), ts), code, oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("Exchange: %v", err)
	}
}

func TestCookiesOverHTTP(t *testing.T) {
	ts := demoServer()
	ua := newUserAgent(t, ts)
	authURL := oauthConfig(ts, "web", "s3cret", "read").AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	login := ua.get(authURL)
	consent := ua.login(login, "alice", "wonderland")
	want := map[string]bool{"oauthkit-csrf": true, "oauthkit-session": true}
	for _, p := range []*page{login, consent} {
		for _, c := range (&http.Response{Header: p.header}).Cookies() {
			if !want[c.Name] || !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("cookie %+v: want oauthkit-csrf or oauthkit-session, HttpOnly, not Secure, SameSite=Lax, Path=/", c)
			}
			delete(want, c.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("cookies never set: %v", want)
	}
}

func TestUserStore(t *testing.T) {
	users, err := newUserStore([]userConfig{{Username: "alice", Password: "wonderland"}})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name, username, password string
		ctx                      context.Context // nil means the test's
		wantSubject              string
		wantErr                  error
	}{
		{name: "right", username: "alice", password: "wonderland", wantSubject: "alice"},
		{name: "wrong password", username: "alice", password: "Wonderland", wantErr: oauthkit.ErrInvalidCredentials},
		{name: "unknown user", username: "bob", password: "wonderland", wantErr: oauthkit.ErrInvalidCredentials},
		{name: "empty", username: "", password: "", wantErr: oauthkit.ErrInvalidCredentials},
		// A request that has ended is not checked, and never told that
		// its password is wrong.
		{name: "cancelled, right password", username: "alice", password: "wonderland", ctx: cancelled, wantErr: context.Canceled},
		{name: "cancelled, unknown user", username: "bob", password: "wonderland", ctx: cancelled, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			got, err := users.AuthenticateUser(ctx, tt.username, tt.password)
			if !errors.Is(err, tt.wantErr) || got != tt.wantSubject {
				t.Errorf("AuthenticateUser = %q, %v; want %q, %v", got, err, tt.wantSubject, tt.wantErr)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	s := newSessions()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id, err := s.create("alice", t0)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.get(id, t0.Add(time.Minute)); !ok || got.subject != "alice" || !got.authTime.Equal(t0) {
		t.Errorf("get = %+v, %v; want alice's session", got, ok)
	}
	if _, ok := s.get("unknown", t0); ok {
		t.Errorf("get(unknown) found a session")
	}
	s.remember(id, "web", []string{"read"})
	s.remember(id, "web", []string{"write"})
	s.remember("unknown", "web", []string{"read"}) // no effect, no panic
	tests := []struct {
		name   string
		id     string
		client string
		scope  []string
		want   bool
	}{
		{"both remembered scopes", id, "web", []string{"read", "write"}, true},
		{"no scope", id, "web", nil, true},
		{"a scope not approved", id, "web", []string{"admin"}, false},
		{"another client", id, "spa", nil, false},
		{"unknown session", "unknown", "web", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.consented(tt.id, tt.client, tt.scope); got != tt.want {
				t.Errorf("consented = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("expiry", func(t *testing.T) {
		if _, ok := s.get(id, t0.Add(sessionLifetime)); ok {
			t.Errorf("session alive at its expiry")
		}
		if _, ok := s.byID[id]; ok {
			t.Errorf("expired session not forgotten")
		}
	})

	t.Run("expired sessions are swept", func(t *testing.T) {
		s := newSessions()
		for range 10 {
			if _, err := s.create("old", t0); err != nil {
				t.Fatal(err)
			}
		}
		later := t0.Add(sessionLifetime + time.Second)
		for range 64 {
			if _, err := s.create("new", later); err != nil {
				t.Fatal(err)
			}
		}
		for _, ss := range s.byID {
			if ss.subject == "old" {
				t.Fatalf("expired sessions kept: %d sessions", len(s.byID))
			}
		}
	})
}

// A new sign-in replaces the session; the same user keeps the consents.
func TestSessionRenew(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		oldSubject  string // "" for no old session
		at          time.Duration
		newSubject  string
		wantConsent bool
	}{
		{name: "same user", oldSubject: "alice", at: time.Minute, newSubject: "alice", wantConsent: true},
		{name: "another user", oldSubject: "alice", at: time.Minute, newSubject: "bob", wantConsent: false},
		{name: "same user after expiry", oldSubject: "alice", at: sessionLifetime, newSubject: "alice", wantConsent: false},
		{name: "no old session", newSubject: "alice", wantConsent: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSessions()
			oldID := ""
			if tt.oldSubject != "" {
				var err error
				if oldID, err = s.create(tt.oldSubject, t0); err != nil {
					t.Fatal(err)
				}
				s.remember(oldID, "web", []string{"openid", "read"})
			}
			id, err := s.renew(oldID, tt.newSubject, t0.Add(tt.at))
			if err != nil {
				t.Fatal(err)
			}
			if id == oldID || id == "" {
				t.Fatalf("renew returned ID %q, want a new one", id)
			}
			if _, ok := s.get(oldID, t0.Add(tt.at)); ok {
				t.Errorf("the old session is still valid")
			}
			got, ok := s.get(id, t0.Add(tt.at))
			if !ok || got.subject != tt.newSubject || !got.authTime.Equal(t0.Add(tt.at)) {
				t.Errorf("new session = %+v, %v; want %s signed in at %v", got, ok, tt.newSubject, t0.Add(tt.at))
			}
			if c := s.consented(id, "web", []string{"read"}); c != tt.wantConsent {
				t.Errorf("consent carried over = %v, want %v", c, tt.wantConsent)
			}
		})
	}
}

func TestCSPSource(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:9999/cb", "http://127.0.0.1:9999"},
		{"https://app.example.com/cb?x=1", "https://app.example.com"},
		{"com.example.app:/oauth2redirect", "com.example.app:"},
		{"", ""},
		{"/relative", ""},
		{"%zz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := cspSource(tt.in); got != tt.want {
				t.Errorf("cspSource(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIndex(t *testing.T) {
	ts := demoServer()
	ua := newUserAgent(t, ts)
	p := ua.get(ts.issuer + "/")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	for _, want := range []string{
		`href="` + ts.issuer + pathMetadata + `"`,
		`href="` + ts.issuer + pathToken + `"`,
		"<code>svc</code>: client_credentials",
		"<code>spa</code> (public)",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the index page lacks %s:\n%s", want, p.body)
		}
	}
	if strings.Contains(p.body, "s3cret") {
		t.Errorf("the index page shows a secret")
	}
	var hrefs []string
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
		hrefs = append(hrefs, html.UnescapeString(m[1]))
	}
	if !slices.Contains(hrefs, ts.app.try.AuthorizeURL) {
		t.Errorf("the index page does not link to %s; links: %q", ts.app.try.AuthorizeURL, hrefs)
	}
	if p := ua.get(ts.issuer + "/nothing-here"); p.status != http.StatusNotFound {
		t.Errorf("GET /nothing-here: status %d, want 404", p.status)
	}
	// The link starts a flow that works.
	if loc := ua.authorize(ts.app.try.AuthorizeURL, actionApprove); loc.Query().Get("code") == "" {
		t.Errorf("the index page's link ended at %s, want a code", loc)
	}
}
