package oauthkit_test

import (
	"testing"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// BenchmarkClientLookup compares a client ID metadata document client's
// lookup once cached (ClientIDMetadataDocuments) with the wrapped memory
// store's own lookup, the baseline: the price of the cache on the hot path
// of every request of such a client. Read them as a ratio:
//
//	go test -run='^$' -bench='^BenchmarkClientLookup' -benchmem .
func BenchmarkClientLookup(b *testing.B) {
	d := newDocServerB(b)
	id := d.url("/client.json")
	d.serve("/client.json", publicDoc(id), "max-age=3600")
	store := memory.NewClients(&oauthkit.Client{ID: "local", RedirectURIs: []string{"https://app.example/cb"}})
	s, err := oauthkit.ClientIDMetadataDocuments(store, oauthkit.ClientIDMetadataDocumentConfig{
		Scopes: []string{"read"}, TLS: d.tlsConfig(), InsecureAllowPrivateAddresses: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Client(b.Context(), id); err != nil {
		b.Fatal(err)
	}
	b.Run("Baseline/memory", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.Client(b.Context(), "local"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Wrapped/non-URL", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Client(b.Context(), "local"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("MetadataDocument/cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Client(b.Context(), id); err != nil {
				b.Fatal(err)
			}
		}
	})
}
