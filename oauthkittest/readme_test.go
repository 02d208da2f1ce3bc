package oauthkittest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/oauthkittest"
)

// TestProfile is the host test of the README's "Testing your app" section,
// word for word (TestREADME checks it): keep the two equal.
func TestProfile(t *testing.T) {
	as := oauthkittest.NewServer(t) // an authorization server, stopped by t.Cleanup
	api := newAPI(bearer.Local(as.Server, "https://api.example.com"))

	tok := as.Mint(t, oauthkittest.Grant{Subject: "alice", Scope: []string{"profile"}, Audience: []string{"https://api.example.com"}})
	req := httptest.NewRequest("GET", "/me", nil)
	tok.SetAuthHeader(req)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "hello alice" {
		t.Fatalf("GET /me: %d %q", rec.Code, rec.Body)
	}
}

// newAPI stands for the host's API, protected with package bearer: GET /me
// greets the token's user and needs the profile scope.
func newAPI(v bearer.Validator) http.Handler {
	m, err := bearer.New(bearer.Config{Validator: v})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /me", m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.FromContext(r.Context())
		user, _ := claims.ResourceOwner() // never a client acting for itself
		fmt.Fprintf(w, "hello %s", user)
	}), "profile"))
	return mux
}

// readmePath is the README whose section TestREADME checks.
var readmePath = "../README.md"

// TestREADME checks that the Go code of the README's "Testing your app"
// section is in this file, so that it compiles and passes as written.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Skipf("no README: %v", err)
	}
	_, section, found := strings.Cut(string(readme), "\n## Testing your app\n")
	if !found {
		t.Skip(`the README has no "## Testing your app" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, code, found := strings.Cut(section, "```go\n")
	code, _, closed := strings.Cut(code, "```")
	if !found || !closed {
		t.Fatal(`the README's "Testing your app" section has no go code block`)
	}
	self, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(self, []byte(code)) {
		t.Errorf("the README's code is not in readme_test.go; copy one to the other:\n%s", code)
	}
}
