package jwt

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

func TestNewKeySetRejects(t *testing.T) {
	a, b := testKey(t, ES256), testKey(t, EdDSA)
	tests := []struct {
		name       string
		active     *Key
		verifyOnly []*Key
		wantErr    string
	}{
		{"no active key", nil, nil, "no active key"},
		{"nil verify key", a, []*Key{b, nil}, "nil or zero Key"},
		{"zero active key", &Key{}, nil, "nil or zero Key"},
		{"zero verify key", a, []*Key{{}}, "nil or zero Key"},
		{"active repeated", a, []*Key{a}, "used twice"},
		{"verify key repeated", a, []*Key{b, b}, "used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := NewKeySet(tt.active, tt.verifyOnly...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewKeySet = %v, %v; want an error containing %q", ks, err, tt.wantErr)
			}
		})
	}
}

func TestNewKeySetCopiesKeys(t *testing.T) {
	k1, k2, k3 := testKey(t, ES256), testKey(t, EdDSA), testKey(t, ES384)
	verify := []*Key{k2}
	ks := testKeySet(t, k1, verify...)
	verify[0] = k3 // the caller reuses its slice
	if err := ks.Retire(k2.KeyID()); err != nil {
		t.Fatalf("Retire(k2): %v", err)
	}
	if kids, _ := jwksMembers(t, ks.JWKS()); !slices.Equal(kids, []string{k1.KeyID()}) {
		t.Errorf("JWKS kids after Retire: %v, want only k1", kids)
	}
}

// The zero KeySet has no keys until Rotate gives it one.
func TestZeroKeySet(t *testing.T) {
	var ks KeySet
	if alg, kid := ks.Algorithm(), ks.ActiveKeyID(); alg != "" || kid != "" {
		t.Errorf("Algorithm, ActiveKeyID = %q, %q; want empty", alg, kid)
	}
	if tok, err := ks.Sign(t.Context(), "JWT", map[string]int{}); !errors.Is(err, errNoActiveKey) {
		t.Errorf("Sign = %q, %v; want %v", tok, err, errNoActiveKey)
	}
	at := &AccessTokens{Keys: &ks}
	if tok, err := at.IssueAccessToken(t.Context(), testIssuer, testToken()); !errors.Is(err, errNoActiveKey) {
		t.Errorf("IssueAccessToken = %q, %v; want %v", tok, err, errNoActiveKey)
	}
	k := testKey(t, ES256)
	good := joseSign(t, jose.ES256, k.priv, k.kid, nil, []byte(`{"exp":1e10}`))
	if _, err := ks.Verify(good, "", testNow); !errors.Is(err, errUnknownKey) {
		t.Errorf("Verify: %v, want %v", err, errUnknownKey)
	}
	if got := string(ks.JWKS()); got != `{"keys":[]}` {
		t.Errorf("JWKS() = %s", got)
	}
	w := httptest.NewRecorder()
	ks.JWKSHandler().ServeHTTP(w, httptest.NewRequest("GET", "/jwks", nil))
	if w.Code != 200 || w.Body.String() != `{"keys":[]}` {
		t.Errorf("JWKSHandler: %d %s", w.Code, w.Body)
	}
	if err := ks.Retire(k.kid); err == nil {
		t.Error("Retire on an empty set succeeded")
	}
	if err := ks.Rotate(&Key{}); err == nil {
		t.Error("Rotate to the zero Key succeeded")
	}
	if err := ks.Rotate(k); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if _, err := ks.Verify(good, "", testNow); err != nil {
		t.Errorf("after Rotate: %v", err)
	}
	if kids, _ := jwksMembers(t, ks.JWKS()); !slices.Equal(kids, []string{k.kid}) {
		t.Errorf("JWKS kids %v", kids)
	}
	if (&Key{}).Public() != nil {
		t.Error("the zero Key has a public key")
	}
	if _, err := (&Key{}).MarshalPEM(); err == nil {
		t.Error("MarshalPEM of the zero Key succeeded")
	}
}

