package authheader_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/internal/authheader"
)

func TestChallenge(t *testing.T) {
	tests := []struct {
		name       string
		c          authheader.Challenge
		want       string
		wantStatus int
	}{
		{name: "no token", c: authheader.Challenge{Realm: "api"},
			want: `Bearer realm="api"`, wantStatus: 401},
		{name: "no token, no realm", c: authheader.Challenge{},
			want: `Bearer`, wantStatus: 401},
		{name: "malformed request",
			c:    authheader.Challenge{Realm: "api", Error: authheader.InvalidRequest, Description: "malformed Authorization header"},
			want: `Bearer realm="api", error="invalid_request", error_description="malformed Authorization header"`, wantStatus: 400},
		{name: "invalid token",
			c:    authheader.Challenge{Realm: "https://as.example.com", Error: authheader.InvalidToken, Description: "expired"},
			want: `Bearer realm="https://as.example.com", error="invalid_token", error_description="expired"`, wantStatus: 401},
		{name: "insufficient scope",
			c:    authheader.Challenge{Error: authheader.InsufficientScope, Description: "needs more", Scope: "openid profile"},
			want: `Bearer error="insufficient_scope", error_description="needs more", scope="openid profile"`, wantStatus: 403},
		{name: "realm escaped", c: authheader.Challenge{Realm: `my "api" \ v2`},
			want: `Bearer realm="my \"api\" \\ v2"`, wantStatus: 401},
		{name: "realm with CR LF and non-ASCII",
			c:    authheader.Challenge{Realm: "a\r\nSet-Cookie: x=1\tcafé"},
			want: `Bearer realm="aSet-Cookie: x=1caf"`, wantStatus: 401},
		// RFC 9470 §3.
		{name: "step-up, acr",
			c:    authheader.Challenge{Error: authheader.InsufficientUserAuthentication, Description: "A different authentication level is required", ACRValues: "myACR"},
			want: `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`, wantStatus: 401},
		{name: "step-up, max age",
			c:    authheader.Challenge{Error: authheader.InsufficientUserAuthentication, Description: "More recent authentication is required", MaxAge: "5"},
			want: `Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"`, wantStatus: 401},
		{name: "step-up, max age zero is sent",
			c:    authheader.Challenge{Error: authheader.InsufficientUserAuthentication, MaxAge: "0"},
			want: `Bearer error="insufficient_user_authentication", max_age="0"`, wantStatus: 401},
		{name: "step-up, everything",
			c: authheader.Challenge{Realm: "api", Error: authheader.InsufficientUserAuthentication, Description: "d", Scope: "pay",
				ACRValues: "urn:mace:incommon:iap:silver gold", MaxAge: "300", ResourceMetadata: "https://rs.example.com/.well-known/oauth-protected-resource"},
			want: `Bearer realm="api", error="insufficient_user_authentication", error_description="d", scope="pay", ` +
				`acr_values="urn:mace:incommon:iap:silver gold", max_age="300", resource_metadata="https://rs.example.com/.well-known/oauth-protected-resource"`,
			wantStatus: 401},
		{name: "step-up parameters outside the RFC 6750 set",
			c:    authheader.Challenge{Error: authheader.InsufficientUserAuthentication, ACRValues: "a\"b\r\nc", MaxAge: "\"5\"", ResourceMetadata: "https://x/\\"},
			want: `Bearer error="insufficient_user_authentication", acr_values="abc", max_age="5", resource_metadata="https://x/"`, wantStatus: 401},

		// RFC 9728 §5.1.
		{name: "no token, resource metadata",
			c:    authheader.Challenge{Realm: "api", ResourceMetadata: "https://rs.example.com/.well-known/oauth-protected-resource/api"},
			want: `Bearer realm="api", resource_metadata="https://rs.example.com/.well-known/oauth-protected-resource/api"`, wantStatus: 401},
		{name: "insufficient scope, resource metadata",
			c:    authheader.Challenge{Error: authheader.InsufficientScope, Scope: "a", ResourceMetadata: "https://rs.example.com/m"},
			want: `Bearer error="insufficient_scope", scope="a", resource_metadata="https://rs.example.com/m"`, wantStatus: 403},
		// RFC 9449 §7.1, §9.
		{name: "dpop, no token", c: authheader.Challenge{Scheme: authheader.SchemeDPoP, Algs: "ES256 PS256"},
			want: `DPoP algs="ES256 PS256"`, wantStatus: 401},
		{name: "dpop, key binding",
			c:    authheader.Challenge{Scheme: authheader.SchemeDPoP, Error: authheader.InvalidToken, Description: "Invalid DPoP key binding", Algs: "ES256"},
			want: `DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256"`, wantStatus: 401},
		{name: "dpop, invalid proof",
			c:    authheader.Challenge{Scheme: authheader.SchemeDPoP, Realm: "api", Error: authheader.InvalidDPoPProof, Algs: "ES256", ResourceMetadata: "https://rs.example.com/m"},
			want: `DPoP realm="api", error="invalid_dpop_proof", algs="ES256", resource_metadata="https://rs.example.com/m"`, wantStatus: 401},
		{name: "dpop, nonce",
			c:    authheader.Challenge{Scheme: authheader.SchemeDPoP, Error: authheader.UseDPoPNonce, Description: "Resource server requires nonce in DPoP proof"},
			want: `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`, wantStatus: 401},
		{name: "unknown scheme is Bearer", c: authheader.Challenge{Scheme: "Basic"},
			want: `Bearer`, wantStatus: 401},
		{name: "description outside the RFC 6750 set",
			c:    authheader.Challenge{Error: authheader.InvalidToken, Description: "say \"hi\" \\ \x00\nnow é"},
			want: `Bearer error="invalid_token", error_description="say hi  now "`, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Errorf("String() = %s\nwant       %s", got, tt.want)
			}
			rec := httptest.NewRecorder()
			tt.c.Write(rec)
			got := struct {
				Status    int
				Challenge []string
				Body      string
			}{rec.Code, rec.Header().Values("WWW-Authenticate"), rec.Body.String()}
			want := got
			want.Status, want.Challenge, want.Body = tt.wantStatus, []string{tt.want}, ""
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Write (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	got := authheader.Join(
		authheader.Challenge{Realm: "api", Error: authheader.InvalidToken},
		authheader.Challenge{Scheme: authheader.SchemeDPoP, Realm: "api", Algs: "ES256"},
	)
	want := `Bearer realm="api", error="invalid_token", DPoP realm="api", algs="ES256"`
	if got != want {
		t.Errorf("Join = %s\nwant   %s", got, want)
	}
}

func TestWithDPoP(t *testing.T) {
	c := authheader.Challenge{Realm: "api", Error: authheader.InsufficientScope, Scope: "a", ResourceMetadata: "https://rs/m"}
	for scheme, want := range map[string]string{
		"":     `Bearer realm="api", error="insufficient_scope", scope="a", resource_metadata="https://rs/m", DPoP realm="api", algs="ES256", resource_metadata="https://rs/m"`,
		"DPoP": `Bearer realm="api", resource_metadata="https://rs/m", DPoP realm="api", error="insufficient_scope", scope="a", algs="ES256", resource_metadata="https://rs/m"`,
	} {
		if got := authheader.WithDPoP(c, scheme, "ES256"); got != want {
			t.Errorf("WithDPoP(%q) = %s\nwant %s", scheme, got, want)
		}
	}
	if got, want := authheader.WithDPoP(authheader.Challenge{}, "DPoP", "ES256 PS256"), `Bearer, DPoP algs="ES256 PS256"`; got != want {
		t.Errorf("no token: %s, want %s", got, want)
	}
}

func TestValidRealm(t *testing.T) {
	for realm, want := range map[string]bool{
		"": true, "api": true, `a "b" \c`: true, "https://as.example.com": true,
		"a\tb": false, "a\r\nb": false, "café": false, "\x7f": false,
	} {
		if got := authheader.ValidRealm(realm); got != want {
			t.Errorf("ValidRealm(%q) = %v, want %v", realm, got, want)
		}
	}
}

// challengeRe is RFC 6750 §3, with the parameters of RFC 9470 §3 and
// RFC 9728 §5.1, as a regular expression: "Bearer", then optionally its
// seven parameters in the order String writes them, realm a quoted-string
// of printable ASCII, the others of %x20-21 / %x23-5B / %x5D-7E.
var challengeRe = regexp.MustCompile(`^Bearer(?: realm="((?:[ !#-\[\]-~]|\\["\\])*)")?` +
	`(?:(?:, | )error="([ !#-\[\]-~]*)")?(?:(?:, | )error_description="([ !#-\[\]-~]*)")?(?:(?:, | )scope="([ !#-\[\]-~]*)")?` +
	`(?:(?:, | )acr_values="([ !#-\[\]-~]*)")?(?:(?:, | )max_age="([ !#-\[\]-~]*)")?(?:(?:, | )resource_metadata="([ !#-\[\]-~]*)")?$`)

// FuzzChallenge checks that String always writes a valid challenge, one
// that net/http sends as it is, and that it keeps every character the
// grammar allows. Its seed corpus is in testdata/fuzz/FuzzChallenge.
func FuzzChallenge(f *testing.F) {
	keep := func(s string, realm bool) string {
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r > 0x7e || !realm && (r == '"' || r == '\\') {
				return -1
			}
			return r
		}, s)
	}
	f.Fuzz(func(t *testing.T, realm, code, description, scope, acrValues, maxAge, resourceMetadata string) {
		c := authheader.Challenge{Realm: realm, Error: code, Description: description, Scope: scope,
			ACRValues: acrValues, MaxAge: maxAge, ResourceMetadata: resourceMetadata}
		s := c.String()
		m := challengeRe.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("String() = %q: not a valid challenge", s)
		}
		unescaped := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[1])
		got := []string{unescaped, m[2], m[3], m[4], m[5], m[6], m[7]}
		want := []string{keep(realm, true), keep(code, false), keep(description, false), keep(scope, false),
			keep(acrValues, false), keep(maxAge, false), keep(resourceMetadata, false)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("String() = %q; parameters (-want +got):\n%s", s, diff)
		}
		h := http.Header{}
		h.Set("WWW-Authenticate", s)
		var b strings.Builder
		if err := h.Write(&b); err != nil || b.String() != "Www-Authenticate: "+s+"\r\n" {
			t.Fatalf("net/http writes %q, %v; want the challenge unchanged", b.String(), err)
		}
	})
}
