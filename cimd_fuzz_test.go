package oauthkit

import (
	"context"
	"strings"
	"testing"
)

// nopClients is a ClientStore with no clients.
type nopClients struct{}

func (nopClients) Client(context.Context, string) (*Client, error) { return nil, ErrNotFound }

// FuzzClientIDMetadataDocument parses fuzzed client ID metadata documents.
// It must never panic, and a client it accepts must pass Client.Validate,
// have the document's URL as its ID, and hold no secret.
//
//	go test -run='^$' -fuzz='^FuzzClientIDMetadataDocument$' -fuzztime=30s .
func FuzzClientIDMetadataDocument(f *testing.F) {
	const id = "https://app.example/client.json"
	s, err := ClientIDMetadataDocuments(nopClients{}, ClientIDMetadataDocumentConfig{
		Scopes: []string{"read"}, AuthMethods: []string{AuthMethodNone, AuthMethodPrivateKeyJWT}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, err := s.parse(id, []byte(body))
		if err != nil {
			return
		}
		if c.ID != id || c.SecretHash != "" || len(c.SealedSecret) != 0 {
			t.Fatalf("client %+v from %q", c, body)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted %q, which fails Validate: %v", body, err)
		}
	})
}

// FuzzCacheMaxAge parses fuzzed Cache-Control headers: never a panic,
// never a negative age.
func FuzzCacheMaxAge(f *testing.F) {
	f.Fuzz(func(t *testing.T, header string) {
		age, ok := cacheMaxAge(header)
		if age < 0 || !ok && age != 0 {
			t.Fatalf("cacheMaxAge(%q) = %v, %v", header, age, ok)
		}
		if ok && !strings.Contains(strings.ToLower(header), "max-age") && !strings.Contains(strings.ToLower(header), "no-") {
			t.Fatalf("cacheMaxAge(%q) found a directive that is not there", header)
		}
	})
}
