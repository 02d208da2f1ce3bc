package jwt

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/oauthkit/oauthkit"
)

const testIssuer = "https://as.example.com"

func testToken() *oauthkit.Token {
	return &oauthkit.Token{
		Kind:      oauthkit.AccessToken,
		GrantID:   "g1",
		ClientID:  "client-1",
		Subject:   "alice",
		Scope:     []string{"read", "write"},
		IssuedAt:  testNow,
		ExpiresAt: testNow.Add(time.Hour),
	}
}

// The claims are exactly those of RFC 9068 §2.2, and the header that of
// §2.1.
func TestIssueAccessTokenClaims(t *testing.T) {
	iat, exp := float64(testNow.Unix()), float64(testNow.Add(time.Hour).Unix())
	authTime := testNow.Add(-5 * time.Minute)
	// fixedRand yields bytes 1..16 for the first jti.
	firstJTI := b64.EncodeToString([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	tests := []struct {
		name            string
		defaultAudience []string
		edit            func(*oauthkit.Token)
		want            map[string]any
	}{
		{
			name: "client credentials, no audience anywhere",
			want: map[string]any{
				"iss": testIssuer, "exp": exp, "aud": testIssuer, "sub": "alice",
				"client_id": "client-1", "iat": iat, "jti": firstJTI, "scope": "read write",
			},
		},
		{
			name:            "default audience",
			defaultAudience: []string{"https://api.example.com"},
			want: map[string]any{
				"iss": testIssuer, "exp": exp, "aud": "https://api.example.com", "sub": "alice",
				"client_id": "client-1", "iat": iat, "jti": firstJTI, "scope": "read write",
			},
		},
		{
			name:            "token audience wins, several become an array",
			defaultAudience: []string{"https://api.example.com"},
			edit:            func(t *oauthkit.Token) { t.Audience = []string{"https://a.example", "https://b.example"} },
			want: map[string]any{
				"iss": testIssuer, "exp": exp, "aud": []any{"https://a.example", "https://b.example"}, "sub": "alice",
				"client_id": "client-1", "iat": iat, "jti": firstJTI, "scope": "read write",
			},
		},
		{
			name: "user authentication: auth_time and acr",
			edit: func(t *oauthkit.Token) {
				t.AuthTime = authTime
				t.ACR = "urn:mace:incommon:iap:silver"
				t.Audience = []string{"https://a.example"}
			},
			want: map[string]any{
				"iss": testIssuer, "exp": exp, "aud": "https://a.example", "sub": "alice",
				"client_id": "client-1", "iat": iat, "jti": firstJTI, "scope": "read write",
				"auth_time": float64(authTime.Unix()), "acr": "urn:mace:incommon:iap:silver",
			},
		},
		{
			name: "no scope: claim omitted",
			edit: func(t *oauthkit.Token) { t.Scope = nil },
			want: map[string]any{
				"iss": testIssuer, "exp": exp, "aud": testIssuer, "sub": "alice",
				"client_id": "client-1", "iat": iat, "jti": firstJTI,
			},
		},
		{
			name: "sub-second times are truncated",
			edit: func(t *oauthkit.Token) {
				t.IssuedAt = t.IssuedAt.Add(999 * time.Millisecond)
				t.ExpiresAt = t.ExpiresAt.Add(999 * time.Millisecond)
			},
			want: map[string]any{
				"iss": testIssuer, "exp": exp, "aud": testIssuer, "sub": "alice",
				"client_id": "client-1", "iat": iat, "jti": firstJTI, "scope": "read write",
			},
		},
	}
	for _, alg := range []string{ES256, EdDSA, RS256} {
		key := testKey(t, alg)
		for _, tt := range tests {
			t.Run(alg+"/"+tt.name, func(t *testing.T) {
				at := &AccessTokens{Keys: testKeySet(t, key), DefaultAudience: tt.defaultAudience, Rand: &fixedRand{}}
				tok := testToken()
				if tt.edit != nil {
					tt.edit(tok)
				}
				before := *tok
				raw, err := at.IssueAccessToken(t.Context(), testIssuer, tok)
				if err != nil {
					t.Fatalf("IssueAccessToken: %v", err)
				}
				header, payload, _ := splitJWS(t, raw)
				if diff := cmp.Diff(map[string]any{"alg": alg, "kid": key.KeyID(), "typ": "at+jwt"}, header); diff != "" {
					t.Errorf("header mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.want, payload); diff != "" {
					t.Errorf("claims mismatch (-want +got):\n%s", diff)
				}
				// The signature verifies with the public key alone.
				obj, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := obj.Verify(key.Public()); err != nil {
					t.Errorf("signature: %v", err)
				}
				// ID is SelfContainedTokenID of the jti; nothing else of the token changed.
				if want := oauthkit.SelfContainedTokenID(firstJTI); tok.ID != want {
					t.Errorf("t.ID = %q, want SelfContainedTokenID(jti) = %q", tok.ID, want)
				}
				before.ID = tok.ID
				if diff := cmp.Diff(&before, tok); diff != "" {
					t.Errorf("IssueAccessToken changed the token (-want +got):\n%s", diff)
				}
				// And the token verifies back to its ID.
				id, err := at.VerifyAccessToken(t.Context(), testIssuer, raw, testNow)
				if err != nil || id != tok.ID {
					t.Errorf("VerifyAccessToken = %q, %v; want %q", id, err, tok.ID)
				}
			})
		}
	}
}

func TestIssueAccessTokenUniqueIDs(t *testing.T) {
	at := &AccessTokens{Keys: testKeySet(t, testKey(t, EdDSA))}
	seen := make(map[string]bool)
	for range 50 {
		tok := testToken()
		if _, err := at.IssueAccessToken(t.Context(), testIssuer, tok); err != nil {
			t.Fatal(err)
		}
		if seen[tok.ID] {
			t.Fatalf("ID %s issued twice", tok.ID)
		}
		seen[tok.ID] = true
	}
}

func TestIssueAccessTokenErrors(t *testing.T) {
	ks := testKeySet(t, testKey(t, ES256))
	tests := []struct {
		name    string
		at      *AccessTokens
		edit    func(*oauthkit.Token) *oauthkit.Token
		wantErr string
	}{
		{"no keys", &AccessTokens{}, nil, "Keys is nil"},
		{"no issuer", &AccessTokens{Keys: ks}, nil, "issuer is empty"},
		{"nil token", &AccessTokens{Keys: ks}, func(*oauthkit.Token) *oauthkit.Token { return nil }, "token lacks"},
		{"no subject", &AccessTokens{Keys: ks}, func(t *oauthkit.Token) *oauthkit.Token { t.Subject = ""; return t }, "token lacks"},
		{"no client", &AccessTokens{Keys: ks}, func(t *oauthkit.Token) *oauthkit.Token { t.ClientID = ""; return t }, "token lacks"},
		{"no issue time", &AccessTokens{Keys: ks}, func(t *oauthkit.Token) *oauthkit.Token { t.IssuedAt = time.Time{}; return t }, "token lacks"},
		{"no expiry", &AccessTokens{Keys: ks}, func(t *oauthkit.Token) *oauthkit.Token { t.ExpiresAt = time.Time{}; return t }, "token lacks"},
		{"randomness fails", &AccessTokens{Keys: ks, Rand: errReader{}}, nil, "randomness"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := testToken()
			if tt.edit != nil {
				tok = tt.edit(tok)
			}
			issuer := testIssuer
			if tt.name == "no issuer" {
				issuer = ""
			}
			raw, err := tt.at.IssueAccessToken(t.Context(), issuer, tok)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("IssueAccessToken = %q, %v; want an error containing %q", raw, err, tt.wantErr)
			}
			if errors.Is(err, oauthkit.ErrNotFound) {
				t.Errorf("error %v wraps ErrNotFound", err)
			}
			if tok != nil && tok.ID != "" {
				t.Errorf("t.ID set to %q on failure", tok.ID)
			}
		})
	}
}

func TestVerifyAccessTokenAcceptsTypVariants(t *testing.T) {
	es := testKey(t, ES256)
	at := &AccessTokens{Keys: testKeySet(t, es)}
	payload := []byte(`{"iss":"` + testIssuer + `","exp":` + strconv.FormatInt(testNow.Unix()+1, 10) + `,"jti":"abc"}`)
	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt", "Application/At+Jwt"} {
		t.Run(typ, func(t *testing.T) {
			tok := joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, payload)
			id, err := at.VerifyAccessToken(t.Context(), testIssuer, tok, testNow)
			if err != nil || id != oauthkit.SelfContainedTokenID("abc") {
				t.Errorf("VerifyAccessToken = %q, %v; want SelfContainedTokenID(\"abc\")", id, err)
			}
		})
	}
}