func TestSignHeaders(t *testing.T) {
	for alg := range keyFiles {
		t.Run(alg, func(t *testing.T) {
			k := testKey(t, alg)
			ks := testKeySet(t, k)
			if got := ks.Algorithm(); got != alg {
				t.Errorf("Algorithm() = %q, want %q", got, alg)
			}
			for _, typ := range []string{"", "JWT", "at+jwt", "logout+jwt"} {
				claims := map[string]any{"iss": "https://as.example", "exp": float64(testNow.Unix() + 60), "typ_was": typ}
				tok, err := ks.Sign(t.Context(), typ, claims)
				if err != nil {
					t.Fatalf("Sign(%q): %v", typ, err)
				}
				header, payload, _ := splitJWS(t, tok)
				want := map[string]any{"alg": alg, "kid": k.KeyID()}
				if typ != "" {
					want["typ"] = typ
				}
				if diff := cmp.Diff(want, header); diff != "" {
					t.Errorf("Sign(%q) header mismatch (-want +got):\n%s", typ, diff)
				}
				if diff := cmp.Diff(claims, payload); diff != "" {
					t.Errorf("Sign(%q) payload mismatch (-want +got):\n%s", typ, diff)
				}
				c, err := ks.Verify(tok, typ, testNow)
				if err != nil {
					t.Fatalf("Verify(Sign(%q)): %v", typ, err)
				}
				if c.Issuer != "https://as.example" {
					t.Errorf("Verify: Issuer = %q", c.Issuer)
				}
			}
		})
	}
}

func TestSignRejectsNonObjectClaims(t *testing.T) {
	ks := testKeySet(t, testKey(t, ES256))
	tests := []struct {
		name   string
		claims any
	}{
		{"nil", nil},
		{"string", "claims"},
		{"array", []string{"a"}},
		{"bytes", []byte(`{"a":1}`)}, // encoding/json makes a base64 string
		{"raw array", json.RawMessage(`[1]`)},
		{"invalid raw JSON", json.RawMessage(`{"a":`)},
		{"unencodable", map[string]any{"c": make(chan int)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := ks.Sign(t.Context(), "JWT", tt.claims); err == nil {
				t.Errorf("Sign(%#v) = %q, want an error", tt.claims, tok)
			}
		})
	}
	t.Run("raw object", func(t *testing.T) {
		tok, err := ks.Sign(t.Context(), "", json.RawMessage(` {"exp": 1e10} `))
		if err != nil {
			t.Fatal(err)
		}
		if _, payload, _ := splitJWS(t, tok); payload["exp"] != 1e10 {
			t.Errorf("payload = %v", payload)
		}
	})
}

func TestLazySignersAreBounded(t *testing.T) {
	ks := testKeySet(t, testKey(t, EdDSA))
	for i := range 2 * maxLazySigners {
		typ := "t" + string(rune('a'+i)) + "+jwt"
		tok, err := ks.Sign(t.Context(), typ, map[string]int64{"exp": testNow.Unix() + 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ks.Verify(tok, typ, testNow); err != nil {
			t.Fatalf("typ %s: %v", typ, err)
		}
	}
	snap := ks.snap.Load()
	n := 0
	snap.lazySigners.Range(func(any, any) bool { n++; return true })
	if n != maxLazySigners {
		t.Errorf("cached %d signers, want %d", n, maxLazySigners)
	}
	// A cached type is served from the cache, not built again.
	built := snap.lazyCount.Load()
	if _, err := ks.Sign(t.Context(), "ta+jwt", map[string]int64{"exp": 1}); err != nil {
		t.Fatal(err)
	}
	if got := snap.lazyCount.Load(); got != built {
		t.Errorf("signing with a cached typ built a signer (%d → %d)", built, got)
	}
}

// jwksMembers returns the member names of each key of a JWKS document.
func jwksMembers(t *testing.T, doc []byte) (kids []string, members map[string][]string) {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, doc)
	}
	members = make(map[string][]string)
	for _, k := range set.Keys {
		kid, _ := k["kid"].(string)
		kids = append(kids, kid)
		for name := range k {
			members[kid] = append(members[kid], name)
		}
		slices.Sort(members[kid])
	}
	return kids, members
}

