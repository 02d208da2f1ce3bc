package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/jwks"
)

// A Remote tells a set it cannot reach (ErrUnavailable: try again later)
// from a document that is no usable set (ErrInvalidSet), and bounds both
// the size of the document and the time a fetch takes.
func TestRemoteErrors(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		kid     string
		wantErr error
	}{
		{name: "key found", kid: "k1", handler: func(w http.ResponseWriter, _ *http.Request) { w.Write(set) }},
		{name: "unknown kid", kid: "k2", handler: func(w http.ResponseWriter, _ *http.Request) { w.Write(set) }, wantErr: jwks.ErrUnknownKey},
		{name: "server error", kid: "k1", handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, wantErr: jwks.ErrUnavailable},
		{name: "slow", kid: "k1", handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, wantErr: jwks.ErrUnavailable},
		{name: "garbage", kid: "k1", handler: func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>")) }, wantErr: jwks.ErrInvalidSet},
		{name: "too large", kid: "k1", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"pad":"` + strings.Repeat("x", 5000) + `",` + string(set[1:])))
		}, wantErr: jwks.ErrInvalidSet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			r := jwks.NewRemote(jwks.Config{
				URL: srv.URL, Algorithms: []jose.SignatureAlgorithm{jose.ES256},
				FetchTimeout: 200 * time.Millisecond, MaxBytes: 4096,
			})
			start := time.Now()
			key, err := r.Key(context.Background(), tt.kid, "ES256")
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Key took %v, beyond the fetch timeout", elapsed)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && key == nil:
				t.Fatal("no key")
			}
		})
	}
}