func TestVerifyAccessTokenRejects(t *testing.T) {
	ctx := t.Context()
	es, rs, ps := testKey(t, ES256), testKey(t, RS256), testKey(t, PS256)
	ks := testKeySet(t, es, rs, ps)
	at := &AccessTokens{Keys: ks}

	good := testToken()
	goodRaw, err := at.IssueAccessToken(ctx, testIssuer, good)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := at.VerifyAccessToken(ctx, testIssuer, goodRaw, testNow); err != nil || id != good.ID {
		t.Fatalf("the untampered token: VerifyAccessToken = %q, %v", id, err)
	}
	_, payloadMap, _ := splitJWS(t, goodRaw)
	payload := []byte(mustB64(t, strings.Split(goodRaw, ".")[1]))

	cases := attackTokens(t, es, rs, ps, "at+jwt", payload)
	other := func(change map[string]any) []byte {
		return []byte(mergeJSON(t, string(payload), change))
	}
	idToken, err := ks.Sign(ctx, "JWT", payloadMap) // same claims, ID token typ
	if err != nil {
		t.Fatal(err)
	}
	untyped, err := ks.Sign(ctx, "", payloadMap)
	if err != nil {
		t.Fatal(err)
	}
	otherSet := &AccessTokens{Keys: testKeySet(t, mustGenerate(t, ES256))}
	foreign, err := otherSet.IssueAccessToken(ctx, testIssuer, testToken())
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases,
		verifyCase{"an ID token with the same claims", idToken, "", errType},
		verifyCase{"a JWT without typ", untyped, "", errType},
		verifyCase{"an access token of another key set", foreign, "", errUnknownKey},
		verifyCase{"wrong issuer", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": "at+jwt"}, other(map[string]any{"iss": "https://evil.example"})), "", errIssuer},
		verifyCase{"issuer with trailing slash", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": "at+jwt"}, other(map[string]any{"iss": testIssuer + "/"})), "", errIssuer},
		verifyCase{"no issuer", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": "at+jwt"}, other(map[string]any{"iss": nil})), "", errIssuer},
		verifyCase{"no jti", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": "at+jwt"}, other(map[string]any{"jti": nil})), "", errClaim},
		verifyCase{"jti not a string", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": "at+jwt"}, other(map[string]any{"jti": 7})), "", errMalformed},
	)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			id, err := at.VerifyAccessToken(ctx, testIssuer, tt.token, testNow)
			if !errors.Is(err, oauthkit.ErrNotFound) || !errors.Is(err, ErrInvalidToken) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("VerifyAccessToken = %q, %v; want an error wrapping ErrNotFound and %v", id, err, tt.wantErr)
			}
			if id != "" {
				t.Errorf("id %q returned with an error", id)
			}
		})
	}

	t.Run("expired at exp", func(t *testing.T) {
		_, err := at.VerifyAccessToken(ctx, testIssuer, goodRaw, good.ExpiresAt)
		if !errors.Is(err, oauthkit.ErrNotFound) || !errors.Is(err, errExpired) {
			t.Errorf("at exp: %v, want expired", err)
		}
		if _, err := at.VerifyAccessToken(ctx, testIssuer, goodRaw, good.ExpiresAt.Add(-time.Second)); err != nil {
			t.Errorf("a second before exp: %v", err)
		}
	})
}