func TestJWKSHasNoPrivateMaterial(t *testing.T) {
	var keys []*Key
	for _, alg := range []string{ES256, ES384, ES512, RS256, PS256, EdDSA} {
		keys = append(keys, testKey(t, alg))
	}
	ks := testKeySet(t, keys[0], keys[1:]...)
	doc := ks.JWKS()
	kids, members := jwksMembers(t, doc)

	wantKids := make([]string, len(keys))
	wantMembers := make(map[string][]string)
	for i, k := range keys {
		wantKids[i] = k.KeyID()
		switch k.Algorithm() {
		case RS256, PS256:
			wantMembers[k.KeyID()] = []string{"alg", "e", "kid", "kty", "n", "use"}
		case EdDSA:
			wantMembers[k.KeyID()] = []string{"alg", "crv", "kid", "kty", "use", "x"}
		default:
			wantMembers[k.KeyID()] = []string{"alg", "crv", "kid", "kty", "use", "x", "y"}
		}
	}
	if diff := cmp.Diff(wantKids, kids); diff != "" {
		t.Errorf("JWKS kids, active first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantMembers, members); diff != "" {
		t.Errorf("JWKS members (-want +got):\n%s", diff)
	}
	// Belt and braces: no private scalar or prime, in any encoding go-jose
	// could have used, appears in the document.
	for _, k := range keys {
		raw, err := json.Marshal(jose.JSONWebKey{Key: k.priv})
		if err != nil {
			t.Fatal(err)
		}
		var priv map[string]any
		json.Unmarshal(raw, &priv)
		for _, name := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if v, ok := priv[name].(string); ok && strings.Contains(string(doc), v) {
				t.Errorf("JWKS contains the private member %q of key %s", name, k.KeyID())
			}
		}
	}
	// Every key parses as a public key.
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() || k.Use != "sig" {
			t.Errorf("key %s: public %v, valid %v, use %q", k.KeyID, k.IsPublic(), k.Valid(), k.Use)
		}
	}
	// JWKS returns a copy.
	doc[0] = 'X'
	if ks.JWKS()[0] != '{' {
		t.Error("modifying the result of JWKS changed the key set")
	}
}

func TestJWKSHandler(t *testing.T) {
	ks := testKeySet(t, testKey(t, ES256), testKey(t, RS256))
	tests := []struct {
		method     string
		wantStatus int
		wantBody   bool
		wantHeader map[string]string
	}{
		{http.MethodGet, 200, true, map[string]string{
			"Content-Type":                "application/json",
			"Cache-Control":               "public, max-age=300",
			"Access-Control-Allow-Origin": "*",
		}},
		{http.MethodHead, 200, false, map[string]string{"Content-Type": "application/json"}},
		{http.MethodPost, 405, false, map[string]string{"Allow": "GET, HEAD"}},
		{http.MethodDelete, 405, false, map[string]string{"Allow": "GET, HEAD"}},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			w := httptest.NewRecorder()
			ks.JWKSHandler().ServeHTTP(w, httptest.NewRequest(tt.method, "/jwks", nil))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			for name, want := range tt.wantHeader {
				if got := w.Header().Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tt.wantStatus != 200 {
				return
			}
			if got, want := w.Header().Get("Content-Length"), len(ks.JWKS()); got != strconv.Itoa(want) {
				t.Errorf("Content-Length %s, want %d", got, want)
			}
			if got := w.Body.String(); tt.wantBody != (got != "") || tt.wantBody && got != string(ks.JWKS()) {
				t.Errorf("body %q, want body %v", got, tt.wantBody)
			}
		})
	}
}

