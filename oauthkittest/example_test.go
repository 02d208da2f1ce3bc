package oauthkittest_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/oauthkittest"
)

// A host's test of an API that package bearer protects: a token for any
// user, scope and audience is one call, and the API refuses a token meant
// for another audience.
func Example() {
	t := new(exampleT) // in a host's test, the *testing.T
	defer t.cleanup()

	as := oauthkittest.NewServer(t)
	api := newAPI(bearer.Local(as.Server, "https://api.example.com"))

	for _, audience := range []string{"https://api.example.com", "https://other.example.com"} {
		tok := as.Mint(t, oauthkittest.Grant{Subject: "alice", Scope: []string{"profile"}, Audience: []string{audience}})
		req := httptest.NewRequest("GET", "/me", nil)
		tok.SetAuthHeader(req)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Println(audience, rec.Code, rec.Body)
	}
	// Output:
	// https://api.example.com 200 hello alice
	// https://other.example.com 401
}

// A client's view: the authorization code flow with PKCE, then a refresh,
// through the server's endpoints.
func ExampleServer_AuthorizationCode() {
	t := new(exampleT) // in a host's test, the *testing.T
	defer t.cleanup()

	as := oauthkittest.NewServer(t)
	tok := as.AuthorizationCode(t, as.Public, "read")
	fmt.Println(tok.Type(), tok.Extra("scope"), tok.RefreshToken != "")

	tok = as.Refresh(t, as.Public, tok)
	rec, err := as.ValidateAccessToken(context.Background(), tok.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Subject, rec.ClientID, rec.Scope)
	// Output:
	// Bearer read true
	// alice public [read]
}

// exampleT stands in for the *testing.T that a host's test has and an
// example has not: it implements the methods the package calls.
type exampleT struct {
	testing.TB // nil: calling any other method panics
	cleanups   []func()
}

func (t *exampleT) Helper()                           {}
func (t *exampleT) Name() string                      { return "Example" }
func (t *exampleT) Context() context.Context          { return context.Background() }
func (t *exampleT) Output() io.Writer                 { return os.Stderr }
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