func mustGenerate(t *testing.T, alg string) *Key {
	t.Helper()
	k, err := GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A misconfigured verifier is a fault, not a verdict on the token.
func TestVerifyAccessTokenConfigFaults(t *testing.T) {
	ks := testKeySet(t, testKey(t, ES256))
	issuer := &AccessTokens{Keys: ks}
	raw, err := issuer.IssueAccessToken(t.Context(), testIssuer, testToken())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		at      *AccessTokens
		wantErr error
	}{
		{"no keys", &AccessTokens{}, errNoKeys},
		{"no issuer", &AccessTokens{Keys: ks}, errNoIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issuer := testIssuer
			if tt.wantErr == errNoIssuer {
				issuer = ""
			}
			id, err := tt.at.VerifyAccessToken(t.Context(), issuer, raw, testNow)
			if !errors.Is(err, tt.wantErr) || errors.Is(err, oauthkit.ErrNotFound) {
				t.Errorf("VerifyAccessToken = %q, %v; want %v, not wrapping ErrNotFound", id, err, tt.wantErr)
			}
		})
	}
}

// The types satisfy the root package's interfaces.
var (
	_ oauthkit.TokenIssuer   = (*AccessTokens)(nil)
	_ oauthkit.TokenVerifier = (*AccessTokens)(nil)
	_ oauthkit.Signer        = (*KeySet)(nil)
)