// A token verifies with go-jose against the JWKS fetched over HTTP.
func TestTokensVerifyWithServedJWKS(t *testing.T) {
	for alg := range keyFiles {
		t.Run(alg, func(t *testing.T) {
			other := EdDSA // a verify-only key, so that go-jose must pick by kid
			if alg == EdDSA {
				other = ES256
			}
			ks := testKeySet(t, testKey(t, alg), testKey(t, other))
			srv := httptest.NewServer(ks.JWKSHandler())
			defer srv.Close()
			tok, err := ks.Sign(t.Context(), "JWT", map[string]string{"sub": "alice"})
			if err != nil {
				t.Fatal(err)
			}
			set := fetchJWKS(t, srv.URL)
			obj, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			payload, err := obj.Verify(&set) // go-jose picks the key by kid
			if err != nil {
				t.Fatalf("go-jose Verify with the served JWKS: %v", err)
			}
			if string(payload) != `{"sub":"alice"}` {
				t.Errorf("payload %s", payload)
			}
		})
	}
}

func fetchJWKS(t *testing.T, url string) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS: %v\n%s", err, body)
	}
	return set
}

func TestRotateAndRetire(t *testing.T) {
	ctx := t.Context()
	k1, k2, k3 := testKey(t, ES256), testKey(t, EdDSA), testKey(t, RS256)
	ks := testKeySet(t, k1)
	claims := map[string]int64{"exp": testNow.Unix() + 60}
	sign := func() string {
		t.Helper()
		tok, err := ks.Sign(ctx, "JWT", claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	verifies := func(tok string) error {
		_, err := ks.Verify(tok, "JWT", testNow)
		return err
	}
	kidsOf := func() []string {
		kids, _ := jwksMembers(t, ks.JWKS())
		return kids
	}

	tok1 := sign()
	if err := ks.Rotate(k2); err != nil {
		t.Fatalf("Rotate(k2): %v", err)
	}
	if got := ks.ActiveKeyID(); got != k2.KeyID() {
		t.Errorf("active key %q, want k2", got)
	}
	if got := ks.Algorithm(); got != EdDSA {
		t.Errorf("Algorithm() = %q after rotating to an Ed25519 key", got)
	}
	tok2 := sign()
	if h, _, _ := splitJWS(t, tok2); h["kid"] != k2.KeyID() {
		t.Errorf("token signed after Rotate has kid %v, want k2", h["kid"])
	}
	for name, tok := range map[string]string{"old key": tok1, "new key": tok2} {
		if err := verifies(tok); err != nil {
			t.Errorf("after Rotate, token of the %s: %v", name, err)
		}
	}
	if diff := cmp.Diff([]string{k2.KeyID(), k1.KeyID()}, kidsOf()); diff != "" {
		t.Errorf("JWKS after Rotate (-want +got):\n%s", diff)
	}

	if err := ks.Retire(k1.KeyID()); err != nil {
		t.Fatalf("Retire(k1): %v", err)
	}
	if err := verifies(tok1); !errors.Is(err, errUnknownKey) {
		t.Errorf("after Retire, token of the retired key: %v, want %v", err, errUnknownKey)
	}
	if err := verifies(tok2); err != nil {
		t.Errorf("after Retire, token of the active key: %v", err)
	}
	if diff := cmp.Diff([]string{k2.KeyID()}, kidsOf()); diff != "" {
		t.Errorf("JWKS after Retire (-want +got):\n%s", diff)
	}

	// A key published first as verify-only can be promoted.
	ks = testKeySet(t, k1, k3)
	if err := ks.Rotate(k3); err != nil {
		t.Fatalf("promoting a verify-only key: %v", err)
	}
	if diff := cmp.Diff([]string{k3.KeyID(), k1.KeyID()}, kidsOf()); diff != "" {
		t.Errorf("JWKS after promotion (-want +got):\n%s", diff)
	}
}

func TestRotateRetireErrors(t *testing.T) {
	k1, k2 := testKey(t, ES256), testKey(t, EdDSA)
	// Same key ID as k2, different key.
	impostor, err := ParseJWK([]byte(jwkOf(t, ES384, map[string]any{"kid": k2.KeyID()})))
	if err != nil {
		t.Fatal(err)
	}
	// Same key as k2 but claimed for another algorithm is impossible for
	// Ed25519; use RSA, where RS256 and PS256 share keys.
	rs := testKey(t, RS256)
	ps, err := NewKey(rs.priv, PS256)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		op      func(ks *KeySet) error
		wantErr string
	}{
		{"rotate to nil", func(ks *KeySet) error { return ks.Rotate(nil) }, "nil key"},
		{"rotate to the active key", func(ks *KeySet) error { return ks.Rotate(k1) }, "already active"},
		{"rotate to a clashing kid", func(ks *KeySet) error { return ks.Rotate(impostor) }, "names another key"},
		{"rotate to a known key with another alg", func(ks *KeySet) error {
			if err := ks.Rotate(rs); err != nil {
				return nil
			}
			if err := ks.Rotate(k2); err != nil { // rs is now verify-only
				return nil
			}
			return ks.Rotate(ps)
		}, "names another key"},
		{"retire the active key", func(ks *KeySet) error { return ks.Retire(k1.KeyID()) }, "active key"},
		{"retire an unknown key", func(ks *KeySet) error { return ks.Retire("nope") }, "no key"},
		{"retire twice", func(ks *KeySet) error {
			if err := ks.Retire(k2.KeyID()); err != nil {
				return nil
			}
			return ks.Retire(k2.KeyID())
		}, "no key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := testKeySet(t, k1, k2)
			before := ks.snap.Load()
			err := tt.op(ks)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.HasPrefix(tt.name, "rotate to") && !strings.Contains(tt.name, "another alg") && ks.snap.Load() != before {
				t.Error("a failed operation replaced the snapshot")
			}
		})
	}
}

