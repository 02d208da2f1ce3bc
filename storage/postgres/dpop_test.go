package postgres

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/internal/josetest"
)

// TestDPoPReplayAcrossInstances sends one DPoP proof (RFC 9449) 50 times at
// once to the token endpoints of two instances, each with its own Store and
// pool on one database: the proof's jti goes through the shared replay
// cache (RFC 9449 §11.1), so exactly one request gets a DPoP-bound token and
// the others invalid_dpop_proof.
func TestDPoPReplayAcrossInstances(t *testing.T) {
	db := newTestDB(t)
	withDPoP := func(c *oauthkit.Config) {
		c.DPoP = &oauthkit.DPoPConfig{}
		c.ReplayCache = c.Tokens.(*Store)
	}
	a := newInstance(t, db.store(t), withDPoP)
	b := newInstance(t, db.store(t), withDPoP)
	if err := a.store.CreateClient(t.Context(), testClient(t)); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	proof := josetest.Sign(t, jose.SigningKey{Algorithm: jose.ES256, Key: key}, &jose.SignerOptions{
		ExtraHeaders: map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &key.PublicKey}},
	}, map[string]any{"jti": rand.Text(), "htm": "POST", "htu": testIssuer + "/token", "iat": time.Now().Unix()})

	const n = 50
	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		inst := a
		if i%2 == 1 {
			inst = b
		}
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=client_credentials&scope=read"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("DPoP", proof)
			r.SetBasicAuth(testClientID, testSecret)
			w := httptest.NewRecorder()
			<-start
			inst.handler.ServeHTTP(w, r)
			var body map[string]any
			json.Unmarshal(w.Body.Bytes(), &body)
			switch {
			case w.Code == http.StatusOK && body["token_type"] == "DPoP":
				codes[i] = "ok"
			case w.Code == http.StatusBadRequest:
				codes[i], _ = body["error"].(string)
			default:
				codes[i] = w.Body.String()
			}
		})
	}
	close(start)
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count["ok"] != 1 || count["invalid_dpop_proof"] != n-1 {
		t.Errorf("outcomes %v, want exactly one DPoP-bound token and %d invalid_dpop_proof", count, n-1)
	}
}
