package oauthkit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// devToolsCodec is the JSON API of seed 003's token endpoint: camelCase
// members in and out, and an error shape of its own.
func devToolsCodec() *oauthkit.JSONCodec {
	return &oauthkit.JSONCodec{
		Names: map[string]string{
			"client_id": "clientId", "grant_type": "grantType", "code": "code", "code_verifier": "codeVerifier",
			"redirect_uri": "redirectUri", "refresh_token": "refreshToken",
			"access_token": "accessToken", "expires_in": "expiresIn", "id_token": "idToken", "token_type": "tokenType",
		},
		Error: func(e *oauthkit.Error) (int, any) {
			kind := "ValidationException"
			switch {
			case e.HTTPStatus() >= 500:
				kind = "InternalServerException"
			case e.HTTPStatus() == http.StatusTooManyRequests:
				kind = "TooManyRequestsError"
			case e.Code == "invalid_grant" || e.Code == "invalid_client" || e.Code == "unauthorized_client":
				kind = "AccessDeniedException"
			}
			return e.HTTPStatus(), map[string]string{"error": kind, "message": e.Description}
		},
	}
}

// jsonCodecServer is a server whose token endpoint speaks devToolsCodec,
// with the public client "cli".
func jsonCodecServer(t *testing.T) *oauthkit.Server {
	t.Helper()
	store := memory.NewStore(&oauthkit.Client{
		ID: "cli", RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"read"},
		GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
	})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store,
		Codecs: oauthkit.Codecs{Token: devToolsCodec()},
		Authorizer: oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return &oauthkit.Consent{Subject: "alice"}, nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func postJSON(srv *oauthkit.Server, contentType, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/token", strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	srv.TokenHandler().ServeHTTP(rec, r)
	return rec
}

// TestJSONCodecFlow runs seed 003's exchange and refresh through a JSON
// token endpoint: camelCase in and out, RFC 6749 underneath.
func TestJSONCodecFlow(t *testing.T) {
	srv := jsonCodecServer(t)
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {"cli"}, "redirect_uri": {"http://127.0.0.1/cb"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	rec := httptest.NewRecorder()
	srv.AuthorizeHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil))
	loc, _ := url.Parse(rec.Header().Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	body, _ := json.Marshal(map[string]string{"clientId": "cli", "grantType": "authorization_code", "code": code,
		"codeVerifier": verifier, "redirectUri": "http://127.0.0.1/cb"})
	rec = postJSON(srv, "application/json", string(body))
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("exchange: %d %s", rec.Code, rec.Body)
	}
	for _, name := range []string{"accessToken", "tokenType", "expiresIn", "refreshToken", "scope"} {
		if _, ok := got[name]; !ok && name != "scope" {
			t.Errorf("response lacks %s: %s", name, rec.Body)
		}
	}
	if _, snake := got["access_token"]; snake {
		t.Errorf("response has RFC names: %s", rec.Body)
	}
	body, _ = json.Marshal(map[string]string{"clientId": "cli", "grantType": "refresh_token", "refreshToken": got["refreshToken"].(string)})
	if rec = postJSON(srv, "application/json; charset=utf-8", string(body)); rec.Code != http.StatusOK {
		t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
	}
	// The code again: the API's own error shape.
	rec = postJSON(srv, "application/json", `{"clientId":"cli","grantType":"authorization_code","code":"`+code+`","codeVerifier":"`+verifier+`"}`)
	want := map[string]any{"error": "AccessDeniedException", "message": "code already used"}
	got = nil
	json.Unmarshal(rec.Body.Bytes(), &got)
	if diff := cmp.Diff(want, got); rec.Code != http.StatusBadRequest || diff != "" {
		t.Errorf("replayed code: %d (-want +got):\n%s", rec.Code, diff)
	}
}

// TestJSONCodecRefuses checks that whatever the JSON codec cannot read is
// the API's invalid_request (ValidationException, 400), never a 500.
func TestJSONCodecRefuses(t *testing.T) {
	srv := jsonCodecServer(t)
	tests := []struct{ name, contentType, body string }{
		{"form body", "application/x-www-form-urlencoded", "grant_type=refresh_token&client_id=cli"},
		{"not JSON", "application/json", "grant_type=refresh_token"},
		{"empty", "application/json", ""},
		{"an array", "application/json", `["clientId"]`},
		{"a string", "application/json", `"clientId"`},
		{"a number value", "application/json", `{"clientId": 7}`},
		{"a null value", "application/json", `{"clientId": null}`},
		{"an object value", "application/json", `{"clientId": {"a": "b"}}`},
		{"unknown member", "application/json", `{"clientId": "cli", "grantType": "refresh_token", "scope": "read"}`},
		{"RFC name where the API has its own", "application/json", `{"client_id": "cli"}`},
		{"duplicate member", "application/json", `{"clientId": "cli", "clientId": "cli"}`},
		{"trailing data", "application/json", `{"clientId": "cli"} {}`},
		{"unterminated", "application/json", `{"clientId": "cli"`},
		{"too large", "application/json", `{"clientId": "` + strings.Repeat("a", 70<<10) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := postJSON(srv, tt.contentType, tt.body)
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusBadRequest || got["error"] != "ValidationException" {
				t.Errorf("%d %s; want 400 ValidationException", rec.Code, rec.Body)
			}
		})
	}
}

// FuzzJSONCodec reads arbitrary bodies: the codec never panics, and what it
// accepts is one string per known member.
func FuzzJSONCodec(f *testing.F) {
	c := devToolsCodec()
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Content-Type", "application/json")
		params, oerr := c.ReadRequest(r, []byte(body))
		if oerr != nil {
			if oerr.Code != "invalid_request" {
				t.Fatalf("error %v, want invalid_request", oerr)
			}
			return
		}
		for name, values := range params {
			if _, known := c.Names[name]; !known || len(values) != 1 {
				t.Fatalf("accepted %q = %q from %q", name, values, body)
			}
		}
		// What the codec accepts is JSON, and encoding/json reads the same
		// strings from it.
		var std map[string]string
		if err := json.Unmarshal([]byte(body), &std); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		for api, value := range std {
			var rfc string
			for r, a := range c.Names {
				if a == api {
					rfc = r
				}
			}
			if got := params.Get(rfc); got != value {
				t.Fatalf("member %q of %q read as %q, encoding/json reads %q", api, body, got, value)
			}
		}
	})
}