// Signing and verifying run while keys rotate; run with -race.
func TestKeySetConcurrentRotation(t *testing.T) {
	keys := []*Key{testKey(t, ES256), testKey(t, EdDSA), testKey(t, ES384)}
	ks := testKeySet(t, keys[0])
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				tok, err := ks.Sign(ctx, "JWT", map[string]int64{"exp": testNow.Unix() + 60})
				if err == nil {
					_, err = ks.Verify(tok, "JWT", testNow)
				}
				// A token may meet a retired key between Sign and Verify;
				// nothing else may fail.
				if err != nil && !errors.Is(err, errUnknownKey) {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 30 {
		next := keys[(i+1)%len(keys)]
		if err := ks.Rotate(next); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		prev := keys[i%len(keys)]
		if err := ks.Retire(prev.KeyID()); err != nil {
			t.Fatalf("Retire: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSameMediaType(t *testing.T) {
	tests := []struct {
		got, want string
		match     bool
	}{
		{"at+jwt", "at+jwt", true},
		{"AT+JWT", "at+jwt", true},
		{"application/at+jwt", "at+jwt", true},
		{"Application/AT+jwt", "at+jwt", true},
		{"at+jwt", "application/at+jwt", true},
		{"", "", true},
		{"JWT", "at+jwt", false},
		{"", "at+jwt", false},
		{"at+jwt", "", false},
		{"application/", "", false},
		{"text/at+jwt", "at+jwt", false},
		{"at+jwt ", "at+jwt", false},
		{"application/application/at+jwt", "at+jwt", false},
	}
	for _, tt := range tests {
		t.Run(tt.got+"~"+tt.want, func(t *testing.T) {
			if got := sameMediaType(tt.got, tt.want); got != tt.match {
				t.Errorf("sameMediaType(%q, %q) = %v, want %v", tt.got, tt.want, got, tt.match)
			}
		})
	}
}

// verifyCase is a token Verify must refuse, and why.
type verifyCase struct {
	name    string
	token   string
	typ     string // the typ Verify is asked for
	wantErr error
}

// attackTokens returns tokens that a key set with an ES256 key (es), an
// RS256 key (rs) and a PS256 key may not accept, each with the reason it
// must give. payload is a valid claims set for testNow; typ is the expected
// typ.
func attackTokens(t *testing.T, es, rs, ps *Key, typ string, payload []byte) []verifyCase {
	t.Helper()
	good := joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, payload)
	parts := strings.Split(good, ".")
	esPub, err := x509.MarshalPKIXPublicKey(es.Public())
	if err != nil {
		t.Fatal(err)
	}
	esPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: esPub})
	hs256 := func(secret []byte) func([]byte) []byte {
		return func(in []byte) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write(in)
			return m.Sum(nil)
		}
	}
	jwksDoc, _ := json.Marshal(es.public)
	other, err := GenerateKey(ES256)
	if err != nil {
		t.Fatal(err)
	}

	claims := func(change map[string]any) []byte {
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range change {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, _ := json.Marshal(m)
		return b
	}
	var pm map[string]any
	json.Unmarshal(payload, &pm)
	expAt := int64(pm["exp"].(float64))

	wrongTyp := "JWT"
	if sameMediaType(typ, wrongTyp) {
		wrongTyp = "at+jwt"
	}
	flipped := []byte(mustB64(t, parts[2]))
	flipped[len(flipped)/2] ^= 1
	return []verifyCase{
		{"tampered payload", parts[0] + "." + b64.EncodeToString(claims(map[string]any{"sub": "mallory"})) + "." + parts[2], typ, errSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + b64.EncodeToString(flipped), typ, errSignature},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:20], typ, errSignature},
		{"empty signature", parts[0] + "." + parts[1] + ".", typ, errSignature},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, claims(map[string]any{"sub": "x"})), ".")[2], typ, errSignature},
		{"key of another set, same kid", joseSign(t, jose.ES256, other.priv, es.kid, map[string]any{"typ": typ}, payload), typ, errSignature},
		{"key of another set, its own kid", joseSign(t, jose.ES256, other.priv, other.kid, map[string]any{"typ": typ}, payload), typ, errUnknownKey},
		{"no kid", joseSign(t, jose.ES256, es.priv, "", map[string]any{"typ": typ}, payload), typ, errUnknownKey},
		{"alg none", forge(map[string]any{"alg": "none", "kid": es.kid, "typ": typ}, payload, nil), typ, errAlgorithm},
		{"alg None", forge(map[string]any{"alg": "None", "kid": es.kid, "typ": typ}, payload, nil), typ, errAlgorithm},
		{"HS256 keyed with the public key PEM", forge(map[string]any{"alg": "HS256", "kid": es.kid, "typ": typ}, payload, hs256(esPEM)), typ, errAlgorithm},
		{"HS256 keyed with the public key DER", forge(map[string]any{"alg": "HS256", "kid": es.kid, "typ": typ}, payload, hs256(esPub)), typ, errAlgorithm},
		{"HS256 keyed with the JWK", forge(map[string]any{"alg": "HS256", "kid": es.kid, "typ": typ}, payload, hs256(jwksDoc)), typ, errAlgorithm},
		{"RS256 signed, naming the ES256 key", joseSign(t, jose.RS256, rs.priv, es.kid, map[string]any{"typ": typ}, payload), typ, errAlgorithm},
		{"PS256 with the RS256 key", joseSign(t, jose.PS256, rs.priv, rs.kid, map[string]any{"typ": typ}, payload), typ, errAlgorithm},
		{"RS256 with the PS256 key", joseSign(t, jose.RS256, ps.priv, ps.kid, map[string]any{"typ": typ}, payload), typ, errAlgorithm},
		{"ES384 header on the ES256 key", forge(map[string]any{"alg": "ES384", "kid": es.kid, "typ": typ}, payload, nil), typ, errAlgorithm},
		{"wrong typ", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": wrongTyp}, payload), typ, errType},
		{"no typ", joseSign(t, jose.ES256, es.priv, es.kid, nil, payload), typ, errType},
		{"empty typ", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": ""}, payload), typ, errType},
		{"typ not a string", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": 1}, payload), typ, errType},
		{"crit header", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ, "crit": []string{"exp"}, "exp": 1}, payload), typ, errHeader},
		{"b64 header", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ, "b64": true}, payload), typ, errHeader},
		{"expired", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, claims(map[string]any{"exp": testNow.Unix() - 1})), typ, errExpired},
		{"expires now", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, claims(map[string]any{"exp": testNow.Unix()})), typ, errExpired},
		{"expired by a fraction", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, claims(map[string]any{"exp": float64(testNow.Unix()) - 0.5})), typ, errExpired},
		{"exp far in the past", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, claims(map[string]any{"exp": -1e300})), typ, errExpired},
		{"no exp", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, claims(map[string]any{"exp": nil})), typ, errClaim},
		{"null exp", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, []byte(`{"exp":null}`)), typ, errClaim},
		{"exp a string", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, claims(map[string]any{"exp": strconv.FormatInt(expAt, 10)})), typ, errMalformed},
		{"exp overflows", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, []byte(`{"exp":1e999}`)), typ, errMalformed},
		{"not yet valid", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, claims(map[string]any{"nbf": testNow.Unix() + 1})), typ, errNotYetValid},
		{"aud a number", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, claims(map[string]any{"aud": 5})), typ, errMalformed},
		{"payload an array", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, []byte(`[1]`)), typ, errMalformed},
		{"payload not JSON", joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": typ}, []byte(`exp`)), typ, errMalformed},
		{"JSON serialization", jsonSerialization(t, good), typ, errMalformed},
		{"empty header", "..", typ, errAlgorithm},
		{"four parts", good + ".x", typ, errMalformed},
		{"opaque token", "2YotnFZFEjr1zCsicMWpAA", typ, errMalformed},
		{"empty", "", typ, errMalformed},
		{"bad base64 header", "!!." + parts[1] + "." + parts[2], typ, errMalformed},
		{"header not JSON", b64.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2], typ, errMalformed},
		{"oversized", parts[0] + "." + strings.Repeat("A", MaxTokenBytes) + "." + parts[2], typ, errMalformed},
	}
}

func mustB64(t *testing.T, s string) string {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsonSerialization rewrites a compact JWS in the flattened JSON
// serialization (RFC 7515 §7.2.2), which Verify does not accept.
func jsonSerialization(t *testing.T, compact string) string {
	parts := strings.Split(compact, ".")
	b, _ := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	return string(b)
}

func TestVerifyRejects(t *testing.T) {
	es, rs, ps := testKey(t, ES256), testKey(t, RS256), testKey(t, PS256)
	ks := testKeySet(t, es, rs, ps)
	payload := []byte(`{"iss":"https://as.example","sub":"alice","exp":` + strconv.FormatInt(testNow.Unix()+60, 10) + `}`)

	// The unaltered token verifies, so each case fails for its own reason.
	good := joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": "JWT"}, payload)
	if _, err := ks.Verify(good, "JWT", testNow); err != nil {
		t.Fatalf("the untampered token does not verify: %v", err)
	}
	for _, tt := range attackTokens(t, es, rs, ps, "JWT", payload) {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ks.Verify(tt.token, tt.typ, testNow)
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %+v, %v; want %v", c, err, tt.wantErr)
			}
		})
	}
}

func TestVerifyClaims(t *testing.T) {
	es := testKey(t, ES256)
	ks := testKeySet(t, es)
	tests := []struct {
		name    string
		payload string
		want    Claims
	}{
		{
			name:    "all registered claims",
			payload: `{"iss":"https://as.example","sub":"alice","aud":["a","b"],"exp":1767323105,"nbf":1767322000,"iat":1767322000.25,"jti":"j1","x":1}`,
			want: Claims{
				Issuer: "https://as.example", Subject: "alice", Audience: []string{"a", "b"},
				Expiry:    time.Unix(1767323105, 0),
				NotBefore: time.Unix(1767322000, 0),
				IssuedAt:  time.Unix(1767322000, 250_000_000),
				ID:        "j1",
			},
		},
		{
			name:    "single audience, exp only",
			payload: `{"aud":"rs","exp":1767323105.5}`,
			want:    Claims{Audience: []string{"rs"}, Expiry: time.Unix(1767323105, 500_000_000)},
		},
		{
			name:    "nbf equal to now",
			payload: `{"exp":1e12,"nbf":` + strconv.FormatInt(testNow.Unix(), 10) + `}`,
			want:    Claims{Expiry: time.Unix(1e12, 0), NotBefore: testNow},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := joseSign(t, jose.ES256, es.priv, es.kid, nil, []byte(tt.payload))
			got, err := ks.Verify(tok, "", testNow)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			tt.want.Raw = json.RawMessage(tt.payload)
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("claims mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
